// A real `hardhat node` for tests that need a JSON-RPC chain in another process (the node under test, a proxy…).
import net from "node:net";
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { hardhatCommand } from "../../deploy/hardhat-bin.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function rpcReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    });
    return res.ok;
  } catch {
    return false;
  }
}

export const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** Starts `hardhat node` on a free port and waits until it answers. */
export async function startHardhatNode(): Promise<{ url: string; port: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [...hardhatCommand(), "node", "--hostname", "127.0.0.1", "--port", String(port)],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  children.add(child);
  let output = "";
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killed = await Promise.race([exited.then(() => true), sleep(3_000).then(() => false)]);
      if (!killed) {
        child.kill("SIGKILL");
        await exited;
      }
    }
    children.delete(child);
  };
  const started = Date.now();
  while (!(await rpcReady(url))) {
    if (child.exitCode !== null || Date.now() - started > 60_000) {
      await stop();
      throw new Error(`hardhat node did not start on ${url}:\n${output}`);
    }
    await sleep(100);
  }
  return { url, port, stop };
}

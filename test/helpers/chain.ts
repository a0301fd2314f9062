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

/**
 * A TCP proxy in front of the chain: `down()` stops listening and drops every connection (connection refused),
 * `blackhole()` accepts connections but never forwards or answers (requests hang until the client times out),
 * `up()` forwards again.
 */
export class TcpProxy {
  readonly port: number;
  readonly #target: number;
  #server: net.Server | undefined;
  #mode: "up" | "blackhole" = "up";
  readonly #sockets = new Set<net.Socket>();

  constructor(port: number, target: number) {
    this.port = port;
    this.#target = target;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    this.#dropAll();
    this.#mode = "up";
    await this.#listen();
  }

  async blackhole(): Promise<void> {
    this.#dropAll();
    this.#mode = "blackhole";
    await this.#listen();
  }

  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#dropAll();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  #dropAll(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  async #listen(): Promise<void> {
    if (this.#server) return;
    const server = net.createServer((client) => {
      this.#sockets.add(client);
      client.on("close", () => this.#sockets.delete(client));
      client.on("error", () => {});
      if (this.#mode === "blackhole") {
        client.on("data", () => {}); // swallow the request, never answer
        return;
      }
      const upstream = net.connect(this.#target, "127.0.0.1");
      this.#sockets.add(upstream);
      upstream.on("close", () => this.#sockets.delete(upstream));
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
  }
}

/**
 * The demo's dev chain: a `hardhat node` on a free port (spawned with this process's Node binary, deploy/hardhat-bin.ts),
 * a block every few hundred milliseconds (automine only mines transactions, and randomness rounds need blocks after
 * the request and the commit), and clock jumps through the protocol's windows.
 */
import net from "node:net";
import { spawn, type ChildProcess } from "node:child_process";
import { hardhatCommand } from "../hardhat-bin.ts";
import { track } from "./procs.ts";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ChainStartError extends Error {
  constructor(url: string, output: string) {
    super(`hardhat node did not start on ${url}; its last output:\n${output}`);
    this.name = "ChainStartError";
  }
}

/** A TCP port nobody listens on right now (127.0.0.1). */
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

/** One JSON-RPC call; throws on an RPC error. */
export async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message?: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message ?? "RPC error"}`);
  return body.result;
}

export interface DevChain {
  url: string;
  child: ChildProcess;
  /** Mines a block every `intervalMs` until `stopMining` (or `stop`). */
  startMining(intervalMs?: number): void;
  stopMining(): void;
  /** Moves the chain's clock forward by `seconds` and mines a block at the new time. */
  advance(seconds: number): Promise<void>;
  /** The last lines the node printed (for error messages). */
  output(): string;
  /** Stops mining and the node (SIGTERM, then SIGKILL after 3 s); idempotent. */
  stop(): Promise<void>;
}

/** Starts `hardhat node` in `cwd` on a free port and waits until it answers (at most `timeoutMs`). */
export async function startDevChain(cwd: string, timeoutMs = 60_000): Promise<DevChain> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = track(
    spawn(
      process.execPath,
      [...hardhatCommand(), "node", "--hostname", "127.0.0.1", "--port", String(port)],
      {
        cwd,
        stdio: ["ignore", "pipe", "pipe"],
      },
    ),
  );
  let out = "";
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-4000));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let miner: NodeJS.Timeout | undefined;

  const chain: DevChain = {
    url,
    child,
    startMining(intervalMs = 300) {
      miner ??= setInterval(() => void rpc(url, "evm_mine").catch(() => {}), intervalMs);
    },
    stopMining() {
      if (miner) clearInterval(miner);
      miner = undefined;
    },
    async advance(seconds: number) {
      await rpc(url, "evm_increaseTime", [seconds]);
      await rpc(url, "evm_mine");
    },
    output: () => out,
    async stop() {
      chain.stopMining();
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const gone = await Promise.race([exited.then(() => true), sleep(3_000).then(() => false)]);
      if (!gone) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };

  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new ChainStartError(url, out);
    try {
      await rpc(url, "eth_chainId");
      return chain;
    } catch {
      // not up yet
    }
    if (Date.now() - started > timeoutMs) {
      await chain.stop();
      throw new ChainStartError(url, out);
    }
    await sleep(100);
  }
}

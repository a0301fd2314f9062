/**
 * The demo's InferNet nodes: each one a `node/bin/infernet-node.ts start` child process with the provider and
 * validator roles (as in test/poi.e2e.test.ts), its own key, SQLite store and REST API, the diffusion container as a
 * process on the embedded defaults (process runtime, embedded queue: no Redis, no Docker), and the same model for
 * re-execution. With `cheat`, the node's diffusion container gets `DIFFUSION_CHEAT` (containers/diffusion
 * src/service/cheat.ts); its validator role still re-executes with the node's own honest pipeline.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toHex, type Address } from "viem";
import type { HDAccount } from "viem/accounts";
import { track } from "./procs.ts";

export const CONTAINER = "diffusion";

export interface DemoNode {
  /** "A", "B", … */
  name: string;
  account: HDAccount;
  /** REST API port (also the endpoint registered on-chain). */
  port: number;
  dir: string;
  /** The diffusion container's DIFFUSION_OUTPUT_DIR: where its GIFs are stored. */
  outputs: string;
  config: string;
  child?: ChildProcess;
  /** Everything the node wrote (JSON log lines), kept for progress and error messages. */
  log: string;
}

export interface NodeConfigParams {
  rpcUrl: string;
  chainId: number;
  contracts: { coordinator: Address; nodeRegistry: Address; proofOfInference: Address };
  /** The diffusion model directory (the procedural model). */
  modelDir: string;
  /** Repository root (where containers/ lives). */
  root: string;
  /** DIFFUSION_CHEAT for the node's container (demo only). */
  cheat?: string;
}

export class NodeStartError extends Error {
  constructor(node: string, reason: string, log: string) {
    super(`node ${node} ${reason}; its last output:\n${log.slice(-3000)}`);
    this.name = "NodeStartError";
  }
}

/** Writes the node's key and config.json under `node.dir`. */
export function writeNodeConfig(node: DemoNode, p: NodeConfigParams): void {
  mkdirSync(node.dir, { recursive: true });
  writeFileSync(join(node.dir, "node.key"), `${toHex(node.account.getHdKey().privateKey!)}\n`, {
    mode: 0o600,
  });
  const config = {
    roles: ["provider", "validator"],
    chain: {
      rpcUrl: p.rpcUrl,
      chainId: p.chainId,
      contracts: p.contracts,
      confirmations: 0,
      pollIntervalMs: 100,
      wallet: { keyFile: "node.key" },
    },
    store: { path: "node.sqlite" },
    containers: [
      {
        id: CONTAINER,
        runtime: "process",
        command: [process.execPath, join(p.root, "containers", "diffusion", "src", "service", "server.ts")],
        env: {
          DIFFUSION_MODEL_DIR: p.modelDir,
          DIFFUSION_OUTPUT_DIR: node.outputs,
          ORT_DISABLE_TELEMETRY: "1",
          ...(p.cheat ? { DIFFUSION_CHEAT: p.cheat } : {}),
        },
        timeoutMs: 120_000,
      },
    ],
    validator: { models: { [CONTAINER]: p.modelDir } },
    server: { host: "127.0.0.1", port: node.port },
    api: { enabled: true },
    log: { level: "info" },
  };
  writeFileSync(node.config, JSON.stringify(config, null, 2));
}

/** Starts the node's CLI; its output accumulates in `node.log`. */
export function startNode(node: DemoNode, root: string): void {
  const child = track(
    spawn(
      process.execPath,
      [join(root, "node", "bin", "infernet-node.ts"), "start", "--config", node.config],
      {
        cwd: root,
        env: { ...process.env, ORT_DISABLE_TELEMETRY: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    ),
  );
  const keep = (d: Buffer) => {
    node.log += d.toString();
    if (node.log.length > 2_000_000) node.log = node.log.slice(-1_000_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  node.child = child;
}

/**
 * How far the node's start-up is, from its log: 0 … 1 by components started (the "node starting" line lists them),
 * and whether it is ready (validator started and API listening).
 */
export function startupProgress(node: DemoNode): { fraction: number; ready: boolean } {
  const listed = /"components":\[([^\]]*)\][^\n]*"msg":"node starting"/.exec(node.log);
  const total = listed ? listed[1]!.split(",").filter(Boolean).length : 0;
  const started = (node.log.match(/"msg":"component started"/g) ?? []).length;
  const ready = node.log.includes('"msg":"validator started"') && node.log.includes('"msg":"api listening"');
  const fraction = ready ? 1 : total === 0 ? 0 : Math.min(0.95, started / total);
  return { fraction, ready };
}

/** Stops the node (SIGTERM; SIGKILL after `graceMs`); resolves with its exit code (null when killed). */
export async function stopNode(node: DemoNode, graceMs = 15_000): Promise<number | null> {
  const child = node.child;
  if (!child) return 0;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

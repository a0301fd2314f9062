// End-to-end scaffolding for node tests: a `hardhat node` with the system deployed, the "hello" container registered,
// one registered node (dev account 2) and an ExampleConsumer; node config files; the node CLI as a child process.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createPublicClient,
  createWalletClient,
  http,
  keccak256,
  parseEther,
  toBytes,
  toHex,
  type Abi,
  type Address,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { chainFor } from "../../node/src/chain/client.ts";
import { deployContract, deploySystem, type Deployment } from "../../deploy/system.ts";
import { loadArtifact } from "../../deploy/artifacts.ts";
import { startHardhatNode } from "./chain.ts";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";
export const ETH: Address = "0x0000000000000000000000000000000000000000";
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const deployer = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 0 });
export const nodeAccount = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 2 });

export interface World {
  rpcUrl: string;
  stopChain: () => Promise<void>;
  deployment: Deployment;
  consumer: Address;
  publicClient: ReturnType<typeof createPublicClient>;
  write: (
    address: Address,
    name: Parameters<typeof loadArtifact>[0],
    fn: string,
    args: unknown[],
    value?: bigint,
  ) => Promise<void>;
  read: (
    address: Address,
    name: Parameters<typeof loadArtifact>[0],
    fn: string,
    args: unknown[],
  ) => Promise<unknown>;
}

export async function setUp(): Promise<World> {
  const chain = await startHardhatNode();
  const viemChain = chainFor(31337, chain.url);
  const publicClient = createPublicClient({ chain: viemChain, transport: http(chain.url) });
  const wallet = (account: typeof deployer) =>
    createWalletClient({ chain: viemChain, transport: http(chain.url), account });
  const deployment = await deploySystem({ wallet: wallet(deployer), publicClient });
  const write: World["write"] = async (address, name, fn, args, value) => {
    const from = name === "NodeRegistry" && fn === "register" ? nodeAccount : deployer;
    const hash = await wallet(from).writeContract({
      address,
      abi: loadArtifact(name).abi as Abi,
      functionName: fn,
      args,
      ...(value === undefined ? {} : { value }),
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, "success", `${name}.${fn}`);
  };
  const read: World["read"] = (address, name, fn, args) =>
    publicClient.readContract({ address, abi: loadArtifact(name).abi as Abi, functionName: fn, args });
  const { contracts } = deployment;
  await write(contracts.containerRegistry, "ContainerRegistry", "registerContainer", [
    "hello",
    `0x${"00".repeat(32)}`,
  ]);
  const stake = parseEther("2");
  await write(
    contracts.nodeRegistry,
    "NodeRegistry",
    "register",
    [
      {
        node: nodeAccount.address,
        endpoint: "http://127.0.0.1:4000",
        containers: [keccak256(toBytes("hello"))],
        hardware: { gpuModel: "cpu", vramMiB: 0, gpuCount: 0 },
        stake,
      },
    ],
    stake,
  );
  const consumer = await deployContract(wallet(deployer), publicClient, "ExampleConsumer", [
    contracts.coordinator,
    deployer.address,
  ]);
  return { rpcUrl: chain.url, stopChain: chain.stop, deployment, consumer, publicClient, write, read };
}

export interface NodeConfigOptions {
  /** JSON-RPC endpoint the node uses instead of the chain's own (e.g. a proxy in front of it). */
  rpcUrl?: string;
  /** Overrides of the `queue` section (attempts, backoffMs, concurrency…). */
  queue?: Record<string, unknown>;
  /** Deep-merged into the config last (plain objects merge; arrays such as `containers` replace the default). */
  overrides?: Record<string, unknown>;
}

/** Deep-merges plain objects (arrays and other values in `b` replace those in `a`). */
function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const plain = (x: unknown): x is Record<string, unknown> =>
    typeof x === "object" && x !== null && !Array.isArray(x);
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = plain(prev) && plain(v) ? merge(prev, v) : v;
  }
  return out;
}

export function writeNodeConfig(w: World, options: NodeConfigOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "infernet-e2e-"));
  const key = toHex(nodeAccount.getHdKey().privateKey!);
  writeFileSync(join(dir, "node.key"), `${key}\n`, { mode: 0o600 });
  const { contracts } = w.deployment;
  const config = {
    roles: ["provider"],
    chain: {
      rpcUrl: options.rpcUrl ?? w.rpcUrl,
      chainId: 31337,
      contracts: {
        coordinator: contracts.coordinator,
        nodeRegistry: contracts.nodeRegistry,
        proofOfInference: contracts.proofOfInference,
      },
      confirmations: 0,
      pollIntervalMs: 100,
      wallet: { keyFile: "node.key" },
    },
    store: { path: "node.sqlite" },
    ...(options.queue ? { queue: options.queue } : {}),
    containers: [
      {
        id: "hello",
        runtime: "process",
        command: ["node", join(ROOT, "containers", "hello", "src", "server.ts")],
      },
    ],
    log: { level: "info" },
  };
  const path = join(dir, "config.json");
  writeFileSync(path, JSON.stringify(merge(config, options.overrides ?? {}), null, 2));
  return path;
}

export function startNodeProcess(
  configPath: string,
  env: NodeJS.ProcessEnv = process.env,
): { child: ChildProcess; output: () => string } {
  const child = spawn(
    process.execPath,
    [join(ROOT, "node", "bin", "infernet-node.ts"), "start", "--config", configPath],
    {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
  log: () => string,
) {
  const started = Date.now();
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out waiting for ${what}\nnode output:\n${log().slice(-4000)}`);
    await sleep(100);
  }
}

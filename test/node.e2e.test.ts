/**
 * The node end to end against real parts: a `hardhat node` chain, the `infernet-node` CLI in its own process (the
 * provider role on the embedded defaults: SQLite store and queue, process runtime running containers/hello), and an
 * on-chain consumer contract. A subscription on-chain → the node runs the container → delivery on-chain → the
 * consumer's state changed and the node was paid.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createPublicClient,
  createWalletClient,
  encodeAbiParameters,
  http,
  keccak256,
  parseEther,
  toBytes,
  toHex,
  type Abi,
  type Address,
  type Hex,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { chainFor } from "../node/src/chain/client.ts";
import { deployContract, deploySystem, type Deployment } from "../deploy/system.ts";
import { loadArtifact } from "../deploy/artifacts.ts";
import { startHardhatNode } from "./helpers/chain.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEV_MNEMONIC = "test test test test test test test test test test test junk";
const ETH: Address = "0x0000000000000000000000000000000000000000";
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const deployer = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 0 });
const nodeAccount = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 2 });

interface World {
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

async function setUp(): Promise<World> {
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

function writeNodeConfig(w: World): string {
  const dir = mkdtempSync(join(tmpdir(), "infernet-e2e-"));
  const key = toHex(nodeAccount.getHdKey().privateKey!);
  writeFileSync(join(dir, "node.key"), `${key}\n`, { mode: 0o600 });
  const { contracts } = w.deployment;
  const config = {
    roles: ["provider"],
    chain: {
      rpcUrl: w.rpcUrl,
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
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

function startNodeProcess(configPath: string): { child: ChildProcess; output: () => string } {
  const child = spawn(
    process.execPath,
    [join(ROOT, "node", "bin", "infernet-node.ts"), "start", "--config", configPath],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

async function until<T>(
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

describe("node end to end: embedded queue, process runtime, hello container", () => {
  let w: World;
  before(async () => {
    w = await setUp();
  });
  after(async () => {
    await w?.stopChain();
  });

  it("an on-chain request is computed by the node, delivered on-chain, changes the consumer's state and pays the node", async () => {
    const node = startNodeProcess(writeNodeConfig(w));
    try {
      await until(
        "node started",
        async () => (node.output().includes("provider started") ? true : undefined),
        60_000,
        node.output,
      );
      const input: Hex = "0x1234abcd";
      const price = parseEther("0.01");
      await w.write(
        w.consumer,
        "ExampleConsumer",
        "request",
        [keccak256(toBytes("hello")), input, 1, price],
        price,
      );
      const result = (await until(
        "the consumer's result",
        async () => {
          const r = (await w.read(w.consumer, "ExampleConsumer", "results", [1n])) as [number, Address, Hex];
          return r[2] !== "0x" ? r : undefined;
        },
        60_000,
        node.output,
      )) as [number, Address, Hex];
      // hello echoes its input: output = abi.encode(raw_output, processed_output) = abi.encode(input, input).
      assert.equal(result[2], encodeAbiParameters([{ type: "bytes" }, { type: "bytes" }], [input, input]));
      assert.equal(result[1].toLowerCase(), nodeAccount.address.toLowerCase());
      const credit = (await w.read(w.deployment.contracts.coordinator, "Coordinator", "credits", [
        ETH,
        nodeAccount.address,
      ])) as bigint;
      assert.equal(credit, price - (price * 100n) / 10_000n, "paid less the 1 % fee");
    } finally {
      node.child.kill("SIGTERM");
      const code = await new Promise<number | null>((r) => node.child.once("exit", (c) => r(c)));
      assert.equal(code, 0, `node exits cleanly on SIGTERM:\n${node.output().slice(-2000)}`);
    }
  });
});

/**
 * Proof-of-Inference end to end (issue 6): a `hardhat node`, the system deployed, two registered nodes that each run
 * the `infernet-node` CLI with the provider and validator roles, the diffusion container as a process (the
 * project's procedural model) and the REST API (which serves step tensors to validators). A consumer requests a
 * video with PoI as the verifier; one node generates it, commits, reveals the challenged steps, the other node is
 * drawn as validator, fetches the tensors, re-runs the steps and posts its verdict; after the dispute window the
 * provider finalizes and is paid. The test only mines blocks and moves the dev chain's clock.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
  type Hex,
} from "viem";
import { mnemonicToAccount, type HDAccount } from "viem/accounts";
import { encodeDiffusionInputs, qualityPayBps, splitSettlement } from "@infernet/sdk";
import { ensureProceduralModel } from "../containers/diffusion/src/index.ts";
import { stageContext } from "../containers/diffusion/stage-context.ts";
import { chainFor } from "../node/src/chain/client.ts";
import { dockerClient } from "../node/src/runtime/index.ts";
import { followStream } from "../node/src/runtime/docker.ts";
import { deploySystem, type Deployment } from "../deploy/system.ts";
import { DEFAULT_PARAMS } from "../deploy/params.ts";
import { loadArtifact } from "../deploy/artifacts.ts";
import { freePort, startHardhatNode } from "./helpers/chain.ts";
import { DEV_MNEMONIC, ROOT, startNodeProcess, until } from "./helpers/node-e2e.ts";

const CONTAINER = "diffusion";
const CONTAINER_ID = keccak256(toBytes(CONTAINER));
const PRICE = parseEther("0.003"); // the default PoI maxPrice
const ZERO: Address = "0x0000000000000000000000000000000000000000";
const abi = (name: Parameters<typeof loadArtifact>[0]) => loadArtifact(name).abi as Abi;

interface NodeSetup {
  account: HDAccount;
  port: number;
  dir: string;
}

type Variant = "process" | "docker";
const RUN_ID = `poie2e-${process.pid}-${Date.now().toString(36)}`;
const IMAGE = `infernet-test/diffusion:${RUN_ID}`;
const BASE_IMAGE = process.env.INFERNET_NODE_IMAGE || "local/node:22";

describe("Proof-of-Inference end to end: generate, commit, reveal, re-execute, verdict, payout", () => {
  let chain: Awaited<ReturnType<typeof startHardhatNode>>;
  let deployment: Deployment;
  let publicClient: ReturnType<typeof createPublicClient>;
  const deployer = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 0 });
  const nodes: NodeSetup[] = [];
  const running: ReturnType<typeof startNodeProcess>[] = [];
  let miner: NodeJS.Timeout | undefined;
  let modelDir: string;
  let writeConfigs: (variant: Variant) => { config: string; outputs: string }[] = () => [];

  const rpc = (method: string, params: unknown[] = []) =>
    publicClient.request({ method: method as never, params: params as never });

  before(async () => {
    modelDir = await ensureProceduralModel();
    chain = await startHardhatNode();
    const viemChain = chainFor(31337, chain.url);
    const client = createPublicClient({ chain: viemChain, transport: http(chain.url) });
    publicClient = client;
    const wallet = (account: HDAccount) =>
      createWalletClient({ chain: viemChain, transport: http(chain.url), account });
    deployment = await deploySystem({ wallet: wallet(deployer), publicClient: client });
    const { contracts } = deployment;
    const send = async (
      from: HDAccount,
      address: Address,
      name: string,
      fn: string,
      args: unknown[],
      value?: bigint,
    ) => {
      const hash = await wallet(from).writeContract({
        address,
        abi: abi(name as never),
        functionName: fn,
        args,
        ...(value === undefined ? {} : { value }),
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      assert.equal(receipt.status, "success", `${name}.${fn}`);
    };
    await send(deployer, contracts.containerRegistry, "ContainerRegistry", "registerContainer", [
      CONTAINER,
      `0x${"00".repeat(32)}`,
    ]);
    // Two nodes, each its own operator, both serving the diffusion container: one is drawn to generate, the other
    // is then drawn to validate (never the miner's operator).
    for (const index of [2, 3]) {
      const account = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index });
      const port = await freePort();
      const stake = parseEther("2");
      await send(
        account,
        contracts.nodeRegistry,
        "NodeRegistry",
        "register",
        [
          {
            node: account.address,
            endpoint: `http://127.0.0.1:${port}`,
            containers: [CONTAINER_ID],
            hardware: { gpuModel: "cpu", vramMiB: 0, gpuCount: 0 },
            stake,
          },
        ],
        stake,
      );
      nodes.push({ account, port, dir: mkdtempSync(join(tmpdir(), "infernet-poi-e2e-")) });
    }
    writeConfigs = (variant) => {
      const { contracts } = deployment;
      return nodes.map(({ account, port, dir: base }) => {
        const dir = mkdtempSync(join(base, `${variant}-`));
        writeFileSync(join(dir, "node.key"), `${toHex(account.getHdKey().privateKey!)}\n`, { mode: 0o600 });
        const outputs = join(dir, "outputs");
        const container =
          variant === "process"
            ? {
                id: CONTAINER,
                runtime: "process",
                command: ["node", join(ROOT, "containers", "diffusion", "src", "service", "server.ts")],
                env: {
                  DIFFUSION_MODEL_DIR: modelDir,
                  DIFFUSION_OUTPUT_DIR: outputs,
                  ORT_DISABLE_TELEMETRY: "1",
                },
                timeoutMs: 120_000,
              }
            : // The procedural model is baked into the image (the validator's copy on the host is byte-identical).
              { id: CONTAINER, runtime: "docker", image: IMAGE, memoryMb: 1024, timeoutMs: 120_000 };
        const config = {
          roles: ["provider", "validator"],
          chain: {
            rpcUrl: chain.url,
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
          containers: [container],
          // Check 5 (decode z_T against the committed output) on every job here.
          validator: { models: { [CONTAINER]: modelDir }, outputCheckProbability: 1 },
          server: { host: "127.0.0.1", port },
          api: { enabled: true },
          log: { level: "info" },
        };
        const path = join(dir, "config.json");
        writeFileSync(path, JSON.stringify(config, null, 2));
        return { config: path, outputs };
      });
    };
    // Automine makes blocks only for transactions; randomness rounds need blocks after the commit.
    miner = setInterval(() => void rpc("evm_mine").catch(() => {}), 300);
  });

  after(async () => {
    if (miner) clearInterval(miner);
    for (const p of running) if (p.child.exitCode === null) p.child.kill("SIGTERM");
    await Promise.all(
      running.map((p) =>
        p.child.exitCode === null ? new Promise((r) => p.child.once("exit", r)) : undefined,
      ),
    );
    await chain?.stop();
    await dockerClient()
      .getImage(IMAGE)
      .remove({ force: true })
      .catch(() => undefined);
  });

  /** One honest job through the whole protocol with both nodes running `variant` containers; nodes stop after. */
  async function honestJob(variant: Variant): Promise<void> {
    const configs = writeConfigs(variant);
    const procs = configs.map((c) => startNodeProcess(c.config));
    running.push(...procs);
    try {
      const fromBlock = (await publicClient.getBlockNumber({ cacheTime: 0 })) + 1n;
      const output = () => procs.map((p, i) => `--- node ${i}\n${p.output().slice(-4000)}`).join("\n");
      for (const p of procs)
        await until(
          "nodes started",
          async () =>
            /"validator started"/.test(p.output()) && /"api listening"/.test(p.output()) ? true : undefined,
          90_000,
          output,
        );

      for (const p of procs) assert.match(p.output(), new RegExp(`"runtime":"${variant}"`));
      const { contracts } = deployment;
      const inputs = encodeDiffusionInputs({
        prompt: "a red circle moving right",
        negativePrompt: "",
        steps: 12,
        guidanceMilli: 7500,
        width: 64,
        height: 64,
        frames: 8,
      });
      const wallet = createWalletClient({
        chain: chainFor(31337, chain.url),
        transport: http(chain.url),
        account: deployer,
      });
      const hash = await wallet.writeContract({
        address: contracts.coordinator,
        abi: abi("Coordinator"),
        functionName: "requestCompute",
        args: [
          {
            containerId: CONTAINER_ID,
            activeAt: 0,
            period: 0,
            frequency: 1,
            redundancy: 1,
            callbackGasLimit: 200_000,
            lazy: false,
            paymentToken: ZERO,
            paymentAmount: PRICE,
            verifier: contracts.proofOfInference,
            inputs,
          },
          PRICE,
        ],
        value: PRICE,
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      assert.equal(receipt.status, "success");

      const poi = contracts.proofOfInference;
      const events = async (eventName: string) =>
        publicClient.getContractEvents({
          address: poi,
          abi: abi("ProofOfInference"),
          eventName,
          fromBlock,
        });
      const committed = (await until(
        "the commit",
        async () => (await events("Committed"))[0],
        120_000,
        output,
      )) as unknown as {
        args: { key: Hex; node: Address; steps: number; k: number };
      };
      assert.equal(Number(committed.args.steps), 12);
      const provider = committed.args.node;
      const validatorNode = nodes.find((n) => n.account.address !== provider)!;
      await until("the reveal", async () => (await events("Revealed"))[0], 60_000, output);
      const assigned = (await until(
        "a validator",
        async () => (await events("ValidatorAssigned"))[0],
        60_000,
        output,
      )) as unknown as {
        args: { validator: Address };
      };
      assert.equal(assigned.args.validator, validatorNode.account.address, "the other node validates");
      const verdict = (await until(
        "the verdict",
        async () => (await events("VerdictPosted"))[0],
        120_000,
        output,
      )) as unknown as {
        args: { pass: boolean; failedSteps: bigint; quality: number };
      };
      assert.equal(verdict.args.pass, true, `honest job judged pass:\n${output()}`);
      assert.equal(verdict.args.failedSteps, 0n);
      await until(
        "the validator's log",
        async () => (procs.some((p) => /"verdict posted"/.test(p.output())) ? true : undefined),
        10_000,
        output,
      );
      assert.ok(
        procs.some((p) =>
          /"msg":"verdict posted".*"outputChecked":true|"outputChecked":true.*"msg":"verdict posted"/.test(
            p.output(),
          ),
        ),
        "the validator decoded z_T and checked it against the committed output",
      );
      assert.ok(verdict.args.quality > 5_000, `quality ${verdict.args.quality} bps for a prompted clip`);

      // Past the dispute window (1800 s by default): the provider's follow-up finalizes and is paid.
      await rpc("evm_increaseTime", [1900]);
      await rpc("evm_mine");
      const paid = (await until(
        "the payout",
        async () => (await events("JobPaid"))[0],
        60_000,
        output,
      )) as unknown as {
        args: { node: Address; quality: number; payBps: number };
      };
      assert.equal(paid.args.node, provider);
      // The payout is weighted by the validator's score (docs/protocol.md §10): the floor plus its share of the rest.
      const payBps = qualityPayBps(DEFAULT_PARAMS.poi.qualityFloorBps, verdict.args.quality);
      assert.equal(paid.args.quality, verdict.args.quality);
      assert.equal(paid.args.payBps, payBps);
      assert.equal((await events("FraudSlashed")).length, 0);
      // The provider collects the released payment (pull payment from the Coordinator's escrow).
      const withdrawn = (await until(
        "the payment collected",
        async () =>
          (
            await publicClient.getContractEvents({
              address: contracts.coordinator,
              abi: abi("Coordinator"),
              eventName: "Withdrawn",
              args: { account: provider },
              fromBlock,
            })
          )[0],
        30_000,
        output,
      )) as unknown as { args: { amount: bigint } };
      assert.equal(
        withdrawn.args.amount,
        splitSettlement(PRICE, payBps, DEFAULT_PARAMS.feeBps).net,
        `withdrew ${withdrawn.args.amount}`,
      );
      if (variant === "process") {
        const providerOutputs = configs[nodes.findIndex((n) => n.account.address === provider)]!.outputs;
        assert.ok(
          readdirSync(providerOutputs).some((f) => f.endsWith(".gif")),
          "the provider stored the GIF it committed to",
        );
      }
    } finally {
      for (const p of procs) p.child.kill("SIGTERM");
      const codes = await Promise.all(
        procs.map((p) =>
          p.child.exitCode !== null
            ? p.child.exitCode
            : new Promise<number | null>((r) => p.child.once("exit", r)),
        ),
      );
      assert.deepEqual(codes, [0, 0], "both nodes stop cleanly");
    }
  }

  it("embedded defaults (process runtime, embedded queue): committed, revealed, judged pass by the other node, paid", async () => {
    await honestJob("process");
  });

  it("the diffusion container in Docker (no network, read-only root): the same protocol run, paid", async () => {
    const docker = dockerClient();
    const ctxDir = mkdtempSync(join(tmpdir(), "infernet-poi-ctx-"));
    const staged = await stageContext({ outDir: join(ctxDir, "ctx") });
    await followStream(
      await docker.buildImage(
        { context: staged.dir, src: staged.files },
        { t: IMAGE, buildargs: { BASE_IMAGE }, networkmode: "none", rm: true, forcerm: true },
      ),
    );
    await honestJob("docker");
  });
});

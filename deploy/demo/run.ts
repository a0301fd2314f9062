/**
 * The demo's story, stage by stage (docs/demo.md): a dev chain, the system and the VideoNFT consumer deployed, two
 * staked nodes (provider + validator each), a mint that requests a video, and the Proof-of-Inference protocol run by
 * the nodes themselves — generate, commit, challenge, reveal, re-execute, verdict — while this script only mines
 * blocks, moves the chain's clock through the dispute window, settles the NFT as its minter and copies the GIF.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createPublicClient,
  createWalletClient,
  formatEther,
  http,
  keccak256,
  parseEther,
  parseEventLogs,
  toBytes,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { mnemonicToAccount, type HDAccount } from "viem/accounts";
import { jobId as poiJobIdOf } from "@infernet/sdk";
import { chainFor } from "../../node/src/chain/client.ts";
import { ensureProceduralModel } from "../../containers/diffusion/src/models/procedural/build.ts";
import { loadArtifact } from "../artifacts.ts";
import { DEFAULT_PARAMS } from "../params.ts";
import { deploySystem } from "../system.ts";
import { startDevChain, freePort, type DevChain } from "./chain.ts";
import { scratchDirs } from "./procs.ts";
import { cheatHonestSteps, detectionProbability } from "./detection.ts";
import {
  CONTAINER,
  NodeStartError,
  startNode,
  startupProgress,
  stopNode,
  writeNodeConfig,
  type DemoNode,
} from "./nodes.ts";
import { seconds, type Progress, type Stage } from "./progress.ts";
import { deployVideoNft, videoNftArtifact, type VideoTerms } from "./videonft.ts";

/** Hardhat's well-known development mnemonic (funded accounts on every dev chain; never use elsewhere). */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";
const CHAIN_ID = 31337;
const CONTAINER_ID = keccak256(toBytes(CONTAINER));
const STAKE = parseEther("2");
const ZERO: Address = "0x0000000000000000000000000000000000000000";
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const STAGES = 13;

export interface DemoOptions {
  prompt: string;
  /** DIFFUSION_CHEAT for the providers' diffusion containers ("skip-steps"); undefined = honest. */
  cheat?: string;
  /** Where the GIF goes. */
  outDir: string;
  /** Denoising steps T (the procedural model makes 8 frames of 64 × 64). */
  steps: number;
  /** Keep the nodes' working directory (keys, stores, logs, outputs) instead of deleting it. */
  keep?: boolean;
  root: string;
  ui: Progress;
}

export interface TrustSnapshot {
  trustBps: number;
  auditDepth: number;
  passes: number;
  failures: number;
}

/** What the demo prints at the end (and writes with --summary-json); amounts in wei as decimal strings. */
export interface DemoSummary {
  mode: "honest" | "cheat";
  cheat: string | null;
  prompt: string;
  requestId: string;
  jobId: Hex;
  jobKey: Hex;
  provider: Address;
  providerName: string;
  validator: Address;
  validatorName: string;
  root: Hex;
  steps: number;
  k: number;
  challenged: number[];
  /** Chance that a skip-steps cheat is caught at this T and k. */
  detectionProbability: number;
  verdict: "pass" | "fail";
  failedSteps: number[];
  quality: number;
  settlement: "paid" | "slashed";
  /** `payBps`: the share of the price released to the node (quality-weighted); `returned`: the rest, to the minter. */
  payment: { net: string; fee: string; payBps: number; returned: string } | null;
  slash: { toRequester: string; toChallenger: string; burned: string } | null;
  refund: { price: string; compensation: string; withdrawn: string } | null;
  trust: { before: TrustSnapshot; after: TrustSnapshot };
  nft: {
    tokenId: string;
    owner: Address;
    videoSha256: Hex;
    uri: string;
    status: "verified" | "burned";
  };
  gif: string;
  durationMs: number;
}

export class DemoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DemoError";
  }
}

type Log = { args: Record<string, unknown>; transactionHash: Hex; blockNumber: bigint };

export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const { ui } = o;
  const t0 = Date.now();
  const work = mkdtempSync(join(tmpdir(), "infernet-demo-"));
  scratchDirs.add(work);
  const nodes: DemoNode[] = [];
  let chain: DevChain | undefined;
  let failed = true;
  let stage: Stage | undefined;
  const stageDo = (title: string, detail = "") => (stage = ui.stage(title, detail));

  try {
    // ------------------------------------------------------------ 1. chain
    stageDo("dev chain", "starting hardhat node");
    chain = await startDevChain(o.root);
    const url = chain.url;
    const viemChain = chainFor(CHAIN_ID, url);
    const publicClient = createPublicClient({ chain: viemChain, transport: http(url) }) as PublicClient;
    const walletOf = (account: HDAccount) =>
      createWalletClient({ chain: viemChain, transport: http(url), account });
    const deployer = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 0 });
    const minter = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 1 });
    stage!.done(`hardhat node on ${url}, chain id ${await publicClient.getChainId()}`);

    // ------------------------------------------------------------ 2. model
    stageDo("model", "procedural video diffusion model");
    const modelDir = await ensureProceduralModel();
    stage!.done(`procedural video model (8 frames × 64 × 64) in ${rel(o.root, modelDir)}`);

    // ------------------------------------------------------------ 3. deploy
    stageDo("deploy", "system contracts");
    let deployed = 0;
    const deployment = await deploySystem({
      wallet: walletOf(deployer),
      publicClient,
      log: (line) => stage!.update({ fraction: ++deployed / 8, detail: line.replace(/\s+/g, " ") }),
    });
    const c = deployment.contracts;
    const send = async (
      from: HDAccount,
      address: Address,
      abi: Abi,
      functionName: string,
      args: readonly unknown[],
      value?: bigint,
    ) => {
      const hash = await walletOf(from).writeContract({
        address,
        abi,
        functionName,
        args,
        ...(value === undefined ? {} : { value }),
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new DemoError(`${functionName} reverted (${hash})`);
      return receipt;
    };
    const abiOf = (name: Parameters<typeof loadArtifact>[0]) => loadArtifact(name).abi;
    await send(deployer, c.containerRegistry, abiOf("ContainerRegistry"), "registerContainer", [
      CONTAINER,
      `0x${"00".repeat(32)}`,
    ]);
    stage!.update({ fraction: 7 / 8, detail: `container "${CONTAINER}" registered; VideoNFT` });
    const terms: VideoTerms = {
      price: DEFAULT_PARAMS.poi.maxPrice,
      steps: o.steps,
      guidanceMilli: 7500,
      width: 64,
      height: 64,
      frames: 8,
      callbackGasLimit: 500_000,
    };
    const nft = await deployVideoNft({
      wallet: walletOf(deployer),
      publicClient,
      coordinator: c.coordinator,
      proofOfInference: c.proofOfInference,
      containerId: CONTAINER_ID,
      terms,
    });
    const nftAbi = videoNftArtifact().abi;
    stage!.done(
      `Coordinator ${short(c.coordinator)}, ProofOfInference ${short(c.proofOfInference)}, ` +
        `TrustModel ${short(c.trustModel)}, VideoNFT ${short(nft)} (+3)`,
    );

    // ------------------------------------------------------------ 4. register
    stageDo("register nodes", "staking");
    for (const [i, name] of ["A", "B"].entries()) {
      const account = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 2 + i });
      const port = await freePort();
      const dir = join(work, `node-${name}`);
      nodes.push({
        name,
        account,
        port,
        dir,
        outputs: join(dir, "outputs"),
        config: join(dir, "config.json"),
        log: "",
      });
      await send(
        account,
        c.nodeRegistry,
        abiOf("NodeRegistry"),
        "register",
        [
          {
            node: account.address,
            endpoint: `http://127.0.0.1:${port}`,
            containers: [CONTAINER_ID],
            hardware: { gpuModel: "cpu", vramMiB: 0, gpuCount: 0 },
            stake: STAKE,
          },
        ],
        STAKE,
      );
      stage!.update({ fraction: (i + 1) / 2, detail: `node ${name} ${short(account.address)}` });
    }
    const read = (address: Address, abi: Abi, functionName: string, args: readonly unknown[] = []) =>
      publicClient.readContract({ address, abi, functionName, args });
    const { kMin, kMax } = DEFAULT_PARAMS.poi;
    const depths = await Promise.all(
      nodes.map(async (n) =>
        Number(await read(c.trustModel, abiOf("TrustModel"), "auditDepth", [n.account.address, kMin, kMax])),
      ),
    );
    const kLeast = Math.min(o.steps, ...depths);
    const pDetect = detectionProbability(o.steps, kLeast, cheatHonestSteps(o.cheat ?? "skip-steps"));
    stage!.done(
      `nodes A ${short(nodes[0]!.account.address)} and B ${short(nodes[1]!.account.address)}, ` +
        `${formatEther(STAKE)} ETH stake each, both provider + validator`,
    );
    ui.note(
      `audit: T = ${o.steps} steps, k = ${kLeast} challenged (new node) → a ${o.cheat ?? "skip-steps"} cheat ` +
        `(UNet on step 0 only) is caught with probability ${pct(pDetect)}`,
    );
    if (o.cheat && pDetect < 1) {
      throw new DemoError(
        `the ${o.cheat} cheat would escape with probability ${pct(1 - pDetect)} at T = ${o.steps}, k = ${kLeast}`,
      );
    }

    // ------------------------------------------------------------ 5. start nodes
    stageDo("start nodes", "launching infernet-node ×2");
    for (const n of nodes) {
      writeNodeConfig(n, {
        rpcUrl: url,
        chainId: CHAIN_ID,
        contracts: {
          coordinator: c.coordinator,
          nodeRegistry: c.nodeRegistry,
          proofOfInference: c.proofOfInference,
        },
        modelDir,
        root: o.root,
        ...(o.cheat ? { cheat: o.cheat } : {}),
      });
      startNode(n, o.root);
    }
    await waitFor(
      "both nodes to start",
      async () => {
        const ps = nodes.map(startupProgress);
        stage!.update({
          fraction: ps.reduce((a, p) => a + p.fraction, 0) / ps.length,
          detail: nodes.map((n, i) => `${n.name} ${ps[i]!.ready ? "ready" : "starting"}`).join(", "),
        });
        return ps.every((p) => p.ready) ? true : undefined;
      },
      90_000,
    );
    stage!.done(
      `${nodes.map((n) => `${n.name} api :${n.port}`).join(", ")}; diffusion container as a process` +
        (o.cheat ? ` with DIFFUSION_CHEAT=${o.cheat}` : ""),
    );
    if (o.cheat) {
      ui.note(
        `cheat: every provider's diffusion container runs DIFFUSION_CHEAT=${o.cheat} (whichever node is drawn ` +
          "cheats); validators re-execute with their own honest pipeline",
      );
    }
    chain.startMining(300);

    // ------------------------------------------------------------ 6. request
    stageDo("request", `VideoNFT.mint("${o.prompt}")`);
    const fromBlock = await publicClient.getBlockNumber({ cacheTime: 0 });
    const mintReceipt = await send(minter, nft, nftAbi, "mint", [o.prompt], terms.price);
    const requested = decode(nftAbi, mintReceipt.logs, "VideoRequested")[0];
    if (!requested) throw new DemoError("mint emitted no VideoRequested");
    const requestId = requested.args.requestId as bigint;
    const ref = { subscriptionId: requestId, interval: 1, slot: 0 };
    const jobKey = (await read(c.proofOfInference, abiOf("ProofOfInference"), "jobKey", [ref])) as Hex;
    const poiJobId = poiJobIdOf({
      chainId: CHAIN_ID,
      coordinator: c.coordinator,
      subscriptionId: requestId,
      interval: 1,
    });
    stage!.done(
      `minter ${short(minter.address)} paid ${formatEther(terms.price)} ETH → request #${requestId} ` +
        `(PoI job ${short(poiJobId)}), payment locked in escrow`,
    );

    const events = async (address: Address, abi: Abi, eventName: string, args?: Record<string, unknown>) =>
      (await publicClient.getContractEvents({
        address,
        abi,
        eventName,
        ...(args ? { args } : {}),
        fromBlock,
      })) as unknown as Log[];
    const poiAbi = abiOf("ProofOfInference");
    const poiEvent = async (eventName: string) =>
      (await events(c.proofOfInference, poiAbi, eventName, { key: jobKey }))[0];
    const nodeName = (a: Address) =>
      nodes.find((n) => n.account.address.toLowerCase() === a.toLowerCase())?.name ?? "?";

    // ------------------------------------------------------------ 7. assign
    stageDo("assign", "waiting for the randomness round");
    const provider = await waitFor(
      "the provider's assignment",
      async () => {
        const delivered = (await events(c.coordinator, abiOf("Coordinator"), "NodeAssigned"))[0];
        if (delivered) return delivered.args.node as Address;
        const preview = (await read(c.coordinator, abiOf("Coordinator"), "previewAssignment", [
          requestId,
          1,
        ])) as Address[];
        return preview[0];
      },
      30_000,
    );
    const trustOf = async (node: Address): Promise<TrustSnapshot> => {
      const tm = abiOf("TrustModel");
      const [bps, depth, belief] = await Promise.all([
        read(c.trustModel, tm, "trustBps", [node]),
        read(c.trustModel, tm, "auditDepth", [node, kMin, kMax]),
        read(c.trustModel, tm, "beliefOf", [node]) as Promise<{ passes: number; failures: number }>,
      ]);
      return {
        trustBps: Number(bps),
        auditDepth: Number(depth),
        passes: Number(belief.passes),
        failures: Number(belief.failures),
      };
    };
    const trustBefore = await trustOf(provider);
    stage!.done(`node ${nodeName(provider)} ${short(provider)} drawn as provider (stake × trust weighted)`);

    // ------------------------------------------------------------ 8. generate + commit
    stageDo(
      "generate+commit",
      `node ${nodeName(provider)} runs ${o.steps} denoising steps (${terms.width}×${terms.height}×${terms.frames})`,
    );
    const committed = await waitFor("the commit (delivery)", () => poiEvent("Committed"), 120_000);
    const root = committed.args.root as Hex;
    const k = Number(committed.args.k);
    const T = Number(committed.args.steps);
    const minted = (await events(nft, nftAbi, "VideoMinted", { requestId }))[0];
    if (!minted) throw new DemoError("the delivery minted no token (VideoNFT callback failed?)");
    const tokenId = minted.args.tokenId as bigint;
    const uri = minted.args.uri as string;
    const videoSha256 = minted.args.videoSha256 as Hex;
    stage!.done(
      `delivered and committed: root ${short(root)}, T = ${T}, k = ${k}; NFT #${tokenId} minted (pending)`,
    );

    // ------------------------------------------------------------ 9. challenge + reveal
    stageDo("challenge+reveal", "waiting for the challenge round");
    const revealed = await waitFor("the reveal", () => poiEvent("Revealed"), 60_000);
    const challenged = (revealed.args.challenged as readonly number[]).map(Number);
    stage!.done(`challenged steps [${challenged.join(", ")}] opened; multiproof verified on-chain`);

    // ------------------------------------------------------------ 10. validate
    stageDo("validate", "drawing a validator");
    const assigned = await waitFor("a validator", () => poiEvent("ValidatorAssigned"), 60_000);
    const validator = assigned.args.validator as Address;
    stage!.update({
      detail: `node ${nodeName(validator)} ${short(validator)} fetches the tensors and re-runs ${k} steps`,
    });
    const verdictLog = await waitFor("the verdict", () => poiEvent("VerdictPosted"), 120_000);
    const pass = verdictLog.args.pass as boolean;
    const mask = verdictLog.args.failedSteps as bigint;
    const failedSteps = challenged.filter((_, i) => ((mask >> BigInt(i)) & 1n) === 1n);
    const quality = Number(verdictLog.args.quality);
    stage!.done(
      `node ${nodeName(validator)} re-executed [${challenged.join(", ")}] → ` +
        (pass
          ? `PASS (quality ${quality.toLocaleString("en-US")} bps)`
          : `FAIL: step${failedSteps.length === 1 ? "" : "s"} [${failedSteps.join(", ")}] do not match`),
    );

    // ------------------------------------------------------------ 11. dispute window
    const window = DEFAULT_PARAMS.poi.disputeWindow;
    stageDo("dispute window", `${window} s on the chain's clock`);
    const jumps = 10;
    const total = window + 60;
    for (let i = 1; i <= jumps; i++) {
      await chain.advance(Math.ceil(total / jumps));
      stage!.update({ fraction: i / jumps, detail: `+${Math.min(total, i * Math.ceil(total / jumps))} s` });
      await sleep(60);
    }
    const settledLog = await waitFor(
      "the settlement (finalize)",
      async () => (await poiEvent("JobPaid")) ?? (await poiEvent("FraudSlashed")),
      60_000,
    );
    const slashed = "toRequester" in settledLog.args;
    stage!.done(
      `closed without a dispute; finalize → ${slashed ? "FraudSlashed" : "JobPaid"} ` +
        `(tx ${short(settledLog.transactionHash)})`,
    );

    // ------------------------------------------------------------ 12. settle
    stageDo("settle", slashed ? "slashing and refunding" : "paying the provider");
    let payment: DemoSummary["payment"] = null;
    let slash: DemoSummary["slash"] = null;
    let refund: DemoSummary["refund"] = null;
    const settleReceipt = await send(minter, nft, nftAbi, "settle", [requestId]);
    if (!slashed) {
      const paid = (
        await events(c.coordinator, abiOf("Coordinator"), "Paid", { subscriptionId: requestId })
      )[0];
      if (!paid) throw new DemoError("JobPaid without a Coordinator Paid event");
      const verified = decode(nftAbi, settleReceipt.logs, "VideoVerified")[0];
      if (!verified) throw new DemoError("VideoNFT.settle did not verify the token");
      const returned = BigInt((verified.args.returned as bigint | undefined) ?? 0n);
      // A quality-weighted pass pays part of the price; VideoNFT credits the rest back to the minter.
      if (returned > 0n) await send(minter, nft, nftAbi, "withdrawRefund", [ZERO]);
      const payBps = settledLog.args.payBps as number | undefined;
      payment = {
        net: String(paid.args.net),
        fee: String(paid.args.fee),
        payBps: payBps === undefined ? 10_000 : Number(payBps),
        returned: returned.toString(),
      };
      stage!.done(
        `provider credited ${eth(payment.net)} (+${eth(payment.fee)} protocol fee, ` +
          `${(payment.payBps / 100).toFixed(2)} % of the price for quality ${quality.toLocaleString("en-US")} bps)` +
          (returned > 0n ? `, ${eth(returned)} back to the minter` : "") +
          `; NFT #${tokenId} verified`,
      );
    } else {
      slash = {
        toRequester: String(settledLog.args.toRequester),
        toChallenger: String(settledLog.args.toChallenger),
        burned: String(settledLog.args.burned),
      };
      const r = decode(nftAbi, settleReceipt.logs, "RequestRefunded")[0];
      if (!r) throw new DemoError("VideoNFT.settle did not refund the request");
      const withdraw = await send(minter, nft, nftAbi, "withdrawRefund", [ZERO]);
      const w = decode(nftAbi, withdraw.logs, "RefundWithdrawn")[0];
      refund = {
        price: String(r.args.returned),
        compensation: String(r.args.compensation),
        withdrawn: String(w?.args.amount ?? 0n),
      };
      stage!.done(
        `bond slashed: ${eth(slash.toRequester)} → requester, ${eth(slash.toChallenger)} → validator, ` +
          `${eth(slash.burned)} burned; minter refunded ${eth(refund.price)} + ${eth(refund.compensation)}; ` +
          `NFT #${tokenId} burned`,
      );
    }
    const trustAfter = await trustOf(provider);

    // ------------------------------------------------------------ 13. output
    stageDo("output", "copying the GIF");
    const source = uri.startsWith("file://") ? fileURLToPath(uri) : undefined;
    if (!source || !existsSync(source))
      throw new DemoError(`the provider's GIF is not where its URI says (${uri})`);
    const bytes = readFileSync(source);
    const gifSha = createHash("sha256").update(bytes).digest("hex");
    if (basename(source).replace(/^0x/, "") !== `${gifSha}.gif`)
      throw new DemoError(`the GIF at ${source} does not hash to its content address`);
    mkdirSync(o.outDir, { recursive: true });
    const gif = join(o.outDir, o.cheat ? "infernet-demo-cheat.gif" : "infernet-demo.gif");
    copyFileSync(source, gif);
    stage!.done(
      `${rel(o.root, gif)} (${(statSync(gif).size / 1024).toFixed(1)} KiB, sha256 ${gifSha.slice(0, 12)}…)`,
    );

    failed = false;
    return {
      mode: o.cheat ? "cheat" : "honest",
      cheat: o.cheat ?? null,
      prompt: o.prompt,
      requestId: requestId.toString(),
      jobId: poiJobId,
      jobKey,
      provider,
      providerName: nodeName(provider),
      validator,
      validatorName: nodeName(validator),
      root,
      steps: T,
      k,
      challenged,
      detectionProbability: detectionProbability(T, k, cheatHonestSteps(o.cheat ?? "skip-steps")),
      verdict: pass ? "pass" : "fail",
      failedSteps,
      quality,
      settlement: slashed ? "slashed" : "paid",
      payment,
      slash,
      refund,
      trust: { before: trustBefore, after: trustAfter },
      nft: {
        tokenId: tokenId.toString(),
        owner: minted.args.owner as Address,
        videoSha256,
        uri,
        status: slashed ? "burned" : "verified",
      },
      gif,
      durationMs: Date.now() - t0,
    };
  } catch (err) {
    stage?.fail();
    throw err;
  } finally {
    // Every process this demo started stops here, also on failure.
    const s = failed ? undefined : ui.stage("shutdown", "stopping nodes and chain");
    const codes = await Promise.all(nodes.map((n) => stopNode(n)));
    await chain?.stop();
    if (s) {
      const clean = codes.every((code) => code === 0);
      s.done(
        `${nodes.length} nodes (${clean ? "clean exit" : `exit codes ${codes.join(", ")}`}) and the chain stopped`,
      );
    }
    if (failed) {
      for (const n of nodes) {
        ui.print(`--- node ${n.name} (last lines)\n${tail(n.log, 25)}`);
      }
      ui.print(`(node directories kept in ${work})`);
    } else if (!o.keep) rmSync(work, { recursive: true, force: true });
    else ui.note(`node directories kept in ${work}`);
    scratchDirs.delete(work);
  }

  /** Polls `fn` every 150 ms until it gives a value; fails when a node process died or after `timeoutMs`. */
  async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
    const started = Date.now();
    for (;;) {
      const value = await fn();
      if (value !== undefined) return value;
      for (const n of nodes) {
        const child = n.child;
        if (child && (child.exitCode !== null || child.signalCode !== null))
          throw new NodeStartError(
            n.name,
            `exited (code ${child.exitCode ?? child.signalCode}) while waiting for ${what}`,
            n.log,
          );
      }
      if (Date.now() - started > timeoutMs)
        throw new DemoError(`timed out after ${seconds(timeoutMs)} waiting for ${what}`);
      await sleep(150);
    }
  }
}

function decode(abi: Abi, logs: readonly Log[] | readonly object[], eventName: string): Log[] {
  return parseEventLogs({ abi, logs: logs as never, eventName }) as unknown as Log[];
}

function short(h: string): string {
  return h.length > 12 ? `${h.slice(0, 6)}…${h.slice(-4)}` : h;
}

function eth(wei: string | bigint): string {
  return `${formatEther(BigInt(wei))} ETH`;
}

function pct(p: number): string {
  return `${(p * 100).toFixed(p === 1 || p === 0 ? 0 : 1)} %`;
}

function rel(root: string, path: string): string {
  const r = relative(root, path);
  return r.startsWith("..") ? path : r;
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

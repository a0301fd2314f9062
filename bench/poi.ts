/**
 * Proof-of-Inference detection bench: cheating providers against the protocol code, predicted vs measured.
 *
 *   npm run bench:poi          (= hardhat build --quiet && ORT_DISABLE_TELEMETRY=1 node bench/poi.ts)
 *
 * Writes bench/out/poi.json and prints a table. Environment (defaults in brackets):
 *   BENCH_POI_JOBS [1000]         in-process jobs per cheating strategy
 *   BENCH_POI_HONEST_JOBS [1000]  in-process honest jobs (false fails, timing)
 *   BENCH_POI_CHAIN_JOBS [50]     jobs per strategy (and honest) through the contracts; 0 skips the chain run
 *   BENCH_POI_MODEL [synthetic-video]  or "synthetic-image", "procedural" (docs/verification.md: why the default)
 *   BENCH_POI_T [50], BENCH_POI_K [3]
 *   BENCH_POI_SEED                a hex/string seed to make the challenge and job randomness reproducible; without
 *                                 it every challenge comes from node:crypto randomBytes drawn after the commit
 *
 * Providers, commitment and validator live in bench/lib/cheats.ts (shared with test/poi.cheating.test.ts).
 *
 * In-process run, per job: a jobId and a request randomness give the job's seed (sdk `jobSeed`); the provider
 * (honest or one of the cheats) runs the diffusion pipeline, hashes every latent and noise prediction and
 * commits with the sdk prover (`commitJob`); only then is the challenge randomness drawn, the sdk opens the
 * challenged steps (`revealJob`), the reveal is checked as `ProofOfInference.reveal` checks it (leaves rebuilt from
 * the openings, sdk `verifyMultiproof` against the root), and the validator core (`node/src/validator`
 * `verifyReveal`) judges it on the tensors the provider serves, re-running the challenged steps on the same model.
 * A job counts as detected when the verdict is not a pass, or when the provider withholds its reveal (slashed by
 * `slashUnrevealed` with certainty).
 *
 * Chain run: the same providers and validator through the real contracts on the in-process Hardhat network
 * (deploy/system.ts): request → assign → deliver with the commitment → challenge round → reveal (or not) →
 * assignValidator → postVerdict(verdict of verifyReveal on the Revealed event's data) → finalize / slashUnrevealed
 * after the windows; detected = the job ends Slashed. The audit depth is pinned to k (kMin = kMax = k).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  encodeAbiParameters,
  keccak256,
  parseEventLogs,
  stringToHex,
  toHex,
  type Address,
  type Hex,
} from "viem";
import * as sdk from "@infernet/sdk";
import { closePipeline, profileKey } from "../containers/diffusion/src/index.ts";
import {
  DEFAULT_BANDS,
  relativeL2Error,
  tensorSha256,
  transitionHolds,
  type Verdict,
} from "../node/src/validator/index.ts";
import {
  commit,
  contractAccepts,
  honestRun,
  judge,
  jobContext,
  openModel,
  strategies,
  type Committed,
  type Donor,
  type JobContext,
  type Model,
  type Produced,
  type Strategy,
} from "./lib/cheats.ts";

process.env.ORT_DISABLE_TELEMETRY = "1";

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

const T = envInt("BENCH_POI_T", 50);
const K = envInt("BENCH_POI_K", 3);
const JOBS = envInt("BENCH_POI_JOBS", 1000);
const HONEST_JOBS = envInt("BENCH_POI_HONEST_JOBS", JOBS);
const CHAIN_JOBS = envInt("BENCH_POI_CHAIN_JOBS", 50);
const MODEL = process.env.BENCH_POI_MODEL ?? "synthetic-video";
const SEED_TEXT = process.env.BENCH_POI_SEED;
const BANDS = DEFAULT_BANDS;
/** Jobs a provider produces and commits before they are challenged and judged one by one. */
const BATCH = 25;
const OUT_FILE = fileURLToPath(new URL("./out/poi.json", import.meta.url));

// ---------------------------------------------------------------- randomness

let counter = 0n;
/** 32 fresh random bytes: node:crypto, or keccak(seed, counter) when BENCH_POI_SEED makes the run reproducible. */
function fresh(): Hex {
  counter++;
  if (SEED_TEXT === undefined) return toHex(randomBytes(32));
  return keccak256(encodeAbiParameters([{ type: "string" }, { type: "uint256" }], [SEED_TEXT, counter]));
}

// ---------------------------------------------------------------- providers (bench/lib/cheats.ts)

const { honest: HONEST, cheats: STRATEGIES } = strategies({ T, k: K, fresh });

// ---------------------------------------------------------------- statistics

interface Tally {
  jobs: number;
  detected: number;
  /** Jobs whose challenge hit a tampered step (or that carry a job-wide cheat). */
  hits: number;
  /** Hit but passed (a tampered step inside the pass band). */
  missed: number;
  /** Not hit but not passed. */
  falseAlarms: number;
  escalated: number;
  withheld: number;
  /** Smallest relative noise error seen on a challenged tampered step. */
  minTamperedRelErr: number;
}

const newTally = (): Tally => ({
  jobs: 0,
  detected: 0,
  hits: 0,
  missed: 0,
  falseAlarms: 0,
  escalated: 0,
  withheld: 0,
  minTamperedRelErr: Infinity,
});

function record(
  tally: Tally,
  p: Produced,
  challenged: readonly number[],
  verdict: Verdict | "withheld",
): boolean {
  const hit = p.jobWide || challenged.some((c) => p.tampered.has(c));
  const detected = verdict === "withheld" || !verdict.pass;
  tally.jobs++;
  if (detected) tally.detected++;
  if (hit) tally.hits++;
  if (hit && !detected) tally.missed++;
  if (!hit && detected) tally.falseAlarms++;
  if (verdict === "withheld") tally.withheld++;
  else {
    if (verdict.outcome === "escalate") tally.escalated++;
    for (const s of verdict.steps) {
      if (p.tampered.has(s.index) && s.relErr !== undefined) {
        tally.minTamperedRelErr = Math.min(tally.minTamperedRelErr, s.relErr);
      }
    }
  }
  return detected;
}

/** Measured rate, its binomial sigma under the prediction, and the z-score. */
function compare(predicted: number, detected: number, jobs: number) {
  const measured = jobs === 0 ? NaN : detected / jobs;
  const sigma = Math.sqrt((predicted * (1 - predicted)) / jobs);
  const z = sigma === 0 ? (measured === predicted ? 0 : Infinity) : (measured - predicted) / sigma;
  return { measured, sigma, z, within3Sigma: Math.abs(z) <= 3 };
}

// ---------------------------------------------------------------- in-process run

const BENCH_COORDINATOR: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const BENCH_NODE: Address = "0x00000000000000000000000000000000000000a1";
const BENCH_INPUTS = keccak256(stringToHex("bench inputs"));
let nextSubscription = 1n;

function inProcessContext(m: Model): JobContext {
  const jobId = sdk.jobId({
    chainId: 31337,
    coordinator: BENCH_COORDINATOR,
    subscriptionId: nextSubscription++,
    interval: 1,
  });
  return jobContext(m, jobId, BENCH_NODE, fresh(), BENCH_INPUTS);
}

interface Timing {
  genMs: number;
  genCpuMs: number;
  validatorMs: number;
  validatorCpuMs: number;
  reexecMs: number;
  hashMs: number;
  treeMs: number;
  hashedBytes: number;
  jobs: number;
}

/**
 * Runs `jobs` jobs of strategy `s` in batches of `BATCH`: the provider produces and commits a batch, then each job
 * is challenged (fresh randomness after its commit), revealed and judged. Batching keeps each side in its steady
 * state (a provider generates jobs back to back, a validator judges them back to back), so the timing compares like
 * with like.
 */
async function inProcess(m: Model, s: Strategy, jobs: number, donor: Donor, timing?: Timing): Promise<Tally> {
  const tally = newTally();
  for (let done = 0; done < jobs;) {
    const batch: { ctx: JobContext; p: Produced; c: Committed }[] = [];
    const n = Math.min(BATCH, jobs - done);
    for (let i = 0; i < n; i++) {
      const ctx = inProcessContext(m);
      batch.push({ ctx, p: await s.produce(m, ctx, donor), c: undefined as unknown as Committed });
    }
    for (const job of batch) job.c = commit(m, job.ctx, job.p);
    for (const { ctx, p, c } of batch) {
      // The challenge randomness exists only after the commitment is fixed.
      const reveal = sdk.revealJob(c.commitment, fresh(), K);
      if (!contractAccepts(ctx, c.commitment.root, reveal)) {
        throw new Error(`${s.key}: the reveal does not verify`);
      }
      if (p.withholdIfHit && reveal.challenged.some((i) => p.tampered.has(i))) {
        record(tally, p, reveal.challenged, "withheld");
        continue;
      }
      const t = { reexecMs: 0 };
      const cpu0 = process.cpuUsage();
      const v0 = performance.now();
      const verdict = await judge(
        m,
        ctx,
        {
          challenged: reveal.challenged,
          openings: reveal.openings,
          finalLatentDigest: reveal.finalLatentDigest,
          paramsHash: reveal.commitment.paramsHash,
        },
        p,
        t,
      );
      const validatorMs = performance.now() - v0;
      const cpu = process.cpuUsage(cpu0);
      record(tally, p, reveal.challenged, verdict);
      if (timing !== undefined) {
        timing.genMs += p.genMs;
        timing.genCpuMs += p.genCpuMs;
        timing.validatorMs += validatorMs;
        timing.validatorCpuMs += (cpu.user + cpu.system) / 1000;
        timing.reexecMs += t.reexecMs;
        timing.hashMs += c.hashMs;
        timing.treeMs += c.treeMs;
        timing.hashedBytes += c.hashedBytes;
        timing.jobs++;
      }
    }
    done += n;
  }
  return tally;
}

// ---------------------------------------------------------------- chain run

async function chainRun(m: Model, strategies: Strategy[], jobs: number, donor: Donor) {
  const { network } = await import("hardhat");
  const { deploySystem } = await import("../deploy/system.ts");
  const { DEFAULT_PARAMS, poiContractParams } = await import("../deploy/params.ts");
  const { CONTAINER, nodeRegistration, subscriptionParams } = await import("../test/helpers/fixture.ts");
  const { viem, networkHelpers } = await network.create();
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const [deployer, consumer, keeper] = wallets;
  if (!deployer || !consumer || !keeper || wallets.length < 7) throw new Error("not enough accounts");
  const { contracts } = await deploySystem({ wallet: deployer, publicClient });
  const mined = async (tx: Promise<Hex>) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await tx });
    if (receipt.status !== "success") throw new Error("transaction reverted");
    return receipt;
  };
  const poi = await viem.getContractAt("ProofOfInference", contracts.proofOfInference);
  const coordinator = await viem.getContractAt("Coordinator", contracts.coordinator);
  const randomness = await viem.getContractAt("BlockhashRandomness", contracts.randomness);
  const containers = await viem.getContractAt("ContainerRegistry", contracts.containerRegistry);
  await mined(containers.write.registerContainer([CONTAINER, `0x${"00".repeat(32)}`]));
  const pinned = poiContractParams(DEFAULT_PARAMS.poi, deployer.account.address);
  await mined(poi.write.setParams([{ ...pinned, kMin: K, kMax: K }]));

  // Four nodes, each its own operator, staked for every job bond they may take.
  type Handles = {
    coordinator: Awaited<ReturnType<typeof viem.getContractAt<"Coordinator">>>;
    poi: Awaited<ReturnType<typeof viem.getContractAt<"ProofOfInference">>>;
  };
  const byAddress = new Map<string, Handles>();
  for (const w of wallets.slice(3, 7)) {
    const registry = await viem.getContractAt("NodeRegistry", contracts.nodeRegistry, {
      client: { wallet: w },
    });
    const stake = 1000n * 10n ** 18n;
    await mined(registry.write.register([nodeRegistration(w.account.address, stake)], { value: stake }));
    byAddress.set(w.account.address.toLowerCase(), {
      coordinator: await viem.getContractAt("Coordinator", contracts.coordinator, { client: { wallet: w } }),
      poi: await viem.getContractAt("ProofOfInference", contracts.proofOfInference, {
        client: { wallet: w },
      }),
    });
  }
  const as = (a: Address): Handles => {
    const h = byAddress.get(a.toLowerCase());
    if (h === undefined) throw new Error(`no wallet for ${a}`);
    return h;
  };
  const asConsumer = await viem.getContractAt("Coordinator", contracts.coordinator, {
    client: { wallet: consumer },
  });
  const asKeeper = await viem.getContractAt("ProofOfInference", contracts.proofOfInference, {
    client: { wallet: keeper },
  });
  const price = DEFAULT_PARAMS.poi.maxPrice;
  const chainId = await publicClient.getChainId();
  const windows = Math.max(DEFAULT_PARAMS.poi.disputeWindow, DEFAULT_PARAMS.poi.revealWindow);

  const results: Record<string, Tally & { slashed: number; paid: number }> = {};
  for (const s of strategies) {
    const tally = { ...newTally(), slashed: 0, paid: 0 };
    const refs: { subscriptionId: bigint; interval: number; slot: number }[] = [];
    const withheld: boolean[] = [];
    for (let n = 0; n < jobs; n++) {
      // request → assign
      const subscriptionId = (await coordinator.read.subscriptionCount()) + 1n;
      const params = subscriptionParams({ paymentAmount: price, verifier: poi.address });
      await mined(asConsumer.write.requestCompute([params, price], { value: price }));
      await networkHelpers.mine();
      await mined(coordinator.write.assign([subscriptionId, 1]));
      const [state, inputsHash, slots] = await coordinator.read.getInterval([subscriptionId, 1]);
      const node = slots[0]!.node;
      const requestRandomness = await randomness.read.valueOf([BigInt(state.seedRound)]);
      const jobId = sdk.jobId({ chainId, coordinator: coordinator.address, subscriptionId, interval: 1 });
      const ctx = jobContext(m, jobId, node, requestRandomness, inputsHash);
      const ref = { subscriptionId, interval: 1, slot: 0 };
      refs.push(ref);
      // provider: run, commit inside the delivery
      const p = await s.produce(m, ctx, donor);
      const { commitment } = commit(m, ctx, p);
      const delivered = await mined(
        as(node).coordinator.write.deliver([subscriptionId, 1, "0x", p.output, commitment.deliveryProof]),
      );
      const [committed] = parseEventLogs({ abi: poi.abi, logs: delivered.logs, eventName: "Committed" });
      if (committed === undefined || committed.args.k !== K) throw new Error("commit not recorded with k");
      // challenge round → reveal, or withhold it
      await networkHelpers.mine();
      const challengeValue = await randomness.read.valueOf([BigInt(committed.args.round)]);
      const reveal = sdk.revealJob(commitment, challengeValue, K);
      if (p.withholdIfHit && reveal.challenged.some((i) => p.tampered.has(i))) {
        withheld.push(true);
        record(tally, p, reveal.challenged, "withheld");
        continue;
      }
      withheld.push(false);
      const revealed = await mined(
        as(node).poi.write.reveal([
          ref,
          reveal.commitment,
          reveal.openings,
          reveal.finalLatentDigest,
          reveal.proof,
        ]),
      );
      const [ev] = parseEventLogs({ abi: poi.abi, logs: revealed.logs, eventName: "Revealed" });
      if (ev === undefined) throw new Error("no Revealed event");
      // validator: drawn on-chain, judges from the event's data and the served tensors
      const assigned = await mined(poi.write.assignValidator([ref]));
      const [drawn] = parseEventLogs({ abi: poi.abi, logs: assigned.logs, eventName: "ValidatorAssigned" });
      if (drawn === undefined) throw new Error("no validator drawn");
      const verdict = await judge(
        m,
        ctx,
        {
          challenged: [...ev.args.challenged],
          openings: ev.args.openings.map((o) => ({ ...o })),
          finalLatentDigest: ev.args.finalLatentDigest,
          paramsHash: committed.args.paramsHash,
        },
        p,
      );
      record(tally, p, ev.args.challenged, verdict);
      await mined(
        as(drawn.args.validator).poi.write.postVerdict([
          ref,
          verdict.pass,
          verdict.failedMask,
          verdict.digest,
          verdict.pass ? 10_000 : 0,
        ]),
      );
    }
    // Windows close: judged jobs settle (pay or slash), withheld reveals are slashed by a keeper.
    await networkHelpers.time.increase(windows + 1);
    for (const [i, ref] of refs.entries()) {
      await mined(withheld[i] ? asKeeper.write.slashUnrevealed([ref]) : asKeeper.write.finalize([ref]));
      const phase = (await poi.read.getJob([ref])).phase;
      if (phase === 6) tally.slashed++;
      else if (phase === 5) tally.paid++;
      else throw new Error(`job ended in phase ${phase}`);
    }
    results[s.key] = tally;
    console.log(
      `  chain ${s.key.padEnd(20)} ${tally.slashed}/${jobs} slashed (verdicts: ${tally.detected} not passed)`,
    );
  }
  return results;
}

// ---------------------------------------------------------------- main

function fmt(x: number, digits = 4): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

async function main() {
  const started = new Date();
  const wall0 = performance.now();
  if (MODEL !== "synthetic-video" && MODEL !== "synthetic-image" && MODEL !== "procedural") {
    throw new Error(`BENCH_POI_MODEL must be synthetic-video, synthetic-image or procedural, got ${MODEL}`);
  }
  const m = await openModel(MODEL, T);
  console.log(
    `PoI bench: ${m.name} latent ${m.elements} floats, T = ${T}, k = ${K}, ${JOBS} jobs per strategy, ` +
      `${HONEST_JOBS} honest, chain ${CHAIN_JOBS} per strategy; profile ${profileKey(m.pipeline.profile)}`,
  );
  // The donor: one honest run of another job, for the replaying and caching cheats.
  const donorCtx = inProcessContext(m);
  const donorRun = await honestRun(m, donorCtx);
  const donor: Donor = { latents: donorRun.latents, noise: donorRun.noise, output: donorRun.output };

  // Warm-up (session, JIT), not counted.
  await inProcess(m, HONEST, 5, donor);

  const timing: Timing = {
    genMs: 0,
    genCpuMs: 0,
    validatorMs: 0,
    validatorCpuMs: 0,
    reexecMs: 0,
    hashMs: 0,
    treeMs: 0,
    hashedBytes: 0,
    jobs: 0,
  };
  const t0 = performance.now();
  const honest = await inProcess(m, HONEST, HONEST_JOBS, donor, timing);
  console.log(
    `  honest ${honest.jobs} jobs: ${honest.detected} not passed (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  const tallies: Record<string, Tally> = {};
  for (const s of STRATEGIES) {
    const ts = performance.now();
    tallies[s.key] = await inProcess(m, s, JOBS, donor);
    const t = tallies[s.key]!;
    console.log(
      `  ${s.key.padEnd(20)} ${t.detected}/${t.jobs} detected (${((performance.now() - ts) / 1000).toFixed(1)} s)`,
    );
  }

  // A large hashing sample for the throughput figure: SD-video-sized tensors (4 × 16 × 64 × 64 float32, 1 MiB).
  const big = new Float32Array(4 * 16 * 64 * 64).map((_, i) => Math.sin(i));
  const h0 = performance.now();
  const rounds = 64;
  for (let i = 0; i < rounds; i++) sdk.tensorDigest(big);
  const bigMbPerS = (rounds * big.byteLength) / 1e6 / ((performance.now() - h0) / 1000);
  // The validator's work besides the UNet at that latent size: z_0 from a seed, 3k + 1 digests, k exact DDIM
  // transitions and k relative errors (median of 5). Below 1 % of generation once a UNet step takes longer than
  // fixed / (0.01 · T).
  const fixedRuns: number[] = [];
  for (let r = 0; r < 5; r++) {
    const f0 = performance.now();
    tensorSha256(sdk.initialLatent(fresh(), big.length, "float32"));
    for (let j = 0; j < K; j++) {
      for (let h = 0; h < 3; h++) tensorSha256(big);
      transitionHolds(m.schedule, j, big, big, big);
      relativeL2Error(big, big);
    }
    fixedRuns.push(performance.now() - f0);
  }
  const fixedMs1Mib = fixedRuns.sort((a, b) => a - b)[2]!;

  const chain = CHAIN_JOBS > 0 ? await chainRun(m, [HONEST, ...STRATEGIES], CHAIN_JOBS, donor) : undefined;

  const ratio = timing.validatorMs / timing.genMs;
  const cpuRatio = timing.validatorCpuMs / timing.genCpuMs;
  const strategies: Record<string, unknown> = {};
  const rows: string[][] = [];
  for (const s of STRATEGIES) {
    const t = tallies[s.key]!;
    const c = compare(s.predicted.value, t.detected, t.jobs);
    const ch = chain?.[s.key];
    const cc = ch === undefined ? undefined : compare(s.predicted.value, ch.slashed, ch.jobs);
    strategies[s.key] = {
      label: s.label,
      predicted: s.predicted.value,
      predicted_source: s.predicted.source,
      measured: c.measured,
      jobs: t.jobs,
      detected: t.detected,
      sigma: c.sigma,
      z: c.z,
      within_3_sigma: c.within3Sigma,
      hits: t.hits,
      missed: t.missed,
      false_alarms: t.falseAlarms,
      escalated: t.escalated,
      withheld: t.withheld,
      min_tampered_rel_err: Number.isFinite(t.minTamperedRelErr) ? t.minTamperedRelErr : null,
      chain:
        ch === undefined || cc === undefined
          ? null
          : {
              jobs: ch.jobs,
              slashed: ch.slashed,
              paid: ch.paid,
              measured: cc.measured,
              z: cc.z,
              within_3_sigma: cc.within3Sigma,
            },
    };
    rows.push([
      s.key,
      fmt(s.predicted.value),
      fmt(c.measured),
      String(t.jobs),
      fmt(c.z, 2),
      c.within3Sigma ? "yes" : "NO",
      cc === undefined ? "-" : fmt(cc.measured),
      ch === undefined ? "-" : String(ch.jobs),
      cc === undefined ? "-" : fmt(cc.z, 2),
    ]);
  }
  const chainHonest = chain?.honest;
  const report = {
    date: started.toISOString(),
    command: "npm run bench:poi",
    env: { BENCH_POI_JOBS: JOBS, BENCH_POI_HONEST_JOBS: HONEST_JOBS, BENCH_POI_CHAIN_JOBS: CHAIN_JOBS },
    machine: { cpus: availableParallelism(), cpu: cpus()[0]?.model ?? "unknown", node: process.version },
    model: {
      name: m.name,
      latent_elements: m.elements,
      prompt: m.template.prompt,
      guidance_milli: m.template.guidanceMilli,
      profile: profileKey(m.pipeline.profile),
    },
    T,
    k: K,
    bands: BANDS,
    strategies,
    honest_jobs: honest.jobs,
    honest_false_fail: honest.detected,
    honest_escalated: honest.escalated,
    chain_honest:
      chainHonest === undefined
        ? null
        : { jobs: chainHonest.jobs, slashed: chainHonest.slashed, paid: chainHonest.paid },
    verifier_to_generator_ratio: ratio,
    verifier_target: K / T + 0.01,
    verifier_to_generator_ratio_cpu: cpuRatio,
    verifier_reexecution_ratio: timing.reexecMs / timing.genMs,
    commit_overhead_pct: (100 * (timing.hashMs + timing.treeMs)) / timing.genMs,
    hash_mb_per_s: timing.hashedBytes / 1e6 / (timing.hashMs / 1000),
    hash_mb_per_s_1mib_tensor: bigMbPerS,
    validator_fixed_pct: (100 * (timing.validatorMs - timing.reexecMs)) / timing.genMs,
    validator_fixed_ms_1mib_latent: fixedMs1Mib,
    unet_step_ms_for_fixed_below_1pct_1mib: fixedMs1Mib / (0.01 * T),
    timing_ms_per_honest_job: {
      generation: timing.genMs / timing.jobs,
      validator: timing.validatorMs / timing.jobs,
      generation_cpu: timing.genCpuMs / timing.jobs,
      validator_cpu: timing.validatorCpuMs / timing.jobs,
      validator_reexecution: timing.reexecMs / timing.jobs,
      commit_hashing: timing.hashMs / timing.jobs,
      commit_tree: timing.treeMs / timing.jobs,
    },
    wall_s: (performance.now() - wall0) / 1000,
  };
  mkdirSync(dirname(OUT_FILE), { recursive: true });
  writeFileSync(OUT_FILE, JSON.stringify(report, null, 2) + "\n");

  const head = ["strategy", "predicted", "measured", "jobs", "z", "≤3σ", "chain", "chain jobs", "chain z"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log("\n" + line(head));
  for (const r of rows) console.log(line(r));
  console.log(
    `\nhonest: ${honest.jobs} jobs, ${honest.detected} false fails, ${honest.escalated} escalations` +
      (chainHonest === undefined ? "" : `; chain ${chainHonest.jobs} jobs, ${chainHonest.slashed} slashed`),
  );
  console.log(
    `verifier/generator ${fmt(ratio)} wall, ${fmt(cpuRatio)} CPU (target ≤ ${fmt(K / T + 0.01)}), commit overhead ${fmt(report.commit_overhead_pct, 1)} %, ` +
      `sha256 ${fmt(report.hash_mb_per_s, 0)} MB/s on ${m.elements * 4}-byte tensors, ${fmt(bigMbPerS, 0)} MB/s on 1 MiB`,
  );
  console.log(
    `validator besides the UNet: ${fmt(report.validator_fixed_pct, 2)} % of generation here; ` +
      `${fmt(fixedMs1Mib, 1)} ms at a 1 MiB latent (< 1 % once a UNet step takes > ${fmt(fixedMs1Mib / (0.01 * T), 1)} ms)`,
  );
  console.log(
    `per honest job (ms): ${JSON.stringify(report.timing_ms_per_honest_job, (_k, v) => (typeof v === "number" ? Number(v.toFixed(3)) : v))}`,
  );
  console.log(`wrote ${join("bench", "out", "poi.json")} in ${fmt(report.wall_s, 0)} s`);
  await closePipeline(m.pipeline);
}

await main();

/**
 * Cheating providers for Proof-of-Inference, shared by the detection bench (bench/poi.ts) and the protocol test
 * (test/poi.cheating.test.ts): the model a job runs on, the job as the provider and the validator reconstruct it, the
 * honest provider and eight cheating strategies (docs/verification.md), the provider's commitment (sdk `commitJob`),
 * the tensors it serves, and the validator's verdict (`verifyReveal` of node/src/validator, re-running the challenged
 * steps on the same model).
 *
 * Strategies:
 *   (1) tamper_1_step        one step's UNet skipped (ε reused from the previous step)
 *   (2) tamper_10pct         the same on ⌈0.1·T⌉ steps
 *   (3) fewer_steps          the UNet on every second step only (ε held over two DDIM steps)
 *   (4) substitute_model     a cheaper model: the conditional-only UNet
 *   (5) wrong_seed           an honest run from a seed of the provider's choice
 *   (6) withheld_reveal      (2), withholding the reveal whenever the challenge hits a tampered step
 *   (7) replayed_trajectory  another job's trajectory, committed as this one
 *   (8) cached_output        another job's output: its ε replayed from the right z_0, its z_T committed
 */
import { concat, keccak256, stringToHex, type Address, type Hex } from "viem";
import * as sdk from "@infernet/sdk";
import {
  ddimStep,
  decodeJobLatent,
  encodeJobPrompts,
  ensureProceduralModel,
  ensureSyntheticModel,
  f32,
  generate,
  jobInitialLatent,
  jobSchedule,
  latentDims,
  loadPipeline,
  modelDirectoryDigest,
  predictNoise,
  rawVideo,
  schedulerConfigJson,
  sqrt32,
  type DdimSchedule,
  type JobParams,
  type Pipeline,
  type PromptEmbeddings,
} from "../../containers/diffusion/src/index.ts";
import {
  DEFAULT_BANDS,
  pipelineReexecutor,
  verifyReveal,
  type Bands,
  type Reexecute,
  type Verdict,
} from "../../node/src/validator/index.ts";

// ---------------------------------------------------------------- model

export interface Model {
  name: string;
  /** Denoising steps of every job. */
  T: number;
  pipeline: Pipeline;
  /** The job every request asks for, less its seed. */
  template: Omit<JobParams, "seed">;
  embeddings: PromptEmbeddings;
  schedule: DdimSchedule;
  dims: number[];
  elements: number;
  modelHash: Hex;
  schedulerHash: Hex;
}

/**
 * Loads `name` (the synthetic SD video or image UNet of containers/diffusion, or the procedural model) for jobs of
 * `T` steps at 64 × 64 (8 frames for video), guidance 7.5. Close with `closePipeline(m.pipeline)`.
 */
export async function openModel(name: string, T: number): Promise<Model> {
  const base = { steps: T, guidanceMilli: 7500, width: 64, height: 64 };
  let dir: string;
  let template: Omit<JobParams, "seed">;
  if (name === "synthetic-video") {
    dir = await ensureSyntheticModel("video");
    template = { ...base, prompt: "a photo of a cat", frames: 8 };
  } else if (name === "synthetic-image") {
    dir = await ensureSyntheticModel("image");
    template = { ...base, prompt: "a photo of a cat", frames: 1 };
  } else if (name === "procedural") {
    dir = await ensureProceduralModel();
    template = { ...base, prompt: "a red circle moving right", frames: 8 };
  } else {
    throw new Error(`unknown model ${name}: synthetic-video, synthetic-image or procedural`);
  }
  const pipeline = await loadPipeline({ dir });
  const job = { ...template, seed: `0x${"00".repeat(32)}` as Hex };
  const dims = latentDims(pipeline, job);
  return {
    name,
    T,
    pipeline,
    template,
    embeddings: await encodeJobPrompts(pipeline, job),
    schedule: jobSchedule(pipeline, job),
    dims,
    elements: dims.reduce((a, b) => a * b, 1),
    modelHash: await modelDirectoryDigest(dir),
    schedulerHash: keccak256(stringToHex(JSON.stringify(schedulerConfigJson(pipeline.scheduler)))),
  };
}

// ---------------------------------------------------------------- jobs and providers

/** What a job is, as both the provider and the validator reconstruct it from the chain. */
export interface JobContext {
  jobId: Hex;
  node: Address;
  /** `jobSeed(jobId, R_req)`. */
  seed: Hex;
  inputsHash: Hex;
  job: JobParams;
  /** The params hash of the job (check 6). */
  paramsHash: Hex;
}

export function jobContext(
  m: Model,
  jobId: Hex,
  node: Address,
  requestRandomness: Hex,
  inputsHash: Hex,
): JobContext {
  const seed = sdk.jobSeed(jobId, requestRandomness);
  const job = { ...m.template, seed };
  const paramsHash = sdk.paramsHash({
    modelHash: m.modelHash,
    schedulerHash: m.schedulerHash,
    guidanceMilli: job.guidanceMilli,
    width: job.width,
    height: job.height,
    frames: job.frames,
    seed,
    inputsHash,
    dtype: "float32",
  });
  return { jobId, node, seed, inputsHash, job, paramsHash };
}

/** A provider's committed run. */
export interface Produced {
  /** `z_0 … z_T` as committed and served. */
  latents: Float32Array[];
  /** `ε_0 … ε_{T−1}` as committed and served. */
  noise: Float32Array[];
  /** Output bytes delivered on-chain: `sha256(decoded frames) ‖ URI` (docs/protocol.md §4). */
  output: Hex;
  /** Ground truth: steps c whose opened triple (z_c, ε_c, z_{c+1}) is not what the model and scheduler give. */
  tampered: ReadonlySet<number>;
  /** Ground truth: a cheat caught by an always-opened leaf (z_0 of another seed). */
  jobWide: boolean;
  /** Withholds the reveal when the challenge hits a tampered step. */
  withholdIfHit: boolean;
  /** Milliseconds (wall) of its T denoising steps (honest runs: the generation time of the ratio). */
  genMs: number;
  /** The same in process CPU time (all threads, onnxruntime's included). */
  genCpuMs: number;
}

/** `sha256(rgb frames) ‖ "bench://<jobId>"`. */
export async function outputOf(m: Model, ctx: JobContext, finalLatent: Float32Array): Promise<Hex> {
  const frames = await decodeJobLatent(m.pipeline, ctx.job, finalLatent);
  return concat([sdk.sha256Hex(rawVideo(frames)), stringToHex(`bench://${ctx.jobId}`)]);
}

/** The guided (or, with `guidanceMilli` ≤ 1000, conditional-only) UNet prediction at `latent`, step `i`. */
export function unet(m: Model, latent: Float32Array, i: number, guidanceMilli = m.template.guidanceMilli) {
  return predictNoise({
    unet: m.pipeline.unet,
    latent,
    dims: m.dims,
    timestep: m.schedule.timesteps[i]!,
    embeddings: m.embeddings,
    guidanceMilli,
    cfgMode: m.pipeline.profile.cfgMode,
  });
}

export function ddim(m: Model, i: number, latent: Float32Array, noise: Float32Array): Float32Array {
  return ddimStep({
    schedule: m.schedule,
    latent,
    noise,
    t: m.schedule.timesteps[i]!,
    tPrev: m.schedule.prevTimesteps[i]!,
  });
}

/** Replaces the guided UNet's noise at step i when it returns a tensor. */
export type NoiseAt = (
  i: number,
  z: Float32Array,
  prev: Float32Array | undefined,
) => Float32Array | Promise<Float32Array> | undefined;

/**
 * A cheating run: from `z0`, step i's noise is `noiseAt(i, z_i, ε_{i−1})` when that returns a tensor (instead of the
 * guided UNet), else the guided UNet's; the next latent is the exact DDIM transition of what is committed.
 */
export async function cheatRun(
  m: Model,
  z0: Float32Array,
  noiseAt: NoiseAt,
): Promise<{ latents: Float32Array[]; noise: Float32Array[] }> {
  const latents = [z0];
  const noise: Float32Array[] = [];
  let z = z0;
  for (let i = 0; i < m.T; i++) {
    const eps = (await noiseAt(i, z, noise[i - 1])) ?? (await unet(m, z, i));
    noise.push(eps);
    z = ddim(m, i, z, eps);
    latents.push(z);
  }
  return { latents, noise };
}

/** A free noise guess for a skipped step 0: `f32(√(1 − ᾱ_t) · z)` (the posterior mean under a Gaussian data prior). */
export function priorGuess(m: Model, z: Float32Array, i: number): Float32Array {
  const b = sqrt32(f32(1 - m.schedule.alphasCumprod[m.schedule.timesteps[i]!]!));
  return z.map((x) => f32(b * x));
}

/** A run of another job the replaying and caching cheats reuse (one per run: they never compute). */
export interface Donor {
  latents: Float32Array[];
  noise: Float32Array[];
  output: Hex;
}

export type StrategyKey =
  | "honest"
  | "tamper_1_step"
  | "tamper_10pct"
  | "fewer_steps"
  | "substitute_model"
  | "wrong_seed"
  | "withheld_reveal"
  | "replayed_trajectory"
  | "cached_output";

export interface Strategy {
  key: StrategyKey;
  label: string;
  /** Per-job detection the protocol predicts, and where the figure comes from. */
  predicted: { value: number; source: string };
  produce(m: Model, ctx: JobContext, donor: Donor): Promise<Produced>;
}

export async function honestRun(m: Model, ctx: JobContext): Promise<Produced> {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const r = await generate({ pipeline: m.pipeline, job: ctx.job, embeddings: m.embeddings, decode: false });
  const genMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  const genCpuMs = (cpu.user + cpu.system) / 1000;
  return {
    latents: r.trajectory.latents,
    noise: r.trajectory.noise,
    output: await outputOf(m, ctx, r.finalLatent),
    tampered: new Set(),
    jobWide: false,
    withholdIfHit: false,
    genMs,
    genCpuMs,
  };
}

/** A run from the job's own z_0 where `noiseAt` replaces the guided UNet on the steps `tampered`. */
export async function cheatSteps(
  m: Model,
  ctx: JobContext,
  tampered: ReadonlySet<number>,
  noiseAt: (
    i: number,
    z: Float32Array,
    prev: Float32Array | undefined,
  ) => Float32Array | Promise<Float32Array>,
  withholdIfHit = false,
): Promise<Produced> {
  const start = performance.now();
  const run = await cheatRun(m, jobInitialLatent(m.pipeline, ctx.job), (i, z, prev) =>
    tampered.has(i) ? noiseAt(i, z, prev) : undefined,
  );
  const genMs = performance.now() - start;
  return {
    ...run,
    output: await outputOf(m, ctx, run.latents[m.T]!),
    tampered,
    jobWide: false,
    withholdIfHit,
    genMs,
    genCpuMs: 0,
  };
}

/** Skips the UNet on `tampered` steps: ε reused from the previous step (step 0: the prior guess). */
export function skipSteps(m: Model, ctx: JobContext, tampered: ReadonlySet<number>, withholdIfHit = false) {
  return cheatSteps(m, ctx, tampered, (i, z, prev) => prev ?? priorGuess(m, z, i), withholdIfHit);
}

export interface StrategyOptions {
  /** Denoising steps of every job. */
  T: number;
  /** The audit depth the cheats place their tampering against (and the predictions assume). */
  k: number;
  /** 32 fresh random bytes: where tampered steps go, the wrong seed. */
  fresh: () => Hex;
}

/**
 * The honest provider and the eight cheating strategies for jobs of `T` steps audited at depth `k`, with their
 * predicted per-job detection (sdk economics: `stratifiedWorstCase`, `stratifiedDetection`).
 */
export function strategies({ T, k: K, fresh }: StrategyOptions): { honest: Strategy; cheats: Strategy[] } {
  /** A uniform integer in [0, n) from fresh randomness. */
  const uniform = (n: number): number => Number(BigInt(fresh()) % BigInt(n));
  /** Step counts of the detection table in docs/protocol.md §12 (tampered share 10 %). */
  const TEN_PERCENT = sdk.tamperCount(T, 0.1);

  /** The adversary's best placement of `count` tampered steps (sdk water-filling), at random spots in each stratum. */
  function worstPlacement(count: number): Set<number> {
    const { perStratum } = sdk.stratifiedWorstCase({ T, k: K, m: count });
    const out = new Set<number>();
    sdk.strata({ T, k: K }).forEach(({ lo, hi }, j) => {
      const spots = Array.from({ length: hi - lo }, (_, i) => lo + i);
      for (let a = 0; a < (perStratum[j] ?? 0); a++) out.add(spots.splice(uniform(spots.length), 1)[0]!);
    });
    return out;
  }

  const worst = (count: number) => sdk.stratifiedWorstCase({ T, k: K, m: count }).value;
  const ODD_STEPS = Array.from({ length: T }, (_, i) => i).filter((i) => i % 2 === 1);
  const ALL_STEPS = new Set(Array.from({ length: T }, (_, i) => i));

  const honest: Strategy = {
    key: "honest",
    label: "honest provider",
    predicted: { value: 0, source: "no tampered step" },
    produce: (m, ctx) => honestRun(m, ctx),
  };

  const cheats: Strategy[] = [
    {
      key: "tamper_1_step",
      label: "1 tampered step (UNet skipped, ε reused)",
      predicted: { value: worst(1), source: `stratifiedWorstCase(T=${T}, k=${K}, m=1)` },
      produce: (m, ctx) => skipSteps(m, ctx, worstPlacement(1)),
    },
    {
      key: "tamper_10pct",
      label: `10% of steps tampered (m = ${TEN_PERCENT})`,
      predicted: {
        value: worst(TEN_PERCENT),
        source: `stratifiedWorstCase(T=${T}, k=${K}, m=${TEN_PERCENT})`,
      },
      produce: (m, ctx) => skipSteps(m, ctx, worstPlacement(TEN_PERCENT)),
    },
    {
      key: "fewer_steps",
      label: `${Math.ceil(T / 2)} UNet steps, skipped steps' latents interpolated on the DDIM path`,
      predicted: {
        value: sdk.stratifiedDetection({ T, k: K, tampered: ODD_STEPS }).value,
        source: `stratifiedDetection(T=${T}, k=${K}, tampered = odd steps)`,
      },
      // Holding ε over two DDIM steps lands exactly where one DDIM jump t_i → t_{i+2} lands: a T/2-step run whose
      // odd latents are the points of the DDIM path in between; transitions hold, the odd steps' ε are wrong.
      produce: (m, ctx) => skipSteps(m, ctx, new Set(ODD_STEPS)),
    },
    {
      key: "substitute_model",
      label: "cheaper substitute: conditional-only UNet (no guidance batch)",
      predicted: { value: worst(T), source: `stratifiedWorstCase(T=${T}, k=${K}, m=T)` },
      // One batch-1 UNet run per step instead of guidance's batch of two.
      produce: (m, ctx) => cheatSteps(m, ctx, ALL_STEPS, (i, z) => unet(m, z, i, 1000)),
    },
    {
      key: "wrong_seed",
      label: "wrong seed (honest run from a seed of its choice)",
      predicted: { value: 1, source: "leaf 0 is always opened: z_0 checked against the seed" },
      produce: async (m, ctx) => {
        const own = { ...ctx, job: { ...ctx.job, seed: sdk.jobSeed(ctx.jobId, fresh()) } };
        const r = await honestRun(m, own);
        return { ...r, output: await outputOf(m, ctx, r.latents[T]!), jobWide: true };
      },
    },
    {
      key: "withheld_reveal",
      label: `withheld reveal (m = ${TEN_PERCENT} tampered, withheld when hit)`,
      predicted: {
        value: worst(TEN_PERCENT),
        source: `stratifiedWorstCase(T=${T}, k=${K}, m=${TEN_PERCENT}); a withheld reveal is slashed with certainty`,
      },
      produce: (m, ctx) => skipSteps(m, ctx, worstPlacement(TEN_PERCENT), true),
    },
    {
      key: "replayed_trajectory",
      label: "trajectory replayed from another job",
      predicted: { value: 1, source: "leaf 0 is always opened: z_0 checked against the seed" },
      produce: async (_m, _ctx, donor) => ({
        latents: donor.latents,
        noise: donor.noise,
        output: donor.output,
        tampered: new Set(),
        jobWide: true,
        withholdIfHit: false,
        genMs: 0,
        genCpuMs: 0,
      }),
    },
    {
      key: "cached_output",
      label: "cached output (another job's ε replayed from the right z_0, cached z_T)",
      predicted: { value: worst(T), source: `stratifiedWorstCase(T=${T}, k=${K}, m=T)` },
      produce: async (m, ctx, donor) => {
        const run = await cheatRun(m, jobInitialLatent(m.pipeline, ctx.job), (i) => donor.noise[i]);
        run.latents[T] = donor.latents[T]!; // the cached final latent, to match the cached output
        return {
          ...run,
          output: donor.output,
          tampered: ALL_STEPS,
          jobWide: false,
          withholdIfHit: false,
          genMs: 0,
          genCpuMs: 0,
        };
      },
    },
  ];
  return { honest, cheats };
}

// ---------------------------------------------------------------- commit, challenge, reveal, verdict

export interface Committed {
  commitment: sdk.JobCommitment;
  hashMs: number;
  treeMs: number;
  hashedBytes: number;
}

/** The provider's commitment: sha256 of every tensor, the T + 2 leaves and the tree (sdk `commitJob`). */
export function commit(m: Model, ctx: JobContext, p: Produced): Committed {
  const t0 = performance.now();
  const steps: sdk.StepRecord[] = p.noise.map((eps, i) => ({
    timestep: m.schedule.timesteps[i]!,
    latentDigest: sdk.tensorDigest(p.latents[i]!),
    noiseDigest: sdk.tensorDigest(eps),
  }));
  const finalLatentDigest = sdk.tensorDigest(p.latents[m.T]!);
  const t1 = performance.now();
  const commitment = sdk.commitJob({
    jobId: ctx.jobId,
    node: ctx.node,
    steps,
    finalLatentDigest,
    outputHash: keccak256(p.output),
    paramsHash: ctx.paramsHash,
  });
  const t2 = performance.now();
  return { commitment, hashMs: t1 - t0, treeMs: t2 - t1, hashedBytes: (2 * m.T + 1) * m.elements * 4 };
}

/** What `ProofOfInference.reveal` checks: the opened leaves, rebuilt from the reveal, verify against the root. */
export function contractAccepts(ctx: JobContext, root: Hex, r: sdk.Reveal): boolean {
  const T = ctx.job.steps;
  const indices = sdk.openedIndices(r.challenged, T);
  const base = { jobId: ctx.jobId, node: ctx.node, T };
  const leaves = [
    ...r.openings.map((o) => sdk.stepLeaf({ ...base, ...o })),
    sdk.outputLeaf({ ...base, finalLatentDigest: r.finalLatentDigest, outputHash: r.commitment.outputHash }),
    sdk.paramsLeaf({ ...base, paramsHash: r.commitment.paramsHash }),
  ];
  return sdk.verifyMultiproof({
    root,
    depth: sdk.depthFor(T + 2),
    leafCount: T + 2,
    indices,
    leaves,
    proof: r.proof,
  });
}

/** The tensors the provider serves for the opened leaves. */
export function serve(p: Produced, challenged: readonly number[]) {
  const T = p.noise.length;
  const latents = new Map<number, Float32Array>();
  const noise = new Map<number, Float32Array>();
  for (const i of sdk.openedIndices(challenged, T)) {
    if (i <= T) latents.set(i, p.latents[i]!);
    if (i < T) noise.set(i, p.noise[i]!);
  }
  return { latents, noise };
}

/** The revealed data a validator judges: the `Revealed` event's, and the `Committed` event's params hash. */
export interface RevealedJob {
  challenged: readonly number[];
  openings: readonly sdk.StepOpening[];
  finalLatentDigest: Hex;
  paramsHash: Hex;
}

/** The validator: reconstructs the job (seed, params) itself and runs the §8 checks on the served tensors. */
export async function judge(
  m: Model,
  ctx: JobContext,
  reveal: RevealedJob,
  p: Produced,
  timing?: { reexecMs: number },
  bands: Bands = DEFAULT_BANDS,
): Promise<Verdict> {
  const base = pipelineReexecutor({ pipeline: m.pipeline, job: ctx.job, embeddings: m.embeddings });
  const reexecute: Reexecute =
    timing === undefined
      ? base
      : async (s) => {
          const t0 = performance.now();
          const eps = await base(s);
          timing.reexecMs += performance.now() - t0;
          return eps;
        };
  return verifyReveal({
    T: m.T,
    elements: m.elements,
    challenged: reveal.challenged,
    openings: reveal.openings,
    finalLatentDigest: reveal.finalLatentDigest,
    seed: ctx.seed,
    schedule: m.schedule,
    tensors: serve(p, reveal.challenged),
    reexecute,
    bands,
    params: { committed: reveal.paramsHash, expected: ctx.paramsHash },
  });
}

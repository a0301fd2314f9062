/**
 * Calibration of the validator's step check: `npm run calibrate` (= `node bench/calibrate.ts`).
 *
 * A validator re-runs a challenged step from the committed latent z_c and compares its noise prediction ε' with the
 * committed ε_c by the relative L2 error e = ‖ε' − ε_c‖ / ‖ε_c‖ (docs/protocol.md §8 check 3). This measures e
 *
 *   honest       a provider that ran the job properly, but not under the validator's exact runtime: for every step
 *                of every job, provider under profile V and validator under the default profile R, and the other
 *                way round, V over intra-op threads 2, graph optimisation levels disabled / basic / extended, guidance
 *                batching separate, and combinations; plus, when Docker is available, jobs run by the container
 *                image (the service, through /poi/tensors) and re-executed on the host. Same profile on the same
 *                host is also checked: it must be bit-exact.
 *   substitutes  a provider that saved compute or cut corners and committed what it computed, with exact DDIM
 *                transitions (so only check 3 can see it): UNet weights quantised to 8 bits (per-tensor symmetric,
 *                the Conv/MatMul/Gemm weight operands), Gaussian noise on those weights (σ = 0.1 % and 0.01 % of
 *                each tensor's RMS), half the UNet calls (ε reused on odd steps; those steps measured), no guidance
 *                (one UNet pass instead of two), guidance 10 % off, the noise predictions of another seed's run
 *                replayed (no UNet at all), and another prompt's conditioning.
 *
 * on three models: the synthetic SD-shaped image and video models (whose graphs onnxruntime rewrites at higher
 * optimisation levels, so honest errors are not all zero) and the procedural model. It prints the honest
 * distribution (p50, p99, p99.99, max), the substitutes' minima, the bands of containers/diffusion/src/quality/
 * bands.ts and the margin substitute minimum / honest maximum (target ≥ 30×), writes bench/out/calibration.json,
 * and exits 1 when the bands no longer hold (honest max × 10 > passMax, or substitute min < 3 × failMin).
 *
 * Options: --quick (one seed per prompt), --seeds N (default 6), --no-docker, --out FILE, and --model DIR to add
 * another model directory (diffusers ONNX layout; with --width, --height, --frames, --steps, default 512 × 512 × 1,
 * 20 steps) — a real model is calibrated the same way, on the hardware its providers and validators use. Timings
 * are of a shared machine and rough.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile, cp } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import onnxProto from "onnx-proto";
import * as sdk from "@infernet/sdk";
import { stringToBytes, type Hex } from "viem";
import {
  closePipeline,
  ddimStep,
  defaultRuntimeProfile,
  encodeJobPrompts,
  ensureProceduralModel,
  ensureSyntheticModel,
  generate,
  jobInitialLatent,
  jobSchedule,
  latentDims,
  loadPipeline,
  predictNoise,
  profileKey,
  relativeL2,
  sameBits,
  type JobParams,
  type Pipeline,
  type PromptEmbeddings,
  type RuntimeProfile,
} from "@infernet/diffusion";
import { normalWeights } from "../containers/diffusion/src/onnx/weights.ts";
import { CALIBRATION, STEP_BANDS, classifyStep } from "../containers/diffusion/src/quality/bands.ts";

const { onnx } = onnxProto;
const ROOT = path.resolve(import.meta.dirname, "..");

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    seeds: { type: "string" },
    "no-docker": { type: "boolean", default: false },
    out: { type: "string", default: path.join(ROOT, "bench/out/calibration.json") },
    model: { type: "string" },
    width: { type: "string", default: "512" },
    height: { type: "string", default: "512" },
    frames: { type: "string", default: "1" },
    steps: { type: "string", default: "20" },
  },
});
const COMMAND = [
  "npm run calibrate",
  ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : []),
].join(" ");
const SEEDS = args.quick ? 1 : Number(args.seeds ?? 6);
const NODE = "0x00000000000000000000000000000000000000a1" as Hex;
const COORDINATOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Hex;

// ---------------------------------------------------------------- statistics

interface Stats {
  n: number;
  bitExact: number;
  p50: number;
  p99: number;
  p9999: number;
  max: number;
  min: number;
}

function stats(values: readonly number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) =>
    s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  return {
    n: s.length,
    bitExact: s.filter((v) => v === 0).length,
    p50: q(0.5),
    p99: q(0.99),
    p9999: q(0.9999),
    max: s.length ? s[s.length - 1]! : NaN,
    min: s.length ? s[0]! : NaN,
  };
}

const fmt = (v: number) => (Number.isNaN(v) ? "—" : v === 0 ? "0" : v.toExponential(2));

// ---------------------------------------------------------------- models and jobs

interface ModelCase {
  name: string;
  dir: string;
  prompts: string[];
  /** Another prompt of the same vocabulary, for the wrong-prompt substitute. */
  wrongPrompt: (prompt: string) => string;
  size: { width: number; height: number; frames: number };
  steps: number;
  guidance: number[];
  /**
   * The procedural model is the exact denoiser of a tiny dataset: at low noise its posterior has collapsed onto one
   * clip whatever the prompt or guidance, so substitutes that only change the conditioning compute the same ε there
   * (e = 0). Its per-step minimum is reported but not used for the margin; its job-level detection is.
   */
  exactDenoiser: boolean;
}

function jobsOf(m: ModelCase, salt: number): JobParams[] {
  const jobs: JobParams[] = [];
  let k = 0;
  for (const prompt of m.prompts) {
    for (let s = 0; s < SEEDS; s++) {
      const id = sdk.jobId({
        chainId: 31337,
        coordinator: COORDINATOR,
        subscriptionId: BigInt(salt),
        interval: ++k,
      });
      jobs.push({
        prompt,
        negativePrompt: "",
        steps: m.steps,
        guidanceMilli: m.guidance[k % m.guidance.length]!,
        seed: sdk.jobSeed(id, `0x${"3c".repeat(32)}`),
        ...m.size,
      });
    }
  }
  return jobs;
}

// ---------------------------------------------------------------- substitute weights

const WEIGHT_OPS: Readonly<Record<string, number[]>> = { Conv: [1], MatMul: [0, 1], Gemm: [0, 1] };

/** Rewrites the UNet's weight operands (Conv/MatMul/Gemm initializers) with `f`, into a copy of the model dir. */
async function substituteModel(
  src: string,
  dest: string,
  f: (name: string, w: Float32Array) => Float32Array,
): Promise<{ dir: string; tensors: string[] }> {
  await cp(src, dest, { recursive: true });
  const file = path.join(dest, "unet/model.onnx");
  const model = onnx.ModelProto.decode(await readFile(file));
  const graph = model.graph!;
  const weightNames = new Set<string>();
  for (const node of graph.node ?? []) {
    for (const i of WEIGHT_OPS[node.opType ?? ""] ?? []) {
      const name = node.input?.[i];
      if (name) weightNames.add(name);
    }
  }
  const touched: string[] = [];
  for (const t of graph.initializer ?? []) {
    if (!weightNames.has(t.name ?? "") || t.dataType !== 1 || !t.rawData || t.rawData.length === 0) continue;
    const raw = t.rawData;
    const w = new Float32Array(raw.length / 4);
    new Uint8Array(w.buffer).set(raw);
    const out = f(t.name!, w);
    t.rawData = new Uint8Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
    touched.push(`${t.name} [${(t.dims ?? []).join("×")}]`);
  }
  await writeFile(file, onnx.ModelProto.encode(model).finish());
  return { dir: dest, tensors: touched };
}

/** Per-tensor symmetric int8: round(w / s) · s with s = max|w| / 127. */
function int8(_name: string, w: Float32Array): Float32Array {
  let max = 0;
  for (const v of w) max = Math.max(max, Math.abs(v));
  if (max === 0) return w;
  const s = max / 127;
  return w.map((v) => Math.fround(Math.max(-127, Math.min(127, Math.round(v / s))) * s));
}

function noise(relative: number) {
  return (name: string, w: Float32Array): Float32Array => {
    let ss = 0;
    for (const v of w) ss += v * v;
    const rms = Math.sqrt(ss / w.length);
    const n = normalWeights(`calibration.noise:${name}`, w.length, relative * rms);
    return w.map((v, i) => Math.fround(v + n[i]!));
  };
}

// ---------------------------------------------------------------- re-execution

interface Committed {
  latents: Float32Array[];
  noise: Float32Array[];
}

async function honestRun(pipeline: Pipeline, job: JobParams): Promise<Committed> {
  const r = await generate({ pipeline, job, decode: false });
  return { latents: r.trajectory.latents, noise: r.trajectory.noise };
}

/** The validator's errors on the given steps of a committed trajectory. */
async function reexecute(
  validator: Pipeline,
  job: JobParams,
  committed: Committed,
  steps: readonly number[],
  embeddings?: PromptEmbeddings,
): Promise<number[]> {
  const emb = embeddings ?? (await encodeJobPrompts(validator, job));
  const schedule = jobSchedule(validator, job);
  const dims = latentDims(validator, job);
  const out: number[] = [];
  for (const i of steps) {
    const eps = await predictNoise({
      unet: validator.unet,
      latent: committed.latents[i]!,
      dims,
      timestep: schedule.timesteps[i]!,
      embeddings: emb,
      guidanceMilli: job.guidanceMilli,
      cfgMode: validator.profile.cfgMode,
    });
    out.push(relativeL2(eps, committed.noise[i]!));
  }
  return out;
}

/** A cheater's trajectory: from the right z_0, ε_i from `eps`, exact DDIM transitions. */
async function cheatRun(
  ref: Pipeline,
  job: JobParams,
  eps: (i: number, z: Float32Array, t: number) => Promise<Float32Array>,
): Promise<Committed> {
  const schedule = jobSchedule(ref, job);
  let z = jobInitialLatent(ref, job);
  const latents = [z];
  const noiseList: Float32Array[] = [];
  for (let i = 0; i < job.steps; i++) {
    const e = await eps(i, z, schedule.timesteps[i]!);
    z = ddimStep({
      schedule,
      latent: z,
      noise: e,
      t: schedule.timesteps[i]!,
      tPrev: schedule.prevTimesteps[i]!,
    });
    noiseList.push(e);
    latents.push(z);
  }
  return { latents, noise: noiseList };
}

function predictor(p: Pipeline, job: JobParams, emb: PromptEmbeddings, guidanceMilli = job.guidanceMilli) {
  const dims = latentDims(p, job);
  return (_i: number, z: Float32Array, t: number) =>
    predictNoise({
      unet: p.unet,
      latent: z,
      dims,
      timestep: t,
      embeddings: emb,
      guidanceMilli,
      cfgMode: p.profile.cfgMode,
    });
}

// ---------------------------------------------------------------- Docker (the service image)

interface DockerRun {
  available: boolean;
  reason?: string;
  /** model name → errors of host re-execution of the container's committed steps. */
  errors: Record<string, number[]>;
  /** model name → jobs whose whole trajectory was bit-identical to the host's. */
  identical: Record<string, { jobs: number; identical: number }>;
}

function getJson(socketPath: string, urlPath: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath, path: urlPath }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () =>
          res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`${urlPath}: ${body}`)),
        );
      })
      .on("error", reject);
  });
}

async function dockerCalibration(
  cases: Array<{ m: ModelCase; jobs: JobParams[]; ref: Pipeline }>,
): Promise<DockerRun> {
  const result: DockerRun = { available: false, errors: {}, identical: {} };
  if (args["no-docker"]) return { ...result, reason: "--no-docker" };
  const rt = await import("../node/src/runtime/index.ts");
  const { stageContext } = await import("../containers/diffusion/stage-context.ts");
  const docker = rt.dockerClient();
  const base = process.env.INFERNET_NODE_IMAGE || "local/node:22";
  try {
    await rt.checkDocker("calibrate", rt.defaultDockerHost(), 5000, docker);
    await docker.getImage(base).inspect();
  } catch (e) {
    return { ...result, reason: `Docker or ${base} not available (${(e as Error).message.split("\n")[0]})` };
  }
  const runId = `calibrate-${process.pid}-${Date.now().toString(36)}`;
  const labels = { "org.infernet.test": runId };
  const image = `infernet-calibrate/diffusion:${runId}`;
  const ctxRoot = await mkdtemp(path.join(os.tmpdir(), "infernet-calibrate-ctx-"));
  try {
    const ctx = await stageContext({ outDir: path.join(ctxRoot, "ctx") });
    const stream = await docker.buildImage(
      { context: ctx.dir, src: ctx.files },
      { t: image, buildargs: { BASE_IMAGE: base }, labels, networkmode: "none", rm: true, forcerm: true },
    );
    await rt.followStream(stream);
    for (const { m, jobs, ref } of cases) {
      const mounted = m.name !== "procedural"; // the procedural model is baked into the image
      const container = rt.createRuntime(
        {
          id: `calibrate-${m.name}`,
          runtime: "docker",
          image,
          env: { ORT_DISABLE_TELEMETRY: "1", ...(mounted ? { DIFFUSION_MODEL_DIR: "/models" } : {}) },
          volumes: mounted ? [`${m.dir}:/models:ro`] : [],
          memoryMb: 1024,
          cpus: 1,
        },
        { labels, startTimeoutMs: 60_000, stopGraceSeconds: 2 },
      );
      await container.start();
      const socketPath = (container as unknown as { endpoint: { socketPath: string } }).endpoint.socketPath;
      const errors: number[] = [];
      let identical = 0;
      try {
        for (const [k, job] of jobs.entries()) {
          const jobId = sdk.jobId({
            chainId: 31337,
            coordinator: COORDINATOR,
            subscriptionId: 999n,
            interval: k + 1,
          });
          const data = { ...job, jobId, node: NODE };
          await container.call(rt.onchainRequest(stringToBytes(JSON.stringify(data)), true));
          const committed: Committed = { latents: [], noise: [] };
          for (let i = 0; i <= job.steps; i++) {
            const t = await getJson(socketPath, `/poi/tensors/${jobId}/${i}`);
            const f = (b64: string) => {
              const b = Buffer.from(b64, "base64");
              const a = new Float32Array(b.length / 4);
              new Uint8Array(a.buffer).set(b);
              return a;
            };
            committed.latents.push(f((t.latent as { data: string }).data));
            if (t.noise) committed.noise.push(f((t.noise as { data: string }).data));
          }
          const host = await honestRun(ref, job);
          if (committed.latents.every((z, i) => sameBits(z, host.latents[i]!))) identical++;
          errors.push(...(await reexecute(ref, job, committed, [...Array(job.steps).keys()])));
          await getJson(socketPath, `/health`);
        }
      } finally {
        await container.stop();
      }
      result.errors[m.name] = errors;
      result.identical[m.name] = { jobs: jobs.length, identical };
    }
    return { ...result, available: true };
  } finally {
    await rt.removeContainers(labels, docker).catch(() => 0);
    await docker
      .getImage(image)
      .remove({ force: true })
      .catch(() => undefined);
    await rm(ctxRoot, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- main

const HONEST_VARIANTS: Array<{ name: string; profile: Partial<RuntimeProfile> }> = [
  { name: "threads=2", profile: { intraOpNumThreads: 2 } },
  { name: "opt=disabled", profile: { graphOptimizationLevel: "disabled" } },
  { name: "opt=basic", profile: { graphOptimizationLevel: "basic" } },
  { name: "opt=extended", profile: { graphOptimizationLevel: "extended" } },
  { name: "cfg=separate", profile: { cfgMode: "separate" } },
  { name: "opt=disabled,cfg=separate", profile: { graphOptimizationLevel: "disabled", cfgMode: "separate" } },
  {
    name: "threads=2,opt=basic,cfg=separate",
    profile: { intraOpNumThreads: 2, graphOptimizationLevel: "basic", cfgMode: "separate" },
  },
];

/** One job's per-step errors under a substitute, and which steps it tampered with. */
interface JobErrors {
  errors: number[];
  tampered: boolean[];
}

interface SubstituteStats extends Stats {
  /** Of the tampered steps: the share the bands fail, and the share they pass. */
  failShare: number;
  passShare: number;
  /** Probability that a stratified challenge of k = 3 steps (§7) hits a failing step: mean and lowest over jobs. */
  detectK3: number;
  detectK3Min: number;
  /** A sensitivity probe rather than a cheap substitute (left out of the margin). */
  probe: boolean;
  tensors?: string[];
}

const WEIGHT_SUBSTITUTES: Array<{ name: string; f: (name: string, w: Float32Array) => Float32Array }> = [
  { name: "8-bit weights", f: int8 },
  { name: "weight noise 0.1%", f: noise(1e-3) },
  { name: "weight noise 0.01%", f: noise(1e-4) },
];
/** Not a way to save compute: shows how small a tamper the bands still escalate. */
const PROBES = ["weight noise 0.01%"];

/** P(at least one of the k stratified challenged steps fails), strata as in docs/protocol.md §7. */
function detection(fails: readonly boolean[], k: number): number {
  const T = fails.length;
  let miss = 1;
  for (let j = 0; j < k; j++) {
    const lo = Math.floor((j * T) / k);
    const hi = Math.floor(((j + 1) * T) / k);
    let f = 0;
    for (let i = lo; i < hi; i++) if (fails[i]) f++;
    miss *= 1 - f / (hi - lo);
  }
  return 1 - miss;
}

function substituteStats(jobs: readonly JobErrors[], T: number): Omit<SubstituteStats, "probe" | "tensors"> {
  const tampered = jobs.flatMap((j) => j.errors.filter((_, i) => j.tampered[i]));
  const s = stats(tampered);
  const d = jobs.map((j) =>
    detection(
      j.errors.map((e, i) => j.tampered[i]! && classifyStep(e) === "fail"),
      Math.min(3, T),
    ),
  );
  return {
    ...s,
    failShare: tampered.filter((e) => classifyStep(e) === "fail").length / tampered.length,
    passShare: tampered.filter((e) => classifyStep(e) === "pass").length / tampered.length,
    detectK3: d.reduce((a, b) => a + b, 0) / d.length,
    detectK3Min: Math.min(...d),
  };
}

interface ModelReport {
  model: string;
  exactDenoiser: boolean;
  jobs: number;
  honest: Record<string, Stats>;
  honestAll: Stats;
  sameProfile: { steps: number; bitExact: number };
  substitutes: Record<string, SubstituteStats>;
  seconds: number;
}

async function calibrateModel(
  m: ModelCase,
  salt: number,
  work: string,
): Promise<{ report: ModelReport; honestRaw: number[]; jobs: JobParams[]; ref: Pipeline }> {
  const t0 = performance.now();
  const R = defaultRuntimeProfile();
  const ref = await loadPipeline({ dir: m.dir, profile: R });
  const jobs = jobsOf(m, salt);
  const all = [...Array(m.steps).keys()];
  const honest: Record<string, number[]> = {};
  let sameSteps = 0;
  let sameExact = 0;
  const refRuns: Committed[] = [];
  for (const job of jobs) {
    const run = await honestRun(ref, job);
    refRuns.push(run);
    const same = await reexecute(ref, job, run, all);
    sameSteps += same.length;
    sameExact += same.filter((e) => e === 0).length;
  }
  for (const v of HONEST_VARIANTS) {
    const vp = await loadPipeline({ dir: m.dir, profile: defaultRuntimeProfile(v.profile) });
    const errs: number[] = [];
    for (const [k, job] of jobs.entries()) {
      errs.push(...(await reexecute(ref, job, await honestRun(vp, job), all))); // provider V, validator R
      errs.push(...(await reexecute(vp, job, refRuns[k]!, all))); // provider R, validator V
    }
    honest[v.name] = errs;
    await closePipeline(vp);
  }

  const subs: Record<string, JobErrors[]> = {};
  const tensors: Record<string, string[]> = {};
  const push = (name: string, errors: number[], tampered?: boolean[]) =>
    (subs[name] ??= []).push({ errors, tampered: tampered ?? errors.map(() => true) });
  for (const w of WEIGHT_SUBSTITUTES) {
    const sub = await substituteModel(
      m.dir,
      path.join(work, `${m.name}-${w.name}`.replace(/\W+/g, "-")),
      w.f,
    );
    tensors[w.name] = sub.tensors;
    const sp = await loadPipeline({ dir: sub.dir, profile: R });
    for (const job of jobs) {
      const emb = await encodeJobPrompts(sp, job);
      push(w.name, await reexecute(ref, job, await cheatRun(ref, job, predictor(sp, job, emb)), all));
    }
    await closePipeline(sp);
  }
  for (const [k, job] of jobs.entries()) {
    const emb = await encodeJobPrompts(ref, job);
    // Half the UNet calls: ε reused on odd steps (the tampered ones; even steps are honest).
    let last: Float32Array | undefined;
    const full = predictor(ref, job, emb);
    const reuse = await cheatRun(ref, job, async (i, z, t) =>
      i % 2 === 1 && last ? last : (last = await full(i, z, t)),
    );
    push(
      "half the UNet calls (ε reused)",
      await reexecute(ref, job, reuse, all, emb),
      all.map((i) => i % 2 === 1),
    );
    if (job.guidanceMilli > 1000) {
      const cond = { cond: emb.cond, uncond: undefined };
      push(
        "no guidance",
        await reexecute(ref, job, await cheatRun(ref, job, predictor(ref, job, cond, 1000)), all, emb),
      );
      const off = Math.round(job.guidanceMilli * 0.9);
      push(
        "guidance −10%",
        await reexecute(ref, job, await cheatRun(ref, job, predictor(ref, job, emb, off)), all, emb),
      );
    }
    // Another seed's noise predictions replayed from the right z_0 (no UNet call at all).
    const other = refRuns[(k + 1) % refRuns.length]!;
    if (jobs[(k + 1) % jobs.length]!.seed !== job.seed) {
      push(
        "replayed ε of another seed",
        await reexecute(ref, job, await cheatRun(ref, job, async (i) => other.noise[i]!), all, emb),
      );
    }
    const wrong = await encodeJobPrompts(ref, { ...job, prompt: m.wrongPrompt(job.prompt) });
    push(
      "wrong prompt",
      await reexecute(ref, job, await cheatRun(ref, job, predictor(ref, job, wrong)), all, emb),
    );
  }

  const honestAllValues = Object.values(honest).flat();
  const report: ModelReport = {
    model: m.name,
    exactDenoiser: m.exactDenoiser,
    jobs: jobs.length,
    honest: Object.fromEntries(Object.entries(honest).map(([k, v]) => [k, stats(v)])),
    honestAll: stats(honestAllValues),
    sameProfile: { steps: sameSteps, bitExact: sameExact },
    substitutes: Object.fromEntries(
      Object.entries(subs).map(([k, v]) => [
        k,
        {
          ...substituteStats(v, m.steps),
          probe: PROBES.includes(k),
          ...(tensors[k] ? { tensors: tensors[k] } : {}),
        },
      ]),
    ),
    seconds: (performance.now() - t0) / 1000,
  };
  return { report, honestRaw: honestAllValues, jobs, ref };
}

const started = new Date();
const work = await mkdtemp(path.join(os.tmpdir(), "infernet-calibrate-"));
const models: ModelCase[] = [
  {
    name: "synthetic-image",
    dir: await ensureSyntheticModel("image"),
    prompts: [
      "a photo of an astronaut riding a horse",
      "a painting of a red city at night",
      "portrait of a cat in the forest",
    ],
    wrongPrompt: (p) =>
      p.includes("astronaut") ? "a painting of a blue moon" : "a photo of an astronaut riding a horse",
    size: { width: 64, height: 48, frames: 1 },
    steps: 20,
    guidance: [7500, 3000],
    exactDenoiser: false,
  },
  {
    name: "synthetic-video",
    dir: await ensureSyntheticModel("video"),
    prompts: ["a dog in the city at night", "a green forest at sunset"],
    wrongPrompt: (p) => (p.includes("dog") ? "a green forest at sunset" : "a dog in the city at night"),
    size: { width: 32, height: 32, frames: 4 },
    steps: 20,
    guidance: [7500],
    exactDenoiser: false,
  },
  {
    name: "procedural",
    dir: await ensureProceduralModel(),
    prompts: [
      "a red circle moving right",
      "a blue square moving up",
      "a yellow triangle grow",
      "a white diamond moving left",
    ],
    wrongPrompt: (p) => (p.includes("red") ? "a green square moving down" : "a red circle moving right"),
    size: { width: 64, height: 64, frames: 8 },
    steps: 20,
    guidance: [7500, 1000],
    exactDenoiser: true,
  },
];

if (args.model) {
  models.push({
    name: `model:${path.basename(path.resolve(args.model))}`,
    dir: path.resolve(args.model),
    prompts: ["a photo of a cat sitting on a sofa", "a watercolour painting of a lighthouse at dusk"],
    wrongPrompt: (p) =>
      p.includes("cat") ? "a city street at night in the rain" : "a photo of a cat sitting on a sofa",
    size: { width: Number(args.width), height: Number(args.height), frames: Number(args.frames) },
    steps: Number(args.steps),
    guidance: [7500],
    exactDenoiser: false,
  });
}

const reports: ModelReport[] = [];
const honestRaw: number[] = [];
const forDocker: Array<{ m: ModelCase; jobs: JobParams[]; ref: Pipeline }> = [];
try {
  for (const [i, m] of models.entries()) {
    process.stderr.write(`calibrating ${m.name} …\n`);
    const { report, honestRaw: raw, jobs, ref } = await calibrateModel(m, 100 + i, work);
    reports.push(report);
    honestRaw.push(...raw);
    // The image and the procedural model also run in the container (a third of their jobs, at least two).
    if (m.name === "synthetic-video" || m.name === path.basename(path.resolve(args.model ?? "-")))
      await closePipeline(ref);
    else forDocker.push({ m, jobs: jobs.slice(0, Math.max(2, Math.ceil(jobs.length / 3))), ref });
  }
  process.stderr.write("Docker: the service image …\n");
  const t0 = performance.now();
  const dockerRun = await dockerCalibration(forDocker);
  const dockerSeconds = (performance.now() - t0) / 1000;
  for (const f of forDocker) await closePipeline(f.ref);

  // ------------------------------------------------------------ summary
  const honestValues = [...honestRaw, ...Object.values(dockerRun.errors).flat()];
  const honestAll = stats(honestValues);
  // The margin: the nearest cheap substitute, step by step, on the models whose conditioning acts at every step.
  const subMinima = reports
    .filter((r) => !r.exactDenoiser)
    .flatMap((r) =>
      Object.entries(r.substitutes)
        .filter(([, st]) => !st.probe)
        .map(([k, st]) => ({ model: r.model, name: k, min: st.min })),
    );
  const nearest = subMinima.reduce((a, b) => (b.min < a.min ? b : a));
  const margin = nearest.min / honestAll.max;
  const exact = reports.filter((r) => r.exactDenoiser);
  const exactDetection = exact.flatMap((r) =>
    Object.entries(r.substitutes)
      .filter(([, st]) => !st.probe)
      .map(([k, st]) => ({ model: r.model, name: k, detectK3Min: st.detectK3Min })),
  );
  const checks = {
    honestHeadroom: honestAll.max * 10 <= STEP_BANDS.passMax,
    substitutesFail: nearest.min >= STEP_BANDS.failMin,
    margin30: margin >= 30,
    honestAllPass: honestValues.every((e) => classifyStep(e) === "pass"),
  };
  const bandsHold = Object.values(checks).every(Boolean);

  const lines: string[] = [];
  const say = (s = "") => lines.push(s);
  say(`Calibration of the step check, ${started.toISOString().slice(0, 10)} (command: ${COMMAND})`);
  say(
    `host: ${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}, Node ${process.versions.node}, validator profile ${profileKey(defaultRuntimeProfile())}`,
  );
  say(
    `seeds per prompt: ${SEEDS}; ${models.map((m) => `${m.name} ${m.steps} steps`).join(", ")}; e = ‖ε' − ε_c‖ / ‖ε_c‖`,
  );
  say();
  say("Honest re-execution (provider ↔ validator under different runtime profiles; both directions)");
  say(
    `${"model".padEnd(16)} ${"variation".padEnd(34)} ${"n".padStart(6)} ${"bit-exact".padStart(9)} ${"p50".padStart(9)} ${"p99".padStart(9)} ${"p99.99".padStart(9)} ${"max".padStart(9)}`,
  );
  const row = (model: string, name: string, s: Stats) =>
    say(
      `${model.padEnd(16)} ${name.padEnd(34)} ${String(s.n).padStart(6)} ${String(s.bitExact).padStart(9)} ${fmt(s.p50).padStart(9)} ${fmt(s.p99).padStart(9)} ${fmt(s.p9999).padStart(9)} ${fmt(s.max).padStart(9)}`,
    );
  for (const r of reports) {
    for (const [k, s] of Object.entries(r.honest)) row(r.model, k, s);
    say(
      `${r.model.padEnd(16)} ${"same profile (must be bit-exact)".padEnd(34)} ${String(r.sameProfile.steps).padStart(6)} ${String(r.sameProfile.bitExact).padStart(9)}`,
    );
  }
  if (dockerRun.available) {
    for (const [k, v] of Object.entries(dockerRun.errors)) {
      const id = dockerRun.identical[k]!;
      row(k, `Docker image vs host (${id.identical}/${id.jobs} jobs identical)`, stats(v));
    }
  } else say(`Docker vs host: skipped (${dockerRun.reason})`);
  row("all", "honest", honestAll);
  say();
  say(
    "Substitutes (validator re-executes the committed z_i; transitions exact; stats over the tampered steps)",
  );
  say(
    `${"model".padEnd(16)} ${"substitute".padEnd(34)} ${"n".padStart(6)} ${"min".padStart(9)} ${"p50".padStart(9)} ${"max".padStart(9)} ${"fail".padStart(6)} ${"pass".padStart(6)} ${"P(k=3)".padStart(7)} ${"min".padStart(6)}`,
  );
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  for (const r of reports) {
    for (const [k, st] of Object.entries(r.substitutes)) {
      say(
        `${r.model.padEnd(16)} ${(k + (st.probe ? " (probe)" : "")).padEnd(34)} ${String(st.n).padStart(6)} ${fmt(st.min).padStart(9)} ${fmt(st.p50).padStart(9)} ${fmt(st.max).padStart(9)} ${pct(st.failShare).padStart(6)} ${pct(st.passShare).padStart(6)} ${st.detectK3.toFixed(3).padStart(7)} ${st.detectK3Min.toFixed(2).padStart(6)}`,
      );
    }
  }
  say(
    "  fail / pass: share of tampered steps in the fail / pass band; P(k=3): probability that a stratified challenge",
  );
  say("  of 3 steps hits a failing step, mean over jobs, and its lowest job");
  say();
  say(
    `bands (containers/diffusion/src/quality/bands.ts): pass e ≤ ${fmt(STEP_BANDS.passMax)}, escalate between, fail e ≥ ${fmt(STEP_BANDS.failMin)}`,
  );
  say(
    `honest: max ${fmt(honestAll.max)}, p99.99 ${fmt(honestAll.p9999)}, p99 ${fmt(honestAll.p99)}, p50 ${fmt(honestAll.p50)}; ${honestAll.bitExact}/${honestAll.n} bit-exact; all pass: ${checks.honestAllPass ? "yes" : "NO"}`,
  );
  say(
    `nearest cheap substitute (step by step, SD-shaped models): ${nearest.name} on ${nearest.model}, min ${fmt(nearest.min)}`,
  );
  say(
    `margin = substitute min / honest max = ${margin.toFixed(0)}× (target ≥ 30×): ${checks.margin30 ? "met" : "NOT met"}`,
  );
  say(
    `headroom: passMax / honest max = ${(STEP_BANDS.passMax / honestAll.max).toFixed(0)}× (≥ 10×: ${checks.honestHeadroom ? "yes" : "NO"}); substitute min / failMin = ${(nearest.min / STEP_BANDS.failMin).toFixed(2)}× (≥ 1: ${checks.substitutesFail ? "yes" : "NO"})`,
  );
  for (const r of exact) {
    const worst = exactDetection
      .filter((d) => d.model === r.model)
      .reduce((a, b) => (b.detectK3Min < a.detectK3Min ? b : a));
    say(
      `${r.model} (exact denoiser: conditioning-only substitutes equal the honest ε once the posterior has collapsed, e = 0 there): ` +
        `lowest per-job P(k=3) ${worst.detectK3Min.toFixed(2)} (${worst.name})`,
    );
  }
  say(`bands hold: ${bandsHold ? "yes" : "NO"}`);
  if (CALIBRATION.date)
    say(
      `recorded in bands.ts: ${CALIBRATION.date}, honest max ${fmt(CALIBRATION.honestMax)}, substitute min ${fmt(CALIBRATION.substituteMin)}, margin ${CALIBRATION.margin}×`,
    );
  say(
    `time: ${reports.map((r) => `${r.model} ${r.seconds.toFixed(0)} s`).join(", ")}, Docker ${dockerSeconds.toFixed(0)} s (rough; shared 2-core machine)`,
  );
  console.log(lines.join("\n"));

  const out = {
    date: started.toISOString(),
    command: COMMAND,
    host: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.versions.node },
    validatorProfile: profileKey(defaultRuntimeProfile()),
    seedsPerPrompt: SEEDS,
    models: reports,
    docker: {
      available: dockerRun.available,
      reason: dockerRun.reason,
      models: Object.fromEntries(
        Object.entries(dockerRun.errors).map(([k, v]) => [k, { ...stats(v), ...dockerRun.identical[k] }]),
      ),
    },
    honest: honestAll,
    nearestSubstitute: nearest,
    margin,
    bands: STEP_BANDS,
    checks,
    bandsHold,
    printed: lines.join("\n"),
  };
  await mkdir(path.dirname(args.out), { recursive: true });
  await writeFile(args.out, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), args.out)}`);
  if (!bandsHold) process.exitCode = 1;
} finally {
  await rm(work, { recursive: true, force: true });
}

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { initialLatent } from "@infernet/sdk";
import { InvalidJobParamsError, ModelSignatureError } from "./errors.ts";
import { sizeOf } from "./float32.ts";
import { usesGuidance } from "./guidance.ts";
import { LAYOUT } from "./layout.ts";
import type { Frame } from "./output/frame.ts";
import { defaultRuntimeProfile, openSession, type RuntimeProfile } from "./runtime.ts";
import {
  ddimSchedule,
  ddimStep,
  parseSchedulerConfig,
  type DdimSchedule,
  type SchedulerConfig,
} from "./scheduler.ts";
import { staticDim, inputSpec } from "./signature.ts";
import { describeTextEncoder, encodeIds, type TextEncoderModel } from "./text-encoder.ts";
import { encodePrompt, loadTokenizer, type ClipTokenizer } from "./tokenizer.ts";
import { describeUnet, predictNoise, type PromptEmbeddings, type UnetModel } from "./unet.ts";
import { decodeLatent, describeVaeDecoder, type VaeDecoderModel } from "./vae.ts";

export type Hex = `0x${string}`;

/** A loaded model directory (diffusers ONNX layout) and the runtime profile its sessions were opened with. */
export interface Pipeline {
  readonly dir: string;
  readonly profile: RuntimeProfile;
  readonly tokenizer: ClipTokenizer;
  readonly textEncoder: TextEncoderModel;
  readonly unet: UnetModel;
  readonly vae: VaeDecoderModel;
  readonly scheduler: SchedulerConfig;
  /** Latent channels C. */
  readonly latentChannels: number;
  /** Pixels per latent pixel along each spatial axis (SD: 8). */
  readonly latentFactor: number;
}

export interface LoadPipelineParams {
  dir: string;
  /** Default: `defaultRuntimeProfile()`. */
  profile?: RuntimeProfile;
}

async function readJsonObject(path: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const v = JSON.parse(text) as unknown;
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ModelSignatureError(path, "is not a JSON object");
  }
  return v as Record<string, unknown>;
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === "number" && Number.isSafeInteger(v) && v > 0 ? v : undefined;
}

/**
 * Opens the three models of `dir` under one runtime profile and reads tokenizer, scheduler and VAE configs.
 * Latent channels: `sample`'s static channel dimension, else `unet/config.json` `in_channels`, else 4. Latent
 * factor: `2^(len(block_out_channels) − 1)` from `vae_decoder/config.json`, else 8. Scaling factor: its
 * `scaling_factor`, else 0.18215.
 */
export async function loadPipeline(p: LoadPipelineParams): Promise<Pipeline> {
  const profile = p.profile ?? defaultRuntimeProfile();
  const dir = p.dir;
  const schedulerJson = await readJsonObject(join(dir, LAYOUT.scheduler), true);
  const scheduler = parseSchedulerConfig(schedulerJson);
  const unetConfig = await readJsonObject(join(dir, LAYOUT.unetConfig), false);
  const vaeConfig = await readJsonObject(join(dir, LAYOUT.vaeConfig), false);
  const tokenizer = await loadTokenizer(join(dir, LAYOUT.tokenizerDir));
  const textEncoder = describeTextEncoder(await openSession(join(dir, LAYOUT.textEncoder), profile));
  const unetSession = await openSession(join(dir, LAYOUT.unet), profile);
  const unet = describeUnet(unetSession);
  const blocks = vaeConfig?.block_out_channels;
  const latentFactor = Array.isArray(blocks) && blocks.length > 0 ? 2 ** (blocks.length - 1) : 8;
  const scaling = vaeConfig?.scaling_factor;
  const vae = describeVaeDecoder(
    await openSession(join(dir, LAYOUT.vaeDecoder), profile),
    typeof scaling === "number" ? scaling : 0.18215,
  );
  const latentChannels =
    staticDim(inputSpec(unetSession, "sample", "unet"), 1) ?? positiveInt(unetConfig?.in_channels) ?? 4;
  return { dir, profile, tokenizer, textEncoder, unet, vae, scheduler, latentChannels, latentFactor };
}

/** Releases the pipeline's onnxruntime sessions. */
export async function closePipeline(pipeline: Pipeline): Promise<void> {
  await pipeline.textEncoder.session.release();
  await pipeline.unet.session.release();
  await pipeline.vae.session.release();
}

/** What a job asks of the pipeline (the fields `paramsHash` binds, plus the prompts behind `inputsHash`). */
export interface JobParams {
  prompt: string;
  /** The unconditional prompt of guidance (default ""). */
  negativePrompt?: string;
  /** Denoising steps T. */
  steps: number;
  /** Guidance scale × 1000; ≤ 1000 runs without guidance. */
  guidanceMilli: number;
  /** The job's initial-noise seed (docs/protocol.md §6). */
  seed: Hex;
  /** Output size in pixels, each a multiple of the latent factor. */
  width: number;
  height: number;
  /** 1 for image models; the frame count of video models. */
  frames: number;
}

/** `[1, C, H/f, W/f]` for an image UNet, `[1, C, F, H/f, W/f]` for a video UNet. */
export function latentDims(pipeline: Pipeline, job: JobParams): number[] {
  const f = pipeline.latentFactor;
  for (const key of ["width", "height", "frames"] as const) {
    const v = job[key];
    if (!Number.isSafeInteger(v) || v < 1)
      throw new InvalidJobParamsError(key, `must be a positive integer, got ${v}`);
  }
  if (job.width % f !== 0 || job.height % f !== 0) {
    throw new InvalidJobParamsError(
      "width",
      `${job.width}×${job.height} is not a multiple of the latent factor ${f}`,
    );
  }
  const c = pipeline.latentChannels;
  if (pipeline.unet.sampleRank === 4) {
    if (job.frames !== 1)
      throw new InvalidJobParamsError("frames", `an image model makes 1 frame, asked ${job.frames}`);
    return [1, c, job.height / f, job.width / f];
  }
  return [1, c, job.frames, job.height / f, job.width / f];
}

/** `z_0`: the float32 initial latent of the job's seed (sdk `initialLatent`, docs/protocol.md §6). */
export function jobInitialLatent(pipeline: Pipeline, job: JobParams): Float32Array {
  return initialLatent(job.seed, sizeOf(latentDims(pipeline, job)), "float32");
}

/** The DDIM schedule of the job's step count. */
export function jobSchedule(pipeline: Pipeline, job: JobParams): DdimSchedule {
  return ddimSchedule(pipeline.scheduler, job.steps);
}

/** Text conditioning of the job: the prompt, and the negative prompt (default "") when guidance is on. */
export async function encodeJobPrompts(pipeline: Pipeline, job: JobParams): Promise<PromptEmbeddings> {
  const encode = (text: string) => encodeIds(pipeline.textEncoder, encodePrompt(pipeline.tokenizer, text));
  const cond = await encode(job.prompt);
  const uncond = usesGuidance(job.guidanceMilli) ? await encode(job.negativePrompt ?? "") : undefined;
  return { cond, uncond };
}

/** One denoising step as the provider commits it (docs/protocol.md §4). */
export interface StepEvent {
  /** Step index i, 0 ≤ i < steps. */
  index: number;
  steps: number;
  /** `t_i`. */
  timestep: number;
  /** The timestep the step lands on (`t_i − ⌊N/T⌋`; negative after the last step). */
  prevTimestep: number;
  /** `z_i`, the latent entering the step. */
  latent: Float32Array;
  /** `ε_i`, the noise prediction after guidance. */
  noise: Float32Array;
  /** `z_{i+1} = DDIM(z_i, ε_i, t_i, prevTimestep)`. */
  next: Float32Array;
}

/** Every latent and noise prediction of a run: what reveals open. */
export interface Trajectory {
  dims: readonly number[];
  timesteps: readonly number[];
  /** `z_0 … z_T` (T + 1 latents). */
  latents: Float32Array[];
  /** `ε_0 … ε_{T−1}`. */
  noise: Float32Array[];
}

export interface DenoiseParams {
  pipeline: Pipeline;
  job: JobParams;
  /** Precomputed conditioning (default: `encodeJobPrompts`). */
  embeddings?: PromptEmbeddings;
}

/** The denoising loop as an async iterator: one `StepEvent` per step; returns the trajectory. */
export async function* denoise(p: DenoiseParams): AsyncGenerator<StepEvent, Trajectory, void> {
  const { pipeline, job } = p;
  const dims = latentDims(pipeline, job);
  const schedule = jobSchedule(pipeline, job);
  const embeddings = p.embeddings ?? (await encodeJobPrompts(pipeline, job));
  let latent = jobInitialLatent(pipeline, job);
  const trajectory: Trajectory = { dims, timesteps: schedule.timesteps, latents: [latent], noise: [] };
  for (let index = 0; index < job.steps; index++) {
    const timestep = schedule.timesteps[index]!;
    const prevTimestep = schedule.prevTimesteps[index]!;
    const noise = await predictNoise({
      unet: pipeline.unet,
      latent,
      dims,
      timestep,
      embeddings,
      guidanceMilli: job.guidanceMilli,
      cfgMode: pipeline.profile.cfgMode,
    });
    const next = ddimStep({ schedule, latent, noise, t: timestep, tPrev: prevTimestep });
    trajectory.noise.push(noise);
    trajectory.latents.push(next);
    yield { index, steps: job.steps, timestep, prevTimestep, latent, noise, next };
    latent = next;
  }
  return trajectory;
}

export interface GenerateParams extends DenoiseParams {
  /** Called after every step, awaited before the next (progress, leaves). */
  onStep?: (event: StepEvent) => void | Promise<void>;
  /** Decode `z_T` to frames (default true). */
  decode?: boolean;
}

export interface GenerationResult {
  embeddings: PromptEmbeddings;
  trajectory: Trajectory;
  /** `z_T`. */
  finalLatent: Float32Array;
  /** RGB frames of the decoded `z_T` (empty when `decode` is false). */
  frames: Frame[];
}

/** Runs a whole job: prompts → T DDIM steps (hook per step) → VAE decode. */
export async function generate(p: GenerateParams): Promise<GenerationResult> {
  const embeddings = p.embeddings ?? (await encodeJobPrompts(p.pipeline, p.job));
  const steps = denoise({ pipeline: p.pipeline, job: p.job, embeddings });
  let r = await steps.next();
  while (r.done !== true) {
    await p.onStep?.(r.value);
    r = await steps.next();
  }
  const trajectory = r.value;
  const finalLatent = trajectory.latents[trajectory.latents.length - 1]!;
  const frames = p.decode === false ? [] : await decodeLatent(p.pipeline.vae, finalLatent, trajectory.dims);
  return { embeddings, trajectory, finalLatent, frames };
}

/** Decodes a final latent of the job to RGB frames. */
export async function decodeJobLatent(
  pipeline: Pipeline,
  job: JobParams,
  latent: Float32Array,
): Promise<Frame[]> {
  return decodeLatent(pipeline.vae, latent, latentDims(pipeline, job));
}

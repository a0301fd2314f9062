import { InvalidJobParamsError, LatentShapeError, RuntimeProfileError } from "./errors.ts";
import { sizeOf } from "./float32.ts";
import { encodeJobPrompts, jobSchedule, latentDims, type JobParams, type Pipeline } from "./pipeline.ts";
import { profileKey, sameRuntimeProfile, type RuntimeProfile } from "./runtime.ts";
import { ddimStep } from "./scheduler.ts";
import { predictNoise, type PromptEmbeddings } from "./unet.ts";

export interface StepInputs {
  pipeline: Pipeline;
  job: JobParams;
  /** The challenged step c. */
  index: number;
  /** `z_c` as committed. */
  latent: Float32Array;
}

function stepTimesteps(p: StepInputs): { t: number; tPrev: number; dims: number[] } {
  const dims = latentDims(p.pipeline, p.job);
  if (!Number.isSafeInteger(p.index) || p.index < 0 || p.index >= p.job.steps) {
    throw new InvalidJobParamsError("index", `must be an integer in [0, ${p.job.steps}), got ${p.index}`);
  }
  if (p.latent.length !== sizeOf(dims)) {
    throw new LatentShapeError(
      `latent has ${p.latent.length} elements, ${JSON.stringify(dims)} needs ${sizeOf(dims)}`,
    );
  }
  const s = jobSchedule(p.pipeline, p.job);
  return { t: s.timesteps[p.index]!, tPrev: s.prevTimesteps[p.index]!, dims };
}

/** `z_{c+1}` from the committed `z_c` and `ε_c`: the exact DDIM transition a validator checks bit for bit. */
export function transitionStep(p: StepInputs & { noise: Float32Array }): Float32Array {
  const { t, tPrev } = stepTimesteps(p);
  return ddimStep({ schedule: jobSchedule(p.pipeline, p.job), latent: p.latent, noise: p.noise, t, tPrev });
}

export interface ReexecuteStepParams extends StepInputs {
  /** The job's conditioning when already encoded (default: encoded from the job's prompts). */
  embeddings?: PromptEmbeddings;
  /** The pinned profile of the job; must equal the one the pipeline was opened with. */
  profile?: RuntimeProfile;
}

export interface ReexecutedStep {
  index: number;
  timestep: number;
  prevTimestep: number;
  /** `ε'`, the re-computed guided noise prediction at `z_c`. */
  noise: Float32Array;
  /** `DDIM(z_c, ε', t_c, t_{c+1})`. */
  next: Float32Array;
}

/** Re-runs one denoising step from a committed latent: the UNet (with guidance) and the DDIM transition. */
export async function reexecuteStep(p: ReexecuteStepParams): Promise<ReexecutedStep> {
  if (p.profile !== undefined && !sameRuntimeProfile(p.profile, p.pipeline.profile)) {
    throw new RuntimeProfileError(
      `job pins ${profileKey(p.profile)}, the pipeline runs ${profileKey(p.pipeline.profile)}`,
    );
  }
  const { t, tPrev, dims } = stepTimesteps(p);
  const embeddings = p.embeddings ?? (await encodeJobPrompts(p.pipeline, p.job));
  const noise = await predictNoise({
    unet: p.pipeline.unet,
    latent: p.latent,
    dims,
    timestep: t,
    embeddings,
    guidanceMilli: p.job.guidanceMilli,
    cfgMode: p.pipeline.profile.cfgMode,
  });
  const next = ddimStep({ schedule: jobSchedule(p.pipeline, p.job), latent: p.latent, noise, t, tPrev });
  return { index: p.index, timestep: t, prevTimestep: tPrev, noise, next };
}

/** `‖a − b‖ / ‖b‖` in float64 (0 when equal; Infinity when `b` is zero and `a` is not). */
export function relativeL2(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length)
    throw new LatentShapeError(`cannot compare ${a.length} with ${b.length} elements`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    num += d * d;
    den += b[i]! * b[i]!;
  }
  if (num === 0) return 0;
  return den === 0 ? Infinity : Math.sqrt(num / den);
}

/** True when the two tensors have the same bits (NaN payloads included). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

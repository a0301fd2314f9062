import { SchedulerConfigError, InvalidJobParamsError, LatentShapeError } from "./errors.ts";
import { f32, sqrt32 } from "./float32.ts";

/**
 * The fields of a diffusers `scheduler_config.json` that define the DDIM sampler. Whatever `_class_name` the file
 * names (SD exports ship `PNDMScheduler`), the pipeline samples with DDIM, eta 0, over these betas.
 */
export interface SchedulerConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: "scaled_linear" | "linear";
  /** Explicit betas (`trained_betas`), used instead of the schedule when present. */
  trainedBetas: readonly number[] | undefined;
  stepsOffset: number;
  /** True: ᾱ after the last step is 1; false (SD): it is ᾱ_0. */
  setAlphaToOne: boolean;
  timestepSpacing: "leading";
  predictionType: "epsilon";
  clipSample: boolean;
  clipSampleRange: number;
}

/** Stable Diffusion 1.x/2.x base: scaled_linear 0.00085 → 0.012 over 1000 steps, leading spacing, offset 1. */
export const SD_SCHEDULER_CONFIG: Readonly<SchedulerConfig> = Object.freeze({
  numTrainTimesteps: 1000,
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedule: "scaled_linear",
  trainedBetas: undefined,
  stepsOffset: 1,
  setAlphaToOne: false,
  timestepSpacing: "leading",
  predictionType: "epsilon",
  clipSample: false,
  clipSampleRange: 1,
});

type Json = Record<string, unknown>;

function field<T>(json: Json, key: string, fallback: T, check: (v: unknown) => v is T, what: string): T {
  const v = json[key];
  if (v === undefined || v === null) return fallback;
  if (!check(v)) throw new SchedulerConfigError(`${key} must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}
const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isString = (v: unknown): v is string => typeof v === "string";
const isNumbers = (v: unknown): v is number[] => Array.isArray(v) && v.every(isNumber);

/** Reads a diffusers scheduler config object (snake_case keys), applying diffusers' defaults for missing keys. */
export function parseSchedulerConfig(json: unknown): SchedulerConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new SchedulerConfigError("not a JSON object");
  }
  const o = json as Json;
  const numTrainTimesteps = field(o, "num_train_timesteps", 1000, isNumber, "a number");
  if (!Number.isSafeInteger(numTrainTimesteps) || numTrainTimesteps < 2) {
    throw new SchedulerConfigError(`num_train_timesteps must be an integer ≥ 2, got ${numTrainTimesteps}`);
  }
  const betaSchedule = field(o, "beta_schedule", "linear", isString, "a string");
  if (betaSchedule !== "scaled_linear" && betaSchedule !== "linear") {
    throw new SchedulerConfigError(
      `beta_schedule "${betaSchedule}" is not supported (scaled_linear, linear)`,
    );
  }
  const trainedBetas = field<number[] | undefined>(o, "trained_betas", undefined, isNumbers, "a number list");
  if (trainedBetas !== undefined && trainedBetas.length !== numTrainTimesteps) {
    throw new SchedulerConfigError(
      `trained_betas has ${trainedBetas.length} values, expected ${numTrainTimesteps}`,
    );
  }
  const timestepSpacing = field(o, "timestep_spacing", "leading", isString, "a string");
  if (timestepSpacing !== "leading") {
    throw new SchedulerConfigError(`timestep_spacing "${timestepSpacing}" is not supported (leading)`);
  }
  const predictionType = field(o, "prediction_type", "epsilon", isString, "a string");
  if (predictionType !== "epsilon") {
    throw new SchedulerConfigError(`prediction_type "${predictionType}" is not supported (epsilon)`);
  }
  if (field(o, "thresholding", false, isBool, "a boolean")) {
    throw new SchedulerConfigError("thresholding is not supported");
  }
  const stepsOffset = field(o, "steps_offset", 0, isNumber, "a number");
  if (!Number.isSafeInteger(stepsOffset) || stepsOffset < 0) {
    throw new SchedulerConfigError(`steps_offset must be a non-negative integer, got ${stepsOffset}`);
  }
  return {
    numTrainTimesteps,
    betaStart: field(o, "beta_start", 0.0001, isNumber, "a number"),
    betaEnd: field(o, "beta_end", 0.02, isNumber, "a number"),
    betaSchedule,
    trainedBetas,
    stepsOffset,
    setAlphaToOne: field(o, "set_alpha_to_one", true, isBool, "a boolean"),
    timestepSpacing,
    predictionType,
    clipSample: field(o, "clip_sample", true, isBool, "a boolean"),
    clipSampleRange: field(o, "clip_sample_range", 1, isNumber, "a number"),
  };
}

/** The config as a diffusers `scheduler_config.json` object (DDIMScheduler). */
export function schedulerConfigJson(c: SchedulerConfig): Record<string, unknown> {
  return {
    _class_name: "DDIMScheduler",
    num_train_timesteps: c.numTrainTimesteps,
    beta_start: c.betaStart,
    beta_end: c.betaEnd,
    beta_schedule: c.betaSchedule,
    trained_betas: c.trainedBetas ?? null,
    steps_offset: c.stepsOffset,
    set_alpha_to_one: c.setAlphaToOne,
    timestep_spacing: c.timestepSpacing,
    prediction_type: c.predictionType,
    clip_sample: c.clipSample,
    clip_sample_range: c.clipSampleRange,
    thresholding: false,
  };
}

/**
 * `betas[i]` as float32. scaled_linear: `d = (√end − √start)/(N − 1)`, `s = √start + i·d`, `β_i = f32(s·s)`;
 * linear: `d = (end − start)/(N − 1)`, `β_i = f32(start + i·d)` — each in float64 in that order, one final rounding.
 */
export function betas(c: SchedulerConfig): Float32Array {
  const n = c.numTrainTimesteps;
  const out = new Float32Array(n);
  if (c.trainedBetas !== undefined) {
    for (let i = 0; i < n; i++) out[i] = f32(c.trainedBetas[i]!);
    return out;
  }
  if (c.betaSchedule === "scaled_linear") {
    const lo = Math.sqrt(c.betaStart);
    const d = (Math.sqrt(c.betaEnd) - lo) / (n - 1);
    for (let i = 0; i < n; i++) {
      const s = lo + i * d;
      out[i] = f32(s * s);
    }
  } else {
    const d = (c.betaEnd - c.betaStart) / (n - 1);
    for (let i = 0; i < n; i++) out[i] = f32(c.betaStart + i * d);
  }
  return out;
}

/** `ᾱ_t` for t = 0..N−1 in float32: `α_i = f32(1 − β_i)`, `ᾱ_0 = α_0`, `ᾱ_i = f32(ᾱ_{i−1} · α_i)` (sequential). */
export function alphasCumprod(c: SchedulerConfig): Float32Array {
  const b = betas(c);
  const out = new Float32Array(b.length);
  let acc = 1;
  for (let i = 0; i < b.length; i++) {
    const alpha = f32(1 - b[i]!);
    acc = i === 0 ? alpha : f32(acc * alpha);
    out[i] = acc;
  }
  return out;
}

/** The timesteps of a DDIM run and the ᾱ table they index. */
export interface DdimSchedule {
  /** `t_0 > t_1 > … > t_{T−1}` (leading spacing: `t_i = (T − 1 − i)·⌊N/T⌋ + steps_offset`). */
  readonly timesteps: readonly number[];
  /** `t_i − ⌊N/T⌋`; negative on the last step, which then uses `finalAlphaCumprod`. */
  readonly prevTimesteps: readonly number[];
  readonly alphasCumprod: Float32Array;
  /** ᾱ used for a negative previous timestep: 1 with `set_alpha_to_one`, else ᾱ_0 (float32). */
  readonly finalAlphaCumprod: number;
  readonly clipSample: boolean;
  readonly clipSampleRange: number;
}

/** The DDIM schedule of `steps` inference steps (1 ≤ steps, every timestep below N). */
export function ddimSchedule(c: SchedulerConfig, steps: number): DdimSchedule {
  const n = c.numTrainTimesteps;
  if (!Number.isSafeInteger(steps) || steps < 1 || steps > n) {
    throw new InvalidJobParamsError("steps", `must be an integer in [1, ${n}], got ${steps}`);
  }
  const ratio = Math.floor(n / steps);
  const timesteps: number[] = [];
  const prevTimesteps: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = (steps - 1 - i) * ratio + c.stepsOffset;
    if (t >= n) {
      throw new InvalidJobParamsError(
        "steps",
        `timestep ${t} of ${steps} steps is not below ${n} (steps_offset)`,
      );
    }
    timesteps.push(t);
    prevTimesteps.push(t - ratio);
  }
  const acp = alphasCumprod(c);
  return {
    timesteps,
    prevTimesteps,
    alphasCumprod: acp,
    finalAlphaCumprod: c.setAlphaToOne ? 1 : acp[0]!,
    clipSample: c.clipSample,
    clipSampleRange: c.clipSampleRange,
  };
}

/** The four float32 scalars of one DDIM transition t → tPrev. */
export interface DdimCoefficients {
  /** `f32(√ᾱ_t)`. */
  sqrtAlpha: number;
  /** `f32(√f32(1 − ᾱ_t))`. */
  sqrtOneMinusAlpha: number;
  /** `f32(√ᾱ_prev)`. */
  sqrtAlphaPrev: number;
  /** `f32(√f32(1 − ᾱ_prev))`. */
  sqrtOneMinusAlphaPrev: number;
}

function alphaAt(s: DdimSchedule, t: number, name: string): number {
  if (t < 0) return s.finalAlphaCumprod;
  const a = s.alphasCumprod[t];
  if (!Number.isSafeInteger(t) || a === undefined) {
    throw new InvalidJobParamsError(name, `timestep ${t} is outside [0, ${s.alphasCumprod.length})`);
  }
  return a;
}

export function ddimCoefficients(s: DdimSchedule, t: number, tPrev: number): DdimCoefficients {
  if (t < 0) throw new InvalidJobParamsError("t", `timestep must be non-negative, got ${t}`);
  const a = alphaAt(s, t, "t");
  const ap = alphaAt(s, tPrev, "tPrev");
  return {
    sqrtAlpha: sqrt32(a),
    sqrtOneMinusAlpha: sqrt32(f32(1 - a)),
    sqrtAlphaPrev: sqrt32(ap),
    sqrtOneMinusAlphaPrev: sqrt32(f32(1 - ap)),
  };
}

export interface DdimStepParams {
  schedule: DdimSchedule;
  /** `z_t`, the latent entering the step. */
  latent: Float32Array;
  /** `ε`, the (guided) noise prediction at `t`. */
  noise: Float32Array;
  t: number;
  tPrev: number;
}

/**
 * One deterministic DDIM step (eta 0, epsilon prediction), element by element in float32, in this order:
 * `x0 = f32(f32(z − f32(b·ε)) / a)`, optionally `x0 = clamp(x0, −r, r)`, `z' = f32(f32(a'·x0) + f32(b'·ε))`,
 * with `a, b, a', b'` the `DdimCoefficients` of (t, tPrev). Same inputs → same bits on every IEEE 754 machine.
 */
export function ddimStep(p: DdimStepParams): Float32Array {
  const { latent, noise } = p;
  if (latent.length !== noise.length) {
    throw new LatentShapeError(`latent has ${latent.length} elements, noise ${noise.length}`);
  }
  const {
    sqrtAlpha: a,
    sqrtOneMinusAlpha: b,
    sqrtAlphaPrev: ap,
    sqrtOneMinusAlphaPrev: bp,
  } = ddimCoefficients(p.schedule, p.t, p.tPrev);
  const clip = p.schedule.clipSample;
  const r = f32(p.schedule.clipSampleRange);
  const out = new Float32Array(latent.length);
  for (let j = 0; j < latent.length; j++) {
    const e = noise[j]!;
    let x0 = f32(f32(latent[j]! - f32(b * e)) / a);
    if (clip) x0 = x0 < -r ? -r : x0 > r ? r : x0;
    out[j] = f32(f32(ap * x0) + f32(bp * e));
  }
  return out;
}

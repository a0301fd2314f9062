/**
 * The single checks of docs/protocol.md §8, as pure functions over float32 tensors (C order, batch 1, the job's
 * latent shape flattened). `verifyReveal` (verify.ts) combines them for every challenged step.
 */
import { createHash } from "node:crypto";
import type { Hex } from "viem";
import { initialLatent, tensorDigest } from "@infernet/sdk";
import { ddimStep, type DdimSchedule } from "../../../containers/diffusion/src/index.ts";
import { sameBits } from "./bands.ts";
import { InvalidRevealError } from "./errors.ts";

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The sdk's `tensorDigest` of a float32 tensor (sha256 of its canonical little-endian bytes, docs/protocol.md §3),
 * hashed in place on little-endian hosts instead of through a copy: about twice as fast on small latents, where
 * the validator's hashing is a visible part of its cost. Big-endian hosts take the sdk's path.
 */
export function tensorSha256(tensor: Float32Array): Hex {
  if (!LITTLE_ENDIAN) return tensorDigest(tensor);
  const bytes = new Uint8Array(tensor.buffer, tensor.byteOffset, tensor.byteLength);
  return `0x${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Check 1: the tensor's canonical bytes (float32, little-endian, C order) hash (sha256) to `digest`. */
export function digestMatches(tensor: Float32Array, digest: Hex): boolean {
  return tensorSha256(tensor) === digest.toLowerCase();
}

/** `z_0` of a job: `elements` float32 values drawn from `seed` by the sdk's `initialLatent` (§6). */
export function expectedInitialLatent(seed: Hex, elements: number): Float32Array {
  return initialLatent(seed, elements, "float32");
}

/** Check 2: `latent` is, bit for bit, the initial latent of `seed` (its length fixes the element count). */
export function initialLatentMatches(seed: Hex, latent: Float32Array): boolean {
  return sameBits(latent, expectedInitialLatent(seed, latent.length));
}

function scheduleStep(schedule: DdimSchedule, index: number): { t: number; tPrev: number } {
  const t = schedule.timesteps[index];
  const tPrev = schedule.prevTimesteps[index];
  if (!Number.isSafeInteger(index) || t === undefined || tPrev === undefined) {
    throw new InvalidRevealError(`step ${index} is not in a schedule of ${schedule.timesteps.length} steps`);
  }
  return { t, tPrev };
}

/** The timestep `t_i` of step `index` in the job's schedule equals the committed one. */
export function timestepMatches(schedule: DdimSchedule, index: number, timestep: number): boolean {
  return scheduleStep(schedule, index).t === timestep;
}

/**
 * `DDIM(z_c, ε_c, t_c, t_{c+1})` with the pipeline's exact float32 scheduler: the latent that must follow step
 * `index` given its committed latent and noise (on the last step `t_{c+1}` is the schedule's final ᾱ).
 */
export function expectedTransition(
  schedule: DdimSchedule,
  index: number,
  latent: Float32Array,
  noise: Float32Array,
): Float32Array {
  const { t, tPrev } = scheduleStep(schedule, index);
  return ddimStep({ schedule, latent, noise, t, tPrev });
}

/** Check 4: `next` = `DDIM(latent, noise, t_c, t_{c+1})` bit for bit (deterministic float32 arithmetic). */
export function transitionHolds(
  schedule: DdimSchedule,
  index: number,
  latent: Float32Array,
  noise: Float32Array,
  next: Float32Array,
): boolean {
  if (latent.length !== noise.length || latent.length !== next.length) return false;
  return sameBits(next, expectedTransition(schedule, index, latent, noise));
}

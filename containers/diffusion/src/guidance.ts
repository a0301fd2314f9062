import { InvalidJobParamsError, LatentShapeError } from "./errors.ts";
import { f32 } from "./float32.ts";

/**
 * Whether a job runs classifier-free guidance. As in diffusers, a scale of 1 or less means no guidance: the noise
 * prediction is the conditional one, bit for bit, and the unconditional pass is skipped.
 */
export function usesGuidance(guidanceMilli: number): boolean {
  if (!Number.isSafeInteger(guidanceMilli) || guidanceMilli < 0 || guidanceMilli > 0xffff_ffff) {
    throw new InvalidJobParamsError("guidanceMilli", `must be a u32 integer, got ${guidanceMilli}`);
  }
  return guidanceMilli > 1000;
}

/** The float32 guidance scale of a job: `f32(guidanceMilli / 1000)`. */
export function guidanceScale(guidanceMilli: number): number {
  usesGuidance(guidanceMilli);
  return f32(guidanceMilli / 1000);
}

/** `ε = f32(ε_u + f32(g · f32(ε_c − ε_u)))` per element (diffusers' order), `g = guidanceScale(guidanceMilli)`. */
export function applyGuidance(uncond: Float32Array, cond: Float32Array, guidanceMilli: number): Float32Array {
  if (uncond.length !== cond.length) {
    throw new LatentShapeError(
      `unconditional prediction has ${uncond.length} elements, conditional ${cond.length}`,
    );
  }
  const g = guidanceScale(guidanceMilli);
  const out = new Float32Array(cond.length);
  for (let j = 0; j < cond.length; j++) {
    const u = uncond[j]!;
    out[j] = f32(u + f32(g * f32(cond[j]! - u)));
  }
  return out;
}

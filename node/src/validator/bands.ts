import { STEP_BANDS } from "../../../containers/diffusion/src/index.ts";
import { InvalidBandsError, TensorLengthError } from "./errors.ts";

/**
 * Calibrated tolerance of the noise re-execution check (docs/verification.md). Both limits are relative L2 errors
 * `r = ‖ε' − ε‖ / ‖ε‖` (dimensionless), `0 ≤ pass < fail`:
 * - `r ≤ pass`: the step passes (same runtime profile gives 0; other profiles a little above);
 * - `pass < r < fail`: escalate (too far to vouch for, too close to slash: re-check under the provider's exact
 *   profile, or leave it to a dispute committee);
 * - `r ≥ fail` (or not a number): the step fails.
 * The same rule as the pipeline's `classifyStep` over `StepBands { passMax, failMin }`.
 */
export interface Bands {
  readonly pass: number;
  readonly fail: number;
}

export type Band = "pass" | "escalate" | "fail";

/**
 * The bands `npm run calibrate` chose (`STEP_BANDS` of containers/diffusion/src/quality/bands.ts: pass ≤ 1e-4,
 * fail ≥ 5e-4 on 2026-11-23; honest errors across runtime profiles at most 8.5e-6, the nearest cheap substitute
 * at least 1.05e-3). Re-run the calibration on the hardware providers and validators really use.
 */
export const DEFAULT_BANDS: Bands = Object.freeze({ pass: STEP_BANDS.passMax, fail: STEP_BANDS.failMin });

/** Throws `InvalidBandsError` unless `0 ≤ pass < fail` are finite numbers; returns the bands. */
export function assertBands(bands: Bands): Bands {
  const { pass, fail } = bands;
  if (typeof pass !== "number" || !Number.isFinite(pass) || pass < 0) {
    throw new InvalidBandsError(`pass must be a finite number ≥ 0, got ${String(pass)}`);
  }
  if (typeof fail !== "number" || !Number.isFinite(fail) || fail <= pass) {
    throw new InvalidBandsError(`fail must be a finite number > pass (${pass}), got ${String(fail)}`);
  }
  return bands;
}

/** The band of a relative error: fail `≥ bands.fail` or NaN, pass `≤ bands.pass`, escalate in between. */
export function classify(relErr: number, bands: Bands): Band {
  assertBands(bands);
  if (Number.isNaN(relErr) || relErr >= bands.fail) return "fail";
  return relErr <= bands.pass ? "pass" : "escalate";
}

/** True when the two float32 tensors hold the same bits (NaN payloads and signed zeros included). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Relative L2 error `‖ε' − ε‖ / ‖ε‖` of the validator's re-computed noise `reference` (ε') against the committed
 * `committed` (ε, the denominator, as docs/protocol.md §8 defines it). Squares and sums accumulate in float64 (a
 * float32 value squared is exact in float64 and cannot overflow it). Defined for every input:
 * - identical bits → 0 (also when both hold the same NaN or ∞: a faithful re-run of a degenerate step);
 * - ‖ε‖ = 0: 0 when ε' is zero too, else `Infinity` (nothing to be relative to: fail);
 * - any other non-finite element on either side → `Infinity` (fail).
 * Throws `TensorLengthError` when the lengths differ.
 */
export function relativeL2Error(reference: Float32Array, committed: Float32Array): number {
  if (reference.length !== committed.length) throw new TensorLengthError(reference.length, committed.length);
  let num = 0; // Σ (ε'_j − ε_j)², float64
  let den = 0; // Σ ε_j², float64
  for (let j = 0; j < committed.length; j++) {
    const e = committed[j]!;
    const d = reference[j]! - e;
    num += d * d;
    den += e * e;
  }
  if (!Number.isFinite(num) || !Number.isFinite(den)) return sameBits(reference, committed) ? 0 : Infinity;
  if (num === 0) return 0; // equal values (+0 and −0 are equal)
  if (den === 0) return Infinity;
  return Math.sqrt(num / den);
}

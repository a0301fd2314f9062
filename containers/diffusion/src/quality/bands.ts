// The calibrated bands of a validator's step check (docs/protocol.md §8 check 3): the relative L2 error
// e = ‖ε' − ε_c‖ / ‖ε_c‖ between the validator's re-executed noise prediction ε' and the committed ε_c.
//
//   e ≤ passMax              pass      an honest provider under any measured runtime variation
//   passMax < e < failMin    escalate  neither: re-run under the provider's exact profile, or go to a committee
//   e ≥ failMin (or NaN)     fail      a substitute computation (cheaper model, skipped steps, wrong conditioning)
//
// Chosen by `npm run calibrate` (bench/calibrate.ts; output and method in docs/verification.md "Calibration"): on the
// measured honest distribution (every single-step re-execution across intra-op threads, graph optimisation levels,
// guidance batching and Docker vs host) and the nearest cheap substitutes (8-bit weights, weight noise, reused
// steps, wrong guidance, replayed noise of another seed, wrong prompt), with passMax at least 10× above the largest
// honest error and failMin below the smallest substitute error. The calibration run checks that the numbers here
// still hold (and the margin substitute minimum / honest maximum ≥ 30×) and exits 1 otherwise.

export type StepVerdict = "pass" | "escalate" | "fail";

export interface StepBands {
  /** Largest relative L2 error that passes. */
  passMax: number;
  /** Smallest relative L2 error that fails. */
  failMin: number;
}

export const STEP_BANDS: Readonly<StepBands> = Object.freeze({
  passMax: 1e-4,
  failMin: 5e-4,
});

/** What the calibration measured when the bands were chosen (for reports; bench/out/calibration.json has all). */
export const CALIBRATION = Object.freeze({
  date: "2026-11-23",
  /** Largest honest error (cfgMode separate vs batched on the synthetic SD image model). */
  honestMax: 8.53e-6,
  /** Smallest error of a cheap substitute, step by step, on the SD-shaped models (weight noise 0.1 %). */
  substituteMin: 1.05e-3,
  /** substituteMin / honestMax. */
  margin: 123,
});

/** The band of one step's relative L2 error. */
export function classifyStep(relativeError: number, bands: StepBands = STEP_BANDS): StepVerdict {
  if (Number.isNaN(relativeError) || relativeError >= bands.failMin) return "fail";
  return relativeError <= bands.passMax ? "pass" : "escalate";
}

/** A job's steps together: any fail fails, else any escalate escalates, else pass. */
export function classifySteps(errors: readonly number[], bands: StepBands = STEP_BANDS): StepVerdict {
  let verdict: StepVerdict = "pass";
  for (const e of errors) {
    const v = classifyStep(e, bands);
    if (v === "fail") return "fail";
    if (v === "escalate") verdict = "escalate";
  }
  return verdict;
}

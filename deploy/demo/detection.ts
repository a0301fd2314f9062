/**
 * How likely Proof-of-Inference is to catch a provider that computed only some steps honestly. The challenge draws
 * one step per stratum `[⌊jT/k⌋, ⌊(j+1)T/k⌋)`, uniformly (sdk `challengeIndices`, docs/protocol.md §7), so the cheat
 * escapes only if every stratum's draw lands on an honest step:
 *
 *   P(detect) = 1 − Π_j (honest steps in stratum j) / (size of stratum j)
 */

/** The k strata of T steps, as [lo, hi). */
export function strata(T: number, k: number): [number, number][] {
  if (!Number.isSafeInteger(T) || !Number.isSafeInteger(k) || k < 1 || k > T) {
    throw new RangeError(`need 1 <= k <= T, got k = ${k}, T = ${T}`);
  }
  return Array.from({ length: k }, (_, j) => [Math.floor((j * T) / k), Math.floor(((j + 1) * T) / k)]);
}

/** Probability that a job whose steps `honest(i)` were computed honestly (the rest not) is caught at depth k. */
export function detectionProbability(T: number, k: number, honest: (step: number) => boolean): number {
  let escape = 1;
  for (const [lo, hi] of strata(T, k)) {
    let good = 0;
    for (let i = lo; i < hi; i++) if (honest(i)) good++;
    escape *= good / (hi - lo);
  }
  return 1 - escape;
}

/**
 * The steps the diffusion service's `DIFFUSION_CHEAT` computes honestly (containers/diffusion/src/service/cheat.ts):
 * "skip-steps" runs the UNet on step 0 only, "skip-steps:N" on every N-th step. Step i is right when its noise
 * prediction was computed from z_i; a reused one is wrong.
 */
export function cheatHonestSteps(cheat: string): (step: number) => boolean {
  const m = /^skip-steps(?::(\d+))?$/.exec(cheat);
  if (!m) throw new RangeError(`unknown cheat "${cheat}" (expected skip-steps or skip-steps:N)`);
  const every = m[1] === undefined ? Infinity : Number(m[1]);
  return (i) => i === 0 || (every !== Infinity && i % every === 0);
}

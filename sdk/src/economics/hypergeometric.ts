/**
 * Per-job detection probability of spot-checking a committed diffusion trajectory.
 *
 * A job has `T` denoising steps; a cheating node tampered with `m` of them; the challenge opens `k` steps and a
 * validator re-runs each. The job is caught when at least one opened step is tampered (we model a re-run as
 * catching every tampered step it opens; the tolerance band of a real re-run is a separate question).
 *
 * - Uniform sampling (k distinct steps uniformly without replacement), for any placement of the m steps:
 *       p(T, m, k) = 1 − C(T−m, k) / C(T, k)
 * - Stratified sampling (the protocol's challenge, docs/protocol.md §7: one uniform step from each stratum
 *   [⌊jT/k⌋, ⌊(j+1)T/k⌋), j = 0..k−1), for a placement with a_j tampered steps in stratum j of size s_j:
 *       p = 1 − Π_j (1 − a_j / s_j)
 *   The detection depends on the placement. The adversary's best placement (the verifier's WORST case) maximises
 *   Σ_j log(1 − a_j/s_j) subject to Σ_j a_j = m, 0 ≤ a_j ≤ s_j. Each term is concave in a_j, so the greedy
 *   that puts every next tampered step in the stratum with the most untampered steps left is optimal: the adversary
 *   SPREADS the tampering as evenly as the strata allow (water-filling), and detection reaches 1 only once
 *   m > T − k (some stratum is then fully tampered). Concentrating instead is the verifier's BEST case: filling the
 *   smallest stratum gives m / s_min, and 1 once m ≥ s_min.
 *   Spreading beats the uniform bound slightly: T=30, k=3, m=3 gives 1 − 0.9³ = 0.271 against the uniform 0.2796.
 *
 * All results are exact rationals (bigint) plus a float for reports.
 */
import {
  ChecksExceedStepsError,
  InvalidCountError,
  InvalidTamperedIndexError,
  TamperCountError,
} from "./errors.ts";
import { exact, ONE, rational, ZERO, type Exact } from "./rational.ts";

/** `T` steps in a job, `k` of them checked. */
export interface SpotCheck {
  /** Denoising steps in the job (T ≥ 1). */
  readonly T: number;
  /** Steps the challenge opens (1 ≤ k ≤ T). */
  readonly k: number;
}

/** A spot check of a job with `m` tampered steps. */
export interface TamperedSpotCheck extends SpotCheck {
  /** Tampered steps (0 ≤ m ≤ T). */
  readonly m: number;
}

/** One stratum `[lo, hi)` of the protocol's challenge (docs/protocol.md §7). */
export interface Stratum {
  readonly lo: number;
  readonly hi: number;
}

/** A placement-dependent detection probability with the tampered steps per stratum that attain it. */
export interface StratifiedDetection extends Exact {
  /** Tampered steps in each stratum (a_j); sums to m. */
  readonly perStratum: readonly number[];
}

/** Validates `T` and `k` (positive safe integers, k ≤ T). */
export function assertSpotCheck({ T, k }: SpotCheck): void {
  if (!Number.isSafeInteger(T) || T < 1) throw new InvalidCountError("T", T);
  if (!Number.isSafeInteger(k) || k < 1) throw new InvalidCountError("k", k);
  if (k > T) throw new ChecksExceedStepsError(k, T);
}

/** Validates `T`, `k` and `m` (an integer in [min, T]). */
export function assertTamperedSpotCheck(p: TamperedSpotCheck, min = 0): void {
  assertSpotCheck(p);
  if (!Number.isSafeInteger(p.m) || p.m < min || p.m > p.T) throw new TamperCountError(p.m, min, p.T);
}

/** The binomial coefficient C(n, r) exactly; 0 when r < 0 or r > n. */
export function binomial(n: number, r: number): bigint {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidCountError("n", n);
  if (!Number.isSafeInteger(r) || r < 0 || r > n) return 0n;
  r = Math.min(r, n - r);
  let c = 1n;
  // c stays integral: after step i it is C(n − r + i, i).
  for (let i = 1; i <= r; i++) c = (c * BigInt(n - r + i)) / BigInt(i);
  return c;
}

/** Exact per-job detection under uniform sampling without replacement: 1 − C(T−m, k)/C(T, k). */
export function uniformDetection(params: TamperedSpotCheck): Exact {
  assertTamperedSpotCheck(params);
  const { T, k, m } = params;
  // C(T−m, k)/C(T, k) = Π_{i<k} (T−m−i)/(T−i); zero once T − m < k.
  let num = 1n;
  let den = 1n;
  for (let i = 0; i < k; i++) {
    const top = T - m - i;
    if (top <= 0) return exact(ONE);
    num *= BigInt(top);
    den *= BigInt(T - i);
  }
  return exact(rational(den - num, den));
}

/**
 * Uniform detection for every m = 0..T at once (index m), in O(T + k) bigint operations. Uses
 * C(n−1, k) = C(n, k)·(n−k)/n, which is exact.
 */
export function uniformDetectionCurve(params: SpotCheck): Exact[] {
  assertSpotCheck(params);
  const { T, k } = params;
  const total = binomial(T, k);
  const out: Exact[] = [];
  let untouched = total; // C(T − m, k)
  for (let m = 0; m <= T; m++) {
    out.push(exact(rational(total - untouched, total)));
    const n = T - m;
    untouched = n > k ? (untouched * BigInt(n - k)) / BigInt(n) : 0n;
  }
  return out;
}

/** The protocol's challenge strata [⌊jT/k⌋, ⌊(j+1)T/k⌋), j = 0..k−1 (docs/protocol.md §7). */
export function strata(params: SpotCheck): Stratum[] {
  assertSpotCheck(params);
  const T = BigInt(params.T);
  const k = BigInt(params.k);
  const out: Stratum[] = [];
  for (let j = 0n; j < k; j++) out.push({ lo: Number((j * T) / k), hi: Number(((j + 1n) * T) / k) });
  return out;
}

function stratumSizes(params: SpotCheck): number[] {
  return strata(params).map(({ lo, hi }) => hi - lo);
}

/** 1 − Π_j (s_j − a_j)/s_j, exactly. */
function stratifiedFromCounts(sizes: readonly number[], counts: readonly number[]): StratifiedDetection {
  let num = 1n;
  let den = 1n;
  sizes.forEach((s, j) => {
    num *= BigInt(s - (counts[j] ?? 0));
    den *= BigInt(s);
  });
  return { ...exact(rational(den - num, den)), perStratum: [...counts] };
}

/**
 * Exact detection under the protocol's stratified challenge for an explicit set of tampered step indices
 * (distinct integers in [0, T)).
 */
export function stratifiedDetection(
  params: SpotCheck & { readonly tampered: readonly number[] },
): StratifiedDetection {
  const ss = strata(params);
  const { T, tampered } = params;
  const seen = new Set<number>();
  for (const i of tampered) {
    if (!Number.isSafeInteger(i) || i < 0 || i >= T) {
      throw new InvalidTamperedIndexError(`index ${String(i)} is not an integer in [0, ${T})`);
    }
    if (seen.has(i)) throw new InvalidTamperedIndexError(`index ${i} appears twice`);
    seen.add(i);
  }
  const counts = ss.map(() => 0);
  for (const i of seen) {
    // Strata are contiguous and ordered: binary search for the one holding i.
    let lo = 0;
    let hi = ss.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((ss[mid] as Stratum).lo <= i) lo = mid;
      else hi = mid - 1;
    }
    counts[lo] = (counts[lo] ?? 0) + 1;
  }
  return stratifiedFromCounts(
    ss.map(({ lo, hi }) => hi - lo),
    counts,
  );
}

/**
 * The verifier's worst case under stratified sampling: the least detection over every placement of m tampered
 * steps. Attained by water-filling (every next tampered step goes to the stratum with the most untampered steps
 * left; ties to the lowest stratum index), which is optimal because each log(1 − a_j/s_j) is concave in a_j.
 */
export function stratifiedWorstCase(params: TamperedSpotCheck): StratifiedDetection {
  assertTamperedSpotCheck(params);
  const sizes = stratumSizes(params);
  const { m } = params;
  // Final untampered counts are r_j = min(s_j, L) for the lowest level L with Σ max(0, s_j − L) ≤ m, then the
  // `extra` left over come off strata standing at level L.
  const removedAt = (L: number) => sizes.reduce((sum, s) => sum + Math.max(0, s - L), 0);
  let L = Math.max(...sizes);
  while (L > 0 && removedAt(L - 1) <= m) L--;
  let extra = m - removedAt(L);
  const counts = sizes.map((s) => {
    let r = Math.min(s, L);
    if (extra > 0 && r === L && L > 0) {
      r--;
      extra--;
    }
    return s - r;
  });
  return stratifiedFromCounts(sizes, counts);
}

/** `stratifiedWorstCase` for every m = 0..T at once (index m), incrementally. */
export function stratifiedWorstCaseCurve(params: SpotCheck): Exact[] {
  assertSpotCheck(params);
  const sizes = stratumSizes(params);
  const top = Math.max(...sizes);
  const atLevel = new Array<number>(top + 1).fill(0); // strata with r untampered steps left, by r
  let den = 1n;
  for (const s of sizes) {
    atLevel[s] = (atLevel[s] ?? 0) + 1;
    den *= BigInt(s);
  }
  let num = den; // Π r_j
  let level = top;
  const out: Exact[] = [exact(ZERO)];
  for (let m = 1; m <= params.T; m++) {
    while ((atLevel[level] ?? 0) === 0) level--;
    // Take one step from a stratum at the highest level: Π r_j gains a factor (level − 1)/level.
    atLevel[level] = (atLevel[level] ?? 0) - 1;
    atLevel[level - 1] = (atLevel[level - 1] ?? 0) + 1;
    num = (num / BigInt(level)) * BigInt(level - 1);
    out.push(exact(rational(den - num, den)));
  }
  return out;
}

/**
 * The verifier's best case under stratified sampling: the most detection over every placement of m tampered steps.
 * Fill the smallest strata first: 1 once m ≥ s_min, else m / s_min (union bound: p ≤ Σ a_j/s_j ≤ m/s_min).
 */
export function stratifiedBestCase(params: TamperedSpotCheck): StratifiedDetection {
  assertTamperedSpotCheck(params);
  const sizes = stratumSizes(params);
  const order = sizes.map((s, j) => ({ s, j })).sort((a, b) => a.s - b.s || a.j - b.j);
  const counts = sizes.map(() => 0);
  let left = params.m;
  for (const { s, j } of order) {
    const a = Math.min(s, left);
    counts[j] = a;
    left -= a;
  }
  return stratifiedFromCounts(sizes, counts);
}

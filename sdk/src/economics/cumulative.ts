/**
 * Detection accumulated over many jobs. Each job of a cheating node is caught independently with probability p
 * (fresh challenge randomness per job), so after n jobs the cheat has been caught at least once with probability
 *     P(n) = 1 − (1 − p)^n,
 * and `jobsUntil(p, target)` is the least n with P(n) ≥ target.
 */
import { InvalidCountError } from "./errors.ts";
import {
  compareRational,
  rational,
  rationalToNumber,
  toProbability,
  type Probability,
  type Rational,
} from "./rational.ts";

function assertJobs(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidCountError("n", n);
}

/** 1 − (1 − p)^n as a float, accurate also for tiny p (log1p/expm1). */
export function cumulativeDetection(p: Probability, n: number): number {
  assertJobs(n);
  const pr = rationalToNumber(toProbability(p, "p"));
  if (n === 0) return 0;
  if (pr === 1) return 1;
  return -Math.expm1(n * Math.log1p(-pr));
}

/** 1 − (1 − p)^n exactly. The ratio has about n·log2(den) bits, so keep n modest (thousands). */
export function cumulativeDetectionExact(p: Probability, n: number): Rational {
  assertJobs(n);
  const r = toProbability(p, "p");
  const missDen = r.den ** BigInt(n);
  return rational(missDen - (r.den - r.num) ** BigInt(n), missDen);
}

/** Beyond this many jobs `jobsUntil` trusts the float estimate instead of confirming it with exact powers. */
const EXACT_CHECK_LIMIT = 10_000;

/**
 * The least number of jobs n with 1 − (1 − p)^n ≥ target; `Infinity` when no n reaches it (p = 0, or target = 1
 * with p < 1). target ∈ (0, 1]. The answer is exact (bigint powers) when it is at most 10,000 jobs; above that the
 * float estimate is returned, which can be off by one only when (1 − p)^n lands within rounding of 1 − target.
 */
export function jobsUntil(p: Probability, target: Probability): number {
  const pr = toProbability(p, "p");
  const t = toProbability(target, "target", { allowZero: false });
  if (pr.num === pr.den) return 1;
  if (pr.num === 0n || t.num === t.den) return Infinity;
  // (1 − p)^n ≤ 1 − target ⇔ n ≥ log(1 − target) / log(1 − p).
  const estimate = Math.max(
    1,
    Math.ceil(Math.log1p(-rationalToNumber(t)) / Math.log1p(-rationalToNumber(pr))),
  );
  if (!Number.isFinite(estimate) || estimate > EXACT_CHECK_LIMIT) return estimate;
  const reached = (n: number) => n >= 1 && compareRational(cumulativeDetectionExact(pr, n), t) >= 0;
  let n = estimate;
  while (!reached(n)) n++;
  while (reached(n - 1)) n--;
  return n;
}

/**
 * The interval rule, mirrored from contracts/libraries/Intervals.sol: interval n (1-based) covers
 * [activeAt + (n-1)·period, activeAt + n·period); a one-shot subscription (period 0) has only interval 1.
 * Times are unix seconds.
 */
export function currentInterval(activeAt: number, period: number, timestamp: number): number {
  if (timestamp < activeAt) return 0;
  if (period === 0) return 1;
  return Math.floor((timestamp - activeAt) / period) + 1;
}

/** Start of interval `n` in unix seconds. */
export function intervalStart(activeAt: number, period: number, n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`interval must be a positive integer, got ${n}`);
  return activeAt + (n - 1) * period;
}

/**
 * Explicit float32 arithmetic. Every helper rounds its result to float32 (`Math.fround`, IEEE round-to-nearest-even),
 * so a chain of them gives the same bits as the same chain of float32 operations on any IEEE 754 machine. JS numbers
 * are float64; a float64 sum, difference, product or quotient of two float32 values rounded once to float32 equals
 * the correctly rounded float32 operation (53 ≥ 2·24 + 2), and so does a float64 square root (same bound).
 */
export const f32 = Math.fround;

/** Correctly rounded float32 square root of a float32 value. */
export function sqrt32(x: number): number {
  return Math.fround(Math.sqrt(x));
}

/** Number of elements of a shape (a product of positive integers). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

import { InvalidProbabilityError } from "./errors.ts";

/** An exact non-negative or negative ratio `num / den` of bigints, always reduced with `den > 0`. */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

/** A probability as an exact ratio, or as a float read as its shortest decimal form (`0.3` is exactly 3/10). */
export type Probability = Rational | number;

/** A probability both exactly and as a float (for reports). */
export interface Exact {
  readonly exact: Rational;
  readonly value: number;
}

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** `num / den` reduced to lowest terms with a positive denominator. */
export function rational(num: bigint, den: bigint = 1n): Rational {
  if (den === 0n) throw new RangeError("rational: zero denominator");
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const g = gcd(num, den);
  return g > 1n ? { num: num / g, den: den / g } : { num, den };
}

export const ZERO: Rational = { num: 0n, den: 1n };
export const ONE: Rational = { num: 1n, den: 1n };

/** Sign of `a − b` (−1, 0, 1), by cross-multiplication (exact). */
export function compareRational(a: Rational, b: Rational): -1 | 0 | 1 {
  const l = a.num * b.den;
  const r = b.num * a.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

/** Largest integer ≤ `a` (floor division; bigint `/` truncates toward zero). */
export function floorRational(a: Rational): bigint {
  const q = a.num / a.den;
  return a.num < 0n && q * a.den !== a.num ? q - 1n : q;
}

/** Smallest integer ≥ `a`. */
export function ceilRational(a: Rational): bigint {
  return -floorRational({ num: -a.num, den: a.den });
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/**
 * The float nearest (to within one unit in the last place) to `a`, also when `num` and `den` are far beyond 2^1024.
 */
export function rationalToNumber(a: Rational): number {
  if (a.num === 0n) return 0;
  const neg = a.num < 0n;
  const n = neg ? -a.num : a.num;
  // Scale so that the integer quotient carries 64 significant bits, then undo the scaling in floating point.
  const shift = 64 - (bitLength(n) - bitLength(a.den));
  const q = shift >= 0 ? (n << BigInt(shift)) / a.den : n / (a.den << BigInt(-shift));
  let v = Number(q);
  // Apply 2^-shift in two halves so neither factor under- or overflows on its own.
  const half = Math.trunc(shift / 2);
  v = v * 2 ** -half * 2 ** -(shift - half);
  return neg ? -v : v;
}

/** `{ exact, value }` for a rational. */
export function exact(r: Rational): Exact {
  return { exact: r, value: rationalToNumber(r) };
}

/**
 * The exact ratio a float denotes when read as its shortest round-trip decimal (`String(x)`): `0.1` → 1/10,
 * `2.5e-7` → 1/4000000. So a probability typed as `0.3` is 3/10, not the binary float nearest to it.
 */
export function decimalToRational(x: number): Rational {
  if (!Number.isFinite(x)) throw new RangeError(`not a finite number: ${x}`);
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(String(x));
  if (m === null) throw new RangeError(`cannot read ${x} as a decimal`);
  const [, sign = "", int = "0", frac = "", expText = "0"] = m;
  let num = BigInt(int + frac);
  let den = 10n ** BigInt(frac.length);
  const e = Number(expText);
  if (e >= 0) num *= 10n ** BigInt(e);
  else den *= 10n ** BigInt(-e);
  return rational(sign === "-" ? -num : num, den);
}

function isRational(p: unknown): p is Rational {
  return (
    typeof p === "object" &&
    p !== null &&
    typeof (p as Rational).num === "bigint" &&
    typeof (p as Rational).den === "bigint"
  );
}

/**
 * Reads a probability (exact ratio or float) and checks it lies in [0, 1], or (0, 1] / [0, 1) / (0, 1) when the
 * open ends are asked for. Throws `InvalidProbabilityError` naming `parameter`.
 */
export function toProbability(
  p: Probability,
  parameter: string,
  { allowZero = true, allowOne = true }: { allowZero?: boolean; allowOne?: boolean } = {},
): Rational {
  const range = `${allowZero ? "[" : "("}0, 1${allowOne ? "]" : ")"}`;
  let r: Rational;
  if (typeof p === "number") {
    if (!Number.isFinite(p)) throw new InvalidProbabilityError(parameter, p, range);
    r = decimalToRational(p);
  } else if (isRational(p) && p.den !== 0n) {
    r = rational(p.num, p.den);
  } else {
    throw new InvalidProbabilityError(parameter, isRational(p) ? `${p.num}/${p.den}` : p, range);
  }
  const lowOk = allowZero ? r.num >= 0n : r.num > 0n;
  const highOk = allowOne ? r.num <= r.den : r.num < r.den;
  if (!lowOk || !highOk) throw new InvalidProbabilityError(parameter, `${r.num}/${r.den}`, range);
  return r;
}

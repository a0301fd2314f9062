/**
 * IEEE 754 binary16 conversions on raw bits (a `Uint16Array` holds float16 tensors, §3). The float32 → float16
 * conversion rounds to nearest, ties to even, like a hardware `cvt` from float32.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bits nearest to `Math.fround(x)` (round-to-nearest-even; overflow → ±Inf; NaN → a quiet NaN). */
export function float32ToFloat16Bits(x: number): number {
  f32[0] = x;
  return float32BitsToFloat16Bits(u32[0]!);
}

/** The float16 bits nearest to the float32 with raw bits `bits` (round-to-nearest-even). */
export function float32BitsToFloat16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7f_ffff;
  if (exp === 0xff) {
    // Inf stays Inf; NaN keeps its top payload bits and is forced quiet so it cannot turn into Inf.
    return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  }
  // Unbiased exponent e; float16 normals have e in [-14, 15].
  const e = exp - 127;
  if (e > 15) return sign | 0x7c00;
  if (e >= -14) {
    // Normal: keep 10 of the 23 mantissa bits, round the 13 dropped bits to nearest even. A carry out of the
    // mantissa correctly bumps the exponent (and 65520 and above becomes Inf, 0x7c00).
    const half = sign | ((e + 15) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    return rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1) ? half + 1 : half;
  }
  if (e < -25) return sign; // below half the smallest subnormal (2^-25): rounds to ±0 (exactly 2^-25 is a tie → 0)
  // Subnormal: value = (1.mant) · 2^e = m · 2^-24 with m = full24 · 2^(e + 24 - 23) = full24 >> (-1 - e).
  const full = mant | 0x80_0000;
  const shift = -1 - e; // in [14, 24]
  const m = full >>> shift;
  const rest = full & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  const rounded = rest > halfway || (rest === halfway && (m & 1) === 1) ? m + 1 : m;
  return sign | rounded; // a carry into bit 10 yields the smallest normal, which is the right encoding
}

/** The exact value of float16 bits `h` (every float16 is exactly representable in float32 and float64). */
export function float16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

import { createCipheriv, createHash } from "node:crypto";
import { hexToBytes, type Hex } from "viem";
import { bytes32 } from "./check.ts";
import { InvalidFieldError } from "./errors.ts";
import { float32ToFloat16Bits } from "./float16.ts";
import { PRNG_TAG } from "./tags.ts";
import type { Dtype, TensorData } from "./tensor.ts";

/** Keystream bytes per latent element: twelve little-endian uint32 words (§6). */
export const PRNG_BYTES_PER_ELEMENT = 48;
const CHUNK_ELEMENTS = 1 << 16;
const TWO_POW_32 = 4294967296;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The AES-256 key of a job's latent PRNG: `sha256(PRNG_TAG ‖ seed)` over the two 32-byte values. */
export function prngKey(seed: Hex): Uint8Array {
  return new Uint8Array(
    createHash("sha256")
      .update(hexToBytes(PRNG_TAG))
      .update(hexToBytes(bytes32("seed", seed)))
      .digest(),
  );
}

/**
 * The initial latent `z_0` of §6: `count` elements in C order, element `e` =
 * `float32(Σ_{m<12} w_{12e+m} / 2^32 − 6)`, `w_j` the `j`-th little-endian uint32 of the AES-256-CTR keystream
 * (key `prngKey(seed)`, zero initial counter block); for float16, that float32 rounded to nearest-even half bits.
 */
export function initialLatent(seed: Hex, count: number, dtype: "float32"): Float32Array;
export function initialLatent(seed: Hex, count: number, dtype: "float16"): Uint16Array;
export function initialLatent(seed: Hex, count: number, dtype: Dtype): TensorData;
export function initialLatent(seed: Hex, count: number, dtype: Dtype): TensorData {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new InvalidFieldError("count", `must be a non-negative integer, got ${count}`);
  }
  if (dtype !== "float32" && dtype !== "float16") {
    throw new InvalidFieldError("dtype", `must be "float32" or "float16", got ${String(dtype)}`);
  }
  const cipher = createCipheriv("aes-256-ctr", prngKey(seed), new Uint8Array(16));
  const out = dtype === "float32" ? new Float32Array(count) : new Uint16Array(count);
  const zeros = new Uint8Array(Math.min(count, CHUNK_ELEMENTS) * PRNG_BYTES_PER_ELEMENT);
  // An aligned copy of each keystream chunk, read as uint32 words (through DataView on big-endian hosts).
  const chunk = new Uint8Array(zeros.length);
  const words = new Uint32Array(chunk.buffer);
  const view = new DataView(chunk.buffer);
  for (let start = 0; start < count; start += CHUNK_ELEMENTS) {
    const n = Math.min(CHUNK_ELEMENTS, count - start);
    chunk.set(cipher.update(zeros.subarray(0, n * PRNG_BYTES_PER_ELEMENT)));
    for (let e = 0; e < n; e++) {
      let sum = 0; // < 12 · 2^32 < 2^36: exact in float64
      const base = 12 * e;
      if (LITTLE_ENDIAN) {
        for (let m = 0; m < 12; m++) sum += words[base + m]!;
      } else {
        for (let m = 0; m < 12; m++) sum += view.getUint32(4 * (base + m), true);
      }
      // The division by 2^32 and the subtraction are exact in float64; fround is the one rounding (to nearest even).
      const value = Math.fround(sum / TWO_POW_32 - 6);
      out[start + e] = dtype === "float32" ? value : float32ToFloat16Bits(value);
    }
  }
  cipher.final();
  return out;
}

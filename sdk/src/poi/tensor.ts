import { createHash } from "node:crypto";
import { bytesToHex, type Hex } from "viem";
import { TensorShapeError } from "./errors.ts";

/** Element types of latents and noise predictions; the numeric code is the `u8(dtype)` of the params hash (§4). */
export type Dtype = "float32" | "float16";
export const DTYPE_CODE: Readonly<Record<Dtype, number>> = { float32: 0, float16: 1 };

/**
 * A tensor's elements in C order: float32 values, or float16 as raw IEEE 754 half bits. The array type is the dtype.
 */
export type TensorData = Float32Array | Uint16Array;

export function dtypeOf(data: TensorData): Dtype {
  return data instanceof Float32Array ? "float32" : "float16";
}

export function bytesPerElement(dtype: Dtype): number {
  return dtype === "float32" ? 4 : 2;
}

/** The number of elements of a tensor of shape `shape` (all dimensions positive integers; `[]` is a scalar). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const [i, d] of shape.entries()) {
    if (!Number.isSafeInteger(d) || d <= 0)
      throw new TensorShapeError(`shape[${i}] must be a positive integer, got ${d}`);
    n *= d;
    if (!Number.isSafeInteger(n))
      throw new TensorShapeError(`shape ${JSON.stringify(shape)} has too many elements`);
  }
  return n;
}

/** Throws `TensorShapeError` unless `data` holds exactly `elementCount(shape)` elements. */
export function assertShape(data: TensorData, shape: readonly number[]): void {
  const n = elementCount(shape);
  if (data.length !== n) {
    throw new TensorShapeError(
      `tensor has ${data.length} elements, shape ${JSON.stringify(shape)} needs ${n}`,
    );
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Canonical bytes of a tensor (§3): each element little-endian, C order, no header, whatever the platform's byte
 * order. The bits are copied as they are (NaN payloads included), never through a float conversion.
 */
export function tensorBytes(data: TensorData): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return out;
  }
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) {
    const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
    for (let i = 0; i < words.length; i++) view.setUint32(4 * i, words[i]!, true);
  } else {
    for (let i = 0; i < data.length; i++) view.setUint16(2 * i, data[i]!, true);
  }
  return out;
}

/** `sha256` of raw bytes, as 0x-hex. */
export function sha256Hex(bytes: Uint8Array): Hex {
  return bytesToHex(createHash("sha256").update(bytes).digest());
}

/** The digest of a tensor (§3): `sha256` of its canonical bytes. Pass `shape` to check the element count too. */
export function tensorDigest(data: TensorData, shape?: readonly number[]): Hex {
  if (shape !== undefined) assertShape(data, shape);
  return sha256Hex(tensorBytes(data));
}

/** Reads canonical little-endian bytes back into a tensor of `dtype` (the inverse of `tensorBytes`). */
export function tensorFromBytes(bytes: Uint8Array, dtype: Dtype): TensorData {
  const size = bytesPerElement(dtype);
  if (bytes.byteLength % size !== 0) {
    throw new TensorShapeError(`${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  }
  const n = bytes.byteLength / size;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === "float32") {
    const out = new Float32Array(n);
    const words = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) words[i] = view.getUint32(4 * i, true);
    return out;
  }
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getUint16(2 * i, true);
  return out;
}

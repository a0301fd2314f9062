// Tensor element types the service accepts and returns: onnxruntime-node's numeric types. Every tensor travels as
// the little-endian bytes of its elements in row-major order (the typed array's own memory on x64 and arm64).
// Strings and 4-bit types are not supported.

export const DTYPES = [
  "float32",
  "float64",
  "float16",
  "int8",
  "uint8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "uint64",
  "bool",
] as const;
export type DType = (typeof DTYPES)[number];

/** The typed array that holds each dtype (float16 as its raw IEEE-754 half bits, bool as 0/1 bytes). */
export interface TypedArrayMap {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  int64: BigInt64Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
}
export type TensorData = TypedArrayMap[DType];

interface DTypeInfo {
  /** Bytes per element. */
  bytes: number;
  /** A typed array over `buffer` (its byteOffset must be a multiple of `bytes`). */
  view(buffer: ArrayBuffer, byteOffset: number, length: number): TensorData;
  /** A typed array of `length` zeros. */
  alloc(length: number): TensorData;
  /** Integer range accepted from JSON numbers; undefined for floating point. */
  range?: readonly [bigint, bigint];
}

function ints(bits: number, signed: boolean): readonly [bigint, bigint] {
  const b = BigInt(bits);
  return signed ? [-(1n << (b - 1n)), (1n << (b - 1n)) - 1n] : [0n, (1n << b) - 1n];
}

export const DTYPE_INFO: Readonly<Record<DType, DTypeInfo>> = {
  float32: { bytes: 4, view: (b, o, n) => new Float32Array(b, o, n), alloc: (n) => new Float32Array(n) },
  float64: { bytes: 8, view: (b, o, n) => new Float64Array(b, o, n), alloc: (n) => new Float64Array(n) },
  float16: { bytes: 2, view: (b, o, n) => new Uint16Array(b, o, n), alloc: (n) => new Uint16Array(n) },
  int8: {
    bytes: 1,
    view: (b, o, n) => new Int8Array(b, o, n),
    alloc: (n) => new Int8Array(n),
    range: ints(8, true),
  },
  uint8: {
    bytes: 1,
    view: (b, o, n) => new Uint8Array(b, o, n),
    alloc: (n) => new Uint8Array(n),
    range: ints(8, false),
  },
  int16: {
    bytes: 2,
    view: (b, o, n) => new Int16Array(b, o, n),
    alloc: (n) => new Int16Array(n),
    range: ints(16, true),
  },
  uint16: {
    bytes: 2,
    view: (b, o, n) => new Uint16Array(b, o, n),
    alloc: (n) => new Uint16Array(n),
    range: ints(16, false),
  },
  int32: {
    bytes: 4,
    view: (b, o, n) => new Int32Array(b, o, n),
    alloc: (n) => new Int32Array(n),
    range: ints(32, true),
  },
  uint32: {
    bytes: 4,
    view: (b, o, n) => new Uint32Array(b, o, n),
    alloc: (n) => new Uint32Array(n),
    range: ints(32, false),
  },
  int64: {
    bytes: 8,
    view: (b, o, n) => new BigInt64Array(b, o, n),
    alloc: (n) => new BigInt64Array(n),
    range: ints(64, true),
  },
  uint64: {
    bytes: 8,
    view: (b, o, n) => new BigUint64Array(b, o, n),
    alloc: (n) => new BigUint64Array(n),
    range: ints(64, false),
  },
  bool: {
    bytes: 1,
    view: (b, o, n) => new Uint8Array(b, o, n),
    alloc: (n) => new Uint8Array(n),
    range: [0n, 1n],
  },
};

export function isDType(v: unknown): v is DType {
  return typeof v === "string" && (DTYPES as readonly string[]).includes(v);
}

/** The little-endian bytes of a tensor's elements, without copying. */
export function tensorBytes(data: TensorData): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

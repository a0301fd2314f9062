// Tensors on the wire and their checks against the input spec.
//
//   {"dtype": "float32", "dims": [1, 3, 64, 64], "data": "<base64 of the little-endian element bytes>"}
//
// `data` may also be a (possibly nested) JSON array of numbers, for convenience: integers must be in the dtype's
// range, bools are true/false or 0/1, int64/uint64 also take decimal strings (beyond 2^53), float16 needs base64.
import type { Dim, TensorSpec } from "./config.ts";
import { DTYPE_INFO, DTYPES, isDType, tensorBytes, type DType, type TensorData } from "./dtypes.ts";
import { BadRequestError } from "./errors.ts";

export interface Tensor {
  dtype: DType;
  dims: number[];
  data: TensorData;
}

/** A tensor as JSON: base64 of its little-endian bytes. */
export interface WireTensor {
  dtype: DType;
  dims: number[];
  data: string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function bad(where: string, message: string): never {
  throw new BadRequestError(`${where}: ${message}`);
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function fromBase64(where: string, text: string, dtype: DType, count: number): TensorData {
  if (!BASE64.test(text)) bad(`${where}.data`, "is not valid base64 (standard alphabet, padded)");
  const bytes = Buffer.from(text, "base64");
  const info = DTYPE_INFO[dtype];
  const want = count * info.bytes;
  if (bytes.length !== want) {
    bad(
      `${where}.data`,
      `has ${bytes.length} bytes; dims × ${dtype} need ${count} × ${info.bytes} = ${want}`,
    );
  }
  // A fresh, aligned buffer: Buffer.from(base64) may sit at any offset of a shared pool.
  const out = info.alloc(count);
  tensorBytes(out).set(bytes);
  return out;
}

function toBigInt(where: string, v: unknown): bigint {
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === "string" && /^-?\d+$/.test(v)) return BigInt(v);
  return bad(where, "must be an integer (a safe JSON integer, or a decimal string)");
}

function fromArray(where: string, values: unknown[], dtype: DType, count: number): TensorData {
  const flat = values.flat(Infinity) as unknown[];
  if (flat.length !== count) {
    bad(`${where}.data`, `has ${flat.length} elements; dims need ${count}`);
  }
  if (dtype === "float16") bad(`${where}.data`, "float16 needs base64 data (its raw half-precision bits)");
  const info = DTYPE_INFO[dtype];
  const out = info.alloc(count);
  const range = info.range;
  for (let i = 0; i < count; i++) {
    const v = flat[i];
    const at = `${where}.data[${i}]`;
    if (!range) {
      if (typeof v !== "number") bad(at, "must be a number");
      (out as Float32Array | Float64Array)[i] = v;
      continue;
    }
    const n = dtype === "bool" && typeof v === "boolean" ? (v ? 1n : 0n) : toBigInt(at, v);
    if (n < range[0] || n > range[1]) bad(at, `${n} is outside ${dtype}'s range [${range[0]}, ${range[1]}]`);
    if (out instanceof BigInt64Array || out instanceof BigUint64Array) out[i] = n;
    else (out as Exclude<TensorData, BigInt64Array | BigUint64Array>)[i] = Number(n);
  }
  return out;
}

/** Parses one request tensor; `where` names it in errors (e.g. "inputs.x"). */
export function decodeTensor(where: string, raw: unknown): Tensor {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    bad(where, "must be an object {dtype, dims, data}");
  }
  const t = raw as Record<string, unknown>;
  for (const k of Object.keys(t)) {
    if (k !== "dtype" && k !== "dims" && k !== "data")
      bad(where, `unknown key "${k}" (expected dtype, dims, data)`);
  }
  if (!isDType(t.dtype)) bad(`${where}.dtype`, `must be one of ${DTYPES.join(", ")}`);
  const dtype = t.dtype;
  if (!Array.isArray(t.dims) || !t.dims.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    bad(`${where}.dims`, "must be an array of sizes (integers >= 0)");
  }
  const dims = t.dims as number[];
  const count = elementCount(dims);
  if (!Number.isSafeInteger(count)) bad(`${where}.dims`, "describe too many elements");
  let data: TensorData;
  if (typeof t.data === "string") data = fromBase64(where, t.data, dtype, count);
  else if (Array.isArray(t.data)) data = fromArray(where, t.data, dtype, count);
  else bad(`${where}.data`, "must be a base64 string or an array of numbers");
  return { dtype, dims, data };
}

function describeShape(shape: readonly Dim[]): string {
  return `[${shape.map((d) => (d === null ? "?" : typeof d === "string" ? d : String(d))).join(", ")}]`;
}

/**
 * Checks the request's tensors against the spec: every input present, none unknown, dtype and rank as declared,
 * fixed sizes equal, and a named dimension the same size wherever it appears. Returns them in spec order.
 */
export function checkInputs(inputs: ReadonlyMap<string, Tensor>, specs: readonly TensorSpec[]): Tensor[] {
  const known = new Set(specs.map((s) => s.name));
  for (const name of inputs.keys()) {
    if (!known.has(name))
      bad(`inputs.${name}`, `is not an input of this model (inputs: ${[...known].join(", ")})`);
  }
  const named = new Map<string, { size: number; where: string }>();
  return specs.map((spec) => {
    const where = `inputs.${spec.name}`;
    const t = inputs.get(spec.name);
    if (!t) bad(where, `is missing (expected ${spec.dtype} ${describeShape(spec.shape)})`);
    if (t.dtype !== spec.dtype) bad(`${where}.dtype`, `is ${t.dtype}; the model takes ${spec.dtype}`);
    if (t.dims.length !== spec.shape.length) {
      bad(
        `${where}.dims`,
        `has rank ${t.dims.length}; the model takes rank ${spec.shape.length} ${describeShape(spec.shape)}`,
      );
    }
    spec.shape.forEach((d, i) => {
      const size = t.dims[i] as number;
      if (typeof d === "number" && size !== d) {
        bad(`${where}.dims[${i}]`, `is ${size}; the model takes ${d} ${describeShape(spec.shape)}`);
      }
      if (typeof d === "string") {
        const seen = named.get(d);
        if (seen && seen.size !== size) {
          bad(`${where}.dims[${i}]`, `is ${size}, but dimension "${d}" is ${seen.size} at ${seen.where}`);
        }
        named.set(d, { size, where: `${where}.dims[${i}]` });
      }
    });
    return t;
  });
}

/** A tensor for the reply: base64 of its little-endian bytes. */
export function encodeTensor(t: Tensor): WireTensor {
  return { dtype: t.dtype, dims: [...t.dims], data: tensorBytes(t.data).toString("base64") };
}

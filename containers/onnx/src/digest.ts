// The digest that goes on-chain: SHA-256 (not keccak256: node:crypto has it, so the container needs no
// dependency, and Solidity can recompute it with the sha256 precompile) of a canonical encoding of named tensors:
//
//   "INFERNET-ONNX-V1"                  16 ASCII bytes (what this is, and its version)
//   u32 LE  number of tensors
//   for each tensor, in order (outputs: the configured order; inputs: the spec's order):
//     u32 LE  byte length of the name, then the name (UTF-8)
//     u32 LE  byte length of the dtype, then the dtype (ASCII, e.g. "float32")
//     u32 LE  rank, then each dimension as u64 LE
//     u64 LE  byte length of the data, then the data (the little-endian element bytes, row-major)
//
// The off-chain reply carries the same tensors as base64, so anyone can recompute the digest from it.
import { createHash } from "node:crypto";
import { tensorBytes } from "./dtypes.ts";
import type { Tensor } from "./tensor.ts";

export const CANONICAL_MAGIC = "INFERNET-ONNX-V1";

export interface NamedTensor {
  name: string;
  tensor: Tensor;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

function lengthPrefixed(text: string): Buffer[] {
  const bytes = Buffer.from(text, "utf8");
  return [u32(bytes.length), bytes];
}

/** The canonical encoding, as the chunks that make it up (hashed without joining them). */
export function canonicalChunks(tensors: readonly NamedTensor[]): Buffer[] {
  const chunks: Buffer[] = [Buffer.from(CANONICAL_MAGIC, "ascii"), u32(tensors.length)];
  for (const { name, tensor } of tensors) {
    const data = tensorBytes(tensor.data);
    chunks.push(...lengthPrefixed(name), ...lengthPrefixed(tensor.dtype), u32(tensor.dims.length));
    for (const d of tensor.dims) chunks.push(u64(d));
    chunks.push(u64(data.length), data);
  }
  return chunks;
}

/** SHA-256 of the canonical encoding, as hex without 0x. */
export function canonicalDigest(tensors: readonly NamedTensor[]): string {
  const h = createHash("sha256");
  for (const c of canonicalChunks(tensors)) h.update(c);
  return h.digest("hex");
}

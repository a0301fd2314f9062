import { isAddress, isHex, type Address, type Hex } from "viem";
import { InvalidFieldError } from "./errors.ts";

export const MAX_U32 = 0xffff_ffff;
const MAX_U64 = (1n << 64n) - 1n;
const MAX_U256 = (1n << 256n) - 1n;

/** Throws unless `value` is an integer in [0, 2^32 − 1]; returns it. */
export function u32(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_U32) {
    throw new InvalidFieldError(field, `must be an integer in [0, 2^32 - 1], got ${String(value)}`);
  }
  return value;
}

/** Throws unless `value` is an integer in [0, 2^64 − 1]; returns it as a bigint. */
export function u64(field: string, value: bigint | number): bigint {
  const v = toBigInt(field, value);
  if (v < 0n || v > MAX_U64) throw new InvalidFieldError(field, `must be in [0, 2^64 - 1], got ${v}`);
  return v;
}

/** Throws unless `value` is an integer in [0, 2^256 − 1]; returns it as a bigint. */
export function u256(field: string, value: bigint | number): bigint {
  const v = toBigInt(field, value);
  if (v < 0n || v > MAX_U256) throw new InvalidFieldError(field, `must be in [0, 2^256 - 1], got ${v}`);
  return v;
}

function toBigInt(field: string, value: bigint | number): bigint {
  if (typeof value === "bigint") return value;
  if (!Number.isSafeInteger(value))
    throw new InvalidFieldError(field, `must be an integer, got ${String(value)}`);
  return BigInt(value);
}

/** Throws unless `value` is 0x-prefixed hex of exactly 32 bytes; returns it lower-cased. */
export function bytes32(field: string, value: Hex): Hex {
  if (typeof value !== "string" || value.length !== 66 || !isHex(value, { strict: true })) {
    throw new InvalidFieldError(field, `must be 32 bytes of 0x-prefixed hex, got ${String(value)}`);
  }
  return value.toLowerCase() as Hex;
}

/** Throws unless `value` is a 20-byte address (any case; the checksum is not enforced); returns it lower-cased. */
export function address(field: string, value: Address): Address {
  if (typeof value !== "string" || !isAddress(value, { strict: false })) {
    throw new InvalidFieldError(field, `must be an address, got ${String(value)}`);
  }
  return value.toLowerCase() as Address;
}

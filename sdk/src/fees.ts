/** Basis points in one whole. */
export const BPS = 10_000n;

/** Hard cap on the protocol fee enforced by the Coordinator. */
export const MAX_FEE_BPS = 1_000;

/**
 * The protocol fee split, mirrored from contracts/libraries/Fees.sol: the fee is rounded down so the payee is never
 * short-changed. Amounts in the token's smallest unit.
 */
export function splitFee(amount: bigint, feeBps: number): { fee: bigint; net: bigint } {
  if (amount < 0n) throw new RangeError("amount must not be negative");
  if (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > MAX_FEE_BPS) {
    throw new RangeError(`feeBps must be an integer in [0, ${MAX_FEE_BPS}], got ${feeBps}`);
  }
  const fee = (amount * BigInt(feeBps)) / BPS;
  return { fee, net: amount - fee };
}

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

/** Largest quality score, and a full pay share, in basis points. */
export const MAX_QUALITY_BPS = 10_000;

function assertBps(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min || value > MAX_QUALITY_BPS) {
    throw new RangeError(`${name} must be an integer in [${min}, ${MAX_QUALITY_BPS}], got ${value}`);
  }
}

/**
 * The share of a passing Proof-of-Inference job's payment released to the node, in basis points, mirrored from
 * `ProofOfInference._payBps`: `floor + (10,000 − floor) × quality / 10,000`, rounded down. A perfect score pays
 * everything, a zero score the floor (`qualityFloorBps`, 1..10,000).
 */
export function qualityPayBps(qualityFloorBps: number, quality: number): number {
  assertBps("qualityFloorBps", qualityFloorBps, 1);
  assertBps("quality", quality, 0);
  return qualityFloorBps + Math.trunc(((MAX_QUALITY_BPS - qualityFloorBps) * quality) / MAX_QUALITY_BPS);
}

/**
 * How `Coordinator.settle` splits a held payment of `amount` at `payBps`: `paid` = amount × payBps / 10,000 (rounded
 * down) leaves the escrow, the protocol fee is taken from that part only (`splitFee`), and `refund` = amount − paid
 * is unlocked for the subscription. `payBps` 0 refuses the delivery and refunds everything.
 */
export function splitSettlement(
  amount: bigint,
  payBps: number,
  feeBps: number,
): { paid: bigint; fee: bigint; net: bigint; refund: bigint } {
  if (amount < 0n) throw new RangeError("amount must not be negative");
  assertBps("payBps", payBps, 0);
  const paid = (amount * BigInt(payBps)) / BPS;
  return { paid, ...splitFee(paid, feeBps), refund: amount - paid };
}

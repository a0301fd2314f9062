import { encodeAbiParameters, hexToBigInt, keccak256, type Address, type Hex } from "viem";
import { address, bytes32, u32 } from "./check.ts";
import { InvalidChallengeParamsError, InvalidFieldError } from "./errors.ts";
import { CHALLENGE_TAG } from "./tags.ts";

export interface ChallengeParams {
  jobId: Hex;
  node: Address;
  /** The committed tree root. */
  root: Hex;
  /** `R_c`, the value of the randomness round reserved after the commit. */
  randomness: Hex;
  /** Number of denoising steps. */
  T: number;
  /** Number of challenged steps, `1 ≤ k ≤ T`. */
  k: number;
}

/**
 * The challenged steps of §7, one per stratum `[⌊jT/k⌋, ⌊(j+1)T/k⌋)`: `c_j = lo + uint256(keccak(enc(CHALLENGE_TAG,
 * jobId, node, root, R_c, u32(j)))) mod (hi − lo)`. Strictly increasing, so distinct.
 */
export function challengeIndices(p: ChallengeParams): number[] {
  const T = u32("T", p.T);
  const k = u32("k", p.k);
  if (k < 1 || k > T)
    throw new InvalidChallengeParamsError(`k must satisfy 1 <= k <= T, got k = ${k}, T = ${T}`);
  const jobId = bytes32("jobId", p.jobId);
  const node = address("node", p.node);
  const root = bytes32("root", p.root);
  const randomness = bytes32("randomness", p.randomness);
  const out: number[] = [];
  const bigT = BigInt(T);
  const bigK = BigInt(k);
  for (let j = 0; j < k; j++) {
    // j·T can exceed 2^53: stratum bounds in exact integer arithmetic.
    const lo = (BigInt(j) * bigT) / bigK;
    const hi = (BigInt(j + 1) * bigT) / bigK;
    const h = hexToBigInt(
      keccak256(
        encodeAbiParameters(
          [
            { type: "bytes32" },
            { type: "bytes32" },
            { type: "address" },
            { type: "bytes32" },
            { type: "bytes32" },
            { type: "uint32" },
          ],
          [CHALLENGE_TAG, jobId, node, root, randomness, j],
        ),
      ),
    );
    out.push(Number(lo + (h % (hi - lo))));
  }
  return out;
}

/**
 * The leaves a reveal opens (§7): `{0, T, T + 1} ∪ {c, c + 1 : c challenged}`, sorted and de-duplicated; every
 * challenged `c` must be a step (`0 ≤ c < T`).
 */
export function openedIndices(challenged: readonly number[], T: number): number[] {
  u32("T", T);
  if (T < 1) throw new InvalidFieldError("T", "must be at least 1");
  const set = new Set<number>([0, T, T + 1]);
  for (const [j, c] of challenged.entries()) {
    if (!Number.isSafeInteger(c) || c < 0 || c >= T) {
      throw new InvalidFieldError(`challenged[${j}]`, `must be a step index in [0, ${T}), got ${c}`);
    }
    set.add(c);
    set.add(c + 1);
  }
  return [...set].sort((a, b) => a - b);
}

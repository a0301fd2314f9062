/**
 * Proof-of-Inference reads shared by the provider's follow-up, the tensor route and the validator: a job's phase and
 * deadlines from the contract, and randomness rounds (the seed round of §6, the challenge round of §7).
 */
import type { Abi, Address, Hex, PublicClient } from "viem";

/** `IProofOfInference.Phase`. */
export const PoiPhase = {
  None: 0,
  Committed: 1,
  Revealed: 2,
  Judged: 3,
  Disputed: 4,
  Paid: 5,
  Slashed: 6,
} as const;

export interface JobRef {
  subscriptionId: bigint;
  interval: number;
  slot: number;
}

/** What the chain says about a PoI job (`ProofOfInference.getJob`). */
export interface PoiJobState {
  phase: number;
  round: number;
  k: number;
  committedAt: number;
  validator: Address;
  disputeDeadline: number;
}

/** A JobRef as the contract's struct argument. */
export const refTuple = (ref: JobRef) => ({
  subscriptionId: ref.subscriptionId,
  interval: ref.interval,
  slot: ref.slot,
});

export interface PoiReads {
  state(ref: JobRef): Promise<PoiJobState>;
  /** The value of a randomness round; throws when it is not readable yet. */
  randomnessValue(round: number): Promise<Hex>;
}

export function poiReads(o: { publicClient: PublicClient; proofOfInference: Address; abi: Abi }): PoiReads {
  let randomness: Address | undefined; // the PoI's randomness source, immutable: read once
  const source = async (): Promise<Address> =>
    (randomness ??= (await o.publicClient.readContract({
      address: o.proofOfInference,
      abi: o.abi,
      functionName: "randomness",
    })) as Address);
  return {
    async state(ref) {
      const j = (await o.publicClient.readContract({
        address: o.proofOfInference,
        abi: o.abi,
        functionName: "getJob",
        args: [refTuple(ref)],
      })) as {
        phase: number;
        round: number;
        k: number;
        committedAt: number;
        validator: Address;
        disputeDeadline: number;
      };
      return {
        phase: Number(j.phase),
        round: Number(j.round),
        k: Number(j.k),
        committedAt: Number(j.committedAt),
        validator: j.validator,
        disputeDeadline: Number(j.disputeDeadline),
      };
    },
    async randomnessValue(round) {
      const address = await source();
      const ready = (await o.publicClient.readContract({
        address,
        abi: RANDOMNESS_ABI,
        functionName: "isReady",
        args: [BigInt(round)],
      })) as boolean;
      if (!ready) throw new Error(`randomness round ${round} is not readable yet`);
      return (await o.publicClient.readContract({
        address,
        abi: RANDOMNESS_ABI,
        functionName: "valueOf",
        args: [BigInt(round)],
      })) as Hex;
    },
  };
}

const RANDOMNESS_ABI = [
  {
    type: "function",
    name: "isReady",
    stateMutability: "view",
    inputs: [{ name: "round", type: "uint64" }],
    outputs: [{ type: "bool" }],
  },
  {
    type: "function",
    name: "valueOf",
    stateMutability: "view",
    inputs: [{ name: "round", type: "uint64" }],
    outputs: [{ type: "bytes32" }],
  },
] as const;

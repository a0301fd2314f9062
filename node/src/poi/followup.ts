/**
 * The provider's Proof-of-Inference follow-up after a committed delivery (docs/protocol.md §9): reveal the
 * challenged steps once the challenge round is readable, draw a validator, and settle (`finalize`) once the dispute
 * window has closed. Every tick reads each open job's phase from the chain, so the follow-up is idempotent and
 * survives restarts and reorgs: what to do next is decided by the contract's state, never by a local guess.
 */
import { encodeAbiParameters, keccak256, type Abi, type Address, type Hex, type PublicClient } from "viem";
import type { Reveal } from "@infernet/sdk";
import type { TransactionSender } from "../chain/sender.ts";
import { errorMessage } from "../chain/log.ts";
import type { Logger } from "../log.ts";

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

/** A committed job this provider follows until it is paid or slashed. */
export interface TrackedPoiJob {
  /** The store's job id (the delivery job). */
  jobId: string;
  /** The protocol job id (`jobId` of §2, bytes32). */
  poiJobId: Hex;
  ref: JobRef;
  /** The container that holds the trajectory (the last of the pipeline). */
  container: string;
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

export interface PoiFollowUpOptions {
  publicClient: PublicClient;
  sender: TransactionSender;
  proofOfInference: Address;
  abi: Abi;
  /** Asks the container holding the trajectory for the reveal of `job` at challenge `randomness` and depth `k`. */
  reveal: (job: TrackedPoiJob, randomness: Hex, k: number) => Promise<Reveal>;
  /** Called once a job is settled (paid or slashed): drop the trajectory, mark the store. */
  settled: (job: TrackedPoiJob, outcome: "paid" | "slashed") => Promise<void> | void;
  logger: Logger;
}

const tuple = (ref: JobRef) => ({
  subscriptionId: ref.subscriptionId,
  interval: ref.interval,
  slot: ref.slot,
});

export class PoiFollowUp {
  readonly #o: PoiFollowUpOptions;
  readonly #jobs = new Map<string, TrackedPoiJob>();
  readonly #byKey = new Map<Hex, TrackedPoiJob>();
  #randomness: Address | undefined;
  #busy = false;

  constructor(options: PoiFollowUpOptions) {
    this.#o = options;
  }

  /** Starts following a committed job (idempotent). */
  track(job: TrackedPoiJob): void {
    this.#jobs.set(job.jobId, job);
    this.#byKey.set(poiJobKey(job.ref), job);
  }

  /** A followed job by its `ProofOfInference.jobKey`. */
  byKey(key: Hex): TrackedPoiJob | undefined {
    return this.#byKey.get(key.toLowerCase() as Hex);
  }

  get open(): number {
    return this.#jobs.size;
  }

  async state(ref: JobRef): Promise<PoiJobState> {
    const j = (await this.#o.publicClient.readContract({
      address: this.#o.proofOfInference,
      abi: this.#o.abi,
      functionName: "getJob",
      args: [tuple(ref)],
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
  }

  /** One pass over the open jobs; a pass already running makes this a no-op (ticks come from new blocks). */
  async tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (const job of [...this.#jobs.values()]) {
        try {
          await this.#advance(job);
        } catch (err) {
          this.#o.logger.warn(
            { jobId: job.jobId, err: errorMessage(err) },
            "PoI follow-up step failed; retrying",
          );
        }
      }
    } finally {
      this.#busy = false;
    }
  }

  async #advance(job: TrackedPoiJob): Promise<void> {
    const s = await this.state(job.ref);
    const log = this.#o.logger.child({ jobId: job.jobId });
    switch (s.phase) {
      case PoiPhase.None:
        return; // the commit is not visible yet (or was reorged out: the delivery job re-runs)
      case PoiPhase.Committed: {
        const value = await this.randomnessValue(s.round).catch(() => undefined);
        if (value === undefined) return; // the challenge round is not readable yet
        const r = await this.#o.reveal(job, value, s.k);
        const sent = await this.#send("reveal", [
          tuple(job.ref),
          r.commitment,
          r.openings,
          r.finalLatentDigest,
          r.proof,
        ]);
        log.info({ challenged: r.challenged, txHash: sent }, "revealed");
        return;
      }
      case PoiPhase.Revealed:
        if (s.validator === ZERO) {
          const sent = await this.#send("assignValidator", [tuple(job.ref)]);
          log.info({ txHash: sent }, "validator drawn");
        }
        return;
      case PoiPhase.Judged: {
        const block = await this.#o.publicClient.getBlock({ blockTag: "latest" });
        if (Number(block.timestamp) <= s.disputeDeadline) return;
        const sent = await this.#send("finalize", [tuple(job.ref)]);
        log.info({ txHash: sent }, "finalized");
        return;
      }
      case PoiPhase.Disputed:
        return; // the committee decides; settlement lands in Paid or Slashed
      case PoiPhase.Paid:
      case PoiPhase.Slashed: {
        const outcome = s.phase === PoiPhase.Paid ? "paid" : "slashed";
        this.#jobs.delete(job.jobId);
        this.#byKey.delete(poiJobKey(job.ref));
        await this.#o.settled(job, outcome);
        if (outcome === "paid") log.info({}, "PoI job paid");
        else log.error({}, "PoI job slashed");
        return;
      }
    }
  }

  async #send(functionName: string, args: readonly unknown[]): Promise<Hex> {
    const sent = await this.#o.sender.send({
      address: this.#o.proofOfInference,
      abi: this.#o.abi,
      functionName,
      args,
      contractName: "ProofOfInference",
    });
    if (sent.status !== "success") throw new Error(`${functionName} reverted on-chain (${sent.hash})`);
    return sent.hash;
  }

  /** The value of a randomness round (the seed round of §6, the challenge round of §7); throws when not ready. */
  async randomnessValue(round: number): Promise<Hex> {
    const randomness = await this.#randomnessAddress();
    const ready = (await this.#o.publicClient.readContract({
      address: randomness,
      abi: RANDOMNESS_ABI,
      functionName: "isReady",
      args: [BigInt(round)],
    })) as boolean;
    if (!ready) throw new Error(`randomness round ${round} is not readable yet`);
    return (await this.#o.publicClient.readContract({
      address: randomness,
      abi: RANDOMNESS_ABI,
      functionName: "valueOf",
      args: [BigInt(round)],
    })) as Hex;
  }

  async #randomnessAddress(): Promise<Address> {
    this.#randomness ??= (await this.#o.publicClient.readContract({
      address: this.#o.proofOfInference,
      abi: this.#o.abi,
      functionName: "randomness",
    })) as Address;
    return this.#randomness;
  }
}

/** `ProofOfInference.jobKey(ref)`: keccak256(abi.encode(subscriptionId, interval, slot)), lower-case. */
export function poiJobKey(ref: JobRef): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "uint64" }, { type: "uint32" }, { type: "uint16" }],
      [ref.subscriptionId, ref.interval, ref.slot],
    ),
  ).toLowerCase() as Hex;
}

const ZERO: Address = "0x0000000000000000000000000000000000000000";

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

/**
 * The provider's Proof-of-Inference follow-up after a committed delivery (docs/protocol.md §9): reveal the
 * challenged steps once the challenge round is readable, draw a validator, and settle (`finalize`) once the dispute
 * window has closed. Every tick reads each open job's phase from the chain, so the follow-up is idempotent and
 * survives restarts and reorgs: what to do next is decided by the contract's state, never by a local guess.
 */
import type { Abi, Address, Hex, PublicClient } from "viem";
import { poiJobKey, type Reveal } from "@infernet/sdk";
import type { TransactionSender } from "../chain/sender.ts";
import { errorMessage } from "../chain/log.ts";
import type { Logger } from "../log.ts";
import { PoiPhase, poiReads, refTuple, type JobRef, type PoiJobState, type PoiReads } from "./reads.ts";

export { PoiPhase, type JobRef, type PoiJobState } from "./reads.ts";

/** The sdk's `ProofOfInference.jobKey(ref)`, lower-cased (the map key of followed jobs). */
const keyOf = (ref: JobRef): Hex => poiJobKey(ref).toLowerCase() as Hex;

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

export class PoiFollowUp {
  readonly #o: PoiFollowUpOptions;
  readonly #jobs = new Map<string, TrackedPoiJob>();
  readonly #byKey = new Map<Hex, TrackedPoiJob>();
  readonly #reads: PoiReads;
  #busy = false;

  constructor(options: PoiFollowUpOptions) {
    this.#o = options;
    this.#reads = poiReads(options);
  }

  /** Starts following a committed job (idempotent). */
  track(job: TrackedPoiJob): void {
    this.#jobs.set(job.jobId, job);
    this.#byKey.set(keyOf(job.ref), job);
  }

  /** A followed job by its `ProofOfInference.jobKey`. */
  byKey(key: Hex): TrackedPoiJob | undefined {
    return this.#byKey.get(key.toLowerCase() as Hex);
  }

  get open(): number {
    return this.#jobs.size;
  }

  /** What the chain says about a job now (`ProofOfInference.getJob`). */
  state(ref: JobRef): Promise<PoiJobState> {
    return this.#reads.state(ref);
  }

  /** The value of a randomness round; throws when it is not readable yet. */
  randomnessValue(round: number): Promise<Hex> {
    return this.#reads.randomnessValue(round);
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
          refTuple(job.ref),
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
          const sent = await this.#send("assignValidator", [refTuple(job.ref)]);
          log.info({ txHash: sent }, "validator drawn");
        }
        return;
      case PoiPhase.Judged: {
        const block = await this.#o.publicClient.getBlock({ blockTag: "latest" });
        if (Number(block.timestamp) <= s.disputeDeadline) return;
        const sent = await this.#send("finalize", [refTuple(job.ref)]);
        log.info({ txHash: sent }, "finalized");
        return;
      }
      case PoiPhase.Disputed:
        return; // the committee decides; settlement lands in Paid or Slashed
      case PoiPhase.Paid:
      case PoiPhase.Slashed: {
        const outcome = s.phase === PoiPhase.Paid ? "paid" : "slashed";
        this.#jobs.delete(job.jobId);
        this.#byKey.delete(keyOf(job.ref));
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
}

const ZERO: Address = "0x0000000000000000000000000000000000000000";

// On-chain jobs of the provider role: from an `IntervalRequested` event to a `deliver` transaction, exactly once.
//
// Exactly-once rests on three things: the store's idempotency key (chain, subscription, interval, node), the
// compare-and-set state transitions (only one attempt moves a job to "delivering"), and reconciliation with the
// Coordinator before any send (a slot already delivered on-chain is never sent again, whatever the local state says).

import {
  keccak256,
  parseEventLogs,
  toBytes,
  type Abi,
  type Address,
  type Hex,
  type Log,
  type PublicClient,
} from "viem";
import { decodeDiffusionInputs, jobId as poiJobIdOf, jobSeed, type DiffusionRequest } from "@infernet/sdk";
import type { Store, JobRecord } from "../store/sqlite.ts";
import { onchainJobKey } from "../store/sqlite.ts";
import type { JobQueue } from "../jobs/queue.ts";
import { PermanentJobError } from "../jobs/queue.ts";
import type { ContainerRuntime } from "../runtime/types.ts";
import {
  Destination,
  Source,
  encodeOnchainReply,
  onchainRequest,
  runPipeline,
  type ContainerRequest,
} from "../runtime/index.ts";
import type { TransactionSender } from "../chain/sender.ts";
import { SimulationRevertedError } from "../chain/sender.ts";
import type { ChainEvent } from "../chain/watcher.ts";
import { inlineInputs } from "../chain/inputs.ts";
import type { Logger } from "../log.ts";
import { nodeMetrics } from "../metrics.ts";
import { checkAllowlist, type AllowlistRules } from "../allowlist.ts";
import type { PoiFollowUp } from "../poi/followup.ts";

/**
 * Queue payload: enough to run the job in any process sharing the queue (BullMQ), whose own store may not have seen
 * the request yet. The job id is the idempotency key, so every process enqueues the same id for the same job.
 */
export interface ProviderJobData {
  [key: string]: string | number | string[];
  jobId: string;
  subscriptionId: string;
  interval: number;
  containers: string[];
  input: string;
  blockNumber: string;
  /** The subscription's verifier ("" for none) and pinned inputs hash: a PoI job needs both. */
  verifier: string;
  inputsHash: string;
}

/** Coordinator slot states (ICoordinator.SlotStatus). */
const SLOT = { Empty: 0, Assigned: 1, Held: 2, Paid: 3, Refunded: 4, Expired: 5 } as const;
const DONE_ON_CHAIN = new Set<number>([SLOT.Held, SLOT.Paid, SLOT.Refunded]);

export interface ProviderJobsOptions {
  store: Store;
  queue: JobQueue<ProviderJobData, string>;
  runtimes: ReadonlyMap<string, ContainerRuntime>;
  publicClient: PublicClient;
  sender: TransactionSender;
  coordinator: Address;
  coordinatorAbi: Abi;
  node: Address;
  chainId: number;
  logger: Logger;
  callTimeoutMs?: number | undefined;
  /** The deployed ProofOfInference: jobs of subscriptions naming it as verifier commit, reveal and settle. */
  proofOfInference?: Address | undefined;
  /** Follows committed PoI jobs to settlement (required with proofOfInference). */
  poi?: PoiFollowUp | undefined;
  /** Allowlists per container id (`containers[].allowedAddresses`); a container without rules serves anyone. */
  allowlists?: ReadonlyMap<string, AllowlistRules> | undefined;
}

/**
 * On-chain container ids this node can serve → the containers to run: keccak256 of each configured id, and of each
 * pipeline "A,B,C" (as Ritual encodes them) of distinct configured containers, in any order, up to `maxDepth` long.
 * The count grows as n!/(n−d)!; past `maxEntries` longer pipelines are left out (shorter ones are always in).
 */
export function containerIndex(ids: Iterable<string>, maxDepth = 3, maxEntries = 20_000): Map<Hex, string[]> {
  const all = [...new Set(ids)];
  const index = new Map<Hex, string[]>();
  let layer: string[][] = all.map((id) => [id]);
  for (let depth = 1; depth <= maxDepth && layer.length > 0; depth++) {
    if (index.size + layer.length > maxEntries) break;
    for (const pipeline of layer) index.set(keccak256(toBytes(pipeline.join(","))), pipeline);
    layer = layer.flatMap((p) => all.filter((id) => !p.includes(id)).map((id) => [...p, id]));
  }
  return index;
}

interface Subscription {
  owner: Address;
  containerId: Hex;
  inputsHash: Hex;
  verifier: Address;
}

interface IntervalSlot {
  node: Address;
  status: number;
}

export class NotAssignedError extends PermanentJobError {
  constructor(job: JobRecord) {
    super(`job ${job.id}: this node is not assigned to the interval`);
    this.name = "NotAssignedError";
  }
}

/**
 * The provider's job logic. Functions over one shared context; a class only because it holds that context.
 */
export class ProviderJobs {
  readonly #o: ProviderJobsOptions;
  readonly #containers: Map<Hex, string[]>;

  constructor(options: ProviderJobsOptions) {
    this.#o = options;
    this.#containers = containerIndex(options.runtimes.keys());
  }

  /** Turns the watcher's events into jobs for the containers this node serves. */
  async onEvents(batch: ChainEvent[]): Promise<void> {
    for (const ev of batch) {
      if (ev.contract !== "Coordinator" || ev.eventName !== "IntervalRequested") continue;
      const subscriptionId = ev.args.subscriptionId as bigint;
      const interval = Number(ev.args.interval);
      const sub = await this.#subscription(subscriptionId);
      const containers = this.#containers.get(sub.containerId);
      if (!containers) continue;
      const refused = this.#refusedBy(containers, sub.owner);
      if (refused) {
        this.#o.logger.info(
          { subscriptionId: subscriptionId.toString(), interval, reason: refused },
          "not served",
        );
        continue;
      }
      const inputs =
        (ev.args.inputs as Hex) === "0x" && sub.inputsHash !== ZERO_HASH
          ? await inlineInputs({
              publicClient: this.#o.publicClient,
              coordinator: this.#o.coordinator,
              coordinatorAbi: this.#o.coordinatorAbi,
              subscriptionId,
              toBlock: ev.blockNumber,
            })
          : (ev.args.inputs as Hex);
      const key = onchainJobKey(this.#o.chainId, subscriptionId, interval, this.#o.node);
      const { job, created } = this.#o.store.upsertJob({
        id: key,
        key,
        kind: "onchain",
        containers,
        input: inputs,
        blockNumber: ev.blockNumber,
        meta: {
          subscriptionId: subscriptionId.toString(),
          interval,
          verifier: sub.verifier,
          inputsHash: sub.inputsHash,
        },
      });
      // A job cancelled by a reorg whose request came back on the new chain runs again, on the new chain's request
      // (same subscription id and interval, but possibly other inputs: the orphaned request must not be served).
      const revived =
        !created &&
        job.state === "cancelled" &&
        this.#o.store.transition(job.id, ["cancelled"], "pending", {
          input: inputs,
          blockNumber: ev.blockNumber,
          output: null,
          txHash: null,
          error: null,
        });
      if (revived) {
        const fresh = this.#o.store.getJob(job.id);
        if (fresh) await this.enqueue(fresh, job.attempts + 1);
      } else if (created) await this.enqueue(job, 0);
    }
  }

  /** Jobs whose request block was orphaned are cancelled; they come back if their request is mined again. */
  onRollback(toBlock: bigint): void {
    for (const job of this.#o.store.jobsAfterBlock(toBlock)) {
      if (job.kind !== "onchain" || job.state === "cancelled") continue;
      this.#o.store.transition(job.id, [job.state], "cancelled", {
        error: `request orphaned by a reorg at ${toBlock}`,
      });
      this.#o.logger.warn({ jobId: job.id, toBlock: toBlock.toString() }, "job cancelled by reorg");
    }
  }

  async enqueue(job: JobRecord, generation = 0): Promise<void> {
    const data: ProviderJobData = {
      jobId: job.id,
      subscriptionId: String(job.meta?.subscriptionId),
      interval: Number(job.meta?.interval),
      containers: job.containers,
      input: job.input ?? "0x",
      blockNumber: String(job.blockNumber ?? 0),
      verifier: String(job.meta?.verifier ?? ""),
      inputsHash: String(job.meta?.inputsHash ?? ZERO_HASH),
    };
    await this.#o.queue.add({ id: generation === 0 ? job.id : `${job.id}#${generation}`, data });
  }

  /** Re-queues every unfinished job (start-up after a crash); adds are idempotent by id. */
  async resume(): Promise<number> {
    const open = this.#o.store.listJobs({
      kind: "onchain",
      state: ["pending", "running", "computed", "delivering"],
      limit: 1000,
    });
    for (const job of open.jobs) await this.enqueue(job, job.attempts);
    return open.jobs.length;
  }

  /** The queue handler: reconcile, wait for the assignment, compute, deliver. Returns the delivery tx hash. */
  async run(data: ProviderJobData): Promise<string> {
    const { store, logger } = this.#o;
    const jobId = data.jobId;
    const startedAt = performance.now();
    // Another process may have enqueued it (shared BullMQ queue): record it here too.
    const job = store.upsertJob({
      id: jobId,
      key: jobId,
      kind: "onchain",
      containers: data.containers,
      input: data.input as Hex,
      blockNumber: BigInt(data.blockNumber),
      meta: {
        subscriptionId: data.subscriptionId,
        interval: data.interval,
        verifier: data.verifier,
        inputsHash: data.inputsHash,
      },
    }).job;
    if (job.state === "delivered" || job.state === "cancelled" || job.state === "failed")
      return job.txHash ?? job.state;
    const subscriptionId = BigInt(String(job.meta?.subscriptionId));
    const interval = Number(job.meta?.interval);
    const log = logger.child({ jobId, subscriptionId: subscriptionId.toString(), interval });

    // 1. Reconcile: the chain decides whether this node already delivered. The assignment preview (as of the
    //    pending block, where the delivery will land) is read in the same round trip.
    const [{ slots: current, seedRound }, preview] = await Promise.all([
      this.#interval(subscriptionId, interval),
      this.#read("previewAssignment", [subscriptionId, interval], "pending") as Promise<Address[]>,
    ]);
    let slots = current;
    if (slots.some((s) => same(s.node, this.#o.node) && DONE_ON_CHAIN.has(s.status))) {
      store.transition(jobId, ["pending", "running", "computed", "delivering"], "delivered");
      log.info({}, "already delivered on-chain");
      return job.txHash ?? "reconciled";
    }
    // 2. Assignment: assigned already, or previewed as the next draw (deliver then assigns in the same tx).
    let assigned = slots.some((s) => same(s.node, this.#o.node) && s.status === SLOT.Assigned);
    if (!assigned) {
      if (!slots.some((s) => s.status === SLOT.Empty)) throw new NotAssignedError(job);
      if (preview.length === 0) throw new Error("assignment randomness not readable yet");
      if (!preview.some((a) => same(a, this.#o.node))) throw new NotAssignedError(job);
      assigned = true;
    }
    // 3. Compute (a crash here simply recomputes on the next attempt).
    store.transition(jobId, ["pending", "running", "computed"], "running", { attempts: job.attempts + 1 });
    const computeStart = performance.now();
    const poiJob = this.#isPoi(job)
      ? await this.#poiRequest(job, subscriptionId, interval, seedRound)
      : undefined;
    const request = poiJob?.request ?? onchainRequest(job.input ?? "0x");
    const result = await runPipeline(this.#o.runtimes, job.containers, request, {
      timeoutMs: this.#o.callTimeoutMs,
    });
    const computeMs = performance.now() - computeStart;
    const delivery = encodeOnchainReply(result.output, job.containers.at(-1));
    // 4. Deliver once: only the attempt that moves the job to "delivering" sends.
    if (!store.transition(jobId, ["running", "delivering"], "delivering", { output: delivery })) {
      return store.getJob(jobId)?.txHash ?? "superseded";
    }
    try {
      const sent = await this.#o.sender.send({
        address: this.#o.coordinator,
        abi: this.#o.coordinatorAbi,
        functionName: "deliver",
        args: [subscriptionId, interval, delivery.input, delivery.output, delivery.proof],
        contractName: "Coordinator",
      });
      if (sent.status !== "success") throw new Error(`deliver reverted on-chain (${sent.hash})`);
      store.transition(jobId, ["delivering"], "delivered", { txHash: sent.hash, error: null });
      if (poiJob) this.#trackPoi(job, poiJob.poiJobId, sent.receipt.logs);
      nodeMetrics.jobFinished("onchain", "success", job.createdAt);
      // jobMs: this attempt from its start to the delivery's receipt; computeMs: the container call(s) within it.
      log.info(
        { txHash: sent.hash, jobMs: ms(performance.now() - startedAt), computeMs: ms(computeMs) },
        "delivered",
      );
      return sent.hash;
    } catch (err) {
      // A refused simulation may mean another attempt (or a previous life of this process) already delivered.
      slots = (await this.#interval(subscriptionId, interval)).slots;
      if (slots.some((s) => same(s.node, this.#o.node) && DONE_ON_CHAIN.has(s.status))) {
        store.transition(jobId, ["delivering"], "delivered");
        return "reconciled";
      }
      store.transition(jobId, ["delivering"], "computed", { error: (err as Error).message });
      if (err instanceof SimulationRevertedError) throw new PermanentJobError(err.message, { cause: err });
      throw err;
    }
  }

  #isPoi(job: JobRecord): boolean {
    const verifier = job.meta?.verifier;
    return (
      this.#o.proofOfInference !== undefined &&
      typeof verifier === "string" &&
      same(verifier as Address, this.#o.proofOfInference)
    );
  }

  /**
   * The container request of a PoI job: the consumer's pinned inputs (abi-encoded DiffusionRequest) as JSON, plus
   * the protocol job id, this node and the seed of §6 (from the randomness round reserved at the request), and the
   * pinned inputs hash the params leaf binds. The container commits; its reply's proof is `enc(root, T, paramsHash)`.
   */
  async #poiRequest(
    job: JobRecord,
    subscriptionId: bigint,
    interval: number,
    seedRound: number,
  ): Promise<{ request: ContainerRequest; poiJobId: Hex }> {
    let params: DiffusionRequest;
    try {
      params = decodeDiffusionInputs(job.input ?? "0x");
    } catch (err) {
      throw new PermanentJobError((err as Error).message, { cause: err });
    }
    const poiJobId = poiJobIdOf({
      chainId: this.#o.chainId,
      coordinator: this.#o.coordinator,
      subscriptionId,
      interval,
    });
    const seed = jobSeed(poiJobId, await this.#o.poi!.randomnessValue(seedRound));
    const data = {
      ...params,
      jobId: poiJobId,
      node: this.#o.node,
      seed,
      inputsHash: String(job.meta?.inputsHash ?? ZERO_HASH),
    };
    return {
      poiJobId,
      request: { source: Source.OFFCHAIN, destination: Destination.ONCHAIN, data, requires_proof: true },
    };
  }

  /** After a committed delivery: record the job's slot (from the Delivered log) and follow it to settlement. */
  #trackPoi(job: JobRecord, poiJobId: Hex, logs: readonly Log[]): void {
    const delivered = parseEventLogs({
      abi: this.#o.coordinatorAbi,
      logs: [...logs],
      eventName: "Delivered",
    });
    const mine = delivered.find((l) => same((l.args as { node: Address }).node, this.#o.node));
    if (!mine) throw new Error(`job ${job.id}: no Delivered log of this node in the delivery receipt`);
    const slot = Number((mine.args as { slot: number }).slot);
    const poi = { jobId: poiJobId, slot, container: job.containers.at(-1) ?? "", settled: null };
    this.#o.store.transition(job.id, ["delivered"], "delivered", { meta: { ...job.meta, poi } });
    this.#o.poi?.track({
      jobId: job.id,
      poiJobId,
      container: poi.container,
      ref: {
        subscriptionId: BigInt(String(job.meta?.subscriptionId)),
        interval: Number(job.meta?.interval),
        slot,
      },
    });
  }

  /** Re-follows committed PoI jobs not settled yet (start-up). */
  resumePoi(): number {
    if (!this.#o.poi) return 0;
    let n = 0;
    for (const job of this.#o.store.listJobs({ kind: "onchain", state: "delivered", limit: 1000 }).jobs) {
      const poi = job.meta?.poi as
        { jobId: Hex; slot: number; container: string; settled: string | null } | undefined;
      if (!poi || poi.settled) continue;
      this.#o.poi.track({
        jobId: job.id,
        poiJobId: poi.jobId,
        container: poi.container,
        ref: {
          subscriptionId: BigInt(String(job.meta?.subscriptionId)),
          interval: Number(job.meta?.interval),
          slot: poi.slot,
        },
      });
      n++;
    }
    return n;
  }

  /** The allowlist refusal of any container of the pipeline for this owner, if one refuses. */
  #refusedBy(containers: readonly string[], owner: Address): string | undefined {
    for (const id of containers) {
      const rules = this.#o.allowlists?.get(id);
      if (!rules) continue;
      const decision = checkAllowlist({ id, ...rules }, { owner });
      if (!decision.allowed) return decision.reason;
    }
    return undefined;
  }

  /** Marks a job failed for good (the queue gave up or the error was permanent). */
  fail(jobId: string, reason: string): void {
    const job = this.#o.store.getJob(jobId);
    if (!job || job.state === "delivered" || job.state === "cancelled") return;
    this.#o.store.transition(jobId, [job.state], "failed", { error: reason });
    nodeMetrics.jobFinished("onchain", "failed", job.createdAt);
  }

  async #read(
    functionName: string,
    args: readonly unknown[],
    blockTag: "latest" | "pending" = "latest",
  ): Promise<unknown> {
    return this.#o.publicClient.readContract({
      blockTag,
      address: this.#o.coordinator,
      abi: this.#o.coordinatorAbi,
      functionName,
      args,
    });
  }

  async #subscription(subscriptionId: bigint): Promise<Subscription> {
    return (await this.#read("getSubscription", [subscriptionId])) as Subscription;
  }

  /** The interval's slots and the randomness round reserved at the request (the seed round of §6). */
  async #interval(
    subscriptionId: bigint,
    interval: number,
  ): Promise<{ slots: IntervalSlot[]; seedRound: number }> {
    const [state, , slots] = (await this.#read("getInterval", [subscriptionId, interval])) as [
      { seedRound: number },
      Hex,
      IntervalSlot[],
    ];
    return { slots, seedRound: Number(state.seedRound) };
  }

  /** Inline inputs travel in SubscriptionCreated, not in IntervalRequested (docs/contracts.md). */
}

const ZERO_HASH: Hex = `0x${"00".repeat(32)}`;

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Milliseconds rounded to 0.1 for log lines. */
const ms = (t: number): number => Math.round(t * 10) / 10;

// Off-chain jobs: a client submits {containers, data, requires_proof} through the API; the job is persisted in the
// store (table `jobs`, kind "offchain", owner = the API key id), queued on the configured queue, run through the
// container pipeline (each container's output is the next one's data), and its status, progress and result are
// recorded. Events for each step go to a JobEventHub (the SSE route follows them).
//
// States (store → API): pending → queued, running → running, delivered → success, failed → failed. A retried
// attempt goes back to pending ("queued") with the error of the failed attempt.
import { randomUUID } from "node:crypto";
import type { Store, JobRecord } from "../store/sqlite.ts";
import { PermanentJobError, type JobQueue } from "../jobs/queue.ts";
import { Destination, Source, hopRequest, type ContainerOutput } from "../runtime/contract.ts";
import { UnknownContainerError, type ContainerRuntime } from "../runtime/types.ts";
import type { Logger } from "../log.ts";
import { nodeMetrics, type NodeMetrics } from "../metrics.ts";
import { JobEventHub, type JobEvent, type OffchainStatus } from "./events.ts";

/** Queue payload: the job's id; everything else is in the store (the queue is this node's own). */
export interface OffchainJobData {
  [key: string]: string;
  jobId: string;
}

/** What a client asks for. */
export interface OffchainJobRequest {
  /** The pipeline, in order: containers[0] gets `data`, each next one the previous one's output. */
  containers: readonly string[];
  /** Any JSON value: the first container's input. */
  data: unknown;
  requiresProof?: boolean;
}

/** A job as the API shows it. */
export interface OffchainJobView {
  id: string;
  status: OffchainStatus;
  containers: string[];
  requires_proof: boolean;
  /** The last container's output, once the job succeeded. */
  result: { container: string; output: unknown } | null;
  /** Why the job failed (or why the last attempt failed, while it is retried). */
  error: { container: string | null; message: string } | null;
  /** The last finished step. */
  progress: { step: number; steps: number; container: string } | null;
  /** Runs so far (1 for the first). */
  attempts: number;
  created_at: string;
  updated_at: string;
}

export interface JobListQuery {
  owner: string;
  status?: OffchainStatus | undefined;
  /** Page size, 1..1000. */
  limit: number;
  /** `next_cursor` of the previous page (newest-first paging that is stable while jobs are added). */
  cursor?: string | undefined;
  /** Skip this many jobs instead (simple paging; pages shift when jobs are added). */
  offset?: number | undefined;
}

export interface JobListPage {
  jobs: OffchainJobView[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
  /** Jobs matching the query, over all pages. */
  total: number;
}

/** A request the node refuses (unknown container, empty pipeline, bad cursor…): the client's mistake, a 400. */
export class InvalidJobError extends Error {
  override readonly name = "InvalidJobError";
}

export interface OffchainJobsOptions {
  store: Store;
  queue: JobQueue<OffchainJobData, string>;
  runtimes: ReadonlyMap<string, ContainerRuntime>;
  logger: Logger;
  events?: JobEventHub;
  metrics?: NodeMetrics;
  /** Limit of one container call, ms (default: the container's own timeoutMs). */
  callTimeoutMs?: number | undefined;
}

const STATUS_OF: Record<JobRecord["state"], OffchainStatus> = {
  pending: "queued",
  running: "running",
  computed: "running",
  delivering: "running",
  delivered: "success",
  failed: "failed",
  cancelled: "failed",
};
const STATES_OF: Record<OffchainStatus, JobRecord["state"][]> = {
  queued: ["pending"],
  running: ["running", "computed", "delivering"],
  success: ["delivered"],
  failed: ["failed", "cancelled"],
};
const OPEN_STATES: JobRecord["state"][] = ["pending", "running"];

interface JobMeta {
  requiresProof?: boolean;
  progress?: { step: number; steps: number; container: string };
  errorContainer?: string | null;
}

/** The API view of a stored off-chain job. */
export function jobView(job: JobRecord): OffchainJobView {
  const meta = (job.meta ?? {}) as JobMeta;
  const status = STATUS_OF[job.state];
  const output = job.output as { container?: unknown; output?: unknown } | null;
  return {
    id: job.id,
    status,
    containers: job.containers,
    requires_proof: meta.requiresProof === true,
    result:
      status === "success" && output && typeof output.container === "string"
        ? { container: output.container, output: output.output ?? null }
        : null,
    error: job.error === null ? null : { container: meta.errorContainer ?? null, message: job.error },
    progress: meta.progress ?? null,
    attempts: job.attempts,
    created_at: new Date(job.createdAt).toISOString(),
    updated_at: new Date(job.updatedAt).toISOString(),
  };
}

function decodeData(job: JobRecord): unknown {
  if (job.input === null) return null;
  return JSON.parse(Buffer.from(job.input.slice(2), "hex").toString("utf8"));
}

function containerOf(err: unknown): string | null {
  const id = (err as { containerId?: unknown } | null)?.containerId;
  return typeof id === "string" ? id : null;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

export class OffchainJobs {
  readonly events: JobEventHub;
  readonly #o: OffchainJobsOptions;
  readonly #metrics: NodeMetrics;
  readonly #offs: (() => void)[] = [];

  constructor(options: OffchainJobsOptions) {
    this.#o = options;
    this.events = options.events ?? new JobEventHub();
    this.#metrics = options.metrics ?? nodeMetrics;
  }

  /** Container ids this node can run. */
  get containers(): string[] {
    return [...this.#o.runtimes.keys()];
  }

  get queue(): JobQueue<OffchainJobData, string> {
    return this.#o.queue;
  }

  /** Starts the queue worker and re-queues unfinished jobs (after a restart). Returns how many were re-queued. */
  async start(concurrency: number): Promise<number> {
    const { queue, logger } = this.#o;
    this.#offs.push(
      queue.on("failed", (job, reason) => this.fail(job.data.jobId, reason)),
      queue.on("retrying", (job, reason, delayMs) => this.#retrying(job.data.jobId, reason, delayMs)),
      queue.on("error", (err) => logger.warn({ err: err.message }, "off-chain queue error")),
    );
    queue.process((job) => this.run(job.data), { concurrency });
    const open = this.#o.store.statement(
      `SELECT id FROM jobs WHERE kind = 'offchain' AND state IN ('pending', 'running') ORDER BY seq`,
    );
    const ids = (open.all() as { id: string }[]).map((r) => r.id);
    for (const id of ids) await queue.add({ id, data: { jobId: id } });
    return ids.length;
  }

  /** Checks a request without storing anything; throws InvalidJobError with the reason. */
  validate(request: OffchainJobRequest): void {
    if (request.containers.length === 0) throw new InvalidJobError("containers: at least one container");
    for (const id of request.containers) {
      if (!this.#o.runtimes.has(id)) {
        throw new InvalidJobError(
          `containers: ${JSON.stringify(id)} is not served by this node (serving: ${this.containers.join(", ") || "none"})`,
        );
      }
    }
  }

  /** Validates, stores and queues a job; resolves with its id. */
  async submit(owner: string, request: OffchainJobRequest): Promise<string> {
    this.validate(request);
    const id = randomUUID();
    let queued: Promise<void> = Promise.resolve();
    // One transaction: the embedded queue's insert (made synchronously by add()) commits with the job's row, so
    // there is never a stored job without its queue entry, and it costs one commit instead of two. (BullMQ's add
    // completes later, over the network; a job whose add fails is marked failed below, and start() re-queues
    // unfinished jobs after a crash.)
    this.#o.store.transaction(() => {
      this.#o.store.upsertJob({
        id,
        key: id,
        kind: "offchain",
        containers: request.containers,
        input: Buffer.from(JSON.stringify(request.data ?? null), "utf8"),
        owner,
        meta: { requiresProof: request.requiresProof === true },
      });
      queued = this.#o.queue.add({ id, data: { jobId: id } });
    });
    try {
      await queued;
    } catch (err) {
      this.#o.store.transition(id, ["pending"], "failed", { error: `could not queue: ${messageOf(err)}` });
      throw err;
    }
    this.#o.logger.debug({ jobId: id, owner, containers: request.containers }, "off-chain job queued");
    return id;
  }

  /** The job, if it exists and belongs to `owner`. */
  get(id: string, owner: string): OffchainJobView | undefined {
    const job = this.#o.store.getJob(id);
    if (!job || job.kind !== "offchain" || job.owner !== owner) return undefined;
    return jobView(job);
  }

  /** `owner`'s jobs, newest first. */
  list(query: JobListQuery): JobListPage {
    const where = ["kind = 'offchain'", "owner = ?"];
    const params: (string | number)[] = [query.owner];
    if (query.status !== undefined) {
      const states = STATES_OF[query.status];
      where.push(`state IN (${states.map(() => "?").join(", ")})`);
      params.push(...states);
    }
    const total = Number(
      (
        this.#o.store
          .statement(`SELECT COUNT(*) AS n FROM jobs WHERE ${where.join(" AND ")}`)
          .get(...params) as {
          n: number;
        }
      ).n,
    );
    if (query.cursor !== undefined) {
      if (!/^[1-9][0-9]{0,15}$/.test(query.cursor))
        throw new InvalidJobError("cursor: not a cursor this API issued");
      where.push("seq < ?");
      params.push(Number(query.cursor));
    }
    const rows = this.#o.store
      .statement(`SELECT seq, id FROM jobs WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT ? OFFSET ?`)
      .all(...params, query.limit + 1, query.offset ?? 0) as { seq: number; id: string }[];
    const more = rows.length > query.limit;
    const page = more ? rows.slice(0, query.limit) : rows;
    const jobs: OffchainJobView[] = [];
    for (const row of page) {
      const job = this.#o.store.getJob(row.id);
      if (job) jobs.push(jobView(job));
    }
    return { jobs, next_cursor: more ? String(page[page.length - 1]!.seq) : null, total };
  }

  /** Follows a job's events (see JobEventHub). */
  subscribe(id: string, listener: (event: JobEvent) => void): () => void {
    return this.events.subscribe(id, listener);
  }

  /** The queue handler: runs the pipeline and records the result. Returns the final status. */
  async run(data: OffchainJobData): Promise<string> {
    const { store } = this.#o;
    const job = store.getJob(data.jobId);
    if (!job || job.kind !== "offchain")
      throw new PermanentJobError(`off-chain job ${data.jobId} is not in the store`);
    if (!OPEN_STATES.includes(job.state)) return STATUS_OF[job.state];
    const log = this.#o.logger.child({ jobId: job.id });
    const attempt = job.attempts + 1;
    if (!store.transition(job.id, OPEN_STATES, "running", { attempts: attempt })) return "superseded";
    this.#emit(job.id, { type: "state", status: "running", attempt });

    const meta = (job.meta ?? {}) as JobMeta;
    const request = {
      source: Source.OFFCHAIN,
      destination: Destination.OFFCHAIN,
      data: decodeData(job),
      requires_proof: meta.requiresProof === true,
    };
    const steps = job.containers.length;
    let previous: ContainerOutput | undefined;
    for (let i = 0; i < steps; i++) {
      const container = job.containers[i]!;
      const t0 = performance.now();
      try {
        const runtime = this.#o.runtimes.get(container);
        if (!runtime) throw new UnknownContainerError(container);
        previous = await runtime.call(hopRequest(request, i, steps, previous), {
          ...(this.#o.callTimeoutMs === undefined ? {} : { timeoutMs: this.#o.callTimeoutMs }),
        });
      } catch (err) {
        const seconds = (performance.now() - t0) / 1000;
        this.#metrics.observeContainerCall({ container, ok: false, seconds });
        store.transition(job.id, ["running"], "running", {
          error: messageOf(err),
          meta: { ...meta, errorContainer: containerOf(err) ?? container },
        });
        log.warn({ container, step: i + 1, err: messageOf(err) }, "off-chain job step failed");
        if ((err as { retryable?: unknown }).retryable === false) {
          throw new PermanentJobError(messageOf(err), { cause: err });
        }
        throw err;
      }
      const ms = performance.now() - t0;
      this.#metrics.observeContainerCall({ container, ok: true, seconds: ms / 1000 });
      const progress = { step: i + 1, steps, container };
      meta.progress = progress;
      if (i < steps - 1) store.transition(job.id, ["running"], "running", { meta: { ...meta } });
      this.#emit(job.id, { type: "progress", ...progress, ms: Math.round(ms * 1000) / 1000 });
    }
    const last = job.containers[steps - 1]!;
    const done = store.transition(job.id, ["running"], "delivered", {
      output: { container: last, output: previous ?? null },
      error: null,
      meta: { ...meta, errorContainer: null },
    });
    if (!done) return "superseded";
    this.#finished(job, "success");
    log.debug({ ms: Date.now() - job.createdAt }, "off-chain job done");
    return "success";
  }

  /** Marks a job failed for good (the queue gave up, or the error was permanent). */
  fail(jobId: string, reason: string): void {
    const job = this.#o.store.getJob(jobId);
    if (!job || job.kind !== "offchain" || !OPEN_STATES.includes(job.state)) return;
    if (!this.#o.store.transition(jobId, OPEN_STATES, "failed", { error: reason })) return;
    this.#o.logger.warn({ jobId, reason }, "off-chain job failed");
    this.#emit(jobId, { type: "state", status: "failed", error: reason });
    this.#finished(job, "failed");
  }

  /** Stops listening to the queue (the caller closes the queue). */
  close(): void {
    for (const off of this.#offs.splice(0)) off();
  }

  #retrying(jobId: string, reason: string, delayMs: number): void {
    if (!this.#o.store.transition(jobId, ["running"], "pending", { error: reason })) return;
    this.#emit(jobId, { type: "retrying", reason, delayMs });
    this.#emit(jobId, { type: "state", status: "queued", error: reason });
  }

  #finished(job: JobRecord, status: "success" | "failed"): void {
    this.#metrics.jobFinished("offchain", status, job.createdAt);
    if (status === "success") this.#emit(job.id, { type: "state", status: "success" });
    this.#emit(job.id, { type: "done", status });
  }

  #emit(id: string, event: JobEvent): void {
    this.events.emit(id, event);
  }
}

// BullMQ backend: the queue lives in Redis, so several node processes or machines can share it. Each instance has
// its own connections (Queue for adds and counts, Worker for processing, QueueEvents, opened on first waitFor, for
// finish notifications from any worker). Job ids are our ids (encoded: BullMQ refuses ':' and integer-like ids), so
// adding the same id twice adds one job. Retries: BullMQ's attempts + exponential backoff. A job whose worker died
// is moved back to waiting by BullMQ's stalled-job check once its lock (leaseMs) expires.
import type { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import { Job, Queue, QueueEvents, UnrecoverableError, Worker, type ConnectionOptions } from "bullmq";
import {
  DEFAULT_ATTEMPTS,
  DEFAULT_BACKOFF_MS,
  Listeners,
  PermanentJobError,
  backoffDelay,
  errorMessage,
  retryPolicy,
  type JobHandler,
  type JobOutcome,
  type JobQueue,
  type Json,
  type NewQueueJob,
  type ProcessOptions,
  type QueueEventMap,
  type QueueJob,
  type RetryOptions,
} from "./queue.ts";

export interface RedisConnection {
  /** Default: $REDIS_HOST or 127.0.0.1. */
  host?: string;
  /** Default: $REDIS_PORT or 6379. */
  port?: number;
  username?: string;
  password?: string;
  db?: number;
}

export interface BullQueueOptions {
  name: string;
  connection?: RedisConnection;
  /** Redis key prefix; default "infernet". */
  prefix?: string;
  /** Retry policy for jobs that do not set their own. */
  defaults?: RetryOptions;
  /** Lock duration of a running job, renewed while it runs; a job whose lock expires is stalled. Default 30000. */
  leaseMs?: number;
  /** How often workers look for stalled jobs, ms; default leaseMs. */
  stalledIntervalMs?: number;
  /** Times a job may be recovered from a dead worker before it is failed; default 3. */
  maxStalls?: number;
  /** How long finished jobs are kept (and their ids stay taken), ms; default 7 days. */
  retainMs?: number;
}

/** The connection options every BullMQ client of ours uses (blocking commands need maxRetriesPerRequest null). */
export function redisConnection(conn: RedisConnection = {}): ConnectionOptions {
  return {
    host: conn.host ?? process.env.REDIS_HOST ?? "127.0.0.1",
    port: conn.port ?? (process.env.REDIS_PORT ? Number(process.env.REDIS_PORT) : 6379),
    ...(conn.username !== undefined && { username: conn.username }),
    ...(conn.password !== undefined && { password: conn.password }),
    ...(conn.db !== undefined && { db: conn.db }),
    maxRetriesPerRequest: null,
  };
}

/** Our id → a BullMQ job id (injective): '%' and ':' escaped, integer-like ids marked. */
export function encodeJobId(id: string): string {
  if (id.length === 0) throw new RangeError("job id must not be empty");
  const escaped = id.replace(/%/g, "%25").replace(/:/g, "%3A");
  return `${parseInt(escaped, 10)}` === escaped ? `%i${escaped}` : escaped;
}

export function decodeJobId(jobId: string): string {
  const body = jobId.startsWith("%i") ? jobId.slice(2) : jobId;
  return body.replace(/%(25|3A)/g, (_m, code: string) => (code === "25" ? "%" : ":"));
}

const JOB_NAME = "job";

let redisClientChecked = false;

/**
 * BullMQ 6 loads its Redis client (the optional peer `ioredis`) lazily and, without it, leaves every call pending
 * forever; fail at construction instead, with the fix in the message.
 */
function assertRedisClient(): void {
  if (redisClientChecked) return;
  const bullmqEntry = createRequire(import.meta.url).resolve("bullmq");
  try {
    createRequire(bullmqEntry).resolve("ioredis");
  } catch {
    throw new Error(
      "the bullmq queue backend needs the ioredis package next to bullmq (npm install ioredis)",
    );
  }
  redisClientChecked = true;
}

export class BullQueue<T = Json, R = Json> implements JobQueue<T, R> {
  readonly backend = "bullmq" as const;
  readonly name: string;
  readonly prefix: string;
  private readonly connection: ConnectionOptions;
  private readonly defaults: Required<RetryOptions>;
  private readonly options: BullQueueOptions;
  private readonly retainSeconds: number;
  private readonly queue: Queue;
  private worker: Worker | undefined;
  private queueEvents: Promise<QueueEvents> | undefined;
  private readonly listeners = new Listeners<T, R>();
  /** The QueueJob each running BullMQ job was handed, for the events (attemptsMade moves on after a run). */
  private readonly handed = new WeakMap<Job, QueueJob<T>>();
  private closing: Promise<void> | undefined;

  constructor(options: BullQueueOptions) {
    assertRedisClient();
    this.options = options;
    this.name = options.name;
    this.prefix = options.prefix ?? "infernet";
    this.connection = redisConnection(options.connection);
    this.defaults = retryPolicy(options.defaults, {
      attempts: DEFAULT_ATTEMPTS,
      backoffMs: DEFAULT_BACKOFF_MS,
    });
    this.retainSeconds = Math.ceil((options.retainMs ?? 7 * 24 * 3600_000) / 1000);
    this.queue = new Queue(this.name, { connection: this.connection, prefix: this.prefix });
    this.queue.on("error", (err) => this.listeners.emit("error", err));
  }

  async add(job: NewQueueJob<T>): Promise<void> {
    this.assertOpen();
    const { attempts, backoffMs } = retryPolicy(job.opts, this.defaults);
    await this.queue.add(JOB_NAME, job.data ?? null, {
      jobId: encodeJobId(job.id),
      attempts,
      backoff: { type: "exponential", delay: backoffMs },
      ...(job.opts?.delayMs ? { delay: job.opts.delayMs } : {}),
      removeOnComplete: { age: this.retainSeconds },
      removeOnFail: { age: this.retainSeconds },
    });
  }

  process(handler: JobHandler<T, R>, options: ProcessOptions = {}): void {
    this.assertOpen();
    if (this.worker) throw new Error(`queue ${this.name}: process() was already called on this instance`);
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be >= 1`);
    const leaseMs = this.options.leaseMs ?? 30_000;
    const worker = new Worker(
      this.name,
      async (bullJob: Job) => {
        const job = this.toQueueJob(bullJob);
        this.handed.set(bullJob, job);
        try {
          return await handler(job);
        } catch (err) {
          if (err instanceof PermanentJobError) throw new UnrecoverableError(errorMessage(err));
          throw err instanceof Error ? err : new Error(String(err));
        }
      },
      {
        connection: this.connection,
        prefix: this.prefix,
        concurrency,
        lockDuration: leaseMs,
        stalledInterval: this.options.stalledIntervalMs ?? leaseMs,
        maxStalledCount: this.options.maxStalls ?? 3,
      },
    );
    worker.on("completed", (bullJob: Job, result: R) => {
      this.listeners.emit("completed", this.handed.get(bullJob) ?? this.toQueueJob(bullJob), result);
    });
    worker.on("failed", (bullJob: Job | undefined, err: Error) => {
      if (!bullJob) return;
      const job = this.handed.get(bullJob) ?? this.toQueueJob(bullJob);
      const reason = errorMessage(err);
      const final = err instanceof UnrecoverableError || bullJob.attemptsMade >= job.maxAttempts;
      if (final) this.listeners.emit("failed", job, reason);
      else
        this.listeners.emit("retrying", job, reason, backoffDelay(backoffOf(bullJob), bullJob.attemptsMade));
    });
    worker.on("error", (err) => this.listeners.emit("error", err));
    this.worker = worker;
  }

  async depth(): Promise<number> {
    this.assertOpen();
    return this.queue.getJobCountByTypes("waiting", "prioritized", "delayed", "active");
  }

  async waitFor(id: string, timeoutMs = 60_000): Promise<JobOutcome<R>> {
    this.assertOpen();
    const jobId = encodeJobId(id);
    if (!(await Job.fromId(this.queue, jobId))) throw new Error(`queue ${this.name}: no job ${id}`);
    // Per-job events (`completed:<id>`) are plain EventEmitter events outside QueueEvents' typed listener map.
    const events = (await this.events()) as unknown as EventEmitter;
    // Finish events, plus a state check right away and every second: QueueEvents only sees events published after
    // its first stream read, so a job finishing while it starts would otherwise be missed.
    return new Promise<JobOutcome<R>>((resolve, reject) => {
      let settled = false;
      const finish = (outcome: JobOutcome<R> | Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        clearInterval(poll);
        events.off(`completed:${jobId}`, onCompleted);
        events.off(`failed:${jobId}`, onFailed);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const onCompleted = (args: { returnvalue: unknown }) =>
        finish({ state: "completed", result: args.returnvalue as R });
      const onFailed = (args: { failedReason: string }) =>
        finish({ state: "failed", reason: args.failedReason });
      const check = async () => {
        try {
          const job = await Job.fromId<T, R>(this.queue, jobId);
          if (!job) finish(new Error(`queue ${this.name}: job ${id} was removed while waiting`));
          else if (job.finishedOn && (await job.isCompleted()))
            finish({ state: "completed", result: job.returnvalue });
          else if (job.finishedOn && (await job.isFailed()))
            finish({ state: "failed", reason: job.failedReason });
        } catch (err) {
          if (this.closing) finish(new Error(`queue ${this.name} closed while waiting for job ${id}`));
          else this.listeners.emit("error", err instanceof Error ? err : new Error(String(err)));
        }
      };
      const timeout = setTimeout(
        () => finish(new Error(`queue ${this.name}: job ${id} not finished after ${timeoutMs} ms`)),
        timeoutMs,
      );
      const poll = setInterval(() => void check(), 1000);
      events.on(`completed:${jobId}`, onCompleted);
      events.on(`failed:${jobId}`, onFailed);
      void check();
    });
  }

  on<E extends keyof QueueEventMap<T, R>>(event: E, listener: QueueEventMap<T, R>[E]): () => void {
    return this.listeners.on(event, listener);
  }

  /** Deletes the whole queue from Redis (tests, decommissioning). */
  async obliterate(): Promise<void> {
    await this.queue.obliterate({ force: true });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const results = await Promise.allSettled([
        this.worker?.close(),
        this.queueEvents?.then((events) => events.close()),
      ]);
      results.push(...(await Promise.allSettled([this.queue.close()])));
      for (const r of results) if (r.status === "rejected") this.listeners.emit("error", r.reason as Error);
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error(`queue ${this.name} is closed`);
  }

  private events(): Promise<QueueEvents> {
    this.queueEvents ??= (async () => {
      const events = new QueueEvents(this.name, { connection: this.connection, prefix: this.prefix });
      events.on("error", (err) => this.listeners.emit("error", err));
      await events.waitUntilReady();
      return events;
    })();
    return this.queueEvents;
  }

  private toQueueJob(bullJob: Job): QueueJob<T> {
    return {
      id: decodeJobId(String(bullJob.id)),
      data: bullJob.data as T,
      attempt: bullJob.attemptsMade + 1,
      maxAttempts: bullJob.opts.attempts ?? 1,
    };
  }
}

function backoffOf(job: Job): number {
  const backoff = job.opts.backoff;
  if (typeof backoff === "number") return backoff;
  return backoff?.delay ?? 0;
}

// One queue interface, two backends: embedded (in-process, persisted in the node's SQLite store; the default)
// and BullMQ on Redis (shared by several node processes or machines). Both give at-least-once processing with
// retries and exponential backoff; exactly-once *delivery* is the job store's business (Store.transition).

/** JSON-serialisable values: what job data and results may contain (both backends persist them as JSON). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface RetryOptions {
  /** Total attempts, the first included (>= 1). */
  attempts?: number;
  /** Delay before the first retry, ms; doubles for each further retry (backoffMs · 2^(retry − 1)). */
  backoffMs?: number;
}

export interface NewQueueJob<T> {
  /** Unique id: adding an id that is already queued, running or finished (and retained) adds nothing. */
  id: string;
  data: T;
  opts?: RetryOptions & {
    /** Do not start before this many ms from now. */
    delayMs?: number;
  };
}

/** A job as its handler sees it. */
export interface QueueJob<T> {
  id: string;
  data: T;
  /** This attempt's number, 1 for the first run. */
  attempt: number;
  /** Total attempts allowed. */
  maxAttempts: number;
}

export type JobHandler<T, R> = (job: QueueJob<T>) => Promise<R>;

export interface ProcessOptions {
  /** Jobs this worker runs at once; default 1. */
  concurrency?: number;
}

/** How a job ended. */
export type JobOutcome<R> = { state: "completed"; result: R } | { state: "failed"; reason: string };

/** Events of the jobs this instance's worker ran (a shared BullMQ queue's other workers report their own). */
export interface QueueEventMap<T, R> {
  completed: (job: QueueJob<T>, result: R) => void;
  /** The job failed for good: its last attempt failed, or it threw a PermanentJobError. */
  failed: (job: QueueJob<T>, reason: string) => void;
  /** An attempt failed and the job will run again after `delayMs`. */
  retrying: (job: QueueJob<T>, reason: string, delayMs: number) => void;
  /** A backend problem (Redis connection lost, SQLite busy, …); the queue keeps trying. */
  error: (err: Error) => void;
}

export interface JobQueue<T = Json, R = Json> {
  readonly backend: "embedded" | "bullmq";
  readonly name: string;
  /** Enqueues a job; idempotent by id. */
  add(job: NewQueueJob<T>): Promise<void>;
  /** Starts this instance's worker (once per instance). Handler errors are retried per the job's policy. */
  process(handler: JobHandler<T, R>, options?: ProcessOptions): void;
  /** Jobs not finished yet: waiting, delayed (backoff) and running. */
  depth(): Promise<number>;
  /** Resolves when job `id` completes or fails for good (wherever it runs); rejects on timeout or unknown id. */
  waitFor(id: string, timeoutMs?: number): Promise<JobOutcome<R>>;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends keyof QueueEventMap<T, R>>(event: E, listener: QueueEventMap<T, R>[E]): () => void;
  /** Stops taking jobs, waits for the running ones to finish, releases the backend. Idempotent. */
  close(): Promise<void>;
}

/** Thrown by a handler to fail the job at once, without the remaining retries (bad input, unknown container). */
export class PermanentJobError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PermanentJobError";
  }
}

export const DEFAULT_ATTEMPTS = 3;
export const DEFAULT_BACKOFF_MS = 1000;

/** Delay before the retry that follows failed attempt number `failedAttempt` (1-based). */
export function backoffDelay(backoffMs: number, failedAttempt: number): number {
  return backoffMs * 2 ** Math.max(0, failedAttempt - 1);
}

/** Checks retry options, filling in defaults. */
export function retryPolicy(
  opts: RetryOptions | undefined,
  defaults: Required<RetryOptions>,
): Required<RetryOptions> {
  const attempts = opts?.attempts ?? defaults.attempts;
  const backoffMs = opts?.backoffMs ?? defaults.backoffMs;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`attempts must be an integer >= 1`);
  if (!Number.isFinite(backoffMs) || backoffMs < 0) throw new RangeError(`backoffMs must be >= 0`);
  return { attempts, backoffMs };
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** A small typed event hub; listener exceptions are reported as "error" events, never thrown into the queue. */
export class Listeners<T, R> {
  private readonly map = new Map<keyof QueueEventMap<T, R>, Set<unknown>>();

  on<E extends keyof QueueEventMap<T, R>>(event: E, listener: QueueEventMap<T, R>[E]): () => void {
    let set = this.map.get(event);
    if (!set) this.map.set(event, (set = new Set()));
    set.add(listener);
    return () => void set.delete(listener);
  }

  emit<E extends keyof QueueEventMap<T, R>>(event: E, ...args: Parameters<QueueEventMap<T, R>[E]>): void {
    for (const listener of this.map.get(event) ?? []) {
      try {
        (listener as (...a: Parameters<QueueEventMap<T, R>[E]>) => void)(...args);
      } catch (err) {
        if (event !== "error") this.emit("error", err instanceof Error ? err : new Error(String(err)));
      }
    }
  }
}

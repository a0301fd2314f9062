// Embedded queue backend: in-process workers over the `queue_jobs` table of the node's SQLite store.
// Jobs survive restarts. A worker claims jobs with one atomic UPDATE … RETURNING and holds a lease on them, renewed
// while the handler runs; a job whose lease ran out (its worker died) is claimed again by the next worker, and a
// job held by a process that no longer exists is reclaimed at once when a worker starts. Several instances (in one
// process or several processes on the same file) can share a queue: a claim is atomic, so a job runs once at a
// time, and again only after its worker died.
import { randomUUID } from "node:crypto";
import type { SQLOutputValue } from "node:sqlite";
import { Store } from "../store/sqlite.ts";
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

export interface EmbeddedQueueOptions {
  /** Queue name; several queues can live in one store. */
  name: string;
  /** An open store (left open by close()), or the path of one to open (closed by close()). */
  store: Store | string;
  /** Retry policy for jobs that do not set their own. */
  defaults?: RetryOptions;
  /** How long a claimed job stays reserved without a renewal, ms; default 30000. Renewed every leaseMs / 3. */
  leaseMs?: number;
  /** How often to look for jobs added by other instances or due after a backoff, ms; default 250. */
  pollMs?: number;
  /** Times a job may be reclaimed from a dead worker before it is failed; default 3. */
  maxStalls?: number;
  /** How long finished jobs are kept (and their ids stay taken), ms; default 7 days. */
  retainMs?: number;
}

/** Lock owners of the instances alive in this process (to tell them from a previous process with our pid). */
const liveOwners = new Set<string>();

interface ClaimedRow {
  id: string;
  payload: string;
  attempts: number;
  max_attempts: number;
  backoff_ms: number;
  stalls: number;
}

export class EmbeddedQueue<T = Json, R = Json> implements JobQueue<T, R> {
  readonly backend = "embedded" as const;
  readonly name: string;
  readonly store: Store;
  private readonly ownsStore: boolean;
  private readonly defaults: Required<RetryOptions>;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly maxStalls: number;
  private readonly retainMs: number;
  /** `${pid}:${uuid}`: who holds a claimed job. */
  private readonly owner = `${process.pid}:${randomUUID()}`;
  private readonly listeners = new Listeners<T, R>();
  private handler: JobHandler<T, R> | undefined;
  private concurrency = 1;
  private readonly running = new Map<string, Promise<void>>();
  private pollTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private pumpQueued = false;
  private lastPrune = 0;
  private closing: Promise<void> | undefined;

  constructor(options: EmbeddedQueueOptions) {
    this.name = options.name;
    this.ownsStore = typeof options.store === "string";
    this.store = typeof options.store === "string" ? new Store(options.store) : options.store;
    this.defaults = retryPolicy(options.defaults, {
      attempts: DEFAULT_ATTEMPTS,
      backoffMs: DEFAULT_BACKOFF_MS,
    });
    this.leaseMs = options.leaseMs ?? 30_000;
    this.pollMs = options.pollMs ?? 250;
    this.maxStalls = options.maxStalls ?? 3;
    this.retainMs = options.retainMs ?? 7 * 24 * 3600_000;
    liveOwners.add(this.owner);
  }

  async add(job: NewQueueJob<T>): Promise<void> {
    this.assertOpen();
    const { attempts, backoffMs } = retryPolicy(job.opts, this.defaults);
    const now = this.store.now();
    this.store
      .statement(
        `INSERT INTO queue_jobs (queue, id, payload, state, attempts, max_attempts, backoff_ms, run_at, created_at,
           updated_at)
         VALUES (?, ?, ?, 'waiting', 0, ?, ?, ?, ?, ?)
         ON CONFLICT (queue, id) DO NOTHING`,
      )
      .run(
        this.name,
        job.id,
        JSON.stringify(job.data ?? null),
        attempts,
        backoffMs,
        now + (job.opts?.delayMs ?? 0),
        now,
        now,
      );
    if (this.handler) this.schedulePump();
  }

  process(handler: JobHandler<T, R>, options: ProcessOptions = {}): void {
    this.assertOpen();
    if (this.handler) throw new Error(`queue ${this.name}: process() was already called on this instance`);
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be >= 1`);
    this.handler = handler;
    this.concurrency = concurrency;
    this.recoverDeadOwners();
    this.renewTimer = setInterval(() => this.renewLeases(), Math.max(10, Math.floor(this.leaseMs / 3)));
    this.schedulePump();
  }

  async depth(): Promise<number> {
    this.assertOpen();
    const row = this.store
      .statement("SELECT COUNT(*) AS n FROM queue_jobs WHERE queue = ? AND state IN ('waiting', 'active')")
      .get(this.name);
    return Number(row?.n ?? 0);
  }

  async waitFor(id: string, timeoutMs = 60_000): Promise<JobOutcome<R>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.assertOpen();
      const row = this.store
        .statement("SELECT state, result, error FROM queue_jobs WHERE queue = ? AND id = ?")
        .get(this.name, id);
      if (!row) throw new Error(`queue ${this.name}: no job ${id}`);
      if (row.state === "completed") return { state: "completed", result: parseJson(row.result) as R };
      if (row.state === "failed") return { state: "failed", reason: String(row.error ?? "") };
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`queue ${this.name}: job ${id} not finished after ${timeoutMs} ms`);
      // Woken early by this instance's own workers; other instances' work is seen by polling.
      await new Promise<void>((resolve) => {
        const offs: (() => void)[] = [];
        const done = () => {
          clearTimeout(timer);
          for (const off of offs) off();
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, this.pollMs));
        offs.push(this.listeners.on("completed", (job) => job.id === id && done()));
        offs.push(this.listeners.on("failed", (job) => job.id === id && done()));
      });
    }
  }

  on<E extends keyof QueueEventMap<T, R>>(event: E, listener: QueueEventMap<T, R>[E]): () => void {
    return this.listeners.on(event, listener);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.pollTimer);
      this.pollTimer = undefined;
      // Let running handlers finish (their leases keep being renewed meanwhile).
      while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
      clearInterval(this.renewTimer);
      liveOwners.delete(this.owner);
      if (this.ownsStore) this.store.close();
    })();
    return this.closing;
  }

  // ---- worker ----

  private assertOpen(): void {
    if (this.closing) throw new Error(`queue ${this.name} is closed`);
  }

  private schedulePump(): void {
    if (this.pumpQueued || this.closing) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** Claims as many due jobs as there are free slots, starts them, and sets the timer for the next look. */
  private pump(): void {
    if (this.closing || !this.handler) return;
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    try {
      const free = this.concurrency - this.running.size;
      if (free > 0) for (const row of this.claim(free)) this.start(row);
      this.prune();
    } catch (err) {
      this.listeners.emit("error", asError(err));
    }
    if (this.running.size < this.concurrency) {
      this.pollTimer = setTimeout(() => this.pump(), this.nextWakeMs());
    }
  }

  private claim(limit: number): ClaimedRow[] {
    const now = this.store.now();
    return this.store
      .statement(
        `UPDATE queue_jobs SET
           attempts = CASE WHEN state = 'waiting' THEN attempts + 1 ELSE attempts END,
           stalls = CASE WHEN state = 'active' THEN stalls + 1 ELSE stalls END,
           state = 'active', locked_until = ?, lock_owner = ?, updated_at = ?
         WHERE rowid IN (
           SELECT rowid FROM queue_jobs
           WHERE queue = ? AND ((state = 'waiting' AND run_at <= ?) OR (state = 'active' AND locked_until <= ?))
           ORDER BY run_at, rowid LIMIT ?)
         RETURNING id, payload, attempts, max_attempts, backoff_ms, stalls`,
      )
      .all(now + this.leaseMs, this.owner, now, this.name, now, now, limit) as unknown as ClaimedRow[];
  }

  private start(row: ClaimedRow): void {
    const job: QueueJob<T> = {
      id: row.id,
      data: JSON.parse(row.payload) as T,
      attempt: Number(row.attempts),
      maxAttempts: Number(row.max_attempts),
    };
    if (Number(row.stalls) > this.maxStalls) {
      this.finishFailed(job, `job stalled ${row.stalls} times (its worker died while running it)`);
      return;
    }
    const run = (async () => {
      let result: R;
      try {
        result = await this.handler!(job);
      } catch (err) {
        this.onHandlerError(job, Number(row.backoff_ms), err);
        return;
      }
      this.onHandlerDone(job, result);
    })().finally(() => {
      this.running.delete(job.id);
      this.schedulePump();
    });
    this.running.set(job.id, run);
  }

  private onHandlerDone(job: QueueJob<T>, result: R): void {
    try {
      const changed = this.store
        .statement(
          `UPDATE queue_jobs SET state = 'completed', result = ?, error = NULL, locked_until = NULL, lock_owner = NULL,
             updated_at = ?
           WHERE queue = ? AND id = ? AND state = 'active' AND lock_owner = ?`,
        )
        .run(JSON.stringify(result ?? null), this.store.now(), this.name, job.id, this.owner).changes;
      if (Number(changed) === 1) this.listeners.emit("completed", job, result);
      else
        this.listeners.emit(
          "error",
          new Error(`queue ${this.name}: job ${job.id} finished after its lease was lost`),
        );
    } catch (err) {
      this.listeners.emit("error", asError(err));
    }
  }

  private onHandlerError(job: QueueJob<T>, backoffMs: number, err: unknown): void {
    const reason = errorMessage(err);
    if (err instanceof PermanentJobError || job.attempt >= job.maxAttempts) {
      this.finishFailed(job, reason);
      return;
    }
    const delayMs = backoffDelay(backoffMs, job.attempt);
    try {
      const now = this.store.now();
      const changed = this.store
        .statement(
          `UPDATE queue_jobs SET state = 'waiting', run_at = ?, error = ?, locked_until = NULL, lock_owner = NULL,
             updated_at = ?
           WHERE queue = ? AND id = ? AND state = 'active' AND lock_owner = ?`,
        )
        .run(now + delayMs, reason, now, this.name, job.id, this.owner).changes;
      if (Number(changed) === 1) this.listeners.emit("retrying", job, reason, delayMs);
    } catch (e) {
      this.listeners.emit("error", asError(e));
    }
  }

  private finishFailed(job: QueueJob<T>, reason: string): void {
    try {
      const changed = this.store
        .statement(
          `UPDATE queue_jobs SET state = 'failed', error = ?, locked_until = NULL, lock_owner = NULL, updated_at = ?
           WHERE queue = ? AND id = ? AND state = 'active' AND lock_owner = ?`,
        )
        .run(reason, this.store.now(), this.name, job.id, this.owner).changes;
      if (Number(changed) === 1) this.listeners.emit("failed", job, reason);
    } catch (err) {
      this.listeners.emit("error", asError(err));
    }
  }

  private renewLeases(): void {
    if (this.running.size === 0) return;
    try {
      this.store
        .statement(
          `UPDATE queue_jobs SET locked_until = ? WHERE queue = ? AND state = 'active' AND lock_owner = ?`,
        )
        .run(this.store.now() + this.leaseMs, this.name, this.owner);
    } catch (err) {
      this.listeners.emit("error", asError(err));
    }
  }

  /** Makes jobs held by processes that no longer exist claimable now rather than when their lease ends. */
  private recoverDeadOwners(): void {
    try {
      const rows = this.store
        .statement(
          "SELECT DISTINCT lock_owner FROM queue_jobs WHERE queue = ? AND state = 'active' AND lock_owner IS NOT NULL",
        )
        .all(this.name);
      const release = this.store.statement(
        "UPDATE queue_jobs SET locked_until = 0 WHERE queue = ? AND state = 'active' AND lock_owner = ?",
      );
      for (const { lock_owner } of rows) {
        if (!ownerAlive(String(lock_owner))) release.run(this.name, String(lock_owner));
      }
    } catch (err) {
      this.listeners.emit("error", asError(err));
    }
  }

  /** Until the next due job or lease expiry, at most pollMs. */
  private nextWakeMs(): number {
    try {
      const row = this.store
        .statement(
          `SELECT MIN(CASE WHEN state = 'waiting' THEN run_at ELSE locked_until END) AS due FROM queue_jobs
           WHERE queue = ? AND (state = 'waiting' OR (state = 'active' AND lock_owner != ?))`,
        )
        .get(this.name, this.owner);
      if (row?.due != null) return Math.max(0, Math.min(this.pollMs, Number(row.due) - this.store.now()));
    } catch (err) {
      this.listeners.emit("error", asError(err));
    }
    return this.pollMs;
  }

  private prune(): void {
    const now = this.store.now();
    if (now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    this.store
      .statement(
        "DELETE FROM queue_jobs WHERE queue = ? AND state IN ('completed', 'failed') AND updated_at < ?",
      )
      .run(this.name, now - this.retainMs);
  }
}

function ownerAlive(owner: string): boolean {
  const pid = Number(owner.split(":")[0]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return liveOwners.has(owner);
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function parseJson(value: SQLOutputValue | undefined): unknown {
  return value == null ? null : JSON.parse(String(value));
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

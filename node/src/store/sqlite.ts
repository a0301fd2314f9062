// The node's embedded store: one SQLite file (WAL) over node:sqlite, synchronous like node:sqlite itself.
// It holds the chain checkpoint and recent block hashes (reorg detection), the job records (state machine with
// compare-and-set transitions, so delivery is exactly-once) and the embedded queue's table (see jobs/embedded.ts).
// The schema is versioned with PRAGMA user_version; migrations run once, in order, inside one transaction.
import { createRequire } from "node:module";
import { randomUUID } from "node:crypto";
import type {
  DatabaseSync as DatabaseSyncType,
  SQLInputValue,
  SQLOutputValue,
  StatementSync,
} from "node:sqlite";

/** node:sqlite, loaded without its one-line ExperimentalWarning (Node 22 prints it on first load). */
const { DatabaseSync } = loadSqlite();

function loadSqlite(): typeof import("node:sqlite") {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (warning: string | Error, ...rest: unknown[]): void {
    const type = typeof rest[0] === "string" ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === "ExperimentalWarning" && String(warning).includes("SQLite")) return;
    return (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    return createRequire(import.meta.url)("node:sqlite") as typeof import("node:sqlite");
  } finally {
    process.emitWarning = emitWarning;
  }
}

export type Hex = `0x${string}`;

export const JOB_KINDS = ["onchain", "offchain"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const JOB_STATES = [
  "pending",
  "running",
  "computed",
  "delivering",
  "delivered",
  "failed",
  "cancelled",
] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface Checkpoint {
  blockNumber: number;
  blockHash: Hex;
}

export interface JobRecord {
  id: string;
  /** Idempotency key: `${chainId}:${subscriptionId}:${interval}:${node}` on-chain (see onchainJobKey), a uuid off-chain. */
  key: string;
  kind: JobKind;
  state: JobState;
  /** Container ids of the pipeline, in order. */
  containers: string[];
  input: Hex | null;
  /** Any JSON value (an on-chain reply is usually a hex string). */
  output: unknown;
  attempts: number;
  error: string | null;
  txHash: Hex | null;
  /** Block of the request (on-chain jobs), for reorg rollback. */
  blockNumber: number | null;
  /** API key id of the submitter (off-chain jobs). */
  owner: string | null;
  /** Free-form JSON for what the pipeline needs to keep (subscription id, interval, nonce, …). */
  meta: Record<string, unknown> | null;
  createdAt: number;
  updatedAt: number;
}

export interface NewJob {
  /** Defaults to a random uuid. */
  id?: string;
  key: string;
  kind: JobKind;
  /** Defaults to "pending". */
  state?: JobState;
  containers: readonly string[];
  input?: Hex | Uint8Array | null;
  blockNumber?: number | bigint | null;
  owner?: string | null;
  meta?: Record<string, unknown> | null;
}

/** Fields a transition may set besides the state; `undefined` leaves a field as it is, `null` clears it. */
export interface JobPatch {
  output?: unknown;
  error?: string | null;
  txHash?: Hex | null;
  attempts?: number;
  meta?: Record<string, unknown> | null;
  /** Replaces the request (a job revived after a reorg carries the new chain's request). */
  input?: Hex | null;
  blockNumber?: number | bigint | null;
}

export interface ListJobsQuery {
  state?: JobState | readonly JobState[];
  owner?: string;
  kind?: JobKind;
  /** Page size, 1..1000; default 50. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string | null;
}

export interface JobPage {
  /** Newest first. */
  jobs: JobRecord[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface StoreOptions {
  /** Busy timeout for a locked database (another connection writing), ms. Default 5000. */
  busyTimeoutMs?: number;
  /**
   * SQLite `synchronous` in WAL mode. "normal" (default) survives a killed process; "full" also survives power
   * loss at the cost of one fsync per commit.
   */
  synchronous?: "normal" | "full";
  /** Clock for createdAt/updatedAt (tests). */
  now?: () => number;
}

/** A store the node cannot use: bad cursor, schema from a newer node, … */
export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreError";
  }
}

/** Idempotency key of an on-chain job: one per chain, subscription, interval and node. */
export function onchainJobKey(
  chainId: number | bigint,
  subscriptionId: number | bigint,
  interval: number | bigint,
  node: string,
): string {
  return `${chainId}:${subscriptionId}:${interval}:${node.toLowerCase()}`;
}

/** Schema migrations; index i brings the schema from version i to i + 1. Append only, never edit. */
const MIGRATIONS: readonly string[] = [
  // 1: chain checkpoint, recent block hashes, job records
  `CREATE TABLE checkpoint (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     block_number INTEGER NOT NULL,
     block_hash TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE blocks (
     number INTEGER PRIMARY KEY,
     hash TEXT NOT NULL
   );
   CREATE TABLE jobs (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     key TEXT NOT NULL UNIQUE,
     kind TEXT NOT NULL CHECK (kind IN (${JOB_KINDS.map((k) => `'${k}'`).join(", ")})),
     state TEXT NOT NULL CHECK (state IN (${JOB_STATES.map((s) => `'${s}'`).join(", ")})),
     containers TEXT NOT NULL,
     input BLOB,
     output TEXT,
     attempts INTEGER NOT NULL DEFAULT 0,
     error TEXT,
     tx_hash TEXT,
     block_number INTEGER,
     owner TEXT,
     meta TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX jobs_by_state ON jobs (state, seq);
   CREATE INDEX jobs_by_owner ON jobs (owner, seq);
   CREATE INDEX jobs_by_block ON jobs (block_number) WHERE block_number IS NOT NULL;`,
  // 2: the embedded queue (jobs/embedded.ts)
  `CREATE TABLE queue_jobs (
     queue TEXT NOT NULL,
     id TEXT NOT NULL,
     payload TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('waiting', 'active', 'completed', 'failed')),
     attempts INTEGER NOT NULL DEFAULT 0,
     max_attempts INTEGER NOT NULL,
     backoff_ms INTEGER NOT NULL,
     run_at INTEGER NOT NULL,
     locked_until INTEGER,
     lock_owner TEXT,
     stalls INTEGER NOT NULL DEFAULT 0,
     error TEXT,
     result TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (queue, id)
   );
   CREATE INDEX queue_jobs_ready ON queue_jobs (queue, state, run_at);`,
  // 3: REST API keys (api/keys.ts: only a sha256 of each secret is kept) and delegated subscriptions submitted
  //    through the API (api/delegated.ts). Off-chain jobs live in `jobs` (kind 'offchain', owner = key id).
  `CREATE TABLE IF NOT EXISTS api_keys (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     secret_hash TEXT NOT NULL,
     rate_limit INTEGER,
     created_at INTEGER NOT NULL,
     revoked_at INTEGER
   );
   CREATE TABLE IF NOT EXISTS delegated_subscriptions (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     owner_key TEXT NOT NULL,
     sub_owner TEXT NOT NULL,
     nonce INTEGER NOT NULL,
     signer TEXT NOT NULL,
     container TEXT NOT NULL,
     request TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'created', 'failed')),
     subscription_id TEXT,
     tx_hash TEXT,
     error TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     UNIQUE (sub_owner, nonce)
   );
   CREATE INDEX IF NOT EXISTS delegated_by_state ON delegated_subscriptions (state, seq);`,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

type Row = Record<string, SQLOutputValue>;

const JOB_COLUMNS = `seq, id, key, kind, state, containers, input, output, attempts, error, tx_hash, block_number,
  owner, meta, created_at, updated_at`;

/** The node's store over one SQLite file (or `:memory:`). Owns the database handle; close() it. */
export class Store {
  readonly path: string;
  /** The raw handle, for modules that keep their own tables in this file (jobs/embedded.ts). */
  readonly db: DatabaseSyncType;
  readonly now: () => number;
  private readonly statements = new Map<string, StatementSync>();
  private savepoints = 0;

  constructor(path: string, options: StoreOptions = {}) {
    this.path = path;
    this.now = options.now ?? Date.now;
    this.db = new DatabaseSync(path, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      if (path !== ":memory:") this.db.exec("PRAGMA journal_mode = WAL");
      this.db.exec(`PRAGMA synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`);
      this.migrate();
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  /** The schema version of the open file. */
  schemaVersion(): number {
    return Number(this.get("PRAGMA user_version")?.user_version ?? 0);
  }

  close(): void {
    this.statements.clear();
    if (this.db.isOpen) this.db.close();
  }

  /**
   * Runs fn in one IMMEDIATE transaction (the write lock taken up front); rolls back if it throws. Called inside
   * another transaction it runs as a savepoint of that one.
   */
  transaction<T>(fn: () => T): T {
    const nested = this.db.isTransaction;
    const savepoint = `sp${++this.savepoints}`;
    this.db.exec(nested ? `SAVEPOINT ${savepoint}` : "BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.db.exec(nested ? `RELEASE ${savepoint}` : "COMMIT");
      return result;
    } catch (err) {
      if (nested) this.db.exec(`ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
      else if (this.db.isTransaction) this.db.exec("ROLLBACK");
      throw err;
    } finally {
      this.savepoints--;
    }
  }

  private migrate(): void {
    this.transaction(() => {
      const version = this.schemaVersion();
      if (version > MIGRATIONS.length) {
        throw new StoreError(
          `store ${this.path}: schema version ${version} is newer than this node understands (${MIGRATIONS.length})`,
        );
      }
      for (let v = version; v < MIGRATIONS.length; v++) this.db.exec(MIGRATIONS[v]!);
      if (version !== MIGRATIONS.length) this.db.exec(`PRAGMA user_version = ${MIGRATIONS.length}`);
    });
  }

  /** A prepared statement, cached per SQL text. */
  statement(sql: string): StatementSync {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  private get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.statement(sql).get(...params) as Row | undefined;
  }

  private all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.statement(sql).all(...params) as Row[];
  }

  private run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.statement(sql).run(...params).changes);
  }

  // ---- chain checkpoint and recent blocks ----

  getCheckpoint(): Checkpoint | undefined {
    const row = this.get("SELECT block_number, block_hash FROM checkpoint WHERE id = 1");
    return row && { blockNumber: Number(row.block_number), blockHash: row.block_hash as Hex };
  }

  setCheckpoint(checkpoint: { blockNumber: number | bigint; blockHash: Hex }): void {
    this.run(
      `INSERT INTO checkpoint (id, block_number, block_hash, updated_at) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash,
         updated_at = excluded.updated_at`,
      blockNum(checkpoint.blockNumber),
      checkpoint.blockHash.toLowerCase(),
      this.now(),
    );
  }

  /** Remembers a processed block's hash (replacing an older hash at that height). */
  recordBlock(number: number | bigint, hash: Hex): void {
    this.run(
      "INSERT INTO blocks (number, hash) VALUES (?, ?) ON CONFLICT (number) DO UPDATE SET hash = excluded.hash",
      blockNum(number),
      hash.toLowerCase(),
    );
  }

  /** The recorded hash at a height (lower-case), if any. */
  blockHash(number: number | bigint): Hex | undefined {
    return this.get("SELECT hash FROM blocks WHERE number = ?", blockNum(number))?.hash as Hex | undefined;
  }

  /** The highest recorded block, if any. */
  latestBlock(): Checkpoint | undefined {
    const row = this.get("SELECT number, hash FROM blocks ORDER BY number DESC LIMIT 1");
    return row && { blockNumber: Number(row.number), blockHash: row.hash as Hex };
  }

  /** Forgets block hashes below a height (older than any reorg the node guards against). Returns how many. */
  pruneBlocks(belowNumber: number | bigint): number {
    return this.run("DELETE FROM blocks WHERE number < ?", blockNum(belowNumber));
  }

  /**
   * After a reorg whose common ancestor is `number`: forgets the block hashes above it and moves the checkpoint
   * back to it (with its recorded hash) if the checkpoint was beyond. Jobs are left alone: see jobsAfterBlock.
   * Returns how many block records were removed.
   */
  rollbackTo(number: number | bigint): number {
    const n = blockNum(number);
    return this.transaction(() => {
      const removed = this.run("DELETE FROM blocks WHERE number > ?", n);
      const checkpoint = this.getCheckpoint();
      if (checkpoint && checkpoint.blockNumber > n) {
        const hash = this.blockHash(n);
        if (hash) this.setCheckpoint({ blockNumber: n, blockHash: hash });
        else this.run("DELETE FROM checkpoint WHERE id = 1");
      }
      return removed;
    });
  }

  // ---- jobs ----

  /** Inserts a job unless one with the same key exists; returns the stored job and whether it was created. */
  upsertJob(job: NewJob): { job: JobRecord; created: boolean } {
    const now = this.now();
    const created =
      this.run(
        `INSERT INTO jobs (id, key, kind, state, containers, input, attempts, block_number, owner, meta, created_at,
           updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO NOTHING`,
        job.id ?? randomUUID(),
        job.key,
        job.kind,
        job.state ?? "pending",
        JSON.stringify(job.containers),
        job.input == null ? null : toBytes(job.input),
        job.blockNumber == null ? null : blockNum(job.blockNumber),
        job.owner ?? null,
        job.meta == null ? null : JSON.stringify(job.meta),
        now,
        now,
      ) === 1;
    const stored = this.getJobByKey(job.key);
    if (!stored) throw new StoreError(`job ${job.key}: not found right after insert`);
    return { job: stored, created };
  }

  getJob(id: string): JobRecord | undefined {
    const row = this.get(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`, id);
    return row && toJob(row);
  }

  getJobByKey(key: string): JobRecord | undefined {
    const row = this.get(`SELECT ${JOB_COLUMNS} FROM jobs WHERE key = ?`, key);
    return row && toJob(row);
  }

  /**
   * Compare-and-set: moves job `id` to `to` (applying `patch`) only if its current state is one of `from`, in one
   * statement, so of several racing callers (threads, processes) exactly one wins. Returns whether it moved.
   */
  transition(id: string, from: readonly JobState[], to: JobState, patch: JobPatch = {}): boolean {
    if (from.length === 0) return false;
    const sets = ["state = ?", "updated_at = ?"];
    const params: SQLInputValue[] = [to, this.now()];
    if (patch.output !== undefined) {
      sets.push("output = ?");
      params.push(patch.output === null ? null : JSON.stringify(patch.output));
    }
    if (patch.error !== undefined) {
      sets.push("error = ?");
      params.push(patch.error);
    }
    if (patch.txHash !== undefined) {
      sets.push("tx_hash = ?");
      params.push(patch.txHash === null ? null : patch.txHash.toLowerCase());
    }
    if (patch.attempts !== undefined) {
      sets.push("attempts = ?");
      params.push(patch.attempts);
    }
    if (patch.meta !== undefined) {
      sets.push("meta = ?");
      params.push(patch.meta === null ? null : JSON.stringify(patch.meta));
    }
    if (patch.input !== undefined) {
      sets.push("input = ?");
      params.push(patch.input === null ? null : toBytes(patch.input));
    }
    if (patch.blockNumber !== undefined) {
      sets.push("block_number = ?");
      params.push(patch.blockNumber === null ? null : blockNum(patch.blockNumber));
    }
    const sql = `UPDATE jobs SET ${sets.join(", ")} WHERE id = ? AND state IN (${from.map(() => "?").join(", ")})`;
    return this.run(sql, ...params, id, ...from) === 1;
  }

  /** Jobs newest first, filtered by state(s), owner and kind, in pages of `limit`. */
  listJobs(query: ListJobsQuery = {}): JobPage {
    const limit = query.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new StoreError(`listJobs: limit must be an integer in 1..1000, got ${limit}`);
    }
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (query.state !== undefined) {
      const states: readonly JobState[] = typeof query.state === "string" ? [query.state] : query.state;
      if (states.length === 0) return { jobs: [], nextCursor: null };
      where.push(`state IN (${states.map(() => "?").join(", ")})`);
      params.push(...states);
    }
    if (query.owner !== undefined) {
      where.push("owner = ?");
      params.push(query.owner);
    }
    if (query.kind !== undefined) {
      where.push("kind = ?");
      params.push(query.kind);
    }
    if (query.cursor != null) {
      if (!/^[1-9][0-9]{0,15}$/.test(query.cursor)) throw new StoreError(`listJobs: invalid cursor`);
      where.push("seq < ?");
      params.push(Number(query.cursor));
    }
    const rows = this.all(
      `SELECT ${JOB_COLUMNS} FROM jobs ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY seq DESC LIMIT ?`,
      ...params,
      limit + 1,
    );
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    return {
      jobs: page.map(toJob),
      nextCursor: more ? String(page[page.length - 1]!.seq) : null,
    };
  }

  /** Jobs requested in blocks above `number` (a reorg back to `number` may have removed their requests). */
  jobsAfterBlock(number: number | bigint): JobRecord[] {
    return this.all(
      `SELECT ${JOB_COLUMNS} FROM jobs WHERE block_number > ? ORDER BY block_number, seq`,
      blockNum(number),
    ).map(toJob);
  }

  /** How many jobs are in each state (every state present, zero included). */
  countByState(): Record<JobState, number> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const row of this.all("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")) {
      counts[row.state as JobState] = Number(row.n);
    }
    return counts;
  }
}

function blockNum(n: number | bigint): number {
  const v = Number(n);
  if (!Number.isSafeInteger(v) || v < 0) throw new StoreError(`invalid block number ${n}`);
  return v;
}

function toBytes(input: Hex | Uint8Array): Uint8Array {
  if (typeof input !== "string") return input;
  if (!/^0x([0-9a-fA-F]{2})*$/.test(input)) throw new StoreError(`job input is not hex bytes`);
  return Buffer.from(input.slice(2), "hex");
}

function parseJson(value: SQLOutputValue | undefined): unknown {
  return value == null ? null : JSON.parse(String(value));
}

function toJob(row: Row): JobRecord {
  return {
    id: row.id as string,
    key: row.key as string,
    kind: row.kind as JobKind,
    state: row.state as JobState,
    containers: JSON.parse(row.containers as string) as string[],
    input: row.input == null ? null : `0x${Buffer.from(row.input as Uint8Array).toString("hex")}`,
    output: parseJson(row.output),
    attempts: Number(row.attempts),
    error: (row.error as string | null) ?? null,
    txHash: (row.tx_hash as Hex | null) ?? null,
    blockNumber: row.block_number == null ? null : Number(row.block_number),
    owner: (row.owner as string | null) ?? null,
    meta: parseJson(row.meta) as Record<string, unknown> | null,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

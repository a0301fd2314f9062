import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import {
  JOB_STATES,
  SCHEMA_VERSION,
  Store,
  StoreError,
  onchainJobKey,
  type Hex,
  type JobState,
} from "../node/src/store/sqlite.ts";

const hash = (n: number): Hex => `0x${n.toString(16).padStart(64, "0")}`;

describe("node store (node:sqlite)", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "infernet-store-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("migrates a new file once, keeps data and version on reopen, and upgrades an older schema", () => {
    const path = join(dir, "migrate.db");
    const first = new Store(path);
    assert.equal(first.schemaVersion(), SCHEMA_VERSION);
    assert.equal(first.db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
    first.setCheckpoint({ blockNumber: 7n, blockHash: hash(7) });
    first.upsertJob({ key: "k1", kind: "offchain", containers: ["hello"] });
    first.close();

    for (let i = 0; i < 2; i++) {
      const again = new Store(path);
      assert.equal(again.schemaVersion(), SCHEMA_VERSION);
      assert.deepEqual(again.getCheckpoint(), { blockNumber: 7, blockHash: hash(7) });
      assert.equal(again.listJobs().jobs.length, 1);
      again.close();
    }

    // A file left at version 1 (no queue table yet) gets migration 2 on open, and keeps its jobs.
    const old = new Store(path);
    old.db.exec("DROP TABLE queue_jobs; PRAGMA user_version = 1");
    old.close();
    const upgraded = new Store(path);
    assert.equal(upgraded.schemaVersion(), SCHEMA_VERSION);
    assert.ok(upgraded.db.prepare("SELECT name FROM sqlite_master WHERE name = 'queue_jobs'").get());
    assert.ok(upgraded.getJobByKey("k1"));
    upgraded.close();
  });

  it("refuses a file written by a newer schema", () => {
    const path = join(dir, "newer.db");
    const s = new Store(path);
    s.db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    s.close();
    assert.throws(
      () => new Store(path),
      (err: unknown) =>
        err instanceof StoreError && err.message.includes(`schema version ${SCHEMA_VERSION + 1}`),
    );
  });

  it("keeps the checkpoint and block hashes; rollbackTo drops blocks above and moves the checkpoint back", () => {
    const s = new Store(":memory:");
    assert.equal(s.getCheckpoint(), undefined);
    for (let n = 100; n <= 110; n++) s.recordBlock(n, hash(n));
    s.setCheckpoint({ blockNumber: 110, blockHash: hash(110) });
    assert.equal(s.blockHash(105), hash(105));
    assert.deepEqual(s.latestBlock(), { blockNumber: 110, blockHash: hash(110) });

    // A re-recorded height replaces the old hash (reorged block seen again), stored lower-case.
    s.recordBlock(108, `0x${"AB".repeat(32)}`);
    assert.equal(s.blockHash(108), `0x${"ab".repeat(32)}`);

    assert.equal(s.rollbackTo(105), 5);
    assert.equal(s.blockHash(106), undefined);
    assert.equal(s.blockHash(105), hash(105));
    assert.deepEqual(s.getCheckpoint(), { blockNumber: 105, blockHash: hash(105) });

    // Rolling back to where the checkpoint already is leaves it alone.
    assert.equal(s.rollbackTo(105), 0);
    assert.deepEqual(s.getCheckpoint(), { blockNumber: 105, blockHash: hash(105) });

    assert.equal(s.pruneBlocks(103), 3);
    assert.equal(s.blockHash(102), undefined);
    assert.equal(s.blockHash(103), hash(103));

    // Rolling back below every recorded hash: no hash to resume from, so the checkpoint is cleared.
    assert.equal(s.rollbackTo(50), 3);
    assert.equal(s.getCheckpoint(), undefined);
    assert.throws(() => s.recordBlock(-1, hash(1)), StoreError);
    s.close();
  });

  it("transaction commits or rolls back as a whole; a nested one is a savepoint", () => {
    const s = new Store(":memory:");
    assert.throws(() =>
      s.transaction(() => {
        s.recordBlock(1, hash(1));
        throw new Error("abort");
      }),
    );
    assert.equal(s.blockHash(1), undefined);

    s.transaction(() => {
      s.recordBlock(2, hash(2));
      assert.throws(() =>
        s.transaction(() => {
          s.recordBlock(3, hash(3));
          throw new Error("inner");
        }),
      );
      s.rollbackTo(2); // itself a transaction: nests
    });
    assert.equal(s.blockHash(2), hash(2));
    assert.equal(s.blockHash(3), undefined);
    assert.equal(s.db.isTransaction, false);
    s.close();
  });

  it("upsertJob inserts once per key and returns the existing job after", () => {
    const s = new Store(":memory:", { now: () => 1000 });
    const key = onchainJobKey(31337, 4n, 2, "0xAbC0000000000000000000000000000000000001");
    assert.equal(key, "31337:4:2:0xabc0000000000000000000000000000000000001");
    const a = s.upsertJob({
      key,
      kind: "onchain",
      containers: ["a", "b"],
      input: "0x00ff10",
      blockNumber: 12n,
      meta: { subscriptionId: "4" },
    });
    assert.equal(a.created, true);
    assert.equal(a.job.state, "pending");
    assert.equal(a.job.input, "0x00ff10");
    assert.deepEqual(a.job.containers, ["a", "b"]);
    assert.equal(a.job.blockNumber, 12);
    assert.equal(a.job.createdAt, 1000);
    assert.match(a.job.id, /^[0-9a-f-]{36}$/);

    const b = s.upsertJob({ id: "other", key, kind: "onchain", containers: ["x"], input: "0x01" });
    assert.equal(b.created, false);
    assert.deepEqual(b.job, a.job);
    assert.equal(s.getJob("other"), undefined);
    assert.deepEqual(s.getJob(a.job.id), a.job);
    assert.equal(s.countByState().pending, 1);

    assert.throws(
      () => s.upsertJob({ key: "bad", kind: "offchain", containers: [], input: "0x123" }),
      StoreError,
    );
    // Same id under another key is a different job: refused rather than silently merged.
    assert.throws(() => s.upsertJob({ id: a.job.id, key: "k2", kind: "offchain", containers: [] }));
    s.close();
  });

  it("transition is compare-and-set: moves only from the listed states and applies the patch only then", () => {
    let t = 0;
    const s = new Store(":memory:", { now: () => ++t });
    const { job } = s.upsertJob({ key: "cas", kind: "offchain", containers: ["c"], owner: "api-1" });

    assert.equal(s.transition(job.id, ["running"], "computed", { output: "nope" }), false);
    assert.equal(s.getJob(job.id)!.state, "pending");
    assert.equal(s.getJob(job.id)!.output, null);

    assert.equal(s.transition(job.id, ["pending"], "running", { attempts: 1 }), true);
    assert.equal(s.transition(job.id, ["running"], "computed", { output: { image: "0xbeef" } }), true);
    assert.equal(s.transition(job.id, ["computed"], "delivering", { txHash: `0x${"CD".repeat(32)}` }), true);
    assert.equal(s.transition(job.id, ["delivering"], "delivered", { error: null }), true);
    assert.equal(s.transition(job.id, ["delivering"], "delivered"), false);
    assert.equal(s.transition(job.id, [], "failed"), false);
    assert.equal(s.transition("missing", ["pending"], "running"), false);

    const done = s.getJob(job.id)!;
    assert.equal(done.state, "delivered");
    assert.equal(done.attempts, 1);
    assert.deepEqual(done.output, { image: "0xbeef" });
    assert.equal(done.txHash, `0x${"cd".repeat(32)}`);
    assert.equal(done.owner, "api-1");
    assert.ok(done.updatedAt > done.createdAt);
    s.close();
  });

  it("two threads racing delivering → delivered on the same jobs: exactly one wins each", async () => {
    const path = join(dir, "race.db");
    const s = new Store(path);
    const ids: string[] = [];
    for (let i = 0; i < 400; i++) {
      const { job } = s.upsertJob({
        key: `race-${i}`,
        kind: "offchain",
        containers: ["c"],
        state: "delivering",
      });
      ids.push(job.id);
    }
    const barrier = new SharedArrayBuffer(8);
    const gate = new Int32Array(barrier);
    const names = ["t1", "t2"];
    const workers = names.map(
      (name) =>
        new Worker(new URL("./helpers/store-race-worker.ts", import.meta.url), {
          workerData: { path, ids, barrier, name },
        }),
    );
    const results = workers.map(
      (w) =>
        new Promise<string[]>((resolve, reject) => {
          w.once("message", resolve);
          w.once("error", reject);
        }),
    );
    while (Atomics.load(gate, 1) < names.length) await new Promise((r) => setTimeout(r, 5));
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    const won = await Promise.all(results);

    const all = won.flat();
    assert.equal(all.length, ids.length, "every job moved exactly once in total");
    assert.equal(new Set(all).size, ids.length, "no job moved twice");
    for (const [i, name] of names.entries()) {
      for (const id of won[i]!) assert.equal(s.getJob(id)!.meta?.winner, name);
    }
    assert.equal(s.countByState().delivered, ids.length);
    s.close();
  });

  it("listJobs pages newest first with a cursor and filters by state and owner", () => {
    const s = new Store(":memory:");
    const states: JobState[] = ["pending", "running", "delivered"];
    for (let i = 0; i < 25; i++) {
      s.upsertJob({
        id: `job-${i}`,
        key: `key-${i}`,
        kind: i % 2 ? "onchain" : "offchain",
        containers: ["c"],
        state: states[i % 3],
        owner: i % 5 === 0 ? "alice" : "bob",
        blockNumber: i % 2 ? 1000 + i : null,
      });
    }

    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const page = s.listJobs({ limit: 10, cursor });
      sizes.push(page.jobs.length);
      seen.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(sizes, [10, 10, 5]);
    assert.deepEqual(
      seen,
      Array.from({ length: 25 }, (_, i) => `job-${24 - i}`),
    );

    // An exact multiple of the page size ends without an empty extra page.
    const alice = s.listJobs({ owner: "alice", limit: 5 });
    assert.equal(alice.jobs.length, 5);
    assert.equal(alice.nextCursor, null);
    assert.ok(alice.jobs.every((j) => j.owner === "alice"));

    const pendingPage1 = s.listJobs({ state: "pending", limit: 4 });
    const pendingPage2 = s.listJobs({ state: "pending", limit: 4, cursor: pendingPage1.nextCursor });
    const pending = [
      ...pendingPage1.jobs,
      ...pendingPage2.jobs,
      ...s.listJobs({ state: "pending", limit: 4, cursor: pendingPage2.nextCursor }).jobs,
    ];
    assert.equal(pending.length, 9);
    assert.ok(pending.every((j) => j.state === "pending"));
    assert.equal(s.listJobs({ state: ["running", "delivered"], limit: 100 }).jobs.length, 16);
    assert.equal(s.listJobs({ state: [] }).jobs.length, 0);
    assert.equal(s.listJobs({ kind: "onchain", limit: 100 }).jobs.length, 12);

    assert.throws(() => s.listJobs({ cursor: "abc" }), StoreError);
    assert.throws(() => s.listJobs({ limit: 0 }), StoreError);

    const counts = s.countByState();
    assert.deepEqual(Object.keys(counts).sort(), [...JOB_STATES].sort());
    assert.equal(counts.pending + counts.running + counts.delivered, 25);
    assert.equal(counts.failed, 0);

    const after = s.jobsAfterBlock(1019);
    assert.deepEqual(
      after.map((j) => j.blockNumber),
      [1021, 1023],
    );
    s.close();
  });
});

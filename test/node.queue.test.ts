import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BullQueue,
  EmbeddedQueue,
  PermanentJobError,
  createQueue,
  decodeJobId,
  encodeJobId,
  type JobQueue,
  type QueueConfig,
  type QueueJob,
} from "../node/src/jobs/index.ts";
import { benchQueue } from "../node/src/jobs/bench.ts";

interface Data {
  n: number;
  sleepMs?: number;
  hang?: boolean;
}
type Result = { by: string; n: number };

/** One test's storage; every open() is a new instance (own handle / connections) over that same storage. */
interface Harness {
  open(overrides?: Partial<QueueConfig>): JobQueue<Data, Result>;
  /** The config a child process opens the same queue with. */
  config(overrides?: Partial<QueueConfig>): QueueConfig;
  /**
   * Lease for the crash test. Embedded: far beyond the test's timeout, so only the start-up recovery of jobs held
   * by dead processes can pass it. BullMQ: short, since recovery there is lock expiry + the stalled-job check.
   */
  crashLeaseMs: number;
  cleanup(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function startChild(config: QueueConfig & { concurrency?: number }): {
  child: ChildProcess;
  started: string[];
  done: string[];
  ready: Promise<void>;
  exited: Promise<number | null>;
} {
  const child = fork(new URL("./helpers/queue-worker.ts", import.meta.url), [JSON.stringify(config)], {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const started: string[] = [];
  const done: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    child.on("message", (msg: unknown) => {
      if (msg === "ready") resolve();
      else if (msg && typeof msg === "object" && "started" in msg) started.push(String(msg.started));
      else if (msg && typeof msg === "object" && "done" in msg) done.push(String(msg.done));
    });
    child.once("exit", () => reject(new Error("queue worker child exited before it was ready")));
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, started, done, ready, exited };
}

/** The behaviour every backend must have. */
function queueSuite(backend: string, makeHarness: () => Harness) {
  describe(`job queue (${backend})`, () => {
    const harnesses: Harness[] = [];
    const open: JobQueue<Data, Result>[] = [];
    const harness = () => {
      const h = makeHarness();
      harnesses.push(h);
      return {
        open: (o?: Partial<QueueConfig>) => {
          const q = h.open(o);
          open.push(q);
          return q;
        },
        config: h.config,
        crashLeaseMs: h.crashLeaseMs,
      };
    };
    after(async () => {
      await Promise.allSettled(open.map((q) => q.close()));
      await Promise.allSettled(harnesses.map((h) => h.cleanup()));
    });

    it("processes each job once with concurrency 2 and reports results", async () => {
      const q = harness().open();
      const ids = Array.from({ length: 20 }, (_, i) => `job:${i}`);
      for (const [i, id] of ids.entries()) await q.add({ id, data: { n: i } });
      assert.equal(await q.depth(), 20);

      const handled: string[] = [];
      const completed = new Map<string, Result>();
      q.on("completed", (job, result) => completed.set(job.id, result));
      let inFlight = 0;
      let maxInFlight = 0;
      q.process(
        async (job) => {
          handled.push(job.id);
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          await sleep(15);
          inFlight--;
          return { by: "parent", n: job.data.n * 2 };
        },
        { concurrency: 2 },
      );
      await until(() => completed.size === 20, "20 completions");
      assert.deepEqual([...handled].sort(), [...ids].sort());
      assert.equal(maxInFlight, 2);
      assert.deepEqual(completed.get("job:7"), { by: "parent", n: 14 });
      assert.deepEqual(await q.waitFor("job:3", 5000), {
        state: "completed",
        result: { by: "parent", n: 6 },
      });
      await until(async () => (await q.depth()) === 0, "an empty queue");
      assert.throws(() => q.process(async () => ({ by: "x", n: 0 })), /already/);
      await assert.rejects(q.waitFor("never-added", 1000), /no job/);
    });

    it("retries with exponential backoff, then fails with the last reason", async () => {
      const q = harness().open({ defaults: { attempts: 3, backoffMs: 60 } });
      const starts = new Map<string, number[]>();
      const retries: [string, string, number][] = [];
      const failed: [string, string, number][] = [];
      q.on("retrying", (job, reason, delayMs) => retries.push([job.id, reason, delayMs]));
      q.on("failed", (job, reason) => failed.push([job.id, reason, job.attempt]));
      await q.add({ id: "flaky", data: { n: 1 } });
      await q.add({ id: "doomed", data: { n: 2 } });
      await q.add({ id: "permanent", data: { n: 3 }, opts: { attempts: 5 } });
      q.process(
        async (job: QueueJob<Data>) => {
          const list = starts.get(job.id) ?? [];
          list.push(Date.now());
          starts.set(job.id, list);
          assert.equal(job.attempt, list.length, "attempt numbers count the runs");
          if (job.id === "permanent") throw new PermanentJobError("bad input");
          if (job.id === "flaky" && job.attempt < 3) throw new Error(`flake ${job.attempt}`);
          if (job.id === "doomed") throw new Error(`boom ${job.attempt}`);
          return { by: "parent", n: job.data.n };
        },
        { concurrency: 2 },
      );
      assert.deepEqual(await q.waitFor("flaky", 10_000), {
        state: "completed",
        result: { by: "parent", n: 1 },
      });
      assert.deepEqual(await q.waitFor("doomed", 10_000), { state: "failed", reason: "boom 3" });
      assert.deepEqual(await q.waitFor("permanent", 10_000), { state: "failed", reason: "bad input" });
      await until(() => failed.length === 2, "two failed events");

      assert.equal(starts.get("flaky")!.length, 3);
      assert.equal(starts.get("doomed")!.length, 3);
      assert.equal(starts.get("permanent")!.length, 1, "a PermanentJobError is not retried");
      const doomed = starts.get("doomed")!;
      // Exponential: 60 ms before the 2nd run, 120 ms before the 3rd (a few ms of timer slack allowed).
      assert.ok(doomed[1]! - doomed[0]! >= 55, `first backoff ${doomed[1]! - doomed[0]!} ms`);
      assert.ok(doomed[2]! - doomed[1]! >= 115, `second backoff ${doomed[2]! - doomed[1]!} ms`);
      assert.deepEqual(
        retries.filter(([id]) => id === "doomed"),
        [
          ["doomed", "boom 1", 60],
          ["doomed", "boom 2", 120],
        ],
      );
      assert.deepEqual(
        failed.sort(([a], [b]) => a.localeCompare(b)),
        [
          ["doomed", "boom 3", 3],
          ["permanent", "bad input", 1],
        ],
      );
    });

    it("adds a job id once, however often it is added", async () => {
      const q = harness().open();
      await q.add({ id: "same", data: { n: 1 } });
      await q.add({ id: "same", data: { n: 2 } });
      await q.add({ id: "other", data: { n: 3 } });
      assert.equal(await q.depth(), 2);
      const handled: Data[] = [];
      q.process(async (job) => {
        handled.push(job.data);
        return { by: "parent", n: job.data.n };
      });
      assert.deepEqual(await q.waitFor("same", 5000), { state: "completed", result: { by: "parent", n: 1 } });
      await q.waitFor("other", 5000);
      // Once finished, the id stays taken (retention): adding it again runs nothing.
      await q.add({ id: "same", data: { n: 4 } });
      await sleep(150);
      assert.deepEqual(
        handled.map((d) => d.n),
        [1, 3],
      );
      assert.equal(await q.depth(), 0);
    });

    it("keeps jobs across a restart: added, closed unprocessed, reopened, all processed", async () => {
      const h = harness();
      const first = h.open();
      for (let i = 0; i < 10; i++) await first.add({ id: `p${i}`, data: { n: i } });
      await first.close();

      const second = h.open();
      assert.equal(await second.depth(), 10);
      const handled: string[] = [];
      second.process(
        async (job) => {
          handled.push(job.id);
          return { by: "parent", n: job.data.n };
        },
        { concurrency: 2 },
      );
      for (let i = 0; i < 10; i++) assert.equal((await second.waitFor(`p${i}`, 10_000)).state, "completed");
      assert.equal(handled.length, 10);
      assert.equal(new Set(handled).size, 10);
    });

    it("two instances sharing the queue process every job exactly once between them", async () => {
      const h = harness();
      const a = h.open();
      const b = h.open();
      const byA: string[] = [];
      const byB: string[] = [];
      const handler = (list: string[]) => async (job: QueueJob<Data>) => {
        list.push(job.id);
        await sleep(10);
        return { by: "x", n: job.data.n };
      };
      a.process(handler(byA), { concurrency: 2 });
      b.process(handler(byB), { concurrency: 2 });
      const ids = Array.from({ length: 40 }, (_, i) => `shared-${i}`);
      for (const [i, id] of ids.entries()) await (i % 2 ? a : b).add({ id, data: { n: i } });
      await until(() => byA.length + byB.length >= 40, "40 jobs handled");
      await sleep(100);
      const all = [...byA, ...byB];
      assert.equal(all.length, 40, "no job handled twice");
      assert.deepEqual(new Set(all), new Set(ids));
      assert.ok(byA.length > 0 && byB.length > 0, `both worked: ${byA.length} / ${byB.length}`);
    });

    it("a child process and this process share the queue: every job processed exactly once", async () => {
      const h = harness();
      const worker = startChild({ ...h.config(), concurrency: 2 });
      try {
        await worker.ready;
        const q = h.open();
        const ids = Array.from({ length: 40 }, (_, i) => `x-${i}`);
        for (const [i, id] of ids.entries()) await q.add({ id, data: { n: i, sleepMs: 20 } });
        await until(() => worker.started.length > 0, "the child to start a job");
        const mine: string[] = [];
        q.process(
          async (job) => {
            mine.push(job.id);
            await sleep(job.data.sleepMs ?? 0);
            return { by: "parent", n: job.data.n };
          },
          { concurrency: 2 },
        );
        for (const id of ids) assert.equal((await q.waitFor(id, 20_000)).state, "completed");
        await sleep(100);
        const all = [...mine, ...worker.done];
        assert.equal(all.length, 40, `handled ${mine.length} here + ${worker.done.length} in the child`);
        assert.deepEqual(new Set(all), new Set(ids));
        assert.ok(
          mine.length > 0 && worker.done.length > 0,
          `both worked: ${mine.length} / ${worker.done.length}`,
        );
      } finally {
        worker.child.send("close");
        await worker.exited;
      }
    });

    it("a job whose worker process was killed mid-run is run again by the next worker", async () => {
      const h = harness();
      const worker = startChild({ ...h.config({ leaseMs: h.crashLeaseMs }), concurrency: 1 });
      await worker.ready;
      const q = h.open({ leaseMs: h.crashLeaseMs });
      await q.add({ id: "crash", data: { n: 9, hang: true } });
      await until(() => worker.started.includes("crash"), "the child to start the job");
      worker.child.kill("SIGKILL");
      await worker.exited;
      assert.equal(await q.depth(), 1, "still pending after the crash");

      const runs: QueueJob<Data>[] = [];
      q.process(async (job) => {
        runs.push(job);
        return { by: "parent", n: job.data.n };
      });
      assert.deepEqual(await q.waitFor("crash", 15_000), {
        state: "completed",
        result: { by: "parent", n: 9 },
      });
      assert.equal(runs.length, 1);
      assert.equal(runs[0]!.attempt, 1, "a crash is not a failed attempt");
    });
  });
}

// ---- embedded ----

const tmp = mkdtempSync(join(tmpdir(), "infernet-queue-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

queueSuite("embedded", () => {
  const path = join(tmp, `${randomUUID()}.db`);
  const name = "q";
  const config = (o: Partial<QueueConfig> = {}): QueueConfig =>
    ({ backend: "embedded", name, store: path, pollMs: 20, ...o }) as QueueConfig;
  return {
    open: (o) => createQueue<Data, Result>(config(o)),
    config,
    crashLeaseMs: 600_000,
    cleanup: async () => {},
  };
});

// ---- BullMQ ----

const redisHost = process.env.REDIS_HOST ?? "127.0.0.1";
const redisPort = Number(process.env.REDIS_PORT ?? 6379);
const redisUp = await new Promise<boolean>((resolve) => {
  const socket = connect({ host: redisHost, port: redisPort });
  socket.setTimeout(1000, () => (socket.destroy(), resolve(false)));
  socket.once("error", () => resolve(false));
  socket.once("connect", () => socket.write("PING\r\n"));
  socket.once("data", (buf) => (socket.destroy(), resolve(buf.toString().startsWith("+PONG"))));
});
if (!redisUp && process.env.CI) throw new Error(`Redis is not answering on ${redisHost}:${redisPort}`);

const runId = `infernet-test-${process.pid}-${randomUUID().slice(0, 8)}`;
describe("BullMQ backend", { skip: redisUp ? false : `no Redis on ${redisHost}:${redisPort}` }, () => {
  queueSuite("bullmq", () => {
    const name = `q-${randomUUID().slice(0, 8)}`;
    const config = (o: Partial<QueueConfig> = {}): QueueConfig =>
      ({
        backend: "bullmq",
        name,
        prefix: runId,
        connection: { host: redisHost, port: redisPort },
        ...o,
      }) as QueueConfig;
    return {
      open: (o) => createQueue<Data, Result>(config(o)),
      config,
      crashLeaseMs: 1000,
      cleanup: async () => {
        const admin = new BullQueue({
          name,
          prefix: runId,
          connection: { host: redisHost, port: redisPort },
        });
        await admin.obliterate();
        await admin.close();
      },
    };
  });
});

describe("queue helpers", () => {
  it("BullMQ job ids encode injectively and round-trip", () => {
    const ids = ["1:2:3:0xab", "42", "%3A", ":", "%", "plain", "a%i", "%i1", "007"];
    const encoded = ids.map(encodeJobId);
    assert.equal(new Set(encoded).size, ids.length);
    for (const [i, e] of encoded.entries()) {
      assert.ok(!e.includes(":"), e);
      assert.notEqual(`${parseInt(e, 10)}`, e);
      assert.equal(decodeJobId(e), ids[i]);
    }
    assert.throws(() => encodeJobId(""), RangeError);
  });

  it("the bench measures a positive rate and processes every job (embedded)", async () => {
    const r = await benchQueue(
      () => new EmbeddedQueue({ name: "bench", store: join(tmp, "bench.db"), pollMs: 20 }),
      200,
    );
    assert.equal(r.jobs, 200);
    assert.ok(r.jobsPerSec > 0 && Number.isFinite(r.jobsPerSec));
  });
});

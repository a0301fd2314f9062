// Off-chain jobs through the REST API: the real store, the embedded queue (and BullMQ on the real Redis), the hello
// container as a local process; pipelines, batches, paging, key scoping, failures with retries, and event streams.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { InlineRuntime } from "../node/src/runtime/inline.ts";
import {
  REDIS_HOST,
  REDIS_PORT,
  helloProcess,
  readEvents,
  startApiHarness,
  waitForJob,
  type ApiHarness,
} from "./helpers/api.ts";

type Json = Record<string, unknown>;

async function create(h: ApiHarness, body: unknown, key?: string): Promise<string> {
  const res = await h.call("/api/jobs", { json: body, ...(key ? { key } : {}) });
  const reply = (await res.json()) as Json;
  assert.equal(res.status, 200, JSON.stringify(reply));
  assert.match(String(reply.id), /^[0-9a-f-]{36}$/);
  return String(reply.id);
}

describe("API: off-chain jobs (embedded queue, hello as a process)", () => {
  let h: ApiHarness;
  let calls = 0;
  before(async () => {
    h = await startApiHarness({
      runtimes: [
        helloProcess("hello"),
        helloProcess("slow", { HELLO_DELAY_MS: "300" }),
        // Fails its first call of every job, then answers: exercises retries.
        new InlineRuntime("flaky", (r) => {
          if (calls++ % 2 === 0) throw Object.assign(new Error("flaky: try again"), { retryable: true });
          return { ok: r.data };
        }),
        new InlineRuntime("broken", () => ({ code: "500", error: "model not loaded" })),
        new InlineRuntime("malformed", () => ["not", "an", "object"] as unknown as Record<string, unknown>),
      ],
      attempts: 2,
      backoffMs: 20,
      api: { sseKeepaliveMs: 100 },
    });
  });
  after(() => h?.close());

  it("POST /api/jobs → {id}; GET /api/jobs/:id goes queued/running → success with the container's output", async () => {
    const id = await create(h, { containers: ["hello"], data: { prompt: "a cat" }, requires_proof: true });
    const job = await waitForJob(h, id);
    assert.equal(job.status, "success");
    assert.deepEqual(job.result, { container: "hello", output: { echo: { prompt: "a cat" } } });
    assert.equal(job.requires_proof, true);
    assert.equal(job.error, null);
    assert.equal(job.attempts, 1);
    assert.deepEqual(job.containers, ["hello"]);
    assert.ok(Date.parse(String(job.created_at)) <= Date.parse(String(job.updated_at)));
  });

  it("a pipeline passes each container's output to the next one", async () => {
    const id = await create(h, { containers: ["hello", "slow", "hello"], data: [1, "two", null] });
    const job = await waitForJob(h, id);
    assert.equal(job.status, "success");
    assert.deepEqual(job.result, {
      container: "hello",
      output: { echo: { echo: { echo: [1, "two", null] } } },
    });
    assert.deepEqual(job.progress, { step: 3, steps: 3, container: "hello" });
  });

  it("GET /api/jobs/:id/events streams state changes and per-step progress of a 3-step pipeline, then the result, then ends", async () => {
    const id = await create(h, { containers: ["slow", "slow", "slow"], data: "x" });
    const res = await h.call(`/api/jobs/${id}/events`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get("content-type")), /^text\/event-stream/);
    assert.equal(res.headers.get("cache-control"), "no-cache, no-transform");
    const { events, comments } = await readEvents(res);
    const names = events.map((e) => e.event);
    // The first event is the state when the stream opened; the job is 3 × 300 ms long, so the steps stream live.
    assert.equal(names[0], "state");
    const progress = events.filter((e) => e.event === "progress").map((e) => e.data as Json);
    assert.deepEqual(
      progress.map((p) => [p.step, p.steps, p.container]),
      [
        [1, 3, "slow"],
        [2, 3, "slow"],
        [3, 3, "slow"],
      ].slice(3 - progress.length),
    );
    assert.ok(progress.length >= 2, `streamed live: ${JSON.stringify(names)}`);
    assert.ok(
      progress.every((p) => Number(p.ms) >= 100),
      "each step took its 300 ms",
    );
    assert.deepEqual(names.slice(-2), ["state", "result"]);
    assert.deepEqual(events.at(-2)!.data, { status: "success" });
    const result = events.at(-1)!.data as Json;
    assert.equal(result.id, id);
    assert.equal(result.status, "success");
    assert.deepEqual(result.result, { container: "slow", output: { echo: { echo: { echo: "x" } } } });
    // Event ids count up; keepalive comments flow while the job runs (api.sseKeepaliveMs = 100 here).
    assert.deepEqual(
      events.map((e) => Number(e.id)),
      events.map((_, i) => i + 1),
    );
    assert.ok(comments.includes("keepalive"), JSON.stringify(comments));
    assert.equal(h.jobs.events.size, 0, "the stream unsubscribed when it ended");
  });

  it("a finished job's stream gives its state and result at once; another key's job is a 404", async () => {
    const id = await create(h, { containers: ["hello"], data: 7 });
    await waitForJob(h, id);
    const { events } = await readEvents(await h.call(`/api/jobs/${id}/events`));
    assert.deepEqual(
      events.map((e) => e.event),
      ["state", "result"],
    );
    assert.equal((events[0]!.data as Json).status, "success");
    const other = await h.call(`/api/jobs/${id}/events`, { key: h.otherKey });
    assert.equal(other.status, 404);
    assert.equal((await h.call(`/api/jobs/nope/events`)).status, 404);
  });

  it("a client that goes away unsubscribes; the job goes on", async () => {
    const id = await create(h, { containers: ["slow", "slow"], data: 1 });
    const controller = new AbortController();
    const res = await h.call(`/api/jobs/${id}/events`, { signal: controller.signal });
    assert.equal(res.status, 200);
    controller.abort();
    await res.body?.cancel().catch(() => {});
    assert.equal((await waitForJob(h, id)).status, "success");
    for (let i = 0; i < 50 && h.jobs.events.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.jobs.events.size, 0);
    assert.equal(h.ctx.sseStreams.size, 0);
  });

  it("a failing step is retried (retrying event, back to queued) and then succeeds", async () => {
    // The slow first step gives the stream time to open before the first attempt fails.
    const id = await create(h, { containers: ["slow", "flaky"], data: "r" });
    const { events } = await readEvents(await h.call(`/api/jobs/${id}/events`));
    const names = events.map((e) => e.event);
    assert.ok(names.includes("retrying"), JSON.stringify(names));
    assert.match(
      String((events.find((e) => e.event === "retrying")!.data as Json).reason),
      /flaky: try again/,
    );
    const job = events.at(-1)!.data as Json;
    assert.equal(job.status, "success");
    assert.equal(job.attempts, 2);
    assert.deepEqual(job.result, { container: "flaky", output: { ok: { echo: "r" } } });
    assert.ok(names.indexOf("retrying") < names.lastIndexOf("progress"), "the retry ran the pipeline again");
  });

  it("a container that keeps reporting an error fails the job after the last attempt, naming the container", async () => {
    const id = await create(h, { containers: ["hello", "broken"], data: 1 });
    const job = await waitForJob(h, id);
    assert.equal(job.status, "failed");
    assert.equal(job.attempts, 2);
    assert.equal(job.result, null);
    assert.equal((job.error as Json).container, "broken");
    assert.match(String((job.error as Json).message), /code 500/);
    assert.deepEqual(job.progress, { step: 1, steps: 2, container: "hello" });
  });

  it("a reply that breaks the container contract fails the job at once (not retryable)", async () => {
    const id = await create(h, { containers: ["malformed"], data: 1 });
    const job = await waitForJob(h, id);
    assert.equal(job.status, "failed");
    assert.equal(job.attempts, 1);
    assert.match(String((job.error as Json).message), /malformed reply/);
    assert.equal((job.error as Json).container, "malformed");
  });

  it("POST /api/jobs/batch: one {id} or {error} per job, in order", async () => {
    const res = await h.call("/api/jobs/batch", {
      json: [
        { containers: ["hello"], data: 1 },
        { containers: ["nope"], data: 2 },
        { containers: ["hello", "hello"], data: 3 },
      ],
    });
    assert.equal(res.status, 200);
    const out = (await res.json()) as Json[];
    assert.equal(out.length, 3);
    assert.match(String(out[0]!.id), /^[0-9a-f-]{36}$/);
    assert.match(String(out[1]!.error), /"nope" is not served/);
    const third = await waitForJob(h, String(out[2]!.id));
    assert.deepEqual(third.result, { container: "hello", output: { echo: { echo: 3 } } });
    const tooMany = await h.call("/api/jobs/batch", {
      json: Array.from({ length: 101 }, () => ({ containers: ["hello"], data: 0 })),
    });
    assert.equal(tooMany.status, 400);
    assert.match(String(((await tooMany.json()) as Json).message), /at most 100 jobs per batch/);
  });

  it("keys are scoped: a key sees only its own jobs (404 for another key's, an empty list)", async () => {
    const mine = await create(h, { containers: ["hello"], data: "mine" });
    assert.equal((await h.call(`/api/jobs/${mine}`, { key: h.otherKey })).status, 404);
    const theirs = await create(h, { containers: ["hello"], data: "theirs" }, h.otherKey);
    assert.equal((await h.call(`/api/jobs/${theirs}`)).status, 404);
    assert.equal((await h.call(`/api/jobs/${theirs}`, { key: h.otherKey })).status, 200);
    const list = (await (await h.call("/api/jobs?limit=1000", { key: h.otherKey })).json()) as {
      jobs: Json[];
      total: number;
    };
    assert.deepEqual(
      list.jobs.map((j) => j.id),
      [theirs],
    );
    assert.equal(list.total, 1);
  });
});

describe("API: listing jobs (paging)", () => {
  let h: ApiHarness;
  before(async () => {
    h = await startApiHarness({ inline: { echo: (r) => ({ echo: r.data }) } });
  });
  after(() => h?.close());

  it("GET /api/jobs pages newest first by cursor (stable while jobs arrive) or by offset, and filters by status", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await create(h, { containers: ["echo"], data: i }));
    for (const id of ids) await waitForJob(h, id);
    const newestFirst = [...ids].reverse();

    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page = (await (await h.call(`/api/jobs?limit=3${cursor ? `&cursor=${cursor}` : ""}`)).json()) as {
        jobs: Json[];
        next_cursor: string | null;
        total: number;
      };
      if (pages.length === 0) assert.equal(page.total, 7);
      pages.push(page.jobs.map((j) => String(j.id)));
      cursor = page.next_cursor;
      // A job created between pages does not shift the cursor's pages.
      if (pages.length === 1) await create(h, { containers: ["echo"], data: "late" });
    } while (cursor !== null);
    assert.deepEqual(pages, [newestFirst.slice(0, 3), newestFirst.slice(3, 6), newestFirst.slice(6)]);

    const byOffset = (await (await h.call("/api/jobs?limit=2&offset=3")).json()) as {
      jobs: Json[];
      total: number;
    };
    assert.equal(byOffset.total, 8);
    assert.deepEqual(
      byOffset.jobs.map((j) => j.id),
      newestFirst.slice(2, 4),
    );
    const beyond = (await (await h.call("/api/jobs?offset=100")).json()) as {
      jobs: Json[];
      next_cursor: null;
    };
    assert.deepEqual(beyond.jobs, []);
    assert.equal(beyond.next_cursor, null);

    await waitForJob(
      h,
      String(((await (await h.call("/api/jobs?limit=1")).json()) as { jobs: Json[] }).jobs[0]!.id),
    );
    const ok = (await (await h.call("/api/jobs?status=success&limit=1000")).json()) as { jobs: Json[] };
    assert.equal(ok.jobs.length, 8);
    const failed = (await (await h.call("/api/jobs?status=failed")).json()) as {
      jobs: Json[];
      total: number;
    };
    assert.deepEqual([failed.jobs.length, failed.total], [0, 0]);
  });
});

describe("API: off-chain jobs on BullMQ (real Redis)", () => {
  let h: ApiHarness;
  let prefix = "";
  before(async () => {
    h = await startApiHarness({
      queue: "bullmq",
      runtimes: [helloProcess("hello"), helloProcess("slow", { HELLO_DELAY_MS: "100" })],
    });
    prefix = String((h.queue as unknown as { prefix: string }).prefix ?? "");
  });
  after(async () => {
    await h?.close();
    // The harness obliterated its queue: nothing is left under its prefix.
    if (prefix) {
      const redis = new Redis({
        host: REDIS_HOST,
        port: REDIS_PORT,
        lazyConnect: true,
        maxRetriesPerRequest: 1,
      });
      try {
        await redis.connect();
        const left = await redis.keys(`${prefix}:*`);
        assert.deepEqual(left, [], "no keys left under the test prefix");
      } finally {
        redis.disconnect();
      }
    }
  });

  it("jobs run through the BullMQ queue: status, result, events and /info's backend", async () => {
    assert.ok(prefix.startsWith("infernet-test-api-"), prefix);
    const id = await create(h, { containers: ["slow", "hello"], data: { via: "redis" } });
    const { events } = await readEvents(await h.call(`/api/jobs/${id}/events`));
    assert.ok(
      events.some((e) => e.event === "progress"),
      JSON.stringify(events),
    );
    const job = events.at(-1)!.data as Json;
    assert.equal(job.status, "success");
    assert.deepEqual(job.result, { container: "hello", output: { echo: { echo: { via: "redis" } } } });
    const info = (await (await h.call("/info", { key: null })).json()) as { queue: Json };
    assert.equal(info.queue.backend, "bullmq");
    const batch = (await (
      await h.call("/api/jobs/batch", {
        json: Array.from({ length: 10 }, (_, i) => ({ containers: ["hello"], data: i })),
      })
    ).json()) as { id: string }[];
    const done = await Promise.all(batch.map((b) => waitForJob(h, b.id)));
    assert.deepEqual(
      done.map((j) => (j.result as { output: { echo: number } }).output.echo),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
  });
});

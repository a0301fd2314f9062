/**
 * Off-chain job throughput through the REST API: `node bench/offchain.ts` (or `benchOffchain()` from another bench).
 *
 * Set-up, all in this process: the node's real API server (fastify, listening on 127.0.0.1, port 0) with an API key,
 * a SQLite store in a temp dir, the off-chain engine on the embedded queue or on BullMQ (the real Redis at
 * REDIS_HOST:REDIS_PORT, a unique prefix obliterated afterwards), and a trivial workload: an in-process echo
 * container (`inline`), or the hello container as a local process over its unix socket (`process`).
 *
 * BENCH_CLIENTS (default 32) HTTP clients (keep-alive) each submit jobs with POST /api/jobs back to back until
 * BENCH_JOBS (default 5000) are submitted. Measured:
 *   jobs_per_s    jobs / (last job finished − first submit), i.e. sustained end-to-end throughput
 *   submit p50/p99  POST /api/jobs round trip, ms
 *   e2e p50/p99     submit start → the job's result recorded (the queue's "completed" event, in this process), ms
 * Queue worker concurrency: BENCH_CONCURRENCY (default 16). Both ends share this process's CPU, as they would on a
 * one-box deployment. BENCH_BACKENDS (default "embedded,bullmq") and BENCH_RUNTIMES (default "inline") select runs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { apiSchema } from "../node/src/config/schema.ts";
import { Store } from "../node/src/store/sqlite.ts";
import { BullQueue, createQueue } from "../node/src/jobs/index.ts";
import { OffchainJobs, type OffchainJobData } from "../node/src/offchain/jobs.ts";
import { InlineRuntime } from "../node/src/runtime/inline.ts";
import { ProcessRuntime } from "../node/src/runtime/process.ts";
import type { ContainerRuntime } from "../node/src/runtime/types.ts";
import { buildServer } from "../node/src/api/server.ts";
import { createApiKey } from "../node/src/api/keys.ts";
import { silentLogger } from "../node/src/log.ts";
import { createNodeMetrics } from "../node/src/metrics.ts";

const ROOT = join(fileURLToPath(import.meta.url), "..", "..");

export interface OffchainBenchOptions {
  backend: "embedded" | "bullmq";
  runtime: "inline" | "process";
  /** Jobs to run (default 5000). */
  jobs?: number;
  /** Concurrent HTTP clients (default 32). */
  clients?: number;
  /** Queue worker concurrency (default 16). */
  concurrency?: number;
  redis?: { host: string; port: number };
}

export interface OffchainBenchResult {
  backend: string;
  runtime: string;
  jobs: number;
  clients: number;
  concurrency: number;
  seconds: number;
  jobs_per_s: number;
  submit_p50_ms: number;
  submit_p99_ms: number;
  e2e_p50_ms: number;
  e2e_p99_ms: number;
  failed: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (x: number) => Math.round(x * 100) / 100;

export async function benchOffchain(options: OffchainBenchOptions): Promise<OffchainBenchResult> {
  const jobs = options.jobs ?? 5000;
  const clients = options.clients ?? 32;
  const concurrency = options.concurrency ?? 16;
  const redis = options.redis ?? {
    host: process.env.REDIS_HOST ?? "127.0.0.1",
    port: Number(process.env.REDIS_PORT ?? 6379),
  };
  const dir = mkdtempSync(join(tmpdir(), "infernet-bench-offchain-"));
  const store = new Store(join(dir, "node.sqlite"));
  const runtime: ContainerRuntime =
    options.runtime === "inline"
      ? new InlineRuntime("echo")
      : new ProcessRuntime(
          {
            id: "echo",
            runtime: "process",
            command: ["node", join(ROOT, "containers", "hello", "src", "server.ts")],
          },
          { cwd: ROOT },
        );
  await runtime.start();
  const prefix = `infernet-bench-${randomUUID().slice(0, 8)}`;
  const queue =
    options.backend === "bullmq"
      ? createQueue<OffchainJobData, string>({
          backend: "bullmq",
          name: "offchain-bench",
          connection: redis,
          prefix,
        })
      : createQueue<OffchainJobData, string>({ backend: "embedded", name: "offchain", store });
  const logger = silentLogger();
  const metrics = createNodeMetrics({ processMetrics: false });
  const engine = new OffchainJobs({ store, queue, runtimes: new Map([["echo", runtime]]), logger, metrics });
  const done = new Map<string, number>();
  let failed = 0;
  let allDone: () => void = () => {};
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  queue.on("completed", (job) => {
    done.set(job.data.jobId, performance.now());
    if (done.size + failed >= jobs) allDone();
  });
  queue.on("failed", () => {
    failed++;
    if (done.size + failed >= jobs) allDone();
  });
  await engine.start(concurrency);
  const app = await buildServer({
    api: apiSchema.parse({ enabled: true, rateLimit: { max: 10_000_000 } }),
    version: "bench",
    roles: ["provider"],
    store,
    jobs: engine,
    runtimes: new Map([["echo", runtime]]),
    containers: [],
    queues: { offchain: queue },
    health: async () => ({ status: "ok", failing: [], checks: {} as never }),
    metrics,
    logger,
    sseStreams: new Set(),
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/api/jobs`;
  const { key } = createApiKey(store, { name: "bench" });
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };

  try {
    // Warm-up: JIT, connections, prepared statements.
    for (let i = 0; i < 50; i++) {
      const res = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify({ containers: ["echo"], data: i }),
      });
      await res.arrayBuffer();
    }
    while ((await queue.depth()) > 0) await new Promise((r) => setTimeout(r, 10));
    done.clear();

    const started = new Map<string, number>();
    const submitMs: number[] = [];
    let submitted = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (submitted < jobs) {
          submitted++;
          const s = performance.now();
          const res = await fetch(url, {
            method: "POST",
            headers,
            body: JSON.stringify({ containers: ["echo"], data: { prompt: "a cat", n: submitted } }),
          });
          const body = (await res.json()) as { id?: string };
          if (res.status !== 200 || !body.id)
            throw new Error(`submit failed: ${res.status} ${JSON.stringify(body)}`);
          submitMs.push(performance.now() - s);
          started.set(body.id, s);
        }
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      finished,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("jobs did not finish in 120 s")), 120_000);
      }),
    ]).finally(() => clearTimeout(timer));
    const last = Math.max(...done.values());
    const e2e = [...done.entries()]
      .filter(([id]) => started.has(id))
      .map(([id, at]) => at - started.get(id)!)
      .sort((a, b) => a - b);
    submitMs.sort((a, b) => a - b);
    const seconds = (last - t0) / 1000;
    return {
      backend: options.backend,
      runtime: options.runtime,
      jobs,
      clients,
      concurrency,
      seconds: round(seconds),
      jobs_per_s: Math.round(jobs / seconds),
      submit_p50_ms: round(percentile(submitMs, 50)),
      submit_p99_ms: round(percentile(submitMs, 99)),
      e2e_p50_ms: round(percentile(e2e, 50)),
      e2e_p99_ms: round(percentile(e2e, 99)),
      failed,
    };
  } finally {
    await app.close();
    engine.close();
    await queue.close();
    if (options.backend === "bullmq") {
      const cleaner = new BullQueue({ name: "offchain-bench", connection: redis, prefix });
      await cleaner.obliterate().catch(() => {});
      await cleaner.close();
    }
    await runtime.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const backends = (process.env.BENCH_BACKENDS ?? "embedded,bullmq").split(
    ",",
  ) as OffchainBenchOptions["backend"][];
  const runtimes = (process.env.BENCH_RUNTIMES ?? "inline").split(",") as OffchainBenchOptions["runtime"][];
  const results: OffchainBenchResult[] = [];
  for (const runtime of runtimes) {
    for (const backend of backends) {
      results.push(
        await benchOffchain({
          backend,
          runtime,
          jobs: Number(process.env.BENCH_JOBS ?? 5000),
          clients: Number(process.env.BENCH_CLIENTS ?? 32),
          concurrency: Number(process.env.BENCH_CONCURRENCY ?? 16),
        }),
      );
      console.log(JSON.stringify(results.at(-1)));
    }
  }
  console.table(results);
}

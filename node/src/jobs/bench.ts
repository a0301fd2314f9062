// Queue throughput micro-benchmark: N trivial jobs through a backend, enqueue and drain timed separately.
// `node node/src/jobs/bench.ts [jobs]` prints a table for both backends (Redis from $REDIS_HOST/$REDIS_PORT).
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BullQueue } from "./bullmq.ts";
import { EmbeddedQueue } from "./embedded.ts";
import type { JobQueue } from "./queue.ts";

export interface BenchResult {
  backend: string;
  jobs: number;
  concurrency: number;
  /** Seconds to add the N jobs (one after another, no worker running). */
  enqueueSeconds: number;
  /** Seconds for one worker to run them all, from process() to the last completion. */
  processSeconds: number;
  enqueuePerSec: number;
  processPerSec: number;
  /** N / (enqueue + process): the end-to-end rate. */
  jobsPerSec: number;
}

type BenchQueue = JobQueue<{ i: number }, number>;

/** Runs n trivial jobs through a fresh, empty queue made by `open`, then closes it. */
export async function benchQueue(
  open: () => BenchQueue,
  n: number,
  options: { concurrency?: number } = {},
): Promise<BenchResult> {
  const concurrency = options.concurrency ?? 8;
  const queue = open();
  try {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await queue.add({ id: `bench-${i}`, data: { i }, opts: { attempts: 1 } });
    const t1 = performance.now();
    let done = 0;
    const finished = new Promise<void>((resolve, reject) => {
      queue.on("completed", () => ++done === n && resolve());
      queue.on("failed", (job, reason) => reject(new Error(`bench job ${job.id} failed: ${reason}`)));
    });
    queue.process(async (job) => job.data.i, { concurrency });
    await finished;
    const t2 = performance.now();
    const enqueueSeconds = (t1 - t0) / 1000;
    const processSeconds = (t2 - t1) / 1000;
    return {
      backend: queue.backend,
      jobs: n,
      concurrency,
      enqueueSeconds,
      processSeconds,
      enqueuePerSec: n / enqueueSeconds,
      processPerSec: n / processSeconds,
      jobsPerSec: n / (enqueueSeconds + processSeconds),
    };
  } finally {
    await queue.close();
  }
}

/** Both backends: embedded on a temporary SQLite file, BullMQ on a throwaway prefix (obliterated after). */
export async function benchQueues(
  options: { jobs?: number; concurrency?: number; redis?: { host?: string; port?: number } } = {},
): Promise<BenchResult[]> {
  const jobs = options.jobs ?? 2000;
  const results: BenchResult[] = [];
  const dir = mkdtempSync(join(tmpdir(), "infernet-bench-"));
  try {
    results.push(
      await benchQueue(
        () => new EmbeddedQueue({ name: "bench", store: join(dir, "bench.db") }),
        jobs,
        options,
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const bull = {
    name: "bench",
    prefix: `infernet-bench-${randomUUID().slice(0, 8)}`,
    connection: options.redis,
  };
  try {
    results.push(await benchQueue(() => new BullQueue(bull), jobs, options));
  } finally {
    const admin = new BullQueue(bull);
    await admin.obliterate();
    await admin.close();
  }
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const jobs = Number(process.argv[2] ?? 2000);
  const rows = await benchQueues({ jobs });
  console.log("backend   jobs  conc  enqueue/s  process/s  end-to-end/s");
  for (const r of rows) {
    console.log(
      [
        r.backend.padEnd(8),
        String(r.jobs).padStart(5),
        String(r.concurrency).padStart(5),
        r.enqueuePerSec.toFixed(0).padStart(10),
        r.processPerSec.toFixed(0).padStart(10),
        r.jobsPerSec.toFixed(0).padStart(13),
      ].join(" "),
    );
  }
  process.exit(0);
}

// Prometheus metrics of the node (prom-client), served by the REST API at GET /metrics.
//
// One process-wide registry, `nodeMetrics`, with small hooks the job modules, the sender and the API call:
//   observeJob             a job finished (kind, outcome, seconds from creation to the end); jobFinished: the same
//                          from the job's createdAt
//   observeTransaction     a transaction was mined, reverted or failed to send
//   countBroadcast         a transaction was broadcast (first time or as a replacement) — TransactionSender.onBroadcast
//   observeContainerStart  a container (runtime) started or failed to start
//   observeContainerCall   one call to a container ended (ok or not, seconds)
//   setChainLag            blocks between the chain head and the watcher's checkpoint
//   observeHttp            one API request ended
// Gauges computed when scraped (jobs by kind and state, queue depths) read from sources registered with
// addJobCountSource / addQueueSource; those return an unregister function (a stopped API removes its own).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type JobOutcome = "success" | "failed";
export type TransactionOutcome = "success" | "reverted" | "failed";

/** Jobs by kind and state, as counted in a store. */
export type JobCountSource = () => Iterable<{ kind: string; state: string; count: number }>;
/** A queue whose depth is reported (jobs waiting, delayed or running). */
export interface QueueSource {
  readonly name: string;
  depth(): Promise<number>;
}

/** Job latency buckets, seconds: from a few ms (in-process workloads) to half an hour (long inference). */
const JOB_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
/** HTTP and container call buckets, seconds. */
const CALL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface NodeMetrics {
  readonly registry: Registry;
  observeJob(o: { kind: string; outcome: JobOutcome; seconds: number }): void;
  /** observeJob for a job created at `createdAtMs` (epoch ms) that finishes now. */
  jobFinished(kind: string, outcome: JobOutcome, createdAtMs: number): void;
  observeTransaction(o: { functionName: string; outcome: TransactionOutcome }): void;
  countBroadcast(o: { functionName: string; replacement: number }): void;
  observeContainerStart(o: { container: string; ok: boolean }): void;
  observeContainerCall(o: { container: string; ok: boolean; seconds: number }): void;
  setChainLag(blocks: number): void;
  setChainHead(block: number): void;
  observeHttp(o: { method: string; route: string; status: number; seconds: number }): void;
  addJobCountSource(source: JobCountSource): () => void;
  addQueueSource(source: QueueSource): () => void;
  /** The text exposition format (Content-Type: `contentType`). */
  scrape(): Promise<string>;
  readonly contentType: string;
}

export interface CreateMetricsOptions {
  /** Also export Node's process metrics (CPU, memory, event loop lag, GC), prefixed `infernet_`. Default true. */
  processMetrics?: boolean;
}

export function createNodeMetrics(options: CreateMetricsOptions = {}): NodeMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "infernet_" });
  const jobSources = new Set<JobCountSource>();
  const queueSources = new Set<QueueSource>();

  new Gauge({
    name: "infernet_jobs",
    help: "Jobs in the store by kind (onchain, offchain) and state",
    labelNames: ["kind", "state"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const source of jobSources) {
        try {
          for (const row of source()) this.inc({ kind: row.kind, state: row.state }, row.count);
        } catch {
          // A store closed while being scraped: report what the others have.
        }
      }
    },
  });
  new Gauge({
    name: "infernet_queue_depth",
    help: "Jobs waiting, delayed or running in a queue",
    labelNames: ["queue"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        [...queueSources].map(async (q) => {
          try {
            this.set({ queue: q.name }, await q.depth());
          } catch {
            // queue closed or Redis down: no sample for it
          }
        }),
      );
    },
  });
  const jobsFinished = new Counter({
    name: "infernet_jobs_finished_total",
    help: "Jobs that reached a final state, by kind and outcome",
    labelNames: ["kind", "outcome"] as const,
    registers: [registry],
  });
  const jobSeconds = new Histogram({
    name: "infernet_job_duration_seconds",
    help: "Time from a job's creation to its final state, in seconds",
    labelNames: ["kind", "outcome"] as const,
    buckets: JOB_BUCKETS,
    registers: [registry],
  });
  const transactions = new Counter({
    name: "infernet_transactions_total",
    help: "Transactions by contract function and outcome (success, reverted, failed = not mined)",
    labelNames: ["function", "outcome"] as const,
    registers: [registry],
  });
  const broadcasts = new Counter({
    name: "infernet_transaction_broadcasts_total",
    help: "Transactions broadcast, by contract function and kind (first, replacement)",
    labelNames: ["function", "kind"] as const,
    registers: [registry],
  });
  const containerStarts = new Counter({
    name: "infernet_container_starts_total",
    help: "Container (runtime) starts by container and outcome",
    labelNames: ["container", "outcome"] as const,
    registers: [registry],
  });
  const containerCalls = new Counter({
    name: "infernet_container_calls_total",
    help: "Calls to containers by container and outcome",
    labelNames: ["container", "outcome"] as const,
    registers: [registry],
  });
  const containerSeconds = new Histogram({
    name: "infernet_container_call_duration_seconds",
    help: "Duration of one call to a container, in seconds",
    labelNames: ["container"] as const,
    buckets: CALL_BUCKETS,
    registers: [registry],
  });
  const chainLag = new Gauge({
    name: "infernet_chain_lag_blocks",
    help: "Blocks between the chain head and the last block the node processed",
    registers: [registry],
  });
  const chainHead = new Gauge({
    name: "infernet_chain_head_block",
    help: "Latest block number seen on the chain",
    registers: [registry],
  });
  const httpRequests = new Counter({
    name: "infernet_http_requests_total",
    help: "API requests by method, route and status code",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });
  const httpSeconds = new Histogram({
    name: "infernet_http_request_duration_seconds",
    help: "API request duration, in seconds",
    labelNames: ["method", "route"] as const,
    buckets: CALL_BUCKETS,
    registers: [registry],
  });

  const outcome = (ok: boolean) => (ok ? "ok" : "error");
  const observeJob: NodeMetrics["observeJob"] = ({ kind, outcome: o, seconds }) => {
    jobsFinished.inc({ kind, outcome: o });
    jobSeconds.observe({ kind, outcome: o }, Math.max(0, seconds));
  };
  return {
    registry,
    contentType: registry.contentType,
    observeJob,
    jobFinished(kind, o, createdAtMs) {
      observeJob({ kind, outcome: o, seconds: (Date.now() - createdAtMs) / 1000 });
    },
    observeTransaction({ functionName, outcome: o }) {
      transactions.inc({ function: functionName, outcome: o });
    },
    countBroadcast({ functionName, replacement }) {
      broadcasts.inc({ function: functionName, kind: replacement > 0 ? "replacement" : "first" });
    },
    observeContainerStart({ container, ok }) {
      containerStarts.inc({ container, outcome: outcome(ok) });
    },
    observeContainerCall({ container, ok, seconds }) {
      containerCalls.inc({ container, outcome: outcome(ok) });
      containerSeconds.observe({ container }, Math.max(0, seconds));
    },
    setChainLag(blocks) {
      chainLag.set(Math.max(0, blocks));
    },
    setChainHead(block) {
      chainHead.set(block);
    },
    observeHttp({ method, route, status, seconds }) {
      httpRequests.inc({ method, route, status: String(status) });
      httpSeconds.observe({ method, route }, Math.max(0, seconds));
    },
    addJobCountSource(source) {
      jobSources.add(source);
      return () => void jobSources.delete(source);
    },
    addQueueSource(source) {
      queueSources.add(source);
      return () => void queueSources.delete(source);
    },
    scrape: () => registry.metrics(),
  };
}

/** The process-wide metrics every module reports to. */
export const nodeMetrics: NodeMetrics = createNodeMetrics();

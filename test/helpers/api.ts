// A real API server for tests: a SQLite store in a temp dir, the configured queue (embedded, or BullMQ on the real
// Redis with a unique prefix), real runtimes (the hello container as a local process, or in-process echoes), the
// off-chain engine and the fastify server listening on a free port.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { apiSchema, type ApiConfig } from "../../node/src/config/schema.ts";
import { Store } from "../../node/src/store/sqlite.ts";
import { createQueue, BullQueue } from "../../node/src/jobs/index.ts";
import type { JobQueue } from "../../node/src/jobs/queue.ts";
import { OffchainJobs, type OffchainJobData } from "../../node/src/offchain/jobs.ts";
import { ProcessRuntime } from "../../node/src/runtime/process.ts";
import { InlineRuntime, type InlineHandler } from "../../node/src/runtime/inline.ts";
import type { ContainerRuntime } from "../../node/src/runtime/types.ts";
import { buildServer } from "../../node/src/api/server.ts";
import { cachedHealth } from "../../node/src/api/health.ts";
import { createApiKey } from "../../node/src/api/keys.ts";
import type { ApiApp, ApiContext, ContainerInfo } from "../../node/src/api/context.ts";
import type { DelegatedSubscriptions } from "../../node/src/api/delegated.ts";
import type { SseStream } from "../../node/src/api/sse.ts";
import { silentLogger, type Logger } from "../../node/src/log.ts";
import { createNodeMetrics, type NodeMetrics } from "../../node/src/metrics.ts";
import { ROOT } from "./node-e2e.ts";

export const REDIS_HOST = process.env.REDIS_HOST ?? "127.0.0.1";
export const REDIS_PORT = Number(process.env.REDIS_PORT ?? 6379);

/** The hello container run as a local process (over a unix socket), as the node's e2e tests configure it. */
export function helloProcess(id = "hello", env: Record<string, string> = {}): ProcessRuntime {
  return new ProcessRuntime(
    { id, runtime: "process", command: ["node", join(ROOT, "containers", "hello", "src", "server.ts")], env },
    { cwd: ROOT },
  );
}

export interface ApiHarnessOptions {
  /** Runtimes by id (default: hello as a process). Started by the harness, stopped by close(). */
  runtimes?: ContainerRuntime[];
  /** Inline (in-process) containers instead: id → handler. */
  inline?: Record<string, InlineHandler>;
  api?: Omit<Partial<ApiConfig>, "rateLimit"> & { rateLimit?: Partial<ApiConfig["rateLimit"]> };
  /** "embedded" (default) or "bullmq" (real Redis, unique prefix, obliterated by close()). */
  queue?: "embedded" | "bullmq";
  concurrency?: number;
  attempts?: number;
  backoffMs?: number;
  containers?: ContainerInfo[];
  chain?: ApiContext["chain"];
  delegated?: (store: Store) => DelegatedSubscriptions;
  logger?: Logger;
  metrics?: NodeMetrics;
}

export interface ApiHarness {
  url: string;
  app: ApiApp;
  ctx: ApiContext;
  store: Store;
  jobs: OffchainJobs;
  queue: JobQueue<OffchainJobData, string>;
  /** Two API keys (full key strings) and their ids. */
  key: string;
  keyId: string;
  otherKey: string;
  otherKeyId: string;
  /** fetch against the server with `key` (unless headers say otherwise). */
  call(path: string, init?: RequestInit & { json?: unknown; key?: string | null }): Promise<Response>;
  close(): Promise<void>;
}

export async function startApiHarness(options: ApiHarnessOptions = {}): Promise<ApiHarness> {
  const dir = mkdtempSync(join(tmpdir(), "infernet-api-"));
  const store = new Store(join(dir, "node.sqlite"));
  const runtimes = new Map<string, ContainerRuntime>();
  const list: ContainerRuntime[] = options.inline
    ? Object.entries(options.inline).map(([id, fn]) => new InlineRuntime(id, fn))
    : (options.runtimes ?? [helloProcess()]);
  await Promise.all(list.map((rt) => rt.start()));
  for (const rt of list) runtimes.set(rt.id, rt);

  const prefix = `infernet-test-api-${randomUUID().slice(0, 8)}`;
  const defaults = { attempts: options.attempts ?? 2, backoffMs: options.backoffMs ?? 50 };
  const queue =
    options.queue === "bullmq"
      ? createQueue<OffchainJobData, string>({
          backend: "bullmq",
          name: "offchain-test",
          connection: { host: REDIS_HOST, port: REDIS_PORT },
          prefix,
          defaults,
        })
      : createQueue<OffchainJobData, string>({
          backend: "embedded",
          name: "offchain",
          store,
          defaults,
          pollMs: 50,
        });
  const logger = options.logger ?? silentLogger();
  const metrics = options.metrics ?? createNodeMetrics({ processMetrics: false });
  const jobs = new OffchainJobs({ store, queue, runtimes, logger, metrics });
  await jobs.start(options.concurrency ?? 4);

  const api = apiSchema.parse({
    enabled: true,
    ...options.api,
    rateLimit: { max: 100_000, ...options.api?.rateLimit },
  });
  const sseStreams = new Set<SseStream>();
  const ctx: ApiContext = {
    api,
    version: "0.0.0-test",
    roles: ["provider"],
    store,
    jobs,
    runtimes,
    containers: options.containers ?? [],
    queues: { offchain: queue },
    chain: options.chain,
    delegated: options.delegated?.(store),
    health: cachedHealth(
      {
        store,
        runtimes,
        queues: [queue],
        chain: options.chain && { publicClient: options.chain.publicClient, maxLagBlocks: 100 },
      },
      0,
    ),
    metrics,
    logger,
    sseStreams,
  };
  const app = await buildServer(ctx);
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  const a = createApiKey(store, { name: "first" });
  const b = createApiKey(store, { name: "second" });

  let closed = false;
  return {
    url,
    app,
    ctx,
    store,
    jobs,
    queue,
    key: a.key,
    keyId: a.id,
    otherKey: b.key,
    otherKeyId: b.id,
    call(path, init = {}) {
      const { json, key, ...rest } = init;
      const headers = new Headers(rest.headers);
      const k = key === undefined ? a.key : key;
      if (k !== null && !headers.has("authorization")) headers.set("authorization", `Bearer ${k}`);
      if (json !== undefined) {
        headers.set("content-type", "application/json");
        return fetch(`${url}${path}`, { method: "POST", ...rest, headers, body: JSON.stringify(json) });
      }
      return fetch(`${url}${path}`, { ...rest, headers });
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      jobs.close();
      await ctx.delegated?.close();
      await queue.close();
      if (queue instanceof BullQueue) {
        const cleaner = new BullQueue({
          name: "offchain-test",
          connection: { host: REDIS_HOST, port: REDIS_PORT },
          prefix,
        });
        await cleaner.obliterate().catch(() => {});
        await cleaner.close();
      }
      await Promise.all(list.map((rt) => rt.stop()));
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads a Server-Sent Events stream until it ends (or `timeoutMs`): the events in order. */
export async function readEvents(
  response: Response,
  timeoutMs = 20_000,
): Promise<{ events: { event: string; data: unknown; id?: string }[]; comments: string[] }> {
  const events: { event: string; data: unknown; id?: string }[] = [];
  const comments: string[] = [];
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const timer = setTimeout(() => void reader.cancel(), timeoutMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message";
        let data = "";
        let id: string | undefined;
        for (const line of frame.split("\n")) {
          if (line.startsWith(":")) comments.push(line.slice(1).trim());
          else if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
          else if (line.startsWith("id: ")) id = line.slice(4);
        }
        if (data) events.push({ event, data: JSON.parse(data), ...(id ? { id } : {}) });
      }
    }
  } finally {
    clearTimeout(timer);
  }
  return { events, comments };
}

/** Polls GET /api/jobs/:id until the job is finished. */
export async function waitForJob(
  h: ApiHarness,
  id: string,
  timeoutMs = 20_000,
  key?: string,
): Promise<Record<string, unknown>> {
  const started = Date.now();
  for (;;) {
    const res = await h.call(`/api/jobs/${id}`, { key: key ?? h.key });
    const job = (await res.json()) as Record<string, unknown>;
    if (job.status === "success" || job.status === "failed") return job;
    if (Date.now() - started > timeoutMs) throw new Error(`job ${id} not finished: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

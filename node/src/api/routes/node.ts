// Routes about the node itself: GET /health, /info, /resources, /metrics. No API key needed.
import os from "node:os";
import type { ApiApp, ApiContext, ContainerInfo } from "../context.ts";
import { NotFoundError } from "../errors.ts";
import {
  HealthReply,
  InfoReply,
  MetricsReply,
  ResourcesQuery,
  ResourcesReply,
  errors,
  type ResourcesReply as Resources,
} from "../schemas.ts";

function pendingCounts(ctx: ApiContext): { offchain: number; onchain: number } {
  const rows = ctx.store
    .statement(
      `SELECT kind, COUNT(*) AS n FROM jobs WHERE state IN ('pending', 'running', 'computed', 'delivering')
       GROUP BY kind`,
    )
    .all() as { kind: string; n: number }[];
  const out = { offchain: 0, onchain: 0 };
  for (const r of rows) if (r.kind === "offchain" || r.kind === "onchain") out[r.kind] = Number(r.n);
  return out;
}

async function depthOrNull(q: { depth(): Promise<number> } | undefined): Promise<number | null> {
  if (!q) return null;
  try {
    return await q.depth();
  } catch {
    return null;
  }
}

function containerResources(id: string, c: ContainerInfo | undefined): Resources["containers"][string] {
  return {
    id,
    runtime: c?.runtime ?? "inline",
    image: c?.image ?? null,
    external: c?.runtime === "external",
    gpu: c?.gpu === true,
    memory_mb: c?.runtime === "docker" ? (c.memoryMb ?? null) : null,
    cpus: c?.runtime === "docker" ? (c.cpus ?? null) : null,
    network: c?.network ?? null,
    timeout_ms: c?.timeoutMs ?? null,
    accepted_payments: c?.acceptedPayments ?? {},
    allowed_addresses: c?.allowedAddresses ?? null,
    allowed_delegate_addresses: c?.allowedDelegateAddresses ?? null,
  };
}

export function nodeRoutes(app: ApiApp, ctx: ApiContext): void {
  app.get(
    "/health",
    {
      schema: {
        operationId: "health",
        tags: ["node"],
        summary: "Whether the node works",
        description:
          "Checks the store (a query), the chain (the RPC's head block; the watcher's lag behind it), the queues " +
          "(their depth) and every container (its health endpoint). 200 when all pass, 503 naming the failing ones.",
        response: { 200: HealthReply, 503: HealthReply, ...errors(429) },
      },
    },
    async (_request, reply) => {
      const health = await ctx.health();
      return reply.status(health.status === "ok" ? 200 : 503).send(health);
    },
  );

  app.get(
    "/info",
    {
      schema: {
        operationId: "info",
        tags: ["node"],
        summary: "Version, role, containers, chain and queue",
        response: { 200: InfoReply, ...errors(429) },
      },
    },
    async () => {
      const [depth, onchainDepth] = await Promise.all([
        depthOrNull(ctx.queues.offchain),
        depthOrNull(ctx.queues.onchain),
      ]);
      return {
        version: ctx.version,
        roles: [...ctx.roles],
        node: ctx.node ?? null,
        containers: [...ctx.runtimes.keys()],
        chain: ctx.chain ? { id: ctx.chain.chainId, coordinator: ctx.chain.coordinator } : null,
        queue: { backend: ctx.queues.offchain.backend, depth, onchain_depth: onchainDepth },
        pending: pendingCounts(ctx),
      };
    },
  );

  app.get(
    "/resources",
    {
      schema: {
        operationId: "resources",
        tags: ["node"],
        summary: "Containers and what they run on",
        description:
          "Like Ritual's /resources: a map from container id to its runtime and hardware settings, plus the host's " +
          "hardware. `?container=<id>` restricts it to one container (404 when not served).",
        querystring: ResourcesQuery,
        response: { 200: ResourcesReply, ...errors(400, 404, 429) },
      },
    },
    async (request) => {
      const byId = new Map(ctx.containers.map((c) => [c.id, c]));
      let ids = [...ctx.runtimes.keys()];
      const only = request.query.container;
      if (only !== undefined) {
        if (!ctx.runtimes.has(only))
          throw new NotFoundError(`container ${JSON.stringify(only)} is not served here`);
        ids = [only];
      }
      const cpus = os.cpus();
      return {
        hardware: {
          cpus: cpus.length,
          cpu_model: cpus[0]?.model.trim() ?? "unknown",
          memory_mb: Math.round(os.totalmem() / 1024 / 1024),
          platform: os.platform(),
          arch: os.arch(),
          gpu_containers: ctx.containers.filter((c) => c.gpu === true).length,
        },
        containers: Object.fromEntries(ids.map((id) => [id, containerResources(id, byId.get(id))])),
      };
    },
  );

  app.get(
    "/metrics",
    {
      schema: {
        operationId: "metrics",
        tags: ["node"],
        summary: "Prometheus metrics",
        description:
          "Jobs by kind and state, job latency, container starts, calls and failures, transactions sent and " +
          "failed, chain head and lag, queue depths, API requests, and Node process metrics.",
        response: { 200: { content: { "text/plain": { schema: MetricsReply } } }, ...errors(429) },
      },
    },
    async (_request, reply) => {
      const text = await ctx.metrics.scrape();
      return reply.type(ctx.metrics.contentType).send(text);
    },
  );
}

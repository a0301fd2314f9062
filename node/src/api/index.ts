// The REST API as a lifecycle component (config `api.enabled`): the off-chain job engine on its own queue, the
// delegated-subscription service, and the fastify server on server.host:server.port.
//
// It runs after the provider and uses the provider's store, runtimes, chain clients and sender (NodeParts); without
// the provider role it opens its own (store, runtimes of config.containers, chain clients and a sender with the
// configured wallet). Off-chain jobs go on the configured queue backend, on a queue of this node's own
// ("offchain" in the embedded store; "offchain-<host+store hash>" on BullMQ), so the node that accepted a job runs it
// and records its result in its own store.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import type { Address } from "viem";
import type { Component, ComponentContext } from "../node.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { NodeParts } from "../parts.ts";
import type { OffchainJobData } from "../offchain/jobs.ts";
import type { ContainerRuntime } from "../runtime/types.ts";
import type { SseStream } from "./sse.ts";

export interface ApiComponent extends Component {
  /** `http://host:port` once started (the real port when server.port is 0). */
  readonly url: string | undefined;
}

/** The node package's version (node/package.json). */
export function nodeVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** The BullMQ queue name of this node's off-chain jobs (one per host and store file). */
export function offchainQueueName(config: Pick<Config, "store">): string {
  const digest = createHash("sha256").update(`${hostname()}\0${config.store.path}`).digest("hex");
  return `offchain-${digest.slice(0, 16)}`;
}

export function apiComponent(ctx: ComponentContext): ApiComponent | undefined {
  const { config } = ctx;
  if (!config.api.enabled) return undefined;
  const log = ctx.logger.child({ component: "api" });
  let url: string | undefined;
  const cleanup: (() => Promise<void> | void)[] = [];

  return {
    name: "api",
    get url() {
      return url;
    },
    async start() {
      try {
        url = await startApi(config, ctx.parts ?? {}, log, cleanup);
      } catch (err) {
        // The host only stops components that started: undo what this one did so far.
        await this.stop();
        throw err;
      }
    },
    async stop() {
      for (const fn of cleanup.splice(0).reverse()) {
        try {
          await fn();
        } catch (err) {
          log.warn({ err: (err as Error).message }, "api: error while stopping");
        }
      }
      url = undefined;
    },
  };
}

/**
 * Starts everything, pushing each undo step on `cleanup`; resolves with the server's URL. Modules are loaded here,
 * so a node without the API does not load fastify.
 */
async function startApi(
  config: Config,
  parts: NodeParts,
  log: Logger,
  cleanup: (() => Promise<void> | void)[],
): Promise<string> {
  const [
    { Store },
    { createQueue },
    { createRuntime },
    { openNodeChain },
    { coordinatorAbi },
    { OffchainJobs },
    { DelegatedSubscriptions },
    { buildServer },
    { cachedHealth },
    { nodeMetrics },
  ] = await Promise.all([
    import("../store/sqlite.ts"),
    import("../jobs/index.ts"),
    import("../runtime/index.ts"),
    import("../chain/open.ts"),
    import("../chain/abis.ts"),
    import("../offchain/jobs.ts"),
    import("./delegated.ts"),
    import("./server.ts"),
    import("./health.ts"),
    import("../metrics.ts"),
  ]);

  // Store: the provider's, or our own.
  let store = parts.store;
  if (!store) {
    mkdirSync(dirname(config.store.path), { recursive: true });
    const own = new Store(config.store.path);
    cleanup.push(() => own.close());
    store = own;
  }

  // Runtimes: the provider's, or our own for config.containers.
  let runtimes = parts.runtimes;
  if (!runtimes) {
    const own = new Map<string, ContainerRuntime>();
    cleanup.push(async () => {
      for (const rt of own.values()) await rt.stop().catch(() => {});
    });
    for (const c of config.containers) {
      const runtime = createRuntime(c, {
        ...(config.docker.host
          ? { dockerHost: config.docker.host }
          : config.docker.socketPath
            ? { dockerHost: `unix://${config.docker.socketPath}` }
            : {}),
        ...(config.docker.registryAuth ? { registryAuth: config.docker.registryAuth } : {}),
        ...(c.runtime === "process" && c.cwd ? { cwd: c.cwd } : {}),
        labels: { "infernet.node": "api" },
      });
      try {
        await runtime.start();
        nodeMetrics.observeContainerStart({ container: c.id, ok: true });
      } catch (err) {
        nodeMetrics.observeContainerStart({ container: c.id, ok: false });
        throw Object.assign(err as object, { exitCode: 69 });
      }
      own.set(c.id, runtime);
    }
    runtimes = own;
  }

  // Chain: the provider's clients and sender, or our own.
  let { clients, sender } = parts;
  let node: Address | undefined = parts.node;
  if (!clients || !sender) {
    // API without the provider role: its own chain clients and sender.
    const chain = await openNodeChain(config, log);
    cleanup.push(() => chain.close());
    clients = chain.clients;
    sender = chain.sender;
    node = chain.account.address;
  }
  node ??= clients.walletClient?.account.address;

  // The off-chain queue and engine.
  const q = config.queue;
  const queue =
    q.backend === "bullmq"
      ? createQueue<OffchainJobData, string>({
          backend: "bullmq",
          name: offchainQueueName(config),
          connection: { host: q.redis.host, port: q.redis.port, password: q.redis.password, db: q.redis.db },
          prefix: q.redis.prefix,
          defaults: { attempts: q.attempts, backoffMs: q.backoffMs },
        })
      : createQueue<OffchainJobData, string>({
          backend: "embedded",
          name: "offchain",
          store,
          defaults: { attempts: q.attempts, backoffMs: q.backoffMs },
        });
  cleanup.push(() => queue.close());
  const jobs = new OffchainJobs({ store, queue, runtimes, logger: log.child({ part: "offchain" }) });
  cleanup.push(() => jobs.close());
  const resumed = await jobs.start(q.concurrency);
  if (resumed > 0) log.info({ resumed }, "re-queued unfinished off-chain jobs");

  const coordinator = config.chain.contracts.coordinator as Address;
  const delegated = config.api.delegatedSubscriptions
    ? new DelegatedSubscriptions({
        store,
        publicClient: clients.publicClient,
        coordinator,
        coordinatorAbi: coordinatorAbi(),
        containers: config.containers,
        sender,
        logger: log.child({ part: "delegated" }),
      })
    : undefined;
  if (delegated) {
    cleanup.push(() => delegated.close());
    const pending = delegated.resume();
    if (pending > 0) log.info({ pending }, "resuming delegated subscriptions");
  }

  const chainId = clients.chain.id;
  const publicClient = clients.publicClient;
  const health = cachedHealth({
    store,
    runtimes,
    queues: [queue, ...(parts.queue ? [parts.queue] : [])],
    chain: {
      publicClient,
      maxLagBlocks: config.api.maxChainLagBlocks,
      watcher: parts.watcher,
      onSample: (head, lag) => {
        nodeMetrics.setChainHead(head);
        if (lag !== undefined) nodeMetrics.setChainLag(lag);
      },
    },
  });
  // Chain head and lag for /metrics, sampled in the background (health checks sample too).
  const sampler = setInterval(
    () => void health().catch(() => {}),
    Math.max(5000, config.chain.pollIntervalMs),
  );
  sampler.unref();
  cleanup.push(() => clearInterval(sampler));

  const sseStreams = new Set<SseStream>();
  const app = await buildServer({
    api: config.api,
    version: nodeVersion(),
    roles: config.roles,
    store,
    jobs,
    runtimes,
    containers: config.containers,
    queues: { offchain: queue, onchain: parts.queue },
    chain: { publicClient, chainId, coordinator },
    node,
    delegated,
    poi: parts.poi,
    health,
    metrics: nodeMetrics,
    logger: log,
    sseStreams,
  });
  cleanup.push(() => app.close());
  await app.listen({ port: config.server.port, host: config.server.host });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.server.port;
  const host = config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host;
  const url = `http://${host}:${port}`;
  log.info(
    { url, queue: queue.name, backend: queue.backend, containers: [...runtimes.keys()] },
    "api listening",
  );
  return url;
}

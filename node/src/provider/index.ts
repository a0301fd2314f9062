// The provider role as a lifecycle component: store → runtimes → chain clients and sender → queue → watcher.

import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Address } from "viem";
import type { Component, ComponentContext } from "../node.ts";
import { Store } from "../store/sqlite.ts";
import { createQueue } from "../jobs/index.ts";
import type { JobQueue } from "../jobs/queue.ts";
import { createRuntime, dockerClient, removeContainers } from "../runtime/index.ts";
import type { ContainerRuntime, RuntimeContainerConfig } from "../runtime/types.ts";
import { ChainIdMismatchError, verifyChainId } from "../chain/client.ts";
import { createNodeWatcher, openNodeChain, type NodeChain } from "../chain/open.ts";
import type { ChainWatcher } from "../chain/watcher.ts";
import { coordinatorAbi, proofOfInferenceAbi } from "../chain/abis.ts";
import { PoiFollowUp } from "../poi/followup.ts";
import { dropJob, requestReveal } from "../poi/container.ts";
import { createTensorSource } from "../poi/serve.ts";
import { ProviderJobs, type ProviderJobData } from "./jobs.ts";
import { nodeMetrics } from "../metrics.ts";

/** Exit code for an unusable Docker engine or container at start-up (EX_UNAVAILABLE). */
export const EXIT_UNAVAILABLE = 69;

const ETH: Address = "0x0000000000000000000000000000000000000000";

export function providerComponent(ctx: ComponentContext): Component | undefined {
  const { config, logger } = ctx;
  if (!config.roles.includes("provider")) return undefined;
  const log = logger.child({ component: "provider" });
  let store: Store | undefined;
  let chain: NodeChain | undefined;
  let queue: JobQueue<ProviderJobData, string> | undefined;
  let watcher: ChainWatcher | undefined;
  let followUp: PoiFollowUp | undefined;
  let poiTimer: NodeJS.Timeout | undefined;
  const runtimeOf = (id: string): ContainerRuntime => {
    const r = runtimes.get(id);
    if (!r) throw new Error(`container ${id} is not running on this node`);
    return r;
  };
  const runtimes = new Map<string, ContainerRuntime>();

  return {
    name: "provider",
    async start() {
      mkdirSync(dirname(config.store.path), { recursive: true });
      store = new Store(config.store.path);

      const dockerHost = config.docker.host
        ? config.docker.host
        : config.docker.socketPath
          ? `unix://${config.docker.socketPath}`
          : undefined;
      // Containers are labelled with this node instance (its store): a previous life killed with -9 left its
      // containers behind, and they are removed here before new ones start (other nodes' containers are not).
      const instance = createHash("sha256").update(resolve(config.store.path)).digest("hex").slice(0, 16);
      const labels = { "infernet.node": "provider", "infernet.instance": instance };
      if (config.containers.some((c) => c.runtime === "docker")) {
        const removed = await removeContainers(
          { "infernet.instance": instance },
          dockerClient(dockerHost),
        ).catch(
          () => 0, // an unreachable engine is reported by the runtime's own start below
        );
        if (removed > 0) log.warn({ removed, instance }, "removed containers left by a previous run");
      }
      for (const c of config.containers) {
        const runtime = createRuntime(c as RuntimeContainerConfig, {
          ...(dockerHost ? { dockerHost } : {}),
          ...(config.docker.registryAuth ? { registryAuth: config.docker.registryAuth } : {}),
          // Process containers start in their configured directory (default: the config file's directory).
          ...(c.runtime === "process" && c.cwd ? { cwd: c.cwd } : {}),
          labels,
        });
        try {
          await runtime.start();
          nodeMetrics.observeContainerStart({ container: c.id, ok: true });
        } catch (err) {
          nodeMetrics.observeContainerStart({ container: c.id, ok: false });
          Object.assign(err as object, { exitCode: EXIT_UNAVAILABLE });
          throw err;
        }
        runtimes.set(c.id, runtime);
        log.info({ container: c.id, runtime: c.runtime }, "container ready");
      }

      // Processes sharing a BullMQ queue sign with the same key: they take turns for nonces through Redis.
      chain = await openNodeChain(config, log, { sharedNonces: true });
      const { account, clients, sender } = chain;
      // A configured chain id must match the endpoint's; an endpoint that is down now is retried by the watcher.
      try {
        await verifyChainId(clients);
      } catch (err) {
        if (err instanceof ChainIdMismatchError) throw Object.assign(err, { exitCode: 78 });
        log.warn({ err: (err as Error).message }, "could not verify the chain id yet (RPC unreachable?)");
      }
      const q = config.queue;
      queue =
        q.backend === "bullmq"
          ? createQueue<ProviderJobData, string>({
              backend: "bullmq",
              name: `provider-${clients.chain.id}-${account.address.toLowerCase()}`,
              connection: {
                host: q.redis.host,
                port: q.redis.port,
                password: q.redis.password,
                db: q.redis.db,
              },
              prefix: q.redis.prefix,
              defaults: { attempts: q.attempts, backoffMs: q.backoffMs },
              maxStalls: q.maxStalls,
            })
          : createQueue<ProviderJobData, string>({
              backend: "embedded",
              name: "provider",
              store,
              defaults: { attempts: q.attempts, backoffMs: q.backoffMs },
              maxStalls: q.maxStalls,
            });

      // Released payments are credited in the Coordinator's escrow (pull payments): withdraw them once settled.
      const collectPayment = async (jobId: string): Promise<void> => {
        const coordinator = config.chain.contracts.coordinator as Address;
        const abi = coordinatorAbi();
        const credit = (await clients.publicClient.readContract({
          address: coordinator,
          abi,
          functionName: "credits",
          args: [ETH, account.address],
        })) as bigint;
        if (credit === 0n) return;
        const sent = await sender.send({
          address: coordinator,
          abi,
          functionName: "withdraw",
          args: [ETH],
          contractName: "Coordinator",
        });
        log.info({ jobId, amountWei: credit.toString(), txHash: sent.hash }, "payment collected");
      };
      // Proof-of-Inference: commits go with deliveries; the follow-up reveals, draws a validator and settles.
      const poiAddress = config.chain.contracts.proofOfInference as Address | undefined;
      if (poiAddress) {
        const poiStore = store;
        followUp = new PoiFollowUp({
          publicClient: clients.publicClient,
          sender,
          proofOfInference: poiAddress,
          abi: proofOfInferenceAbi(),
          logger: log.child({ part: "poi" }),
          reveal: (job, randomness, k) =>
            requestReveal(runtimeOf(job.container), job.poiJobId, randomness, k),
          settled: async (job, outcome) => {
            const record = poiStore.getJob(job.jobId);
            const poi = { ...(record?.meta?.poi as object), settled: outcome };
            poiStore.transition(job.jobId, ["delivered"], "delivered", { meta: { ...record?.meta, poi } });
            await dropJob(runtimeOf(job.container), job.poiJobId).catch((err: unknown) =>
              log.warn({ jobId: job.jobId, err: (err as Error).message }, "could not drop the trajectory"),
            );
            if (outcome === "paid") await collectPayment(job.jobId);
          },
        });
      }
      const jobs = new ProviderJobs({
        store,
        queue,
        runtimes,
        publicClient: clients.publicClient,
        sender,
        coordinator: config.chain.contracts.coordinator as `0x${string}`,
        coordinatorAbi: coordinatorAbi(),
        node: account.address,
        chainId: clients.chain.id,
        logger: log,
        allowlists: new Map(config.containers.map((c) => [c.id, c])),
        proofOfInference: poiAddress,
        poi: followUp,
      });
      queue.on("failed", (job, reason) => {
        jobs.fail(job.data.jobId, reason);
        log.error({ jobId: job.data.jobId, reason }, "job failed");
      });
      queue.on("retrying", (job, reason, delayMs) =>
        log.warn({ jobId: job.data.jobId, reason, delayMs }, "job will be retried"),
      );
      queue.process((job) => jobs.run(job.data), { concurrency: q.concurrency });
      const resumed = await jobs.resume();
      if (resumed > 0) log.info({ resumed }, "resumed unfinished jobs");
      const following = jobs.resumePoi();
      if (following > 0) log.info({ following }, "following committed PoI jobs");

      watcher = createNodeWatcher(config, clients, store, log);
      watcher.onLogs((batch) => jobs.onEvents(batch));
      if (followUp) {
        // New blocks (and a timer, for windows that close with time) move committed jobs along.
        const f = followUp;
        watcher.onLogs(() => void f.tick());
        poiTimer = setInterval(() => void f.tick(), Math.max(250, config.chain.pollIntervalMs));
        poiTimer.unref();
      }
      watcher.onRollback((toBlock) => jobs.onRollback(toBlock));
      await watcher.start();
      // Shared with the components started after this one (the REST API): see parts.ts.
      Object.assign(ctx.parts ?? {}, {
        store,
        runtimes,
        clients,
        sender,
        node: account.address,
        account,
        queue,
        watcher,
        ...(followUp && poiAddress
          ? {
              poiFollowUp: followUp,
              poi: createTensorSource({
                followUp,
                runtimes,
                publicClient: clients.publicClient,
                proofOfInference: poiAddress,
                poiAbi: proofOfInferenceAbi(),
                chainId: clients.chain.id,
              }),
            }
          : {}),
      });
      log.info({ node: account.address, containers: [...runtimes.keys()] }, "provider started");
    },
    async stop() {
      if (poiTimer) clearInterval(poiTimer);
      await watcher?.stop();
      await queue?.close();
      for (const runtime of runtimes.values()) await runtime.stop().catch(() => {});
      await chain?.close();
      store?.close();
    },
  };
}

/**
 * The validator role as a lifecycle component: loads the pinned pipelines, then judges every job the
 * ProofOfInference draws this node for — those announced by the watcher's ValidatorAssigned events, and on start
 * those assigned while it was down (a bounded look-back). With the provider role in the same process it shares the
 * provider's chain clients, sender and watcher; alone, it opens its own.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Address, Hex } from "viem";
// The diffusion runtime (onnxruntime) and the judge load only when the role starts: provider-only nodes and
// `config check` never pay for them.
import type { Pipeline } from "../../../containers/diffusion/src/index.ts";
import type { Component, ComponentContext } from "../node.ts";
import { coordinatorAbi, proofOfInferenceAbi } from "../chain/abis.ts";
import { errorMessage } from "../chain/log.ts";
import { createNodeWatcher, openNodeChain, type NodeChain } from "../chain/open.ts";
import type { ChainEvent, ChainWatcher } from "../chain/watcher.ts";
import { poiReads } from "../poi/reads.ts";
import { Store } from "../store/sqlite.ts";

export function validatorComponent(ctx: ComponentContext): Component | undefined {
  const { config, logger } = ctx;
  if (!config.roles.includes("validator")) return undefined;
  const log = logger.child({ component: "validator" });
  if (Object.keys(config.validator.models).length === 0) {
    log.warn({}, "validator role without validator.models: this node judges no jobs");
    return undefined;
  }
  const pipelines = new Map<string, Pipeline>();
  let own: { chain: NodeChain; store: Store; watcher: ChainWatcher } | undefined;
  const pending = new Set<Promise<unknown>>();
  let closePipeline: ((p: Pipeline) => Promise<void> | void) | undefined;

  return {
    name: "validator",
    async start() {
      const diffusion = await import("../../../containers/diffusion/src/index.ts");
      const { Judge } = await import("./judge.ts");
      closePipeline = diffusion.closePipeline;
      const profile = diffusion.defaultRuntimeProfile({
        graphOptimizationLevel: config.validator.graphOptimizationLevel,
        intraOpNumThreads: config.validator.intraOpNumThreads,
      });
      for (const [id, dir] of Object.entries(config.validator.models)) {
        pipelines.set(id, await diffusion.loadPipeline({ dir, profile }));
        log.info({ container: id, dir }, "validator pipeline loaded");
      }

      const parts = ctx.parts ?? {};
      let { account, clients, sender, watcher } = parts;
      if (!account || !clients || !sender || !watcher) {
        // Validator alone: its own chain clients, sender, store and watcher.
        const chain = await openNodeChain(config, log);
        ({ account, clients, sender } = chain);
        mkdirSync(dirname(config.store.path), { recursive: true });
        const store = new Store(config.store.path);
        watcher = createNodeWatcher(config, clients, store, log);
        own = { chain, store, watcher };
      }
      const poiAddress = config.chain.contracts.proofOfInference as Address;
      const chainId = clients.chain.id;
      const reads = poiReads({
        publicClient: clients.publicClient,
        proofOfInference: poiAddress,
        abi: proofOfInferenceAbi(),
      });
      const j = new Judge({
        publicClient: clients.publicClient,
        sender,
        account,
        chainId,
        coordinator: config.chain.contracts.coordinator as Address,
        coordinatorAbi: coordinatorAbi(),
        proofOfInference: poiAddress,
        poiAbi: proofOfInferenceAbi(),
        nodeRegistry: config.chain.contracts.nodeRegistry as Address,
        pipelines,
        reads,
        ...(config.validator.bands ? { bands: config.validator.bands } : {}),
        outputCheckProbability: config.validator.outputCheckProbability,
        logger: log,
      });
      const me = account.address.toLowerCase();
      const run = (key: Hex) => {
        const p = j
          .judge(key)
          .catch((err: unknown) =>
            log.error({ poiKey: key, err: errorMessage(err) }, "could not judge the job"),
          )
          .finally(() => pending.delete(p));
        pending.add(p);
      };
      watcher.onLogs((batch: ChainEvent[]) => {
        for (const ev of batch) {
          if (ev.contract !== "ProofOfInference" || ev.eventName !== "ValidatorAssigned") continue;
          if (String(ev.args.validator).toLowerCase() === me) run(ev.args.key as Hex);
        }
      });
      // Assignments made while this node was down (judge() skips jobs already judged).
      const head = await clients.publicClient.getBlockNumber({ cacheTime: 0 });
      const from =
        head > BigInt(config.validator.lookbackBlocks) ? head - BigInt(config.validator.lookbackBlocks) : 0n;
      const missed = await clients.publicClient.getContractEvents({
        address: poiAddress,
        abi: proofOfInferenceAbi(),
        eventName: "ValidatorAssigned",
        args: { validator: account.address },
        fromBlock: from,
      });
      for (const l of missed) run((l as unknown as { args: { key: Hex } }).args.key);
      if (own) await own.watcher.start();
      log.info({ validator: account.address, models: [...pipelines.keys()], chainId }, "validator started");
    },
    async stop() {
      if (own) await own.watcher.stop();
      await Promise.allSettled([...pending]);
      for (const p of pipelines.values()) await Promise.resolve(closePipeline?.(p)).catch(() => {});
      pipelines.clear();
      if (own) {
        await own.chain.close();
        own.store.close();
        own = undefined;
      }
    },
  };
}

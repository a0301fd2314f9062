/**
 * The node's signing side of the chain, opened one way for every component that needs it (provider, validator,
 * API): the wallet key, the chain clients and a transaction sender with the configured fee cap, error ABIs and
 * metrics; with `sharedNonces`, nonces shared through Redis with other processes signing with the same key.
 */
import type { Address, LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Config } from "../config/schema.ts";
import { loadWalletKey } from "../config/load.ts";
import type { Logger } from "../log.ts";
import { nodeMetrics } from "../metrics.ts";
import { protocolErrorAbis } from "./abis.ts";
import { closeChainClients, createChainClients, type ChainClients } from "./client.ts";
import { createRedisNonces, type SharedNonces } from "./nonce-redis.ts";
import { NonceManager, TransactionSender } from "./sender.ts";
import type { ChainStateStore } from "./state.ts";
import { createProtocolWatcher, type ChainWatcher } from "./watcher.ts";

export interface NodeChain {
  account: LocalAccount;
  clients: ChainClients;
  sender: TransactionSender;
  /** Closes the Redis nonce connection (if any) and the chain clients. */
  close(): Promise<void>;
}

export async function openNodeChain(
  config: Config,
  log: Logger,
  options: { sharedNonces?: boolean } = {},
): Promise<NodeChain> {
  const account = privateKeyToAccount(await loadWalletKey(config.chain.wallet));
  const clients = await createChainClients({
    rpcUrl: config.chain.rpcUrl,
    wsUrl: config.chain.wsUrl,
    chainId: config.chain.chainId,
    account,
  });
  if (!clients.walletClient) throw new Error("no wallet client");
  const q = config.queue;
  const shared: SharedNonces | undefined =
    options.sharedNonces && q.backend === "bullmq"
      ? createRedisNonces({
          connection: { host: q.redis.host, port: q.redis.port, password: q.redis.password, db: q.redis.db },
          prefix: q.redis.prefix,
          chainId: clients.chain.id,
        })
      : undefined;
  const senderLog = log.child({ part: "sender" });
  const sender = new TransactionSender({
    publicClient: clients.publicClient,
    walletClient: clients.walletClient,
    logger: senderLog,
    nonceManager: new NonceManager(senderLog, shared),
    fees: {
      maxFeePerGasGwei: config.chain.wallet.maxFeePerGasGwei,
      priorityFeeGwei: config.chain.wallet.maxPriorityFeePerGasGwei,
    },
    errorAbis: protocolErrorAbis(),
    replaceAfterMs: config.chain.wallet.replaceAfterMs,
    onBroadcast: (info) => nodeMetrics.countBroadcast(info),
    onSettled: (info) => nodeMetrics.observeTransaction(info),
  });
  return {
    account,
    clients,
    sender,
    async close() {
      await shared?.close();
      await closeChainClients(clients);
    },
  };
}

/** The protocol watcher as the config sets it up: Coordinator and ProofOfInference events from the checkpoint. */
export function createNodeWatcher(
  config: Config,
  clients: ChainClients,
  store: ChainStateStore,
  log: Logger,
): ChainWatcher {
  return createProtocolWatcher({
    client: clients.publicClient,
    wsClient: clients.wsClient,
    coordinator: config.chain.contracts.coordinator as Address,
    proofOfInference: config.chain.contracts.proofOfInference as Address | undefined,
    store,
    logger: log.child({ part: "watcher" }),
    startBlock: config.chain.startBlock === undefined ? undefined : BigInt(config.chain.startBlock),
    confirmations: config.chain.confirmations,
    logRangeBlocks: config.chain.logRangeBlocks,
    pollIntervalMs: config.chain.pollIntervalMs,
  });
}

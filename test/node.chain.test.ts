/**
 * The node's chain layer against a real `hardhat node` JSON-RPC process: the event watcher (backfill, follow,
 * restart from a checkpoint, reorg rollback, confirmation depth, RPC outage through a TCP proxy) and the
 * transaction sender (concurrent nonces, decoded simulation reverts, fee cap, replacement of a stuck transaction).
 */
import { after, before, describe, it } from "node:test";
import { freePort, startHardhatNode, TcpProxy } from "./helpers/chain.ts";
import assert from "node:assert/strict";
import {
  getAddress,
  keccak256,
  parseEventLogs,
  toHex,
  TransactionReceiptNotFoundError,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { deploySystem, type Deployment } from "../deploy/system.ts";
import { loadArtifact } from "../deploy/artifacts.ts";
import { closeChainClients, createChainClients, type ChainClients } from "../node/src/chain/client.ts";
import { coordinatorAbi, protocolErrorAbis } from "../node/src/chain/abis.ts";
import type { Logger } from "../node/src/chain/log.ts";
import { MemoryChainStateStore } from "../node/src/chain/state.ts";
import { createProtocolWatcher, type ChainEvent, type ChainWatcher } from "../node/src/chain/watcher.ts";
import { createRedisNonces } from "../node/src/chain/nonce-redis.ts";
import {
  FeeCapExceededError,
  NonceManager,
  SimulationRevertedError,
  TransactionSender,
  type BroadcastInfo,
} from "../node/src/chain/sender.ts";

/** Hardhat's development mnemonic (deploy/devnet.ts); its accounts are funded on every dev chain. */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";
const CONTAINER = "hello-echo";
const CONTAINER_ID = keccak256(toHex(CONTAINER));
const ZERO: Address = "0x0000000000000000000000000000000000000000";

// ------------------------------------------------------------------------------------------------ helpers

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

interface LogEntry {
  level: "info" | "warn" | "error" | "debug";
  obj: Record<string, unknown>;
  msg: string;
}

function captureLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const print = process.env.CHAIN_TEST_LOG === "1";
  const at =
    (level: LogEntry["level"]) =>
    (obj: Record<string, unknown>, msg: string): void => {
      entries.push({ level, obj, msg });
      if (print)
        console.error(
          level,
          msg,
          JSON.stringify(obj, (_k, v) => (typeof v === "bigint" ? `${v}` : v)),
        );
    };
  return { logger: { info: at("info"), warn: at("warn"), error: at("error"), debug: at("debug") }, entries };
}

/** Collects a watcher's deliveries; `live` is what remains after applying rollbacks. */
function collect(watcher: ChainWatcher) {
  const all: ChainEvent[] = [];
  let live: ChainEvent[] = [];
  const rollbacks: bigint[] = [];
  watcher.onLogs((batch) => {
    all.push(...batch);
    live.push(...batch);
  });
  watcher.onRollback((toBlock) => {
    rollbacks.push(toBlock);
    live = live.filter((e) => e.blockNumber <= toBlock);
  });
  return {
    all,
    rollbacks,
    live: () => live,
    requested: (events: ChainEvent[] = live) => events.filter((e) => e.eventName === "IntervalRequested"),
  };
}

const eventKey = (e: { blockHash: Hex | null; logIndex: number | null }) => `${e.blockHash}:${e.logIndex}`;

function assertUnique(events: ChainEvent[], what: string): void {
  const keys = events.map(eventKey);
  assert.equal(new Set(keys).size, keys.length, `${what}: an event was delivered twice`);
}

// ------------------------------------------------------------------------------------------------ suite

describe("node chain layer against hardhat node", { timeout: 170_000 }, () => {
  let chain: Awaited<ReturnType<typeof startHardhatNode>>;
  let deployer: ChainClients;
  let consumer: ChainClients;
  let deployment: Deployment;
  let coordinator: Address;
  let abi: Abi;
  let publicClient: PublicClient;

  async function rpc<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    return (await publicClient.request({ method, params } as never)) as T;
  }

  async function head(): Promise<bigint> {
    return BigInt(await rpc<Hex>("eth_blockNumber"));
  }

  function subscription(inputs: Hex) {
    return {
      containerId: CONTAINER_ID,
      activeAt: 0,
      period: 0,
      frequency: 1,
      redundancy: 1,
      callbackGasLimit: 200_000,
      lazy: false,
      paymentToken: ZERO,
      paymentAmount: 0n,
      verifier: ZERO,
      inputs,
    };
  }

  const inputsOf = (tag: string): Hex => keccak256(toHex(tag));
  /** IntervalRequested carries the hash of the pinned inputs (inline bytes are in SubscriptionCreated). */
  const hashOf = (tag: string): Hex => keccak256(inputsOf(tag));

  /** One mined `requestCompute` per tag from the consumer (automine: one block each). */
  async function request(...tags: string[]): Promise<bigint[]> {
    const wallet = consumer.walletClient as WalletClient<Transport, Chain, Account>;
    const blocks: bigint[] = [];
    for (const tag of tags) {
      const hash = await wallet.writeContract({
        address: coordinator,
        abi,
        functionName: "requestCompute",
        args: [subscription(inputsOf(tag)), 0n],
        account: wallet.account,
        chain: wallet.chain,
      });
      const receipt = await publicClient.getTransactionReceipt({ hash });
      assert.equal(receipt.status, "success");
      blocks.push(receipt.blockNumber);
    }
    return blocks;
  }

  function watcherFor(
    client: PublicClient,
    store: MemoryChainStateStore,
    logger: Logger,
    extra: Partial<Parameters<typeof createProtocolWatcher>[0]> = {},
  ): ChainWatcher {
    return createProtocolWatcher({
      client,
      coordinator,
      proofOfInference: deployment.contracts.proofOfInference,
      store,
      logger,
      confirmations: 0,
      logRangeBlocks: 4,
      pollIntervalMs: 40,
      initialBackoffMs: 100,
      maxBackoffMs: 600,
      ...extra,
    });
  }

  const synced = (w: ChainWatcher, block: bigint) => () =>
    (w.health().lastProcessedBlock ?? -1) >= Number(block);

  before(async () => {
    chain = await startHardhatNode();
    deployer = await createChainClients({ rpcUrl: chain.url, account: mnemonicToAccount(DEV_MNEMONIC) });
    consumer = await createChainClients({
      rpcUrl: chain.url,
      chainId: deployer.chain.id,
      account: mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 1 }),
    });
    publicClient = deployer.publicClient as PublicClient;
    const wallet = deployer.walletClient as WalletClient<Transport, Chain, Account>;
    deployment = await deploySystem({ wallet, publicClient });
    coordinator = deployment.contracts.coordinator;
    abi = coordinatorAbi();
    const hash = await wallet.writeContract({
      address: deployment.contracts.containerRegistry,
      abi: loadArtifact("ContainerRegistry").abi,
      functionName: "registerContainer",
      args: [CONTAINER, `0x${"00".repeat(32)}`],
      account: wallet.account,
      chain: wallet.chain,
    });
    assert.equal((await publicClient.getTransactionReceipt({ hash })).status, "success");
  });

  after(async () => {
    await chain?.stop();
  });

  it("backfills from block 0, follows new requests once each, and resumes from its checkpoint", async () => {
    await request("a0", "a1", "a2");
    const h1 = await head();
    const store = new MemoryChainStateStore();
    const { logger } = captureLogger();
    const watcher = watcherFor(publicClient, store, logger, { startBlock: 0n });
    const seen = collect(watcher);
    try {
      await watcher.start();
      await waitFor("backfill", synced(watcher, h1));
      assert.deepEqual(
        seen.requested(seen.all).map((e) => e.args.inputsHash),
        ["a0", "a1", "a2"].map(hashOf),
      );
      assert.equal(seen.all.filter((e) => e.eventName === "SubscriptionCreated").length, 3);
      const cp1 = store.getCheckpoint();
      assert.ok(cp1);
      assert.equal(cp1.blockNumber, h1);
      assert.equal(cp1.blockHash, (await publicClient.getBlock({ blockNumber: h1 })).hash);

      await request("a3", "a4", "a5");
      const h2 = await head();
      await waitFor("follow", synced(watcher, h2));
      assert.deepEqual(
        seen.requested(seen.all).map((e) => e.args.inputsHash),
        ["a0", "a1", "a2", "a3", "a4", "a5"].map(hashOf),
      );
      assertUnique(seen.all, "follow");
      const cp2 = store.getCheckpoint();
      assert.ok(cp2 && cp2.blockNumber === h2 && h2 > h1);
      const first = seen.requested(seen.all)[0];
      assert.ok(first);
      assert.equal(first.contract, "Coordinator");
      assert.equal(typeof first.args.subscriptionId, "bigint");
      assert.equal(first.args.interval, 1);
      assert.match(first.transactionHash, /^0x[0-9a-f]{64}$/);
    } finally {
      await watcher.stop();
    }

    // Restart from the stored checkpoint: only what happened while stopped is delivered.
    await request("a6", "a7");
    const h3 = await head();
    const restarted = watcherFor(publicClient, store, logger, { startBlock: 0n });
    const seen2 = collect(restarted);
    try {
      await restarted.start();
      await waitFor("resume", synced(restarted, h3));
      await sleep(150);
      assert.deepEqual(
        seen2.requested(seen2.all).map((e) => e.args.inputsHash),
        ["a6", "a7"].map(hashOf),
      );
      assert.equal(seen2.rollbacks.length, 0);
    } finally {
      await restarted.stop();
    }
  });

  it("rolls back to the fork point on a reorg and delivers the new chain's logs (no loss, no duplicates)", async () => {
    const store = new MemoryChainStateStore();
    const { logger, entries } = captureLogger();
    const start = (await head()) + 1n;
    const watcher = watcherFor(publicClient, store, logger, { startBlock: start, logRangeBlocks: 2 });
    const seen = collect(watcher);
    try {
      await watcher.start();
      await waitFor("initial sync", synced(watcher, start - 1n));
      const snapshot = await rpc<Hex>("evm_snapshot");
      const fork = await head();
      await request("orphan-0", "orphan-1", "orphan-2");
      const oldHead = await head();
      await waitFor("orphaned blocks processed", synced(watcher, oldHead));
      assert.equal(seen.requested().length, 3);

      assert.equal(await rpc<boolean>("evm_revert", [snapshot]), true);
      assert.equal(await head(), fork);
      // The watcher first sees a chain shorter than its checkpoint (its block no longer exists)…
      await waitFor("rollback", () => seen.rollbacks.length === 1);
      assert.equal(watcher.health().lastProcessedBlock, Number(fork));
      // …then a different chain of blocks, longer than the orphaned one.
      await request("fork-0", "fork-1", "fork-2", "fork-3");
      await rpc("hardhat_mine", ["0x2"]);
      const newHead = await head();
      assert.ok(newHead > oldHead);
      await waitFor("new chain processed", synced(watcher, newHead));
      await sleep(150);

      assert.deepEqual(seen.rollbacks, [fork], "one rollback, to the fork point");
      assert.ok(entries.some((e) => e.level === "warn" && /reorganisation/.test(e.msg)));
      // Everything delivered: the orphaned chain's 3 requests, then the new chain's 4.
      assert.deepEqual(
        seen.requested(seen.all).map((e) => e.args.inputsHash),
        ["orphan-0", "orphan-1", "orphan-2", "fork-0", "fork-1", "fork-2", "fork-3"].map(hashOf),
      );
      assertUnique(seen.all, "reorg");
      // After the rollback: exactly the canonical chain's logs, once each.
      const canonical = await publicClient.getLogs({
        address: coordinator,
        fromBlock: start,
        toBlock: newHead,
      });
      const watched = new Set(["SubscriptionCreated", "IntervalRequested"]);
      const expected = parseEventLogs({ abi, logs: canonical }).filter((l) => watched.has(l.eventName));
      assert.deepEqual(seen.live().map(eventKey), expected.map(eventKey));
      assert.deepEqual(
        seen.requested().map((e) => e.args.inputsHash),
        ["fork-0", "fork-1", "fork-2", "fork-3"].map(hashOf),
      );
      const cp = store.getCheckpoint();
      assert.ok(cp);
      assert.equal(cp.blockHash, (await publicClient.getBlock({ blockNumber: newHead })).hash);
      assert.equal(
        store.blockHash(fork + 1n),
        (await publicClient.getBlock({ blockNumber: fork + 1n })).hash,
      );
    } finally {
      await watcher.stop();
    }
  });

  it("detects a reorg that happened while it was stopped, from the stored block hashes", async () => {
    const store = new MemoryChainStateStore();
    const { logger } = captureLogger();
    const start = (await head()) + 1n;
    const first = watcherFor(publicClient, store, logger, { startBlock: start });
    const seen1 = collect(first);
    const snapshot = await rpc<Hex>("evm_snapshot");
    const fork = await head();
    try {
      await first.start();
      await request("gone-0", "gone-1");
      await waitFor("orphaned blocks processed", synced(first, await head()));
      assert.equal(seen1.requested().length, 2);
    } finally {
      await first.stop();
    }
    // While the node is down: the two blocks are replaced by three others (same heights, new hashes).
    assert.equal(await rpc<boolean>("evm_revert", [snapshot]), true);
    await request("new-0", "new-1", "new-2");
    const newHead = await head();
    const second = watcherFor(publicClient, store, logger, { startBlock: start });
    const seen2 = collect(second);
    try {
      await second.start();
      await waitFor("new chain processed", synced(second, newHead));
      assert.deepEqual(seen2.rollbacks, [fork]);
      assert.deepEqual(
        seen2.requested(seen2.all).map((e) => e.args.inputsHash),
        ["new-0", "new-1", "new-2"].map(hashOf),
      );
      assertUnique(seen2.all, "restart after reorg");
    } finally {
      await second.stop();
    }
  });

  it("with a WebSocket URL, new heads trigger processing without waiting for the poll", async () => {
    const ws = await createChainClients({
      rpcUrl: chain.url,
      wsUrl: chain.url.replace(/^http/, "ws"),
      chainId: deployer.chain.id,
    });
    const store = new MemoryChainStateStore();
    const { logger } = captureLogger();
    const start = (await head()) + 1n;
    const watcher = watcherFor(publicClient, store, logger, {
      startBlock: start,
      pollIntervalMs: 60_000, // only the initial tick and newHeads notifications
      wsClient: ws.wsClient as PublicClient,
    });
    const seen = collect(watcher);
    try {
      await watcher.start();
      await waitFor("initial tick", synced(watcher, start - 1n));
      await sleep(200); // the subscription is set up asynchronously
      await request("ws-0");
      await waitFor("delivery via newHeads", () => seen.requested().length === 1, 5_000);
      await request("ws-1");
      await waitFor("delivery via newHeads", () => seen.requested().length === 2, 5_000);
    } finally {
      await watcher.stop();
      await closeChainClients(ws);
    }
  });

  it("gives a range again to listeners after one of them failed (at-least-once), without blaming the RPC", async () => {
    const store = new MemoryChainStateStore();
    const { logger, entries } = captureLogger();
    const start = (await head()) + 1n;
    const watcher = watcherFor(publicClient, store, logger, { startBlock: start });
    const seen = collect(watcher);
    let failOnce = true;
    watcher.onLogs(() => {
      if (failOnce) {
        failOnce = false;
        throw new Error("job store unavailable");
      }
    });
    try {
      await watcher.start();
      await request("retry-0");
      await waitFor("redelivery", synced(watcher, await head()));
      // The first delivery reached `collect` before the failing listener threw; the retry delivered it again.
      assert.deepEqual(
        seen.requested(seen.all).map((e) => e.args.inputsHash),
        ["retry-0", "retry-0"].map(hashOf),
      );
      const health = watcher.health();
      assert.equal(health.rpcOk, true);
      assert.match(health.lastError ?? "", /logs listener failed: job store unavailable/);
      assert.ok(entries.some((e) => e.level === "error" && /listener failed/.test(e.msg)));
    } finally {
      await watcher.stop();
    }
  });

  it("with confirmations N never processes blocks within N of the head", async () => {
    const N = 3n;
    const store = new MemoryChainStateStore();
    const { logger } = captureLogger();
    const start = (await head()) + 1n;
    const watcher = watcherFor(publicClient, store, logger, { startBlock: start, confirmations: Number(N) });
    const seen = collect(watcher);
    const violations: string[] = [];
    watcher.onLogs(async (batch) => {
      const now = await head();
      for (const e of batch)
        if (e.blockNumber > now - N) violations.push(`event in block ${e.blockNumber} with head ${now}`);
    });
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const processed = watcher.health().lastProcessedBlock;
        const now = await head();
        if (processed !== null && BigInt(processed) > now - N)
          violations.push(`processed ${processed} with head ${now}`);
        await sleep(10);
      }
    })();
    try {
      await watcher.start();
      const blocks = await request("conf-0", "conf-1", "conf-2", "conf-3");
      const last = blocks[blocks.length - 1] as bigint;
      await waitFor("first confirmed block", synced(watcher, last - N));
      await sleep(300);
      assert.equal(watcher.health().lastProcessedBlock, Number(last - N));
      assert.deepEqual(
        seen.requested().map((e) => e.args.inputsHash),
        ["conf-0"].map(hashOf),
      );
      assert.equal(watcher.health().lagBlocks, Number(N));
      await rpc("hardhat_mine", [toHex(N)]);
      await waitFor("all confirmed", synced(watcher, last));
      assert.deepEqual(
        seen.requested().map((e) => e.args.inputsHash),
        ["conf-0", "conf-1", "conf-2", "conf-3"].map(hashOf),
      );
    } finally {
      sampling = false;
      await sampler;
      await watcher.stop();
    }
    assert.deepEqual(violations, []);
  });

  it("survives an RPC outage (refused, then hanging): logs it, reports health, recovers, delivers once", async () => {
    const proxy = new TcpProxy(await freePort(), chain.port);
    await proxy.up();
    const viaProxy = await createChainClients({
      rpcUrl: proxy.url,
      chainId: deployer.chain.id,
      timeoutMs: 800,
    });
    const store = new MemoryChainStateStore();
    const { logger, entries } = captureLogger();
    const start = (await head()) + 1n;
    const watcher = watcherFor(viaProxy.publicClient as PublicClient, store, logger, { startBlock: start });
    const seen = collect(watcher);
    const rpcOkSeen: boolean[] = [];
    let sampling = true;
    const sample = () => {
      const ok = watcher.health().rpcOk;
      if (rpcOkSeen[rpcOkSeen.length - 1] !== ok) rpcOkSeen.push(ok);
    };
    const sampler = (async () => {
      while (sampling) {
        sample();
        await sleep(10);
      }
      sample();
    })();
    try {
      await watcher.start();
      await request("out-0");
      await waitFor("before the outage", synced(watcher, await head()));

      await proxy.down(); // connection refused
      await request("out-1", "out-2");
      await waitFor("rpcOk false", () => !watcher.health().rpcOk);
      await sleep(1_200);
      await proxy.blackhole(); // accepts, never answers: the request timeout must fire
      await request("out-3", "out-4");
      await sleep(1_800);
      const during = watcher.health();
      assert.equal(during.rpcOk, false);
      assert.ok(during.consecutiveFailures >= 2);
      assert.ok(during.lastError);
      assert.ok(
        entries.some((e) => e.level === "error" && /timed out|took too long/i.test(String(e.obj.err))),
        "a hanging RPC is reported as a timeout",
      );

      await proxy.up();
      const target = await head();
      await waitFor("recovery", synced(watcher, target));
      await waitFor("rpcOk true", () => watcher.health().rpcOk);
      assert.ok(entries.filter((e) => e.level === "error" && /RPC error/.test(e.msg)).length >= 2);
      assert.ok(entries.some((e) => e.level === "info" && /recovered/.test(e.msg)));
      assert.deepEqual(
        seen.requested(seen.all).map((e) => e.args.inputsHash),
        ["out-0", "out-1", "out-2", "out-3", "out-4"].map(hashOf),
      );
      assertUnique(seen.all, "outage");
      assert.equal(seen.rollbacks.length, 0);
      const health = watcher.health();
      assert.equal(health.lastProcessedBlock, Number(target));
      assert.equal(health.lagBlocks, 0);
    } finally {
      sampling = false;
      await sampler;
      await watcher.stop();
      await proxy.down();
    }
    assert.deepEqual(rpcOkSeen, [true, false, true]);
  });

  describe("transaction sender", () => {
    let sender: TransactionSender;
    let clients: ChainClients;
    const broadcasts: BroadcastInfo[] = [];
    const { logger, entries } = captureLogger();

    before(async () => {
      clients = await createChainClients({
        rpcUrl: chain.url,
        chainId: deployer.chain.id,
        account: mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 2 }),
      });
      sender = new TransactionSender({
        publicClient: clients.publicClient as PublicClient,
        walletClient: clients.walletClient as WalletClient<Transport, Chain, Account>,
        logger,
        fees: { maxFeePerGasGwei: 100, priorityFeeGwei: 1 },
        errorAbis: protocolErrorAbis(),
        pollIntervalMs: 40,
        replaceAfterMs: 800,
        receiptTimeoutMs: 30_000,
        onBroadcast: (info) => broadcasts.push(info),
      });
    });

    const requestCompute = (tag: string) => ({
      address: coordinator,
      abi,
      functionName: "requestCompute",
      args: [subscription(inputsOf(tag)), 0n] as const,
      contractName: "Coordinator",
    });

    it("sends 10 transactions concurrently from one account with distinct nonces", async () => {
      const startNonce = await publicClient.getTransactionCount({ address: sender.address });
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => sender.send(requestCompute(`c${i}`))),
      );
      for (const r of results) {
        assert.equal(r.status, "success");
        assert.equal(r.receipt.status, "success");
        assert.equal(r.hashes.length, 1);
      }
      const nonces = results.map((r) => r.nonce).sort((a, b) => a - b);
      assert.deepEqual(
        nonces,
        Array.from({ length: 10 }, (_, i) => startNonce + i),
      );
      const onChain = await Promise.all(results.map((r) => publicClient.getTransaction({ hash: r.hash })));
      assert.equal(new Set(onChain.map((t) => t.nonce)).size, 10);
      assert.equal(await publicClient.getTransactionCount({ address: sender.address }), startNonce + 10);
    });

    it("two senders with the same key (as two processes) take turns through Redis: distinct, gapless nonces", async () => {
      const prefix = `infernet-nonce-test-${process.pid}-${Date.now().toString(36)}`;
      const connection = {
        host: process.env.REDIS_HOST ?? "127.0.0.1",
        port: Number(process.env.REDIS_PORT ?? 6379),
      };
      // Separate Redis connections and separate NonceManagers: nothing is shared in memory, as across processes.
      const shared = [0, 1].map(() => createRedisNonces({ connection, prefix, chainId: deployer.chain.id }));
      const senders = shared.map(
        (nonces) =>
          new TransactionSender({
            publicClient: clients.publicClient as PublicClient,
            walletClient: clients.walletClient as WalletClient<Transport, Chain, Account>,
            logger,
            fees: { maxFeePerGasGwei: 100, priorityFeeGwei: 1 },
            errorAbis: protocolErrorAbis(),
            nonceManager: new NonceManager(logger, nonces),
            pollIntervalMs: 40,
          }),
      );
      try {
        const startNonce = await publicClient.getTransactionCount({ address: sender.address });
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) => senders[i % 2]!.send(requestCompute(`shared${i}`))),
        );
        assert.ok(results.every((r) => r.status === "success" && r.hashes.length === 1));
        assert.deepEqual(
          results.map((r) => r.nonce).sort((a, b) => a - b),
          Array.from({ length: 12 }, (_, i) => startNonce + i),
        );
        assert.equal(await publicClient.getTransactionCount({ address: sender.address }), startNonce + 12);
        assert.equal(
          await shared[0]!.get(sender.address),
          startNonce + 12,
          "the next nonce recorded in Redis",
        );
        assert.equal(
          entries.filter((e) => e.msg.startsWith("nonce rejected")).length,
          0,
          "no nonce was ever rejected by the chain",
        );
        // The per-process sender (not sharing) re-reads the chain for its next send.
        sender.nonceManager.reset(sender.address);
      } finally {
        await shared[0]!.reset(sender.address);
        await Promise.all(shared.map((n) => n.close()));
      }
    });

    it("refuses a reverting call at simulation with the decoded custom error", async () => {
      const [requested] = await Promise.all([sender.send(requestCompute("not-assigned"))]);
      assert.ok(requested);
      const [log] = parseEventLogs({ abi, logs: requested.receipt.logs, eventName: "IntervalRequested" });
      assert.ok(log);
      const subscriptionId = (log.args as { subscriptionId: bigint }).subscriptionId;
      await rpc("evm_mine"); // the assignment's randomness is readable from the next block on
      const nonceBefore = await publicClient.getTransactionCount({ address: sender.address });
      const sent = broadcasts.length;
      await assert.rejects(
        sender.send({
          address: coordinator,
          abi,
          functionName: "deliver",
          args: [subscriptionId, 1, "0x", "0x", "0x"],
          contractName: "Coordinator",
        }),
        (err: unknown) => {
          assert.ok(err instanceof SimulationRevertedError, String(err));
          assert.equal(err.decoded.contract, "Coordinator");
          assert.equal(err.decoded.errorName, "NotAssigned");
          assert.deepEqual(err.decoded.args, {
            subscriptionId,
            interval: 1,
            node: getAddress(sender.address),
          });
          assert.equal(
            err.decoded.line,
            `Coordinator.NotAssigned(subscriptionId=${subscriptionId}, interval=1, node=${getAddress(sender.address)})`,
          );
          assert.match(err.message, /Coordinator\.deliver would revert: Coordinator\.NotAssigned\(/);
          return true;
        },
      );
      assert.equal(broadcasts.length, sent, "nothing was broadcast");
      assert.equal(await publicClient.getTransactionCount({ address: sender.address }), nonceBefore);
      assert.ok(
        entries.some(
          (e) => e.level === "warn" && String(e.obj.reason).startsWith("Coordinator.NotAssigned("),
        ),
      );
      // A fresh send still gets the next nonce.
      const next = await sender.send(requestCompute("after-revert"));
      assert.equal(next.nonce, nonceBefore);
    });

    it("refuses to send when the base fee is above the fee cap", async () => {
      const block = await publicClient.getBlock({ blockTag: "latest" });
      const base = block.baseFeePerGas ?? 0n;
      assert.ok(base > 1n, `base fee ${base}`);
      const capped = new TransactionSender({
        publicClient: clients.publicClient as PublicClient,
        walletClient: clients.walletClient as WalletClient<Transport, Chain, Account>,
        logger,
        fees: { maxFeePerGasGwei: Number(base / 2n) / 1e9, priorityFeeGwei: 0 },
        nonceManager: sender.nonceManager,
      });
      const sent = await publicClient.getTransactionCount({ address: sender.address });
      await assert.rejects(capped.send(requestCompute("too-expensive")), (err: unknown) => {
        assert.ok(err instanceof FeeCapExceededError, String(err));
        assert.equal(err.baseFeePerGas, base);
        return true;
      });
      assert.equal(await publicClient.getTransactionCount({ address: sender.address }), sent);
    });

    it("replaces a stuck transaction with higher fees; the replacement is mined, the original is not", async () => {
      await rpc("evm_setAutomine", [false]);
      try {
        const from = broadcasts.length;
        const pending = sender.send(requestCompute("stuck"));
        pending.catch(() => {}); // awaited below
        await waitFor(
          "a replacement broadcast",
          () => broadcasts.slice(from).some((b) => b.replacement >= 1),
          10_000,
        );
        const mine = broadcasts.slice(from);
        const original = mine[0] as BroadcastInfo;
        const replacement = mine.find((b) => b.replacement === 1) as BroadcastInfo;
        assert.equal(original.replacement, 0);
        assert.equal(replacement.nonce, original.nonce);
        assert.ok(replacement.maxFeePerGas * 1000n >= original.maxFeePerGas * 1125n);
        assert.ok(replacement.maxPriorityFeePerGas * 1000n >= original.maxPriorityFeePerGas * 1125n);

        await rpc("evm_setAutomine", [true]);
        await rpc("evm_mine");
        const result = await pending;
        assert.equal(result.status, "success");
        assert.notEqual(result.hash, original.hash);
        assert.equal(result.hashes[0], original.hash);
        assert.equal(result.nonce, original.nonce);
        assert.ok(result.hashes.includes(result.hash));
        const minedTx = await publicClient.getTransaction({ hash: result.hash });
        assert.ok((minedTx.maxFeePerGas ?? 0n) >= replacement.maxFeePerGas);
        await assert.rejects(
          publicClient.getTransactionReceipt({ hash: original.hash }),
          TransactionReceiptNotFoundError,
        );
        assert.ok(entries.some((e) => e.level === "warn" && /replaced/.test(e.msg)));
        // The account carries on with the next nonce.
        const next = await sender.send(requestCompute("after-stuck"));
        assert.equal(next.nonce, original.nonce + 1);
      } finally {
        await rpc("evm_setAutomine", [true]);
      }
    });
  });
});

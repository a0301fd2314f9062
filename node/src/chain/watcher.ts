/**
 * Event-driven chain watcher: one ranged `eth_getLogs` per chunk for all watched contracts and events (never a
 * poll per subscription), from the stored checkpoint (backfill on start) up to `head − confirmations`.
 *
 * Reorg safety: the hash of every processed block near the head (and of every block that carried a log) is
 * recorded. Each tick first checks that the checkpoint's block is still canonical; if not, the watcher walks back
 * through the recorded hashes to the latest common ancestor, tells its listeners `rollback(ancestor)` (so they can
 * unwind jobs created from orphaned logs) and re-processes from there. Logs whose block hash disagrees with the
 * headers read in the same range (a reorg while reading) make the range be read again.
 *
 * Delivery is at-least-once: listeners run before the checkpoint is saved, so a crash in between re-delivers that
 * range on restart; listeners must be idempotent (the job layer keys jobs by subscription, interval and node).
 *
 * RPC failures are logged and retried with exponential backoff (capped); state is kept and the watcher recovers by
 * itself. `health()` reports where it stands.
 */
import {
  decodeEventLog,
  getAddress,
  toEventSelector,
  toHex,
  type Abi,
  type AbiEvent,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import {
  coordinatorAbi,
  COORDINATOR_EVENTS,
  proofOfInferenceAbi,
  PROOF_OF_INFERENCE_EVENTS,
} from "./abis.ts";
import { errorMessage, type Logger } from "./log.ts";
import type { ChainStateStore, Checkpoint } from "./state.ts";

/** A decoded contract event with its position in the chain. */
export interface ChainEvent {
  /** The watched contract's name, e.g. "Coordinator". */
  contract: string;
  address: Address;
  eventName: string;
  /** Decoded arguments by name (uint → bigint, address → checksummed string, bytes → hex). */
  args: Record<string, unknown>;
  blockNumber: bigint;
  blockHash: Hex;
  logIndex: number;
  transactionHash: Hex;
  transactionIndex: number;
}

export interface LogBatchRange {
  fromBlock: bigint;
  toBlock: bigint;
}

/** Receives the decoded events of one processed range, in chain order. Called only for non-empty ranges. */
export type LogsListener = (batch: ChainEvent[], range: LogBatchRange) => void | Promise<void>;
/** Everything above `toBlock` was orphaned by a reorg; events from those blocks will not come again. */
export type RollbackListener = (toBlock: bigint) => void | Promise<void>;

export interface WatchedContract {
  name: string;
  address: Address;
  abi: Abi;
  /** Event names to deliver (default: every event in the ABI). */
  events?: readonly string[] | undefined;
}

export interface ChainWatcherOptions {
  client: PublicClient;
  contracts: WatchedContract[];
  store: ChainStateStore;
  logger: Logger;
  /** First block to read when the store has no checkpoint (e.g. the deployment block). Default 0. */
  startBlock?: bigint | undefined;
  /** Blocks below the head that are left unprocessed (default 0). */
  confirmations?: number | undefined;
  /** Blocks per eth_getLogs request (default 1,000). */
  logRangeBlocks?: number | undefined;
  /** Delay between ticks when nothing fails, ms (default 1,000). */
  pollIntervalMs?: number | undefined;
  /** First retry delay after an error, ms (default 500), doubled per consecutive error up to `maxBackoffMs`. */
  initialBackoffMs?: number | undefined;
  /** Retry delay cap, ms (default 30,000). */
  maxBackoffMs?: number | undefined;
  /**
   * Deepest reorg handled (default 256 blocks): hashes of every block this close to the head are recorded, and the
   * walk back to a common ancestor stops here (then the watcher re-processes from this depth and logs an error).
   */
  maxReorgDepth?: number | undefined;
  /** A WebSocket client: each newHeads notification triggers a tick at once (polling continues as a fallback). */
  wsClient?: PublicClient | undefined;
  /** Headers fetched in parallel within a range (default 8). */
  headerConcurrency?: number | undefined;
}

export interface WatcherHealth {
  /** The checkpoint's block (the last block whose logs were all delivered), or null before the first range. */
  lastProcessedBlock: number | null;
  /** The chain head at the last successful request, or null before one. */
  head: number | null;
  /** head − lastProcessedBlock (includes the confirmation depth), or null when either is unknown. */
  lagBlocks: number | null;
  /** The last error's message (kept after recovery; see rpcOk), or null. */
  lastError: string | null;
  lastErrorAt: string | null;
  /** False from a failed RPC request until the next successful tick. */
  rpcOk: boolean;
  consecutiveFailures: number;
  running: boolean;
}

interface Header {
  number: bigint;
  hash: Hex;
  parentHash: Hex;
}

interface RpcLog {
  address: Address;
  topics: Hex[];
  data: Hex;
  blockNumber: Hex | null;
  blockHash: Hex | null;
  transactionHash: Hex | null;
  transactionIndex: Hex | null;
  logIndex: Hex | null;
  removed?: boolean;
}

/** A listener threw: the range is retried, but the RPC is not to blame. */
class ListenerError extends Error {
  constructor(kind: string, cause: unknown) {
    super(`${kind} listener failed: ${errorMessage(cause)}`, { cause });
    this.name = "ListenerError";
  }
}

/** The chain changed while a range was being read; read it again after re-checking the checkpoint. */
class InconsistentRangeError extends Error {
  constructor(detail: string) {
    super(`chain changed while reading: ${detail}`);
    this.name = "InconsistentRangeError";
  }
}

function sameHash(a: Hex, b: Hex): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

interface CompiledContract {
  name: string;
  address: Address;
  abi: Abi;
  selectors: Map<Hex, AbiEvent>;
}

function compileContract(c: WatchedContract): CompiledContract {
  const events = c.abi.filter((item): item is AbiEvent => item.type === "event");
  const wanted = c.events ? new Set(c.events) : undefined;
  if (wanted) {
    for (const name of wanted)
      if (!events.some((e) => e.name === name)) throw new Error(`${c.name} ABI has no event ${name}`);
  }
  const selectors = new Map<Hex, AbiEvent>();
  for (const e of events) if (!wanted || wanted.has(e.name)) selectors.set(toEventSelector(e), e);
  return { name: c.name, address: getAddress(c.address), abi: c.abi, selectors };
}

export class ChainWatcher {
  readonly #client: PublicClient;
  readonly #contracts: CompiledContract[];
  readonly #store: ChainStateStore;
  readonly #log: Logger;
  readonly #startBlock: bigint;
  readonly #confirmations: bigint;
  readonly #range: bigint;
  readonly #pollMs: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #maxReorgDepth: bigint;
  readonly #wsClient: PublicClient | undefined;
  readonly #headerConcurrency: number;

  readonly #logsListeners = new Set<LogsListener>();
  readonly #rollbackListeners = new Set<RollbackListener>();

  #checkpoint: Checkpoint | undefined;
  #head: bigint | undefined;
  #lastError: string | null = null;
  #lastErrorAt: string | null = null;
  #rpcOk = true;
  #failures = 0;
  #failingSince = 0;
  #running = false;
  #stopRequested = false;
  #lastPrune = 0n;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #triggered = false;
  #unwatchWs: (() => void) | undefined;
  #resubscribeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ChainWatcherOptions) {
    if (options.contracts.length === 0) throw new Error("ChainWatcher needs at least one contract");
    this.#client = options.client;
    this.#contracts = options.contracts.map(compileContract);
    this.#store = options.store;
    this.#log = options.logger;
    this.#startBlock = options.startBlock ?? 0n;
    this.#confirmations = BigInt(options.confirmations ?? 0);
    this.#range = BigInt(options.logRangeBlocks ?? 1_000);
    this.#pollMs = options.pollIntervalMs ?? 1_000;
    this.#initialBackoffMs = options.initialBackoffMs ?? 500;
    this.#maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.#maxReorgDepth = BigInt(options.maxReorgDepth ?? 256);
    this.#wsClient = options.wsClient;
    this.#headerConcurrency = options.headerConcurrency ?? 8;
    if (this.#confirmations < 0n) throw new Error("confirmations must be >= 0");
    if (this.#range < 1n) throw new Error("logRangeBlocks must be >= 1");
    if (this.#maxReorgDepth < 1n) throw new Error("maxReorgDepth must be >= 1");
  }

  /** Adds a listener for decoded events; returns a function that removes it. */
  onLogs(listener: LogsListener): () => void {
    this.#logsListeners.add(listener);
    return () => this.#logsListeners.delete(listener);
  }

  /** Adds a listener for rollbacks; returns a function that removes it. */
  onRollback(listener: RollbackListener): () => void {
    this.#rollbackListeners.add(listener);
    return () => this.#rollbackListeners.delete(listener);
  }

  /** Loads the checkpoint and starts the loop (the first tick backfills from the checkpoint). */
  async start(): Promise<void> {
    if (this.#running) return;
    const stored = await this.#store.getCheckpoint();
    this.#checkpoint = stored
      ? { blockNumber: BigInt(stored.blockNumber), blockHash: stored.blockHash.toLowerCase() as Hex }
      : undefined;
    this.#running = true;
    this.#stopRequested = false;
    this.#log.info(
      {
        checkpoint: this.#checkpoint?.blockNumber.toString() ?? null,
        startBlock: this.#startBlock.toString(),
        confirmations: Number(this.#confirmations),
        contracts: this.#contracts.map((c) => `${c.name}@${c.address}`),
      },
      "chain watcher starting",
    );
    this.#subscribeHeads();
    this.#loop = this.#run();
  }

  /** Stops after the current tick; resolves when the loop has ended. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#stopRequested = true;
    this.#unwatchWs?.();
    this.#unwatchWs = undefined;
    if (this.#resubscribeTimer) clearTimeout(this.#resubscribeTimer);
    this.#resubscribeTimer = undefined;
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
    this.#log.info({ checkpoint: this.#checkpoint?.blockNumber.toString() ?? null }, "chain watcher stopped");
  }

  /**
   * newHeads over the WebSocket client, if any: each head triggers a tick. viem re-subscribes after a reconnect,
   * but not when the first subscribe fails (endpoint down at start-up), so on an error the subscription is dropped
   * and made again a few seconds later. Polling carries on meanwhile.
   */
  #subscribeHeads(): void {
    const ws = this.#wsClient;
    if (!ws || !this.#running) return;
    // poll: false makes viem use eth_subscribe("newHeads") on a WebSocket transport (typed only for one).
    this.#unwatchWs = ws.watchBlockNumber({
      poll: false,
      onBlockNumber: () => this.trigger(),
      onError: (err: Error) => {
        this.#log.warn({ err: errorMessage(err) }, "newHeads subscription error; polling continues");
        if (this.#resubscribeTimer || !this.#running) return;
        this.#resubscribeTimer = setTimeout(() => {
          this.#resubscribeTimer = undefined;
          this.#unwatchWs?.();
          this.#unwatchWs = undefined;
          this.#subscribeHeads();
        }, 5_000);
      },
    } as unknown as Parameters<PublicClient["watchBlockNumber"]>[0]);
  }

  /** Asks for a tick now (e.g. on a new head); ignored while backing off after errors. */
  trigger(): void {
    if (this.#failures > 0) return;
    this.#triggered = true;
    this.#wake?.();
  }

  health(): WatcherHealth {
    const last = this.#checkpoint ? Number(this.#checkpoint.blockNumber) : null;
    const head = this.#head === undefined ? null : Number(this.#head);
    return {
      lastProcessedBlock: last,
      head,
      lagBlocks: last !== null && head !== null ? Math.max(0, head - last) : null,
      lastError: this.#lastError,
      lastErrorAt: this.#lastErrorAt,
      rpcOk: this.#rpcOk,
      consecutiveFailures: this.#failures,
      running: this.#running,
    };
  }

  /** The checkpoint as the watcher holds it (the store has the same after each range). */
  checkpoint(): Checkpoint | undefined {
    return this.#checkpoint ? { ...this.#checkpoint } : undefined;
  }

  /** One pass: reorg check, then every range up to head − confirmations. Exposed for tests and manual driving. */
  async tick(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#tickOnce();
        return;
      } catch (err) {
        // A reorg while reading a range: re-check the checkpoint and read again (a few times, then back off).
        if (err instanceof InconsistentRangeError && attempt < 3) {
          this.#log.warn(
            { detail: err.message, attempt: attempt + 1 },
            "chain changed during a range; re-reading",
          );
          continue;
        }
        throw err;
      }
    }
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let delay = this.#pollMs;
      try {
        this.#triggered = false;
        await this.tick();
        if (this.#failures > 0) {
          this.#log.info(
            {
              failures: this.#failures,
              downMs: Date.now() - this.#failingSince,
              head: this.#head?.toString(),
            },
            "chain watcher recovered",
          );
        }
        this.#failures = 0;
        this.#rpcOk = true;
      } catch (err) {
        if (this.#failures === 0) this.#failingSince = Date.now();
        this.#failures += 1;
        const listenerFault = err instanceof ListenerError;
        const chainChurn = err instanceof InconsistentRangeError;
        if (!listenerFault && !chainChurn) this.#rpcOk = false;
        this.#lastError = errorMessage(err);
        this.#lastErrorAt = new Date().toISOString();
        delay = Math.min(this.#maxBackoffMs, this.#initialBackoffMs * 2 ** Math.min(30, this.#failures - 1));
        this.#log.error(
          {
            err: this.#lastError,
            failures: this.#failures,
            retryInMs: delay,
            checkpoint: this.#checkpoint?.blockNumber.toString() ?? null,
          },
          listenerFault
            ? "chain watcher: listener failed; range will be retried"
            : chainChurn
              ? "chain watcher: chain kept changing while reading; will retry"
              : "chain watcher: RPC error",
        );
      }
      if (!this.#running) break;
      if (this.#triggered && this.#failures === 0) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delay);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.#wake = done;
      });
      this.#wake = undefined;
    }
  }

  async #tickOnce(): Promise<void> {
    const head = await this.#blockNumber();
    this.#head = head;
    if (this.#checkpoint && !(await this.#isCanonical(this.#checkpoint)))
      await this.#rollback(this.#checkpoint);
    const safe = head - this.#confirmations;
    if (!this.#checkpoint && this.#startBlock > 0n && this.#startBlock - 1n <= safe) {
      // Anchor a fresh start at the block before startBlock: nothing there is delivered, but the first range is
      // then checked against its hash and health() has a processed block to report.
      const anchor = await this.#header(this.#startBlock - 1n);
      if (!anchor) throw new InconsistentRangeError(`block ${this.#startBlock - 1n} not found`);
      await this.#store.recordBlock(anchor.number, anchor.hash);
      const checkpoint = { blockNumber: anchor.number, blockHash: anchor.hash };
      await this.#store.setCheckpoint(checkpoint);
      this.#checkpoint = checkpoint;
    }
    while (!this.#stopRequested) {
      const from = this.#checkpoint ? this.#checkpoint.blockNumber + 1n : this.#startBlock;
      if (from > safe) return;
      const to = from + this.#range - 1n < safe ? from + this.#range - 1n : safe;
      await this.#processRange(from, to, safe);
    }
  }

  async #isCanonical(cp: Checkpoint): Promise<boolean> {
    const header = await this.#header(cp.blockNumber);
    return header !== null && sameHash(header.hash, cp.blockHash);
  }

  /** Walks back from a checkpoint that is no longer canonical to the latest block whose recorded hash still is. */
  async #rollback(cp: Checkpoint): Promise<void> {
    const floorByDepth = cp.blockNumber - this.#maxReorgDepth;
    const floorByStart = this.#startBlock > 0n ? this.#startBlock - 1n : 0n;
    const floor = floorByDepth > floorByStart ? floorByDepth : floorByStart;
    let ancestor: Header | undefined;
    for (let n = cp.blockNumber - 1n; n >= floor; n--) {
      const recorded = await this.#store.blockHash(n);
      if (recorded === undefined) continue;
      const header = await this.#header(n);
      if (header && sameHash(header.hash, recorded)) {
        ancestor = header;
        break;
      }
    }
    if (!ancestor) {
      const header = await this.#header(floor);
      if (!header) throw new InconsistentRangeError(`block ${floor} not found while rolling back`);
      ancestor = header;
      this.#log.error(
        { checkpoint: cp.blockNumber.toString(), rollbackTo: floor.toString() },
        "reorg deeper than the recorded block hashes (maxReorgDepth); re-processing from the floor",
      );
    }
    this.#log.warn(
      {
        orphanedFrom: (ancestor.number + 1n).toString(),
        orphanedTo: cp.blockNumber.toString(),
        depth: Number(cp.blockNumber - ancestor.number),
        ancestor: ancestor.number.toString(),
        ancestorHash: ancestor.hash,
      },
      "chain reorganisation: rolling back",
    );
    // Listeners first: if one fails, nothing is changed and the next tick detects the same reorg again.
    for (const listener of this.#rollbackListeners) {
      try {
        await listener(ancestor.number);
      } catch (err) {
        throw new ListenerError("rollback", err);
      }
    }
    await this.#store.rollbackTo(ancestor.number);
    const checkpoint = { blockNumber: ancestor.number, blockHash: ancestor.hash };
    await this.#store.recordBlock(ancestor.number, ancestor.hash);
    await this.#store.setCheckpoint(checkpoint);
    this.#checkpoint = checkpoint;
  }

  async #processRange(from: bigint, to: bigint, safe: bigint): Promise<void> {
    // Headers: every block within maxReorgDepth of the safe head (so a reorg can be walked back block by block),
    // and the range end (the checkpoint) in any case. Older blocks are recorded through their logs' hashes.
    const trackedFrom = safe - this.#maxReorgDepth + 1n;
    const wanted: bigint[] = [];
    for (let n = from > trackedFrom ? from : trackedFrom; n <= to; n++) wanted.push(n);
    if (wanted[wanted.length - 1] !== to) wanted.push(to);
    const headers = new Map<bigint, Header>();
    for (let i = 0; i < wanted.length; i += this.#headerConcurrency) {
      const batch = wanted.slice(i, i + this.#headerConcurrency);
      const got = await Promise.all(batch.map((n) => this.#header(n)));
      got.forEach((h, j) => {
        if (!h) throw new InconsistentRangeError(`block ${batch[j]} not found`);
        headers.set(h.number, h);
      });
    }
    // The fetched headers must form one chain, attached to the checkpoint.
    const cp = this.#checkpoint;
    for (const h of headers.values()) {
      const parent = cp && h.number === cp.blockNumber + 1n ? cp.blockHash : headers.get(h.number - 1n)?.hash;
      if (parent !== undefined && !sameHash(parent, h.parentHash))
        throw new InconsistentRangeError(`block ${h.number} does not extend ${h.number - 1n}`);
    }

    const rawLogs = await this.#getLogs(from, to);
    const events: ChainEvent[] = [];
    const logBlocks = new Map<bigint, Hex>();
    for (const raw of rawLogs) {
      if (raw.removed) continue;
      if (raw.blockNumber === null || raw.blockHash === null || raw.logIndex === null || !raw.transactionHash)
        continue; // pending logs: not expected for a ranged query
      const blockNumber = BigInt(raw.blockNumber);
      const blockHash = raw.blockHash.toLowerCase() as Hex;
      const known = headers.get(blockNumber)?.hash ?? logBlocks.get(blockNumber);
      if (known !== undefined && known !== blockHash)
        throw new InconsistentRangeError(
          `log in block ${blockNumber} has hash ${raw.blockHash}, header ${known}`,
        );
      logBlocks.set(blockNumber, blockHash);
      const event = this.#decode(raw, blockNumber);
      if (event) events.push(event);
    }
    events.sort((a, b) =>
      a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
    );

    if (events.length > 0) {
      for (const listener of this.#logsListeners) {
        try {
          await listener(events, { fromBlock: from, toBlock: to });
        } catch (err) {
          throw new ListenerError("logs", err);
        }
      }
    }

    for (const h of headers.values()) await this.#store.recordBlock(h.number, h.hash);
    for (const [n, hash] of logBlocks) if (!headers.has(n)) await this.#store.recordBlock(n, hash);
    const end = headers.get(to);
    if (!end) throw new InconsistentRangeError(`block ${to} header missing`);
    const checkpoint = { blockNumber: to, blockHash: end.hash };
    await this.#store.setCheckpoint(checkpoint);
    this.#checkpoint = checkpoint;
    // Hashes older than twice the reorg depth are never read again.
    const keepFrom = to - this.#maxReorgDepth * 2n;
    if (this.#store.pruneBlocks && keepFrom > this.#lastPrune + 64n) {
      await this.#store.pruneBlocks(keepFrom);
      this.#lastPrune = keepFrom;
    }
    this.#log.debug?.(
      { fromBlock: from.toString(), toBlock: to.toString(), events: events.length },
      "processed block range",
    );
  }

  #decode(raw: RpcLog, blockNumber: bigint): ChainEvent | undefined {
    const address = getAddress(raw.address);
    const contract = this.#contracts.find((c) => c.address === address);
    const selector = raw.topics[0];
    if (!contract || !selector) return undefined;
    const abiEvent = contract.selectors.get(selector);
    if (!abiEvent) return undefined;
    try {
      const decoded = decodeEventLog({
        abi: [abiEvent],
        data: raw.data,
        topics: raw.topics as [Hex, ...Hex[]],
        strict: true,
      });
      return {
        contract: contract.name,
        address,
        eventName: decoded.eventName ?? abiEvent.name,
        args: (decoded.args ?? {}) as Record<string, unknown>,
        blockNumber,
        blockHash: raw.blockHash as Hex,
        logIndex: Number(raw.logIndex),
        transactionHash: raw.transactionHash as Hex,
        transactionIndex: raw.transactionIndex === null ? 0 : Number(raw.transactionIndex),
      };
    } catch (err) {
      this.#log.warn(
        { contract: contract.name, event: abiEvent.name, tx: raw.transactionHash, err: errorMessage(err) },
        "undecodable log skipped",
      );
      return undefined;
    }
  }

  async #blockNumber(): Promise<bigint> {
    const hex = (await this.#client.request({ method: "eth_blockNumber" })) as Hex;
    return BigInt(hex);
  }

  async #header(n: bigint): Promise<Header | null> {
    const block = (await this.#client.request({
      method: "eth_getBlockByNumber",
      params: [toHex(n), false],
    })) as { number: Hex | null; hash: Hex | null; parentHash: Hex } | null;
    if (!block || block.hash === null || block.number === null) return null;
    return {
      number: BigInt(block.number),
      hash: block.hash.toLowerCase() as Hex,
      parentHash: block.parentHash.toLowerCase() as Hex,
    };
  }

  async #getLogs(from: bigint, to: bigint): Promise<RpcLog[]> {
    const selectors = [...new Set(this.#contracts.flatMap((c) => [...c.selectors.keys()]))];
    return (await this.#client.request({
      method: "eth_getLogs",
      params: [
        {
          address: this.#contracts.map((c) => c.address),
          topics: [selectors],
          fromBlock: toHex(from),
          toBlock: toHex(to),
        },
      ],
    })) as RpcLog[];
  }
}

export interface ProtocolWatcherOptions extends Omit<ChainWatcherOptions, "contracts"> {
  coordinator: Address;
  /** Also watch the Proof-of-Inference verifier's events. */
  proofOfInference?: Address | undefined;
  coordinatorEvents?: readonly string[] | undefined;
  proofOfInferenceEvents?: readonly string[] | undefined;
}

/** A watcher for the Coordinator's node-facing events and, when given, the Proof-of-Inference events. */
export function createProtocolWatcher(options: ProtocolWatcherOptions): ChainWatcher {
  const { coordinator, proofOfInference, coordinatorEvents, proofOfInferenceEvents, ...rest } = options;
  const contracts: WatchedContract[] = [
    {
      name: "Coordinator",
      address: coordinator,
      abi: coordinatorAbi(),
      events: coordinatorEvents ?? COORDINATOR_EVENTS,
    },
  ];
  if (proofOfInference) {
    contracts.push({
      name: "ProofOfInference",
      address: proofOfInference,
      abi: proofOfInferenceAbi(),
      events: proofOfInferenceEvents ?? PROOF_OF_INFERENCE_EVENTS,
    });
  }
  return new ChainWatcher({ ...rest, contracts });
}

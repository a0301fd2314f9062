/**
 * What the chain watcher persists: a checkpoint (the last fully processed block) and the hashes of processed blocks,
 * so that a reorg can be detected after a restart and walked back to the latest common ancestor.
 *
 * The node's on-disk store implements this interface; `MemoryChainStateStore` is the in-process version used by
 * tests and by callers that do not need to survive a restart. Methods may be synchronous (node:sqlite) or async.
 */
import type { Hex } from "viem";

export interface Checkpoint {
  /** The last block whose logs were all delivered to the watcher's listeners. */
  blockNumber: bigint;
  /** Its hash, as seen when it was processed. */
  blockHash: Hex;
}

type MaybePromise<T> = T | Promise<T>;

/** A checkpoint as a store may return it (the on-disk store keeps block numbers as numbers). */
export interface StoredCheckpoint {
  blockNumber: bigint | number;
  blockHash: Hex;
}

/**
 * Structurally satisfied by the node's sqlite store (node/src/store), whose methods also accept numbers.
 * Hashes are compared case-insensitively.
 */
export interface ChainStateStore {
  /** The last saved checkpoint; undefined before the first processed range. */
  getCheckpoint(): MaybePromise<StoredCheckpoint | undefined>;
  setCheckpoint(checkpoint: Checkpoint): MaybePromise<void>;
  /** Remembers the hash of a processed block (overwrites an earlier record at the same height). */
  recordBlock(blockNumber: bigint, blockHash: Hex): MaybePromise<void>;
  /** The recorded hash at `blockNumber`, or undefined when none was recorded. */
  blockHash(blockNumber: bigint): MaybePromise<Hex | undefined>;
  /**
   * Forgets every recorded block above `blockNumber` (they were orphaned by a reorg). The watcher sets the
   * checkpoint to `blockNumber` right after.
   */
  rollbackTo(blockNumber: bigint): MaybePromise<unknown>;
  /** Optional: drops records below `blockNumber` (older than any reorg the watcher still handles). */
  pruneBlocks?(belowNumber: bigint): MaybePromise<unknown>;
}

/** A `ChainStateStore` in memory. */
export class MemoryChainStateStore implements ChainStateStore {
  #checkpoint: Checkpoint | undefined;
  readonly #blocks = new Map<bigint, Hex>();

  constructor(initial?: Checkpoint) {
    if (initial) {
      this.#checkpoint = { ...initial };
      this.#blocks.set(initial.blockNumber, initial.blockHash);
    }
  }

  getCheckpoint(): Checkpoint | undefined {
    return this.#checkpoint ? { ...this.#checkpoint } : undefined;
  }

  setCheckpoint(checkpoint: Checkpoint): void {
    this.#checkpoint = { ...checkpoint };
  }

  recordBlock(blockNumber: bigint, blockHash: Hex): void {
    this.#blocks.set(blockNumber, blockHash);
  }

  blockHash(blockNumber: bigint): Hex | undefined {
    return this.#blocks.get(blockNumber);
  }

  rollbackTo(blockNumber: bigint): void {
    for (const n of [...this.#blocks.keys()]) if (n > blockNumber) this.#blocks.delete(n);
    if (this.#checkpoint && this.#checkpoint.blockNumber > blockNumber) this.#checkpoint = undefined;
  }

  pruneBlocks(belowNumber: bigint): void {
    for (const n of [...this.#blocks.keys()]) if (n < belowNumber) this.#blocks.delete(n);
  }

  /** Number of recorded block hashes (for tests). */
  get size(): number {
    return this.#blocks.size;
  }
}

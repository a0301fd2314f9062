/**
 * Nonces shared between node processes that sign with the same key (several workers on one BullMQ queue): a Redis
 * lock per account serialises "pick nonce → broadcast" across processes, and the next nonce is kept in Redis so a
 * process does not hand out one that another process has just used (the chain's pending count lags on some RPCs).
 */
import { randomUUID } from "node:crypto";
import { Redis, type RedisOptions } from "ioredis";
import { getAddress, type Address } from "viem";

/** Cross-process coordination the NonceManager uses when several processes share an account. */
export interface SharedNonces {
  /** Runs `fn` while holding the account's lock across processes. */
  withLock<T>(account: Address, fn: () => Promise<T>): Promise<T>;
  /** The next nonce another process recorded, if any (only meaningful under the lock). */
  get(account: Address): Promise<number | undefined>;
  set(account: Address, next: number): Promise<void>;
  /** Forgets the recorded nonce (the next send reads it from the chain). */
  reset(account: Address): Promise<void>;
  close(): Promise<void>;
}

export class NonceLockTimeoutError extends Error {
  constructor(account: Address, waitedMs: number) {
    super(`could not take the nonce lock of ${account} within ${waitedMs} ms (another process holds it)`);
    this.name = "NonceLockTimeoutError";
  }
}

export interface RedisNoncesOptions {
  connection: Pick<RedisOptions, "host" | "port" | "username" | "password" | "db">;
  /** Key prefix; the keys are `${prefix}:nonce:${chainId}:${account}` and `…:lock`. */
  prefix: string;
  chainId: number;
  /** A lock expires after this long if its holder died, ms (default 30,000; longer than any broadcast). */
  lockTtlMs?: number;
  /** Give up waiting for the lock after this long, ms (default 60,000). */
  lockWaitMs?: number;
}

// Deletes the lock only if it is still ours (a holder whose lock expired must not free the next holder's).
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createRedisNonces(options: RedisNoncesOptions): SharedNonces {
  const redis = new Redis({ ...options.connection, lazyConnect: false, maxRetriesPerRequest: 3 });
  const ttl = options.lockTtlMs ?? 30_000;
  const waitMs = options.lockWaitMs ?? 60_000;
  const key = (account: Address) => `${options.prefix}:nonce:${options.chainId}:${getAddress(account)}`;

  return {
    async withLock(account, fn) {
      const lock = `${key(account)}:lock`;
      const token = randomUUID();
      const started = Date.now();
      // Short jittered retries: broadcasts hold the lock for a few ms on a local chain.
      for (
        let delay = 2;
        (await redis.set(lock, token, "PX", ttl, "NX")) !== "OK";
        delay = Math.min(delay * 2, 50)
      ) {
        if (Date.now() - started > waitMs) throw new NonceLockTimeoutError(account, Date.now() - started);
        await sleep(delay + Math.random() * delay);
      }
      try {
        return await fn();
      } finally {
        await redis.eval(RELEASE, 1, lock, token).catch(() => {});
      }
    },
    async get(account) {
      const v = await redis.get(key(account));
      return v === null ? undefined : Number(v);
    },
    async set(account, next) {
      await redis.set(key(account), String(next), "PX", 24 * 3600 * 1000);
    },
    async reset(account) {
      await redis.del(key(account));
    },
    async close() {
      redis.disconnect();
    },
  };
}

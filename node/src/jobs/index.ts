// createQueue: the node's one way to get a JobQueue, whichever backend the config names.
import type { Store } from "../store/sqlite.ts";
import { BullQueue, type BullQueueOptions } from "./bullmq.ts";
import { EmbeddedQueue, type EmbeddedQueueOptions } from "./embedded.ts";
import type { JobQueue, Json } from "./queue.ts";

export * from "./queue.ts";
export { BullQueue, decodeJobId, encodeJobId, redisConnection } from "./bullmq.ts";
export type { BullQueueOptions, RedisConnection } from "./bullmq.ts";
export { EmbeddedQueue } from "./embedded.ts";
export type { EmbeddedQueueOptions } from "./embedded.ts";

export type QueueConfig =
  | ({ backend: "embedded" } & Omit<EmbeddedQueueOptions, "store"> & { store: Store | string })
  | ({ backend: "bullmq" } & BullQueueOptions);

/** A queue over the configured backend: "embedded" (the node's SQLite store; the default) or "bullmq" (Redis). */
export function createQueue<T = Json, R = Json>(config: QueueConfig): JobQueue<T, R> {
  switch (config.backend) {
    case "embedded": {
      const { backend: _backend, ...options } = config;
      return new EmbeddedQueue<T, R>(options);
    }
    case "bullmq": {
      const { backend: _backend, ...options } = config;
      return new BullQueue<T, R>(options);
    }
    default:
      throw new Error(`unknown queue backend ${(config as { backend: unknown }).backend}`);
  }
}

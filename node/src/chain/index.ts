export * from "./client.ts";
export * from "./log.ts";
export * from "./state.ts";
export * from "./abis.ts";
export * from "./watcher.ts";
export * from "./sender.ts";
export * from "./nonce-redis.ts";

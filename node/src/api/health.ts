// GET /health: really asks each part. store: a query on the SQLite handle; chain: the RPC's head block, and the lag
// of the watcher's checkpoint behind it (over api.maxChainLagBlocks is unhealthy); queue: every queue's depth
// (Redis round trip for BullMQ); runtimes: each container's own health (GET /health on its endpoint, as at start-up).
// Each check has a time limit; results are shared by concurrent callers and cached briefly, so a flood of health
// requests does not turn into a flood of probes.
import type { PublicClient } from "viem";
import type { Store } from "../store/sqlite.ts";
import type { ContainerRuntime } from "../runtime/types.ts";
import { probe, type Endpoint } from "../runtime/http.ts";
import type { QueueSource } from "../metrics.ts";
import type { HealthReply } from "./schemas.ts";

export interface HealthDeps {
  store: Store;
  runtimes: ReadonlyMap<string, ContainerRuntime>;
  queues: readonly QueueSource[];
  chain?:
    | {
        publicClient: Pick<PublicClient, "getBlockNumber">;
        /** Blocks of lag above which the chain is unhealthy. */
        maxLagBlocks: number;
        /** The chain watcher (the provider role's), whose last processed block gives the lag. */
        watcher?:
          | { health(): { lastProcessedBlock: number | null; rpcOk: boolean; lastError: string | null } }
          | undefined;
        /** Reports the head and lag (metrics). */
        onSample?: (head: number, lag: number | undefined) => void;
      }
    | undefined;
  /** Limit of each check, ms (default 2000). */
  timeoutMs?: number;
}

type Check = HealthReply["checks"]["store"];

class CheckTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "CheckTimeout";
  }
}

async function timed(
  timeoutMs: number,
  fn: () => Promise<{ ok: boolean; error?: string; detail?: Record<string, unknown> }>,
): Promise<Check> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CheckTimeout(timeoutMs)), timeoutMs);
      }),
    ]);
    return { ...result, ms: round(performance.now() - t0) };
  } catch (err) {
    return { ok: false, ms: round(performance.now() - t0), error: short(err) };
  } finally {
    clearTimeout(timer);
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;

function short(err: unknown): string {
  const text =
    err instanceof Error ? ((err as { shortMessage?: string }).shortMessage ?? err.message) : String(err);
  return (text.split("\n")[0] ?? text).slice(0, 300);
}

/** Whether one runtime answers: its own health() where it has one, else GET /health on its endpoint. */
export async function runtimeHealthy(runtime: ContainerRuntime, timeoutMs: number): Promise<boolean> {
  const own = (runtime as { health?: () => Promise<boolean> }).health;
  if (typeof own === "function") return own.call(runtime);
  const endpoint = (runtime as { endpoint?: Endpoint }).endpoint;
  return endpoint === undefined ? false : probe(endpoint, timeoutMs);
}

export async function checkHealth(deps: HealthDeps): Promise<HealthReply> {
  const timeoutMs = deps.timeoutMs ?? 2000;
  const [store, chain, queue, runtimes] = await Promise.all([
    timed(timeoutMs, async () => {
      const row = deps.store.statement("SELECT 1 AS ok").get() as { ok: number } | undefined;
      return { ok: row?.ok === 1 };
    }),
    timed(timeoutMs, async () => {
      const c = deps.chain;
      if (!c) return { ok: true, detail: { configured: false } };
      const head = Number(await c.publicClient.getBlockNumber({ cacheTime: 0 }));
      const watcher = c.watcher?.health();
      const processed = watcher
        ? (watcher.lastProcessedBlock ?? deps.store.getCheckpoint()?.blockNumber)
        : undefined;
      const lag = processed === undefined ? undefined : Math.max(0, head - processed);
      c.onSample?.(head, lag);
      const tooFar = lag !== undefined && lag > c.maxLagBlocks;
      return {
        ok: !tooFar,
        ...(tooFar ? { error: `watcher is ${lag} blocks behind the head (limit ${c.maxLagBlocks})` } : {}),
        detail: {
          head,
          processed: processed ?? null,
          lag: lag ?? null,
          ...(watcher ? { watcherRpcOk: watcher.rpcOk, watcherLastError: watcher.lastError } : {}),
        },
      };
    }),
    timed(timeoutMs, async () => {
      const depths: Record<string, number> = {};
      for (const q of deps.queues) depths[q.name] = await q.depth();
      return { ok: true, detail: depths };
    }),
    timed(timeoutMs, async () => {
      const entries = await Promise.all(
        [...deps.runtimes.values()].map(
          async (rt) => [rt.id, await runtimeHealthy(rt, timeoutMs).catch(() => false)] as const,
        ),
      );
      const down = entries.filter(([, ok]) => !ok).map(([id]) => id);
      return {
        ok: down.length === 0,
        ...(down.length ? { error: `not answering: ${down.join(", ")}` } : {}),
        detail: Object.fromEntries(entries),
      };
    }),
  ]);
  const checks = { store, chain, queue, runtimes };
  const failing = Object.entries(checks)
    .filter(([, c]) => !c.ok)
    .map(([name]) => name);
  return { status: failing.length === 0 ? "ok" : "unhealthy", failing, checks };
}

/** checkHealth with concurrent callers sharing one run and results reused for `cacheMs`. */
export function cachedHealth(deps: HealthDeps, cacheMs = 1000): () => Promise<HealthReply> {
  let last: { at: number; value: HealthReply } | undefined;
  let running: Promise<HealthReply> | undefined;
  return () => {
    if (last && Date.now() - last.at < cacheMs) return Promise.resolve(last.value);
    running ??= checkHealth(deps)
      .then((value) => {
        last = { at: Date.now(), value };
        return value;
      })
      .finally(() => (running = undefined));
    return running;
  };
}

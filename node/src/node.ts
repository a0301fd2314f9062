/**
 * The node's lifecycle host: starts components (store, chain watcher, queue, runtimes, API…) in order, and stops
 * them in reverse order on SIGINT/SIGTERM or `handle.stop()`, within a shutdown timeout. Every step is logged.
 */
import type { Config } from "./config/schema.ts";
import { apiComponent } from "./api/index.ts";
import { createLogger, type Logger } from "./log.ts";
import type { NodeParts } from "./parts.ts";
import { providerComponent } from "./provider/index.ts";
import { validatorComponent } from "./validator/component.ts";

/** A part of the node with a start and a stop. `stop` is only called on components whose `start` resolved. */
export interface Component {
  /** Short name used in logs, e.g. "store", "chain", "queue". */
  name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

/** What a component factory gets to build its component from. */
export interface ComponentContext {
  config: Config;
  logger: Logger;
  /** Parts shared between components (filled by their owners as they start; see parts.ts). */
  parts?: NodeParts;
}

/** Builds zero or more components from the config (e.g. nothing for `chain` when the role does not need it). */
export type ComponentFactory = (ctx: ComponentContext) => Component | Component[] | undefined;

/**
 * The components `startNode` runs when none are passed, in start order: the provider role (store, runtimes, chain,
 * queue, watcher), the validator role (judges the jobs it is drawn for, sharing the provider's chain parts), then
 * the REST API (`api.enabled`), which uses the provider's parts.
 */
export const componentFactories: ComponentFactory[] = [providerComponent, validatorComponent, apiComponent];

/** The components the default factories build for `config` (sharing one NodeParts unless ctx brings its own). */
export function defaultComponents(ctx: ComponentContext): Component[] {
  const shared: ComponentContext = { ...ctx, parts: ctx.parts ?? {} };
  return componentFactories.flatMap((factory) => {
    const made = factory(shared);
    return made === undefined ? [] : Array.isArray(made) ? made : [made];
  });
}

export interface StartNodeOptions {
  /** Components in start order (default: defaultComponents). */
  components?: Component[];
  /** Logger (default: JSON lines on stderr at config.log.level). */
  logger?: Logger;
  /** Total time allowed for stopping every component, in milliseconds (default 10 000). */
  shutdownTimeoutMs?: number;
  /** Stop on these signals; a second signal during shutdown exits at once (default: SIGINT, SIGTERM). */
  signals?: readonly NodeJS.Signals[];
}

/** How the node ended. */
export interface Shutdown {
  /** Why it stopped: the signal name, "stop()" or "start failed". */
  reason: string;
  /** 0 when every component stopped cleanly in time, 1 otherwise (or when start failed), 130 on a forced exit. */
  exitCode: number;
}

export interface NodeHandle {
  /** The components that started, in start order. */
  readonly components: readonly Component[];
  /** Stops the node (idempotent); resolves when shutdown is over. */
  stop(reason?: string): Promise<Shutdown>;
  /** Resolves when the node has stopped, however it was stopped. */
  readonly done: Promise<Shutdown>;
}

/** Thrown by startNode when a component fails to start (after the started ones were stopped). */
export class StartupError extends Error {
  readonly component: string;
  readonly exitCode: number;
  constructor(component: string, cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(`${component}: ${message}`, { cause });
    this.name = "StartupError";
    this.component = component;
    // A component may ask for a specific exit code (e.g. 69 EX_UNAVAILABLE when Docker is unreachable).
    const code = (cause as { exitCode?: unknown } | undefined)?.exitCode;
    this.exitCode = typeof code === "number" && Number.isInteger(code) ? code : 1;
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<{ ok: true; value: T } | { ok: false }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: false }>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false }), Math.max(0, ms));
  });
  return Promise.race([work.then((value) => ({ ok: true as const, value })), timeout]).finally(() =>
    clearTimeout(timer),
  );
}

/**
 * Starts the node: each component in order, logging each step, then "node started". Resolves with a handle once
 * everything is up. If a component fails to start, the ones already started are stopped in reverse order and a
 * StartupError is thrown. A signal that arrives during start-up lets the current component finish starting, then
 * shuts down.
 */
export async function startNode(config: Config, options: StartNodeOptions = {}): Promise<NodeHandle> {
  const logger = options.logger ?? createLogger({ level: config.log.level });
  const log = logger.child({ component: "node" });
  const components = options.components ?? defaultComponents({ config, logger });
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
  const signals = options.signals ?? ["SIGINT", "SIGTERM"];

  const started: Component[] = [];
  let starting = true;
  let stopping: Promise<Shutdown> | undefined;
  let stopRequested: string | undefined;
  let resolveDone!: (s: Shutdown) => void;
  const done = new Promise<Shutdown>((resolve) => {
    resolveDone = resolve;
  });
  // The node runs until stopped, even with no component holding the event loop open.
  const keepAlive = setInterval(() => {}, 1 << 30);
  void done.then(() => clearInterval(keepAlive));

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping !== undefined || stopRequested !== undefined) {
      log.warn({ signal }, "second signal during shutdown: exiting now");
      removeHandlers();
      resolveDone({ reason: signal, exitCode: 130 });
      return;
    }
    log.info({ signal }, "shutdown requested");
    if (starting) stopRequested = signal;
    else void stop(signal);
  };
  const removeHandlers = (): void => {
    for (const s of signals) process.off(s, onSignal);
  };
  for (const s of signals) process.on(s, onSignal);

  async function stopStarted(reason: string): Promise<number> {
    const deadline = Date.now() + shutdownTimeoutMs;
    let exitCode = 0;
    for (const component of [...started].reverse()) {
      const clog = log.child({ target: component.name });
      const t0 = Date.now();
      clog.info("stopping component");
      let outcome: { ok: true; value: void } | { ok: false };
      try {
        outcome = await withTimeout(
          Promise.resolve().then(() => component.stop()),
          deadline - Date.now(),
        );
      } catch (err) {
        exitCode = 1;
        clog.error({ err }, "component failed to stop");
        continue;
      }
      if (outcome.ok) clog.info({ ms: Date.now() - t0 }, "component stopped");
      else {
        exitCode = 1;
        clog.error({ timeoutMs: shutdownTimeoutMs }, "component did not stop within the shutdown timeout");
      }
    }
    started.length = 0;
    log.info({ reason, exitCode }, "node stopped");
    return exitCode;
  }

  function stop(reason = "stop()"): Promise<Shutdown> {
    stopping ??= (async () => {
      log.info({ reason, components: started.length }, "shutting down");
      const exitCode = await stopStarted(reason);
      removeHandlers();
      const result = { reason, exitCode };
      resolveDone(result);
      return result;
    })();
    return stopping;
  }

  log.info({ roles: config.roles, components: components.map((c) => c.name) }, "node starting");
  for (const component of components) {
    if (stopRequested !== undefined) break;
    const clog = log.child({ target: component.name });
    const t0 = Date.now();
    clog.info("starting component");
    try {
      await component.start();
    } catch (err) {
      clog.error({ err }, "component failed to start");
      starting = false;
      await stopStarted("start failed");
      removeHandlers();
      const error = new StartupError(component.name, err);
      resolveDone({ reason: "start failed", exitCode: error.exitCode });
      throw error;
    }
    started.push(component);
    clog.info({ ms: Date.now() - t0 }, "component started");
  }
  starting = false;
  const handle: NodeHandle = { components: [...started], stop, done };
  if (stopRequested !== undefined) void stop(stopRequested);
  else log.info({ roles: config.roles, components: started.length }, "node started");
  return handle;
}

/**
 * The node's structured logger, on pino, with pino's calling conventions: `log.info("msg")`,
 * `log.info({ fields }, "msg")`, `log.error(err, "msg")`, `log.child({ component: "chain" })`. Each record is one
 * JSON line `{"level":"info","time":"<ISO 8601>",…bindings,…fields,"msg":"…"}` written to stderr (stdout stays free
 * for command output). Errors anywhere in the fields are serialised as {type, message, code?, stack}; bigints as
 * decimal strings; cycles as "[Circular]". Job-related lines carry `jobId` (the job modules log through
 * `logger.child({ jobId })`).
 *
 * Children keep their bindings here rather than in pino children, so a field given at the call wins over a binding
 * of the same name (one key per line) and a level set on a parent at run time also applies to its children.
 */
import { pino, type Logger as PinoLogger } from "pino";

export const LEVELS = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
} as const;
export type Level = keyof typeof LEVELS;
type RecordLevel = Exclude<Level, "silent">;

export type Bindings = Record<string, unknown>;

export interface LogFn {
  (msg: string): void;
  (obj: Bindings | Error, msg?: string): void;
}

export interface Logger {
  /** Minimum level written; can be changed at run time (children follow their parent unless set themselves). */
  level: Level;
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** A logger that adds `bindings` to every record. */
  child(bindings: Bindings): Logger;
  isLevelEnabled(level: Level): boolean;
}

export interface LoggerOptions {
  /** Minimum level written (default: info). */
  level?: Level;
  /** Fields added to every record. */
  bindings?: Bindings;
  /** Where lines go (default: process.stderr, synchronously). Receives one JSON line including the trailing newline. */
  write?: (line: string) => void;
  /** Clock (default: Date.now); for tests. */
  now?: () => number;
}

const RESERVED = new Set(["time", "level", "msg"]);

function serializeError(err: Error, ancestors: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) out.code = normalize(code, ancestors);
  for (const [k, v] of Object.entries(err)) {
    if (!(k in out)) out[k] = normalize(v, ancestors);
  }
  if (err.stack !== undefined) out.stack = err.stack;
  if (err.cause !== undefined) out.cause = normalize(err.cause, ancestors);
  return out;
}

/** A JSON-safe copy: Errors serialised, bigints as strings, cycles as "[Circular]". */
function normalize(value: unknown, ancestors: unknown[] = []): unknown {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "function" || typeof value === "symbol") return String(value);
  if (typeof value !== "object" || value === null) return value;
  if (ancestors.includes(value)) return "[Circular]";
  const inner = [...ancestors, value];
  if (value instanceof Error) return serializeError(value, inner);
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Map) return normalize(Object.fromEntries(value), inner);
  if (value instanceof Set) return normalize([...value], inner);
  if (Array.isArray(value)) return value.map((v) => normalize(v, inner));
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = normalize(v, inner);
  return out;
}

class PinoBackedLogger implements Logger {
  #level: Level | undefined;
  readonly #parent: PinoBackedLogger | undefined;
  readonly #bindings: Bindings;
  readonly #pino: PinoLogger;

  readonly trace: LogFn = (obj: unknown, msg?: string) => this.#log("trace", obj, msg);
  readonly debug: LogFn = (obj: unknown, msg?: string) => this.#log("debug", obj, msg);
  readonly info: LogFn = (obj: unknown, msg?: string) => this.#log("info", obj, msg);
  readonly warn: LogFn = (obj: unknown, msg?: string) => this.#log("warn", obj, msg);
  readonly error: LogFn = (obj: unknown, msg?: string) => this.#log("error", obj, msg);
  readonly fatal: LogFn = (obj: unknown, msg?: string) => this.#log("fatal", obj, msg);

  constructor(
    level: Level | undefined,
    parent: PinoBackedLogger | undefined,
    bindings: Bindings,
    root: PinoLogger,
  ) {
    this.#level = level;
    this.#parent = parent;
    this.#bindings = bindings;
    this.#pino = root;
  }

  get level(): Level {
    return this.#level ?? this.#parent?.level ?? "info";
  }

  set level(level: Level) {
    if (!(level in LEVELS)) throw new Error(`unknown log level ${JSON.stringify(level)}`);
    this.#level = level;
  }

  isLevelEnabled(level: Level): boolean {
    return level !== "silent" && LEVELS[level] >= LEVELS[this.level];
  }

  child(bindings: Bindings): Logger {
    return new PinoBackedLogger(undefined, this, { ...this.#bindings, ...bindings }, this.#pino);
  }

  #log(level: RecordLevel, obj: unknown, msg?: string): void {
    if (!this.isLevelEnabled(level)) return;
    let fields: Bindings = {};
    let message = msg;
    if (typeof obj === "string") message = obj;
    else if (obj instanceof Error) {
      fields = { err: obj };
      message ??= obj.message;
    } else if (typeof obj === "object" && obj !== null) fields = obj as Bindings;
    const record: Record<string, unknown> = {};
    for (const [k, v] of Object.entries({ ...this.#bindings, ...fields })) {
      if (!RESERVED.has(k)) record[k] = normalize(v);
    }
    this.#pino[level](record, message ?? "");
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const now = options.now ?? Date.now;
  const write = options.write;
  const root = pino(
    {
      // Filtering happens in PinoBackedLogger (so children follow run-time level changes); pino writes everything.
      level: "trace",
      base: null,
      messageKey: "msg",
      // Fields arrive already normalised (errors serialised by normalize); pino's own err serializer would retype them.
      serializers: { err: (value: unknown) => value },
      timestamp: () => `,"time":"${new Date(now()).toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    write ? { write } : pino.destination({ fd: 2, sync: true }),
  );
  return new PinoBackedLogger(options.level ?? "info", undefined, options.bindings ?? {}, root);
}

/** A logger that writes nothing (for tests and library defaults). */
export function silentLogger(): Logger {
  return createLogger({ level: "silent", write: () => {} });
}

/**
 * A tiny structured logger with pino's calling conventions: `log.info("msg")`, `log.info({ fields }, "msg")`,
 * `log.error(err, "msg")`, `log.child({ component: "chain" })`. Each record is one JSON line
 * `{"time":"<ISO 8601>","level":"info","msg":"…",…bindings,…fields}` written to stderr (stdout stays free for
 * command output). Errors anywhere in the fields are serialised as {type, message, code?, stack}; bigints as
 * decimal strings.
 */

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
  /** Where lines go (default: process.stderr). Receives one JSON line including the trailing newline. */
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

class JsonLogger implements Logger {
  #level: Level | undefined;
  readonly #parent: JsonLogger | undefined;
  readonly #bindings: Bindings;
  readonly #write: (line: string) => void;
  readonly #now: () => number;

  readonly trace: LogFn = (obj: unknown, msg?: string) => this.#log("trace", obj, msg);
  readonly debug: LogFn = (obj: unknown, msg?: string) => this.#log("debug", obj, msg);
  readonly info: LogFn = (obj: unknown, msg?: string) => this.#log("info", obj, msg);
  readonly warn: LogFn = (obj: unknown, msg?: string) => this.#log("warn", obj, msg);
  readonly error: LogFn = (obj: unknown, msg?: string) => this.#log("error", obj, msg);
  readonly fatal: LogFn = (obj: unknown, msg?: string) => this.#log("fatal", obj, msg);

  constructor(
    level: Level | undefined,
    parent: JsonLogger | undefined,
    bindings: Bindings,
    write: (line: string) => void,
    now: () => number,
  ) {
    this.#level = level;
    this.#parent = parent;
    this.#bindings = bindings;
    this.#write = write;
    this.#now = now;
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
    return new JsonLogger(undefined, this, { ...this.#bindings, ...bindings }, this.#write, this.#now);
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
    const record: Record<string, unknown> = {
      time: new Date(this.#now()).toISOString(),
      level,
      msg: message ?? "",
    };
    for (const [k, v] of Object.entries({ ...this.#bindings, ...fields })) {
      if (!RESERVED.has(k)) record[k] = normalize(v);
    }
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch (err) {
      line = JSON.stringify({ time: record.time, level, msg: record.msg, logError: String(err) });
    }
    this.#write(`${line}\n`);
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  return new JsonLogger(
    options.level ?? "info",
    undefined,
    options.bindings ?? {},
    write,
    options.now ?? Date.now,
  );
}

/** A logger that writes nothing (for tests and library defaults). */
export function silentLogger(): Logger {
  return createLogger({ level: "silent", write: () => {} });
}

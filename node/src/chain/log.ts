/** The logger the chain modules take: pino's call shape (`logger.warn({ ...fields }, "message")`). */
export interface Logger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
  debug?(obj: Record<string, unknown>, msg: string): void;
}

/** Discards everything. */
export const silentLogger: Logger = {
  info() {},
  warn() {},
  error() {},
};

/** A short one-line description of an error (viem errors carry multi-line messages with docs links). */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const short = (err as { shortMessage?: unknown }).shortMessage;
    const base = typeof short === "string" && short.length > 0 ? short : err.message;
    const details = (err as { details?: unknown }).details;
    const first = base.split("\n")[0] ?? base;
    return typeof details === "string" && details.length > 0 && !first.includes(details)
      ? `${first} (${details.split("\n")[0]})`
      : first;
  }
  return String(err);
}

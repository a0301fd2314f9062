// Small helpers shared by the runtimes.

/**
 * Splits a command line the way a POSIX shell splits words (single and double quotes, backslash escapes), without
 * running a shell: no variables, globs or operators. Arrays are taken as they are.
 */
export function splitCommand(command: string | readonly string[]): string[] {
  if (typeof command !== "string") return [...command];
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string;
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === "\\" && i + 1 < command.length && '"\\$`\n'.includes(command[i + 1] as string)) {
        cur += command[++i];
      } else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < command.length) {
      cur += command[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} quote in command: ${command}`);
  if (inWord) words.push(cur);
  return words;
}

/** Keeps the last `maxBytes` of a text stream (cut at a line start where possible). */
export class LogRing {
  readonly maxBytes: number;
  #chunks: string[] = [];
  #size = 0;
  constructor(maxBytes = 256 * 1024) {
    this.maxBytes = maxBytes;
  }
  push(chunk: string | Buffer): void {
    const s = typeof chunk === "string" ? chunk : chunk.toString("utf8");
    this.#chunks.push(s);
    this.#size += s.length;
    if (this.#size > this.maxBytes * 2) this.#compact();
  }
  #compact(): void {
    let text = this.#chunks.join("");
    if (text.length > this.maxBytes) {
      text = text.slice(text.length - this.maxBytes);
      const nl = text.indexOf("\n");
      if (nl >= 0 && nl < 4096) text = text.slice(nl + 1);
    }
    this.#chunks = [text];
    this.#size = text.length;
  }
  text(): string {
    this.#compact();
    return this.#chunks[0] ?? "";
  }
}

/** Docker's log stream for a non-TTY container: frames of [stream, 0, 0, 0, size (u32 BE)] + payload. */
export function demuxDockerLogs(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i < buf.length) {
    if (i + 8 > buf.length) break;
    const type = buf[i] as number;
    if (type > 2 || buf[i + 1] !== 0 || buf[i + 2] !== 0 || buf[i + 3] !== 0) {
      // Not framed (a TTY container): the bytes are the text.
      return i === 0 ? buf.toString("utf8") : Buffer.concat([...parts, buf.subarray(i)]).toString("utf8");
    }
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, Math.min(buf.length, i + 8 + size)));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString("utf8");
}

/** Container names: [a-zA-Z0-9][a-zA-Z0-9_.-]*. */
export function sanitizeName(s: string): string {
  const cleaned = s.replace(/[^a-zA-Z0-9_.-]+/g, "-").replace(/^[^a-zA-Z0-9]+/, "");
  return (cleaned || "container").slice(0, 60);
}

// Server-Sent Events on a hijacked fastify reply: `event:`/`id:`/`data:` frames, `: keepalive` comments every
// keepaliveMs (so proxies do not drop an idle stream), and a registry of open streams so the server can end them
// all when it closes (fastify would otherwise wait for them).
import type { FastifyReply } from "fastify";

export interface SseStream {
  /** Sends one event (data is JSON-encoded). Ignored once closed. */
  send(event: string, data: unknown): void;
  /** Sends a comment line (clients ignore it). */
  comment(text: string): void;
  /** Ends the stream (idempotent). */
  close(): void;
  readonly closed: boolean;
  /** Called once when the stream ends, whoever ended it. */
  onClose(fn: () => void): void;
}

export interface SseOptions {
  keepaliveMs: number;
  /** Open streams, so the server can close them on shutdown. */
  registry?: Set<SseStream>;
  /** Extra response headers (CORS). */
  headers?: Record<string, string>;
}

/** Takes over the reply and starts an event stream. */
export function openSse(reply: FastifyReply, options: SseOptions): SseStream {
  // Headers set before the hijack (rate limit, CORS) go out with the stream.
  const inherited: Record<string, string | number | string[]> = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) inherited[k] = v;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...inherited,
    ...options.headers,
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  let closed = false;
  let seq = 0;
  const closers: (() => void)[] = [];
  const write = (text: string) => {
    if (closed) return;
    try {
      res.write(text);
    } catch {
      stream.close();
    }
  };
  const timer = setInterval(() => write(": keepalive\n\n"), options.keepaliveMs);
  timer.unref();
  const stream: SseStream = {
    send(event, data) {
      write(`id: ${++seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    comment(text) {
      write(`: ${text.replace(/\n/g, " ")}\n\n`);
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      options.registry?.delete(stream);
      if (!res.writableEnded) res.end();
      for (const fn of closers.splice(0)) {
        try {
          fn();
        } catch {
          // a closer's problem
        }
      }
    },
    get closed() {
      return closed;
    },
    onClose(fn) {
      if (closed) fn();
      else closers.push(fn);
    },
  };
  options.registry?.add(stream);
  // The client went away (or the socket broke): stop following the job.
  res.on("close", () => stream.close());
  res.on("error", () => stream.close());
  // Tell EventSource clients how long to wait before reconnecting, and flush the headers now.
  write(`retry: 3000\n\n`);
  return stream;
}

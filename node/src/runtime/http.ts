// HTTP to a container: over a unix socket (network "none") or TCP, one connection per request (no keep-alive:
// a reused socket that the server has just closed would turn into a spurious failure).
import http from "node:http";
import https from "node:https";
import {
  Destination,
  replyErrorCode,
  validateReply,
  MalformedReplyError,
  type ContainerOutput,
  type ContainerRequest,
} from "./contract.ts";
import { ContainerCallError, ContainerTimeoutError } from "./types.ts";

export interface Endpoint {
  /** unix socket path; when set, host/port are ignored */
  socketPath?: string;
  host?: string;
  port?: number;
  tls?: boolean;
  /** path prefix, e.g. "/v1" for an external service at https://host/v1 */
  basePath?: string;
  headers?: Readonly<Record<string, string>>;
}

export function describeEndpoint(ep: Endpoint): string {
  if (ep.socketPath) return `unix:${ep.socketPath}`;
  return `${ep.tls ? "https" : "http"}://${ep.host ?? "127.0.0.1"}:${ep.port ?? (ep.tls ? 443 : 80)}${ep.basePath ?? ""}`;
}

export function endpointFromUrl(url: string, headers?: Record<string, string>): Endpoint {
  const u = new URL(url);
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new Error(`unsupported URL ${url}: use http:// or https://`);
  }
  const tls = u.protocol === "https:";
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: u.port ? Number(u.port) : tls ? 443 : 80,
    tls,
    basePath: u.pathname.replace(/\/+$/, ""),
    ...(headers ? { headers } : {}),
  };
}

export interface HttpResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

/** Raised for a request that ran past its limit (the caller turns it into a ContainerTimeoutError). */
export class HttpTimeout extends Error {
  override readonly name = "HttpTimeout";
}

/** 256 MiB: off-chain replies may carry media; anything larger is refused. */
const MAX_BODY = 256 * 1024 * 1024;

export function httpRequest(
  ep: Endpoint,
  method: "GET" | "POST" | "DELETE",
  path: string,
  body: string | undefined,
  opts: { timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(opts.signal.reason);
      return;
    }
    const headers: Record<string, string | number> = { ...ep.headers, accept: "application/json" };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = Buffer.byteLength(body);
    }
    const options: http.RequestOptions = {
      method,
      path: `${ep.basePath ?? ""}${path}`,
      headers,
      agent: false,
      ...(ep.socketPath
        ? { socketPath: ep.socketPath }
        : { host: ep.host ?? "127.0.0.1", port: ep.port ?? 80 }),
    };
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      fn();
    };
    const req = (ep.tls ? https : http).request(options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          req.destroy(new Error(`reply larger than ${MAX_BODY} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on("end", () =>
        finish(() =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers["content-type"] ?? ""),
            body: Buffer.concat(chunks),
          }),
        ),
      );
      res.on("error", (e) => finish(() => reject(e)));
    });
    const timer = setTimeout(() => {
      finish(() => reject(new HttpTimeout(`no reply within ${opts.timeoutMs} ms`)));
      req.destroy();
    }, opts.timeoutMs);
    const onAbort = () => {
      finish(() => reject(opts.signal?.reason));
      req.destroy();
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    req.on("error", (e) => finish(() => reject(e)));
    req.end(body);
  });
}

/**
 * One readiness probe: GET /health. Ready when the server answers below 500 (a server without /health answers
 * 404, which still shows it is up; 5xx means "up but not ready yet"). Connection errors → not ready.
 */
export async function probe(ep: Endpoint, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await httpRequest(ep, "GET", "/health", undefined, { timeoutMs });
    return res.status > 0 && res.status < 500;
  } catch {
    return false;
  }
}

/**
 * POST /service_output and validate the reply. Timeouts become ContainerTimeoutError, HTTP errors and error
 * `code`s ContainerCallError, bad bodies MalformedReplyError; connection errors are rethrown as they are (the
 * runtime decides whether the container crashed).
 */
export async function callService(
  containerId: string,
  ep: Endpoint,
  request: ContainerRequest,
  opts: { timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<ContainerOutput> {
  let res: HttpResponse;
  try {
    res = await httpRequest(ep, "POST", "/service_output", JSON.stringify(request), opts);
  } catch (e) {
    if (e instanceof HttpTimeout) throw new ContainerTimeoutError(containerId, "call", opts.timeoutMs);
    throw e;
  }
  const text = res.body.toString("utf8");
  if (res.status < 200 || res.status >= 300) {
    throw new ContainerCallError(
      containerId,
      `POST /service_output answered HTTP ${res.status}${replyReason(text)}`,
      res.status,
      text,
    );
  }
  if (request.destination === Destination.STREAM) {
    // Ritual's node keeps a finished stream as {output: <the chunks joined, as text>}.
    return { output: text };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new MalformedReplyError(containerId, "the body is not JSON", text);
  }
  // An error report ({code: "500", …}) is not a malformed reply: check it before the five on-chain fields.
  const code = replyErrorCode(validateReply(containerId, Destination.OFFCHAIN, parsed));
  if (code !== undefined) {
    throw new ContainerCallError(containerId, `the reply reports error code ${code}`, code, text);
  }
  return validateReply(containerId, request.destination, parsed);
}

/** Connection-level failures that mean "nothing is listening (any more)". */
export function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return (
    typeof code === "string" &&
    ["ECONNREFUSED", "ECONNRESET", "ENOENT", "EPIPE", "ECONNABORTED", "EHOSTUNREACH", "ENOTCONN"].includes(
      code,
    )
  );
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === "string" && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `ready` until it resolves true. `failed` is checked before each probe and may throw (a crash).
 * Throws ContainerTimeoutError("start") when `timeoutMs` passes; `logs` supplies the log tail for it.
 */
export async function waitReady(
  containerId: string,
  timeoutMs: number,
  ready: () => Promise<boolean>,
  failed: () => Promise<void>,
  logs: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  for (;;) {
    await failed();
    if (await ready()) return;
    await failed();
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new ContainerTimeoutError(containerId, "start", timeoutMs, await logs().catch(() => ""));
    }
    await sleep(Math.min(delay, left));
    delay = Math.min(delay * 1.5, 250);
  }
}

/** ": <reason>" from an error reply's JSON `error`/`message` (or its first line of text), "" when empty. */
function replyReason(text: string): string {
  let reason = text.trim();
  try {
    const o = JSON.parse(reason) as { error?: unknown; message?: unknown };
    const r = o.error ?? o.message;
    if (typeof r === "string") reason = r;
  } catch {
    reason = reason.split("\n", 1)[0] ?? "";
  }
  return reason ? `: ${reason.length > 300 ? `${reason.slice(0, 300)}…` : reason}` : "";
}

/**
 * A node's REST API (docs/api.md): off-chain jobs (container pipelines) submitted with an API key, their status,
 * and their Server-Sent Events stream followed to the result; the node's info and health. Uses the global `fetch`
 * (or one passed in).
 */
import {
  JobStreamEndedError,
  NodeApiError,
  NodeUnreachableError,
  OffchainJobFailedError,
  WaitAbortedError,
  WaitTimeoutError,
} from "./errors.ts";

export interface NodeApi {
  /** Base URL, e.g. `http://127.0.0.1:4000` (no trailing slash). */
  url: string;
  /** API key (`infernet-node keys create`), sent as `Authorization: Bearer <key>`. */
  apiKey: string | undefined;
  fetch: typeof fetch;
}

export interface NodeApiParams {
  url: string;
  apiKey?: string;
  fetch?: typeof fetch;
}

/** A handle on one node's REST API. */
export function nodeApi(p: NodeApiParams): NodeApi {
  return { url: p.url.replace(/\/+$/, ""), apiKey: p.apiKey, fetch: p.fetch ?? globalThis.fetch };
}

export type OffchainJobStatus = "queued" | "running" | "success" | "failed";

/** `GET /api/jobs/{id}`. */
export interface OffchainJob {
  id: string;
  status: OffchainJobStatus;
  containers: string[];
  requires_proof: boolean;
  /** The last container's output, once status is success. */
  result: { container: string; output: unknown } | null;
  error: { container: string | null; message: string } | null;
  progress: { step: number; steps: number; container: string } | null;
  attempts: number;
  created_at: string;
  updated_at: string;
}

export interface OffchainJobRequest {
  /** The pipeline, in order; the last container's output is the result. */
  containers: string[];
  /** Input of the first container: any JSON value. */
  data: unknown;
  requiresProof?: boolean;
}

/** One event of `GET /api/jobs/{id}/events`. */
export type OffchainJobEvent =
  | { type: "state"; status: OffchainJobStatus; attempt?: number; error?: string }
  | { type: "progress"; step: number; steps: number; container: string; ms: number }
  | { type: "retrying"; reason: string; delayMs: number }
  | { type: "result"; job: OffchainJob };

interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  accept?: string;
}

async function call(api: NodeApi, path: string, o: RequestOptions = {}): Promise<Response> {
  const method = o.method ?? (o.body === undefined ? "GET" : "POST");
  const headers: Record<string, string> = {};
  if (api.apiKey) headers.authorization = `Bearer ${api.apiKey}`;
  if (o.body !== undefined) headers["content-type"] = "application/json";
  if (o.accept) headers.accept = o.accept;
  let res: Response;
  try {
    res = await api.fetch(`${api.url}${path}`, {
      method,
      headers,
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (err) {
    if (o.signal?.aborted) throw new WaitAbortedError(`${method} ${path}`, err);
    throw new NodeUnreachableError(api.url, err);
  }
  if (!res.ok && !(path === "/health" && res.status === 503)) {
    let body: unknown;
    const text = await res.text();
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    const b = (typeof body === "object" && body !== null ? body : {}) as { message?: string; code?: string };
    throw new NodeApiError({
      method,
      path,
      status: res.status,
      message: b.message ?? (typeof body === "string" && body ? body : res.statusText),
      ...(b.code !== undefined ? { code: b.code } : {}),
      body,
    });
  }
  return res;
}

async function json<T>(api: NodeApi, path: string, o: RequestOptions = {}): Promise<T> {
  return (await (await call(api, path, o)).json()) as T;
}

/** `POST /api/jobs`: queues the job; resolves with its id. */
export async function submitOffchainJob(api: NodeApi, req: OffchainJobRequest): Promise<string> {
  const { id } = await json<{ id: string }>(api, "/api/jobs", {
    body: {
      containers: req.containers,
      data: req.data,
      ...(req.requiresProof !== undefined ? { requires_proof: req.requiresProof } : {}),
    },
  });
  return id;
}

/** `GET /api/jobs/{id}`. */
export async function getOffchainJob(api: NodeApi, id: string): Promise<OffchainJob> {
  return json<OffchainJob>(api, `/api/jobs/${encodeURIComponent(id)}`);
}

/** `GET /api/jobs`: the caller's jobs, newest first. */
export async function listOffchainJobs(
  api: NodeApi,
  q: { status?: OffchainJobStatus; limit?: number; cursor?: string } = {},
): Promise<{ jobs: OffchainJob[]; next_cursor: string | null; total: number }> {
  const params = new URLSearchParams();
  if (q.status) params.set("status", q.status);
  if (q.limit !== undefined) params.set("limit", String(q.limit));
  if (q.cursor) params.set("cursor", q.cursor);
  const qs = params.size > 0 ? `?${params}` : "";
  return json(api, `/api/jobs${qs}`);
}

/** `GET /info`: version, roles, containers, chain and queue. */
export async function getNodeInfo(api: NodeApi): Promise<{
  version: string;
  roles: string[];
  node: string | null;
  containers: string[];
  chain: { id: number; coordinator: string } | null;
}> {
  return json(api, "/info");
}

/** `GET /health` (a 503 is returned as `status: "unhealthy"`, not thrown). */
export async function getNodeHealth(
  api: NodeApi,
): Promise<{ status: "ok" | "unhealthy"; failing: string[] }> {
  return json(api, "/health");
}

/** One Server-Sent Events frame. */
export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/** Parses a `text/event-stream` body into messages (comments and `retry:` lines are skipped). */
export async function* parseServerSentEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<SseMessage, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let cut: number;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message";
        const data: string[] = [];
        let id: string | undefined;
        for (const line of frame.split("\n")) {
          if (line === "" || line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event = value;
          else if (field === "data") data.push(value);
          else if (field === "id") id = value;
        }
        if (data.length > 0) yield { event, data: data.join("\n"), ...(id !== undefined ? { id } : {}) };
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

function toEvent(m: SseMessage): OffchainJobEvent | undefined {
  const data = JSON.parse(m.data) as Record<string, unknown>;
  switch (m.event) {
    case "state":
      return { type: "state", ...(data as { status: OffchainJobStatus }) };
    case "progress":
      return {
        type: "progress",
        ...(data as { step: number; steps: number; container: string; ms: number }),
      };
    case "retrying":
      return { type: "retrying", ...(data as { reason: string; delayMs: number }) };
    case "result":
      return { type: "result", job: data as unknown as OffchainJob };
    default:
      return undefined;
  }
}

/**
 * Follows a job over `GET /api/jobs/{id}/events`: `state`, `progress` and `retrying` events as they happen, then
 * `result` with the whole job, after which the stream ends.
 */
export async function* streamOffchainJob(
  api: NodeApi,
  id: string,
  o: { signal?: AbortSignal } = {},
): AsyncGenerator<OffchainJobEvent, void, undefined> {
  const res = await call(api, `/api/jobs/${encodeURIComponent(id)}/events`, {
    accept: "text/event-stream",
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (!res.body) throw new JobStreamEndedError(id);
  try {
    for await (const message of parseServerSentEvents(res.body)) {
      const event = toEvent(message);
      if (!event) continue;
      yield event;
      if (event.type === "result") return;
    }
  } catch (err) {
    if (o.signal?.aborted) throw new WaitAbortedError(`job ${id}`, err);
    throw err;
  }
}

export interface WaitForOffchainJobOptions {
  onEvent?: (event: OffchainJobEvent) => void;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * Streams the job to its result; resolves with the finished job, or throws `OffchainJobFailedError` when it failed
 * (`JobStreamEndedError` when the stream ends first, `WaitTimeoutError` after `timeoutMs`).
 */
export async function waitForOffchainJob(
  api: NodeApi,
  id: string,
  o: WaitForOffchainJobOptions = {},
): Promise<OffchainJob> {
  const controller = new AbortController();
  const abort = () => controller.abort(o.signal?.reason);
  o.signal?.addEventListener("abort", abort, { once: true });
  let timedOut = false;
  const timer =
    o.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, o.timeoutMs);
  try {
    for await (const event of streamOffchainJob(api, id, { signal: controller.signal })) {
      o.onEvent?.(event);
      if (event.type === "result") {
        const job = event.job;
        if (job.status === "failed")
          throw new OffchainJobFailedError(id, job.error?.container ?? null, job.error?.message ?? "failed");
        return job;
      }
    }
    throw new JobStreamEndedError(id);
  } catch (err) {
    if (timedOut) throw new WaitTimeoutError(`off-chain job ${id}`, o.timeoutMs!);
    throw err;
  } finally {
    if (timer) clearTimeout(timer);
    o.signal?.removeEventListener("abort", abort);
  }
}

/** Submits a job and follows it to its result. */
export async function runOffchainJob(
  api: NodeApi,
  req: OffchainJobRequest,
  o: WaitForOffchainJobOptions = {},
): Promise<OffchainJob> {
  return waitForOffchainJob(api, await submitOffchainJob(api, req), o);
}

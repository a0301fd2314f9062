// Off-chain jobs: create (one or a batch), read, list (the caller's own, paginated) and follow (Server-Sent Events).
// A job belongs to the API key that created it; another key gets 404 for it, as for an id that does not exist.
import { principalOf, type ApiApp, type ApiContext } from "../context.ts";
import { BadRequestError, NotFoundError } from "../errors.ts";
import { InvalidJobError, type OffchainJobRequest } from "../../offchain/jobs.ts";
import { openSse } from "../sse.ts";
import {
  BatchReply,
  BatchRequest,
  EventStream,
  IdParams,
  Job,
  JobCreated,
  JobListQuery,
  JobListReply,
  JobRequest,
  errors,
} from "../schemas.ts";

/** Deepest nesting accepted in `data` (JSON.stringify and the containers recurse; a 1 MiB body could nest 500k deep). */
export const MAX_DATA_DEPTH = 64;

const SECURITY: { [scheme: string]: string[] }[] = [{ bearerAuth: [] }, { apiKeyHeader: [] }];

/** Whether `value` nests deeper than `limit` arrays/objects (iterative: safe on any depth). */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (depth >= limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

function toRequest(body: JobRequest, where = ""): OffchainJobRequest {
  if (nestsDeeperThan(body.data, MAX_DATA_DEPTH)) {
    throw new InvalidJobError(`${where}data: nested deeper than ${MAX_DATA_DEPTH} levels`);
  }
  return { containers: body.containers, data: body.data, requiresProof: body.requires_proof === true };
}

function badRequest(err: unknown): never {
  if (err instanceof InvalidJobError) throw new BadRequestError(err.message, "invalid_job");
  throw err;
}

export function jobRoutes(app: ApiApp, ctx: ApiContext): void {
  app.post(
    "/api/jobs",
    {
      schema: {
        operationId: "createJob",
        tags: ["jobs"],
        summary: "Create an off-chain job",
        description:
          "Runs `data` through the pipeline `containers` (each container's output is the next one's input). " +
          "Replies at once with the job's id; follow it with GET /api/jobs/{id} or /api/jobs/{id}/events.",
        security: SECURITY,
        body: JobRequest,
        response: { 200: JobCreated, ...errors(400, 401, 413, 415, 429) },
      },
    },
    async (request) => {
      const owner = principalOf(request).id;
      try {
        return { id: await ctx.jobs.submit(owner, toRequest(request.body)) };
      } catch (err) {
        badRequest(err);
      }
    },
  );

  app.post(
    "/api/jobs/batch",
    {
      schema: {
        operationId: "createJobs",
        tags: ["jobs"],
        summary: "Create several off-chain jobs",
        description:
          "Each job is created independently, as by POST /api/jobs: the reply has one entry per job, in order, " +
          "`{id}` or `{error}` (a job naming an unknown container fails alone). A body that does not match the " +
          "schema, or more than api.batchMaxJobs jobs, is refused as a whole (400).",
        security: SECURITY,
        body: BatchRequest,
        response: { 200: BatchReply, ...errors(400, 401, 413, 415, 429) },
      },
    },
    async (request) => {
      const owner = principalOf(request).id;
      if (request.body.length > ctx.api.batchMaxJobs) {
        throw new BadRequestError(
          `at most ${ctx.api.batchMaxJobs} jobs per batch (got ${request.body.length})`,
          "invalid_request",
        );
      }
      const out: ({ id: string } | { error: string })[] = [];
      for (const [i, body] of request.body.entries()) {
        try {
          out.push({ id: await ctx.jobs.submit(owner, toRequest(body, `[${i}].`)) });
        } catch (err) {
          if (!(err instanceof InvalidJobError)) throw err;
          out.push({ error: err.message });
        }
      }
      return out;
    },
  );

  app.get(
    "/api/jobs",
    {
      schema: {
        operationId: "listJobs",
        tags: ["jobs"],
        summary: "List the caller's jobs",
        description:
          "The jobs created with the caller's API key, newest first, `limit` per page (default 50, at most 1000). " +
          "Page with `cursor` (the previous page's `next_cursor`: stable while new jobs arrive) or with `offset` " +
          "(simple, but pages shift as jobs are added), not both. `status` filters.",
        security: SECURITY,
        querystring: JobListQuery,
        response: { 200: JobListReply, ...errors(400, 401, 429) },
      },
    },
    async (request) => {
      const { limit = 50, cursor, offset, status } = request.query;
      if (cursor !== undefined && offset !== undefined) {
        throw new BadRequestError("use either cursor or offset, not both", "invalid_request");
      }
      try {
        return ctx.jobs.list({ owner: principalOf(request).id, limit, cursor, offset, status });
      } catch (err) {
        badRequest(err);
      }
    },
  );

  app.get(
    "/api/jobs/:id",
    {
      schema: {
        operationId: "getJob",
        tags: ["jobs"],
        summary: "A job's status and result",
        security: SECURITY,
        params: IdParams,
        response: { 200: Job, ...errors(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const job = ctx.jobs.get(request.params.id, principalOf(request).id);
      if (!job) throw new NotFoundError(`no job ${JSON.stringify(request.params.id)}`);
      return job;
    },
  );

  app.get(
    "/api/jobs/:id/events",
    {
      // HEAD would open a stream with no body to carry it.
      exposeHeadRoute: false,
      schema: {
        operationId: "jobEvents",
        tags: ["jobs"],
        summary: "Follow a job (Server-Sent Events)",
        description:
          "An event stream: `state` with the current status first, then `state` on every change, `progress` " +
          "after each step of the pipeline (step, steps, container, ms), `retrying` before a retry, and finally " +
          "`result` with the whole job (as GET /api/jobs/{id}); then the stream ends. A finished job gets its " +
          "`state` and `result` at once. Comments (`: keepalive`) are sent every api.sseKeepaliveMs.",
        security: SECURITY,
        params: IdParams,
        response: {
          200: { description: "The event stream", content: { "text/event-stream": { schema: EventStream } } },
          ...errors(400, 401, 404, 429),
        },
      },
    },
    async (request, reply) => {
      const owner = principalOf(request).id;
      const id = request.params.id;
      if (!ctx.jobs.get(id, owner)) throw new NotFoundError(`no job ${JSON.stringify(id)}`);
      const stream = openSse(reply, { keepaliveMs: ctx.api.sseKeepaliveMs, registry: ctx.sseStreams });
      const finish = () => {
        const final = ctx.jobs.get(id, owner);
        if (final) stream.send("result", final);
        stream.close();
      };
      const unsubscribe = ctx.jobs.subscribe(id, (event) => {
        if (event.type === "done") finish();
        else {
          const { type, ...data } = event;
          stream.send(type, data);
        }
      });
      stream.onClose(unsubscribe);
      // The current state, read after subscribing so that no change falls in between.
      const now = ctx.jobs.get(id, owner);
      if (!now) {
        stream.close();
        return reply;
      }
      stream.send("state", {
        status: now.status,
        attempt: now.attempts,
        ...(now.progress ? { progress: now.progress } : {}),
        ...(now.error ? { error: now.error.message } : {}),
      });
      if (now.status === "success" || now.status === "failed") finish();
      return reply;
    },
  );
}

// API errors and the error handler: every reply to a bad request is a 4xx with a reason; a 5xx only means the node
// itself failed (and never echoes internals). Errors raised by fastify and its plugins for client mistakes (invalid
// JSON 400, body too large 413, unsupported media type 415, rate limited 429, …) keep their status.
import { STATUS_CODES } from "node:http";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "../log.ts";
import type { ErrorReply } from "./schemas.ts";

export class ApiError extends Error {
  readonly statusCode: number;
  readonly code: string | undefined;
  constructor(statusCode: number, message: string, code?: string) {
    super(message);
    this.name = "ApiError";
    this.statusCode = statusCode;
    this.code = code;
  }
}

export class BadRequestError extends ApiError {
  constructor(message: string, code?: string) {
    super(400, message, code);
    this.name = "BadRequestError";
  }
}

export class UnauthorizedError extends ApiError {
  constructor(message: string, code?: string) {
    super(401, message, code);
    this.name = "UnauthorizedError";
  }
}

export class ForbiddenError extends ApiError {
  constructor(message: string, code?: string) {
    super(403, message, code);
    this.name = "ForbiddenError";
  }
}

export class NotFoundError extends ApiError {
  constructor(message: string) {
    super(404, message, "not_found");
    this.name = "NotFoundError";
  }
}

export class ConflictError extends ApiError {
  constructor(message: string, code?: string) {
    super(409, message, code);
    this.name = "ConflictError";
  }
}

export class UnavailableError extends ApiError {
  constructor(message: string, code?: string) {
    super(503, message, code);
    this.name = "UnavailableError";
  }
}

export function errorBody(statusCode: number, message: string, code?: string): ErrorReply {
  return {
    statusCode,
    error: STATUS_CODES[statusCode] ?? "Error",
    message,
    ...(code === undefined ? {} : { code }),
  };
}

/** Keeps a client-supplied string short in a reply. */
export function clip(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

interface SchemaError {
  keyword: string;
  instancePath: string;
  message?: string | undefined;
  params?: Record<string, unknown>;
}

/**
 * Fastify's schemaErrorFormatter: one readable line naming each offending field (at most five), e.g.
 * `body/containers must not have fewer than 1 items; body has unknown properties: x, y`.
 */
export function formatSchemaErrors(errors: readonly SchemaError[], dataVar: string): Error {
  const lines: string[] = [];
  for (const e of errors) {
    // TypeBox reports each unknown key once more as "schema is false": the additionalProperties line says it all.
    if (e.keyword === "boolean") continue;
    const where = `${dataVar}${e.instancePath}`;
    const extra = e.params?.additionalProperties;
    if (e.keyword === "additionalProperties" && Array.isArray(extra)) {
      lines.push(`${where} has unknown properties: ${extra.map((k) => clip(String(k), 40)).join(", ")}`);
    } else lines.push(`${clip(where, 120)} ${e.message ?? "is invalid"}`);
  }
  const shown = lines.slice(0, 5);
  if (lines.length > shown.length) shown.push(`(${lines.length - shown.length} more)`);
  return new Error(shown.join("; ") || `${dataVar} is invalid`);
}

/** The status to reply for `error`: its own when it is a client error, else 500. */
export function statusOf(error: unknown): number {
  if (error instanceof ApiError) return error.statusCode;
  const e = error as Partial<FastifyError> | null;
  if (e?.validation) return 400;
  const status = typeof e?.statusCode === "number" ? e.statusCode : 500;
  return status >= 400 && status < 600 ? status : 500;
}

/** Fastify's setErrorHandler callback. */
export function errorHandler(logger: Logger) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const status = statusOf(error);
    // 503 (a part the request needs is down) carries its reason; any other 5xx is a bug and says nothing more.
    if (status >= 500 && status !== 503) {
      logger.error(
        { err: error, method: request.method, url: clip(request.url), reqId: request.id },
        "request failed",
      );
      void reply.status(status).send(errorBody(status, "internal error"));
      return;
    }
    if (status === 401) void reply.header("www-authenticate", 'Bearer realm="infernet"');
    const code = error instanceof ApiError ? error.code : error.validation ? "invalid_request" : error.code;
    void reply.status(status).send(errorBody(status, clip(error.message, 500), code));
  };
}

// The fastify server of the REST API: hardening (body limit, strict JSON only, 415/400/413 for what is not, prototype
// poisoning refused, an error handler that never turns a client mistake into a 5xx), API keys, per-key rate limits,
// CORS when configured, request metrics, the OpenAPI document, and the routes.
import Fastify from "fastify";
import rateLimit from "@fastify/rate-limit";
import {
  TypeBoxValidatorCompiler,
  registerAjvFormats,
  type TypeBoxTypeProvider,
} from "@fastify/type-provider-typebox";
import type { ApiApp, ApiContext } from "./context.ts";
import { clip, errorBody, errorHandler, formatSchemaErrors, UnauthorizedError } from "./errors.ts";
import { presentedKey, verifyApiKey } from "./keys.ts";
import { openApiRoute, registerOpenApi } from "./openapi.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { nodeRoutes } from "./routes/node.ts";
import { subscriptionRoutes } from "./routes/subscriptions.ts";
import { poiRoutes } from "./routes/poi.ts";

let formatsRegistered = false;

/** Method and URL of every route each server registered (HEAD twins left out), for checks against the OpenAPI document. */
const routeTables = new WeakMap<ApiApp, { method: string; url: string }[]>();

export function registeredRoutes(app: ApiApp): readonly { method: string; url: string }[] {
  return routeTables.get(app) ?? [];
}

const ANONYMOUS = { id: "anonymous", rateLimit: null } as const;

/** Builds the API server (routes registered, not listening). Close it with `app.close()`. */
export async function buildServer(ctx: ApiContext): Promise<ApiApp> {
  if (!formatsRegistered) {
    registerAjvFormats();
    formatsRegistered = true;
  }
  const app: ApiApp = Fastify({
    logger: false,
    bodyLimit: ctx.api.bodyLimitBytes,
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    routerOptions: { maxParamLength: 256 },
    schemaErrorFormatter: formatSchemaErrors,
    // A client that trickles its request is cut off; event streams are responses, not affected.
    requestTimeout: 60_000,
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Bodies are checked strictly (no coercion, unknown keys refused); query strings and params are converted.
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  app.setErrorHandler(errorHandler(ctx.logger.child({ part: "api" })));
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(errorBody(404, `no route ${request.method} ${clip(request.url, 100)}`, "no_route"));
  });
  // JSON only: fastify's text/plain parser goes, so anything but application/json is a 415.
  app.removeContentTypeParser("text/plain");
  app.decorateRequest("principal", null);

  // CORS, only for the configured origins.
  const origins = new Set(ctx.api.corsOrigins);
  if (origins.size > 0) {
    app.addHook("onRequest", async (request, reply) => {
      const origin = request.headers.origin;
      if (typeof origin !== "string" || !(origins.has(origin) || origins.has("*"))) return;
      void reply
        .header("access-control-allow-origin", origins.has("*") ? "*" : origin)
        .header("vary", "origin");
      if (request.method === "OPTIONS") {
        void reply
          .header("access-control-allow-methods", "GET, POST, OPTIONS")
          .header("access-control-allow-headers", "authorization, content-type, x-api-key, last-event-id")
          .header("access-control-max-age", "600")
          .status(204)
          .send();
      }
    });
  }

  // API keys: /api routes need one (unless api.requireKey is false); other routes ignore keys.
  app.addHook("onRequest", async (request) => {
    if (!request.url.startsWith("/api/") && request.url !== "/api") return;
    const key = presentedKey(request.headers);
    if (key !== undefined) {
      const principal = verifyApiKey(ctx.store, key);
      if (!principal) throw new UnauthorizedError("invalid or revoked API key", "invalid_key");
      request.principal = principal;
    } else if (ctx.api.requireKey) {
      throw new UnauthorizedError(
        "an API key is required: Authorization: Bearer <key> or X-API-Key: <key>",
        "missing_key",
      );
    } else {
      request.principal = { ...ANONYMOUS };
    }
  });

  // Request metrics, by route pattern (never the raw URL: ids would explode the label set).
  app.addHook("onResponse", async (request, reply) => {
    ctx.metrics.observeHttp({
      method: request.method,
      route: request.routeOptions.url ?? "unmatched",
      status: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
    });
  });

  // Rate limits per API key (per client address without one); a key may carry its own limit.
  await app.register(rateLimit, {
    global: true,
    max: (request) => request.principal?.rateLimit ?? ctx.api.rateLimit.max,
    timeWindow: ctx.api.rateLimit.windowMs,
    keyGenerator: (request) =>
      request.principal && request.principal.id !== ANONYMOUS.id
        ? `key:${request.principal.id}`
        : `ip:${request.ip}`,
    errorResponseBuilder: (_request, context) => ({
      ...errorBody(429, `rate limit exceeded: ${context.max} requests per ${context.after}`, "rate_limited"),
      statusCode: 429,
    }),
  });

  const table: { method: string; url: string }[] = [];
  routeTables.set(app, table);
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) if (method !== "HEAD") table.push({ method, url: route.url });
  });
  await registerOpenApi(app, ctx.version);
  nodeRoutes(app, ctx);
  jobRoutes(app, ctx);
  subscriptionRoutes(app, ctx);
  poiRoutes(app, ctx);
  openApiRoute(app);

  // Jobs by state and queue depths for /metrics, while this server runs.
  const unregister = [
    ctx.metrics.addJobCountSource(() =>
      (
        ctx.store.statement("SELECT kind, state, COUNT(*) AS n FROM jobs GROUP BY kind, state").all() as {
          kind: string;
          state: string;
          n: number;
        }[]
      ).map((r) => ({ kind: r.kind, state: r.state, count: Number(r.n) })),
    ),
    ctx.metrics.addQueueSource(ctx.queues.offchain),
    ...(ctx.queues.onchain ? [ctx.metrics.addQueueSource(ctx.queues.onchain)] : []),
  ];
  app.addHook("onClose", async () => {
    for (const off of unregister) off();
  });

  // Event streams end with the server (fastify waits for open connections otherwise).
  app.addHook("preClose", async () => {
    for (const stream of [...ctx.sseStreams]) stream.close();
  });
  await app.ready();
  return app;
}

// The REST API's node routes, its hardening and its documents, on a real fastify server (port 0) over a real store,
// the embedded queue and the hello container run as a local process.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { createApiKey, revokeApiKey } from "../node/src/api/keys.ts";
import { registeredRoutes } from "../node/src/api/server.ts";
import { InlineRuntime } from "../node/src/runtime/inline.ts";
import { helloProcess, startApiHarness, waitForJob, type ApiHarness } from "./helpers/api.ts";

type Json = Record<string, unknown>;

describe("API: node routes, errors, keys, OpenAPI", () => {
  let h: ApiHarness;
  before(async () => {
    h = await startApiHarness({
      runtimes: [helloProcess("hello"), new InlineRuntime("echo")],
      api: { bodyLimitBytes: 64 * 1024 },
      containers: [
        {
          id: "hello",
          runtime: "process",
          timeoutMs: 60_000,
          network: "none",
          allowedAddresses: ["0x" + "11".repeat(20)],
        },
      ],
    });
  });
  after(() => h?.close());

  it("GET /health checks store, chain, queue and every container: 200, then 503 naming the failing part", async () => {
    const ok = await h.call("/health", { key: null });
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as Json & { checks: Record<string, { ok: boolean; detail?: Json }> };
    assert.equal(body.status, "ok");
    assert.deepEqual(body.failing, []);
    assert.deepEqual(Object.keys(body.checks).sort(), ["chain", "queue", "runtimes", "store"]);
    assert.deepEqual(body.checks.runtimes!.detail, { hello: true, echo: true });
    assert.deepEqual(body.checks.queue!.detail, { offchain: 0 });

    const echo = h.ctx.runtimes.get("echo")!;
    await echo.stop();
    try {
      const down = await h.call("/health", { key: null });
      assert.equal(down.status, 503);
      const b = (await down.json()) as Json & { checks: Record<string, { ok: boolean; error?: string }> };
      assert.equal(b.status, "unhealthy");
      assert.deepEqual(b.failing, ["runtimes"]);
      assert.match(b.checks.runtimes!.error ?? "", /echo/);
    } finally {
      await echo.start();
    }
  });

  it("GET /info: version, role, containers, chain, queue depth and pending counts", async () => {
    const res = await h.call("/info", { key: null });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      version: "0.0.0-test",
      roles: ["provider"],
      node: null,
      containers: ["hello", "echo"],
      chain: null,
      queue: { backend: "embedded", depth: 0, onchain_depth: null },
      pending: { offchain: 0, onchain: 0 },
    });
  });

  it("GET /resources: containers by id with their runtime settings and the host's hardware; ?container filters", async () => {
    const all = (await (await h.call("/resources", { key: null })).json()) as {
      hardware: Json;
      containers: Record<string, Json>;
    };
    assert.deepEqual(Object.keys(all.containers), ["hello", "echo"]);
    assert.equal(all.containers.hello!.runtime, "process");
    assert.deepEqual(all.containers.hello!.allowed_addresses, ["0x" + "11".repeat(20)]);
    assert.equal(all.containers.echo!.runtime, "inline");
    assert.ok(Number(all.hardware.cpus) >= 1 && Number(all.hardware.memory_mb) > 0);
    const one = (await (await h.call("/resources?container=echo", { key: null })).json()) as {
      containers: Json;
    };
    assert.deepEqual(Object.keys(one.containers), ["echo"]);
    assert.equal((await h.call("/resources?container=nope", { key: null })).status, 404);
    assert.equal((await h.call("/resources?bogus=1", { key: null })).status, 400);
  });

  it("API keys: missing, malformed, unknown or revoked → 401 with a reason; Bearer and X-API-Key both work", async () => {
    const body = { containers: ["echo"], data: 1 };
    const missing = await h.call("/api/jobs", { json: body, key: null });
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="infernet"');
    assert.equal(((await missing.json()) as Json).code, "missing_key");
    for (const bad of [
      "nope",
      `${h.key}x`,
      h.key.replace(/_[^_]{4}/, "_AAAA"),
      `inet_${"0".repeat(16)}_${"A".repeat(43)}`,
    ]) {
      const res = await h.call("/api/jobs", { json: body, key: bad });
      assert.equal(res.status, 401, bad);
      assert.equal(((await res.json()) as Json).code, "invalid_key");
    }
    const viaHeader = await h.call("/api/jobs?limit=1", { key: null, headers: { "x-api-key": h.key } });
    assert.equal(viaHeader.status, 200);

    const temp = createApiKey(h.store, { name: "temp" });
    assert.equal((await h.call("/api/jobs", { key: temp.key })).status, 200);
    assert.equal(revokeApiKey(h.store, temp.id), true);
    assert.equal((await h.call("/api/jobs", { key: temp.key })).status, 401, "revocation is immediate");
    assert.equal(revokeApiKey(h.store, temp.id), false, "already revoked");
  });

  it("bad input is a 4xx with a reason, never a 5xx", async () => {
    const post = (body: string, contentType?: string) =>
      h.call("/api/jobs", {
        method: "POST",
        body,
        ...(contentType ? { headers: { "content-type": contentType } } : {}),
      });
    const cases: [string, Promise<Response>, number, RegExp][] = [
      ["malformed JSON", post("{nope", "application/json"), 400, /not valid JSON/],
      ["empty JSON body", post("", "application/json"), 400, /empty|JSON/i],
      ["text/plain", post("hello", "text/plain"), 415, /Unsupported Media Type/],
      ["form", post("a=1", "application/x-www-form-urlencoded"), 415, /Unsupported Media Type/],
      [
        "body too large",
        post(JSON.stringify({ containers: ["echo"], data: "x".repeat(70_000) }), "application/json"),
        413,
        /too large/,
      ],
      ["not an object", post("[1,2]", "application/json"), 400, /body must be object/],
      [
        "unknown key",
        post('{"containers":["echo"],"data":1,"extra":true}', "application/json"),
        400,
        /unknown properties: extra/,
      ],
      [
        "no containers",
        post('{"containers":[],"data":1}', "application/json"),
        400,
        /containers must not have fewer than 1/,
      ],
      ["missing data", post('{"containers":["echo"]}', "application/json"), 400, /required properties data/],
      [
        "wrong type",
        post('{"containers":"echo","data":1}', "application/json"),
        400,
        /containers must be array/,
      ],
      [
        "no coercion in bodies",
        post('{"containers":["echo"],"data":1,"requires_proof":"true"}', "application/json"),
        400,
        /requires_proof must be boolean/,
      ],
      [
        "unknown container",
        post('{"containers":["echo","nope"],"data":1}', "application/json"),
        400,
        /"nope" is not served/,
      ],
      [
        "prototype poisoning",
        post('{"containers":["echo"],"data":{"__proto__":{"x":1}}}', "application/json"),
        400,
        /JSON/,
      ],
      [
        "constructor poisoning",
        post('{"containers":["echo"],"data":{"constructor":{"prototype":{"x":1}}}}', "application/json"),
        400,
        /JSON/,
      ],
      [
        "nested too deep",
        post(`{"containers":["echo"],"data":${"[".repeat(5000)}${"]".repeat(5000)}}`, "application/json"),
        400,
        /nested deeper than 64/,
      ],
      ["bad limit", h.call("/api/jobs?limit=abc"), 400, /limit must be integer/],
      ["limit too big", h.call("/api/jobs?limit=5000"), 400, /limit must be <= 1000/],
      ["bad cursor", h.call("/api/jobs?cursor=-1"), 400, /cursor must match/],
      ["cursor and offset", h.call("/api/jobs?cursor=5&offset=1"), 400, /either cursor or offset/],
      ["bad status", h.call("/api/jobs?status=done"), 400, /status/],
      ["unknown query key", h.call("/api/jobs?foo=1"), 400, /unknown properties: foo/],
      ["unknown job", h.call("/api/jobs/00000000-0000-0000-0000-000000000000"), 404, /no job/],
      ["unknown job (any string)", h.call("/api/jobs/%E2%9C%93%20x"), 404, /no job/],
      ["id too long", h.call(`/api/jobs/${"a".repeat(200)}`), 400, /must not have more than 128|length/],
      ["no route", h.call("/api/nothing-here"), 404, /no route/],
      ["GET on a POST route (matches /api/jobs/:id)", h.call("/api/jobs/batch"), 404, /no job "batch"/],
      ["DELETE", h.call("/api/jobs", { method: "DELETE" }), 404, /no route DELETE/],
      [
        "batch not an array",
        h.call("/api/jobs/batch", { json: { containers: ["echo"], data: 1 } }),
        400,
        /body must be array/,
      ],
      ["empty batch", h.call("/api/jobs/batch", { json: [] }), 400, /fewer than 1/],
    ];
    for (const [what, pending, status, message] of cases) {
      const res = await pending;
      const body = (await res.json()) as Json;
      assert.equal(res.status, status, `${what}: ${JSON.stringify(body)}`);
      assert.equal(body.statusCode, status, what);
      assert.match(String(body.message), message, what);
    }
  });

  it("a raw request the HTTP parser refuses is answered 400 and the server goes on", async () => {
    const url = new URL(h.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({
        host: url.hostname,
        port: url.port,
        path: "/health",
        method: "GET",
        headers: { "content-length": "abc" },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(String(res.statusCode));
      });
      req.on("error", (e) => resolve(`error ${e.message}`));
      req.end();
      setTimeout(() => reject(new Error("no answer")), 5000);
    });
    assert.match(raw, /^400$|^error /);
    assert.equal((await h.call("/health", { key: null })).status, 200);
  });

  it("every route is in the OpenAPI document, with its schemas; GET /openapi.json serves it", async () => {
    const res = await h.call("/openapi.json", { key: null });
    assert.equal(res.status, 200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          {
            operationId?: string;
            responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
            parameters?: unknown[];
            requestBody?: { content: Record<string, { schema: unknown }> };
          }
        >
      >;
      components: { securitySchemes: Json };
    };
    assert.match(doc.openapi, /^3\./);
    const routes = registeredRoutes(h.app);
    assert.ok(routes.length >= 12, JSON.stringify(routes));
    const expected = [
      "GET /health",
      "GET /info",
      "GET /resources",
      "GET /metrics",
      "GET /openapi.json",
      "POST /api/jobs",
      "POST /api/jobs/batch",
      "GET /api/jobs",
      "GET /api/jobs/{id}",
      "GET /api/jobs/{id}/events",
      "POST /api/subscriptions/delegated",
      "GET /api/subscriptions/delegated/{id}",
      "GET /poi/jobs/{key}/tensors/{step}",
    ];
    const registered = routes.map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, "{$1}")}`).sort();
    assert.deepEqual(registered, [...expected].sort());
    const operationIds = new Set<string>();
    for (const route of routes) {
      const path = route.url.replace(/:(\w+)/g, "{$1}");
      const op = doc.paths[path]?.[route.method.toLowerCase()];
      assert.ok(op, `${route.method} ${path} missing from the document`);
      assert.ok(op.operationId && !operationIds.has(op.operationId), `${path}: a unique operationId`);
      operationIds.add(op.operationId);
      const ok = Object.entries(op.responses ?? {}).find(([code]) => code.startsWith("2"));
      assert.ok(ok, `${path}: a 2xx response`);
      const content = Object.values(ok[1].content ?? {});
      assert.ok(content.length > 0 && content.every((c) => c.schema !== undefined), `${path}: a 2xx schema`);
      assert.ok(
        Object.keys(op.responses ?? {}).some((code) => code.startsWith("4")),
        `${path}: its 4xx`,
      );
      if (path.includes("{id}")) assert.ok((op.parameters ?? []).length > 0, `${path}: path parameters`);
      if (route.method === "POST")
        assert.ok(op.requestBody?.content["application/json"]?.schema, `${path}: body schema`);
      if (path.startsWith("/api/"))
        assert.ok((op as { security?: unknown[] }).security?.length, `${path}: security`);
    }
    assert.ok(doc.components.securitySchemes.bearerAuth && doc.components.securitySchemes.apiKeyHeader);
  });

  it("GET /metrics: Prometheus text with jobs by state, latency, container calls and requests", async () => {
    const created = (await (
      await h.call("/api/jobs", { json: { containers: ["echo"], data: { n: 1 } } })
    ).json()) as Json;
    assert.equal((await waitForJob(h, String(created.id))).status, "success");
    const res = await h.call("/metrics", { key: null });
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get("content-type")), /^text\/plain/);
    const text = await res.text();
    assert.match(text, /infernet_jobs\{kind="offchain",state="delivered"\} [1-9]/);
    assert.match(text, /infernet_jobs_finished_total\{kind="offchain",outcome="success"\} [1-9]/);
    assert.match(
      text,
      /infernet_job_duration_seconds_bucket\{le="\+Inf",kind="offchain",outcome="success"\} [1-9]/,
    );
    assert.match(text, /infernet_container_calls_total\{container="echo",outcome="ok"\} [1-9]/);
    assert.match(text, /infernet_queue_depth\{queue="offchain"\} 0/);
    assert.match(
      text,
      /infernet_http_requests_total\{method="POST",route="\/api\/jobs",status="200"\} [1-9]/,
    );
    assert.match(
      text,
      /infernet_http_requests_total\{method="GET",route="\/api\/jobs\/:id",status="404"\} [1-9]/,
    );
    assert.match(text, /# TYPE infernet_chain_lag_blocks gauge/);
    assert.match(text, /# TYPE infernet_transactions_total counter/);
  });
});

describe("API: rate limits", () => {
  let h: ApiHarness;
  before(async () => {
    h = await startApiHarness({
      inline: { echo: (r) => ({ echo: r.data }) },
      api: { rateLimit: { max: 5, windowMs: 60_000 } },
    });
  });
  after(() => h?.close());

  it("per API key: the 6th request in the window is a 429 with Retry-After; another key has its own budget", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await h.call("/api/jobs")).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
    const limited = await h.call("/api/jobs");
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) > 0);
    const body = (await limited.json()) as Json;
    assert.equal(body.code, "rate_limited");
    assert.match(String(body.message), /rate limit exceeded: 5 requests/);
    assert.equal(
      (await h.call("/api/jobs", { key: h.otherKey })).status,
      200,
      "the other key is not limited",
    );
  });

  it("a key created with its own limit gets that limit", async () => {
    const small = createApiKey(h.store, { name: "small", rateLimit: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await h.call("/api/jobs", { key: small.key })).status);
    assert.deepEqual(statuses, [200, 200, 429]);
  });

  it("requests without a key are limited by address", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await h.call("/info", { key: null })).status);
    assert.equal(statuses.at(-1), 429);
  });
});

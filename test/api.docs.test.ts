// docs/api.md is generated from the OpenAPI document (node node/src/api/openapi-doc.ts): this fails when it is
// stale. docs/operator.md must document every key of the `api` config section.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { apiSchema, apiRateLimitSchema } from "../node/src/config/schema.ts";
import { API_DOC_PATH, apiMarkdown, openApiDocument } from "../node/src/api/openapi-doc.ts";
import { ROOT } from "./helpers/node-e2e.ts";

describe("API documents", () => {
  it("docs/api.md is what `node node/src/api/openapi-doc.ts` generates from the current routes", async () => {
    const expected = await apiMarkdown();
    const current = readFileSync(API_DOC_PATH, "utf8");
    assert.ok(
      current === expected,
      "docs/api.md is stale: run `node node/src/api/openapi-doc.ts` and commit the result",
    );
  });

  it("docs/api.md has a section for every route of the document", async () => {
    const doc = await openApiDocument();
    const text = readFileSync(API_DOC_PATH, "utf8");
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `## ${m.toUpperCase()} ${path}`),
    );
    assert.ok(ops.length >= 12);
    for (const heading of ops) assert.ok(text.includes(`${heading}\n`), heading);
  });

  it("docs/operator.md documents every key of the api section", () => {
    const text = readFileSync(join(ROOT, "docs", "operator.md"), "utf8");
    const section = text.slice(text.indexOf("### `api`"));
    assert.ok(section.length > 0 && text.includes("### `api`"), "an `api` section");
    for (const key of Object.keys(apiSchema.shape)) {
      if (key === "rateLimit") continue; // documented by its keys, below
      assert.match(section, new RegExp(`\\| \`${key}\``), key);
    }
    for (const key of Object.keys(apiRateLimitSchema.shape)) {
      assert.match(section, new RegExp(`\\| \`rateLimit\\.${key}\``), `rateLimit.${key}`);
    }
    assert.match(text, /\| `allowedDelegateAddresses` /);
  });
});

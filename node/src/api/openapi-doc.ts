// Writes docs/api.md from the API's OpenAPI document: `node node/src/api/openapi-doc.ts` (`--check`: exit 1 when
// docs/api.md is not what the current routes give, without writing). The document comes from the same server
// build the node runs (routes and schemas), on an in-memory store with no containers.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { apiSchema } from "../config/schema.ts";
import { EmbeddedQueue } from "../jobs/embedded.ts";
import { silentLogger } from "../log.ts";
import { createNodeMetrics } from "../metrics.ts";
import { OffchainJobs, type OffchainJobData } from "../offchain/jobs.ts";
import { Store } from "../store/sqlite.ts";
import { nodeVersion } from "./index.ts";
import { openApiMarkdown, type OpenApiDocument } from "./openapi.ts";
import { buildServer } from "./server.ts";

export const API_DOC_PATH = fileURLToPath(new URL("../../../docs/api.md", import.meta.url));

/** The OpenAPI document of the API as the node serves it at GET /openapi.json. */
export async function openApiDocument(): Promise<OpenApiDocument> {
  const store = new Store(":memory:");
  const queue = new EmbeddedQueue<OffchainJobData, string>({ name: "offchain", store });
  const logger = silentLogger();
  const app = await buildServer({
    api: apiSchema.parse({ enabled: true }),
    version: nodeVersion(),
    roles: ["provider"],
    store,
    jobs: new OffchainJobs({ store, queue, runtimes: new Map(), logger }),
    runtimes: new Map(),
    containers: [],
    queues: { offchain: queue },
    health: async () => {
      throw new Error("not served");
    },
    metrics: createNodeMetrics({ processMetrics: false }),
    logger,
    sseStreams: new Set(),
  });
  try {
    return app.swagger() as unknown as OpenApiDocument;
  } finally {
    await app.close();
    await queue.close();
    store.close();
  }
}

/** docs/api.md as the current routes give it, formatted by prettier with the repository's settings. */
export async function apiMarkdown(): Promise<string> {
  const text = openApiMarkdown(await openApiDocument());
  // A dev dependency of the repository: this script runs from a checkout, never in a deployed node.
  const prettier = await import("prettier");
  const options = (await prettier.resolveConfig(API_DOC_PATH)) ?? {};
  return prettier.format(text, { ...options, plugins: [], filepath: API_DOC_PATH });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = await apiMarkdown();
  if (process.argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(API_DOC_PATH, "utf8");
    } catch {
      // missing: stale
    }
    if (current !== text) {
      process.stderr.write(`${API_DOC_PATH} is stale: run node node/src/api/openapi-doc.ts\n`);
      process.exit(1);
    }
  } else {
    writeFileSync(API_DOC_PATH, text);
    process.stdout.write(`wrote ${API_DOC_PATH}\n`);
  }
}

// The API component in a node without the provider role: it opens its own store, starts its own containers and
// chain clients, and reports an unreachable chain in /health (503) while off-chain jobs keep working.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../node/src/config/load.ts";
import { defaultComponents, startNode, type NodeHandle } from "../node/src/node.ts";
import { silentLogger } from "../node/src/log.ts";
import type { ApiComponent } from "../node/src/api/index.ts";
import { freePort } from "./helpers/chain.ts";
import { ROOT } from "./helpers/node-e2e.ts";
import { readEvents } from "./helpers/api.ts";

describe("API component without the provider role", () => {
  let dir = "";
  let handle: NodeHandle;
  let url = "";
  let key = "";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "infernet-api-node-"));
    writeFileSync(join(dir, "node.key"), `0x${"11".repeat(32)}\n`, { mode: 0o600 });
    const deadRpc = `http://127.0.0.1:${await freePort()}`;
    const address = "0x" + "22".repeat(20);
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({
        roles: ["validator"],
        chain: {
          rpcUrl: deadRpc,
          chainId: 31337,
          contracts: { coordinator: address, nodeRegistry: address, proofOfInference: address },
          wallet: { keyFile: "node.key" },
        },
        store: { path: "node.sqlite" },
        containers: [
          {
            id: "hello",
            runtime: "process",
            command: ["node", join(ROOT, "containers", "hello", "src", "server.ts")],
          },
        ],
        server: { port: 0 },
        api: { enabled: true },
      }),
    );
    const config = await loadConfig({ path: join(dir, "config.json"), env: {} });
    // The API is a default component when api.enabled is set (and the only one here).
    assert.deepEqual(
      defaultComponents({ config, logger: silentLogger() }).map((c) => c.name),
      ["api"],
    );
    const { createApiKey } = await import("../node/src/api/keys.ts");
    const { Store } = await import("../node/src/store/sqlite.ts");
    const store = new Store(config.store.path);
    key = createApiKey(store, { name: "t" }).key;
    store.close();
    handle = await startNode(config, { logger: silentLogger(), signals: [] });
    url = (handle.components.find((c) => c.name === "api") as ApiComponent).url!;
  });
  after(async () => {
    await handle?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves off-chain jobs on its own runtimes and store; /health is 503 naming the chain; stops cleanly", async () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${url}/api/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ containers: ["hello"], data: "solo" }),
    });
    assert.equal(res.status, 200);
    const { id } = (await res.json()) as { id: string };
    const { events } = await readEvents(
      await fetch(`${url}/api/jobs/${id}/events`, { headers: { authorization: `Bearer ${key}` } }),
    );
    assert.deepEqual((events.at(-1)!.data as { result: unknown }).result, {
      container: "hello",
      output: { echo: "solo" },
    });
    const health = await fetch(`${url}/health`);
    assert.equal(health.status, 503);
    const body = (await health.json()) as { failing: string[]; checks: { chain: { error?: string } } };
    assert.deepEqual(body.failing, ["chain"]);
    assert.ok(body.checks.chain.error);
    const info = (await (await fetch(`${url}/info`)).json()) as { roles: string[]; node: string };
    assert.deepEqual(info.roles, ["validator"]);
    assert.match(info.node, /^0x[0-9a-fA-F]{40}$/);
    const done = await handle.stop();
    assert.equal(done.exitCode, 0);
    await assert.rejects(fetch(`${url}/health`), "the port is closed");
  });
});

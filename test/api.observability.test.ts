// Observability and the small pure pieces of the API: pino-backed logging with job ids, the metrics hooks the sender
// and provider call, the allowlist rule, and API keys as stored (hashes only).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { checkAllowlist } from "../node/src/allowlist.ts";
import { createApiKey, listApiKeys, presentedKey, verifyApiKey } from "../node/src/api/keys.ts";
import { formatSchemaErrors } from "../node/src/api/errors.ts";
import { nestsDeeperThan } from "../node/src/api/routes/jobs.ts";
import { createLogger } from "../node/src/log.ts";
import { createNodeMetrics } from "../node/src/metrics.ts";
import { Store } from "../node/src/store/sqlite.ts";
import { startApiHarness, waitForJob } from "./helpers/api.ts";

const A = "0x" + "aa".repeat(20);
const B = "0x" + "bb".repeat(20);

describe("API observability and building blocks", () => {
  it("off-chain job log lines (pino JSON) carry the job id", async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      level: "debug",
      write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    });
    const h = await startApiHarness({ inline: { echo: (r) => ({ echo: r.data }) }, logger });
    try {
      const { id } = (await (
        await h.call("/api/jobs", { json: { containers: ["echo"], data: 1 } })
      ).json()) as { id: string };
      await waitForJob(h, id);
    } finally {
      await h.close();
    }
    const mine = lines.filter((l) => typeof l.jobId === "string");
    assert.ok(
      mine.some((l) => l.msg === "off-chain job queued" && l.level === "debug"),
      JSON.stringify(lines),
    );
    assert.ok(
      mine.some((l) => l.msg === "off-chain job done"),
      JSON.stringify(lines),
    );
    for (const l of mine) {
      assert.equal(typeof l.time, "string");
      assert.ok(!Number.isNaN(Date.parse(String(l.time))));
    }
  });

  it("metrics hooks (sender, provider, watcher) show up in the scrape", async () => {
    const m = createNodeMetrics({ processMetrics: false });
    m.observeTransaction({ functionName: "deliver", outcome: "success" });
    m.observeTransaction({ functionName: "deliver", outcome: "failed" });
    m.countBroadcast({ functionName: "deliver", replacement: 0 });
    m.countBroadcast({ functionName: "deliver", replacement: 2 });
    m.observeContainerStart({ container: "hello", ok: false });
    m.setChainLag(3);
    m.setChainHead(120);
    m.jobFinished("onchain", "success", Date.now() - 1500);
    const off = m.addJobCountSource(() => [{ kind: "onchain", state: "pending", count: 4 }]);
    m.addQueueSource({ name: "provider", depth: async () => 7 });
    m.addQueueSource({ name: "broken", depth: async () => Promise.reject(new Error("redis down")) });
    const text = await m.scrape();
    assert.match(text, /infernet_transactions_total\{function="deliver",outcome="success"\} 1/);
    assert.match(text, /infernet_transactions_total\{function="deliver",outcome="failed"\} 1/);
    assert.match(text, /infernet_transaction_broadcasts_total\{function="deliver",kind="first"\} 1/);
    assert.match(text, /infernet_transaction_broadcasts_total\{function="deliver",kind="replacement"\} 1/);
    assert.match(text, /infernet_container_starts_total\{container="hello",outcome="error"\} 1/);
    assert.match(text, /infernet_chain_lag_blocks 3/);
    assert.match(text, /infernet_chain_head_block 120/);
    assert.match(text, /infernet_job_duration_seconds_bucket\{le="2.5",kind="onchain",outcome="success"\} 1/);
    assert.match(text, /infernet_jobs\{kind="onchain",state="pending"\} 4/);
    assert.match(text, /infernet_queue_depth\{queue="provider"\} 7/);
    assert.doesNotMatch(text, /queue="broken"/);
    off();
    assert.doesNotMatch(await m.scrape(), /state="pending"/);
  });

  it("allowlists: owners (allowedAddresses) and delegated signers (allowedDelegateAddresses), case-insensitive", () => {
    const open = { id: "c" };
    assert.deepEqual(checkAllowlist(open, { owner: A, signer: B }), { allowed: true });
    const owners = { id: "c", allowedAddresses: [A.toUpperCase().replace("0X", "0x")] };
    assert.deepEqual(checkAllowlist(owners, { owner: A }), { allowed: true });
    const refused = checkAllowlist(owners, { owner: B });
    assert.equal(refused.allowed, false);
    assert.equal(!refused.allowed && refused.rule, "allowedAddresses");
    const delegates = { id: "c", allowedDelegateAddresses: [A] };
    assert.deepEqual(
      checkAllowlist(delegates, { owner: B }),
      { allowed: true },
      "on-chain: no signer to check",
    );
    assert.deepEqual(checkAllowlist(delegates, { owner: B, signer: A }), { allowed: true });
    const d = checkAllowlist(delegates, { owner: B, signer: B });
    assert.equal(!d.allowed && d.rule, "allowedDelegateAddresses");
    assert.match(!d.allowed ? d.reason : "", /signer 0xbb.* allowedDelegateAddresses of container c/);
    assert.equal(
      checkAllowlist({ id: "c", allowedAddresses: [] }, { owner: A }).allowed,
      false,
      "empty list: nobody",
    );
  });

  it("API keys are stored as sha256 hashes only and verified in constant time; headers are parsed strictly", () => {
    const store = new Store(":memory:");
    try {
      const k = createApiKey(store, { name: "n", rateLimit: 9 });
      assert.match(k.key, /^inet_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      const row = store.statement("SELECT * FROM api_keys").get() as Record<string, unknown>;
      const secret = k.key.slice(22);
      assert.equal(row.secret_hash, createHash("sha256").update(secret).digest("hex"));
      assert.ok(!JSON.stringify(row).includes(secret));
      assert.deepEqual(verifyApiKey(store, k.key), { id: k.id, rateLimit: 9 });
      assert.equal(verifyApiKey(store, k.key.slice(0, -1) + (k.key.endsWith("A") ? "B" : "A")), undefined);
      assert.deepEqual(
        listApiKeys(store).map((x) => [x.id, x.name, x.rateLimit]),
        [[k.id, "n", 9]],
      );
      assert.equal(presentedKey({ authorization: `Bearer ${k.key}` }), k.key);
      assert.equal(presentedKey({ authorization: `bearer   ${k.key}  ` }), k.key);
      assert.equal(presentedKey({ authorization: `Basic abc` }), undefined);
      assert.equal(presentedKey({ "x-api-key": k.key }), k.key);
      assert.equal(presentedKey({}), undefined);
      assert.throws(() => createApiKey(store, { rateLimit: 0 }), /rate limit/);
    } finally {
      store.close();
    }
  });

  it("schema errors read as one line per field; nesting depth is checked without recursion", () => {
    const err = formatSchemaErrors(
      [
        { keyword: "boolean", instancePath: "/x", message: "schema is false" },
        { keyword: "additionalProperties", instancePath: "", params: { additionalProperties: ["x"] } },
        { keyword: "minItems", instancePath: "/containers", message: "must not have fewer than 1 items" },
      ],
      "body",
    );
    assert.equal(
      err.message,
      "body has unknown properties: x; body/containers must not have fewer than 1 items",
    );
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.equal(nestsDeeperThan(deep, 64), true);
    assert.equal(nestsDeeperThan({ a: [{ b: [1] }] }, 64), false);
    assert.equal(nestsDeeperThan({ a: { b: { c: 1 } } }, 2), true);
    assert.equal(nestsDeeperThan({ a: { b: 1 } }, 2), false);
  });
});

// The whole node in-process (provider role + REST API) against a `hardhat node` with the system deployed: API keys
// made with the CLI, an off-chain job through the node's runtimes, and EIP-712 delegated subscriptions — the valid
// one created on-chain by the node, forged or unacceptable ones refused before any transaction.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { getAddress, keccak256, toBytes, type Abi, type Address, type Hex, type TypedDataDomain } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { loadArtifact } from "../deploy/artifacts.ts";
import { main } from "../node/src/cli.ts";
import { loadConfig } from "../node/src/config/load.ts";
import { startNode, type NodeHandle } from "../node/src/node.ts";
import { silentLogger } from "../node/src/log.ts";
import type { ApiComponent } from "../node/src/api/index.ts";
import { DELEGATED_SUBSCRIPTION_TYPES } from "../node/src/api/delegated.ts";
import {
  ROOT,
  DEV_MNEMONIC,
  deployer,
  nodeAccount,
  setUp,
  writeNodeConfig,
  type World,
} from "./helpers/node-e2e.ts";
import { readEvents } from "./helpers/api.ts";

type Json = Record<string, unknown>;
const ZERO: Address = "0x0000000000000000000000000000000000000000";
const stranger = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 5 });

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, { io: { stdout: (t) => (out += t), stderr: (t) => (err += t), env: {} } });
  return { code, out, err };
}

describe("API in the running node: keys from the CLI, off-chain jobs, delegated subscriptions", () => {
  let w: World;
  let handle: NodeHandle;
  let url = "";
  let configPath = "";
  let key = "";
  let keyId = "";
  let domain: TypedDataDomain;
  const coordinatorAbi = loadArtifact("Coordinator").abi as Abi;

  before(async () => {
    w = await setUp();
    configPath = writeNodeConfig(w, {
      overrides: {
        api: { enabled: true, sseKeepaliveMs: 200 },
        server: { port: 0 },
        log: { level: "silent" },
        containers: [
          {
            id: "hello",
            runtime: "process",
            command: ["node", join(ROOT, "containers", "hello", "src", "server.ts")],
          },
          {
            id: "restricted",
            runtime: "process",
            command: ["node", join(ROOT, "containers", "hello", "src", "server.ts")],
            allowedDelegateAddresses: [stranger.address],
          },
        ],
      },
    });
    const created = await cli(["keys", "create", "--config", configPath, "--name", "e2e", "--json"]);
    assert.equal(created.code, 0, created.err);
    ({ key, id: keyId } = JSON.parse(created.out) as { key: string; id: string });
    const config = await loadConfig({ path: configPath, env: {} });
    handle = await startNode(config, { logger: silentLogger(), signals: [] });
    url = (handle.components.find((c) => c.name === "api") as ApiComponent).url!;
    const [, name, version, chainId, verifyingContract] = (await w.publicClient.readContract({
      address: w.deployment.contracts.coordinator,
      abi: coordinatorAbi,
      functionName: "eip712Domain",
    })) as [Hex, string, string, bigint, Address];
    domain = { name, version, chainId: Number(chainId), verifyingContract };
  });
  after(async () => {
    await handle?.stop();
    await w?.stopChain();
  });

  const call = (path: string, init: RequestInit & { json?: unknown; auth?: string | null } = {}) => {
    const { json, auth, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (auth !== null) headers.set("authorization", `Bearer ${auth ?? key}`);
    if (json !== undefined) headers.set("content-type", "application/json");
    return fetch(`${url}${path}`, {
      ...(json !== undefined ? { method: "POST", body: JSON.stringify(json) } : {}),
      ...rest,
      headers,
    });
  };

  async function chainTime(): Promise<number> {
    return Number((await w.publicClient.getBlock({ blockTag: "latest" })).timestamp);
  }

  function params(overrides: Json = {}) {
    return {
      containerId: keccak256(toBytes("hello")),
      activeAt: 0,
      period: 0,
      frequency: 1,
      redundancy: 1,
      callbackGasLimit: 200_000,
      lazy: false,
      paymentToken: ZERO,
      paymentAmount: "0",
      verifier: ZERO,
      inputs: "0x1234",
      ...overrides,
    };
  }

  async function signed(
    options: { nonce: number; expiry?: number; signer?: typeof deployer; owner?: Address; sub?: Json } = {
      nonce: 1,
    },
  ) {
    const owner = options.owner ?? getAddress(w.consumer);
    const expiry = options.expiry ?? (await chainTime()) + 3600;
    const sub = params(options.sub);
    const signature = await (options.signer ?? deployer).signTypedData({
      domain,
      types: DELEGATED_SUBSCRIPTION_TYPES,
      primaryType: "DelegatedSubscription",
      message: {
        owner,
        nonce: options.nonce,
        expiry,
        ...sub,
        paymentAmount: BigInt(String(sub.paymentAmount)),
      } as never,
    });
    return { owner, nonce: options.nonce, expiry, subscription: sub, signature };
  }

  it("`keys list` shows the key (never the secret); the node's /info and /health see the chain", async () => {
    const list = await cli(["keys", "list", "--config", configPath, "--json"]);
    assert.equal(list.code, 0, list.err);
    const keys = JSON.parse(list.out) as Json[];
    assert.deepEqual(
      keys.map((k) => [k.id, k.name, k.revokedAt]),
      [[keyId, "e2e", null]],
    );
    assert.ok(!list.out.includes(key.split("_")[2]!), "the secret is not listed");
    const info = (await (await call("/info", { auth: null })).json()) as Json;
    assert.deepEqual(info.chain, { id: 31337, coordinator: getAddress(w.deployment.contracts.coordinator) });
    assert.equal(info.node, nodeAccount.address);
    assert.deepEqual(info.containers, ["hello", "restricted"]);
    assert.deepEqual(info.roles, ["provider"]);
    // The watcher reports a lag once it has processed its first range (health results are cached for 1 s).
    let health: Response;
    let body: { status: string; checks: { chain: { detail: Json } } };
    for (let i = 0; ; i++) {
      health = await call("/health", { auth: null });
      body = (await health.json()) as typeof body;
      if ((health.status === 200 && typeof body.checks.chain.detail.lag === "number") || i >= 30) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(health.status, 200, JSON.stringify(body));
    assert.equal(typeof body.checks.chain.detail.head, "number");
    assert.equal(
      typeof body.checks.chain.detail.lag,
      "number",
      "the provider's watcher reports its last block",
    );
    assert.equal(body.checks.chain.detail.watcherRpcOk, true);
  });

  it("an off-chain job runs on the node's own runtimes and streams its events", async () => {
    const res = await call("/api/jobs", { json: { containers: ["hello", "restricted"], data: { q: 1 } } });
    assert.equal(res.status, 200);
    const { id } = (await res.json()) as { id: string };
    const { events } = await readEvents(await call(`/api/jobs/${id}/events`));
    const job = events.at(-1)!.data as Json;
    assert.equal(events.at(-1)!.event, "result");
    assert.equal(job.status, "success");
    assert.deepEqual(job.result, { container: "restricted", output: { echo: { echo: { q: 1 } } } });
  });

  it("a valid delegated subscription is verified, sent by the node and appears on-chain; a replay returns the same record", async () => {
    const body = await signed({ nonce: 1 });
    const res = await call("/api/subscriptions/delegated", { json: body });
    const accepted = (await res.json()) as Json;
    assert.equal(res.status, 202, JSON.stringify(accepted));
    assert.equal(accepted.owner, getAddress(w.consumer));
    assert.equal(accepted.signer, deployer.address);
    assert.equal(accepted.container, "hello");
    let record = accepted;
    for (let i = 0; i < 200 && (record.status === "pending" || record.status === "sending"); i++) {
      await new Promise((r) => setTimeout(r, 100));
      record = (await (await call(`/api/subscriptions/delegated/${String(accepted.id)}`)).json()) as Json;
    }
    assert.equal(record.status, "created", JSON.stringify(record));
    assert.match(String(record.tx_hash), /^0x[0-9a-f]{64}$/);
    const onchain = (await w.publicClient.readContract({
      address: w.deployment.contracts.coordinator,
      abi: coordinatorAbi,
      functionName: "delegatedSubscriptionOf",
      args: [getAddress(w.consumer), 1],
    })) as bigint;
    assert.equal(String(onchain), record.subscription_id);
    const sub = (await w.publicClient.readContract({
      address: w.deployment.contracts.coordinator,
      abi: coordinatorAbi,
      functionName: "getSubscription",
      args: [onchain],
    })) as { owner: Address; containerId: Hex; inputsHash: Hex };
    assert.equal(sub.owner, getAddress(w.consumer));
    assert.equal(sub.containerId, keccak256(toBytes("hello")));
    assert.equal(sub.inputsHash, keccak256("0x1234"));

    const replay = await call("/api/subscriptions/delegated", { json: body });
    assert.equal(replay.status, 200);
    assert.equal(((await replay.json()) as Json).id, accepted.id);
    const otherKey = JSON.parse((await cli(["keys", "create", "--config", configPath, "--json"])).out) as {
      key: string;
    };
    const conflict = await call("/api/subscriptions/delegated", { json: body, auth: otherKey.key });
    assert.equal(conflict.status, 409);
    assert.equal(
      (await call(`/api/subscriptions/delegated/${String(accepted.id)}`, { auth: otherKey.key })).status,
      404,
    );
  });

  it("forged or unacceptable submissions are refused with a reason before any transaction", async () => {
    const nonceBefore = await w.publicClient.getTransactionCount({ address: nodeAccount.address });
    const valid = await signed({ nonce: 2 });
    const tampered = { ...valid, subscription: { ...valid.subscription, frequency: 5 } };
    const cases: [string, unknown, number, string, RegExp][] = [
      [
        "signed by a stranger",
        await signed({ nonce: 3, signer: stranger }),
        401,
        "invalid_signature",
        /made by 0x[0-9a-fA-F]{40}, not by the owner's signer/,
      ],
      ["parameters changed after signing", tampered, 401, "invalid_signature", /not by the owner's signer/],
      [
        "garbage signature",
        { ...valid, signature: "0x1234" },
        401,
        "invalid_signature",
        /not a valid ECDSA signature/,
      ],
      [
        "another nonce than signed",
        { ...valid, nonce: 99 },
        401,
        "invalid_signature",
        /not by the owner's signer/,
      ],
      [
        "expired",
        await signed({ nonce: 4, expiry: (await chainTime()) - 10 }),
        400,
        "signature_expired",
        /expired/,
      ],
      [
        "unknown container",
        await signed({ nonce: 5, sub: { containerId: keccak256(toBytes("nope")) } }),
        400,
        "unknown_container",
        /not a container this node serves/,
      ],
      [
        "owner without code",
        await signed({ nonce: 6, owner: stranger.address }),
        400,
        "owner_not_delegator",
        /is not a contract/,
      ],
      [
        "signer not in the container's allowedDelegateAddresses",
        await signed({ nonce: 7, sub: { containerId: keccak256(toBytes("restricted")) } }),
        403,
        "not_allowed",
        /allowedDelegateAddresses of container restricted/,
      ],
      [
        "malformed body",
        { ...valid, subscription: { ...valid.subscription, paymentAmount: 5 } },
        400,
        "invalid_request",
        /paymentAmount must be string/,
      ],
      ["bad address", { ...valid, owner: "0x1234" }, 400, "invalid_request", /owner must match pattern/],
    ];
    for (const [what, body, status, code, message] of cases) {
      const res = await call("/api/subscriptions/delegated", { json: body });
      const reply = (await res.json()) as Json;
      assert.equal(res.status, status, `${what}: ${JSON.stringify(reply)}`);
      assert.equal(reply.code, code, what);
      assert.match(String(reply.message), message, what);
    }
    assert.equal((await call("/api/subscriptions/delegated", { json: valid, auth: null })).status, 401);
    assert.equal(
      await w.publicClient.getTransactionCount({ address: nodeAccount.address }),
      nonceBefore,
      "no transaction was sent for any of them",
    );
    assert.equal((await call("/api/subscriptions/delegated/nope")).status, 404);
  });

  it("`keys revoke` takes effect at once", async () => {
    const revoked = await cli(["keys", "revoke", keyId, "--config", configPath]);
    assert.equal(revoked.code, 0, revoked.err);
    assert.equal((await call("/api/jobs")).status, 401);
    const again = await cli(["keys", "revoke", keyId, "--config", configPath]);
    assert.equal(again.code, 1);
    const usage = await cli(["keys", "rotate", "--config", configPath]);
    assert.equal(usage.code, 2);
    assert.match(usage.err, /unknown keys command: rotate/);
    const text = await cli(["keys", "list", "--config", configPath]);
    assert.match(text.out, /^id\s+name\s+rate limit\s+created\s+revoked\n/);
    assert.match(text.out, new RegExp(`${keyId}\\s+e2e\\s+default\\s+\\S+\\s+\\d{4}-`));
  });
});

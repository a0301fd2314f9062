/**
 * The node end to end under faults (issue 4): the `infernet-node` CLI in its own process against a `hardhat node`,
 * killed with SIGKILL at random moments, facing a reorg under it, and losing its RPC endpoint for a while. In every
 * case each request on the canonical chain is delivered exactly once (one `Delivered` log per subscription) and
 * nothing else is delivered.
 *
 * The kill moments are drawn from a seeded generator; the seed is printed, and RESILIENCE_SEED=<n> replays it.
 */
import { after, afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import {
  encodeAbiParameters,
  keccak256,
  parseEther,
  toBytes,
  toHex,
  type Abi,
  type Address,
  type Hex,
} from "viem";
import { dirname, join } from "node:path";
import { loadArtifact } from "../deploy/artifacts.ts";
import { Store } from "../node/src/store/sqlite.ts";
import { freePort, TcpProxy } from "./helpers/chain.ts";
import {
  ROOT,
  nodeAccount,
  setUp,
  sleep,
  startNodeProcess,
  until,
  writeNodeConfig,
  type World,
} from "./helpers/node-e2e.ts";

const HELLO = keccak256(toBytes("hello"));
const PRICE = parseEther("0.001");
const QUEUE = { backoffMs: 200, attempts: 20, concurrency: 4 };
const coordinatorAbi = loadArtifact("Coordinator").abi as Abi;

/** mulberry32: a small seeded PRNG, enough to replay the kill moments. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** hello echoes its input: the consumer receives abi.encode(input, input). */
const expectedOutput = (input: Hex): Hex =>
  encodeAbiParameters([{ type: "bytes" }, { type: "bytes" }], [input, input]);

async function rpc<T>(w: World, method: string, params: unknown[] = []): Promise<T> {
  return (await w.publicClient.request({ method: method as never, params: params as never })) as T;
}

/** One-shot paid requests through the consumer; returns the new subscription ids in order. */
async function request(w: World, inputs: Hex[]): Promise<bigint[]> {
  const ids: bigint[] = [];
  for (const input of inputs) {
    const from = await w.publicClient.getBlockNumber({ cacheTime: 0 }); // no cached head across evm_revert
    await w.write(w.consumer, "ExampleConsumer", "request", [HELLO, input, 1, PRICE], PRICE);
    const created = await w.publicClient.getContractEvents({
      address: w.deployment.contracts.coordinator,
      abi: coordinatorAbi,
      eventName: "SubscriptionCreated",
      fromBlock: from + 1n,
    });
    const id = (created.at(-1) as { args?: { subscriptionId?: bigint } } | undefined)?.args?.subscriptionId;
    assert.ok(id !== undefined, `SubscriptionCreated for ${input}`);
    ids.push(id);
  }
  return ids;
}

/** Delivered logs on the current canonical chain, counted per subscription id. */
async function deliveries(w: World): Promise<Map<bigint, number>> {
  const logs = await w.publicClient.getContractEvents({
    address: w.deployment.contracts.coordinator,
    abi: coordinatorAbi,
    eventName: "Delivered",
    fromBlock: 0n,
  });
  const count = new Map<bigint, number>();
  for (const log of logs) {
    const args = (log as unknown as { args: { subscriptionId: bigint; node: Address } }).args;
    assert.equal(args.node.toLowerCase(), nodeAccount.address.toLowerCase());
    count.set(args.subscriptionId, (count.get(args.subscriptionId) ?? 0) + 1);
  }
  return count;
}

async function result(w: World, id: bigint): Promise<Hex> {
  const r = (await w.read(w.consumer, "ExampleConsumer", "results", [id])) as [number, Address, Hex];
  return r[2];
}

/** Waits until every id has a Delivered log; then asserts exactly one each, nothing else, and the right results. */
async function assertDeliveredOnce(
  w: World,
  expected: Map<bigint, Hex>,
  log: () => string,
  timeoutMs = 60_000,
): Promise<void> {
  await until(
    `${expected.size} deliveries`,
    async () => {
      const d = await deliveries(w);
      return [...expected.keys()].every((id) => (d.get(id) ?? 0) >= 1) ? true : undefined;
    },
    timeoutMs,
    log,
  );
  await sleep(1_000); // room for a (wrong) second delivery to land
  const d = await deliveries(w);
  for (const [id, input] of expected) {
    assert.equal(d.get(id), 1, `subscription ${id} delivered exactly once`);
    assert.equal(await result(w, id), expectedOutput(input), `consumer result of subscription ${id}`);
  }
  assert.deepEqual(
    [...d.keys()].filter((id) => !expected.has(id)),
    [],
    "no delivery for a subscription that is not on the canonical chain",
  );
}

type NodeProcess = ReturnType<typeof startNodeProcess>;

async function started(node: NodeProcess): Promise<void> {
  await until(
    "node started",
    async () => {
      if (node.child.exitCode !== null) throw new Error(`node exited:\n${node.output().slice(-3000)}`);
      return node.output().includes("provider started") ? true : undefined;
    },
    60_000,
    node.output,
  );
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise<number | null>((r) => child.once("exit", (c) => r(c)));

async function stopNode(node: NodeProcess): Promise<void> {
  node.child.kill("SIGTERM");
  const code = await exited(node.child);
  assert.equal(code, 0, `node exits cleanly on SIGTERM:\n${node.output().slice(-2000)}`);
}

describe("node end to end under faults: crashes, a reorg, an RPC outage", () => {
  const worlds: World[] = [];
  const nodes: NodeProcess[] = [];
  const world = async () => {
    const w = await setUp();
    worlds.push(w);
    return w;
  };
  const spawnNode = (configPath: string) => {
    const node = startNodeProcess(configPath);
    nodes.push(node);
    return node;
  };
  afterEach(async () => {
    for (const n of nodes.splice(0))
      if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill("SIGKILL");
  });
  after(async () => {
    for (const w of worlds) await w.stopChain();
  });

  it("SIGKILL at random moments during 20 jobs, restart on the same store: every job delivered exactly once", async (t) => {
    const seed = Number(process.env.RESILIENCE_SEED ?? Date.now() % 2 ** 31);
    t.diagnostic(`RESILIENCE_SEED=${seed}`);
    console.log(`# node.e2e.resilience: RESILIENCE_SEED=${seed}`);
    const random = prng(seed);
    const w = await world();
    // Each reply takes 150 ms, so kills land during computes and deliveries, not only between jobs.
    const config = writeNodeConfig(w, {
      queue: QUEUE,
      overrides: {
        containers: [
          {
            id: "hello",
            runtime: "process",
            command: ["node", join(ROOT, "containers", "hello", "src", "server.ts")],
            env: { HELLO_DELAY_MS: "150" },
          },
        ],
      },
    });
    const storePath = join(dirname(config), "node.sqlite");
    const expected = new Map<bigint, Hex>();
    let log = "";
    const kills: string[] = [];
    let midWork = 0;
    // Five lives of the node; in each, four new requests arrive while it runs and it is killed at a random moment.
    for (let life = 0; life < 5; life++) {
      const node = spawnNode(config);
      await started(node);
      const inputs = Array.from({ length: 4 }, (_, i) => toHex(`crash-${life}-${i}`));
      const sending = request(w, inputs);
      const delay = 50 + Math.floor(random() * 700);
      await sleep(delay);
      node.child.kill("SIGKILL");
      await exited(node.child);
      log += node.output();
      const ids = await sending;
      ids.forEach((id, i) => expected.set(id, inputs[i]!));
      // What the kill interrupted, as the dead node's store recorded it.
      const store = new Store(storePath);
      const open = store.listJobs({
        kind: "onchain",
        state: ["pending", "running", "computed", "delivering"],
      });
      store.close();
      const inFlight = open.jobs.filter((j) => j.state !== "pending").length;
      if (inFlight > 0) midWork++;
      kills.push(`${delay} ms (${open.jobs.length} unfinished, ${inFlight} computing or delivering)`);
    }
    const delivered = await deliveries(w);
    t.diagnostic(`kills: ${kills.join("; ")}; ${delivered.size}/20 delivered before the last start`);
    assert.equal(expected.size, 20);
    assert.ok(midWork >= 1, `at least one kill interrupted a compute or a delivery: ${kills.join("; ")}`);
    const node = spawnNode(config);
    const all = () => log + node.output();
    await started(node);
    await assertDeliveredOnce(w, expected, all);
    await stopNode(node);
  });

  it("a reorg under the node: orphaned deliveries vanish, the new chain's requests are delivered exactly once", async () => {
    const w = await world();
    const config = writeNodeConfig(w, { queue: QUEUE });
    // Something delivered before the fork, kept on both chains.
    const node1 = spawnNode(config);
    await started(node1);
    const keptInputs = [toHex("kept-0")];
    const kept = await request(w, keptInputs);
    await assertDeliveredOnce(w, new Map([[kept[0]!, keptInputs[0]!]]), node1.output);

    const snapshot = await rpc<Hex>(w, "evm_snapshot");
    const orphanInputs = [toHex("orphan-0"), toHex("orphan-1"), toHex("orphan-2")];
    const orphaned = await request(w, orphanInputs);
    await assertDeliveredOnce(
      w,
      new Map([
        ...kept.map((id) => [id, keptInputs[0]!] as const),
        ...orphaned.map((id, i) => [id, orphanInputs[i]!] as const),
      ]),
      node1.output,
    );
    await stopNode(node1);

    assert.equal(await rpc<boolean>(w, "evm_revert", [snapshot]), true);
    // A different chain at the same heights and beyond: the same subscription ids, other inputs, more blocks.
    const freshInputs = [toHex("fresh-0"), toHex("fresh-1"), toHex("fresh-2"), toHex("fresh-3")];
    const fresh = await request(w, freshInputs);
    await rpc(w, "hardhat_mine", ["0x3"]);
    assert.deepEqual(
      (await deliveries(w)).get(orphaned[0]!),
      undefined,
      "the orphaned deliveries are gone from the canonical chain",
    );

    const node2 = spawnNode(config);
    await started(node2);
    const expected = new Map<bigint, Hex>([
      [kept[0]!, keptInputs[0]!],
      ...fresh.map((id, i) => [id, freshInputs[i]!] as const),
    ]);
    await assertDeliveredOnce(w, expected, () => node1.output() + node2.output());
    assert.match(node2.output(), /rollback|reorg/i, "the node noticed the reorg");
    await stopNode(node2);
  });

  it("the RPC endpoint stops answering for 3 s: the node logs it, keeps its jobs, recovers and delivers exactly once", async (t) => {
    const w = await world();
    const proxy = new TcpProxy(await freePort(), Number(new URL(w.rpcUrl).port));
    await proxy.up();
    try {
      const node = spawnNode(writeNodeConfig(w, { rpcUrl: proxy.url, queue: QUEUE }));
      await started(node);
      const inputs = Array.from({ length: 8 }, (_, i) => toHex(`outage-${i}`));
      // Half requested just before the outage (the node is working on them), half while the endpoint is down.
      const first = await request(w, inputs.slice(0, 4));
      await proxy.down();
      const second = await request(w, inputs.slice(4));
      await sleep(3_000);
      assert.equal(node.child.exitCode, null, "the node process stays up during the outage");
      const outputBefore = node.output().length;
      await proxy.up();
      const ids = [...first, ...second];
      await assertDeliveredOnce(w, new Map(ids.map((id, i) => [id, inputs[i]!])), node.output);
      assert.equal(node.child.exitCode, null, "the node process stayed up");
      const out = node.output();
      const complaint = out
        .slice(0, outputBefore)
        .split("\n")
        .find((line) => /"level":"(warn|error)"/.test(line));
      assert.ok(complaint, `the node logged the RPC failure:\n${out.slice(-3000)}`);
      t.diagnostic(`logged during the outage: ${complaint.slice(0, 300)}`);
      assert.doesNotMatch(out, /"job failed"|job failed/, "no job given up");
      await stopNode(node);
    } finally {
      await proxy.down();
    }
  });
});

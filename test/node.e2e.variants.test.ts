/**
 * Node end to end, variants of test/node.e2e.test.ts against real parts (a `hardhat node` chain, the `infernet-node`
 * CLI as child processes, the Docker engine and Redis that `npm run services` starts; CI has both):
 *   - the hello container run by the Docker runtime (built from containers/hello on the local base image);
 *   - the BullMQ queue shared by two node processes: every request delivered exactly once on-chain;
 *   - an unreachable Docker engine at start-up: non-zero exit (69) and an error naming Docker;
 *   - a container that times out: retried per the queue policy, then marked failed in the store with the reason.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import Docker from "dockerode";
import { Redis } from "ioredis";
import { encodeAbiParameters, keccak256, parseEther, toBytes, type Abi, type Address, type Hex } from "viem";
import { followStream } from "../node/src/runtime/docker.ts";
import { dockerClient, removeContainers } from "../node/src/runtime/index.ts";
import { Store, onchainJobKey } from "../node/src/store/sqlite.ts";
import { loadArtifact } from "../deploy/artifacts.ts";
import {
  ROOT,
  nodeAccount,
  setUp,
  startNodeProcess,
  until,
  writeNodeConfig,
  type World,
} from "./helpers/node-e2e.ts";

const RUN_ID = `e2ev-${process.pid}-${Date.now().toString(36)}`;
const LABELS = { "org.infernet.test": RUN_ID };
const BASE_IMAGE = process.env.INFERNET_NODE_IMAGE || "local/node:22";
const HELLO_IMAGE = `infernet-test/hello:${RUN_ID}`;
const HELLO_DIR = join(ROOT, "containers", "hello");
const HELLO_CMD = ["node", join(HELLO_DIR, "src", "server.ts")];
const HELLO_ID = keccak256(toBytes("hello"));
const PRICE = parseEther("0.01");
const REDIS_HOST = process.env.REDIS_HOST ?? "127.0.0.1";
const REDIS_PORT = Number(process.env.REDIS_PORT ?? 6379);

type NodeProc = ReturnType<typeof startNodeProcess>;

function exited(node: NodeProc): Promise<number | null> {
  if (node.child.exitCode !== null) return Promise.resolve(node.child.exitCode);
  return new Promise((r) => node.child.once("exit", (c) => r(c)));
}

async function stopNode(node: NodeProc): Promise<number | null> {
  if (node.child.exitCode === null) node.child.kill("SIGTERM");
  return exited(node);
}

async function started(node: NodeProc): Promise<void> {
  await until(
    "node started",
    async () => {
      if (node.child.exitCode !== null) throw new Error(`node exited early:\n${node.output().slice(-4000)}`);
      return node.output().includes("provider started") ? true : undefined;
    },
    60_000,
    node.output,
  );
}

async function request(w: World, input: Hex): Promise<void> {
  await w.write(w.consumer, "ExampleConsumer", "request", [HELLO_ID, input, 1, PRICE], PRICE);
}

const coordinatorAbi = () => loadArtifact("Coordinator").abi as Abi;

/** IntervalRequested and Delivered events of the Coordinator from `fromBlock`, keyed `${subscription}:${interval}`. */
async function coordinatorEvents(w: World, fromBlock: bigint) {
  const logs = (await w.publicClient.getContractEvents({
    address: w.deployment.contracts.coordinator,
    abi: coordinatorAbi(),
    fromBlock,
    toBlock: "latest",
  })) as unknown as { eventName: string; args: { subscriptionId: bigint; interval: number } }[];
  const key = (l: (typeof logs)[number]) => `${l.args.subscriptionId}:${Number(l.args.interval)}`;
  const requested = logs.filter((l) => l.eventName === "IntervalRequested").map(key);
  const delivered = new Map<string, number>();
  for (const l of logs.filter((l) => l.eventName === "Delivered"))
    delivered.set(key(l), (delivered.get(key(l)) ?? 0) + 1);
  return { requested, delivered };
}

describe("node end to end variants: docker runtime, BullMQ with two processes, start-up and job failures", () => {
  let w: World;
  let docker: Docker;

  before(async () => {
    docker = dockerClient();
    await docker.ping().catch((e: Error) => {
      throw new Error(
        `The Docker engine is not reachable (DOCKER_HOST=${process.env.DOCKER_HOST ?? ""}): run ` +
          `\`npm run services\` then \`source .ci-state/env\` (${e.message})`,
      );
    });
    const files = readdirSync(HELLO_DIR, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => join(d.parentPath, d.name).slice(HELLO_DIR.length + 1));
    const build = (async () => {
      const stream = await docker.buildImage(
        { context: HELLO_DIR, src: files },
        {
          t: HELLO_IMAGE,
          buildargs: { BASE_IMAGE },
          labels: LABELS,
          networkmode: "none",
          rm: true,
          forcerm: true,
        },
      );
      await followStream(stream);
    })();
    [w] = await Promise.all([setUp(), build]);
  });

  after(async () => {
    await w?.stopChain();
    if (docker) {
      await removeContainers(LABELS, docker).catch(() => 0);
      await docker
        .getImage(HELLO_IMAGE)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  /** Config overrides that make the node watch from the current block (earlier tests' requests are not its own). */
  const fromNow = async () => ({
    chain: { startBlock: Number(await w.publicClient.getBlockNumber({ cacheTime: 0 })) + 1 },
  });

  it("runs the hello container with the Docker runtime (unix socket, no network) and delivers on-chain", async () => {
    const node = startNodeProcess(
      writeNodeConfig(w, {
        overrides: {
          ...(await fromNow()),
          containers: [{ id: "hello", runtime: "docker", image: HELLO_IMAGE, memoryMb: 256 }],
        },
      }),
    );
    try {
      await started(node);
      const before = (await w.publicClient.getBlockNumber({ cacheTime: 0 })) + 1n;
      const input: Hex = "0xd0c4e1";
      await request(w, input);
      const { requested } = await coordinatorEvents(w, before);
      assert.equal(requested.length, 1);
      const sub = BigInt(requested[0]!.split(":")[0]!);
      const result = (await until(
        "the consumer's result",
        async () => {
          const r = (await w.read(w.consumer, "ExampleConsumer", "results", [sub])) as [number, Address, Hex];
          return r[2] !== "0x" ? r : undefined;
        },
        60_000,
        node.output,
      )) as [number, Address, Hex];
      assert.equal(result[2], encodeAbiParameters([{ type: "bytes" }, { type: "bytes" }], [input, input]));
      assert.equal(result[1].toLowerCase(), nodeAccount.address.toLowerCase());
      assert.match(node.output(), /"runtime":"docker"/);
    } finally {
      const code = await stopNode(node);
      assert.equal(code, 0, `node exits cleanly on SIGTERM:\n${node.output().slice(-2000)}`);
    }
  });

  it("after kill -9, the next start removes the containers the dead node left (and only its own)", async () => {
    const config = writeNodeConfig(w, {
      overrides: {
        ...(await fromNow()),
        containers: [{ id: "hello", runtime: "docker", image: HELLO_IMAGE, memoryMb: 256 }],
      },
    });
    // Another node instance's container (a different store): must survive the cleanup.
    const bystander = await docker.createContainer({
      Image: HELLO_IMAGE,
      Labels: { ...LABELS, "org.infernet.managed": "true", "infernet.instance": "someone-else" },
      HostConfig: { NetworkMode: "none" },
    });
    const mine = async () =>
      (
        await docker.listContainers({
          all: true,
          filters: { label: ["infernet.instance"], ancestor: [HELLO_IMAGE] },
        })
      ).filter((c) => c.Labels["infernet.instance"] !== "someone-else");
    const first = startNodeProcess(config);
    await started(first);
    const left = await mine();
    assert.equal(left.length, 1, "the node runs one hello container");
    first.child.kill("SIGKILL");
    await exited(first);
    assert.equal((await mine()).length, 1, "SIGKILL leaves the container behind");
    const second = startNodeProcess(config);
    try {
      await started(second);
      assert.match(second.output(), /removed containers left by a previous run/);
      const now = await mine();
      assert.equal(now.length, 1, "only the new life's container remains");
      assert.notEqual(now[0]!.Id, left[0]!.Id);
      await bystander.inspect(); // still there
    } finally {
      await stopNode(second);
      await bystander.remove({ force: true });
    }
  });

  it("a container's allowedAddresses: a request from another owner is not served, an allowed owner's is", async () => {
    const config = (allowed: Address) =>
      writeNodeConfig(w, {
        overrides: {
          containers: [{ id: "hello", runtime: "process", command: HELLO_CMD, allowedAddresses: [allowed] }],
        },
      });
    const refusing = startNodeProcess(
      writeNodeConfig(w, {
        overrides: {
          ...(await fromNow()),
          containers: [
            {
              id: "hello",
              runtime: "process",
              command: HELLO_CMD,
              allowedAddresses: ["0x000000000000000000000000000000000000dEaD"],
            },
          ],
        },
      }),
    );
    let before: bigint;
    try {
      await started(refusing);
      before = (await w.publicClient.getBlockNumber({ cacheTime: 0 })) + 1n;
      await request(w, "0xa110");
      await until(
        "the refusal",
        async () => (/"not served"/.test(refusing.output()) ? true : undefined),
        30_000,
        refusing.output,
      );
      assert.match(refusing.output(), /is not in the allowedAddresses of container hello/);
      const { delivered } = await coordinatorEvents(w, before);
      assert.equal(delivered.size, 0, "nothing delivered for a refused owner");
    } finally {
      assert.equal(await stopNode(refusing), 0);
    }
    // The same request, with the consumer allowed: served.
    const allowing = startNodeProcess(config(w.consumer));
    try {
      await started(allowing);
      await until(
        "the delivery",
        async () => ((await coordinatorEvents(w, before)).delivered.size === 1 ? true : undefined),
        60_000,
        allowing.output,
      );
    } finally {
      assert.equal(await stopNode(allowing), 0);
    }
  });

  it("two node processes sharing a BullMQ queue deliver every request exactly once", async () => {
    const prefix = `infernet-e2e-${RUN_ID}`;
    const overrides = {
      ...(await fromNow()),
      queue: { backend: "bullmq", concurrency: 2, redis: { host: REDIS_HOST, port: REDIS_PORT, prefix } },
    };
    const nodes = [
      startNodeProcess(writeNodeConfig(w, { overrides })),
      startNodeProcess(writeNodeConfig(w, { overrides })),
    ];
    const redis = new Redis({
      host: REDIS_HOST,
      port: REDIS_PORT,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    const all = () => nodes.map((n, i) => `--- node ${i}\n${n.output().slice(-3000)}`).join("\n");
    try {
      await Promise.all(nodes.map(started));
      const before = (await w.publicClient.getBlockNumber()) + 1n;
      const N = 6;
      for (let i = 0; i < N; i++) await request(w, `0x0${i}${"ab".repeat(i + 1)}` as Hex);
      const events = await until(
        `${N} deliveries`,
        async () => {
          const e = await coordinatorEvents(w, before);
          return e.requested.length === N && e.requested.every((k) => e.delivered.has(k)) ? e : undefined;
        },
        90_000,
        all,
      );
      // Give a duplicate (if any) the time to land before counting.
      await new Promise((r) => setTimeout(r, 1500));
      const { requested, delivered } = await coordinatorEvents(w, before);
      assert.equal(new Set(requested).size, N);
      for (const k of requested) assert.equal(delivered.get(k), 1, `Delivered events for ${k}`);
      assert.equal(delivered.size, N);
      assert.deepEqual(events.requested, requested);
      for (const k of requested) {
        const sub = BigInt(k.split(":")[0]!);
        const r = (await w.read(w.consumer, "ExampleConsumer", "results", [sub])) as [number, Address, Hex];
        assert.notEqual(r[2], "0x", `consumer result of subscription ${sub}`);
      }
      // Which process sent each delivery (informational: one process may take them all).
      const sentBy = nodes.map((n) => (n.output().match(/"msg":"delivered"/g) ?? []).length);
      console.log(`deliveries per process (from logs): ${sentBy.join(", ")}`);
    } finally {
      const codes = await Promise.all(nodes.map(stopNode));
      try {
        await redis.connect();
        let cursor = "0";
        do {
          const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
          cursor = next;
          if (keys.length > 0) await redis.del(...keys);
        } while (cursor !== "0");
      } finally {
        redis.disconnect();
      }
      assert.deepEqual(codes, [0, 0], `both nodes exit cleanly on SIGTERM:\n${all()}`);
    }
  });

  it("a container call that times out is retried per the queue policy, then the job is failed in the store", async () => {
    const configPath = writeNodeConfig(w, {
      overrides: {
        ...(await fromNow()),
        queue: { attempts: 2, backoffMs: 200 },
        containers: [
          {
            id: "hello",
            runtime: "process",
            command: HELLO_CMD,
            env: { HELLO_DELAY_MS: "10000" },
            timeoutMs: 300,
          },
        ],
      },
    });
    const node = startNodeProcess(configPath);
    let jobId = "";
    let code: number | null;
    try {
      await started(node);
      const before = (await w.publicClient.getBlockNumber({ cacheTime: 0 })) + 1n;
      await request(w, "0xfa11");
      const { requested } = await coordinatorEvents(w, before);
      assert.equal(requested.length, 1);
      const [sub, interval] = requested[0]!.split(":");
      jobId = onchainJobKey(31337, BigInt(sub!), Number(interval), nodeAccount.address);
      await until(
        "job failed",
        async () => (node.output().includes('"msg":"job failed"') ? true : undefined),
        60_000,
        node.output,
      );
      const retries = node.output().match(/"msg":"job will be retried"/g) ?? [];
      assert.equal(retries.length, 1, "one retry (attempts 2)");
      const { delivered } = await coordinatorEvents(w, before);
      assert.equal(delivered.size, 0, "nothing delivered");
    } finally {
      code = await stopNode(node);
    }
    assert.equal(code, 0, `node exits cleanly on SIGTERM:\n${node.output().slice(-2000)}`);
    const store = new Store(join(dirname(configPath), "node.sqlite"));
    try {
      const job = store.getJob(jobId);
      assert.ok(job, `job ${jobId} in the store`);
      assert.equal(job.state, "failed");
      assert.equal(job.attempts, 2);
      assert.match(job.error ?? "", /hello/);
      assert.match(job.error ?? "", /300 ?ms|time/i);
    } finally {
      store.close();
    }
  });
});

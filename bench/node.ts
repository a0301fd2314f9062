/**
 * Node latency benchmark: `npm run bench:node` (= `hardhat build --quiet && node bench/node.ts`).
 *
 * Set-up (the same as test/node.e2e.test.ts): a `hardhat node` with automine, the system deployed, the container
 * "hello" registered, one registered node and an ExampleConsumer; the `infernet-node` CLI runs in its own process
 * (provider role, embedded SQLite store and queue, process runtime). The container id stays "hello" but its
 * command is bench/fixtures/sleep-service.ts: the hello contract with a fixed SLEEP_MS (default 100 ms) delay.
 * The node is tuned for latency: confirmations 0, chain.pollIntervalMs BENCH_POLL_MS (default 10).
 *
 * Measured, for BENCH_JOBS (default 10) sequential one-shot paid requests after one warm-up job:
 *   bare_ms       one ProcessRuntime.call of the same workload, made directly from this process over the unix
 *                 socket (average of BENCH_JOBS calls after one warm-up) — the container's own time.
 *   e2e_ms        wall time from just before this process sends the consumer's `request` transaction until the
 *                 consumer's `results(subscriptionId)` is non-empty (read with eth_call every 2 ms). It includes
 *                 the request transaction's round trip, the node's wait for its next log poll, the node's chain
 *                 reads (subscription, slots, assignment preview), the container call, the `deliver`
 *                 simulation + gas estimate + submission, and the mining of both transactions. Nothing is
 *                 subtracted.
 *   request_ms    part of e2e_ms: sending the request until its receipt is here.
 *   node_ms       the rest: request receipt → result readable (what the node adds on top of the chain's own
 *                 request round trip, compute included).
 *   overhead_ratio        e2e_ms / bare_ms (averages).
 *   overhead_ms           e2e_ms − bare_ms.
 *   onchain_blocks_to_delivery  block of the delivery − block of the request (max over the jobs). With automine a
 *                 block is mined per transaction, so compute time adds no blocks: 1 means the delivery is the
 *                 very next block after the request.
 *
 * Prints a table and writes bench/out/node.json. BENCH_TRACE=1 puts a recording JSON-RPC proxy between the node and
 * the chain and prints the node's RPC calls during the last job (what the overhead is made of; the proxy itself
 * adds a little to every call). Other knobs: BENCH_JOBS, SLEEP_MS, BENCH_POLL_MS, BENCH_WS (default 1: the node also
 * gets the chain's WebSocket URL, so new heads wake its watcher without waiting for the poll).
 *
 * What the overhead is (BENCH_TRACE=1): the watcher's poll and head checks, then one call after the other —
 * getSubscription, the SubscriptionCreated logs (inline inputs), getInterval, previewAssignment — the container
 * call, then simulate, estimateGas, fee reads, sendRawTransaction (mined at once by automine). About a dozen
 * sequential JSON-RPC round trips and one mined transaction, plus the consumer's own request transaction: a fixed
 * cost of the order of 100–200 ms on a local hardhat node, independent of the workload's length.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import {
  createPublicClient,
  createWalletClient,
  http,
  keccak256,
  parseEther,
  parseEventLogs,
  toBytes,
  type Abi,
  type Address,
  type Hex,
} from "viem";
import { chainFor } from "../node/src/chain/client.ts";
import { benchOffchain } from "./offchain.ts";
import { loadArtifact } from "../deploy/artifacts.ts";
import { ProcessRuntime, onchainRequest } from "../node/src/runtime/index.ts";
import {
  ROOT,
  deployer,
  setUp,
  sleep,
  startNodeProcess,
  until,
  writeNodeConfig,
} from "../test/helpers/node-e2e.ts";

const OUT = join(ROOT, "bench", "out", "node.json");
const JOBS = Number(process.env.BENCH_JOBS ?? 10);
const SLEEP_MS = Number(process.env.SLEEP_MS ?? 100);
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 10);
const WS = process.env.BENCH_WS !== "0";
const OFFCHAIN_JOBS = Number(process.env.BENCH_OFFCHAIN_JOBS ?? 5000);
const RESULT_POLL_MS = 2;
/** BENCH_TRACE=1: the node talks to the chain through a recording proxy; prints the last job's RPC timeline. */
const TRACE = process.env.BENCH_TRACE === "1";
const FIXTURE = join(ROOT, "bench", "fixtures", "sleep-service.ts");
const INPUT: Hex = `0x${"ab".repeat(32)}`;
const PRICE = parseEther("0.01");

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function bareCalls(): Promise<number[]> {
  const runtime = new ProcessRuntime(
    { id: "hello", runtime: "process", command: ["node", FIXTURE], env: { SLEEP_MS: String(SLEEP_MS) } },
    { cwd: ROOT },
  );
  await runtime.start();
  try {
    const request = onchainRequest(INPUT);
    await runtime.call(request); // warm-up
    const times: number[] = [];
    for (let i = 0; i < JOBS; i++) {
      const t0 = performance.now();
      await runtime.call(request);
      times.push(performance.now() - t0);
    }
    return times;
  } finally {
    await runtime.stop();
  }
}

interface JobTiming {
  subscriptionId: string;
  e2eMs: number;
  requestMs: number;
  nodeMs: number;
  requestBlock: string;
  deliveryBlock: string;
  blocks: number;
  /** request receipt → the node's "transaction sent" log line for the delivery (broadcast returned; automine). */
  deliverSentMs: number;
  deliveryTx: Hex | undefined;
  t0Epoch: number;
  /** The node's own job time ("delivered" log line): queue pickup → delivery receipt, and the compute within. */
  jobMs: number;
  computeMs: number;
}

/** When the node logged "transaction sent" for `hash` (epoch ms; the log's clock is the same machine's). */
function sentAt(output: string, hash: Hex | undefined): number {
  for (const line of output.split("\n")) {
    if (!hash || !line.includes(hash) || !line.includes('"transaction sent"')) continue;
    const time = (JSON.parse(line) as { time: string | number }).time;
    return typeof time === "number" ? time : Date.parse(time);
  }
  return Number.NaN;
}

/** The jobMs / computeMs fields of the node's "delivered" log line for `hash`. */
function deliveredTimes(output: string, hash: Hex | undefined): { jobMs: number; computeMs: number } {
  for (const line of output.split("\n")) {
    if (!hash || !line.includes(hash) || !line.includes('"delivered"')) continue;
    const { jobMs, computeMs } = JSON.parse(line) as { jobMs?: number; computeMs?: number };
    return { jobMs: jobMs ?? Number.NaN, computeMs: computeMs ?? Number.NaN };
  }
  return { jobMs: Number.NaN, computeMs: Number.NaN };
}

interface RpcCall {
  at: number;
  ms: number;
  method: string;
}

/** A JSON-RPC pass-through to `upstream` that records every call's method, start (performance.now()) and time. */
async function rpcProxy(upstream: string): Promise<{ url: string; calls: RpcCall[]; server: Server }> {
  const calls: RpcCall[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = performance.now();
      const body = Buffer.concat(chunks).toString("utf8");
      let method = "?";
      try {
        const parsed = JSON.parse(body) as { method?: string } | { method?: string }[];
        method = Array.isArray(parsed) ? parsed.map((p) => p.method).join("+") : String(parsed.method);
      } catch {
        // not JSON: forwarded as it is
      }
      fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body })
        .then(async (r) => {
          const text = await r.text();
          calls.push({ at, ms: performance.now() - at, method });
          res.writeHead(r.status, { "content-type": "application/json" });
          res.end(text);
        })
        .catch((e: unknown) => {
          res.writeHead(502);
          res.end(String(e));
        });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, server };
}

async function main(): Promise<void> {
  const bare = await bareCalls();

  const w = await setUp();
  const configPath = writeNodeConfig(w);
  const config = JSON.parse(readFileSync(configPath, "utf8"));
  config.chain.confirmations = 0;
  config.chain.pollIntervalMs = POLL_MS;
  const proxy = TRACE ? await rpcProxy(w.rpcUrl) : undefined;
  if (proxy) config.chain.rpcUrl = proxy.url;
  // New heads over WebSocket wake the watcher at once (BENCH_WS=0: HTTP polling only).
  if (WS) config.chain.wsUrl = w.rpcUrl.replace(/^http/, "ws");
  config.containers[0].command = ["node", FIXTURE];
  config.containers[0].env = { SLEEP_MS: String(SLEEP_MS) };
  writeFileSync(configPath, JSON.stringify(config, null, 2));

  const chain = chainFor(31337, w.rpcUrl);
  const publicClient = createPublicClient({ chain, transport: http(w.rpcUrl), pollingInterval: 2 });
  const wallet = createWalletClient({ chain, transport: http(w.rpcUrl), account: deployer });
  const consumerAbi = loadArtifact("ExampleConsumer").abi as Abi;
  const coordinatorAbi = loadArtifact("Coordinator").abi as Abi;
  const containerId = keccak256(toBytes("hello"));

  const node = startNodeProcess(configPath);
  const timings: JobTiming[] = [];
  let lastJob: { t0: number; t1: number; t2: number } | undefined;
  try {
    await until(
      "node started",
      async () => (node.output().includes("provider started") ? true : undefined),
      60_000,
      node.output,
    );

    for (let i = 0; i <= JOBS; i++) {
      const t0 = performance.now();
      const t0Epoch = Date.now();
      const hash = await wallet.writeContract({
        address: w.consumer,
        abi: consumerAbi,
        functionName: "request",
        args: [containerId, INPUT, 1, PRICE],
        value: PRICE,
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 2 });
      const t1 = performance.now();
      if (receipt.status !== "success") throw new Error(`request ${i} reverted`);
      const created = parseEventLogs({
        abi: coordinatorAbi,
        logs: receipt.logs,
        eventName: "SubscriptionCreated",
      });
      const subscriptionId = (created[0]?.args as { subscriptionId?: bigint } | undefined)?.subscriptionId;
      if (subscriptionId === undefined) throw new Error("no SubscriptionCreated in the request receipt");
      const started = Date.now();
      for (;;) {
        const r = (await publicClient.readContract({
          address: w.consumer,
          abi: consumerAbi,
          functionName: "results",
          args: [subscriptionId],
        })) as [number, Address, Hex];
        if (r[2] !== "0x") break;
        if (Date.now() - started > 60_000)
          throw new Error(`no result for subscription ${subscriptionId}\n${node.output().slice(-4000)}`);
        await sleep(RESULT_POLL_MS);
      }
      const t2 = performance.now();
      const delivered = await publicClient.getContractEvents({
        address: w.consumer,
        abi: consumerAbi,
        eventName: "ResultReceived",
        args: { subscriptionId },
        fromBlock: receipt.blockNumber,
      });
      const deliveryBlock = delivered[0]?.blockNumber;
      const deliveryTx = delivered[0]?.transactionHash;
      if (deliveryBlock == null) throw new Error(`no ResultReceived for subscription ${subscriptionId}`);
      lastJob = { t0, t1, t2 };
      if (i === 0) continue; // warm-up
      timings.push({
        subscriptionId: subscriptionId.toString(),
        e2eMs: t2 - t0,
        requestMs: t1 - t0,
        nodeMs: t2 - t1,
        requestBlock: receipt.blockNumber.toString(),
        deliveryBlock: deliveryBlock.toString(),
        blocks: Number(deliveryBlock - receipt.blockNumber),
        deliverSentMs: Number.NaN,
        deliveryTx,
        t0Epoch,
        jobMs: Number.NaN,
        computeMs: Number.NaN,
      });
    }

    await sleep(500); // the node's last log lines
    for (const t of timings) {
      t.deliverSentMs = sentAt(node.output(), t.deliveryTx) - t.t0Epoch - t.requestMs;
      Object.assign(t, deliveredTimes(node.output(), t.deliveryTx));
    }

    // The chain's own round trip, for scale: one eth_blockNumber and one eth_call.
    const rtt: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      await publicClient.getBlockNumber({ cacheTime: 0 });
      rtt.push(performance.now() - t);
    }

    const bareMs = avg(bare);
    const e2e = timings.map((t) => t.e2eMs);
    const e2eMs = avg(e2e);
    const jobMs = avg(timings.map((t) => t.jobMs));
    // Off-chain jobs through REST, a trivial in-process workload, each queue backend (issue 5's figures).
    const offchain = {
      embedded: await benchOffchain({ backend: "embedded", runtime: "inline", jobs: OFFCHAIN_JOBS }),
      bullmq: await benchOffchain({
        backend: "bullmq",
        runtime: "inline",
        jobs: OFFCHAIN_JOBS,
        redis: { host: process.env.REDIS_HOST ?? "127.0.0.1", port: Number(process.env.REDIS_PORT ?? 6379) },
      }),
    };
    const result = {
      workload_ms: SLEEP_MS,
      jobs: JOBS,
      node_poll_interval_ms: POLL_MS,
      confirmations: 0,
      bare_ms: round(bareMs),
      bare_p95_ms: round(pct(bare, 95)),
      e2e_ms: round(e2eMs),
      e2e_p50_ms: round(pct(e2e, 50)),
      e2e_p95_ms: round(pct(e2e, 95)),
      request_ms: round(avg(timings.map((t) => t.requestMs))),
      node_ms: round(avg(timings.map((t) => t.nodeMs))),
      node_until_deliver_sent_ms: round(avg(timings.map((t) => t.deliverSentMs))),
      deliver_sent_to_visible_ms: round(avg(timings.map((t) => t.nodeMs - t.deliverSentMs))),
      job_ms: round(jobMs),
      job_compute_ms: round(avg(timings.map((t) => t.computeMs))),
      overhead_ms: round(jobMs - bareMs),
      overhead_ratio: round(jobMs / bareMs, 3),
      e2e_overhead_ms: round(e2eMs - bareMs),
      e2e_ratio: round(e2eMs / bareMs, 3),
      rpc_round_trip_ms: round(avg(rtt), 2),
      onchain_blocks_to_delivery: Math.max(...timings.map((t) => t.blocks)),
      offchain_jobs_per_s_embedded: offchain.embedded.jobs_per_s,
      offchain_jobs_per_s_bullmq: offchain.bullmq.jobs_per_s,
      /** End-to-end (submit → result readable) latency of off-chain jobs, embedded queue. */
      p50_ms: offchain.embedded.e2e_p50_ms,
      p99_ms: offchain.embedded.e2e_p99_ms,
      offchain,
      per_job: timings.map(({ deliveryTx: _tx, t0Epoch: _t0, ...t }) => ({
        ...t,
        e2eMs: round(t.e2eMs),
        requestMs: round(t.requestMs),
        nodeMs: round(t.nodeMs),
        deliverSentMs: round(t.deliverSentMs),
        jobMs: round(t.jobMs),
        computeMs: round(t.computeMs),
      })),
    };
    mkdirSync(join(ROOT, "bench", "out"), { recursive: true });
    writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);

    const rows: [string, string, string, string][] = [
      ["metric", "value", "target", "what it is"],
      ["workload", `${SLEEP_MS} ms`, "", "sleep-service delay per call (process runtime)"],
      ["bare_ms", `${result.bare_ms}`, "", `ProcessRuntime.call, avg of ${JOBS} (p95 ${result.bare_p95_ms})`],
      [
        "e2e_ms",
        `${result.e2e_ms}`,
        "",
        `request tx sent → consumer result readable, avg of ${JOBS} (p50 ${result.e2e_p50_ms}, p95 ${result.e2e_p95_ms})`,
      ],
      ["  request_ms", `${result.request_ms}`, "", "request tx sent → its receipt (chain round trip)"],
      [
        "  node_ms",
        `${result.node_ms}`,
        "",
        "request receipt → result readable (node, compute and deliver tx)",
      ],
      [
        "    until_deliver_sent",
        `${result.node_until_deliver_sent_ms}`,
        "",
        "request receipt → node's deliver tx broadcast returned (log poll, reads, compute, simulate, estimate, mine)",
      ],
      [
        "    sent_to_visible",
        `${result.deliver_sent_to_visible_ms}`,
        "",
        "→ result read back by this bench (its 2 ms eth_call polling)",
      ],
      [
        "job_ms",
        `${result.job_ms}`,
        "",
        `the node's job: queue pickup → reconcile reads → compute (${result.job_compute_ms}) → deliver tx mined`,
      ],
      ["overhead_ms", `${result.overhead_ms}`, "", "job_ms − bare_ms"],
      [
        "overhead_ratio",
        `${result.overhead_ratio}`,
        "<= 1.05",
        "job_ms / bare_ms (end-to-end job in the node)",
      ],
      [
        "e2e_ratio",
        `${result.e2e_ratio}`,
        "",
        "e2e_ms / bare_ms (adds detection and both chain round trips)",
      ],
      [
        "offchain_jobs_per_s_embedded",
        `${result.offchain_jobs_per_s_embedded}`,
        ">= 500",
        `REST, ${OFFCHAIN_JOBS} trivial jobs, embedded queue (e2e p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms)`,
      ],
      [
        "offchain_jobs_per_s_bullmq",
        `${result.offchain_jobs_per_s_bullmq}`,
        ">= 500",
        `REST, ${OFFCHAIN_JOBS} trivial jobs, BullMQ on Redis (e2e p50 ${offchain.bullmq.e2e_p50_ms} ms, p99 ${offchain.bullmq.e2e_p99_ms} ms)`,
      ],
      [
        "onchain_blocks_to_delivery",
        `${result.onchain_blocks_to_delivery}`,
        "<= 1",
        "delivery block − request block (automine, max)",
      ],
      [
        "rpc_round_trip_ms",
        `${result.rpc_round_trip_ms}`,
        "",
        "one eth_blockNumber to the hardhat node, for scale",
      ],
      ["node poll interval", `${POLL_MS} ms`, "", "chain.pollIntervalMs of the node (confirmations 0)"],
    ];
    const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const [n, r] of rows.entries()) {
      console.log(
        r
          .map((cell, c) => cell.padEnd(widths[c]!))
          .join("  ")
          .trimEnd(),
      );
      if (n === 0) console.log(widths.map((x) => "-".repeat(x)).join("  "));
    }
    console.log(`\nwritten ${OUT}`);
    if (proxy && lastJob) {
      const { t0, t1, t2 } = lastJob;
      console.log(
        `\nlast job, the node's RPC calls (ms from the request receipt; result readable at ${round(t2 - t1)}):`,
      );
      for (const c of proxy.calls.filter((c) => c.at >= t0 && c.at <= t2)) {
        console.log(
          `  ${round(c.at - t1)
            .toString()
            .padStart(7)}  +${round(c.ms).toString().padEnd(5)}  ${c.method}`,
        );
      }
    }
  } finally {
    node.child.kill("SIGTERM");
    await new Promise<void>((r) => (node.child.exitCode !== null ? r() : node.child.once("exit", () => r())));
    proxy?.server.close();
    await w.stopChain();
  }
}

await main();

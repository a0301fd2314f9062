// Users: job submit / status / watch / verify / cancel, on-chain (subscriptions) or off-chain (a node's REST API).
import { formatEther, isHex, zeroAddress, type Hex } from "viem";
import {
  SLOT_STATUS,
  cancelSubscription,
  getDeliveries,
  getEscrow,
  getInterval,
  getOffchainJob,
  getPoiJob,
  getSubscription,
  nodeApi,
  requestCompute,
  streamOffchainJob,
  submitDiffusionJob,
  submitOffchainJob,
  verifyPoiResult,
  waitForDeliveries,
  waitForOffchainJob,
  type Delivery,
  type InfernetClient,
  type NodeApi,
  type OffchainJob,
} from "@infernet/sdk";
import type { Command } from "../command.ts";
import { CHAIN_HELP, CHAIN_OPTIONS, amount, clientFrom, int, parse, requireOption } from "../context.ts";
import {
  CliError,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_TIMEOUT,
  UsageError,
  toJson,
  withProgress,
  type CliIo,
} from "../io.ts";

const API_OPTIONS = {
  api: { type: "string" },
  "api-key": { type: "string" },
} as const;

const API_HELP = `Off-chain (a node's REST API) options:
  --api <url>            the node's API, e.g. http://127.0.0.1:4000 (off-chain job instead of on-chain)
  --api-key <key>        API key (env INFERNET_API_KEY; infernet keys create makes one)
`;

function apiFrom(values: { api?: string | undefined; "api-key"?: string | undefined }, io: CliIo): NodeApi {
  const key = values["api-key"] ?? io.env.INFERNET_API_KEY;
  return nodeApi({ url: values.api!, ...(key ? { apiKey: key } : {}) });
}

function subscriptionId(value: string | undefined): bigint {
  const v = requireOption("<subscription-id>", value);
  if (!/^[1-9][0-9]*$/.test(v))
    throw new UsageError(`<subscription-id> must be a positive integer, got ${v}`);
  return BigInt(v);
}

function timeoutMs(value: string | undefined, fallbackS: number): number {
  return (value === undefined ? fallbackS : int("--timeout", value, 1)) * 1000;
}

function printDelivery(io: CliIo, d: Delivery): void {
  io.stdout(
    `interval ${d.interval} slot ${d.slot}: delivered by ${d.node} in ${d.transactionHash}\n` +
      `  output      ${d.output ?? "(not recoverable from the transaction)"}\n` +
      `  output hash ${d.outputHash} ${d.outputVerified ? "(matches the output)" : "(NOT checked)"}\n` +
      `  callback    ${d.callback}\n`,
  );
}

function printOffchain(io: CliIo, job: OffchainJob): void {
  io.stdout(
    `job ${job.id}: ${job.status} (attempts ${job.attempts}, containers ${job.containers.join(" → ")})\n`,
  );
  if (job.result) io.stdout(`result ${JSON.stringify(job.result.output)}\n`);
  if (job.error)
    io.stdout(`error ${job.error.container ? `in ${job.error.container}: ` : ""}${job.error.message}\n`);
}

const SUBMIT_OPTIONS = {
  ...CHAIN_OPTIONS,
  ...API_OPTIONS,
  container: { type: "string", multiple: true },
  input: { type: "string" },
  data: { type: "string" },
  prompt: { type: "string" },
  negative: { type: "string" },
  steps: { type: "string" },
  guidance: { type: "string" },
  width: { type: "string" },
  height: { type: "string" },
  frames: { type: "string" },
  payment: { type: "string" },
  redundancy: { type: "string" },
  verifier: { type: "string" },
  lazy: { type: "boolean" },
  wait: { type: "boolean" },
  timeout: { type: "string" },
} as const;

export const jobSubmit: Command = {
  name: "job submit",
  summary: "submit a job on-chain (a one-shot subscription) or to a node's REST API (--api)",
  usage: `Usage: infernet job submit --container <name> (--input <hex> | --prompt <text> [diffusion options]) [options]
       infernet job submit --api <url> --container <name> [--container <next>…] --data <json> [--wait]

On-chain: requests one computation of <name> (Coordinator.requestCompute) owned by your account and prints the
subscription id; a --prompt job carries encoded diffusion inputs and is verified by Proof-of-Inference unless
--verifier none. Off-chain (--api): queues a job on the node (POST /api/jobs) and prints its id. --wait follows the
job to its result (the delivery on-chain, the SSE stream off-chain) and prints it.

Options:
  --container <name>     container (repeat for an off-chain pipeline)
  --input <hex>          on-chain inline inputs, raw bytes (0x…)
  --data <json>          off-chain input, any JSON value
  --prompt <text>        diffusion job: the prompt (with --negative, --steps 20, --guidance 7.5, --width 512,
                         --height 512, --frames 1)
  --payment <amount>     payment per node in ether or wei (default 0; PoI jobs at most the verifier's maxPrice)
  --redundancy <n>       nodes computing it (default 1)
  --verifier <v>         none or poi (default: poi for --prompt, none otherwise)
  --lazy                 keep the result in the Coordinator's inbox (no callback)
  --wait                 wait for the result and print it
  --timeout <s>          give up waiting after this many seconds (default 300; exit 3)

${API_HELP}
${CHAIN_HELP}`,
  async run(args, io) {
    const { values } = parse(args, SUBMIT_OPTIONS);
    const containers = values.container ?? [];
    if (containers.length === 0) throw new UsageError("--container <name> is required");
    const wait = timeoutMs(values.timeout, 300);
    if (values.api !== undefined) {
      if (values.data === undefined) throw new UsageError("--data <json> is required with --api");
      let data: unknown;
      try {
        data = JSON.parse(values.data);
      } catch {
        throw new UsageError("--data must be JSON (quote a string: '\"text\"')");
      }
      const api = apiFrom(values, io);
      const id = await submitOffchainJob(api, { containers, data });
      if (!values.wait) {
        io.stdout(values.json ? `${toJson({ id })}\n` : `${id}\n`);
        return EXIT_OK;
      }
      const job = await withProgress(io, `job ${id}`, (p) =>
        waitForOffchainJob(api, id, {
          timeoutMs: wait,
          onEvent: (e) => {
            if (e.type === "state") p.update(`job ${id}: ${e.status}`);
            if (e.type === "progress") p.update(`job ${id}: step ${e.step}/${e.steps} (${e.container})`);
          },
        }),
      );
      if (values.json) io.stdout(`${toJson(job)}\n`);
      else printOffchain(io, job);
      return EXIT_OK;
    }

    if (containers.length > 1)
      throw new UsageError("an on-chain job names one container (or a registered pipeline a,b)");
    if ((values.input === undefined) === (values.prompt === undefined))
      throw new UsageError("give either --input <hex> or --prompt <text>");
    if (values.input !== undefined && !isHex(values.input))
      throw new UsageError("--input must be 0x-prefixed hex");
    const verifier = values.verifier ?? (values.prompt !== undefined ? "poi" : "none");
    if (verifier !== "poi" && verifier !== "none") throw new UsageError("--verifier is none or poi");
    const common = {
      container: containers[0]!,
      paymentAmount: values.payment === undefined ? 0n : amount("--payment", values.payment),
      redundancy: values.redundancy === undefined ? 1 : int("--redundancy", values.redundancy, 1),
      lazy: values.lazy === true,
    };
    const client = await clientFrom(values, io, true);
    const submitted = await withProgress(io, `submitting a ${common.container} job`, async () => {
      if (values.prompt !== undefined) {
        const guidance = values.guidance === undefined ? 7.5 : Number(values.guidance);
        if (!Number.isFinite(guidance) || guidance < 0)
          throw new UsageError("--guidance must be a number ≥ 0");
        return submitDiffusionJob(client, {
          ...common,
          proofOfInference: verifier === "poi",
          request: {
            prompt: values.prompt,
            negativePrompt: values.negative ?? "",
            steps: values.steps === undefined ? 20 : int("--steps", values.steps, 1),
            guidanceMilli: Math.round(guidance * 1000),
            width: values.width === undefined ? 512 : int("--width", values.width, 1),
            height: values.height === undefined ? 512 : int("--height", values.height, 1),
            frames: values.frames === undefined ? 1 : int("--frames", values.frames, 1),
          },
        });
      }
      const r = await requestCompute(client, {
        ...common,
        inputs: values.input as Hex,
        ...(verifier === "poi" ? { verifier: client.contracts.proofOfInference } : {}),
      });
      return { ...r, jobs: [] };
    });
    const summary = {
      subscriptionId: submitted.subscriptionId,
      interval: submitted.interval,
      transactionHash: submitted.transactionHash,
      jobs: submitted.jobs,
    };
    if (!values.wait) {
      io.stdout(values.json ? `${toJson(summary)}\n` : `${submitted.subscriptionId}\n`);
      return EXIT_OK;
    }
    const deliveries = await withProgress(
      io,
      `waiting for ${common.redundancy} deliver${common.redundancy === 1 ? "y" : "ies"} of subscription ${submitted.subscriptionId}`,
      () =>
        waitForDeliveries(client, {
          subscriptionId: submitted.subscriptionId,
          count: common.redundancy,
          timeoutMs: wait,
        }),
    );
    if (values.json) io.stdout(`${toJson({ ...summary, deliveries })}\n`);
    else {
      io.stdout(`subscription ${submitted.subscriptionId}\n`);
      for (const d of deliveries) printDelivery(io, d);
    }
    return EXIT_OK;
  },
};

async function onchainStatus(client: InfernetClient, id: bigint, interval: number | undefined) {
  const sub = await getSubscription(client, id);
  if (sub.owner === zeroAddress) throw new CliError(`subscription ${id} does not exist`);
  const escrow = await getEscrow(client, id);
  const deliveries = await getDeliveries(client, { subscriptionId: id, ...(interval ? { interval } : {}) });
  const last = interval ?? sub.lastInterval;
  const slots =
    last === 0
      ? []
      : (await getInterval(client, { subscriptionId: id, interval: last })).slots.map((s, slot) => ({
          slot,
          node: s.node,
          status: SLOT_STATUS[s.status] ?? String(s.status),
        }));
  const poi =
    sub.verifier === client.contracts.proofOfInference && last > 0
      ? await Promise.all(
          slots.map(async ({ slot }) => {
            const job = await getPoiJob(client, { subscriptionId: id, interval: last, slot });
            return { slot, phase: job.phaseName, quality: job.quality };
          }),
        )
      : [];
  return { subscription: { id, ...sub }, escrow, interval: last, slots, deliveries, poi };
}

export const jobStatus: Command = {
  name: "job status",
  summary: "a job's state: the subscription, its slots and deliveries (or an off-chain job with --api)",
  usage: `Usage: infernet job status <subscription-id> [--interval <n>] [chain options]
       infernet job status --api <url> <job-id>

On-chain: the subscription (owner, container, intervals, verifier), its escrow, the slots of the interval (default:
the last requested) with their status, the deliveries with their outputs and, for Proof-of-Inference jobs, each
slot's phase. Off-chain (--api): GET /api/jobs/<job-id>.

${API_HELP}
${CHAIN_HELP}`,
  async run(args, io) {
    const { values, positionals } = parse(
      args,
      { ...CHAIN_OPTIONS, ...API_OPTIONS, interval: { type: "string" } },
      1,
    );
    if (values.api !== undefined) {
      const job = await getOffchainJob(apiFrom(values, io), requireOption("<job-id>", positionals[0]));
      if (values.json) io.stdout(`${toJson(job)}\n`);
      else printOffchain(io, job);
      return EXIT_OK;
    }
    const id = subscriptionId(positionals[0]);
    const client = await clientFrom(values, io, false);
    const interval = values.interval === undefined ? undefined : int("--interval", values.interval, 1);
    const s = await onchainStatus(client, id, interval);
    if (values.json) {
      io.stdout(`${toJson(s)}\n`);
      return EXIT_OK;
    }
    const sub = s.subscription;
    io.stdout(
      `subscription ${id} owned by ${sub.owner}${sub.cancelled ? " (cancelled)" : ""}\n` +
        `  container ${sub.containerId}\n` +
        `  intervals ${sub.lastInterval} of ${sub.frequency} requested, period ${sub.period} s, redundancy ${sub.redundancy}\n` +
        `  payment   ${formatEther(sub.paymentAmount)} per node, escrow ${formatEther(s.escrow.balance)} (locked ${formatEther(s.escrow.locked)})\n` +
        `  verifier  ${sub.verifier === zeroAddress ? "none" : sub.verifier}${sub.lazy ? ", lazy (inbox)" : ""}\n`,
    );
    for (const slot of s.slots) {
      const poi = s.poi.find((p) => p.slot === slot.slot);
      io.stdout(
        `interval ${s.interval} slot ${slot.slot}: ${slot.status}${slot.node !== zeroAddress ? ` (${slot.node})` : ""}` +
          `${poi ? `, Proof-of-Inference ${poi.phase}` : ""}\n`,
      );
    }
    for (const d of s.deliveries) printDelivery(io, d);
    return EXIT_OK;
  },
};

export const jobWatch: Command = {
  name: "job watch",
  summary: "follow a job until its result: on-chain deliveries, or an off-chain job's event stream (--api)",
  usage: `Usage: infernet job watch <subscription-id> [--interval <n>] [--timeout <s>] [chain options]
       infernet job watch --api <url> <job-id> [--timeout <s>]

On-chain: prints each delivery of the interval (default 1) as it is mined, until every slot delivered. Off-chain:
follows GET /api/jobs/<job-id>/events and prints the events, then the result. Exit 1 when the job failed, 3 on
timeout (default 300 s).

${API_HELP}
${CHAIN_HELP}`,
  async run(args, io) {
    const { values, positionals } = parse(
      args,
      { ...CHAIN_OPTIONS, ...API_OPTIONS, interval: { type: "string" }, timeout: { type: "string" } },
      1,
    );
    const wait = timeoutMs(values.timeout, 300);
    if (values.api !== undefined) {
      const id = requireOption("<job-id>", positionals[0]);
      const api = apiFrom(values, io);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), wait);
      let job: OffchainJob | undefined;
      try {
        for await (const e of streamOffchainJob(api, id, { signal: controller.signal })) {
          if (e.type === "result") job = e.job;
          else if (!values.json) io.stderr(`${e.type} ${JSON.stringify({ ...e, type: undefined })}\n`);
        }
      } catch (err) {
        if (controller.signal.aborted) throw new CliError(`timed out after ${wait / 1000} s`, EXIT_TIMEOUT);
        throw err;
      } finally {
        clearTimeout(timer);
      }
      if (!job) throw new CliError(`the event stream of job ${id} ended before its result`);
      if (values.json) io.stdout(`${toJson(job)}\n`);
      else printOffchain(io, job);
      return job.status === "success" ? EXIT_OK : EXIT_FAILURE;
    }
    const id = subscriptionId(positionals[0]);
    const client = await clientFrom(values, io, false);
    const sub = await getSubscription(client, id);
    if (sub.owner === zeroAddress) throw new CliError(`subscription ${id} does not exist`);
    const interval = values.interval === undefined ? 1 : int("--interval", values.interval, 1);
    const deliveries = await withProgress(
      io,
      `waiting for deliveries of subscription ${id} interval ${interval}`,
      () =>
        waitForDeliveries(client, { subscriptionId: id, interval, count: sub.redundancy, timeoutMs: wait }),
    );
    if (values.json) io.stdout(`${toJson(deliveries)}\n`);
    else for (const d of deliveries) printDelivery(io, d);
    return EXIT_OK;
  },
};

export const jobVerify: Command = {
  name: "job verify",
  summary: "verify a Proof-of-Inference result on the client (commitment, opened steps, output hash)",
  usage: `Usage: infernet job verify <subscription-id> [--interval <n>] [--slot <n>] [chain options]

Reads the job's Committed and Revealed events and the reveal's multiproof, recomputes the challenged steps from the
challenge randomness, rebuilds the opened leaves, checks the multiproof against the committed root and the delivered
output against the committed hash. Exit 0 when everything checks, 1 otherwise (the problems are listed).

${CHAIN_HELP}`,
  async run(args, io) {
    const { values, positionals } = parse(
      args,
      { ...CHAIN_OPTIONS, interval: { type: "string" }, slot: { type: "string" } },
      1,
    );
    const id = subscriptionId(positionals[0]);
    const client = await clientFrom(values, io, false);
    const ref = {
      subscriptionId: id,
      interval: values.interval === undefined ? 1 : int("--interval", values.interval, 1),
      slot: values.slot === undefined ? 0 : int("--slot", values.slot),
    };
    const v = await verifyPoiResult(client, { ref });
    if (values.json) io.stdout(`${toJson(v)}\n`);
    else {
      io.stdout(
        v.ok
          ? `verified: root ${v.root}, ${v.steps} steps, challenged [${v.challenged.join(", ")}]\n`
          : `NOT verified:\n${v.problems.map((p) => `  - ${p}\n`).join("")}`,
      );
      for (const s of v.skipped) io.stderr(`skipped ${s}\n`);
    }
    return v.ok ? EXIT_OK : EXIT_FAILURE;
  },
};

export const jobCancel: Command = {
  name: "job cancel",
  summary: "cancel a subscription; its unlocked prepayment is credited to you",
  usage: `Usage: infernet job cancel <subscription-id> [chain options]

Stops new intervals (owner only); prepayment not locked for requested intervals is credited to the owner. Take it
out with infernet wallet withdraw.

${CHAIN_HELP}`,
  async run(args, io) {
    const { values, positionals } = parse(args, CHAIN_OPTIONS, 1);
    const id = subscriptionId(positionals[0]);
    const client = await clientFrom(values, io, true);
    const r = await withProgress(io, `cancelling subscription ${id}`, () =>
      cancelSubscription(client, { subscriptionId: id }),
    );
    io.stdout(values.json ? `${toJson(r)}\n` : `refunded ${formatEther(r.refunded)} to your credits\n`);
    return EXIT_OK;
  },
};

/**
 * Delivered results on-chain: the Coordinator's `Delivered` events with the output bytes (from the `deliver`
 * calldata, or the inbox for lazy subscriptions), whether the consumer callback ran, and the output hash checked.
 */
import { decodeFunctionData, keccak256, parseEventLogs, type Address, type Hex } from "viem";
import { coordinatorAbi } from "../abis/index.ts";
import type { InfernetClient } from "./client.ts";
import { pollLogs, queryLogs, type DecodedLog } from "./events.ts";
import { deliveredTopics, getSubscription } from "./subscriptions.ts";

export interface Delivery {
  subscriptionId: bigint;
  interval: number;
  slot: number;
  node: Address;
  /** `keccak256(output)` as the Coordinator recorded it. */
  outputHash: Hex;
  /** The delivered output bytes; undefined when they cannot be recovered (delivered through a contract, eager). */
  output: Hex | undefined;
  /** The interval's input bytes as the node passed them (empty for lazy inbox reads). */
  input: Hex | undefined;
  /** The node's proof (for Proof-of-Inference: the commitment `abi.encode(root, T, paramsHash)`). */
  proof: Hex | undefined;
  /** Whether `keccak256(output)` equals `outputHash` (false when the output is unknown). */
  outputVerified: boolean;
  /** `called`: the owner's callback ran; `failed`: it reverted (`CallbackFailed`); `inbox`: lazy, stored instead. */
  callback: "called" | "failed" | "inbox";
  transactionHash: Hex;
  blockNumber: bigint;
}

type DeliveredLog = Extract<DecodedLog<typeof coordinatorAbi>, { eventName: "Delivered" }>;

async function toDelivery(client: InfernetClient, log: DeliveredLog, lazy: boolean): Promise<Delivery> {
  const { subscriptionId, interval, slot, node, outputHash } = log.args;
  let input: Hex | undefined;
  let output: Hex | undefined;
  let proof: Hex | undefined;
  let callback: Delivery["callback"] = "inbox";
  if (lazy) {
    const item = await client.publicClient.readContract({
      address: client.contracts.coordinator,
      abi: coordinatorAbi,
      functionName: "inboxOf",
      args: [subscriptionId, interval, node],
    });
    output = item.output;
    proof = item.proof;
  } else {
    const receipt = await client.publicClient.getTransactionReceipt({ hash: log.transactionHash });
    const failed = parseEventLogs({ abi: coordinatorAbi, logs: receipt.logs, eventName: "CallbackFailed" });
    callback = failed.some(
      (f) => f.args.subscriptionId === subscriptionId && f.args.interval === interval && f.args.slot === slot,
    )
      ? "failed"
      : "called";
  }
  if (output === undefined) {
    const tx = await client.publicClient.getTransaction({ hash: log.transactionHash });
    if (tx.to?.toLowerCase() === client.contracts.coordinator.toLowerCase()) {
      try {
        const call = decodeFunctionData({ abi: coordinatorAbi, data: tx.input });
        if (call.functionName === "deliver" && call.args[0] === subscriptionId && call.args[1] === interval) {
          [, , input, output, proof] = call.args;
        }
      } catch {
        // not a plain deliver call
      }
    }
  }
  return {
    subscriptionId,
    interval,
    slot,
    node,
    outputHash,
    output,
    input,
    proof,
    outputVerified: output !== undefined && keccak256(output) === outputHash,
    callback,
    transactionHash: log.transactionHash,
    blockNumber: log.blockNumber,
  };
}

export interface DeliveryQuery {
  subscriptionId: bigint;
  /** Only this interval (default: all). */
  interval?: number;
  /** First block to search (default: the deployment's). */
  fromBlock?: bigint;
}

/** The deliveries made so far. */
export async function getDeliveries(client: InfernetClient, q: DeliveryQuery): Promise<Delivery[]> {
  const { lazy } = await getSubscription(client, q.subscriptionId);
  const logs = await queryLogs(client, {
    abi: coordinatorAbi,
    address: client.contracts.coordinator,
    topics: deliveredTopics(q.subscriptionId, q.interval),
    fromBlock: q.fromBlock ?? client.fromBlock,
    toBlock: await client.publicClient.getBlockNumber({ cacheTime: 0 }),
  });
  const out: Delivery[] = [];
  for (const log of logs) if (log.eventName === "Delivered") out.push(await toDelivery(client, log, lazy));
  return out;
}

export interface WatchDeliveriesParams extends DeliveryQuery {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * Streams deliveries as they are mined (those already made first). Runs until the caller stops iterating, the
 * signal aborts (`WaitAbortedError`) or `timeoutMs` passes (`WaitTimeoutError`).
 */
export async function* watchDeliveries(
  client: InfernetClient,
  p: WatchDeliveriesParams,
): AsyncGenerator<Delivery, never, undefined> {
  const { lazy } = await getSubscription(client, p.subscriptionId);
  const logs = pollLogs(client, {
    abi: coordinatorAbi,
    address: client.contracts.coordinator,
    topics: deliveredTopics(p.subscriptionId, p.interval),
    ...(p.fromBlock !== undefined ? { fromBlock: p.fromBlock } : {}),
    ...(p.signal ? { signal: p.signal } : {}),
    ...(p.timeoutMs !== undefined ? { timeoutMs: p.timeoutMs } : {}),
    what: `a delivery for subscription ${p.subscriptionId}`,
  });
  try {
    for (;;) {
      const { value } = await logs.next();
      if (value.eventName === "Delivered") yield await toDelivery(client, value, lazy);
    }
  } finally {
    await logs.return(undefined as never);
  }
}

export interface WaitForDeliveryParams extends WatchDeliveriesParams {
  /** Default 1 (the one-shot interval). */
  interval?: number;
  /** How many deliveries to wait for (default 1; the subscription's redundancy for all of them). */
  count?: number;
}

/** Waits for `count` deliveries of the interval; resolves with them in the order they were mined. */
export async function waitForDeliveries(
  client: InfernetClient,
  p: WaitForDeliveryParams,
): Promise<Delivery[]> {
  const count = p.count ?? 1;
  const out: Delivery[] = [];
  const stream = watchDeliveries(client, { ...p, interval: p.interval ?? 1 });
  try {
    while (out.length < count) {
      const { value } = await stream.next();
      out.push(value);
    }
  } finally {
    await stream.return(undefined as never);
  }
  return out;
}

/** Waits for the first delivery of the interval (default 1). */
export async function waitForDelivery(client: InfernetClient, p: WaitForDeliveryParams): Promise<Delivery> {
  const [first] = await waitForDeliveries(client, { ...p, count: 1 });
  return first!;
}

/**
 * Log polling shared by the waits and watches: `eth_getLogs` over block ranges (at most `MAX_BLOCK_RANGE` blocks
 * per call) from a start block to the head, again every poll interval, decoded with a typed ABI. Works on any
 * JSON-RPC endpoint (no filters or subscriptions to expire).
 */
import {
  formatLog,
  numberToHex,
  parseEventLogs,
  type Abi,
  type Address,
  type ContractEventName,
  type Hex,
  type ParseEventLogsReturnType,
  type RpcLog,
} from "viem";
import { pollSleep, type InfernetClient } from "./client.ts";
import { WaitAbortedError, WaitTimeoutError } from "./errors.ts";

/** Most blocks asked for in one `eth_getLogs`. */
export const MAX_BLOCK_RANGE = 10_000n;

/** Topic filter: position i matches topic i (null = any, an array = any of them). */
export type TopicFilter = (Hex | Hex[] | null)[];

export interface LogQuery<abi extends Abi> {
  abi: abi;
  address: Address;
  topics?: TopicFilter;
  fromBlock: bigint;
  toBlock: bigint;
}

export type DecodedLog<abi extends Abi> = ParseEventLogsReturnType<abi, ContractEventName<abi>, true>[number];

/** The logs of `address` matching `topics` in [fromBlock, toBlock], decoded with `abi` (unknown events dropped). */
export async function queryLogs<const abi extends Abi>(
  client: InfernetClient,
  q: LogQuery<abi>,
): Promise<DecodedLog<abi>[]> {
  const out: DecodedLog<abi>[] = [];
  for (let from = q.fromBlock; from <= q.toBlock; from += MAX_BLOCK_RANGE) {
    const to = from + MAX_BLOCK_RANGE - 1n < q.toBlock ? from + MAX_BLOCK_RANGE - 1n : q.toBlock;
    const raw = (await client.publicClient.request({
      method: "eth_getLogs",
      params: [
        {
          address: q.address,
          fromBlock: numberToHex(from),
          toBlock: numberToHex(to),
          ...(q.topics ? { topics: q.topics } : {}),
        },
      ],
    })) as RpcLog[];
    const logs = raw.map((l) => formatLog(l));
    out.push(...(parseEventLogs({ abi: q.abi, logs, strict: true }) as DecodedLog<abi>[]));
  }
  return out;
}

export interface PollParams<abi extends Abi> {
  abi: abi;
  address: Address;
  topics?: TopicFilter;
  /** First block to read (default: the deployment's block). */
  fromBlock?: bigint;
  /** Stops the stream (the generator throws `WaitAbortedError`). */
  signal?: AbortSignal;
  /** Gives up after this long (the generator throws `WaitTimeoutError`); default: never. */
  timeoutMs?: number;
  /** What is being waited for, for error messages. */
  what: string;
}

/**
 * Streams matching logs as they are mined: first those already in [fromBlock, head], then new ones every poll
 * interval. Ends only by `signal` or `timeoutMs` (as errors) or when the consumer stops iterating.
 */
export async function* pollLogs<const abi extends Abi>(
  client: InfernetClient,
  p: PollParams<abi>,
): AsyncGenerator<DecodedLog<abi>, never, undefined> {
  const deadline = p.timeoutMs === undefined ? Infinity : Date.now() + p.timeoutMs;
  let next = p.fromBlock ?? client.fromBlock;
  for (;;) {
    if (p.signal?.aborted) throw new WaitAbortedError(p.what, p.signal.reason);
    const head = await client.publicClient.getBlockNumber({ cacheTime: 0 });
    if (head >= next) {
      const logs = await queryLogs(client, {
        abi: p.abi,
        address: p.address,
        ...(p.topics ? { topics: p.topics } : {}),
        fromBlock: next,
        toBlock: head,
      });
      next = head + 1n;
      for (const log of logs) yield log;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new WaitTimeoutError(p.what, p.timeoutMs!);
    await pollSleep(Math.min(client.pollIntervalMs, left), p.signal);
  }
}

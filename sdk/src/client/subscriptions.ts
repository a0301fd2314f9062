/**
 * Consumers on-chain: one-shot requests (`requestCompute`), recurring subscriptions, their prepayment and
 * cancellation, and what the Coordinator credits to an account. Amounts are in the payment token's smallest unit
 * (wei for ETH); an ERC-20 is approved to the Coordinator first when the allowance is short.
 */
import {
  encodeEventTopics,
  erc20Abi,
  isHex,
  keccak256,
  parseEventLogs,
  toBytes,
  zeroAddress,
  type Address,
  type Hex,
  type TransactionReceipt,
} from "viem";
import { coordinatorAbi } from "../abis/index.ts";
import type { SubscriptionParams } from "../subscriptions.ts";
import { accountOf, transact, type InfernetClient } from "./client.ts";
import { EventNotFoundError } from "./errors.ts";

/** The zero address: pay in ETH; no verifier. */
export const ETH: Address = zeroAddress;

/** A container id: `keccak256` of a name ("hello", or "a,b,c" for a pipeline); a bytes32 id is returned as is. */
export function containerId(nameOrId: string): Hex {
  if (isHex(nameOrId) && nameOrId.length === 66) return nameOrId;
  return keccak256(toBytes(nameOrId));
}

/** A subscription as the client takes it: everything but the container has a default. */
export interface SubscriptionInput {
  /** Container name ("hello", "a,b" for a registered pipeline) or id (bytes32). */
  container: string;
  /** Inline inputs, raw bytes (default `0x`: the owner's `getContainerInputs` view is asked per interval). */
  inputs?: Hex;
  /** Unix seconds at which interval 1 starts (default 0: the creation block). */
  activeAt?: number;
  /** Seconds between intervals (default 0: one-shot). */
  period?: number;
  /** Number of intervals (default 1). */
  frequency?: number;
  /** Nodes per interval (default 1). */
  redundancy?: number;
  /** Gas for the owner's `receiveCompute` callback (default 200,000; an account without code is not called). */
  callbackGasLimit?: number;
  /** Keep results in the Coordinator's inbox instead of calling the owner back (default false). */
  lazy?: boolean;
  /** ERC-20 to pay in (default: ETH). */
  paymentToken?: Address;
  /** Payment per node per interval (default 0: unpaid). */
  paymentAmount?: bigint;
  /** Allow-listed verifier (default: none, paid on delivery); `client.contracts.proofOfInference` for PoI. */
  verifier?: Address;
}

/** `ICoordinator.SubscriptionParams` from a `SubscriptionInput`, defaults filled in. */
export function subscriptionParams(input: SubscriptionInput): SubscriptionParams {
  return {
    containerId: containerId(input.container),
    activeAt: input.activeAt ?? 0,
    period: input.period ?? 0,
    frequency: input.frequency ?? 1,
    redundancy: input.redundancy ?? 1,
    callbackGasLimit: input.callbackGasLimit ?? 200_000,
    lazy: input.lazy ?? false,
    paymentToken: input.paymentToken ?? ETH,
    paymentAmount: input.paymentAmount ?? 0n,
    verifier: input.verifier ?? ETH,
    inputs: input.inputs ?? "0x",
  };
}

export interface SubscriptionCreated {
  subscriptionId: bigint;
  transactionHash: Hex;
  receipt: TransactionReceipt;
}

export interface ComputeRequested extends SubscriptionCreated {
  /** Always 1: a one-shot subscription's only interval, requested in the same transaction. */
  interval: number;
}

/** Approves the Coordinator for `amount` of `token` when the current allowance is lower. */
async function ensureAllowance(client: InfernetClient, token: Address, amount: bigint): Promise<void> {
  if (token === ETH || amount === 0n) return;
  const owner = accountOf(client, "paying in an ERC-20");
  const allowance = await client.publicClient.readContract({
    address: token,
    abi: erc20Abi,
    functionName: "allowance",
    args: [owner, client.contracts.coordinator],
  });
  if (allowance >= amount) return;
  await transact(client, {
    contract: "ERC20",
    address: token,
    abi: erc20Abi,
    functionName: "approve",
    args: [client.contracts.coordinator, amount],
  });
}

function createdId(receipt: TransactionReceipt): bigint {
  const [created] = parseEventLogs({
    abi: coordinatorAbi,
    logs: receipt.logs,
    eventName: "SubscriptionCreated",
  });
  if (!created) throw new EventNotFoundError("SubscriptionCreated", receipt.transactionHash);
  return created.args.subscriptionId;
}

export interface RequestComputeParams extends SubscriptionInput {
  /** Prepayment (default: paymentAmount × redundancy, what the interval locks). */
  deposit?: bigint;
}

/**
 * One-shot computation: creates a subscription owned by the client's account, prepays it and requests interval 1,
 * in one transaction (`Coordinator.requestCompute`). `period` and `frequency` must stay at their defaults.
 */
export async function requestCompute(
  client: InfernetClient,
  p: RequestComputeParams,
): Promise<ComputeRequested> {
  const params = subscriptionParams(p);
  const deposit = p.deposit ?? params.paymentAmount * BigInt(params.redundancy);
  await ensureAllowance(client, params.paymentToken, deposit);
  const receipt = await transact(client, {
    contract: "Coordinator",
    address: client.contracts.coordinator,
    abi: coordinatorAbi,
    functionName: "requestCompute",
    args: [params, deposit],
    value: params.paymentToken === ETH ? deposit : 0n,
  });
  return {
    subscriptionId: createdId(receipt),
    interval: 1,
    transactionHash: receipt.transactionHash,
    receipt,
  };
}

export interface CreateSubscriptionParams extends SubscriptionInput {
  /** Prepayment (default: paymentAmount × redundancy × frequency, every interval). */
  deposit?: bigint;
}

/**
 * A subscription of `frequency` intervals every `period` seconds. Each interval is requested with
 * `requestInterval` (by anyone: the owner, a keeper or a node) once it has started.
 */
export async function createSubscription(
  client: InfernetClient,
  p: CreateSubscriptionParams,
): Promise<SubscriptionCreated> {
  const params = subscriptionParams(p);
  const deposit = p.deposit ?? params.paymentAmount * BigInt(params.redundancy) * BigInt(params.frequency);
  await ensureAllowance(client, params.paymentToken, deposit);
  const receipt = await transact(client, {
    contract: "Coordinator",
    address: client.contracts.coordinator,
    abi: coordinatorAbi,
    functionName: "createSubscription",
    args: [params, deposit],
    value: params.paymentToken === ETH ? deposit : 0n,
  });
  return { subscriptionId: createdId(receipt), transactionHash: receipt.transactionHash, receipt };
}

/** Requests the subscription's current interval; returns its number. */
export async function requestInterval(
  client: InfernetClient,
  p: { subscriptionId: bigint },
): Promise<{ interval: number; transactionHash: Hex }> {
  const receipt = await transact(client, {
    contract: "Coordinator",
    address: client.contracts.coordinator,
    abi: coordinatorAbi,
    functionName: "requestInterval",
    args: [p.subscriptionId],
  });
  const [requested] = parseEventLogs({
    abi: coordinatorAbi,
    logs: receipt.logs,
    eventName: "IntervalRequested",
  });
  if (!requested) throw new EventNotFoundError("IntervalRequested", receipt.transactionHash);
  return { interval: requested.args.interval, transactionHash: receipt.transactionHash };
}

/** Adds prepayment to a subscription (anyone may); in its payment token. */
export async function fundSubscription(
  client: InfernetClient,
  p: { subscriptionId: bigint; amount: bigint },
): Promise<{ transactionHash: Hex }> {
  const { paymentToken } = await getSubscription(client, p.subscriptionId);
  await ensureAllowance(client, paymentToken, p.amount);
  const receipt = await transact(client, {
    contract: "Coordinator",
    address: client.contracts.coordinator,
    abi: coordinatorAbi,
    functionName: "fund",
    args: [p.subscriptionId, p.amount],
    value: paymentToken === ETH ? p.amount : 0n,
  });
  return { transactionHash: receipt.transactionHash };
}

/**
 * Cancels a subscription (owner only): no new intervals; prepayment not locked for requested intervals is credited
 * to the owner (`withdrawCredits` takes it out).
 */
export async function cancelSubscription(
  client: InfernetClient,
  p: { subscriptionId: bigint },
): Promise<{ refunded: bigint; transactionHash: Hex }> {
  const receipt = await transact(client, {
    contract: "Coordinator",
    address: client.contracts.coordinator,
    abi: coordinatorAbi,
    functionName: "cancelSubscription",
    args: [p.subscriptionId],
  });
  const [cancelled] = parseEventLogs({
    abi: coordinatorAbi,
    logs: receipt.logs,
    eventName: "SubscriptionCancelled",
  });
  if (!cancelled) throw new EventNotFoundError("SubscriptionCancelled", receipt.transactionHash);
  return { refunded: cancelled.args.refunded, transactionHash: receipt.transactionHash };
}

/** Moves unlocked prepayment of the owner's subscription to the owner's credit. */
export async function withdrawSubscriptionFunds(
  client: InfernetClient,
  p: { subscriptionId: bigint; amount: bigint },
): Promise<{ transactionHash: Hex }> {
  const receipt = await transact(client, {
    contract: "Coordinator",
    address: client.contracts.coordinator,
    abi: coordinatorAbi,
    functionName: "withdrawFunds",
    args: [p.subscriptionId, p.amount],
  });
  return { transactionHash: receipt.transactionHash };
}

/** What the Coordinator owes `account` (default: the client's) in `token` (default: ETH). */
export async function getCredits(
  client: InfernetClient,
  p: { account?: Address; token?: Address } = {},
): Promise<bigint> {
  return client.publicClient.readContract({
    address: client.contracts.coordinator,
    abi: coordinatorAbi,
    functionName: "credits",
    args: [p.token ?? ETH, p.account ?? accountOf(client, "getCredits without an account")],
  });
}

/** Withdraws everything the Coordinator credits to the client's account in `token` (default: ETH). */
export async function withdrawCredits(
  client: InfernetClient,
  p: { token?: Address } = {},
): Promise<{ amount: bigint; transactionHash: Hex }> {
  const amount = await getCredits(client, { token: p.token ?? ETH });
  const receipt = await transact(client, {
    contract: "Coordinator",
    address: client.contracts.coordinator,
    abi: coordinatorAbi,
    functionName: "withdraw",
    args: [p.token ?? ETH],
  });
  return { amount, transactionHash: receipt.transactionHash };
}

/** The subscription as stored (`UnknownSubscription`-style zero owner when it does not exist). */
export async function getSubscription(client: InfernetClient, subscriptionId: bigint) {
  return client.publicClient.readContract({
    address: client.contracts.coordinator,
    abi: coordinatorAbi,
    functionName: "getSubscription",
    args: [subscriptionId],
  });
}

/** The subscription's prepayment: `balance` includes `locked` (held for requested intervals). */
export async function getEscrow(
  client: InfernetClient,
  subscriptionId: bigint,
): Promise<{ balance: bigint; locked: bigint }> {
  const [balance, locked] = await client.publicClient.readContract({
    address: client.contracts.coordinator,
    abi: coordinatorAbi,
    functionName: "escrowOf",
    args: [subscriptionId],
  });
  return { balance, locked };
}

/** The interval's state, inputs hash and slots (node, deadline, status). */
export async function getInterval(client: InfernetClient, p: { subscriptionId: bigint; interval: number }) {
  const [state, inputsHash, slots] = await client.publicClient.readContract({
    address: client.contracts.coordinator,
    abi: coordinatorAbi,
    functionName: "getInterval",
    args: [p.subscriptionId, p.interval],
  });
  return { state, inputsHash, slots };
}

/** `ICoordinator.SlotStatus` by value. */
export const SLOT_STATUS = ["Empty", "Assigned", "Held", "Paid", "Refunded", "Expired"] as const;
export type SlotStatusName = (typeof SLOT_STATUS)[number];

/** Topics of the Coordinator's `Delivered` event for one subscription (and interval). */
export function deliveredTopics(subscriptionId: bigint, interval?: number) {
  return encodeEventTopics({
    abi: coordinatorAbi,
    eventName: "Delivered",
    args: { subscriptionId, ...(interval !== undefined ? { interval } : {}) },
  });
}

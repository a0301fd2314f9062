import { network } from "hardhat";
import type { NetworkConnectionParams } from "hardhat/types/network";
import {
  getAddress,
  keccak256,
  parseEther,
  toBytes,
  type Address,
  type Hex,
  type TransactionReceipt,
} from "viem";
import assert from "node:assert/strict";
import type { SubscriptionParams } from "@infernet/sdk";
import { deploySystem, type Deployment, type ParamOverrides } from "../../deploy/system.ts";
import { DEFAULT_PARAMS } from "../../deploy/params.ts";

export const CONTAINER = "hello-echo";
export const CONTAINER_ID: Hex = keccak256(toBytes(CONTAINER));
/** Stake a test node registers with by default (wei). */
export const STAKE = parseEther("2");
export const ENDPOINT = "http://127.0.0.1:4000";
/** The Coordinator's slot statuses (ICoordinator.SlotStatus). */
export const SlotStatus = { Empty: 0, Assigned: 1, Held: 2, Paid: 3, Refunded: 4, Expired: 5 } as const;

/**
 * A fresh in-process chain with the whole system deployed through the same module as `npm run devnet`, one
 * container registered, and typed contract handles. Accounts: [0] deployer/owner/treasury, [1] consumer EOA,
 * [2..] free for operators and nodes. `connectionParams` configure the chain (e.g. `{ override: { hardfork } }`).
 */
export async function deployFixture(params: ParamOverrides = {}, connectionParams?: NetworkConnectionParams) {
  const connection = await network.create(connectionParams);
  const { viem, networkHelpers } = connection;
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const [deployer] = wallets;
  if (!deployer) throw new Error("no accounts");
  const deployment: Deployment = await deploySystem({ wallet: deployer, publicClient, params });
  const { contracts } = deployment;
  const coordinator = await viem.getContractAt("Coordinator", contracts.coordinator);
  const nodeRegistry = await viem.getContractAt("NodeRegistry", contracts.nodeRegistry);
  const containerRegistry = await viem.getContractAt("ContainerRegistry", contracts.containerRegistry);
  const randomness = await viem.getContractAt("BlockhashRandomness", contracts.randomness);
  const poi = await viem.getContractAt("ProofOfInference", contracts.proofOfInference);
  const trustModel = await viem.getContractAt("TrustModel", contracts.trustModel);
  await containerRegistry.write.registerContainer([CONTAINER, `0x${"00".repeat(32)}`]);
  return {
    connection,
    viem,
    networkHelpers,
    publicClient,
    wallets,
    deployment,
    params: { ...DEFAULT_PARAMS, ...params, poi: { ...DEFAULT_PARAMS.poi, ...params.poi } },
    coordinator,
    nodeRegistry,
    containerRegistry,
    randomness,
    poi,
    trustModel,
  };
}

export type Fixture = Awaited<ReturnType<typeof deployFixture>>;
export type Wallet = Fixture["wallets"][number];

/** The fixture's wallet `i`. */
export function wallet(f: Fixture, i: number): Wallet {
  const w = f.wallets[i];
  if (!w) throw new Error(`no wallet ${i}`);
  return w;
}

/** The checksummed address of `w`. */
export function addr(w: Wallet): Address {
  return getAddress(w.account.address);
}

/** The fixture's wallet whose address is `address`. */
export function walletOf(f: Fixture, address: Address): Wallet {
  const w = f.wallets.find((x) => getAddress(x.account.address) === getAddress(address));
  if (!w) throw new Error(`no wallet for ${address}`);
  return w;
}

/** The Coordinator, sending as `w`. */
export function coordinatorAs(f: Fixture, w: Wallet) {
  return f.viem.getContractAt("Coordinator", f.coordinator.address, { client: { wallet: w } });
}

/** The NodeRegistry, sending as `w`. */
export function registryAs(f: Fixture, w: Wallet) {
  return f.viem.getContractAt("NodeRegistry", f.nodeRegistry.address, { client: { wallet: w } });
}

/** The receipt of `hash`, asserting the transaction succeeded. */
export async function mined(f: Fixture, hash: Hex): Promise<TransactionReceipt> {
  const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
  assert.equal(receipt.status, "success");
  return receipt;
}

/** Timestamp (unix seconds) of block `blockNumber`. */
export async function blockTime(f: Fixture, blockNumber: bigint): Promise<number> {
  return Number((await f.publicClient.getBlock({ blockNumber })).timestamp);
}

/** The Coordinator's current parameters, as the struct `setParams` takes. */
export async function coordinatorParams(f: Fixture) {
  const [deliveryWindow, maxCallbackGasLimit, feeBps, maxReassignments, treasury, jobBond, livenessPenalty] =
    await f.coordinator.read.params();
  return {
    deliveryWindow,
    maxCallbackGasLimit,
    feeBps,
    maxReassignments,
    treasury,
    jobBond,
    livenessPenalty,
  };
}

/** Sets the Coordinator's `jobBond` (as its owner, wallet 0), every other parameter unchanged. */
export async function setJobBond(f: Fixture, jobBond: bigint): Promise<Hex> {
  return f.coordinator.write.setParams([{ ...(await coordinatorParams(f)), jobBond }]);
}

/** The NodeRegistry.register argument for `node` with `stake` wei, serving `containers`, on CPU hardware. */
export function nodeRegistration(
  node: Address,
  stake: bigint,
  containers: Hex[] = [CONTAINER_ID],
  endpoint: string = ENDPOINT,
) {
  return { node, endpoint, containers, hardware: { gpuModel: "cpu", vramMiB: 0, gpuCount: 0 }, stake };
}

/** Registers `node` under `operator` with `stake` wei of ETH, serving CONTAINER_ID by default. */
export async function registerNode(
  f: Fixture,
  operatorIndex: number,
  node: Address,
  stake: bigint = STAKE,
  containers: Hex[] = [CONTAINER_ID],
) {
  const registry = await registryAs(f, wallet(f, operatorIndex));
  return registry.write.register([nodeRegistration(node, stake, containers)], { value: stake });
}

/** Registers wallets `indexes` as self-operated nodes with `stake` each; returns their checksummed addresses. */
export async function registerNodes(
  f: Fixture,
  indexes: number[],
  stake: bigint = STAKE,
): Promise<Address[]> {
  const out: Address[] = [];
  for (const i of indexes) {
    const address = addr(wallet(f, i));
    await registerNode(f, i, address, stake);
    out.push(address);
  }
  return out;
}

/** Default subscription parameters: one-shot, redundancy 1, unpaid, inline 32-byte input. */
export function subscriptionParams(overrides: Partial<SubscriptionParams> = {}): SubscriptionParams {
  return {
    containerId: CONTAINER_ID,
    activeAt: 0,
    period: 0,
    frequency: 1,
    redundancy: 1,
    callbackGasLimit: 200_000,
    lazy: false,
    paymentToken: "0x0000000000000000000000000000000000000000",
    paymentAmount: 0n,
    verifier: "0x0000000000000000000000000000000000000000",
    inputs: `0x${"ab".repeat(32)}`,
    ...overrides,
  };
}

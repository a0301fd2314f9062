/**
 * Operators on-chain: containers, node registration, stake (add, unbond, withdraw) and what the registry credits.
 * The client's account is the operator; `node` is the hot key the node sends its transactions with. Stake is in the
 * registry's stake token (ETH when it is the zero address; an ERC-20 is approved to the registry first).
 */
import { erc20Abi, parseEventLogs, zeroAddress, type Address, type Hex } from "viem";
import { containerRegistryAbi, nodeRegistryAbi } from "../abis/index.ts";
import { accountOf, transact, type InfernetClient } from "./client.ts";
import { containerId } from "./subscriptions.ts";

/** Registers a container name (permissionless); returns its id. `imageDigest` optionally pins the image. */
export async function registerContainer(
  client: InfernetClient,
  p: { name: string; imageDigest?: Hex },
): Promise<{ containerId: Hex; transactionHash: Hex }> {
  const receipt = await transact(client, {
    contract: "ContainerRegistry",
    address: client.contracts.containerRegistry,
    abi: containerRegistryAbi,
    functionName: "registerContainer",
    args: [p.name, p.imageDigest ?? `0x${"00".repeat(32)}`],
  });
  return { containerId: containerId(p.name), transactionHash: receipt.transactionHash };
}

/** Whether a container (or pipeline) id is registered. */
export async function isContainerKnown(client: InfernetClient, container: string): Promise<boolean> {
  return client.publicClient.readContract({
    address: client.contracts.containerRegistry,
    abi: containerRegistryAbi,
    functionName: "isKnown",
    args: [containerId(container)],
  });
}

async function stakeToken(client: InfernetClient): Promise<Address> {
  return client.publicClient.readContract({
    address: client.contracts.nodeRegistry,
    abi: nodeRegistryAbi,
    functionName: "stakeToken",
  });
}

/** ETH stake goes as the call's value; an ERC-20 is approved to the registry. Returns the value to send. */
async function prepareStake(client: InfernetClient, amount: bigint): Promise<bigint> {
  const token = await stakeToken(client);
  if (token === zeroAddress) return amount;
  const allowance = await client.publicClient.readContract({
    address: token,
    abi: erc20Abi,
    functionName: "allowance",
    args: [accountOf(client, "staking"), client.contracts.nodeRegistry],
  });
  if (allowance < amount) {
    await transact(client, {
      contract: "ERC20",
      address: token,
      abi: erc20Abi,
      functionName: "approve",
      args: [client.contracts.nodeRegistry, amount],
    });
  }
  return 0n;
}

export interface RegisterNodeParams {
  /** The node's address (its signing key); default: the client's account. */
  node?: Address;
  /** Where the node's REST API is reached (informational, non-empty). */
  endpoint: string;
  /** Container names or ids the node serves (each must be registered). */
  containers: string[];
  hardware?: { gpuModel: string; vramMiB: number; gpuCount: number };
  /** Initial stake, at least the registry's minimum. */
  stake: bigint;
}

/** Registers a node under the client's account as operator. */
export async function registerNode(
  client: InfernetClient,
  p: RegisterNodeParams,
): Promise<{ node: Address; transactionHash: Hex }> {
  const node = p.node ?? accountOf(client, "registerNode");
  const value = await prepareStake(client, p.stake);
  const receipt = await transact(client, {
    contract: "NodeRegistry",
    address: client.contracts.nodeRegistry,
    abi: nodeRegistryAbi,
    functionName: "register",
    args: [
      {
        node,
        endpoint: p.endpoint,
        containers: p.containers.map(containerId),
        hardware: p.hardware ?? { gpuModel: "cpu", vramMiB: 0, gpuCount: 0 },
        stake: p.stake,
      },
    ],
    value,
  });
  return { node, transactionHash: receipt.transactionHash };
}

/** Adds stake to an operator's node. */
export async function addStake(
  client: InfernetClient,
  p: { node: Address; amount: bigint },
): Promise<{ transactionHash: Hex }> {
  const value = await prepareStake(client, p.amount);
  const receipt = await transact(client, {
    contract: "NodeRegistry",
    address: client.contracts.nodeRegistry,
    abi: nodeRegistryAbi,
    functionName: "addStake",
    args: [p.node, p.amount],
    value,
  });
  return { transactionHash: receipt.transactionHash };
}

/** Starts the unbonding delay for `amount` of free stake; returns when it can be withdrawn (unix seconds). */
export async function requestUnbond(
  client: InfernetClient,
  p: { node: Address; amount: bigint },
): Promise<{ unlockAt: bigint; transactionHash: Hex }> {
  const receipt = await transact(client, {
    contract: "NodeRegistry",
    address: client.contracts.nodeRegistry,
    abi: nodeRegistryAbi,
    functionName: "requestUnbond",
    args: [p.node, p.amount],
  });
  const [ev] = parseEventLogs({ abi: nodeRegistryAbi, logs: receipt.logs, eventName: "UnbondRequested" });
  return { unlockAt: ev?.args.unlockAt ?? 0n, transactionHash: receipt.transactionHash };
}

/** Withdraws the unbonded stake to the operator once the delay has passed. */
export async function withdrawStake(
  client: InfernetClient,
  p: { node: Address },
): Promise<{ amount: bigint; transactionHash: Hex }> {
  const receipt = await transact(client, {
    contract: "NodeRegistry",
    address: client.contracts.nodeRegistry,
    abi: nodeRegistryAbi,
    functionName: "withdrawStake",
    args: [p.node],
  });
  const [ev] = parseEventLogs({ abi: nodeRegistryAbi, logs: receipt.logs, eventName: "StakeWithdrawn" });
  return { amount: ev?.args.amount ?? 0n, transactionHash: receipt.transactionHash };
}

/** A node's registration: operator, stake (staked, bonded, unbonding), hardware, containers, free stake, endpoint. */
export async function getNode(client: InfernetClient, node: Address) {
  const [[info, hardware, containers], freeStake, endpoint] = await Promise.all([
    client.publicClient.readContract({
      address: client.contracts.nodeRegistry,
      abi: nodeRegistryAbi,
      functionName: "getNode",
      args: [node],
    }),
    client.publicClient.readContract({
      address: client.contracts.nodeRegistry,
      abi: nodeRegistryAbi,
      functionName: "freeStake",
      args: [node],
    }),
    client.publicClient.readContract({
      address: client.contracts.nodeRegistry,
      abi: nodeRegistryAbi,
      functionName: "endpointOf",
      args: [node],
    }),
  ]);
  return { ...info, registered: info.operator !== zeroAddress, hardware, containers, freeStake, endpoint };
}

import type { Address, Hex } from "viem";

/**
 * What a consumer asks the Coordinator for: `ICoordinator.SubscriptionParams`, as viem encodes and decodes it
 * (`createSubscription`, `requestCompute`, delegated subscriptions). Times are unix seconds; amounts are in the
 * payment token's smallest unit (wei for ETH).
 */
export interface SubscriptionParams {
  /** `keccak256` of a registered container name (or of a registered pipeline "a,b,c"); bytes32. */
  containerId: Hex;
  /** Unix time in seconds at which interval 1 starts; 0 means the block time of the creation (uint32). */
  activeAt: number;
  /** Seconds between the starts of consecutive intervals; 0 for a one-shot subscription (uint32). */
  period: number;
  /** Number of intervals, at least 1; a one-shot subscription has exactly 1 (uint32). */
  frequency: number;
  /** Number of distinct nodes that serve each interval, at least 1 (uint16). */
  redundancy: number;
  /** Gas the consumer's `receiveCompute` callback gets, in gas units, at most the Coordinator's `maxCallbackGasLimit` (uint32). */
  callbackGasLimit: number;
  /** `true` stores results in the Coordinator's inbox instead of calling the consumer back. */
  lazy: boolean;
  /** ERC-20 token the nodes are paid in; the zero address pays in ETH. */
  paymentToken: Address;
  /** Payment per node per interval, in the smallest unit of `paymentToken` (wei for ETH); 0 is unpaid (uint96). */
  paymentAmount: bigint;
  /** Allow-listed verification contract that holds payments until it settles; the zero address pays on delivery. */
  verifier: Address;
  /** Inline inputs used for every interval, as raw bytes; empty (`0x`) asks the owner's `getContainerInputs` view. */
  inputs: Hex;
}

import { parseEther, type Address } from "viem";

/**
 * Protocol parameters chosen at deployment. Units: wei for amounts, seconds for windows, basis points for fees.
 * The defaults suit a dev chain; docs/contracts.md explains each one.
 */
export interface SystemParams {
  /** Staking token; the zero address stakes ETH. */
  stakeToken: Address;
  /** Minimum active stake for a node to be registered and eligible. */
  minStake: bigint;
  /** Delay between an unbond request and the withdrawal; must exceed every dispute window. */
  unbondingDelay: number;
  /** Time an assigned node has to deliver, counted from its assignment. */
  deliveryWindow: number;
  /** Highest callback gas limit a subscription may set. */
  maxCallbackGasLimit: number;
  /** Protocol fee on node payments (capped at 1,000 bps by the contract). */
  feeBps: number;
  /** Times a slot may be reassigned after missed deadlines before it expires. */
  maxReassignments: number;
  /** Stake bonded per assigned job. */
  jobBond: bigint;
  /** Part of the job bond a node forfeits to the treasury when it misses its delivery deadline. */
  livenessPenalty: bigint;
  /** Receives protocol fees and liveness penalties; defaults to the deployer. */
  treasury?: Address;
}

export const ZERO_ADDRESS: Address = "0x0000000000000000000000000000000000000000";

export const DEFAULT_PARAMS: SystemParams = {
  stakeToken: ZERO_ADDRESS,
  minStake: parseEther("1"),
  unbondingDelay: 14 * 24 * 3600,
  deliveryWindow: 3600,
  maxCallbackGasLimit: 2_000_000,
  feeBps: 100,
  maxReassignments: 3,
  jobBond: parseEther("0.1"),
  livenessPenalty: parseEther("0.01"),
};

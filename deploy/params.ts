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
  /** Proof-of-Inference parameters (docs/protocol.md). */
  poi: PoiParams;
}

/** Proof-of-Inference parameters. Windows in seconds, amounts in wei, shares in basis points of the slashed bond. */
export interface PoiParams {
  /** Time from the commit for the node to open its challenged steps. */
  revealWindow: number;
  /** Time an assigned validator has to post its verdict. */
  verdictWindow: number;
  /** Time after a verdict during which any bonded node may dispute it. */
  disputeWindow: number;
  /** Time a dispute committee has to vote once drawn. */
  committeeWindow: number;
  /** Challenged steps for a node with a long honest record. */
  kMin: number;
  /** Challenged steps for a node just caught cheating; new nodes sit about halfway. */
  kMax: number;
  /** Largest step count T a job may commit to. */
  maxSteps: number;
  /** Share of a fraudulent node's slashed bond paid to the consumer (on top of its full refund). */
  requesterShareBps: number;
  /** Share paid to the validator or challenger that proved the fraud; the rest is burned. */
  challengerShareBps: number;
  /** Validators drawn for a dispute committee. */
  committeeSize: number;
  /** Stake a validator bonds per job it judges. */
  validatorBond: bigint;
  /** Stake a disputer bonds. */
  disputeBond: bigint;
  /** Taken from a validator that misses its verdict window or a silent committee member. */
  validatorPenalty: bigint;
  /** Largest payment per job the verifier accepts (the parameter guard's outside gain G; R is its floor share). */
  maxPrice: bigint;
  /**
   * Least share of the payment (basis points, 1..10,000) a passing job earns. The node is paid
   * `floor + (10,000 − floor) × quality / 10,000` of it for the validator's quality score (0..10,000) and the rest
   * returns to the consumer: a perfect score pays everything, a zero score the floor. The parameter guard counts this
   * share of `maxPrice` as the reward a caught cheater forfeits.
   */
  qualityFloorBps: number;
  /** Declared cost of computing one job honestly (the guard's C). */
  computeCost: bigint;
  /** Trust decay per update in 1e4 (9,500 keeps 95 %). */
  trustDecay: number;
  /** Added to the Beta b parameter (in 1e4) on proven fraud, after the reset. */
  trustFraudPenalty: bigint;
  /** Added to b (in 1e4) on a timeout. */
  trustTimeoutPenalty: bigint;
}

/**
 * The `ProofOfInference.Params` struct its constructor and `setParams` take: the PoI parameters less the trust
 * model's (TrustModel holds those), plus the treasury that receives burned shares and penalties.
 */
export type PoiContractParams = Omit<
  PoiParams,
  "trustDecay" | "trustFraudPenalty" | "trustTimeoutPenalty"
> & {
  treasury: Address;
};

/** `p` as the ProofOfInference.Params struct, paying `treasury`. */
export function poiContractParams(p: PoiParams, treasury: Address): PoiContractParams {
  return {
    revealWindow: p.revealWindow,
    verdictWindow: p.verdictWindow,
    disputeWindow: p.disputeWindow,
    committeeWindow: p.committeeWindow,
    kMin: p.kMin,
    kMax: p.kMax,
    maxSteps: p.maxSteps,
    requesterShareBps: p.requesterShareBps,
    challengerShareBps: p.challengerShareBps,
    committeeSize: p.committeeSize,
    validatorBond: p.validatorBond,
    disputeBond: p.disputeBond,
    validatorPenalty: p.validatorPenalty,
    maxPrice: p.maxPrice,
    qualityFloorBps: p.qualityFloorBps,
    computeCost: p.computeCost,
    treasury,
  };
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
  poi: {
    revealWindow: 600,
    verdictWindow: 600,
    disputeWindow: 1800,
    committeeWindow: 600,
    kMin: 3,
    kMax: 6,
    maxSteps: 64,
    requesterShareBps: 5_000,
    challengerShareBps: 2_500,
    committeeSize: 3,
    validatorBond: parseEther("0.05"),
    disputeBond: parseEther("0.05"),
    validatorPenalty: parseEther("0.01"),
    maxPrice: parseEther("0.003"),
    qualityFloorBps: 8_000,
    computeCost: parseEther("0.001"),
    trustDecay: 9_500,
    trustFraudPenalty: 40_000n,
    trustTimeoutPenalty: 10_000n,
  },
};

/** The longest a Proof-of-Inference job can keep a node's bond at stake without a validator timing out. */
export function poiMaxWindow(p: PoiParams): number {
  return p.revealWindow + p.verdictWindow + p.disputeWindow + p.committeeWindow;
}

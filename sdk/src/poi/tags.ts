import { keccak256, stringToBytes, type Hex } from "viem";

/** The ASCII preimages of the domain tags (docs/protocol.md §1). Each tag is `keccak256` of its preimage. */
export const TAG_PREIMAGES = {
  STEP_TAG: "infernet.poi.step.v1",
  OUTPUT_TAG: "infernet.poi.output.v1",
  PARAMS_TAG: "infernet.poi.params.v1",
  NODE_TAG: "infernet.poi.node.v1",
  EMPTY_LEAF: "infernet.poi.empty.v1",
  JOB_TAG: "infernet.poi.job.v1",
  SEED_TAG: "infernet.poi.seed.v1",
  CHALLENGE_TAG: "infernet.poi.challenge.v1",
  PRNG_TAG: "infernet.poi.prng.v1",
} as const;

export type TagName = keyof typeof TAG_PREIMAGES;

const tag = (name: TagName): Hex => keccak256(stringToBytes(TAG_PREIMAGES[name]));

export const STEP_TAG: Hex = tag("STEP_TAG");
export const OUTPUT_TAG: Hex = tag("OUTPUT_TAG");
export const PARAMS_TAG: Hex = tag("PARAMS_TAG");
export const NODE_TAG: Hex = tag("NODE_TAG");
/** The padding leaf of the tree (§5); a tag like the others, never the hash of a real leaf. */
export const EMPTY_LEAF: Hex = tag("EMPTY_LEAF");
export const JOB_TAG: Hex = tag("JOB_TAG");
export const SEED_TAG: Hex = tag("SEED_TAG");
export const CHALLENGE_TAG: Hex = tag("CHALLENGE_TAG");
export const PRNG_TAG: Hex = tag("PRNG_TAG");

// Proof-of-Inference encoding (docs/protocol.md §1–7), mirrored in contracts/libraries/PoiEncoding.sol and
// PoiMerkle.sol.
export {
  PoiEncodingError,
  InvalidFieldError,
  InvalidIndicesError,
  TensorShapeError,
  InvalidChallengeParamsError,
} from "./errors.ts";
export {
  TAG_PREIMAGES,
  STEP_TAG,
  OUTPUT_TAG,
  PARAMS_TAG,
  NODE_TAG,
  EMPTY_LEAF,
  JOB_TAG,
  SEED_TAG,
  CHALLENGE_TAG,
  PRNG_TAG,
  type TagName,
} from "./tags.ts";
export { jobId, type JobIdParams } from "./job.ts";
export {
  DTYPE_CODE,
  dtypeOf,
  bytesPerElement,
  elementCount,
  assertShape,
  tensorBytes,
  tensorFromBytes,
  tensorDigest,
  sha256Hex,
  type Dtype,
  type TensorData,
} from "./tensor.ts";
export { float32ToFloat16Bits, float32BitsToFloat16Bits, float16BitsToNumber } from "./float16.ts";
export {
  stepLeaf,
  outputLeaf,
  paramsLeaf,
  paramsHash,
  type LeafBase,
  type StepLeafParams,
  type OutputLeafParams,
  type ParamsLeafParams,
  type ParamsHashParams,
} from "./leaf.ts";
export {
  MAX_DEPTH,
  hashNode,
  depthFor,
  buildTree,
  multiproof,
  verifyMultiproof,
  type MerkleTree,
  type VerifyMultiproofParams,
} from "./tree.ts";
export { jobSeed } from "./seed.ts";
export { PRNG_BYTES_PER_ELEMENT, prngKey, initialLatent } from "./prng.ts";
export { challengeIndices, openedIndices, type ChallengeParams } from "./challenge.ts";
export {
  commitJob,
  revealJob,
  type StepRecord,
  type CommitmentInput,
  type JobCommitment,
  type StepOpening,
  type Reveal,
} from "./prover.ts";

// The validator's verification core (docs/verification.md, docs/protocol.md §8): pure, typed checks of a revealed
// Proof-of-Inference job. No chain I/O: the node reads reveals, fetches tensors and posts verdicts around it.
export {
  ValidatorError,
  InvalidBandsError,
  InvalidRevealError,
  TensorLengthError,
  ReexecutionError,
} from "./errors.ts";
export {
  DEFAULT_BANDS,
  assertBands,
  classify,
  relativeL2Error,
  sameBits,
  type Band,
  type Bands,
} from "./bands.ts";
export {
  tensorSha256,
  digestMatches,
  expectedInitialLatent,
  initialLatentMatches,
  timestepMatches,
  expectedTransition,
  transitionHolds,
} from "./checks.ts";
export {
  MAX_CHALLENGED,
  jobWideBit,
  verdictDigest,
  verifyReveal,
  type ReexecuteRequest,
  type Reexecute,
  type FetchedTensors,
  type VerifyRevealParams,
  type ReasonCode,
  type Reason,
  type StepResult,
  type Verdict,
} from "./verify.ts";
export { jobElements, pipelineReexecutor, verifyJobReveal, type VerifyJobRevealParams } from "./pipeline.ts";

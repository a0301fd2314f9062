/**
 * Errors the validator core throws. A check that FAILS is not an error: it becomes a `Reason` in the verdict. These
 * are thrown for input the validator cannot judge (a malformed reveal, bad bands) or for its own failures (a
 * re-execution that crashed), which must never turn into a fail verdict that would slash an honest node.
 */

/** Base class of every error of `node/src/validator`. */
export class ValidatorError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ValidatorError";
  }
}

/** Tolerance bands that are not `0 ≤ pass ≤ fail < ∞` (finite numbers). */
export class InvalidBandsError extends ValidatorError {
  constructor(reason: string) {
    super(`invalid bands: ${reason}`);
    this.name = "InvalidBandsError";
  }
}

/**
 * The reveal handed to `verifyReveal` is not one the contract accepts (challenged steps out of range or unsorted,
 * openings that are not exactly the opened step leaves, a schedule of another T). `ProofOfInference.reveal` rejects
 * such reveals on-chain, so seeing one means the caller passed the wrong job's data: no verdict.
 */
export class InvalidRevealError extends ValidatorError {
  constructor(reason: string) {
    super(`invalid reveal: ${reason}`);
    this.name = "InvalidRevealError";
  }
}

/** Two tensors compared element by element have different lengths (a caller bug, not a provider's fault). */
export class TensorLengthError extends ValidatorError {
  constructor(a: number, b: number) {
    super(`cannot compare tensors of ${a} and ${b} elements`);
    this.name = "TensorLengthError";
  }
}

/**
 * The validator's own re-execution of a step threw or returned a tensor of the wrong size. The job cannot be judged
 * by this validator now (retry, or let the verdict window lapse); it is never evidence against the provider.
 */
export class ReexecutionError extends ValidatorError {
  readonly index: number;
  constructor(index: number, reason: string, options?: { cause?: unknown }) {
    super(`re-execution of step ${index} failed: ${reason}`, options);
    this.name = "ReexecutionError";
    this.index = index;
  }
}

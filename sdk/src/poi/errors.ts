/** Base class of every error the Proof-of-Inference encoding throws for bad input. */
export class PoiEncodingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PoiEncodingError";
  }
}

/** A field is out of its encoded range (e.g. a u32 above 2^32 − 1) or malformed (e.g. not 32 bytes of hex). */
export class InvalidFieldError extends PoiEncodingError {
  readonly field: string;
  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.name = "InvalidFieldError";
    this.field = field;
  }
}

/** Indices given to `multiproof` are not strictly increasing, or one is outside the tree's leaves. */
export class InvalidIndicesError extends PoiEncodingError {
  constructor(reason: string) {
    super(`invalid multiproof indices: ${reason}`);
    this.name = "InvalidIndicesError";
  }
}

/** A tensor's element count does not match its shape, or a shape is not a list of positive integers. */
export class TensorShapeError extends PoiEncodingError {
  constructor(reason: string) {
    super(reason);
    this.name = "TensorShapeError";
  }
}

/** `k` is outside `1 ≤ k ≤ T` (§7), or `T` is zero. */
export class InvalidChallengeParamsError extends PoiEncodingError {
  constructor(reason: string) {
    super(reason);
    this.name = "InvalidChallengeParamsError";
  }
}

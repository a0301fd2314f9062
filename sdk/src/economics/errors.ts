/**
 * Errors the economics math throws for invalid input. Every one extends `EconomicsInputError`, so a caller can catch
 * the family, and names the offending parameter in `parameter`.
 */
export class EconomicsInputError extends RangeError {
  readonly parameter: string;
  constructor(parameter: string, reason: string) {
    super(`${parameter}: ${reason}`);
    this.name = "EconomicsInputError";
    this.parameter = parameter;
  }
}

/** `T` (steps) or `k` (checks) is not a positive safe integer. */
export class InvalidCountError extends EconomicsInputError {
  constructor(parameter: string, value: unknown) {
    super(parameter, `must be a positive safe integer, got ${String(value)}`);
    this.name = "InvalidCountError";
  }
}

/** More steps are checked than the job has: `k > T`. */
export class ChecksExceedStepsError extends EconomicsInputError {
  constructor(k: number, T: number) {
    super("k", `cannot check more steps than the job has (k = ${k} > T = ${T})`);
    this.name = "ChecksExceedStepsError";
  }
}

/** The number of tampered steps `m` is not an integer in `[0, T]` (or `[1, T]` where zero is meaningless). */
export class TamperCountError extends EconomicsInputError {
  constructor(m: unknown, min: number, T: number) {
    super("m", `must be an integer in [${min}, ${T}], got ${String(m)}`);
    this.name = "TamperCountError";
  }
}

/** An explicit tampered step index is not an integer in `[0, T)`, or appears twice. */
export class InvalidTamperedIndexError extends EconomicsInputError {
  constructor(reason: string) {
    super("tampered", reason);
    this.name = "InvalidTamperedIndexError";
  }
}

/** A probability or fraction is not a finite number (or exact ratio) in its allowed range. */
export class InvalidProbabilityError extends EconomicsInputError {
  constructor(parameter: string, value: unknown, range: string) {
    super(parameter, `must be a probability in ${range}, got ${String(value)}`);
    this.name = "InvalidProbabilityError";
  }
}

/** An amount (wei) is negative, or not a bigint. */
export class InvalidAmountError extends EconomicsInputError {
  constructor(parameter: string, value: unknown) {
    super(parameter, `must be a non-negative bigint amount (wei), got ${String(value)}`);
    this.name = "InvalidAmountError";
  }
}

/** No finite bond deters fraud: the audit probability `q` is zero while cheating gains something. */
export class UnboundedBondError extends EconomicsInputError {
  constructor() {
    super("q", "with audit probability 0 no finite bond makes fraud unprofitable");
    this.name = "UnboundedBondError";
  }
}

/**
 * Errors of the sdk client. Every one extends `InfernetClientError`, so a caller can catch the family; each has its
 * own `name` and the fields a caller needs to act on it.
 */
import type { Hex } from "viem";

export class InfernetClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InfernetClientError";
  }
}

/** A write was asked of a client created without an account (or wallet client). */
export class MissingAccountError extends InfernetClientError {
  constructor(action: string) {
    super(`${action} sends a transaction: create the client with an account (or a wallet client)`);
    this.name = "MissingAccountError";
  }
}

/** The RPC endpoint serves another chain than the deployment's. */
export class ChainMismatchError extends InfernetClientError {
  readonly expected: number;
  readonly actual: number;
  constructor(expected: number, actual: number) {
    super(`the RPC endpoint serves chain ${actual}, but the deployment is on chain ${expected}`);
    this.name = "ChainMismatchError";
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * A contract call reverted (in the simulation before sending, or on-chain). `errorName` and `errorArgs` are the
 * decoded custom error when any of the protocol's ABIs knows it (e.g. `UnknownContainer`, `StakeBelowMinimum`).
 */
export class ContractCallError extends InfernetClientError {
  readonly contract: string;
  readonly functionName: string;
  readonly errorName: string | undefined;
  readonly errorArgs: readonly unknown[] | undefined;
  readonly transactionHash: Hex | undefined;
  constructor(p: {
    contract: string;
    functionName: string;
    reason: string;
    errorName?: string | undefined;
    errorArgs?: readonly unknown[] | undefined;
    transactionHash?: Hex | undefined;
    cause?: unknown;
  }) {
    super(`${p.contract}.${p.functionName} failed: ${p.reason}`, { cause: p.cause });
    this.name = "ContractCallError";
    this.contract = p.contract;
    this.functionName = p.functionName;
    this.errorName = p.errorName;
    this.errorArgs = p.errorArgs;
    this.transactionHash = p.transactionHash;
  }
}

/** An expected event is not in a transaction's receipt. */
export class EventNotFoundError extends InfernetClientError {
  constructor(eventName: string, transactionHash: Hex) {
    super(`no ${eventName} event in transaction ${transactionHash}`);
    this.name = "EventNotFoundError";
  }
}

/** Waiting for something on-chain or from a node took longer than `timeoutMs`. */
export class WaitTimeoutError extends InfernetClientError {
  readonly what: string;
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}`);
    this.name = "WaitTimeoutError";
    this.what = what;
    this.timeoutMs = timeoutMs;
  }
}

/** Waiting was aborted through the caller's AbortSignal. */
export class WaitAbortedError extends InfernetClientError {
  constructor(what: string, cause?: unknown) {
    super(`stopped waiting for ${what}`, { cause });
    this.name = "WaitAbortedError";
  }
}

/** A node's REST API answered with an error status (`{statusCode, error, message, code?}`). */
export class NodeApiError extends InfernetClientError {
  readonly status: number;
  readonly code: string | undefined;
  readonly body: unknown;
  constructor(p: {
    method: string;
    path: string;
    status: number;
    message: string;
    code?: string;
    body?: unknown;
  }) {
    super(`${p.method} ${p.path}: ${p.status} ${p.message}`);
    this.name = "NodeApiError";
    this.status = p.status;
    this.code = p.code;
    this.body = p.body;
  }
}

/** The node could not be reached (connection refused, reset, DNS…). */
export class NodeUnreachableError extends InfernetClientError {
  readonly url: string;
  constructor(url: string, cause: unknown) {
    super(`node API at ${url} is unreachable: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = "NodeUnreachableError";
    this.url = url;
  }
}

/** An event stream ended before the job's `result` event. */
export class JobStreamEndedError extends InfernetClientError {
  readonly jobId: string;
  constructor(jobId: string) {
    super(`the event stream of job ${jobId} ended before its result`);
    this.name = "JobStreamEndedError";
    this.jobId = jobId;
  }
}

/** An off-chain job finished with status `failed`. */
export class OffchainJobFailedError extends InfernetClientError {
  readonly jobId: string;
  readonly container: string | null;
  constructor(jobId: string, container: string | null, message: string) {
    super(`off-chain job ${jobId} failed${container ? ` in ${container}` : ""}: ${message}`);
    this.name = "OffchainJobFailedError";
    this.jobId = jobId;
    this.container = container;
  }
}

/** A Proof-of-Inference job has no commitment (no `Committed` event) or no reveal where one was required. */
export class PoiJobNotFoundError extends InfernetClientError {
  readonly key: Hex;
  constructor(key: Hex, what: string) {
    super(`Proof-of-Inference job ${key}: ${what}`);
    this.name = "PoiJobNotFoundError";
    this.key = key;
  }
}

/** `assertVerified`: a delivered result failed client-side verification; `problems` lists every failed check. */
export class ResultVerificationError extends InfernetClientError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`result verification failed: ${problems.join("; ")}`);
    this.name = "ResultVerificationError";
    this.problems = problems;
  }
}

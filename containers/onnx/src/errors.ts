// The service's errors. Each maps to one HTTP status so the node can tell "your request is wrong" (4xx, not
// retried) from "try again later" (5xx, retried by the node's queue).

/** The request cannot be served as it is (bad JSON, unknown input, wrong dtype/rank/dims…): HTTP 400. */
export class BadRequestError extends Error {
  override readonly name = "BadRequestError";
  readonly status = 400;
}

/** Too many requests are already waiting for the model: HTTP 503 (the node retries later). */
export class QueueFullError extends Error {
  override readonly name = "QueueFullError";
  readonly status = 503;
  constructor(maxQueue: number) {
    super(`busy: ${maxQueue} requests are already waiting for the model; try again later`);
  }
}

/** onnxruntime failed while running a request that passed validation: HTTP 500. */
export class InferenceError extends Error {
  override readonly name = "InferenceError";
  readonly status = 500;
}

/** The configuration (ONNX_CONFIG / ONNX_MODEL) is unusable; raised at startup, the process exits 1. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** The model could not be loaded, or does not match the configured input/output spec; the process exits 1. */
export class ModelLoadError extends Error {
  override readonly name = "ModelLoadError";
}

/** HTTP status for an error thrown while serving a request. */
export function statusOf(e: unknown): number {
  if (e instanceof BadRequestError || e instanceof QueueFullError || e instanceof InferenceError) {
    return e.status;
  }
  return 500;
}

// The service's configuration: which model, what its inputs must look like, which outputs to return, and the
// onnxruntime session options, pinned so that the same input gives the same output bytes on every run.
//
//   ONNX_CONFIG  path of a JSON file (below); a relative `model` in it is resolved against the file's folder
//   ONNX_MODEL   path of the .onnx file; overrides the file's `model`, and is enough on its own (everything else
//                then comes from the model's metadata and the defaults)
//
//   {
//     "model": "det.onnx",
//     "inputs": [{ "name": "x", "dtype": "float32", "shape": [1, 3, "height", "width"] }],
//     "outputs": ["sigmoid_0.tmp_0"],
//     "session": { "graphOptimizationLevel": "all", "intraOpNumThreads": 1, "interOpNumThreads": 1,
//                  "executionMode": "sequential", "executionProvider": "cpu", "deviceId": 0 },
//     "maxQueue": 16,
//     "maxBodyBytes": 67108864
//   }
//
// A shape entry is a size (a fixed dimension), a name (any size, but the same size wherever that name appears in
// one request) or null / -1 (any size). Unknown keys are errors, so a misspelt option cannot pass silently.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { InferenceSession } from "onnxruntime-node";
import { DTYPES, isDType, type DType } from "./dtypes.ts";
import { ConfigError } from "./errors.ts";

/** A fixed size, a named dynamic dimension, or null for any size. */
export type Dim = number | string | null;

export interface TensorSpec {
  name: string;
  dtype: DType;
  shape: Dim[];
}

export const GRAPH_OPTIMIZATION_LEVELS = ["disabled", "basic", "extended", "layout", "all"] as const;
export const EXECUTION_PROVIDERS = ["cpu", "cuda"] as const;

export interface SessionConfig {
  graphOptimizationLevel: (typeof GRAPH_OPTIMIZATION_LEVELS)[number];
  /** Threads inside one operator. Pinned (default 1): onnxruntime's own default is the host's core count. */
  intraOpNumThreads: number;
  /** Threads across independent operators (executionMode "parallel" only), default 1. */
  interOpNumThreads: number;
  executionMode: "sequential" | "parallel";
  /** "cpu" (default) or "cuda" (needs onnxruntime's CUDA provider libraries and CUDA 12 + cuDNN 9). */
  executionProvider: (typeof EXECUTION_PROVIDERS)[number];
  /** GPU index for "cuda". */
  deviceId: number;
}

export interface ServiceConfig {
  /** Absolute path of the .onnx file. */
  model: string;
  /** The accepted inputs; undefined: every model input, as the model's metadata declares it. */
  inputs: TensorSpec[] | undefined;
  /** The outputs returned, in this order; undefined: every model output, in the model's order. */
  outputs: string[] | undefined;
  session: SessionConfig;
  /** Requests allowed to wait while one runs; more get 503. */
  maxQueue: number;
  /** Largest request body accepted, in bytes (413 above). */
  maxBodyBytes: number;
}

export const DEFAULT_SESSION: Readonly<SessionConfig> = {
  graphOptimizationLevel: "all",
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: "sequential",
  executionProvider: "cpu",
  deviceId: 0,
};
export const DEFAULT_MAX_QUEUE = 16;
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fail(where: string, message: string): never {
  throw new ConfigError(`config ${where}: ${message}`);
}

function onlyKeys(o: Obj, where: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) fail(where, `unknown key "${k}" (expected one of ${keys.join(", ")})`);
  }
}

function int(v: unknown, where: string, min: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) fail(where, `must be an integer >= ${min}`);
  return v;
}

function oneOf<T extends string>(v: unknown, where: string, allowed: readonly T[]): T {
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    fail(where, `must be one of ${allowed.join(", ")}`);
  }
  return v as T;
}

function parseDim(v: unknown, where: string): Dim {
  if (v === null || v === -1) return null;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === "string" && v.length > 0) return v;
  return fail(where, "must be a size >= 0, a dimension name, or null / -1 for any size");
}

function parseTensorSpec(v: unknown, where: string): TensorSpec {
  if (!isObj(v)) fail(where, "must be an object {name, dtype, shape}");
  onlyKeys(v, where, ["name", "dtype", "shape"]);
  if (typeof v.name !== "string" || v.name === "") fail(`${where}.name`, "must be a non-empty string");
  if (!isDType(v.dtype)) fail(`${where}.dtype`, `must be one of ${DTYPES.join(", ")}`);
  if (!Array.isArray(v.shape)) fail(`${where}.shape`, "must be an array of dimensions");
  return { name: v.name, dtype: v.dtype, shape: v.shape.map((d, i) => parseDim(d, `${where}.shape[${i}]`)) };
}

function parseSession(v: unknown): SessionConfig {
  if (v === undefined) return { ...DEFAULT_SESSION };
  if (!isObj(v)) fail("session", "must be an object");
  onlyKeys(v, "session", Object.keys(DEFAULT_SESSION));
  const d = DEFAULT_SESSION;
  return {
    graphOptimizationLevel: oneOf(
      v.graphOptimizationLevel ?? d.graphOptimizationLevel,
      "session.graphOptimizationLevel",
      GRAPH_OPTIMIZATION_LEVELS,
    ),
    intraOpNumThreads: int(v.intraOpNumThreads ?? d.intraOpNumThreads, "session.intraOpNumThreads", 1),
    interOpNumThreads: int(v.interOpNumThreads ?? d.interOpNumThreads, "session.interOpNumThreads", 1),
    executionMode: oneOf(v.executionMode ?? d.executionMode, "session.executionMode", [
      "sequential",
      "parallel",
    ] as const),
    executionProvider: oneOf(
      v.executionProvider ?? d.executionProvider,
      "session.executionProvider",
      EXECUTION_PROVIDERS,
    ),
    deviceId: int(v.deviceId ?? d.deviceId, "session.deviceId", 0),
  };
}

/** Validates a parsed config object; `baseDir` resolves a relative model path. */
export function parseConfig(raw: unknown, baseDir: string, modelOverride?: string): ServiceConfig {
  if (!isObj(raw)) fail("(root)", "must be a JSON object");
  onlyKeys(raw, "(root)", ["model", "inputs", "outputs", "session", "maxQueue", "maxBodyBytes"]);
  const model = modelOverride ?? raw.model;
  if (typeof model !== "string" || model === "") {
    fail("model", "must be the path of the .onnx file (or set ONNX_MODEL)");
  }
  let inputs: TensorSpec[] | undefined;
  if (raw.inputs !== undefined) {
    if (!Array.isArray(raw.inputs) || raw.inputs.length === 0) fail("inputs", "must be a non-empty array");
    inputs = raw.inputs.map((s, i) => parseTensorSpec(s, `inputs[${i}]`));
    const names = inputs.map((s) => s.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) fail("inputs", `input "${dup}" is listed twice`);
  }
  let outputs: string[] | undefined;
  if (raw.outputs !== undefined) {
    if (
      !Array.isArray(raw.outputs) ||
      raw.outputs.length === 0 ||
      !raw.outputs.every((o) => typeof o === "string" && o !== "")
    ) {
      fail("outputs", "must be a non-empty array of output names");
    }
    outputs = raw.outputs as string[];
    if (new Set(outputs).size !== outputs.length) fail("outputs", "lists an output twice");
  }
  return {
    model: path.resolve(baseDir, model),
    inputs,
    outputs,
    session: parseSession(raw.session),
    maxQueue: int(raw.maxQueue ?? DEFAULT_MAX_QUEUE, "maxQueue", 0),
    maxBodyBytes: int(raw.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, "maxBodyBytes", 1024),
  };
}

/** Reads ONNX_CONFIG and/or ONNX_MODEL from `env`. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): ServiceConfig {
  const file = env.ONNX_CONFIG;
  const model = env.ONNX_MODEL || undefined;
  if (!file) {
    if (!model) throw new ConfigError("set ONNX_CONFIG (a JSON config file) or ONNX_MODEL (a .onnx file)");
    return parseConfig({}, cwd, model);
  }
  const filePath = path.resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(filePath, "utf8");
  } catch (e) {
    throw new ConfigError(`cannot read ONNX_CONFIG ${filePath}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`ONNX_CONFIG ${filePath} is not JSON: ${(e as Error).message}`);
  }
  // ONNX_MODEL, when set, is relative to the working directory like any path in the environment.
  return parseConfig(raw, path.dirname(filePath), model && path.resolve(cwd, model));
}

/** The onnxruntime session options for a session config (what the service runs with; nothing left to defaults). */
export function sessionOptions(s: SessionConfig): InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: s.graphOptimizationLevel,
    intraOpNumThreads: s.intraOpNumThreads,
    interOpNumThreads: s.interOpNumThreads,
    executionMode: s.executionMode,
    executionProviders: [s.executionProvider === "cuda" ? { name: "cuda", deviceId: s.deviceId } : "cpu"],
    // Errors only: warnings about unused initializers etc. are noise in a service log.
    logSeverityLevel: 3,
  };
}

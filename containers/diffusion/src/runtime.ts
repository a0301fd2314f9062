import * as ort from "onnxruntime-node";
import { RuntimeProfileError } from "./errors.ts";

export type GraphOptimizationLevel = "disabled" | "basic" | "extended" | "all";
/** How classifier-free guidance feeds the UNet: one batch of 2 (uncond, cond) or two batch-1 runs. */
export type CfgMode = "batched" | "separate";

/**
 * Everything about the runtime that can change the bits of a noise prediction. A provider and the validators that
 * re-run its steps use the same profile; a different one gives (slightly) different floats.
 */
export interface RuntimeProfile {
  /** onnxruntime version, e.g. "1.30.0"; must equal the installed one. */
  ortVersion: string;
  /** onnxruntime execution provider name: "cpu", "cuda", … */
  executionProvider: string;
  /** Graph rewrites change float results ("all" fuses and reorders), so the level is pinned. */
  graphOptimizationLevel: GraphOptimizationLevel;
  /** Intra-op threads (≥ 1). */
  intraOpNumThreads: number;
  cfgMode: CfgMode;
}

const LEVELS: readonly GraphOptimizationLevel[] = ["disabled", "basic", "extended", "all"];

/** The version of the onnxruntime-node binding in use. */
export function installedOrtVersion(): string {
  return ort.env.versions.node ?? ort.env.versions.common;
}

/** CPU, all graph optimisations, one intra-op thread, batched guidance, the installed onnxruntime. */
export function defaultRuntimeProfile(overrides: Partial<RuntimeProfile> = {}): RuntimeProfile {
  return {
    ortVersion: installedOrtVersion(),
    executionProvider: "cpu",
    graphOptimizationLevel: "all",
    intraOpNumThreads: 1,
    cfgMode: "batched",
    ...overrides,
  };
}

/** Throws `RuntimeProfileError` unless this process can run `profile` exactly. */
export function checkRuntimeProfile(profile: RuntimeProfile): void {
  const installed = installedOrtVersion();
  if (profile.ortVersion !== installed) {
    throw new RuntimeProfileError(`asks for onnxruntime ${profile.ortVersion}, ${installed} is installed`);
  }
  if (!LEVELS.includes(profile.graphOptimizationLevel)) {
    throw new RuntimeProfileError(`unknown graphOptimizationLevel ${String(profile.graphOptimizationLevel)}`);
  }
  if (!Number.isSafeInteger(profile.intraOpNumThreads) || profile.intraOpNumThreads < 1) {
    throw new RuntimeProfileError(
      `intraOpNumThreads must be a positive integer, got ${profile.intraOpNumThreads}`,
    );
  }
  if (profile.cfgMode !== "batched" && profile.cfgMode !== "separate") {
    throw new RuntimeProfileError(`cfgMode must be "batched" or "separate", got ${String(profile.cfgMode)}`);
  }
  if (typeof profile.executionProvider !== "string" || profile.executionProvider === "") {
    throw new RuntimeProfileError("executionProvider must be a provider name");
  }
}

/** Two profiles give the same bits iff every field is equal. */
export function sameRuntimeProfile(a: RuntimeProfile, b: RuntimeProfile): boolean {
  return (
    a.ortVersion === b.ortVersion &&
    a.executionProvider === b.executionProvider &&
    a.graphOptimizationLevel === b.graphOptimizationLevel &&
    a.intraOpNumThreads === b.intraOpNumThreads &&
    a.cfgMode === b.cfgMode
  );
}

/** A canonical one-line form, e.g. `ort=1.30.0;ep=cpu;opt=all;threads=1;cfg=batched` (for logs and manifests). */
export function profileKey(p: RuntimeProfile): string {
  return `ort=${p.ortVersion};ep=${p.executionProvider};opt=${p.graphOptimizationLevel};threads=${p.intraOpNumThreads};cfg=${p.cfgMode}`;
}

/** Session options that pin the profile: sequential execution, one inter-op thread, no profiling. */
export function sessionOptions(profile: RuntimeProfile): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [profile.executionProvider],
    graphOptimizationLevel: profile.graphOptimizationLevel,
    intraOpNumThreads: profile.intraOpNumThreads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    logSeverityLevel: 3,
  };
}

/** Opens a model file (external weight files beside it are found by onnxruntime) under `profile`. */
export async function openSession(path: string, profile: RuntimeProfile): Promise<ort.InferenceSession> {
  checkRuntimeProfile(profile);
  return ort.InferenceSession.create(path, sessionOptions(profile));
}

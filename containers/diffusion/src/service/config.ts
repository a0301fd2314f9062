// The diffusion service's configuration, from the environment only (every variable optional):
//
//   DIFFUSION_MODEL_DIR        model directory (diffusers ONNX layout); unset: the procedural model, built on demand
//                              into containers/diffusion/models/procedural/ (the Docker image bakes it in and sets
//                              this variable, so nothing is built at run time)
//   DIFFUSION_PROFILE          runtime profile overrides as JSON, e.g. {"graphOptimizationLevel":"all",
//                              "intraOpNumThreads":1,"cfgMode":"batched","executionProvider":"cpu"}; the
//                              onnxruntime version is always the installed one
//   DIFFUSION_OUTPUT_DIR       where the content-addressed GIFs go (default $TMPDIR/infernet-diffusion/outputs)
//   DIFFUSION_OUTPUT_URI_BASE  prefix of the storage URI delivered on-chain (default file://<output dir>/); set it to
//                              where the files are published (https://…/, ipfs gateway, a host path of a mount)
//   DIFFUSION_POI_DIR          optional directory that keeps PoI trajectories on disk (survives restarts)
//   DIFFUSION_POI_MEMORY_MB    trajectories held in memory (default 256)
//   DIFFUSION_POI_DISK_MB      trajectories held in DIFFUSION_POI_DIR (default 4096)
//   DIFFUSION_POI_TTL_S        a kept job may be evicted this long after its commit (default 86400)
//   DIFFUSION_MAX_STEPS        largest T accepted (default 64, the protocol's default maxSteps)
//   DIFFUSION_MAX_QUEUE        jobs that may wait while one runs (default 8; more get 503)
//   DIFFUSION_FPS              GIF frame rate (default 8)
//   INFERNET_SOCKET / HOST / PORT   where to listen (docs/containers.md)
//   DIFFUSION_CHEAT            DEMO/TEST ONLY, unset by default: "skip-steps" generates dishonestly (cheat.ts) so that
//                              Proof-of-Inference can be shown to catch it; never set it on a node serving real jobs
//
// Malformed values stop the service at start with the variable's name (exit 1).
import os from "node:os";
import path from "node:path";
import { ConfigError } from "../../../onnx/src/errors.ts";
import { defaultRuntimeProfile, type RuntimeProfile } from "../runtime.ts";
import { parseCheat, type CheatMode } from "./cheat.ts";

export interface ServiceConfig {
  /** Absolute model directory, or undefined for the procedural model (built on demand). */
  modelDir: string | undefined;
  profile: RuntimeProfile;
  outputDir: string;
  /** Ends with "/"; the URI of an output is `<base><sha256 of the GIF>.gif`. */
  outputUriBase: string;
  poiDir: string | undefined;
  poiMemoryBytes: number;
  poiDiskBytes: number;
  poiTtlMs: number;
  maxSteps: number;
  maxQueue: number;
  fps: number;
  /** Largest request body (bytes). */
  maxBodyBytes: number;
  /** DEMO/TEST ONLY (`DIFFUSION_CHEAT`): generate dishonestly; absent on an honest service. */
  cheat?: CheatMode;
}

const PROFILE_KEYS = ["executionProvider", "graphOptimizationLevel", "intraOpNumThreads", "cfgMode"] as const;

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new ConfigError(`${name}=${raw}: must be an integer in [${min}, ${max}]`);
  }
  return v;
}

function parseProfile(raw: string | undefined): RuntimeProfile {
  if (raw === undefined || raw.trim() === "") return defaultRuntimeProfile();
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new ConfigError(`DIFFUSION_PROFILE is not JSON: ${raw}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ConfigError("DIFFUSION_PROFILE must be a JSON object");
  }
  for (const k of Object.keys(v)) {
    if (!(PROFILE_KEYS as readonly string[]).includes(k)) {
      throw new ConfigError(`DIFFUSION_PROFILE: unknown key "${k}" (expected ${PROFILE_KEYS.join(", ")})`);
    }
  }
  // The values are checked by checkRuntimeProfile when the pipeline opens its sessions.
  return defaultRuntimeProfile(v as Partial<RuntimeProfile>);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): ServiceConfig {
  const modelDir = env.DIFFUSION_MODEL_DIR ? path.resolve(cwd, env.DIFFUSION_MODEL_DIR) : undefined;
  const outputDir = path.resolve(
    cwd,
    env.DIFFUSION_OUTPUT_DIR || path.join(os.tmpdir(), "infernet-diffusion", "outputs"),
  );
  let outputUriBase = env.DIFFUSION_OUTPUT_URI_BASE || `file://${outputDir}`;
  if (!outputUriBase.endsWith("/")) outputUriBase += "/";
  const mb = 1024 * 1024;
  const cheat = parseCheat(env.DIFFUSION_CHEAT);
  return {
    modelDir,
    profile: parseProfile(env.DIFFUSION_PROFILE),
    outputDir,
    outputUriBase,
    poiDir: env.DIFFUSION_POI_DIR ? path.resolve(cwd, env.DIFFUSION_POI_DIR) : undefined,
    poiMemoryBytes: int(env, "DIFFUSION_POI_MEMORY_MB", 256, 1, 1 << 20) * mb,
    poiDiskBytes: int(env, "DIFFUSION_POI_DISK_MB", 4096, 1, 1 << 24) * mb,
    poiTtlMs: int(env, "DIFFUSION_POI_TTL_S", 86_400, 1, 365 * 86_400) * 1000,
    maxSteps: int(env, "DIFFUSION_MAX_STEPS", 64, 1, 1000),
    maxQueue: int(env, "DIFFUSION_MAX_QUEUE", 8, 0, 10_000),
    fps: int(env, "DIFFUSION_FPS", 8, 1, 100),
    maxBodyBytes: 1024 * 1024,
    ...(cheat ? { cheat } : {}),
  };
}

import { encodeAbiParameters, keccak256, type Address, type Hex } from "viem";
import { address, bytes32, u32 } from "./check.ts";
import { InvalidFieldError } from "./errors.ts";
import { OUTPUT_TAG, PARAMS_TAG, STEP_TAG } from "./tags.ts";
import { DTYPE_CODE, type Dtype } from "./tensor.ts";

/** Fields every leaf binds: the job, the committing node and the step count. */
export interface LeafBase {
  jobId: Hex;
  /** The committing node's address: another node cannot reuse this leaf. */
  node: Address;
  /** Number of denoising steps `T` (≥ 1). */
  T: number;
}

export interface StepLeafParams extends LeafBase {
  /** Step index `i`, `0 ≤ i < T`. */
  index: number;
  /** Scheduler timestep `t_i`. */
  timestep: number;
  /** `sha256` of the canonical bytes of `z_i`, the latent entering step `i`. */
  latentDigest: Hex;
  /** `sha256` of the canonical bytes of `ε_i`, the guided noise prediction. */
  noiseDigest: Hex;
}

export interface OutputLeafParams extends LeafBase {
  /** `sha256` of the canonical bytes of the final latent `z_T`. */
  finalLatentDigest: Hex;
  /** `keccak` of the output bytes delivered on-chain. */
  outputHash: Hex;
}

export interface ParamsLeafParams extends LeafBase {
  /** `paramsHash(…)` of the job. */
  paramsHash: Hex;
}

export interface ParamsHashParams {
  modelHash: Hex;
  schedulerHash: Hex;
  /** Guidance scale × 1000. */
  guidanceMilli: number;
  width: number;
  height: number;
  frames: number;
  /** The initial-noise seed of §6 (`jobSeed`). */
  seed: Hex;
  /** The Coordinator's pinned inputs hash of the interval. */
  inputsHash: Hex;
  dtype: Dtype;
}

function steps(T: number): number {
  u32("T", T);
  if (T < 1) throw new InvalidFieldError("T", "must be at least 1");
  return T;
}

/** Leaf `i` (§4): `keccak(enc(STEP_TAG, jobId, node, u32(i), u32(T), u32(t_i), sha256(z_i), sha256(ε_i)))`. */
export function stepLeaf(p: StepLeafParams): Hex {
  const T = steps(p.T);
  u32("index", p.index);
  if (p.index >= T) throw new InvalidFieldError("index", `must be below T = ${T}, got ${p.index}`);
  return keccak256(
    encodeAbiParameters(
      [
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "address" },
        { type: "uint32" },
        { type: "uint32" },
        { type: "uint32" },
        { type: "bytes32" },
        { type: "bytes32" },
      ],
      [
        STEP_TAG,
        bytes32("jobId", p.jobId),
        address("node", p.node),
        p.index,
        T,
        u32("timestep", p.timestep),
        bytes32("latentDigest", p.latentDigest),
        bytes32("noiseDigest", p.noiseDigest),
      ],
    ),
  );
}

/** Leaf `T` (§4): `keccak(enc(OUTPUT_TAG, jobId, node, u32(T), sha256(z_T), outputHash))`. */
export function outputLeaf(p: OutputLeafParams): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "address" },
        { type: "uint32" },
        { type: "bytes32" },
        { type: "bytes32" },
      ],
      [
        OUTPUT_TAG,
        bytes32("jobId", p.jobId),
        address("node", p.node),
        steps(p.T),
        bytes32("finalLatentDigest", p.finalLatentDigest),
        bytes32("outputHash", p.outputHash),
      ],
    ),
  );
}

/** Leaf `T + 1` (§4): `keccak(enc(PARAMS_TAG, jobId, node, u32(T), paramsHash))`. */
export function paramsLeaf(p: ParamsLeafParams): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "address" },
        { type: "uint32" },
        { type: "bytes32" },
      ],
      [
        PARAMS_TAG,
        bytes32("jobId", p.jobId),
        address("node", p.node),
        steps(p.T),
        bytes32("paramsHash", p.paramsHash),
      ],
    ),
  );
}

/**
 * `keccak(enc(modelHash, schedulerHash, u32(guidanceMilli), u32(width), u32(height), u32(frames), seed, inputsHash,
 * u8(dtype)))` with dtype 0 = float32, 1 = float16 (§4).
 */
export function paramsHash(p: ParamsHashParams): Hex {
  const code = DTYPE_CODE[p.dtype];
  if (code === undefined)
    throw new InvalidFieldError("dtype", `must be "float32" or "float16", got ${String(p.dtype)}`);
  return keccak256(
    encodeAbiParameters(
      [
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "uint32" },
        { type: "uint32" },
        { type: "uint32" },
        { type: "uint32" },
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "uint8" },
      ],
      [
        bytes32("modelHash", p.modelHash),
        bytes32("schedulerHash", p.schedulerHash),
        u32("guidanceMilli", p.guidanceMilli),
        u32("width", p.width),
        u32("height", p.height),
        u32("frames", p.frames),
        bytes32("seed", p.seed),
        bytes32("inputsHash", p.inputsHash),
        code,
      ],
    ),
  );
}

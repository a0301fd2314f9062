import * as ort from "onnxruntime-node";
import { LatentShapeError, ModelSignatureError } from "./errors.ts";
import { sizeOf } from "./float32.ts";
import { applyGuidance, usesGuidance } from "./guidance.ts";
import type { CfgMode } from "./runtime.ts";
import { expectTensor, inputSpec, outputSpec } from "./signature.ts";
import { concatBatch, type FloatTensor } from "./tensor.ts";

const MODEL = "unet";

/**
 * A UNet with the diffusers export signature: `sample` [B, C, H, W] or [B, C, F, H, W] float32, `timestep` (scalar
 * or [B]; float32, int64 or int32), `encoder_hidden_states` [B, L, D] float32 → `out_sample` shaped like `sample`.
 */
export interface UnetModel {
  readonly session: ort.InferenceSession;
  /** 4: image latents; 5: video latents. */
  readonly sampleRank: 4 | 5;
  readonly timestepType: "float32" | "int64" | "int32";
  /** 0: one scalar timestep for the whole batch; 1: one per batch element. */
  readonly timestepRank: 0 | 1;
}

export function describeUnet(session: ort.InferenceSession): UnetModel {
  const sample = inputSpec(session, "sample", MODEL);
  expectTensor(MODEL, sample, ["float32"], [4, 5]);
  const timestep = inputSpec(session, "timestep", MODEL);
  expectTensor(MODEL, timestep, ["float32", "int64", "int32"], [0, 1]);
  expectTensor(MODEL, inputSpec(session, "encoder_hidden_states", MODEL), ["float32"], [3]);
  expectTensor(MODEL, outputSpec(session, "out_sample", MODEL), ["float32"], [sample.shape.length]);
  return {
    session,
    sampleRank: sample.shape.length as 4 | 5,
    timestepType: timestep.type as UnetModel["timestepType"],
    timestepRank: timestep.shape.length as 0 | 1,
  };
}

function timestepTensor(unet: UnetModel, t: number, batch: number): ort.Tensor {
  const dims = unet.timestepRank === 0 ? [] : [batch];
  const n = unet.timestepRank === 0 ? 1 : batch;
  if (unet.timestepType === "float32") return new ort.Tensor("float32", new Float32Array(n).fill(t), dims);
  if (unet.timestepType === "int32") return new ort.Tensor("int32", new Int32Array(n).fill(t), dims);
  return new ort.Tensor("int64", new BigInt64Array(n).fill(BigInt(t)), dims);
}

/** One UNet call: `out_sample` for a batch of latents at timestep `t` with matching text embeddings. */
export async function runUnet(
  unet: UnetModel,
  sample: FloatTensor,
  t: number,
  text: FloatTensor,
): Promise<Float32Array> {
  if (sample.dims.length !== unet.sampleRank) {
    throw new LatentShapeError(
      `unet takes rank-${unet.sampleRank} samples, got ${JSON.stringify(sample.dims)}`,
    );
  }
  const batch = sample.dims[0]!;
  const out = await unet.session.run(
    {
      sample: new ort.Tensor("float32", sample.data, sample.dims),
      timestep: timestepTensor(unet, t, batch),
      encoder_hidden_states: new ort.Tensor("float32", text.data, text.dims),
    },
    ["out_sample"],
  );
  const eps = out.out_sample;
  if (eps === undefined || eps.type !== "float32" || eps.data.length !== sample.data.length) {
    throw new ModelSignatureError(
      MODEL,
      `out_sample is not a float32 tensor of shape ${JSON.stringify(sample.dims)}`,
    );
  }
  return eps.data as Float32Array;
}

/** Text conditioning of a job: `[1, L, D]` each; `uncond` only when guidance is on. */
export interface PromptEmbeddings {
  cond: FloatTensor;
  uncond: FloatTensor | undefined;
}

export interface PredictNoiseParams {
  unet: UnetModel;
  /** `z_t`, shape `dims` with batch 1. */
  latent: Float32Array;
  dims: readonly number[];
  timestep: number;
  embeddings: PromptEmbeddings;
  guidanceMilli: number;
  cfgMode: CfgMode;
}

/**
 * The guided noise prediction `ε` at `z_t`: with guidance, `applyGuidance(ε_u, ε_c)` from one batch of two
 * (`[uncond, cond]`, "batched") or two batch-1 calls ("separate"); without, `ε_c` as it comes.
 */
export async function predictNoise(p: PredictNoiseParams): Promise<Float32Array> {
  if (p.dims[0] !== 1 || sizeOf(p.dims) !== p.latent.length) {
    throw new LatentShapeError(
      `latent must have batch 1 and ${sizeOf(p.dims)} elements, got ${p.latent.length}`,
    );
  }
  const sample = { data: p.latent, dims: p.dims };
  const { cond, uncond } = p.embeddings;
  if (!usesGuidance(p.guidanceMilli)) return runUnet(p.unet, sample, p.timestep, cond);
  if (uncond === undefined) throw new LatentShapeError("guidance needs unconditional embeddings");
  if (p.cfgMode === "separate") {
    const u = await runUnet(p.unet, sample, p.timestep, uncond);
    const c = await runUnet(p.unet, sample, p.timestep, cond);
    return applyGuidance(u, c, p.guidanceMilli);
  }
  const both = await runUnet(p.unet, concatBatch([sample, sample]), p.timestep, concatBatch([uncond, cond]));
  const n = p.latent.length;
  return applyGuidance(both.subarray(0, n), both.subarray(n, 2 * n), p.guidanceMilli);
}

import * as ort from "onnxruntime-node";
import { LatentShapeError, ModelSignatureError } from "./errors.ts";
import { f32, sizeOf } from "./float32.ts";
import { framesFromPlanes, type Frame } from "./output/frame.ts";
import { expectTensor, inputSpec, outputSpec } from "./signature.ts";

const MODEL = "vae_decoder";

/** A VAE decoder: `latent_sample` [B, C, h, w] (or [B, C, F, h, w]) → `sample` [B, 3, H, W] (or [B, 3, F, H, W]). */
export interface VaeDecoderModel {
  readonly session: ort.InferenceSession;
  readonly inputRank: 4 | 5;
  /** Latents are divided by this before decoding (SD: 0.18215). */
  readonly scalingFactor: number;
}

export function describeVaeDecoder(session: ort.InferenceSession, scalingFactor: number): VaeDecoderModel {
  const input = inputSpec(session, "latent_sample", MODEL);
  expectTensor(MODEL, input, ["float32"], [4, 5]);
  expectTensor(MODEL, outputSpec(session, "sample", MODEL), ["float32"], [input.shape.length]);
  if (!(scalingFactor > 0))
    throw new ModelSignatureError(MODEL, `scaling factor must be positive, got ${scalingFactor}`);
  return { session, inputRank: input.shape.length as 4 | 5, scalingFactor };
}

async function decodeBatch(
  vae: VaeDecoderModel,
  data: Float32Array,
  dims: readonly number[],
): Promise<ort.Tensor> {
  const out = await vae.session.run({ latent_sample: new ort.Tensor("float32", data, dims) }, ["sample"]);
  const sample = out.sample;
  if (
    sample === undefined ||
    sample.type !== "float32" ||
    sample.dims.length !== dims.length ||
    sample.dims[1] !== 3
  ) {
    throw new ModelSignatureError(MODEL, "sample is not a float32 RGB tensor");
  }
  return sample;
}

/**
 * Decodes a batch-1 latent to RGB frames: each element `f32(z / scalingFactor)`, then the decoder. A video latent
 * `[1, C, F, h, w]` is decoded frame by frame (`[1, C, h, w]` each) by an image decoder, whole by a video decoder.
 */
export async function decodeLatent(
  vae: VaeDecoderModel,
  latent: Float32Array,
  dims: readonly number[],
): Promise<Frame[]> {
  if (dims[0] !== 1 || sizeOf(dims) !== latent.length || (dims.length !== 4 && dims.length !== 5)) {
    throw new LatentShapeError(
      `cannot decode a latent of shape ${JSON.stringify(dims)} (${latent.length} values)`,
    );
  }
  const sf = f32(vae.scalingFactor);
  const scaled = new Float32Array(latent.length);
  for (let i = 0; i < latent.length; i++) scaled[i] = f32(latent[i]! / sf);
  if (dims.length === 4) {
    if (vae.inputRank !== 4) throw new LatentShapeError("video decoder given an image latent");
    const s = await decodeBatch(vae, scaled, dims);
    return framesFromPlanes(s.data as Float32Array, 1, s.dims[2]!, s.dims[3]!);
  }
  const [, c, frames, h, w] = dims as [number, number, number, number, number];
  if (vae.inputRank === 5) {
    const s = await decodeBatch(vae, scaled, dims);
    const [, , F, H, W] = s.dims as [number, number, number, number, number];
    // [1, 3, F, H, W] → per-frame planes [3, H, W].
    const planes = new Float32Array(s.data.length);
    const src = s.data as Float32Array;
    for (let f = 0; f < F; f++) {
      for (let ch = 0; ch < 3; ch++) {
        planes.set(src.subarray((ch * F + f) * H * W, (ch * F + f + 1) * H * W), (f * 3 + ch) * H * W);
      }
    }
    return framesFromPlanes(planes, F, H, W);
  }
  const out: Frame[] = [];
  const frame = new Float32Array(c * h * w);
  for (let f = 0; f < frames; f++) {
    // [1, C, F, h, w] → frame f as [1, C, h, w].
    for (let ch = 0; ch < c; ch++) {
      frame.set(scaled.subarray((ch * frames + f) * h * w, (ch * frames + f + 1) * h * w), ch * h * w);
    }
    const s = await decodeBatch(vae, frame, [1, c, h, w]);
    out.push(...framesFromPlanes(s.data as Float32Array, 1, s.dims[2]!, s.dims[3]!));
  }
  return out;
}

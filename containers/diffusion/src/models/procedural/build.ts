import { fileURLToPath } from "node:url";
import { f32, sqrt32 } from "../../float32.ts";
import { LAYOUT } from "../../layout.ts";
import { alphasCumprod, schedulerConfigJson, SD_SCHEDULER_CONFIG } from "../../scheduler.ts";
import { CONTEXT_LENGTH, EOS_TOKEN, WORD_END } from "../../tokenizer.ts";
import { attr, encodeModel, floatInit, int64Init } from "../../onnx/graph.ts";
import { jsonFile, textFile, writeModelFiles, type ModelFiles } from "../files.ts";
import { buildWordVocabulary } from "../vocab.ts";
import {
  bankClips,
  CLIP_SIZE,
  COLOUR_NAMES,
  LATENT,
  MOTIONS,
  PIXEL_FACTOR,
  renderClip,
  SHAPES,
} from "./bank.ts";

/** Attribute words, in embedding-dimension order: D = 4 shapes + 6 colours + 6 motions = 16. */
export const ATTRIBUTES: readonly string[] = [...SHAPES, ...COLOUR_NAMES, ...MOTIONS];
export const EMBED_DIM = ATTRIBUTES.length;
/** Words the vocabulary knows but that carry no attribute (zero embedding). */
export const FILLER_WORDS: readonly string[] = [
  "a",
  "an",
  "the",
  "is",
  "moving",
  "moves",
  "going",
  "towards",
  "to",
];
/** Logit bonus per prompted attribute a clip has: e^−24 makes a clip that misses one practically impossible. */
export const TEXT_BIAS = 24;
export const PROCEDURAL_SCHEDULER = SD_SCHEDULER_CONFIG;
/** Default cache directory: `containers/diffusion/models/procedural/` (git-ignored). */
export const PROCEDURAL_MODEL_DIR = fileURLToPath(new URL("../../../models/procedural/", import.meta.url));

function textEncoder(vocab: Record<string, number>): Uint8Array {
  const size = Object.keys(vocab).length;
  const table = new Float32Array(size * EMBED_DIM);
  ATTRIBUTES.forEach((word, d) => {
    table[vocab[word + WORD_END]! * EMBED_DIM + d] = 1;
  });
  return encodeModel({
    name: "procedural_text_encoder",
    doc: "Token embedding lookup: attribute words are one-hot over 16 dimensions, every other token is zero.",
    inputs: [{ name: "input_ids", type: "int64", shape: ["batch", CONTEXT_LENGTH] }],
    outputs: [{ name: "last_hidden_state", type: "float32", shape: ["batch", CONTEXT_LENGTH, EMBED_DIM] }],
    nodes: [
      {
        op: "Gather",
        inputs: ["embedding", "input_ids"],
        outputs: ["last_hidden_state"],
        attributes: [attr.int("axis", 0)],
      },
    ],
    initializers: [floatInit("embedding", [size, EMBED_DIM], table)],
  });
}

function unet(): Uint8Array {
  const clips = bankClips();
  const n = clips.length;
  const bank = new Float32Array(n * CLIP_SIZE);
  const halfNorms = new Float32Array(n);
  const attrs = new Float32Array(EMBED_DIM * n);
  clips.forEach((c, i) => {
    const x0 = renderClip(c);
    bank.set(x0, i * CLIP_SIZE);
    let s = 0;
    for (const v of x0) s += v * v;
    halfNorms[i] = f32(s / 2);
    for (const word of [c.shape, c.colour, c.motion]) attrs[ATTRIBUTES.indexOf(word) * n + i] = TEXT_BIAS;
  });
  const acp = alphasCumprod(PROCEDURAL_SCHEDULER);
  const t = acp.length;
  const sa = acp.map((a) => sqrt32(a));
  const sb = acp.map((a) => sqrt32(f32(1 - a)));
  const inv = acp.map((a) => f32(1 / f32(1 - a)));
  const { channels, frames, height, width } = LATENT;
  return encodeModel({
    name: "procedural_unet",
    doc:
      "Exact posterior-mean denoiser of the procedural clip bank: w = softmax((√ᾱ·<x,x0_i> − ᾱ/2·‖x0_i‖²)/(1−ᾱ) + " +
      "text bias), x0_hat = Σ w_i x0_i, eps = (x − √ᾱ x0_hat)/√(1−ᾱ).",
    inputs: [
      { name: "sample", type: "float32", shape: ["batch", channels, frames, height, width] },
      { name: "timestep", type: "int64", shape: [] },
      { name: "encoder_hidden_states", type: "float32", shape: ["batch", CONTEXT_LENGTH, EMBED_DIM] },
    ],
    outputs: [{ name: "out_sample", type: "float32", shape: ["batch", channels, frames, height, width] }],
    nodes: [
      { op: "Reshape", inputs: ["sample", "flat_shape"], outputs: ["x"] },
      { op: "Gather", inputs: ["sqrt_alpha", "timestep"], outputs: ["sa"] },
      { op: "Gather", inputs: ["sqrt_one_minus_alpha", "timestep"], outputs: ["sb"] },
      { op: "Gather", inputs: ["alpha", "timestep"], outputs: ["a"] },
      { op: "Gather", inputs: ["inv_one_minus_alpha", "timestep"], outputs: ["inv"] },
      { op: "Gemm", inputs: ["x", "bank"], outputs: ["dot"], attributes: [attr.int("transB", 1)] },
      { op: "Mul", inputs: ["dot", "sa"], outputs: ["dot_scaled"] },
      { op: "Mul", inputs: ["half_norms", "a"], outputs: ["norm_scaled"] },
      { op: "Sub", inputs: ["dot_scaled", "norm_scaled"], outputs: ["log_lik_num"] },
      { op: "Mul", inputs: ["log_lik_num", "inv"], outputs: ["log_lik"] },
      {
        op: "ReduceMax",
        inputs: ["encoder_hidden_states"],
        outputs: ["pooled"],
        attributes: [attr.ints("axes", [1]), attr.int("keepdims", 0)],
      },
      { op: "MatMul", inputs: ["pooled", "attributes"], outputs: ["text_bias"] },
      { op: "Add", inputs: ["log_lik", "text_bias"], outputs: ["logits"] },
      { op: "Softmax", inputs: ["logits"], outputs: ["weights"], attributes: [attr.int("axis", 1)] },
      { op: "MatMul", inputs: ["weights", "bank"], outputs: ["x0"] },
      { op: "Mul", inputs: ["x0", "sa"], outputs: ["x0_scaled"] },
      { op: "Sub", inputs: ["x", "x0_scaled"], outputs: ["noise_scaled"] },
      { op: "Div", inputs: ["noise_scaled", "sb"], outputs: ["noise"] },
      { op: "Shape", inputs: ["sample"], outputs: ["sample_shape"] },
      { op: "Reshape", inputs: ["noise", "sample_shape"], outputs: ["out_sample"] },
    ],
    initializers: [
      int64Init("flat_shape", [2], [-1, CLIP_SIZE]),
      floatInit("bank", [n, CLIP_SIZE], bank),
      floatInit("half_norms", [n], halfNorms),
      floatInit("attributes", [EMBED_DIM, n], attrs),
      floatInit("alpha", [t], acp),
      floatInit("sqrt_alpha", [t], sa),
      floatInit("sqrt_one_minus_alpha", [t], sb),
      floatInit("inv_one_minus_alpha", [t], inv),
    ],
  });
}

function vaeDecoder(): Uint8Array {
  const { channels, height, width } = LATENT;
  const weight = new Float32Array(3 * channels); // [3, C, 1, 1]: RGB = latent channels 0–2
  for (let c = 0; c < 3; c++) weight[c * channels + c] = 1;
  return encodeModel({
    name: "procedural_vae_decoder",
    doc: "RGB = latent channels 0-2 (1x1 conv), bilinear upsampling x4.",
    inputs: [{ name: "latent_sample", type: "float32", shape: ["batch", channels, height, width] }],
    outputs: [
      { name: "sample", type: "float32", shape: ["batch", 3, height * PIXEL_FACTOR, width * PIXEL_FACTOR] },
    ],
    nodes: [
      { op: "Conv", inputs: ["latent_sample", "weight", "bias"], outputs: ["rgb"] },
      {
        op: "Resize",
        inputs: ["rgb", "", "scales"],
        outputs: ["sample"],
        attributes: [
          attr.string("mode", "linear"),
          attr.string("coordinate_transformation_mode", "half_pixel"),
        ],
      },
    ],
    initializers: [
      floatInit("weight", [3, channels, 1, 1], weight),
      floatInit("bias", [3], new Float32Array(3)),
      floatInit("scales", [4], Float32Array.of(1, 1, PIXEL_FACTOR, PIXEL_FACTOR)),
    ],
  });
}

/** The procedural model's files in the diffusers ONNX layout (deterministic bytes). */
export function buildProceduralModel(): ModelFiles {
  const { vocab, merges } = buildWordVocabulary([...ATTRIBUTES, ...FILLER_WORDS]);
  return new Map([
    [
      LAYOUT.modelIndex,
      jsonFile({
        _class_name: "OnnxStableDiffusionPipeline",
        _diffusers_version: "0.30.0",
        infernet_model: "procedural-v1",
        description: "Exact denoiser of a 144-clip procedural bank (not a learned model)",
      }),
    ],
    [LAYOUT.vocab, jsonFile(vocab)],
    [LAYOUT.merges, textFile(merges)],
    ["tokenizer/tokenizer_config.json", jsonFile({ model_max_length: CONTEXT_LENGTH, pad_token: EOS_TOKEN })],
    [LAYOUT.textEncoder, textEncoder(vocab)],
    [LAYOUT.unet, unet()],
    [
      LAYOUT.unetConfig,
      jsonFile({ in_channels: LATENT.channels, sample_size: LATENT.height, num_frames: LATENT.frames }),
    ],
    [LAYOUT.vaeDecoder, vaeDecoder()],
    [
      LAYOUT.vaeConfig,
      jsonFile({ latent_channels: LATENT.channels, block_out_channels: [32, 32, 32], scaling_factor: 1.0 }),
    ],
    [LAYOUT.scheduler, jsonFile(schedulerConfigJson(PROCEDURAL_SCHEDULER))],
  ]);
}

/** Builds the procedural model into `dir` (default `PROCEDURAL_MODEL_DIR`) unless identical files are there. */
export async function ensureProceduralModel(dir: string = PROCEDURAL_MODEL_DIR): Promise<string> {
  return writeModelFiles(dir, buildProceduralModel());
}

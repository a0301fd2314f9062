import { fileURLToPath } from "node:url";
import { LAYOUT } from "../layout.ts";
import { attr, encodeModel, floatInit, int64Init, type NodeSpec, type ValueSpec } from "../onnx/graph.ts";
import { normalWeights } from "../onnx/weights.ts";
import { CONTEXT_LENGTH } from "../tokenizer.ts";
import { jsonFile, textFile, writeModelFiles, type ModelFiles } from "./files.ts";
import { buildWordVocabulary } from "./vocab.ts";

/**
 * Synthetic stand-ins for a Stable Diffusion ONNX export: the input/output names, element types and ranks of the real
 * models (CLIP text encoder, UNet, VAE decoder), with a few small pseudo-random layers instead of the real networks.
 * They exercise the real-model code path end to end; their outputs mean nothing.
 */
export type SyntheticKind = "image" | "video";

/** CLIP ViT-L/14 hidden size, as SD 1.x's `encoder_hidden_states`. */
export const HIDDEN = 768;
const CHANNELS = 4;
const FEATURES = 8;
const TOKEN_DIM = 16;
const WORDS =
  "a an the of in on with and photo painting portrait of cat dog city night forest sunset red blue green astronaut horse riding moon".split(
    " ",
  );
/** SD 1.x scheduler config as shipped with the ONNX exports (PNDM class; the pipeline samples with DDIM). */
const SD_SCHEDULER_JSON = {
  _class_name: "PNDMScheduler",
  _diffusers_version: "0.6.0",
  beta_end: 0.012,
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  num_train_timesteps: 1000,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
  clip_sample: false,
};

export function syntheticModelDir(kind: SyntheticKind): string {
  return fileURLToPath(new URL(`../../models/synthetic-${kind}/`, import.meta.url));
}

function textEncoder(vocabSize: number): Uint8Array {
  return encodeModel({
    name: "synthetic_clip_text_encoder",
    doc: "Synthetic CLIP text encoder: tanh(embed(ids)·W + position), pooled by mean.",
    inputs: [{ name: "input_ids", type: "int32", shape: ["batch", "sequence"] }],
    outputs: [
      { name: "last_hidden_state", type: "float32", shape: ["batch", "sequence", HIDDEN] },
      { name: "pooler_output", type: "float32", shape: ["batch", HIDDEN] },
    ],
    nodes: [
      {
        op: "Gather",
        inputs: ["token_embedding", "input_ids"],
        outputs: ["tokens"],
        attributes: [attr.int("axis", 0)],
      },
      { op: "MatMul", inputs: ["tokens", "projection"], outputs: ["projected"] },
      { op: "Add", inputs: ["projected", "position_embedding"], outputs: ["summed"] },
      { op: "Tanh", inputs: ["summed"], outputs: ["last_hidden_state"] },
      {
        op: "ReduceMean",
        inputs: ["last_hidden_state"],
        outputs: ["pooler_output"],
        attributes: [attr.ints("axes", [1]), attr.int("keepdims", 0)],
      },
    ],
    initializers: [
      floatInit(
        "token_embedding",
        [vocabSize, TOKEN_DIM],
        normalWeights("text.token", vocabSize * TOKEN_DIM, 1),
      ),
      floatInit("projection", [TOKEN_DIM, HIDDEN], normalWeights("text.projection", TOKEN_DIM * HIDDEN, 0.5)),
      floatInit(
        "position_embedding",
        [CONTEXT_LENGTH, HIDDEN],
        normalWeights("text.position", CONTEXT_LENGTH * HIDDEN, 0.2),
      ),
    ],
  });
}

function unet(kind: SyntheticKind): Uint8Array {
  const video = kind === "video";
  const k = video ? [3, 3, 3] : [3, 3];
  const kernel = k.reduce((a, b) => a * b, 1);
  const pads = [...k.map(() => 1), ...k.map(() => 1)];
  const ones = k.map(() => 1);
  const sampleShape: ValueSpec["shape"] = video
    ? ["batch", CHANNELS, "frames", "height", "width"]
    : ["batch", "channels", "height", "width"]; // SD exports leave the channel count symbolic
  // Image: timestep float32 [B] (diffusers' export); video: int64 [B] (optimum's).
  const timestepType = video ? "int64" : "float32";
  const nodes: NodeSpec[] = [
    {
      op: "Conv",
      inputs: ["sample", "conv_in.weight", "conv_in.bias"],
      outputs: ["h"],
      attributes: [attr.ints("pads", pads)],
    },
    ...(video
      ? [{ op: "Cast", inputs: ["timestep"], outputs: ["t_float"], attributes: [attr.int("to", 1)] }]
      : [{ op: "Identity", inputs: ["timestep"], outputs: ["t_float"] }]),
    { op: "Unsqueeze", inputs: ["t_float", "axis_1"], outputs: ["t_col"] },
    { op: "Mul", inputs: ["t_col", "time_frequencies"], outputs: ["t_arg"] },
    { op: "Sin", inputs: ["t_arg"], outputs: ["t_sin"] },
    { op: "Reshape", inputs: ["t_sin", "feature_shape"], outputs: ["t_emb"] },
    {
      op: "ReduceMean",
      inputs: ["encoder_hidden_states"],
      outputs: ["text_mean"],
      attributes: [attr.ints("axes", [1]), attr.int("keepdims", 0)],
    },
    { op: "MatMul", inputs: ["text_mean", "text_projection"], outputs: ["text_proj"] },
    { op: "Reshape", inputs: ["text_proj", "feature_shape"], outputs: ["text_emb"] },
    { op: "Add", inputs: ["h", "t_emb"], outputs: ["h_t"] },
    { op: "Add", inputs: ["h_t", "text_emb"], outputs: ["h_tt"] },
    { op: "Tanh", inputs: ["h_tt"], outputs: ["act"] },
    {
      op: "Conv",
      inputs: ["act", "conv_out.weight", "conv_out.bias"],
      outputs: ["out_sample"],
      attributes: [attr.ints("pads", pads)],
    },
  ];
  const freqs = new Float32Array(FEATURES).map((_, i) => Math.fround(0.5 / 10 ** (i / 2)));
  return encodeModel({
    name: `synthetic_${kind}_unet`,
    doc: "Synthetic UNet: conv → + sin(timestep embedding) + text projection → tanh → conv.",
    inputs: [
      { name: "sample", type: "float32", shape: sampleShape },
      { name: "timestep", type: timestepType, shape: ["batch"] },
      { name: "encoder_hidden_states", type: "float32", shape: ["batch", "sequence", HIDDEN] },
    ],
    outputs: [{ name: "out_sample", type: "float32", shape: sampleShape }],
    nodes,
    initializers: [
      floatInit(
        "conv_in.weight",
        [FEATURES, CHANNELS, ...k],
        normalWeights(`${kind}.conv_in`, FEATURES * CHANNELS * kernel, 1 / Math.sqrt(CHANNELS * kernel)),
      ),
      floatInit("conv_in.bias", [FEATURES], normalWeights(`${kind}.conv_in.bias`, FEATURES, 0.1)),
      int64Init("axis_1", [1], [1]),
      floatInit("time_frequencies", [1, FEATURES], freqs),
      int64Init("feature_shape", [2 + k.length], [-1, FEATURES, ...ones]),
      floatInit("text_projection", [HIDDEN, FEATURES], normalWeights(`${kind}.text`, HIDDEN * FEATURES, 0.5)),
      floatInit(
        "conv_out.weight",
        [CHANNELS, FEATURES, ...k],
        normalWeights(`${kind}.conv_out`, CHANNELS * FEATURES * kernel, 1 / Math.sqrt(FEATURES * kernel)),
      ),
      floatInit("conv_out.bias", [CHANNELS], normalWeights(`${kind}.conv_out.bias`, CHANNELS, 0.1)),
    ],
  });
}

function vaeDecoder(): Uint8Array {
  return encodeModel({
    name: "synthetic_vae_decoder",
    doc: "Synthetic VAE decoder: 1x1 conv to RGB, nearest upsampling x8, 3x3 conv, tanh.",
    inputs: [
      { name: "latent_sample", type: "float32", shape: ["batch", CHANNELS, "latent_height", "latent_width"] },
    ],
    outputs: [{ name: "sample", type: "float32", shape: ["batch", 3, "height", "width"] }],
    nodes: [
      { op: "Conv", inputs: ["latent_sample", "to_rgb.weight", "to_rgb.bias"], outputs: ["rgb"] },
      {
        op: "Resize",
        inputs: ["rgb", "", "scales"],
        outputs: ["up"],
        attributes: [attr.string("mode", "nearest")],
      },
      {
        op: "Conv",
        inputs: ["up", "smooth.weight", "smooth.bias"],
        outputs: ["smooth"],
        attributes: [attr.ints("pads", [1, 1, 1, 1])],
      },
      { op: "Tanh", inputs: ["smooth"], outputs: ["sample"] },
    ],
    initializers: [
      floatInit("to_rgb.weight", [3, CHANNELS, 1, 1], normalWeights("vae.to_rgb", 3 * CHANNELS, 0.5)),
      floatInit("to_rgb.bias", [3], new Float32Array(3)),
      floatInit("scales", [4], Float32Array.of(1, 1, 8, 8)),
      floatInit("smooth.weight", [3, 3, 3, 3], normalWeights("vae.smooth", 81, 1 / 3)),
      floatInit("smooth.bias", [3], new Float32Array(3)),
    ],
  });
}

/** A synthetic Stable-Diffusion-shaped model directory (diffusers ONNX layout), deterministic bytes. */
export function buildSyntheticModel(kind: SyntheticKind): ModelFiles {
  const { vocab, merges } = buildWordVocabulary(WORDS);
  const vocabSize = Object.keys(vocab).length;
  return new Map([
    [
      LAYOUT.modelIndex,
      jsonFile({
        _class_name: "OnnxStableDiffusionPipeline",
        _diffusers_version: "0.30.0",
        infernet_model: `synthetic-${kind}`,
      }),
    ],
    [LAYOUT.vocab, jsonFile(vocab)],
    [LAYOUT.merges, textFile(merges)],
    // The video variant pads with "!" like SD 2.x tokenizers, the image variant with <|endoftext|> like SD 1.x.
    [
      "tokenizer/special_tokens_map.json",
      jsonFile({ pad_token: { content: kind === "video" ? "!" : "<|endoftext|>" } }),
    ],
    [LAYOUT.textEncoder, textEncoder(vocabSize)],
    [LAYOUT.unet, unet(kind)],
    [LAYOUT.unetConfig, jsonFile({ in_channels: CHANNELS, sample_size: 64, cross_attention_dim: HIDDEN })],
    [LAYOUT.vaeDecoder, vaeDecoder()],
    [
      LAYOUT.vaeConfig,
      jsonFile({
        latent_channels: CHANNELS,
        block_out_channels: [128, 256, 512, 512],
        scaling_factor: 0.18215,
      }),
    ],
    [LAYOUT.scheduler, jsonFile(SD_SCHEDULER_JSON)],
  ]);
}

/** Builds the synthetic model of `kind` into `dir` (default `models/synthetic-<kind>/`) unless already there. */
export async function ensureSyntheticModel(
  kind: SyntheticKind,
  dir: string = syntheticModelDir(kind),
): Promise<string> {
  return writeModelFiles(dir, buildSyntheticModel(kind));
}

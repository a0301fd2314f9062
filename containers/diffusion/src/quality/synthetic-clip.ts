// A synthetic CLIP export with the signatures of the real one (vision_model.onnx: pixel_values [B, 3, 224, 224] →
// image_embeds [B, 8]; text_model.onnx: input_ids [B, 77] int64 → text_embeds [B, 8]; a CLIP-format tokenizer),
// written with onnx-proto like the pipeline's synthetic models, for tests. It is not learned, but it means
// something: the image embedding is the frame's mean colour (pixel_values un-normalised, averaged), the text
// embedding the sum of the colour words' RGB, both through the same 3 → 8 projection with orthonormal rows, so
// their cosine is the cosine of the two colours: a red clip matches "red" (1) and not "blue" (0).
import { fileURLToPath } from "node:url";
import { attr, encodeModel, floatInit } from "../onnx/graph.ts";
import { jsonFile, textFile, writeModelFiles, type ModelFiles } from "../models/files.ts";
import { buildWordVocabulary } from "../models/vocab.ts";
import { CONTEXT_LENGTH, WORD_END } from "../tokenizer.ts";
import { CLIP_IMAGE_SIZE, CLIP_MEAN, CLIP_STD } from "./clip.ts";

export const SYNTHETIC_CLIP_DIM = 8;
/** RGB in [0, 1] of the colour words (the procedural model's colours). */
export const SYNTHETIC_CLIP_COLOURS: Readonly<Record<string, readonly [number, number, number]>> = {
  red: [1, 0, 0],
  green: [0, 1, 0],
  blue: [0, 0, 1],
  yellow: [1, 1, 0],
  purple: [0.5, 0, 1],
  white: [1, 1, 1],
};
const OTHER_WORDS =
  "a an the of photo video circle square triangle diamond moving left right up down grow shrink".split(" ");

export function syntheticClipDir(): string {
  return fileURLToPath(new URL("../../models/synthetic-clip/", import.meta.url));
}

/** Rows 1–3 of the 8 × 8 Sylvester–Hadamard matrix / √8: orthonormal, so cosines survive the projection. */
function projection(): Float32Array {
  const p = new Float32Array(3 * SYNTHETIC_CLIP_DIM);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < SYNTHETIC_CLIP_DIM; c++) {
      let bits = (r + 1) & c;
      let sign = 1;
      while (bits) {
        sign = -sign;
        bits &= bits - 1;
      }
      p[r * SYNTHETIC_CLIP_DIM + c] = sign / Math.sqrt(SYNTHETIC_CLIP_DIM);
    }
  }
  return p;
}

function visionModel(): Uint8Array {
  const S = CLIP_IMAGE_SIZE;
  return encodeModel({
    name: "synthetic_clip_vision",
    doc: "Synthetic CLIP vision model: mean colour of the un-normalised pixels, projected to 8 dimensions.",
    inputs: [{ name: "pixel_values", type: "float32", shape: ["batch", 3, S, S] }],
    outputs: [{ name: "image_embeds", type: "float32", shape: ["batch", SYNTHETIC_CLIP_DIM] }],
    nodes: [
      {
        op: "ReduceMean",
        inputs: ["pixel_values"],
        outputs: ["normalised_mean"],
        attributes: [attr.ints("axes", [2, 3]), attr.int("keepdims", 0)],
      },
      { op: "Mul", inputs: ["normalised_mean", "std"], outputs: ["scaled"] },
      { op: "Add", inputs: ["scaled", "mean"], outputs: ["rgb"] },
      { op: "MatMul", inputs: ["rgb", "projection"], outputs: ["image_embeds"] },
    ],
    initializers: [
      floatInit("std", [3], Float32Array.from(CLIP_STD)),
      floatInit("mean", [3], Float32Array.from(CLIP_MEAN)),
      floatInit("projection", [3, SYNTHETIC_CLIP_DIM], projection()),
    ],
  });
}

function textModel(vocab: Record<string, number>): Uint8Array {
  const size = Object.keys(vocab).length;
  const table = new Float32Array(size * SYNTHETIC_CLIP_DIM);
  const p = projection();
  for (const [word, rgb] of Object.entries(SYNTHETIC_CLIP_COLOURS)) {
    const id = vocab[word + WORD_END]!;
    for (let c = 0; c < SYNTHETIC_CLIP_DIM; c++) {
      table[id * SYNTHETIC_CLIP_DIM + c] =
        rgb[0] * p[c]! + rgb[1] * p[SYNTHETIC_CLIP_DIM + c]! + rgb[2] * p[2 * SYNTHETIC_CLIP_DIM + c]!;
    }
  }
  return encodeModel({
    name: "synthetic_clip_text",
    doc: "Synthetic CLIP text model: the mean over tokens of the colour words' projected RGB.",
    inputs: [{ name: "input_ids", type: "int64", shape: ["batch", CONTEXT_LENGTH] }],
    outputs: [{ name: "text_embeds", type: "float32", shape: ["batch", SYNTHETIC_CLIP_DIM] }],
    nodes: [
      {
        op: "Gather",
        inputs: ["embedding", "input_ids"],
        outputs: ["tokens"],
        attributes: [attr.int("axis", 0)],
      },
      {
        op: "ReduceMean",
        inputs: ["tokens"],
        outputs: ["text_embeds"],
        attributes: [attr.ints("axes", [1]), attr.int("keepdims", 0)],
      },
    ],
    initializers: [floatInit("embedding", [size, SYNTHETIC_CLIP_DIM], table)],
  });
}

/** The synthetic CLIP directory: vision_model.onnx, text_model.onnx, tokenizer/ (deterministic bytes). */
export function buildSyntheticClip(): ModelFiles {
  const { vocab, merges } = buildWordVocabulary([...Object.keys(SYNTHETIC_CLIP_COLOURS), ...OTHER_WORDS]);
  return new Map([
    ["vision_model.onnx", visionModel()],
    ["text_model.onnx", textModel(vocab)],
    ["tokenizer/vocab.json", jsonFile(vocab)],
    ["tokenizer/merges.txt", textFile(merges)],
  ]);
}

/** Writes the synthetic CLIP into `dir` (default models/synthetic-clip/) unless already there. */
export async function ensureSyntheticClip(dir: string = syntheticClipDir()): Promise<string> {
  return writeModelFiles(dir, buildSyntheticClip());
}

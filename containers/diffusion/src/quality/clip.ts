// Prompt adherence by CLIP: the cosine similarity of each frame's image embedding with the prompt's text
// embedding, for a real CLIP ONNX export (the transformers.js / optimum split of CLIPModel):
//
//   vision model  pixel_values [B, 3, 224, 224] float32 → image_embeds [B, D] float32
//   text model    input_ids [B, 77] int64 or int32 (+ attention_mask, when the export has it) → text_embeds [B, D]
//   tokenizer     vocab.json + merges.txt (CLIP BPE; src/tokenizer.ts)
//
// found in a directory as vision_model.onnx / text_model.onnx (or onnx/…, or image_encoder/model.onnx and
// text_encoder/model.onnx) and tokenizer/ (or the directory itself). Frames are prepared as CLIPImageProcessor does:
// the shorter side resized to 224 (bilinear with an antialiasing triangle filter; CLIP uses bicubic, so scores
// differ slightly from the reference), a centre crop of 224 × 224, scaled to [0, 1] and normalised with CLIP's mean
// and standard deviation. The frame score is CLIPScore's w · max(cos, 0) with w = 2.5 (Hessel et al., 2021), capped
// at 1, averaged over frames; details also give the mean and lowest cosine and the frame consistency (mean cosine
// of consecutive frames' image embeddings).
import { existsSync } from "node:fs";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { ModelSignatureError } from "../errors.ts";
import { checkFrames, type Frame } from "../output/frame.ts";
import { defaultRuntimeProfile, openSession, type RuntimeProfile } from "../runtime.ts";
import { expectTensor, inputSpec, outputSpec } from "../signature.ts";
import { encodePrompt, loadTokenizer, type ClipTokenizer } from "../tokenizer.ts";
import { clamp01, type QualityInput, type QualityScore, type QualityScorer } from "./scorer.ts";

export const CLIP_IMAGE_SIZE = 224;
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;
/** CLIPScore's weight: score = min(1, w · max(cos, 0)). */
export const CLIP_SCORE_WEIGHT = 2.5;

export interface ClipModelFiles {
  visionModel: string;
  textModel: string;
  tokenizerDir: string;
}

function firstExisting(dir: string, candidates: readonly string[], what: string): string {
  for (const c of candidates) {
    const p = path.join(dir, c);
    if (existsSync(p)) return p;
  }
  throw new ModelSignatureError("clip", `no ${what} in ${dir} (looked for ${candidates.join(", ")})`);
}

/** The files of a CLIP export directory (see the header for the names looked for). */
export function clipModelFiles(dir: string): ClipModelFiles {
  return {
    visionModel: firstExisting(
      dir,
      ["vision_model.onnx", "onnx/vision_model.onnx", "image_encoder/model.onnx"],
      "vision model",
    ),
    textModel: firstExisting(
      dir,
      ["text_model.onnx", "onnx/text_model.onnx", "text_encoder/model.onnx"],
      "text model",
    ),
    tokenizerDir: path.dirname(
      firstExisting(dir, ["tokenizer/vocab.json", "vocab.json"], "tokenizer (vocab.json)"),
    ),
  };
}

/** Resamples one axis of planar float images with a triangle filter widened by the scale when shrinking. */
function resampleAxis(
  src: Float64Array,
  planes: number,
  outer: number,
  inLen: number,
  outLen: number,
  stride: number,
  inner: number,
): Float64Array {
  // Layout: [planes][outer][len][inner] with `len` the resampled axis; stride = len * inner per outer row.
  const scale = inLen / outLen;
  const support = Math.max(1, scale);
  const taps: Array<{ first: number; weights: number[] }> = [];
  for (let o = 0; o < outLen; o++) {
    const centre = (o + 0.5) * scale - 0.5;
    const first = Math.max(0, Math.ceil(centre - support));
    const last = Math.min(inLen - 1, Math.floor(centre + support));
    const weights: number[] = [];
    let sum = 0;
    for (let i = first; i <= last; i++) {
      const w = Math.max(0, 1 - Math.abs(i - centre) / support);
      weights.push(w);
      sum += w;
    }
    if (sum === 0) {
      const nearest = Math.min(inLen - 1, Math.max(0, Math.round(centre)));
      taps.push({ first: nearest, weights: [1] });
    } else taps.push({ first, weights: weights.map((w) => w / sum) });
  }
  const out = new Float64Array(planes * outer * outLen * inner);
  for (let p = 0; p < planes; p++) {
    for (let r = 0; r < outer; r++) {
      const sBase = (p * outer + r) * stride;
      const dBase = (p * outer + r) * outLen * inner;
      for (let o = 0; o < outLen; o++) {
        const { first, weights } = taps[o]!;
        for (let k = 0; k < inner; k++) {
          let v = 0;
          for (let j = 0; j < weights.length; j++) v += weights[j]! * src[sBase + (first + j) * inner + k]!;
          out[dBase + o * inner + k] = v;
        }
      }
    }
  }
  return out;
}

/** `pixel_values` of one frame: [3, 224, 224], resized (shorter side), centre-cropped and normalised. */
export function clipPixelValues(frame: Frame, size = CLIP_IMAGE_SIZE): Float32Array {
  const { width: w, height: h } = frame;
  const scale = size / Math.min(w, h);
  const rw = Math.max(size, Math.round(w * scale));
  const rh = Math.max(size, Math.round(h * scale));
  const planar = new Float64Array(3 * w * h);
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) planar[c * w * h + i] = frame.rgb[3 * i + c]!;
  const horiz = resampleAxis(planar, 3, h, w, rw, w, 1); // [3][h][rw]
  const both = resampleAxis(horiz, 3, 1, h, rh, h * rw, rw); // [3][rh][rw]
  const top = Math.floor((rh - size) / 2);
  const left = Math.floor((rw - size) / 2);
  const out = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = both[(c * rh + top + y) * rw + left + x]! / 255;
        out[(c * size + y) * size + x] = (v - CLIP_MEAN[c]!) / CLIP_STD[c]!;
      }
    }
  }
  return out;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

export interface ClipScorerOptions {
  /** Default `defaultRuntimeProfile()` (scores need not be bit-exact, but pinning keeps them reproducible). */
  profile?: RuntimeProfile;
  /** Frames per vision-model call (default 8). */
  batch?: number;
  weight?: number;
}

export class ClipScorer implements QualityScorer {
  readonly name = "clip";
  readonly #vision: ort.InferenceSession;
  readonly #text: ort.InferenceSession;
  readonly #tokenizer: ClipTokenizer;
  readonly #idsType: "int32" | "int64";
  readonly #hasMask: boolean;
  readonly #batch: number;
  readonly #weight: number;

  private constructor(
    vision: ort.InferenceSession,
    text: ort.InferenceSession,
    tokenizer: ClipTokenizer,
    opts: ClipScorerOptions,
  ) {
    const pixels = inputSpec(vision, "pixel_values", "clip vision model");
    expectTensor("clip vision model", pixels, ["float32"], [4]);
    expectTensor(
      "clip vision model",
      outputSpec(vision, "image_embeds", "clip vision model"),
      ["float32"],
      [2],
    );
    const ids = inputSpec(text, "input_ids", "clip text model");
    expectTensor("clip text model", ids, ["int32", "int64"], [2]);
    expectTensor("clip text model", outputSpec(text, "text_embeds", "clip text model"), ["float32"], [2]);
    this.#vision = vision;
    this.#text = text;
    this.#tokenizer = tokenizer;
    this.#idsType = ids.type as "int32" | "int64";
    this.#hasMask = text.inputNames.includes("attention_mask");
    this.#batch = opts.batch ?? 8;
    this.#weight = opts.weight ?? CLIP_SCORE_WEIGHT;
  }

  /** Opens a CLIP export: a directory (see `clipModelFiles`) or the three paths. */
  static async load(source: string | ClipModelFiles, opts: ClipScorerOptions = {}): Promise<ClipScorer> {
    const files = typeof source === "string" ? clipModelFiles(source) : source;
    const profile = opts.profile ?? defaultRuntimeProfile();
    const vision = await openSession(files.visionModel, profile);
    const text = await openSession(files.textModel, profile);
    return new ClipScorer(vision, text, await loadTokenizer(files.tokenizerDir), opts);
  }

  async close(): Promise<void> {
    await this.#vision.release();
    await this.#text.release();
  }

  #ints(ids: Int32Array): ort.Tensor {
    return this.#idsType === "int32"
      ? new ort.Tensor("int32", Int32Array.from(ids), [1, ids.length])
      : new ort.Tensor(
          "int64",
          BigInt64Array.from(ids, (v) => BigInt(v)),
          [1, ids.length],
        );
  }

  /** `text_embeds` of a prompt. */
  async textEmbedding(prompt: string): Promise<Float32Array> {
    const ids = encodePrompt(this.#tokenizer, prompt);
    const feeds: Record<string, ort.Tensor> = { input_ids: this.#ints(ids) };
    if (this.#hasMask) {
      // Ones up to and including the end token, zeros over the padding.
      const end = ids.indexOf(this.#tokenizer.eosId, 1);
      feeds.attention_mask = this.#ints(Int32Array.from(ids, (_, i) => (i <= end ? 1 : 0)));
    }
    const out = (await this.#text.run(feeds, ["text_embeds"])).text_embeds;
    if (!out || out.type !== "float32")
      throw new ModelSignatureError("clip text model", "text_embeds is not float32");
    return Float32Array.from(out.data as Float32Array);
  }

  /** `image_embeds` of each frame. */
  async imageEmbeddings(frames: readonly Frame[]): Promise<Float32Array[]> {
    checkFrames(frames);
    const n = 3 * CLIP_IMAGE_SIZE * CLIP_IMAGE_SIZE;
    const out: Float32Array[] = [];
    for (let at = 0; at < frames.length; at += this.#batch) {
      const chunk = frames.slice(at, at + this.#batch);
      const data = new Float32Array(chunk.length * n);
      chunk.forEach((f, i) => data.set(clipPixelValues(f), i * n));
      const t = new ort.Tensor("float32", data, [chunk.length, 3, CLIP_IMAGE_SIZE, CLIP_IMAGE_SIZE]);
      const r = (await this.#vision.run({ pixel_values: t }, ["image_embeds"])).image_embeds;
      if (!r || r.type !== "float32" || r.dims[0] !== chunk.length) {
        throw new ModelSignatureError("clip vision model", "image_embeds is not a float32 [B, D] tensor");
      }
      const d = r.dims[1]!;
      const all = r.data as Float32Array;
      for (let i = 0; i < chunk.length; i++) out.push(Float32Array.from(all.subarray(i * d, (i + 1) * d)));
    }
    return out;
  }

  async score(input: QualityInput): Promise<QualityScore> {
    const text = await this.textEmbedding(input.prompt);
    const images = await this.imageEmbeddings(input.frames);
    const cos = images.map((e) => cosine(e, text));
    const perFrame = cos.map((c) => clamp01(this.#weight * Math.max(c, 0)));
    const consistency = images.slice(1).map((e, i) => cosine(images[i]!, e));
    const avg = (v: number[]) => (v.length === 0 ? 1 : v.reduce((a, b) => a + b, 0) / v.length);
    return {
      scorer: this.name,
      score: avg(perFrame),
      details: { cosine: avg(cos), cosineMin: Math.min(...cos), frameConsistency: avg(consistency) },
    };
  }
}

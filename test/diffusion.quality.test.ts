// Quality scoring (containers/diffusion/src/quality/): the reference-free checks (blank, static, noise and flickering
// clips score 0; every clip of the procedural model's bank and its prompted generations score high), CLIP similarity
// on a synthetic CLIP export with the real signatures (checked against direct onnxruntime runs of the same models),
// the combination into basis points for postVerdict, the GIF decoder, and the calibrated step bands.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as ort from "onnxruntime-node";
import {
  CALIBRATION,
  CLIP_IMAGE_SIZE,
  CLIP_MEAN,
  CLIP_STD,
  ClipScorer,
  CombinedScorer,
  FrameFormatError,
  ModelSignatureError,
  QUALITY_MAX_BPS,
  ReferenceFreeScorer,
  STEP_BANDS,
  bankClips,
  classifyStep,
  classifySteps,
  clipPixelValues,
  closePipeline,
  combineScores,
  cosine,
  decodeGif,
  encodeGif,
  encodePrompt,
  ensureProceduralModel,
  ensureSyntheticClip,
  generate,
  gifPalette,
  loadPipeline,
  loadTokenizer,
  paletteIndex,
  qualityBps,
  qualityOf,
  renderClip,
  type Frame,
  type Pipeline,
} from "@infernet/diffusion";
import { decodeLatent } from "../containers/diffusion/src/vae.ts";

const SEED = `0x${"5a".repeat(32)}` as const;
let pipeline: Pipeline;
let clipDir: string;
let work: string;
let red: Frame[];
const scorer = new ReferenceFreeScorer();

function solid(w: number, h: number, rgb: readonly [number, number, number]): Frame {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, 3 * i);
  return { width: w, height: h, rgb: data };
}

function noiseFrame(w: number, h: number, seed: number): Frame {
  let x = seed >>> 0;
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < rgb.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    rgb[i] = x >>> 24;
  }
  return { width: w, height: h, rgb };
}

async function clip(prompt: string): Promise<Frame[]> {
  const r = await generate({
    pipeline,
    job: { prompt, steps: 20, guidanceMilli: 7500, seed: SEED, width: 64, height: 64, frames: 8 },
  });
  return r.frames;
}

before(async () => {
  pipeline = await loadPipeline({ dir: await ensureProceduralModel() });
  work = await mkdtemp(join(tmpdir(), "infernet-quality-"));
  clipDir = await ensureSyntheticClip(join(work, "clip"));
  red = await clip("a red circle moving right");
});

after(async () => {
  if (pipeline) await closePipeline(pipeline);
  if (work) await rm(work, { recursive: true, force: true });
});

describe("quality: reference-free checks", () => {
  it("blank, static, noise, shuffled and flickering clips score 0; the prompted clip scores high", async () => {
    const score = (frames: Frame[]) => scorer.measure(frames);
    const good = score(red);
    assert.ok(good.score > 0.9, `prompted clip: ${JSON.stringify(good)}`);
    assert.equal(good.details.content, 1);
    assert.equal(good.details.motion, 1);

    const cases: Array<[string, Frame[], string]> = [
      ["blank (black)", Array.from({ length: 8 }, () => solid(64, 64, [0, 0, 0])), "content"],
      ["blank (grey)", Array.from({ length: 8 }, () => solid(64, 64, [128, 128, 128])), "content"],
      ["static", Array.from({ length: 8 }, () => red[3]!), "motion"],
      ["noise", Array.from({ length: 8 }, (_, i) => noiseFrame(64, 64, i + 1)), "content"],
      ["flicker between two frames", Array.from({ length: 8 }, (_, i) => red[i % 2 ? 6 : 1]!), "temporal"],
      [
        "flickering exposure",
        red.map((f, i) => ({ ...f, rgb: i % 2 ? f.rgb.map((v) => v >> 1) : f.rgb })),
        "temporal",
      ],
      ["shuffled frames", [0, 5, 2, 7, 1, 6, 3, 4].map((i) => red[i]!), "temporal"],
    ];
    for (const [what, frames, failing] of cases) {
      const s = score(frames);
      assert.ok(s.score < 0.1, `${what}: ${JSON.stringify(s)}`);
      assert.ok(s.details[failing]! < 0.1, `${what} fails on ${failing}: ${JSON.stringify(s.details)}`);
    }
    // A slow fade is not flicker.
    const fade = red.map((f, i) => ({ ...f, rgb: f.rgb.map((v) => Math.round(v * (1 - i / 16))) }));
    assert.ok(score(fade).score > 0.9, JSON.stringify(score(fade)));
  });

  it("every clip of the procedural bank, and generations for other prompts, score above 0.9", async () => {
    let lowest = 1;
    for (const c of bankClips()) {
      const frames = await decodeLatent(pipeline.vae, renderClip(c), [1, 4, 8, 16, 16]);
      lowest = Math.min(lowest, scorer.measure(frames).score);
    }
    assert.ok(lowest > 0.9, `lowest bank clip score ${lowest}`);
    for (const prompt of [
      "a blue square moving up",
      "a purple triangle shrink",
      "a white diamond moving left",
    ]) {
      const s = scorer.measure(await clip(prompt));
      assert.ok(s.score > 0.9, `${prompt}: ${JSON.stringify(s)}`);
    }
  });

  it("an image is scored on content alone; frames must agree in size", async () => {
    assert.equal(scorer.measure([red[0]!]).score, 1);
    assert.equal(scorer.measure([solid(32, 32, [10, 200, 30])]).score, 0);
    assert.throws(() => scorer.measure([red[0]!, solid(32, 32, [0, 0, 0])]), FrameFormatError);
    assert.throws(() => scorer.measure([]), FrameFormatError);
  });
});

describe("quality: CLIP similarity (synthetic CLIP export)", () => {
  it("pixel_values: a uniform frame normalises to CLIP's constants; any size becomes 224 × 224", () => {
    const px = clipPixelValues(solid(96, 40, [255, 128, 0]));
    assert.equal(px.length, 3 * CLIP_IMAGE_SIZE * CLIP_IMAGE_SIZE);
    const plane = CLIP_IMAGE_SIZE * CLIP_IMAGE_SIZE;
    [255, 128, 0].forEach((v, c) => {
      const want = (v / 255 - CLIP_MEAN[c]!) / CLIP_STD[c]!;
      for (const i of [0, 1234, plane - 1]) assert.ok(Math.abs(px[c * plane + i]! - want) < 1e-5);
    });
    // Centre crop of a wide frame: left red half / right blue half, the crop's centre column is where they meet.
    const wide = solid(128, 64, [255, 0, 0]);
    for (let y = 0; y < 64; y++) for (let x = 64; x < 128; x++) wide.rgb.set([0, 0, 255], 3 * (y * 128 + x));
    const w = clipPixelValues(wide);
    const at = (c: number, x: number) => w[c * plane + 100 * CLIP_IMAGE_SIZE + x]!;
    assert.ok(at(0, 0) > 1.5 && at(2, 0) < -1, "left edge of the crop is red");
    assert.ok(at(2, CLIP_IMAGE_SIZE - 1) > 1.5 && at(0, CLIP_IMAGE_SIZE - 1) < -1, "right edge is blue");
  });

  it("embeddings equal direct onnxruntime runs; the red clip matches its prompt and not another colour", async () => {
    const s = await ClipScorer.load(clipDir);
    try {
      // Direct runs of the same ONNX files.
      const vision = await ort.InferenceSession.create(join(clipDir, "vision_model.onnx"));
      const text = await ort.InferenceSession.create(join(clipDir, "text_model.onnx"));
      const tok = await loadTokenizer(join(clipDir, "tokenizer"));
      const ids = encodePrompt(tok, "a red circle moving right");
      const t = await text.run({
        input_ids: new ort.Tensor(
          "int64",
          BigInt64Array.from(ids, (v) => BigInt(v)),
          [1, 77],
        ),
      });
      const textDirect = t.text_embeds!.data as Float32Array;
      const v = await vision.run({
        pixel_values: new ort.Tensor("float32", clipPixelValues(red[4]!), [1, 3, 224, 224]),
      });
      const imageDirect = v.image_embeds!.data as Float32Array;
      await vision.release();
      await text.release();
      const textEmb = await s.textEmbedding("a red circle moving right");
      const imageEmb = (await s.imageEmbeddings(red))[4]!;
      assert.deepEqual([...textEmb], [...textDirect]);
      assert.deepEqual([...imageEmb], [...imageDirect]);

      const match = await s.score({ frames: red, prompt: "a red circle moving right" });
      assert.ok(match.details.cosine! > 0.99, JSON.stringify(match));
      assert.equal(match.score, 1);
      assert.ok(match.details.frameConsistency! > 0.99);
      assert.ok(Math.abs(match.details.cosine! - cosine(imageEmb, textEmb)) < 0.01);
      const other = await s.score({ frames: red, prompt: "a blue square moving up" });
      assert.ok(other.details.cosine! < 0.1 && other.score < 0.25, JSON.stringify(other));
      const none = await s.score({ frames: red, prompt: "a circle" }); // no colour word: a zero text embedding
      assert.equal(none.score, 0);
      const blue = await clip("a blue square moving up");
      assert.ok((await s.score({ frames: blue, prompt: "a blue square moving up" })).score > 0.99);
    } finally {
      await s.close();
    }
  });

  it("a directory without a CLIP export is refused, saying what is missing", async () => {
    await assert.rejects(ClipScorer.load(work), (e: unknown) => {
      assert.ok(e instanceof ModelSignatureError);
      assert.match(e.message, /no vision model in .* \(looked for vision_model\.onnx/);
      return true;
    });
  });
});

describe("quality: combined score for postVerdict", () => {
  it("geometric mean, basis points in [0, 10000], one failed check fails the clip", async () => {
    assert.equal(
      combineScores([
        { score: 1, weight: 1 },
        { score: 1, weight: 2 },
      ]),
      1,
    );
    assert.equal(
      combineScores([
        { score: 0, weight: 1 },
        { score: 1, weight: 1 },
      ]),
      0,
    );
    assert.ok(
      Math.abs(
        combineScores([
          { score: 0.25, weight: 1 },
          { score: 1, weight: 1 },
        ]) - 0.5,
      ) < 1e-12,
    );
    assert.equal(qualityBps(1), QUALITY_MAX_BPS);
    assert.equal(qualityBps(0.12345), 1235);
    assert.equal(qualityBps(Number.NaN), 0);
    assert.equal(qualityBps(7), 10_000);
    assert.ok(QUALITY_MAX_BPS <= 0xffff, "fits postVerdict's uint16");

    const s = await ClipScorer.load(clipDir);
    try {
      const combined = new CombinedScorer([{ scorer }, { scorer: s }]);
      const good = await qualityOf(combined, { frames: red, prompt: "a red circle moving right" });
      assert.ok(good.bps > 9000, JSON.stringify(good));
      assert.ok(good.details["reference-free.motion"] === 1 && good.details["clip.cosine"]! > 0.99);
      const wrong = await qualityOf(combined, { frames: red, prompt: "a blue square moving up" });
      assert.ok(wrong.bps < 5000, JSON.stringify(wrong));
      const blank = Array.from({ length: 8 }, () => solid(64, 64, [0, 0, 0]));
      assert.equal((await qualityOf(combined, { frames: blank, prompt: "a red circle" })).bps, 0);
    } finally {
      await s.close();
    }
  });
});

describe("quality: GIF decoder", () => {
  it("decodes encodeGif output to the palette colours of the frames; refuses truncated or foreign bytes", () => {
    const frames = [noiseFrame(37, 21, 1), noiseFrame(37, 21, 2)];
    const gif = encodeGif(frames, { delayCs: 7 });
    const d = decodeGif(gif);
    assert.equal(d.frames.length, 2);
    assert.deepEqual(d.delaysCs, [7, 7]);
    assert.equal(d.loops, 0);
    const pal = gifPalette();
    frames.forEach((f, k) => {
      for (let p = 0; p < 37 * 21; p++) {
        const idx = paletteIndex(f.rgb[3 * p]!, f.rgb[3 * p + 1]!, f.rgb[3 * p + 2]!);
        for (let c = 0; c < 3; c++) assert.equal(d.frames[k]!.rgb[3 * p + c], pal[3 * idx + c]);
      }
    });
    assert.throws(() => decodeGif(gif.subarray(0, gif.length - 40)), /GIF: (truncated|image data has)/);
    assert.throws(() => decodeGif(new TextEncoder().encode("PNG not a gif at all")), /GIF: bad signature/);
  });
});

describe("quality: calibrated step bands", () => {
  it("pass / escalate / fail, NaN fails, and the recorded calibration supports the bands", () => {
    assert.equal(classifyStep(0), "pass");
    assert.equal(classifyStep(STEP_BANDS.passMax), "pass");
    assert.equal(classifyStep(STEP_BANDS.passMax * 1.01), "escalate");
    assert.equal(classifyStep(STEP_BANDS.failMin), "fail");
    assert.equal(classifyStep(Infinity), "fail");
    assert.equal(classifyStep(Number.NaN), "fail");
    assert.equal(classifySteps([0, 1e-6, 2e-6]), "pass");
    assert.equal(classifySteps([0, STEP_BANDS.passMax * 2]), "escalate");
    assert.equal(classifySteps([STEP_BANDS.passMax * 2, 0.3, 0]), "fail");
    assert.ok(CALIBRATION.honestMax * 10 <= STEP_BANDS.passMax);
    assert.ok(CALIBRATION.substituteMin >= STEP_BANDS.failMin);
    assert.ok(CALIBRATION.margin >= 30);
    assert.ok(STEP_BANDS.passMax < STEP_BANDS.failMin);
  });
});

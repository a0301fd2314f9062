// The project's own model: the exact denoiser of a procedural clip bank, built as ONNX with onnx-proto. Checks the
// build is deterministic, the UNet graph computes the documented posterior mean, and prompts steer colour, shape and
// motion of the decoded video.
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { initialLatent } from "@infernet/sdk";
import {
  PROCEDURAL_ATTRIBUTES,
  PROCEDURAL_LATENT,
  PROCEDURAL_TEXT_BIAS,
  alphasCumprod,
  bankClips,
  buildProceduralModel,
  closePipeline,
  encodeGif,
  encodeJobPrompts,
  ensureProceduralModel,
  generate,
  loadPipeline,
  modelDirectoryDigest,
  reexecuteStep,
  relativeL2,
  renderClip,
  runUnet,
  sameBits,
  SD_SCHEDULER_CONFIG,
  type ClipSpec,
  type Frame,
  type JobParams,
  type Pipeline,
} from "@infernet/diffusion";

const PROCEDURAL_DIGEST = "0xbceb9696922a2bd3edaf9859ba0e79fd1cd61ef1a2958de2a9b554d7f07ca39b";
const SEED = `0x${"11".repeat(32)}` as const;

function job(prompt: string, guidanceMilli = 7500, seed: `0x${string}` = SEED): JobParams {
  return { prompt, steps: 20, guidanceMilli, seed, width: 64, height: 64, frames: 8 };
}

interface FrameStats {
  /** Foreground pixels: brightest channel above 128 on a black background. */
  area: number;
  cx: number;
  cy: number;
  /** Mean RGB of the foreground. */
  colour: [number, number, number];
  /** area / bounding-box area. */
  fill: number;
}

function frameStats(f: Frame): FrameStats {
  let area = 0;
  let sx = 0;
  let sy = 0;
  const colour = [0, 0, 0];
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let y = 0; y < f.height; y++) {
    for (let x = 0; x < f.width; x++) {
      const o = 3 * (y * f.width + x);
      const rgb = [f.rgb[o]!, f.rgb[o + 1]!, f.rgb[o + 2]!];
      if (Math.max(...rgb) <= 128) continue;
      area++;
      sx += x;
      sy += y;
      for (let c = 0; c < 3; c++) colour[c] = colour[c]! + rgb[c]!;
      [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
  }
  return {
    area,
    cx: sx / area,
    cy: sy / area,
    colour: colour.map((c) => c / area) as [number, number, number],
    fill: area / ((x1 - x0 + 1) * (y1 - y0 + 1)),
  };
}

/** Root-mean-square difference. */
function rmsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s / a.length);
}

describe("diffusion procedural model", () => {
  let dir: string;
  let pipeline: Pipeline;
  before(async () => {
    dir = await ensureProceduralModel();
    pipeline = await loadPipeline({ dir });
  });
  after(async () => closePipeline(pipeline));

  it("builds deterministic bytes in the diffusers layout (pinned digest) and does not rewrite identical files", async () => {
    const a = buildProceduralModel();
    const b = buildProceduralModel();
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const [path, bytes] of a) assert.ok(Buffer.from(bytes).equals(b.get(path)!), path);
    assert.equal(await modelDirectoryDigest(dir), PROCEDURAL_DIGEST);
    const before = (await stat(`${dir}/unet/model.onnx`)).mtimeMs;
    await ensureProceduralModel(dir);
    assert.equal((await stat(`${dir}/unet/model.onnx`)).mtimeMs, before);
    assert.equal(pipeline.unet.sampleRank, 5);
    assert.equal(pipeline.unet.timestepType, "int64");
    assert.equal(pipeline.unet.timestepRank, 0);
    assert.equal(pipeline.textEncoder.idsType, "int64");
    assert.equal(pipeline.latentFactor, 4);
    assert.equal(pipeline.vae.scalingFactor, 1);
  });

  it("UNet computes the posterior-mean denoiser of the bank (checked against a float64 computation)", async () => {
    const clips = bankClips();
    const bank = clips.map(renderClip);
    const acp = alphasCumprod(SD_SCHEDULER_CONFIG);
    const prompt = "a purple diamond moving down";
    const { cond } = await encodeJobPrompts(pipeline, job(prompt, 1000));
    const want = { shape: "diamond", colour: "purple", motion: "down" };
    const K = bank[0]!.length;
    for (const t of [951, 501, 101]) {
      const a = acp[t]!;
      // x_t around a clip that does NOT match the prompt, so the text bias has to do the work at high noise.
      const noise = initialLatent(`0x${t.toString(16).padStart(64, "0")}`, K, "float32");
      const xt = bank[7]!.map((v, j) => Math.sqrt(a) * v + Math.sqrt(1 - a) * noise[j]!);
      const eps = await runUnet(
        pipeline.unet,
        { data: xt, dims: [1, ...Object.values(PROCEDURAL_LATENT)] },
        t,
        cond,
      );
      const logits = clips.map((c, i) => {
        let dot = 0;
        let norm = 0;
        for (let j = 0; j < K; j++) {
          dot += xt[j]! * bank[i]![j]!;
          norm += bank[i]![j]! ** 2;
        }
        const matched = (["shape", "colour", "motion"] as const).filter((k) => c[k] === want[k]).length;
        return (Math.sqrt(a) * dot - (a / 2) * norm) / (1 - a) + PROCEDURAL_TEXT_BIAS * matched;
      });
      const top = Math.max(...logits);
      const w = logits.map((l) => Math.exp(l - top));
      const sum = w.reduce((s, v) => s + v, 0);
      let err = 0;
      let ref2 = 0;
      for (let j = 0; j < K; j++) {
        let x0 = 0;
        for (let i = 0; i < bank.length; i++) x0 += (w[i]! / sum) * bank[i]![j]!;
        const ref = (xt[j]! - Math.sqrt(a) * x0) / Math.sqrt(1 - a);
        err += (eps[j]! - ref) ** 2;
        ref2 += ref ** 2;
      }
      assert.ok(Math.sqrt(err / ref2) < 1e-4, `t=${t}: relative L2 ${Math.sqrt(err / ref2)}`);
    }
  });

  it('"a red circle moving right" is a red circle moving right', async (t) => {
    const started = performance.now();
    const r = await generate({ pipeline, job: job("a red circle moving right") });
    t.diagnostic(`20-step generation incl. decode: ${(performance.now() - started).toFixed(1)} ms`);
    assert.equal(r.frames.length, 8);
    assert.ok(r.frames.every((f) => f.width === 64 && f.height === 64));
    const stats = r.frames.map(frameStats);
    for (const s of stats) {
      assert.ok(s.colour[0] > 180 && s.colour[1] < 40 && s.colour[2] < 40, `red: ${s.colour}`);
      assert.ok(s.area > 200 && s.area < 800, `area ${s.area}`);
      assert.ok(Math.abs(s.cy - 31.5) < 1.5, `vertical centre ${s.cy}`);
      assert.ok(s.fill > 0.65 && s.fill < 0.9, `a circle fills ~π/4 of its box: ${s.fill}`);
    }
    for (let f = 1; f < 8; f++) assert.ok(stats[f]!.cx > stats[f - 1]!.cx + 2, `moves right at frame ${f}`);
    assert.ok(stats[7]!.cx - stats[0]!.cx > 24, "crosses half the frame");
    // The final latent is the bank's red-circle-right clip, up to the √(1 − ᾱ_0) ≈ 0.03 noise DDIM leaves in z_T.
    const clip: ClipSpec = { shape: "circle", colour: "red", motion: "right" };
    const d = rmsDiff(r.finalLatent, renderClip(clip));
    t.diagnostic(`RMS distance of z_T to the prompted clip: ${d.toFixed(4)}`);
    assert.ok(d < 0.05, `${d}`);
    assert.ok(rmsDiff(r.finalLatent, renderClip({ ...clip, motion: "left" })) > 0.3);
    // The GIF of it starts with the header and holds 8 frames' worth of data.
    const gif = encodeGif(r.frames);
    assert.equal(Buffer.from(gif.subarray(0, 6)).toString("latin1"), "GIF89a");
  });

  it('"a blue square moving up" (no guidance) is a blue square moving up', async () => {
    const r = await generate({ pipeline, job: job("A blue SQUARE moving up", 1000, `0x${"22".repeat(32)}`) });
    const stats = r.frames.map(frameStats);
    for (const s of stats) {
      assert.ok(s.colour[2] > 180 && s.colour[0] < 40 && s.colour[1] < 40, `blue: ${s.colour}`);
      assert.ok(Math.abs(s.cx - 31.5) < 1.5);
      assert.ok(s.fill > 0.9, `a square fills its box: ${s.fill}`);
    }
    for (let f = 1; f < 8; f++) assert.ok(stats[f]!.cy < stats[f - 1]!.cy - 2, `moves up at frame ${f}`);
  });

  it('"yellow triangle grow" grows and unprompted attributes stay free', async () => {
    const r = await generate({ pipeline, job: job("yellow triangle grow", 3000, `0x${"33".repeat(32)}`) });
    const stats = r.frames.map(frameStats);
    assert.ok(stats[7]!.area > 3 * stats[0]!.area, `areas ${stats.map((s) => s.area)}`);
    for (const s of stats)
      assert.ok(s.colour[0] > 150 && s.colour[1] > 150 && s.colour[2] < 40, `yellow: ${s.colour}`);
    // "a circle" alone: colour and motion are drawn from the bank, different seeds give different ones.
    const picks = new Set<string>();
    for (const seed of ["44", "55", "66", "77"]) {
      const g = await generate({
        pipeline,
        job: job("a circle", 1000, `0x${seed.repeat(32)}`),
        decode: false,
      });
      const best = bankClips()
        .filter((c) => c.shape === "circle")
        .map((c) => ({ c, d: rmsDiff(g.finalLatent, renderClip(c)) }))
        .sort((x, y) => x.d - y.d)[0]!;
      assert.ok(best.d < 0.05, "lands on a circle clip of the bank");
      picks.add(`${best.c.colour}/${best.c.motion}`);
    }
    assert.ok(picks.size >= 2, `unprompted attributes vary with the seed: ${[...picks]}`);
  });

  it("a challenged step re-executes bit-exactly; a perturbed latent does not", async (t) => {
    const j = job("a white diamond moving left");
    const r = await generate({ pipeline, job: j, decode: false });
    const embeddings = await encodeJobPrompts(pipeline, j);
    for (const c of [0, 9, 19]) {
      const started = performance.now();
      const step = await reexecuteStep({
        pipeline,
        job: j,
        index: c,
        latent: r.trajectory.latents[c]!,
        embeddings,
      });
      t.diagnostic(`procedural step ${c} re-executed in ${(performance.now() - started).toFixed(2)} ms`);
      assert.ok(sameBits(step.noise, r.trajectory.noise[c]!));
      assert.ok(sameBits(step.next, r.trajectory.latents[c + 1]!));
    }
    const perturbed = Float32Array.from(r.trajectory.latents[9]!);
    perturbed[100] = perturbed[100]! + 0.01;
    const step = await reexecuteStep({ pipeline, job: j, index: 9, latent: perturbed, embeddings });
    assert.ok(relativeL2(step.noise, r.trajectory.noise[9]!) > 0);
  });

  it("knows its 16 attribute words and ignores unknown words", async () => {
    assert.equal(PROCEDURAL_ATTRIBUTES.length, 16);
    const a = await encodeJobPrompts(pipeline, job("a green diamond moving left", 1000));
    const b = await encodeJobPrompts(pipeline, job("a green zebra diamond moving left quickly", 1000));
    const pooled = (x: Float32Array) => {
      const out = new Array(16).fill(0);
      for (let i = 0; i < x.length; i++) out[i % 16] = Math.max(out[i % 16], x[i]!);
      return out;
    };
    assert.deepEqual(pooled(a.cond.data), pooled(b.cond.data));
    assert.deepEqual(
      pooled(a.cond.data).flatMap((v, d) => (v === 1 ? [PROCEDURAL_ATTRIBUTES[d]] : [])),
      ["diamond", "green", "left"],
    );
  });
});

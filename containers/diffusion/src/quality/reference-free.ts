// Reference-free checks of a clip: no model, no prompt, only the frames (RGB, 0–255). Three scores in [0, 1],
// combined by their geometric mean (one failed check fails the clip):
//
//   content   not blank and not noise: per frame, the pixels' standard deviation σ (RMS over R, G, B; ramp
//             σLo → σHi) times their spatial structure ρ, the correlation of horizontally and vertically adjacent
//             pixels (ramp ρLo → ρHi; white noise has ρ ≈ 0, images ≈ 0.9); the mean over frames
//   motion    not static: the mean absolute change between consecutive frames m (ramp mLo → mHi)
//   temporal  no flicker, the smallest of three:
//             - coherence: on an 8 × 8 grid of cell means (a few pixels of motion barely move it), the Pearson
//               correlation c̄ of consecutive frames (ramp cLo → cHi; unrelated frames ≈ 0);
//             - lag ratio r = mean|X_{t+2} − X_t| / mean|X_{t+1} − X_t| (ramp rLo → rHi): smooth motion keeps
//               going (r ≈ 1–2), flicker comes back (A, B, A, B: r ≈ 0);
//             - brightness: the frames' mean colour μ_t, b = mean‖μ_{t+1} − 2μ_t + μ_{t−1}‖ / (mean‖μ_t‖ + 16),
//               1 − ramp(b, bLo, bHi) (a fade is linear and passes; alternating exposure does not)
//
// A single frame (an image) is scored on content alone. The defaults below are chosen on the procedural model's
// clips (all 144 bank clips score above 0.9) and on blank, static, noise, shuffled and flickering clips (0);
// test/diffusion.quality.test.ts pins both.
import { checkFrames, type Frame } from "../output/frame.ts";
import { combineScores, ramp, type QualityInput, type QualityScore, type QualityScorer } from "./scorer.ts";
export interface ReferenceFreeThresholds {
  sigmaLo: number;
  sigmaHi: number;
  structureLo: number;
  structureHi: number;
  motionLo: number;
  motionHi: number;
  correlationLo: number;
  correlationHi: number;
  lagLo: number;
  lagHi: number;
  brightnessLo: number;
  brightnessHi: number;
}

export const REFERENCE_FREE_THRESHOLDS: Readonly<ReferenceFreeThresholds> = Object.freeze({
  sigmaLo: 4,
  sigmaHi: 16,
  structureLo: 0.2,
  structureHi: 0.6,
  motionLo: 0.05,
  motionHi: 0.5,
  correlationLo: 0.2,
  correlationHi: 0.7,
  lagLo: 0.6,
  lagHi: 1,
  brightnessLo: 0.15,
  brightnessHi: 0.4,
});

const GRID = 8;

/** A frame's pixels as float64, interleaved R, G, B. */
function pixels(f: Frame): Float64Array {
  return Float64Array.from(f.rgb);
}

/** Per-channel means and the RMS over channels of the per-channel standard deviations. */
function channelStats(x: Float64Array): { means: [number, number, number]; sigma: number } {
  const n = x.length / 3;
  const means: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < x.length; i++) means[i % 3]! += x[i]!;
  for (let c = 0; c < 3; c++) means[c]! /= n;
  let q = 0;
  for (let i = 0; i < x.length; i++) q += (x[i]! - means[i % 3]!) ** 2;
  return { means, sigma: Math.sqrt(q / x.length) };
}

/** Correlation of adjacent pixels (right and down neighbours, all channels); 0 for a constant frame. */
export function spatialStructure(x: Float64Array, w: number, h: number): number {
  const { means, sigma } = channelStats(x);
  if (sigma === 0) return 0;
  let num = 0;
  let pairs = 0;
  for (let r = 0; r < h; r++) {
    for (let col = 0; col < w; col++) {
      for (let c = 0; c < 3; c++) {
        const i = 3 * (r * w + col) + c;
        const d = x[i]! - means[c]!;
        if (col + 1 < w) {
          num += d * (x[i + 3]! - means[c]!);
          pairs++;
        }
        if (r + 1 < h) {
          num += d * (x[i + 3 * w]! - means[c]!);
          pairs++;
        }
      }
    }
  }
  return num / pairs / (sigma * sigma);
}

/** Cell means per channel on a GRID × GRID grid (the frame itself when smaller). */
function coarse(x: Float64Array, w: number, h: number): Float64Array {
  const gw = Math.min(GRID, w);
  const gh = Math.min(GRID, h);
  const out = new Float64Array(gw * gh * 3);
  const cnt = new Float64Array(gw * gh);
  for (let r = 0; r < h; r++) {
    const gr = Math.min(gh - 1, Math.floor((r * gh) / h));
    for (let col = 0; col < w; col++) {
      const g = gr * gw + Math.min(gw - 1, Math.floor((col * gw) / w));
      for (let c = 0; c < 3; c++) out[3 * g + c]! += x[3 * (r * w + col) + c]!;
      cnt[g]!++;
    }
  }
  for (let i = 0; i < out.length; i++) out[i]! /= cnt[Math.floor(i / 3)]!;
  return out;
}

function pearson(a: Float64Array, b: Float64Array): number {
  const mean = (v: Float64Array) => v.reduce((s, x) => s + x, 0) / v.length;
  const ma = mean(a);
  const mb = mean(b);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  if (aa === 0 || bb === 0) return aa === 0 && bb === 0 && ma === mb ? 1 : 0;
  return ab / Math.sqrt(aa * bb);
}

function meanAbsDiff(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

const avg = (v: readonly number[]) => (v.length === 0 ? 0 : v.reduce((a, b) => a + b, 0) / v.length);

export class ReferenceFreeScorer implements QualityScorer {
  readonly name = "reference-free";
  readonly thresholds: Readonly<ReferenceFreeThresholds>;

  constructor(thresholds: Partial<ReferenceFreeThresholds> = {}) {
    this.thresholds = { ...REFERENCE_FREE_THRESHOLDS, ...thresholds };
  }

  /** Synchronous core (the interface's `score` wraps it). */
  measure(frames: readonly Frame[]): QualityScore {
    const { width: w, height: h } = checkFrames(frames);
    const t = this.thresholds;
    const xs = frames.map(pixels);
    const stats = xs.map(channelStats);
    const structures = xs.map((x) => spatialStructure(x, w, h));
    const content = avg(
      stats.map(
        (s, i) => ramp(s.sigma, t.sigmaLo, t.sigmaHi) * ramp(structures[i]!, t.structureLo, t.structureHi),
      ),
    );
    const details: Record<string, number> = {
      content,
      sigma: avg(stats.map((s) => s.sigma)),
      structure: avg(structures),
    };
    if (xs.length < 2) return { scorer: this.name, score: content, details };

    const F = xs.length;
    const cs = xs.map((x) => coarse(x, w, h));
    const d1 = xs.slice(1).map((x, i) => meanAbsDiff(xs[i]!, x));
    const correlation = avg(cs.slice(1).map((c, i) => pearson(cs[i]!, c)));
    const motionMean = avg(d1);
    let lag = 1;
    let lagScore = 1;
    let brightness = 0;
    if (F >= 3) {
      const d1Shared = avg(d1.slice(0, F - 2));
      const d2 = avg(xs.slice(2).map((x, i) => meanAbsDiff(xs[i]!, x)));
      if (d1Shared > 1e-9) {
        lag = d2 / d1Shared;
        lagScore = ramp(lag, t.lagLo, t.lagHi);
      }
      const mu = stats.map((s) => s.means);
      const second = mu
        .slice(2)
        .map((m, i) => Math.hypot(...m.map((v, c) => v - 2 * mu[i + 1]![c]! + mu[i]![c]!)));
      brightness = avg(second) / (avg(mu.map((m) => Math.hypot(...m))) + 16);
    }
    const motion = ramp(motionMean, t.motionLo, t.motionHi);
    const temporal = Math.min(
      ramp(correlation, t.correlationLo, t.correlationHi),
      lagScore,
      1 - ramp(brightness, t.brightnessLo, t.brightnessHi),
    );
    Object.assign(details, { motion, motionMean, temporal, correlation, lag, brightness });
    const score = combineScores([
      { score: content, weight: 1 },
      { score: motion, weight: 1 },
      { score: temporal, weight: 1 },
    ]);
    return { scorer: this.name, score, details };
  }

  async score(input: QualityInput): Promise<QualityScore> {
    return this.measure(input.frames);
  }
}

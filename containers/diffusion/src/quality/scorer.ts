// Quality scoring of a generated clip, pluggable: a scorer maps frames (and the prompt) to a score in [0, 1]; scores
// combine by a weighted geometric mean, and the result goes on-chain as basis points (`postVerdict(…, quality)`,
// a uint16: 0 … 10,000).
import type { Frame } from "../output/frame.ts";

export interface QualityInput {
  /** RGB frames (one for an image). */
  frames: readonly Frame[];
  /** The job's prompt (scorers that do not use it ignore it). */
  prompt: string;
}

export interface QualityScore {
  /** The scorer's name. */
  scorer: string;
  /** In [0, 1]; 1 is best. */
  score: number;
  /** The measurements behind it (named numbers, for logs and verdict digests). */
  details: Record<string, number>;
}

export interface QualityScorer {
  readonly name: string;
  score(input: QualityInput): Promise<QualityScore>;
}

/** Basis points: the range of `quality` in `postVerdict` (uint16, 10,000 = 100 %). */
export const QUALITY_MAX_BPS = 10_000;

export function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

/** 0 at or below `lo`, 1 at or above `hi`, linear between. */
export function ramp(x: number, lo: number, hi: number): number {
  return clamp01((x - lo) / (hi - lo));
}

/** A score in [0, 1] as basis points (rounded; NaN → 0). */
export function qualityBps(score: number): number {
  return Math.round(clamp01(score) * QUALITY_MAX_BPS);
}

/** Weighted geometric mean: any factor at 0 gives 0 (a clip failing one check fails), all at 1 give 1. */
export function combineScores(parts: ReadonlyArray<{ score: number; weight: number }>): number {
  let w = 0;
  let log = 0;
  for (const p of parts) {
    if (!(p.weight > 0)) continue;
    const s = clamp01(p.score);
    if (s === 0) return 0;
    w += p.weight;
    log += p.weight * Math.log(s);
  }
  return w === 0 ? 0 : clamp01(Math.exp(log / w));
}

/** Several scorers as one: their weighted geometric mean; details prefixed `<scorer>.`. */
export class CombinedScorer implements QualityScorer {
  readonly name: string;
  readonly #parts: ReadonlyArray<{ scorer: QualityScorer; weight: number }>;

  constructor(parts: ReadonlyArray<{ scorer: QualityScorer; weight?: number }>, name = "combined") {
    if (parts.length === 0) throw new Error("CombinedScorer needs at least one scorer");
    this.#parts = parts.map((p) => ({ scorer: p.scorer, weight: p.weight ?? 1 }));
    this.name = name;
  }

  async score(input: QualityInput): Promise<QualityScore> {
    const details: Record<string, number> = {};
    const parts: Array<{ score: number; weight: number }> = [];
    for (const { scorer, weight } of this.#parts) {
      const s = await scorer.score(input);
      details[s.scorer] = s.score;
      for (const [k, v] of Object.entries(s.details)) details[`${s.scorer}.${k}`] = v;
      parts.push({ score: s.score, weight });
    }
    return { scorer: this.name, score: combineScores(parts), details };
  }
}

/** Scores a clip with `scorer` and returns the on-chain quality (basis points) with the breakdown. */
export async function qualityOf(
  scorer: QualityScorer,
  input: QualityInput,
): Promise<QualityScore & { bps: number }> {
  const s = await scorer.score(input);
  return { ...s, bps: qualityBps(s.score) };
}

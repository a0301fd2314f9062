/** Tables for the docs: detection by tamper share, and the fraud advantage by tamper size. */
import { detectionCurve, fraudAdvantageCurve, type BondedParameters } from "./bond.ts";
import { jobsUntil } from "./cumulative.ts";
import { stratifiedWorstCase, uniformDetection, type SpotCheck } from "./hypergeometric.ts";
import { ceilRational, rational, toProbability, type Probability } from "./rational.ts";

/** One row of `detectionTable`. */
export interface DetectionRow {
  /** The tamper share asked for. */
  readonly fraction: number;
  /** Tampered steps: ⌈fraction·T⌉ (at least this share of the steps). */
  readonly m: number;
  /** Per-job detection, uniform sampling without replacement (hypergeometric). */
  readonly uniform: number;
  /** Per-job detection, the protocol's stratified challenge against the adversary's best placement. */
  readonly stratifiedWorst: number;
  /** Jobs until cumulative detection reaches `cumulativeTarget`, uniform. */
  readonly jobsUniform: number;
  /** Jobs until cumulative detection reaches `cumulativeTarget`, stratified worst case. */
  readonly jobsStratified: number;
}

/**
 * The tamper count for a share of the steps: ⌈fraction·T⌉, read exactly (a float share is taken as its decimal,
 * and a product within 1e−9 of an integer snaps to it, so 2/30 given as 0.0666… gives m = 2, not 3).
 */
export function tamperCount(T: number, fraction: Probability): number {
  const f = toProbability(fraction, "fraction");
  const x = rational(f.num * BigInt(T), f.den);
  const nearest = Math.round(Number(x.num) / Number(x.den));
  const diff = rational(x.num - BigInt(nearest) * x.den, x.den);
  if (Math.abs(Number(diff.num) / Number(diff.den)) <= 1e-9) return nearest;
  return Number(ceilRational(x));
}

/** Detection rows for each tamper share (m = ⌈share·T⌉), with jobs until `cumulativeTarget` (default 0.99). */
export function detectionTable(
  params: SpotCheck & {
    readonly tamperFractions: readonly Probability[];
    readonly cumulativeTarget?: Probability;
  },
): DetectionRow[] {
  const target = params.cumulativeTarget ?? 0.99;
  return params.tamperFractions.map((fraction) => {
    const m = tamperCount(params.T, fraction);
    const uniform = uniformDetection({ T: params.T, k: params.k, m });
    const worst = stratifiedWorstCase({ T: params.T, k: params.k, m });
    return {
      fraction: typeof fraction === "number" ? fraction : Number(fraction.num) / Number(fraction.den),
      m,
      uniform: uniform.value,
      stratifiedWorst: worst.value,
      jobsUniform: jobsUntil(uniform.exact, target),
      jobsStratified: jobsUntil(worst.exact, target),
    };
  });
}

/**
 * A markdown table of `detectionTable` rows, probabilities to `digits` decimals (default 4); `targetLabel` names the
 * cumulative target the rows were computed for (default "99%").
 */
export function formatDetectionTable(rows: readonly DetectionRow[], digits = 4, targetLabel = "99%"): string {
  const lines = [
    `| tampered | m | detection (uniform) | detection (stratified, worst) | jobs to ${targetLabel} (uniform) | jobs (stratified) |`,
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${(r.fraction * 100).toFixed(1)}% | ${r.m} | ${r.uniform.toFixed(digits)} | ${r.stratifiedWorst.toFixed(digits)} | ${r.jobsUniform} | ${r.jobsStratified} |`,
    );
  }
  return lines.join("\n");
}

/** One row of `fraudAdvantageTable`. */
export interface FraudRow {
  readonly m: number;
  readonly detection: number;
  /** EV(fraud at m) − EV(honest) in wei, as a float (negative: fraud loses). */
  readonly advantageWei: number;
}

/** EV(fraud) − EV(honest) for every tamper size m = 1..T, as floats for reports. */
export function fraudAdvantageTable(params: BondedParameters): FraudRow[] {
  const detection = detectionCurve(params);
  return fraudAdvantageCurve(params).map((a, i) => ({
    m: i + 1,
    detection: detection[i + 1]?.value ?? NaN,
    advantageWei: a.value,
  }));
}

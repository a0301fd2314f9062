/**
 * The bond that makes fraud irrational, and the deployment parameter guard built on it.
 *
 * Model (per job; all amounts in wei):
 * - R (`price`): the reward, escrowed until the dispute window closes and forfeited on proven fraud.
 * - C (`computeCost`): the node's cost of computing all T steps honestly.
 * - G (`outsideGain`): value the cheat earns outside the protocol from a false output (e.g. what someone pays
 *   for it); take G = price when in doubt.
 * - V (`trustValue`): the value of the future business a node loses when its fraud is proven (lost trust).
 * - S (`bond`): slashed on proven fraud.
 * - q: the probability that a job is audited at all; p_m: the probability that an audit of a job with m of T steps
 *   tampered catches it (`sampling`: "uniform" = hypergeometric 1 − C(T−m,k)/C(T,k); "stratified" = the protocol's
 *   challenge of docs/protocol.md §7, against the adversary's best placement of the m steps; see hypergeometric.ts).
 *
 * Honest: EV = R − C. A cheat tampering m steps skips (m/T)·C of the work and gains G; with probability q·p_m it is
 * caught and loses R, S and V. Hence
 *     EV(fraud at m) − EV(honest) = (m/T)·C + G − q·p_m·(R + S + V).
 * Fraud is irrational iff this is < 0 for every m = 1..T, i.e. iff
 *     S > X_m − R − V  for all m,   X_m = ((m/T)·C + G) / (q·p_m),
 * so the least bond in wei is S_min = max(0, ⌊max_m X_m − R − V⌋ + 1). Every comparison here is exact: detection
 * probabilities are bigint ratios and amounts are bigint wei, compared by cross-multiplication.
 *
 * Closed form. p_m is concave in m for both samplings: uniform increments are C(T−m−1, k−1)/C(T, k), which shrink;
 * the stratified worst case (water-filling, hypergeometric.ts) removes one step from a stratum at the top level r,
 * so successive increments are Π/r and Π·(r−1)/(r·r') with r' ≥ r − 1 the next top level: a ratio ≤ 1. So p_m lies
 * on or above the chord from (1, p_1) to (T, 1), and X_m ≤ ((m/T)·C + G)/(q·chord(m)), a ratio of two affine
 * functions of m, which peaks at m = 1 or m = T, where it equals X_1 or X_T. Hence max_m X_m = max{X_1, X_T}
 * EXACTLY, with p_1 = k/T (uniform) or 1/⌈T/k⌉ (stratified: the largest stratum) and p_T = 1:
 *     S* = max{ (C + G)/q, s·(C/T + G)/q } − R − V,   s = T/k (uniform) or ⌈T/k⌉ (stratified),
 * and S_min is the least wei strictly above S*. reference/anchors.md gives max{ C/q, (C + T·G)/(q·k) } − R − V: its
 * m = 1 term agrees (for uniform, or k | T), but C/q misses G and falls short of the m = T condition whenever
 * G > 0 and (T − k)·G < (k − 1)·C (e.g. k = T, or G small against C); with G = price ≥ C and k ≤ T/2 they agree.
 * The bond must be posted per open job: stake has to cover every job open inside the dispute window.
 */
import { InvalidAmountError, TamperCountError, UnboundedBondError } from "./errors.ts";
import {
  assertSpotCheck,
  stratifiedWorstCaseCurve,
  uniformDetectionCurve,
  type SpotCheck,
} from "./hypergeometric.ts";
import {
  compareRational,
  floorRational,
  rational,
  rationalToNumber,
  toProbability,
  type Exact,
  type Probability,
  type Rational,
} from "./rational.ts";

/** How the challenge picks the k steps; "stratified" is the protocol's (docs/protocol.md §7). */
export type Sampling = "uniform" | "stratified";

/** A deployment's economic parameters, without the bond. Amounts in wei. */
export interface EconomicParameters extends SpotCheck {
  /** Probability that a job is audited at all (0 < q ≤ 1 for a finite bond). */
  readonly q: Probability;
  /** R: the reward per job, escrowed until the dispute window closes. */
  readonly price: bigint;
  /** C: the cost of computing all T steps. */
  readonly computeCost: bigint;
  /** V: the value of the future trust a node loses when caught. */
  readonly trustValue: bigint;
  /** G: what a false output earns the cheat outside the protocol. */
  readonly outsideGain: bigint;
  /** Default "stratified": the protocol's challenge against the adversary's best placement. */
  readonly sampling?: Sampling;
}

/** Economic parameters with the bond S (wei) slashed on proven fraud. */
export interface BondedParameters extends EconomicParameters {
  readonly bond: bigint;
}

interface Checked {
  T: number;
  k: number;
  q: Rational;
  R: bigint;
  C: bigint;
  V: bigint;
  G: bigint;
  detection: Exact[];
}

function amount(parameter: string, value: unknown): bigint {
  if (typeof value !== "bigint" || value < 0n) throw new InvalidAmountError(parameter, value);
  return value;
}

/** Detection per tamper size m = 0..T (index m) under the chosen sampling. */
export function detectionCurve(params: SpotCheck & { readonly sampling?: Sampling }): Exact[] {
  const sampling = params.sampling ?? "stratified";
  if (sampling === "uniform") return uniformDetectionCurve(params);
  if (sampling === "stratified") return stratifiedWorstCaseCurve(params);
  throw new RangeError(`sampling must be "uniform" or "stratified", got ${String(sampling)}`);
}

function check(params: EconomicParameters): Checked {
  assertSpotCheck(params);
  return {
    T: params.T,
    k: params.k,
    q: toProbability(params.q, "q"),
    R: amount("price", params.price),
    C: amount("computeCost", params.computeCost),
    V: amount("trustValue", params.trustValue),
    G: amount("outsideGain", params.outsideGain),
    detection: detectionCurve(params),
  };
}

function pAt(c: Checked, m: number): Rational {
  return (c.detection[m] as Exact).exact;
}

/** (m/T)·C + G − q·p_m·(R + S + V), exactly, in wei. */
function advantage(c: Checked, S: bigint, m: number): Rational {
  const p = pAt(c, m);
  const T = BigInt(c.T);
  // [(mC + TG)·q.den·p.den − T·q.num·p.num·(R + S + V)] / (T·q.den·p.den)
  const num = (BigInt(m) * c.C + T * c.G) * c.q.den * p.den - T * c.q.num * p.num * (c.R + S + c.V);
  return rational(num, T * c.q.den * p.den);
}

/**
 * EV(fraud tampering m steps) − EV(honest), in wei, exact and as a float. Negative means fraud at m loses money.
 */
export function fraudAdvantage(params: BondedParameters & { readonly m: number }): Exact {
  const c = check(params);
  const S = amount("bond", params.bond);
  if (!Number.isSafeInteger(params.m) || params.m < 1 || params.m > c.T) {
    throw new TamperCountError(params.m, 1, c.T);
  }
  const a = advantage(c, S, params.m);
  return { exact: a, value: rationalToNumber(a) };
}

/** EV(fraud at m) − EV(honest) for every m = 1..T (index m − 1), exactly and as floats. */
export function fraudAdvantageCurve(params: BondedParameters): Exact[] {
  const c = check(params);
  const S = amount("bond", params.bond);
  const out: Exact[] = [];
  for (let m = 1; m <= c.T; m++) {
    const a = advantage(c, S, m);
    out.push({ exact: a, value: rationalToNumber(a) });
  }
  return out;
}

/** The least bond, and where it binds. */
export interface MinimumBond {
  /** S_min: the least bond in wei under which fraud has negative expected payoff at every m = 1..T. */
  readonly bond: bigint;
  /** The tamper size at which the bond binds (the largest X_m; the smallest such m on ties). */
  readonly worstM: number;
  /** max_m X_m − R − V exactly: the real-valued bond at which the best fraud just breaks even (may be negative). */
  readonly breakEven: Rational;
}

/** S_min = max(0, ⌊max_m ((m/T)·C + G)/(q·p_m) − R − V⌋ + 1); throws `UnboundedBondError` when q = 0. */
export function minimumBond(params: EconomicParameters): MinimumBond {
  const c = check(params);
  if (c.q.num === 0n) throw new UnboundedBondError();
  const T = BigInt(c.T);
  let worst: Rational | undefined;
  let worstM = 1;
  for (let m = 1; m <= c.T; m++) {
    const p = pAt(c, m);
    // X_m = (mC + TG)·p.den·q.den / (T·p.num·q.num); p.num > 0 for m ≥ 1.
    const x = rational((BigInt(m) * c.C + T * c.G) * p.den * c.q.den, T * p.num * c.q.num);
    if (worst === undefined || compareRational(x, worst) > 0) {
      worst = x;
      worstM = m;
    }
  }
  const w = worst as Rational;
  const breakEven = rational(w.num - (c.R + c.V) * w.den, w.den);
  const bond = floorRational(breakEven) + 1n;
  return { bond: bond > 0n ? bond : 0n, worstM, breakEven };
}

/** The closed-form bond, as a real number and as the least wei strictly above it (floored at 0). */
export interface ClosedFormBond {
  readonly exact: Rational;
  readonly wei: bigint;
}

/**
 * S* = max{ (C + G)/q, s·(C/T + G)/q } − R − V with s = T/k for uniform sampling and s = ⌈T/k⌉ (the largest
 * stratum) for stratified. By the concavity argument in the file header this is exactly max_m X_m − R − V, so `wei`
 * equals `minimumBond(...).bond` (the tests check it over a grid); throws `UnboundedBondError` when q = 0.
 */
export function closedFormBond(params: EconomicParameters): ClosedFormBond {
  const c = check(params);
  if (c.q.num === 0n) throw new UnboundedBondError();
  const sampling = params.sampling ?? "stratified";
  const T = BigInt(c.T);
  const k = BigInt(c.k);
  // s/T as a ratio: 1/k (uniform) or ⌈T/k⌉/T (stratified).
  const sOverT = sampling === "uniform" ? rational(1n, k) : rational((T + k - 1n) / k, T);
  const allTampered = rational((c.C + c.G) * c.q.den, c.q.num); // (C + G)/q
  const oneTampered = rational((c.C + T * c.G) * sOverT.num * c.q.den, sOverT.den * c.q.num); // s(C/T + G)/q
  const top = compareRational(allTampered, oneTampered) >= 0 ? allTampered : oneTampered;
  const value = rational(top.num - (c.R + c.V) * top.den, top.den);
  const wei = floorRational(value) + 1n;
  return { exact: value, wei: wei > 0n ? wei : 0n };
}

/** The parameter guard's verdict. */
export interface ParameterCheck {
  /** True iff fraud has negative expected payoff at every tamper size m = 1..T. */
  readonly ok: boolean;
  /** The tamper size with the smallest margin (most profitable fraud); the smallest such m on ties. */
  readonly worstM: number;
  /** min_m [q·p_m·(R + S + V) − (m/T)·C − G] in wei, exactly: how much the best fraud loses (ok ⇔ margin > 0). */
  readonly margin: Rational;
  /** `margin` as a float, for reports. */
  readonly marginValue: number;
  /** S_min for these parameters (wei); undefined when q = 0 (no finite bond suffices). */
  readonly minimumBond: bigint | undefined;
}

/**
 * The deployment parameter guard: refuse parameters under which fraud has non-negative expected payoff at some
 * tamper size. `ok` is exactly `bond ≥ minimumBond(params).bond`.
 */
export function checkParameters(params: BondedParameters): ParameterCheck {
  const c = check(params);
  const S = amount("bond", params.bond);
  let worst: Rational | undefined;
  let worstM = 1;
  for (let m = 1; m <= c.T; m++) {
    const a = advantage(c, S, m);
    if (worst === undefined || compareRational(a, worst) > 0) {
      worst = a;
      worstM = m;
    }
  }
  const w = worst as Rational;
  const margin = rational(-w.num, w.den);
  return {
    ok: margin.num > 0n,
    worstM,
    margin,
    marginValue: rationalToNumber(margin),
    minimumBond: c.q.num === 0n ? undefined : minimumBond(params).bond,
  };
}

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  binomial,
  ceilRational,
  ChecksExceedStepsError,
  checkParameters,
  closedFormBond,
  compareRational,
  cumulativeDetection,
  cumulativeDetectionExact,
  decimalToRational,
  detectionTable,
  EconomicsInputError,
  floorRational,
  formatDetectionTable,
  fraudAdvantage,
  fraudAdvantageCurve,
  fraudAdvantageTable,
  InvalidAmountError,
  InvalidCountError,
  InvalidProbabilityError,
  InvalidTamperedIndexError,
  jobsUntil,
  minimumBond,
  rational,
  rationalToNumber,
  strata,
  stratifiedBestCase,
  stratifiedDetection,
  stratifiedWorstCase,
  stratifiedWorstCaseCurve,
  TamperCountError,
  tamperCount,
  UnboundedBondError,
  uniformDetection,
  uniformDetectionCurve,
  type EconomicParameters,
  type Rational,
  type Sampling,
} from "@infernet/sdk";

const ETH = 10n ** 18n;

/** Every `size`-subset of [0, n), in lexicographic order. */
function* subsets(n: number, size: number, start = 0, prefix: number[] = []): Generator<number[]> {
  if (prefix.length === size) {
    yield [...prefix];
    return;
  }
  for (let i = start; i <= n - (size - prefix.length); i++) {
    prefix.push(i);
    yield* subsets(n, size, i + 1, prefix);
    prefix.pop();
  }
}

/** Every tuple with one element from each list. */
function* product(lists: readonly (readonly number[])[], prefix: number[] = []): Generator<number[]> {
  if (prefix.length === lists.length) {
    yield [...prefix];
    return;
  }
  for (const x of lists[prefix.length] ?? []) {
    prefix.push(x);
    yield* product(lists, prefix);
    prefix.pop();
  }
}

const eq = (a: Rational, b: Rational) => compareRational(a, b) === 0;
const fmt = (r: Rational) => `${r.num}/${r.den}`;

describe("economics: per-job detection (hypergeometric)", () => {
  it("reproduces the anchors figures for T = 30, k = 3 (10% re-execution)", () => {
    assert.deepEqual(uniformDetection({ T: 30, k: 3, m: 1 }).exact, { num: 1n, den: 10n });
    // 1 − C(27,3)/C(30,3) = 1 − 2925/4060
    assert.deepEqual(uniformDetection({ T: 30, k: 3, m: 3 }).exact, rational(4060n - 2925n, 4060n));
    const rows = detectionTable({ T: 30, k: 3, tamperFractions: [1 / 30, 0.1, 0.25, 0.5, 0.9] });
    assert.deepEqual(
      rows.map((r) => r.m),
      [1, 3, 8, 15, 27],
    );
    assert.deepEqual(
      rows.map((r) => r.uniform.toFixed(2)),
      ["0.10", "0.28", "0.62", "0.89", "1.00"],
    );
    assert.ok((rows[4]?.uniform ?? 0) > 0.999);
  });

  it("reproduces the anchors figures for T = 50, k = 3 (6% re-execution)", () => {
    assert.deepEqual(uniformDetection({ T: 50, k: 3, m: 1 }).exact, { num: 3n, den: 50n });
    // 1 − C(45,3)/C(50,3) = 1 − 14190/19600
    const tenth = uniformDetection({ T: 50, k: 3, m: 5 });
    assert.deepEqual(tenth.exact, rational(19600n - 14190n, 19600n));
    assert.equal(tenth.value.toFixed(3), "0.276");
    // 1 − C(5,3)/C(50,3) = 1 − 10/19600
    const ninety = uniformDetection({ T: 50, k: 3, m: 45 });
    assert.deepEqual(ninety.exact, rational(19590n, 19600n));
    assert.equal(ninety.value.toFixed(4), "0.9995");
  });

  it("equals brute force over every k-subset of checked steps (T ≤ 9), whatever the placement", () => {
    for (let T = 1; T <= 9; T++) {
      for (let k = 1; k <= T; k++) {
        const all = [...subsets(T, k)];
        const curve = uniformDetectionCurve({ T, k });
        for (let m = 0; m <= T; m++) {
          // Two placements: the first m steps, and every other step from the end.
          const placements = [
            new Set(Array.from({ length: m }, (_, i) => i)),
            new Set(Array.from({ length: m }, (_, i) => (T - 1 - 2 * i + 2 * T) % T)),
          ];
          const expected = uniformDetection({ T, k, m }).exact;
          assert.ok(eq(curve[m]!.exact, expected), `curve T=${T} k=${k} m=${m}`);
          assert.equal(
            expected.num * binomial(T, k),
            expected.den * (binomial(T, k) - binomial(T - m, k)),
            `binomial form T=${T} k=${k} m=${m}`,
          );
          for (const tampered of placements) {
            if (tampered.size !== m) continue;
            const hits = all.filter((s) => s.some((i) => tampered.has(i))).length;
            assert.ok(
              eq(rational(BigInt(hits), BigInt(all.length)), expected),
              `T=${T} k=${k} m=${m} ${fmt(expected)}`,
            );
          }
        }
      }
    }
  });

  it("stays exact for long trajectories, and the float agrees", () => {
    const curve = uniformDetectionCurve({ T: 1000, k: 100 });
    for (const m of [1, 10, 333, 900, 901, 1000]) {
      const direct = uniformDetection({ T: 1000, k: 100, m });
      assert.ok(eq(curve[m]!.exact, direct.exact), `m=${m}`);
      const approx =
        1 -
        Math.exp(
          Array.from({ length: 100 }, (_, i) => Math.log(Math.max(0, 1000 - m - i) / (1000 - i))).reduce(
            (a, b) => a + b,
          ),
        );
      assert.ok(Math.abs(direct.value - approx) < 1e-12, `m=${m}: ${direct.value} vs ${approx}`);
    }
    assert.equal(uniformDetection({ T: 1000, k: 100, m: 1 }).value, 0.1);
  });
});

describe("economics: the protocol's stratified challenge", () => {
  it("strata follow docs/protocol.md §7 and tile [0, T)", () => {
    assert.deepEqual(strata({ T: 50, k: 3 }), [
      { lo: 0, hi: 16 },
      { lo: 16, hi: 33 },
      { lo: 33, hi: 50 },
    ]);
    for (let T = 1; T <= 40; T++) {
      for (let k = 1; k <= T; k++) {
        const ss = strata({ T, k });
        assert.equal(ss.length, k);
        ss.forEach((s, j) => {
          assert.equal(s.lo, Math.floor((j * T) / k));
          assert.equal(s.hi, j + 1 === k ? T : ss[j + 1]!.lo);
          assert.ok(s.hi - s.lo === Math.floor(T / k) || s.hi - s.lo === Math.ceil(T / k));
        });
      }
    }
  });

  it("equals brute force over every challenge (one index per stratum) for explicit tampered sets", () => {
    const cases: [number, number, number[]][] = [
      [7, 3, [0]],
      [7, 3, [1, 2]],
      [7, 3, [0, 3, 6]],
      [10, 4, [2, 5, 8, 9]],
      [10, 4, []],
      [11, 3, [0, 1, 2, 3]],
      [12, 5, [11, 0, 6]],
      [9, 9, [4]],
      [9, 1, [1, 2, 3]],
    ];
    for (const [T, k, tampered] of cases) {
      const ss = strata({ T, k });
      const lists = ss.map(({ lo, hi }) => Array.from({ length: hi - lo }, (_, i) => lo + i));
      let hits = 0;
      let total = 0;
      for (const challenge of product(lists)) {
        total++;
        if (challenge.some((c) => tampered.includes(c))) hits++;
      }
      const d = stratifiedDetection({ T, k, tampered });
      assert.ok(
        eq(d.exact, rational(BigInt(hits), BigInt(total))),
        `T=${T} k=${k} [${tampered}]: ${fmt(d.exact)}`,
      );
      assert.equal(
        d.perStratum.reduce((a, b) => a + b, 0),
        tampered.length,
      );
    }
  });

  it("worst and best case equal the min and max over every placement (T ≤ 12); the adversary spreads", () => {
    for (let T = 1; T <= 12; T++) {
      for (let k = 1; k <= T; k++) {
        const curve = stratifiedWorstCaseCurve({ T, k });
        for (let m = 0; m <= T; m++) {
          let min: Rational | undefined;
          let max: Rational | undefined;
          for (const tampered of subsets(T, m)) {
            const d = stratifiedDetection({ T, k, tampered }).exact;
            if (min === undefined || compareRational(d, min) < 0) min = d;
            if (max === undefined || compareRational(d, max) > 0) max = d;
          }
          const worst = stratifiedWorstCase({ T, k, m });
          const best = stratifiedBestCase({ T, k, m });
          const where = `T=${T} k=${k} m=${m}`;
          assert.ok(eq(worst.exact, min!), `${where}: worst ${fmt(worst.exact)} vs brute ${fmt(min!)}`);
          assert.ok(eq(best.exact, max!), `${where}: best ${fmt(best.exact)} vs brute ${fmt(max!)}`);
          assert.ok(eq(curve[m]!.exact, worst.exact), `${where}: curve`);
          // The reported placements attain the reported values.
          for (const d of [worst, best]) {
            assert.equal(
              d.perStratum.reduce((a, b) => a + b, 0),
              m,
            );
            const ss = strata({ T, k });
            const tampered = d.perStratum.flatMap((a, j) =>
              Array.from({ length: a }, (_, i) => ss[j]!.lo + i),
            );
            assert.ok(eq(stratifiedDetection({ T, k, tampered }).exact, d.exact), `${where}: placement`);
          }
        }
      }
    }
  });

  it("spreading beats the uniform figure: T = 30, k = 3, m = 3 gives 1 − 0.9³", () => {
    const worst = stratifiedWorstCase({ T: 30, k: 3, m: 3 });
    assert.deepEqual(worst.exact, rational(271n, 1000n));
    assert.deepEqual(worst.perStratum, [1, 1, 1]);
    assert.deepEqual(stratifiedBestCase({ T: 30, k: 3, m: 3 }).exact, rational(3n, 10n));
    assert.ok(worst.value < uniformDetection({ T: 30, k: 3, m: 3 }).value);
    // T = 50: the lone tampered step hides in a 17-step stratum.
    assert.deepEqual(stratifiedWorstCase({ T: 50, k: 3, m: 1 }).exact, rational(1n, 17n));
    // Detection is certain only once some stratum must be fully tampered: m > T − k.
    assert.ok(stratifiedWorstCase({ T: 30, k: 3, m: 27 }).value < 1);
    assert.deepEqual(stratifiedWorstCase({ T: 30, k: 3, m: 28 }).exact, { num: 1n, den: 1n });
  });

  it("the worst-case curve is concave in m (what makes the closed-form bond exact)", () => {
    for (let T = 1; T <= 60; T++) {
      for (let k = 1; k <= T; k++) {
        for (const curve of [stratifiedWorstCaseCurve({ T, k }), uniformDetectionCurve({ T, k })]) {
          for (let m = 1; m < T; m++) {
            const a = curve[m - 1]!.exact;
            const b = curve[m]!.exact;
            const c = curve[m + 1]!.exact;
            // b − a ≥ c − b ⇔ 2b ≥ a + c
            const lhs = 2n * b.num * a.den * c.den;
            const rhs = a.num * b.den * c.den + c.num * a.den * b.den;
            assert.ok(lhs >= rhs, `T=${T} k=${k} m=${m}`);
          }
        }
      }
    }
  });
});

describe("economics: cumulative detection over many jobs", () => {
  it("15 jobs reach 99% at 10% tampering (T = 30 and T = 50, k = 3), 14 do not", () => {
    for (const [T, m] of [
      [30, 3],
      [50, 5],
    ] as const) {
      const p = uniformDetection({ T, k: 3, m }).exact;
      assert.equal(jobsUntil(p, 0.99), 15, `T=${T}`);
      assert.ok(cumulativeDetection(p, 15) >= 0.99);
      assert.ok(cumulativeDetection(p, 14) < 0.99);
      assert.ok(compareRational(cumulativeDetectionExact(p, 14), rational(99n, 100n)) < 0);
    }
    // The stratified worst case (0.2701 per job at T = 50) still needs 15 (ln 0.01 / ln 0.7299 = 14.6).
    assert.equal(jobsUntil(stratifiedWorstCase({ T: 50, k: 3, m: 5 }).exact, 0.99), 15);
  });

  it("is exact at boundaries and handles the degenerate cases", () => {
    assert.equal(jobsUntil(0.5, 0.75), 2); // 1 − 1/4 = 3/4 exactly
    assert.equal(jobsUntil(0.5, { num: 3n, den: 4n }), 2);
    // (1/3)^3 = 1/27 exactly, where the float estimate ⌈ln(1/27)/ln(1/3)⌉ comes out as 4.
    assert.equal(jobsUntil({ num: 2n, den: 3n }, { num: 26n, den: 27n }), 3);
    assert.equal(jobsUntil({ num: 2n, den: 3n }, { num: 728n, den: 729n }), 6);
    // A hair above 3/4, invisible to a float: two jobs give exactly 3/4, so it takes three.
    assert.equal(jobsUntil(0.5, { num: 75n * 10n ** 28n + 1n, den: 10n ** 30n }), 3);
    assert.equal(jobsUntil(0.1, 0.99), 44);
    assert.equal(jobsUntil(1, 0.999999), 1);
    assert.equal(jobsUntil(1, 1), 1);
    assert.equal(jobsUntil(0, 0.5), Infinity);
    assert.equal(jobsUntil(0.9, 1), Infinity);
    assert.deepEqual(cumulativeDetectionExact(0.5, 3), rational(7n, 8n));
    assert.equal(cumulativeDetection(0.5, 0), 0);
    // Tiny p: the float path, against the closed form n = ⌈ln(0.01)/ln(1 − p)⌉.
    assert.equal(jobsUntil(1e-6, 0.99), Math.ceil(Math.log(0.01) / Math.log1p(-1e-6)));
    assert.ok(Math.abs(cumulativeDetection(1e-12, 1e6) - 1e-6) < 1e-12);
  });
});

const baseT50: EconomicParameters = {
  T: 50,
  k: 3,
  q: 1,
  price: ETH / 100n, // 0.01 ETH
  computeCost: ETH / 200n, // 0.005 ETH
  outsideGain: ETH / 100n, // G = price
  trustValue: 0n,
};

describe("economics: minimum bond and the parameter guard", () => {
  it("T = 50, k = 3, price 0.01 ETH, C = 0.005 ETH, q = 1, G = price, V = 0", () => {
    // Uniform: (C + T·G)/k − R = (0.005 + 0.5)/3 − 0.01 = 0.158333… ETH, plus one wei for strictness.
    const uniform = minimumBond({ ...baseT50, sampling: "uniform" });
    assert.equal(uniform.bond, 158_333_333_333_333_334n);
    assert.equal(uniform.worstM, 1);
    assert.deepEqual(uniform.breakEven, rational(475n * 10n ** 15n, 3n));
    // Stratified (the protocol): the step hides in a 17-step stratum: 17·(C/50 + G) − R = 0.1617 ETH.
    const stratified = minimumBond(baseT50);
    assert.equal(stratified.bond, 161_700_000_000_000_001n);
    assert.equal(stratified.worstM, 1);
    // T = 30: S* = (C + 30·G)/3 − R ≈ 9.17 × price (anchors: "≈ 10 × price" before the escrowed R is counted).
    const t30 = minimumBond({ ...baseT50, T: 30 });
    assert.equal(t30.bond, 91_666_666_666_666_667n);
  });

  it("S_min is minimal: fraud loses at every m with S_min, and pays at some m with S_min − 1 wei", () => {
    let checked = 0;
    for (const T of [1, 2, 3, 5, 8, 13, 30]) {
      for (const k of [...new Set([1, 2, 3, Math.ceil(T / 2), T])].filter((x) => x <= T)) {
        for (const C of [0n, 7n, ETH / 200n]) {
          for (const G of [0n, 3n, ETH / 100n]) {
            for (const [R, V] of [
              [0n, 0n],
              [ETH / 100n, 5n],
            ] as const) {
              for (const q of [1, 0.3, { num: 2n, den: 7n }]) {
                for (const sampling of ["uniform", "stratified"] as Sampling[]) {
                  const params = {
                    T,
                    k,
                    q,
                    price: R,
                    computeCost: C,
                    outsideGain: G,
                    trustValue: V,
                    sampling,
                  };
                  const { bond } = minimumBond(params);
                  const where = JSON.stringify({
                    T,
                    k,
                    C: `${C}`,
                    G: `${G}`,
                    R: `${R}`,
                    V: `${V}`,
                    q: `${q}`,
                    sampling,
                  });
                  const at = fraudAdvantageCurve({ ...params, bond });
                  assert.ok(
                    at.every((a) => a.exact.num < 0n),
                    where,
                  );
                  assert.equal(checkParameters({ ...params, bond }).ok, true, where);
                  if (bond > 0n) {
                    const below = fraudAdvantageCurve({ ...params, bond: bond - 1n });
                    assert.ok(
                      below.some((a) => a.exact.num >= 0n),
                      where,
                    );
                    assert.equal(checkParameters({ ...params, bond: bond - 1n }).ok, false, where);
                    checked++;
                  }
                  // The closed form is exact (concavity), so it gives the same wei.
                  assert.equal(closedFormBond(params).wei, bond, where);
                }
              }
            }
          }
        }
      }
    }
    assert.ok(checked > 1000, `${checked} cases with a positive bond`);
  });

  it("the anchors' closed form max{C/q, (C+T·G)/(q·k)} − R − V falls short when (T−k)·G < (k−1)·C", () => {
    const anchors = (p: EconomicParameters): Rational => {
      const q = decimalToRational(p.q as number);
      const C = p.computeCost;
      const a = rational(C * q.den, q.num);
      const b = rational((C + BigInt(p.T) * p.outsideGain) * q.den, BigInt(p.k) * q.num);
      const top = compareRational(a, b) >= 0 ? a : b;
      return rational(top.num - (p.price + p.trustValue) * top.den, top.den);
    };
    // Where G = price ≥ C and k ≤ T/2 the two agree.
    const agree = { ...baseT50, T: 30, sampling: "uniform" as const };
    assert.ok(eq(anchors(agree), closedFormBond(agree).exact));
    // Every step checked (k = T), G small against C: the m = T cheat saves C and gains G, and is always caught.
    const p: EconomicParameters = {
      T: 4,
      k: 4,
      q: 1,
      price: 0n,
      computeCost: 1000n,
      outsideGain: 100n,
      trustValue: 0n,
      sampling: "uniform",
    };
    assert.deepEqual(anchors(p), rational(1000n));
    assert.equal(minimumBond(p).bond, 1101n);
    assert.equal(minimumBond(p).worstM, 4);
    // A bond strictly above the anchors' figure still leaves fraud at m = T profitable.
    assert.deepEqual(fraudAdvantage({ ...p, bond: 1001n, m: 4 }).exact, rational(99n));
    assert.equal(checkParameters({ ...p, bond: 1001n }).ok, false);
  });

  it("checkParameters reports the worst tamper size and the exact margin", () => {
    const bond = 2n * ETH;
    const r = checkParameters({ ...baseT50, bond });
    assert.equal(r.ok, true);
    assert.equal(r.worstM, 1);
    assert.equal(r.minimumBond, 161_700_000_000_000_001n);
    // margin at m = 1: (1/17)·(R + S) − C/50 − G
    const expected = rational(
      (ETH / 100n + bond) * 50n - 17n * (ETH / 200n) - 17n * 50n * (ETH / 100n),
      17n * 50n,
    );
    assert.deepEqual(r.margin, expected);
    assert.ok(Math.abs(r.marginValue - rationalToNumber(expected)) < 1);
    // Too small a bond: refused, margin negative.
    const bad = checkParameters({ ...baseT50, bond: ETH / 10n });
    assert.equal(bad.ok, false);
    assert.ok(bad.margin.num < 0n);
    // No audits: no bond helps.
    const none = checkParameters({ ...baseT50, q: 0, bond: 1000n * ETH });
    assert.equal(none.ok, false);
    assert.equal(none.minimumBond, undefined);
    assert.equal(none.worstM, 50);
    // The report table agrees in sign with the exact guard.
    const rows = fraudAdvantageTable({ ...baseT50, bond: ETH / 10n });
    assert.equal(rows.length, 50);
    assert.ok((rows[0]?.advantageWei ?? -1) > 0);
    assert.ok((rows[49]?.advantageWei ?? 1) < 0);
    assert.equal(rows[49]?.detection, 1);
  });
});

describe("economics: tables and helpers", () => {
  it("tamperCount reads shares exactly, and the markdown table has one line per row", () => {
    assert.equal(tamperCount(30, 0.1), 3);
    assert.equal(tamperCount(30, 2 / 30), 2);
    assert.equal(tamperCount(30, 0.25), 8);
    assert.equal(tamperCount(30, { num: 1n, den: 4n }), 8);
    assert.equal(tamperCount(30, 0), 0);
    const rows = detectionTable({ T: 50, k: 3, tamperFractions: [0.02, 0.1, 0.9] });
    assert.deepEqual(
      rows.map((r) => [r.m, r.jobsUniform]),
      [
        [1, 75],
        [5, 15],
        [45, 1],
      ],
    );
    const md = formatDetectionTable(rows);
    assert.equal(md.split("\n").length, 2 + rows.length);
    assert.match(md, /\| 10\.0% \| 5 \| 0\.2760 \| 0\.2701 \| 15 \| 15 \|/);
  });

  it("rational helpers are exact", () => {
    assert.deepEqual(decimalToRational(0.1), { num: 1n, den: 10n });
    assert.deepEqual(decimalToRational(2.5e-7), { num: 1n, den: 4_000_000n });
    assert.deepEqual(rational(6n, -4n), { num: -3n, den: 2n });
    assert.equal(floorRational(rational(-1n, 2n)), -1n);
    assert.equal(floorRational(rational(7n, 2n)), 3n);
    assert.equal(ceilRational(rational(-7n, 2n)), -3n);
    assert.equal(ceilRational(rational(4n, 2n)), 2n);
    const huge = rational(binomial(1000, 500), binomial(1000, 499));
    assert.ok(Math.abs(rationalToNumber(huge) - 501 / 500) < 1e-15);
    assert.equal(rationalToNumber(rational(1n, 3n)), 1 / 3);
  });
});

describe("economics: invalid input", () => {
  it("throws named errors (all EconomicsInputError, RangeError)", () => {
    const cases: [() => unknown, new (...args: never[]) => Error][] = [
      [() => uniformDetection({ T: 3, k: 4, m: 1 }), ChecksExceedStepsError],
      [() => strata({ T: 3, k: 4 }), ChecksExceedStepsError],
      [() => uniformDetection({ T: 0, k: 1, m: 0 }), InvalidCountError],
      [() => uniformDetection({ T: 10, k: 0, m: 0 }), InvalidCountError],
      [() => uniformDetection({ T: 10.5, k: 1, m: 0 }), InvalidCountError],
      [() => uniformDetection({ T: 10, k: 3, m: 11 }), TamperCountError],
      [() => stratifiedWorstCase({ T: 10, k: 3, m: -1 }), TamperCountError],
      [() => stratifiedBestCase({ T: 10, k: 3, m: 1.5 }), TamperCountError],
      [() => stratifiedDetection({ T: 10, k: 3, tampered: [10] }), InvalidTamperedIndexError],
      [() => stratifiedDetection({ T: 10, k: 3, tampered: [2, 2] }), InvalidTamperedIndexError],
      [() => jobsUntil(1.5, 0.99), InvalidProbabilityError],
      [() => jobsUntil(0.5, 0), InvalidProbabilityError],
      [() => jobsUntil(Number.NaN, 0.9), InvalidProbabilityError],
      [() => minimumBond({ ...baseT50, q: -0.1 }), InvalidProbabilityError],
      [() => minimumBond({ ...baseT50, q: { num: 3n, den: 2n } }), InvalidProbabilityError],
      [() => minimumBond({ ...baseT50, price: -1n }), InvalidAmountError],
      [() => checkParameters({ ...baseT50, bond: -1n }), InvalidAmountError],
      [() => minimumBond({ ...baseT50, q: 0 }), UnboundedBondError],
      [() => closedFormBond({ ...baseT50, q: 0 }), UnboundedBondError],
      [() => cumulativeDetection(0.5, -1), InvalidCountError],
    ];
    for (const [fn, type] of cases) {
      assert.throws(
        fn,
        (err: unknown) =>
          err instanceof type && err instanceof EconomicsInputError && err instanceof RangeError,
        fn.toString(),
      );
    }
    assert.throws(
      () => uniformDetection({ T: 3, k: 4, m: 1 }),
      (err: unknown) =>
        err instanceof ChecksExceedStepsError && err.parameter === "k" && /k = 4 > T = 3/.test(err.message),
    );
  });
});

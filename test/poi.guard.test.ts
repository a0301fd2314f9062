/**
 * The Proof-of-Inference parameter guard (contracts/libraries/FraudGuard.sol) and its bounds checks, the guard's
 * soundness against the sdk's exact economics (sdk/src/economics), and the TrustModel.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAbiItem, getAddress, parseEther, parseEventLogs, zeroAddress, type Address } from "viem";
import { checkParameters } from "@infernet/sdk";
import { poiContractParams, type PoiContractParams } from "../deploy/params.ts";
import { deployFixture, setJobBond, wallet, type Fixture } from "./helpers/fixture.ts";
import { as, commitmentFor, fakeTrajectory, poiWorld, requestPoiJob } from "./helpers/poi.ts";

const WAD = 10n ** 18n;
const E15 = 10n ** 15n; // 0.001 ETH

interface GuardInputs {
  steps: bigint;
  challenged: bigint;
  reward: bigint;
  computeCost: bigint;
  outsideGain: bigint;
  bond: bigint;
}

/**
 * FraudGuard.check step by step in bigint (its documented integer arithmetic): `undefined` when accepted, otherwise
 * the FraudProfitable arguments. Used to predict the exact revert arguments.
 */
function guardReference(x: GuardInputs): { m: bigint; gain: bigint; loss: bigint } | undefined {
  const s = (x.steps + x.challenged - 1n) / x.challenged;
  let survive = WAD;
  for (let m = 1n; m <= x.steps; m++) {
    survive = (survive * (s - 1n) + s - 1n) / s;
    const gain = (m * x.computeCost) / x.steps + x.outsideGain;
    const loss = ((WAD - survive) * (x.reward + x.bond)) / WAD;
    if (gain >= loss) return { m, gain, loss };
  }
  return undefined;
}

/** The sdk's exact verdict for the guard's model: stratified challenge, G = R = price, V = 0, q = 1. */
function sdkOk(T: number, k: number, price: bigint, computeCost: bigint, bond: bigint): boolean {
  return checkParameters({
    T,
    k,
    q: 1,
    price,
    computeCost,
    trustValue: 0n,
    outsideGain: price,
    bond,
    sampling: "stratified",
  }).ok;
}

/** The ProofOfInference.Params struct of the fixture's deployment (DEFAULT_PARAMS.poi), with overrides. */
function poiParams(f: Fixture, overrides: Partial<PoiContractParams> = {}): PoiContractParams {
  return { ...poiContractParams(f.params.poi, getAddress(wallet(f, 0).account.address)), ...overrides };
}

/**
 * The guard's inputs: only the bond less the challenger share counts, since a cheater may claim that share, and only
 * the quality floor's share of the price, the least a pass would have paid it.
 */
function guardInputsOf(p: PoiContractParams, jobBond: bigint): GuardInputs {
  return {
    steps: BigInt(p.maxSteps),
    challenged: BigInt(p.kMin),
    reward: (p.maxPrice * BigInt(p.qualityFloorBps)) / 10_000n,
    computeCost: p.computeCost,
    outsideGain: p.maxPrice,
    bond: (jobBond * (10_000n - BigInt(p.challengerShareBps))) / 10_000n,
  };
}

/** ProofOfInference.params() (the getter returns the struct's fields in order), keyed by the ABI's output names. */
async function readParams(f: Fixture): Promise<PoiContractParams> {
  const values = await f.poi.read.params();
  const { outputs } = getAbiItem({ abi: f.poi.abi, name: "params" });
  return Object.fromEntries(outputs.map((o, i) => [o.name, values[i]])) as PoiContractParams;
}

describe("PoI parameter guard: deployment and setParams", () => {
  let f: Fixture;
  before(async () => {
    f = await deployFixture();
  });

  function deployPoi(p: PoiContractParams) {
    return f.viem.deployContract("ProofOfInference", [
      f.wallets[0]!.account.address,
      f.coordinator.address,
      f.nodeRegistry.address,
      f.randomness.address,
      p,
    ]);
  }

  it("the default parameters pass the guard (the fixture deployed them)", async () => {
    assert.deepEqual(await readParams(f), poiParams(f));
    assert.equal(guardReference(guardInputsOf(poiParams(f), f.params.jobBond)), undefined);
  });

  it("deploying with a maxPrice too high for the Coordinator's jobBond reverts FraudProfitable", async () => {
    const p = poiParams(f, { maxPrice: parseEther("0.1") });
    const expected = guardReference(guardInputsOf(p, f.params.jobBond));
    assert.ok(expected, "the reference rejects it too");
    assert.equal(expected.m, 1n, "one tampered step is the most profitable fraud here");
    await f.viem.assertions.revertWithCustomErrorWithArgs(deployPoi(p), f.poi, "FraudProfitable", [
      expected.m,
      expected.gain,
      expected.loss,
    ]);
    // Every step challenged (kMin = T) but a heavy computeCost: tampering half the steps or more pays.
    const heavy = poiParams(f, { kMin: 64, kMax: 64, computeCost: parseEther("0.2") });
    const h = guardReference(guardInputsOf(heavy, f.params.jobBond));
    assert.ok(h && h.m > 1n);
    await f.viem.assertions.revertWithCustomErrorWithArgs(deployPoi(heavy), f.poi, "FraudProfitable", [
      h.m,
      h.gain,
      h.loss,
    ]);
    // The same parameters deploy once the stake at risk is large enough.
    const jobBond = parseEther("5");
    assert.equal(guardReference(guardInputsOf(p, jobBond)), undefined);
    await setJobBond(f, jobBond);
    const deployed = await deployPoi(p);
    assert.equal((await deployed.read.params())[13], p.maxPrice);
    await setJobBond(f, f.params.jobBond);
  });

  it("the quality floor: 1..10,000 or InvalidQualityFloor (deploy and setParams); the guard counts only its share of maxPrice as the reward at risk", async () => {
    for (const floor of [0, 10_001, 65_535]) {
      await f.viem.assertions.revertWithCustomErrorWithArgs(
        deployPoi(poiParams(f, { qualityFloorBps: floor })),
        f.poi,
        "InvalidQualityFloor",
        [floor],
      );
      await f.viem.assertions.revertWithCustomErrorWithArgs(
        f.poi.write.setParams([poiParams(f, { qualityFloorBps: floor })]),
        f.poi,
        "InvalidQualityFloor",
        [floor],
      );
    }
    const original = await readParams(f);
    for (const floor of [1, 10_000]) {
      await f.poi.write.setParams([poiParams(f, { qualityFloorBps: floor })]);
      assert.equal((await readParams(f)).qualityFloorBps, floor);
    }
    // 0.0035 ETH is safe when every pass pays the whole price, but not when a pass may pay as little as 10 % of it:
    // the cheater then risks less reward, so the same bond no longer deters it.
    const full = poiParams(f, { maxPrice: parseEther("0.0035"), qualityFloorBps: 10_000 });
    assert.equal(guardReference(guardInputsOf(full, f.params.jobBond)), undefined);
    await f.poi.write.setParams([full]);
    const low = poiParams(f, { maxPrice: parseEther("0.0035"), qualityFloorBps: 1_000 });
    const expected = guardReference(guardInputsOf(low, f.params.jobBond));
    assert.ok(expected, "the reference rejects the low floor");
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.poi.write.setParams([low]),
      f.poi,
      "FraudProfitable",
      [expected.m, expected.gain, expected.loss],
    );
    await f.poi.write.setParams([original]);
    assert.deepEqual(await readParams(f), original);
  });

  it("bounds errors at deployment: InvalidShares, InvalidAuditDepth, InvalidWindows", async () => {
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      deployPoi(poiParams(f, { requesterShareBps: 8_000, challengerShareBps: 2_001 })),
      f.poi,
      "InvalidShares",
      [8_000n, 2_001n],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      deployPoi(poiParams(f, { kMin: 0 })),
      f.poi,
      "InvalidAuditDepth",
      [0n, 6n],
    );
    await f.viem.assertions.revertWithCustomError(
      deployPoi(poiParams(f, { revealWindow: 0 })),
      f.poi,
      "InvalidWindows",
    );
  });

  it("setParams runs the same guard: a lower audit depth or a higher price under which fraud pays reverts FraudProfitable", async () => {
    const original = await readParams(f);
    const shallow = poiParams(f, { kMin: 1 });
    const s = guardReference(guardInputsOf(shallow, f.params.jobBond));
    assert.ok(s);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.poi.write.setParams([shallow]),
      f.poi,
      "FraudProfitable",
      [s.m, s.gain, s.loss],
    );
    const pricey = poiParams(f, { maxPrice: parseEther("0.02") });
    const p = guardReference(guardInputsOf(pricey, f.params.jobBond));
    assert.ok(p);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.poi.write.setParams([pricey]),
      f.poi,
      "FraudProfitable",
      [p.m, p.gain, p.loss],
    );
    assert.deepEqual(await readParams(f), original, "rejected parameters leave the old ones in place");
  });

  it("setParams bounds: InvalidShares, InvalidAuditDepth, InvalidWindows, InvalidGuardInput; owner only", async () => {
    const original = await readParams(f);
    const set = (o: Partial<PoiContractParams>) => f.poi.write.setParams([poiParams(f, o)]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      set({ requesterShareBps: 10_000, challengerShareBps: 1 }),
      f.poi,
      "InvalidShares",
      [10_000n, 1n],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(set({ kMin: 0 }), f.poi, "InvalidAuditDepth", [
      0n,
      6n,
    ]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      set({ kMin: 5, kMax: 4 }),
      f.poi,
      "InvalidAuditDepth",
      [5n, 4n],
    );
    for (const o of [
      { revealWindow: 0 },
      { verdictWindow: 0 },
      { disputeWindow: 0 },
      { committeeWindow: 0 },
      { committeeSize: 0 },
      { treasury: zeroAddress },
    ] as Partial<PoiContractParams>[]) {
      await f.viem.assertions.revertWithCustomError(set(o), f.poi, "InvalidWindows");
    }
    // The guard's own input checks: no steps, or an audit depth above the step count.
    await f.viem.assertions.revertWithCustomError(set({ maxSteps: 0 }), f.poi, "InvalidGuardInput");
    await f.viem.assertions.revertWithCustomError(set({ maxSteps: 2 }), f.poi, "InvalidGuardInput");
    const stranger = f.wallets[5]!;
    const asStranger = await f.viem.getContractAt("ProofOfInference", f.poi.address, {
      client: { wallet: stranger },
    });
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.setParams([poiParams(f)]),
      f.poi,
      "OwnableUnauthorizedAccount",
      [getAddress(stranger.account.address)],
    );
    assert.deepEqual(await readParams(f), original);

    // A valid change (deeper audits, longer windows) is stored and announced.
    const deeper = poiParams(f, { kMin: 6, kMax: 8, revealWindow: 900 });
    const hash = await f.poi.write.setParams([deeper]);
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
    const [ev] = parseEventLogs({ abi: f.poi.abi, logs: receipt.logs, eventName: "ParamsSet" });
    assert.equal(ev!.args.params.kMin, 6);
    assert.deepEqual(await readParams(f), deeper);
    await f.poi.write.setParams([original]);
    assert.deepEqual(await readParams(f), original);
  });

  it("jobs bonded below the bond the guard checked are refused (BondBelowGuard), whatever the Coordinator's jobBond became", async () => {
    const w = await poiWorld(1);
    const { f } = w;
    const guarded = await f.poi.read.guardedBond();
    assert.equal(guarded, f.params.jobBond);
    const low = guarded / 10n;
    await setJobBond(f, low);
    const job = await requestPoiJob(w);
    const c = commitmentFor(job, fakeTrajectory(10));
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await as(f, job.provider)).coordinator.write.deliver([
        job.subscriptionId,
        1,
        "0x",
        job.output,
        c.deliveryProof,
      ]),
      f.poi,
      "BondBelowGuard",
      [low, guarded],
    );
  });

  it("validator and dispute bond sizes cannot change once set (BondSizesFixed)", async () => {
    const f = await deployFixture();
    for (const change of [{ validatorBond: 1n }, { disputeBond: 1n }]) {
      await f.viem.assertions.revertWithCustomError(
        f.poi.write.setParams([poiParams(f, change)]),
        f.poi,
        "BondSizesFixed",
      );
    }
    await f.poi.write.setParams([poiParams(f, { verdictWindow: 900 })]);
    assert.equal((await f.poi.read.params())[1], 900);
  });

  it("setParams checks against the Coordinator's current jobBond", async () => {
    const low = parseEther("0.01");
    await setJobBond(f, low);
    const p = poiParams(f);
    const expected = guardReference(guardInputsOf(p, low));
    assert.ok(expected, "the default maxPrice is too high for a 0.01 ETH bond");
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.poi.write.setParams([p]),
      f.poi,
      "FraudProfitable",
      [expected.m, expected.gain, expected.loss],
    );
    await setJobBond(f, f.params.jobBond);
    await f.poi.write.setParams([p]);
  });
});

describe("FraudGuard soundness against the sdk's exact economics", () => {
  let f: Fixture;
  let harness: Address;
  before(async () => {
    f = await deployFixture();
    harness = (await f.viem.deployContract("FraudGuardHarness")).address;
  });

  /** The on-chain verdicts (0 = accepted, else the first profitable m) for many inputs, in batches. */
  async function onChain(xs: GuardInputs[]): Promise<bigint[]> {
    const out: bigint[] = [];
    const h = await f.viem.getContractAt("FraudGuardHarness", harness);
    for (let i = 0; i < xs.length; i += 150) out.push(...(await h.read.checkMany([xs.slice(i, i + 150)])));
    return out;
  }

  const grid = (() => {
    const pts: { T: number; k: number; price: bigint; cost: bigint; bond: bigint }[] = [];
    for (const T of [1, 2, 3, 5, 8, 13, 16, 33, 50, 64])
      for (const k of [1, 2, 3, 4, 6, 8])
        if (k <= T)
          for (const price of [0n, 1n * E15, 4n * E15, 10n * E15, 50n * E15])
            for (const cost of [0n, 1n * E15, 10n * E15, 100n * E15])
              for (const bond of [10n * E15, 100n * E15, 500n * E15, 2000n * E15])
                pts.push({ T, k, price, cost, bond });
    return pts;
  })();
  const toInputs = (g: (typeof grid)[number]): GuardInputs => ({
    steps: BigInt(g.T),
    challenged: BigInt(g.k),
    reward: g.price,
    computeCost: g.cost,
    outsideGain: g.price,
    bond: g.bond,
  });

  it(`whenever the on-chain guard accepts (T, kMin, price, cost, bond), the sdk's checkParameters says ok (${grid.length} points)`, async () => {
    const verdicts = await onChain(grid.map(toInputs));
    let accepted = 0;
    let conservative = 0;
    for (const [i, g] of grid.entries()) {
      const v = verdicts[i]!;
      const ref = guardReference(toInputs(g));
      assert.equal(
        v,
        ref?.m ?? 0n,
        `harness and reference disagree at ${JSON.stringify(g, (_, x) => (typeof x === "bigint" ? String(x) : x))}`,
      );
      const ok = sdkOk(g.T, g.k, g.price, g.cost, g.bond);
      if (v === 0n) {
        accepted++;
        assert.ok(
          ok,
          `the guard accepts but fraud pays: ${JSON.stringify(g, (_, x) => (typeof x === "bigint" ? String(x) : x))}`,
        );
      } else if (ok) conservative++;
    }
    assert.ok(accepted > 100, `a grid with accepted points (${accepted})`);
    assert.ok(grid.length - accepted > 100, "and rejected ones");
    // Where one tampered step binds (the usual case) the bound is tight up to rounding, so few safe points are refused.
    assert.ok(conservative < grid.length / 10, `refused although safe: ${conservative}`);
  });

  it("accepted at (maxSteps, kMin, maxPrice) also covers shorter jobs, deeper audits and lower prices", async () => {
    const verdicts = await onChain(grid.map(toInputs));
    const accepted = grid.filter((g, i) => verdicts[i] === 0n && g.T >= 8 && g.price > 0n);
    assert.ok(accepted.length > 50);
    for (const g of accepted) {
      for (let T = 1; T <= g.T; T += T < 8 ? 1 : 3) {
        const k = Math.min(g.k, T);
        assert.ok(sdkOk(T, k, g.price, g.cost, g.bond), `T = ${T} < maxSteps = ${g.T}`);
        if (k < T) assert.ok(sdkOk(T, k + 1, g.price, g.cost, g.bond), `k = ${k + 1}`);
        assert.ok(sdkOk(T, k, g.price / 2n, g.cost, g.bond), "half the price");
      }
    }
  });

  it("for the default parameters the guard's largest accepted maxPrice lies below the sdk's exact break-even price", async () => {
    const h = await f.viem.getContractAt("FraudGuardHarness", harness);
    const d = f.params.poi;
    const inputs = (price: bigint): GuardInputs => ({
      steps: BigInt(d.maxSteps),
      challenged: BigInt(d.kMin),
      reward: price,
      computeCost: d.computeCost,
      outsideGain: price,
      bond: f.params.jobBond,
    });
    const accepts = async (price: bigint) => (await h.read.checkMany([[inputs(price)]]))[0] === 0n;
    // Largest accepted price by bisection (the guard is monotone in the price: gain grows by 1, loss by p ≤ 1).
    let lo = d.maxPrice;
    let hi = parseEther("1");
    assert.ok(await accepts(lo));
    assert.ok(!(await accepts(hi)));
    while (hi - lo > 1n) {
      const mid = (lo + hi) / 2n;
      if (await accepts(mid)) lo = mid;
      else hi = mid;
    }
    let sLo = lo;
    let sHi = parseEther("1");
    assert.ok(
      sdkOk(d.maxSteps, d.kMin, sLo, d.computeCost, f.params.jobBond),
      "the sdk accepts the guard's boundary",
    );
    while (sHi - sLo > 1n) {
      const mid = (sLo + sHi) / 2n;
      if (sdkOk(d.maxSteps, d.kMin, mid, d.computeCost, f.params.jobBond)) sLo = mid;
      else sHi = mid;
    }
    assert.ok(lo <= sLo, `guard ${lo} ≤ exact ${sLo}`);
    assert.ok(sLo - lo < 1_000n, "and within rounding of it (one tampered step binds)");
    assert.ok(lo > d.maxPrice, "the defaults leave headroom");
  });
});

describe("TrustModel", () => {
  let f: Fixture;
  before(async () => {
    f = await deployFixture();
  });
  const ONE = 10_000n;
  const NEUTRAL = 10_000n;

  async function deployModel(decay = 9_500, fraudPenalty = 40_000n, timeoutPenalty = 10_000n) {
    const updater = f.wallets[5]!;
    const model = await f.viem.deployContract("TrustModel", [
      updater.account.address,
      { decay, fraudPenalty, timeoutPenalty },
    ]);
    const asUpdater = await f.viem.getContractAt("TrustModel", model.address, {
      client: { wallet: updater },
    });
    return { model, asUpdater, updater: updater.account.address };
  }

  /** The documented belief update in bigint: decay, then the outcome; a never drops to 0 (0 marks "never seen"). */
  function step(
    s: { a: bigint; b: bigint },
    outcome: "pass" | "fraud" | "timeout",
    decay: bigint,
    fraud: bigint,
    timeout: bigint,
  ) {
    let a = (s.a * decay) / ONE;
    let b = (s.b * decay) / ONE;
    if (outcome === "pass") a += ONE;
    if (outcome === "fraud") [a, b] = [ONE, ONE + fraud];
    if (outcome === "timeout") b += timeout;
    return { a: a === 0n ? 1n : a, b };
  }

  it("InvalidTrustParams for a decay of 0 or above 1.0; 1.0 (no decay) is allowed", async () => {
    const model = (await deployModel()).model;
    await f.viem.assertions.revertWithCustomError(deployModel(0), model, "InvalidTrustParams");
    await f.viem.assertions.revertWithCustomError(deployModel(10_001), model, "InvalidTrustParams");
    const { asUpdater, model: flat } = await deployModel(10_000);
    const node = f.wallets[6]!.account.address;
    await asUpdater.write.recordPass([node]);
    await asUpdater.write.recordPass([node]);
    const s = await flat.read.beliefOf([node]);
    assert.equal(s.a, 3n * ONE, "no decay: prior 1 + two passes");
    assert.equal(s.b, ONE);
  });

  it("only the updater records outcomes (NotUpdater); the deployed model's updater is ProofOfInference", async () => {
    const { model } = await deployModel();
    const node = f.wallets[6]!.account.address;
    const caller = f.wallets[0]!.account.address;
    for (const fn of ["recordPass", "recordFraud", "recordTimeout"] as const) {
      await f.viem.assertions.revertWithCustomErrorWithArgs(model.write[fn]([node]), model, "NotUpdater", [
        getAddress(caller),
      ]);
      await f.viem.assertions.revertWithCustomErrorWithArgs(
        f.trustModel.write[fn]([node]),
        f.trustModel,
        "NotUpdater",
        [getAddress(caller)],
      );
    }
    assert.equal(getAddress(await f.trustModel.read.updater()), getAddress(f.poi.address));
    assert.equal(getAddress(await f.poi.read.trust()), getAddress(f.trustModel.address));
    const s = await model.read.beliefOf([node]);
    assert.deepEqual([s.a, s.b, s.passes, s.failures], [ONE, ONE, 0, 0], "nothing was recorded");
  });

  it("at the prior Beta(1, 1) trust is neutral (10,000) and the audit depth sits halfway", async () => {
    const { model } = await deployModel();
    const node = f.wallets[6]!.account.address;
    assert.equal(await model.read.NEUTRAL_BPS(), NEUTRAL);
    assert.equal(await model.read.trustBps([node]), NEUTRAL);
    assert.equal(await model.read.auditDepth([node, 3n, 6n]), 4n); // 3 + ⌊3 · 1/2⌋
    assert.equal(await model.read.auditDepth([node, 2n, 10n]), 6n);
    assert.equal(await model.read.auditDepth([node, 5n, 5n]), 5n);
  });

  it("updates decay the old belief first: exact values for pass, timeout and fraud", async () => {
    const { model, asUpdater } = await deployModel();
    const node = f.wallets[7]!.account.address;
    const hash = await asUpdater.write.recordPass([node]);
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
    const [ev] = parseEventLogs({ abi: model.abi, logs: receipt.logs, eventName: "TrustUpdated" });
    assert.deepEqual(ev!.args, { node: getAddress(node), a: 19_500n, b: 9_500n, outcome: 0 }); // 0.95 + 1, 0.95
    assert.equal(await model.read.trustBps([node]), (2n * NEUTRAL * 19_500n) / 29_000n);
    await asUpdater.write.recordTimeout([node]);
    let s = await model.read.beliefOf([node]);
    assert.deepEqual([s.a, s.b], [18_525n, 19_025n]); // 19,500·0.95, 9,500·0.95 + 10,000
    await asUpdater.write.recordFraud([node]);
    s = await model.read.beliefOf([node]);
    assert.deepEqual(
      [s.a, s.b, s.passes, s.failures],
      [ONE, ONE + 40_000n, 1, 1],
      "fraud resets to a pessimistic prior",
    );
    assert.equal(await model.read.trustBps([node]), (2n * NEUTRAL) / 6n);
    assert.equal(await model.read.auditDepth([node, 3n, 6n]), 5n); // 3 + ⌊3 · 5/6⌋
    // Passes let the fraud fade: trust climbs back above neutral, the audit depth falls to kMin.
    let previous = await model.read.trustBps([node]);
    let crossed = 0;
    for (let i = 1; i <= 30; i++) {
      await asUpdater.write.recordPass([node]);
      const t = await model.read.trustBps([node]);
      assert.ok(t > previous, "each pass raises trust");
      assert.ok(t < 2n * NEUTRAL);
      if (t > NEUTRAL && crossed === 0) crossed = i;
      previous = t;
    }
    assert.ok(crossed > 1, `back above neutral after ${crossed} passes`);
    assert.equal(await model.read.auditDepth([node, 3n, 6n]), 3n);
  });

  it("any sequence of outcomes follows the documented update; audit depth stays in [kMin, kMax], trust in [0, 20,000)", async () => {
    const decay = 9_000n;
    const fraud = 30_000n;
    const timeout = 5_000n;
    const { model, asUpdater } = await deployModel(Number(decay), fraud, timeout);
    const node = f.wallets[8]!.account.address;
    let s = { a: ONE, b: ONE };
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed / 0x80000000);
    const outcomes = ["pass", "pass", "pass", "timeout", "fraud"] as const;
    for (let i = 0; i < 40; i++) {
      const o = outcomes[Math.floor(rand() * outcomes.length)]!;
      if (o === "pass") await asUpdater.write.recordPass([node]);
      else if (o === "fraud") await asUpdater.write.recordFraud([node]);
      else await asUpdater.write.recordTimeout([node]);
      s = step(s, o, decay, fraud, timeout);
      const chain = await model.read.beliefOf([node]);
      assert.deepEqual([chain.a, chain.b], [s.a, s.b], `after ${i + 1} outcomes`);
      const t = await model.read.trustBps([node]);
      assert.equal(t, (2n * NEUTRAL * s.a) / (s.a + s.b));
      assert.ok(t < 2n * NEUTRAL);
      for (const [kMin, kMax] of [
        [3n, 6n],
        [1n, 64n],
        [4n, 4n],
      ] as const) {
        const d = await model.read.auditDepth([node, kMin, kMax]);
        assert.ok(d >= kMin && d <= kMax);
        assert.equal(d, kMin + ((kMax - kMin) * s.b) / (s.a + s.b));
      }
    }
  });

  it("a record of timeouts that decays a to zero does not reset the node to the neutral prior", async () => {
    // Fast decay and a small timeout penalty: a halves every update, b settles at 200.
    const { model, asUpdater } = await deployModel(5_000, 40_000n, 100n);
    const node = f.wallets[9]!.account.address;
    let previous = await model.read.trustBps([node]);
    for (let i = 0; i < 20; i++) {
      await asUpdater.write.recordTimeout([node]);
      const t = await model.read.trustBps([node]);
      assert.ok(t <= previous, `timeout ${i + 1}: trust ${previous} → ${t}`);
      assert.ok(t < NEUTRAL);
      previous = t;
    }
    const s = await model.read.beliefOf([node]);
    assert.equal(s.a, 1n);
    assert.ok(previous < 200n, `trust stays near zero (${previous})`);
    assert.ok((await model.read.auditDepth([node, 3n, 6n])) === 5n);
  });
});

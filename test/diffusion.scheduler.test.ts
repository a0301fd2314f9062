// DDIM sampler arithmetic: the float32 schedule and step against a float64 reference, bit-reproducibility (pinned
// digests), and the scheduler-config reader.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { initialLatent, tensorDigest } from "@infernet/sdk";
import {
  alphasCumprod,
  applyGuidance,
  ddimCoefficients,
  ddimSchedule,
  ddimStep,
  guidanceScale,
  parseSchedulerConfig,
  SchedulerConfigError,
  InvalidJobParamsError,
  SD_SCHEDULER_CONFIG,
  sameBits,
  usesGuidance,
  type SchedulerConfig,
} from "@infernet/diffusion";

const SEED_Z = `0x${"a1".repeat(32)}` as const;
const SEED_E = `0x${"b2".repeat(32)}` as const;
const z = initialLatent(SEED_Z, 4096, "float32");
const e = initialLatent(SEED_E, 4096, "float32");

/** ᾱ in float64 throughout: no intermediate rounding. */
function alphasCumprod64(c: SchedulerConfig): number[] {
  const lo = Math.sqrt(c.betaStart);
  const hi = Math.sqrt(c.betaEnd);
  const out: number[] = [];
  let acc = 1;
  for (let i = 0; i < c.numTrainTimesteps; i++) {
    const s = lo + ((hi - lo) * i) / (c.numTrainTimesteps - 1);
    acc *= 1 - s * s;
    out.push(acc);
  }
  return out;
}

describe("diffusion scheduler: ᾱ table", () => {
  it("matches a float64 computation of the scaled_linear schedule within float32 accumulation error", () => {
    const acp = alphasCumprod(SD_SCHEDULER_CONFIG);
    const ref = alphasCumprod64(SD_SCHEDULER_CONFIG);
    assert.equal(acp.length, 1000);
    let worst = 0;
    for (let t = 0; t < 1000; t++) worst = Math.max(worst, Math.abs(acp[t]! - ref[t]!) / ref[t]!);
    assert.ok(worst < 1e-4, `relative error ${worst}`);
    assert.ok(worst > 0, "a float32 table differs from float64 somewhere");
    // Known SD values (diffusers: alphas_cumprod[0] = 0.99915, alphas_cumprod[-1] ≈ 0.00466).
    assert.ok(Math.abs(acp[0]! - 0.99915) < 1e-6);
    assert.ok(Math.abs(acp[999]! - 0.00466) < 1e-5);
    for (let t = 1; t < 1000; t++) assert.ok(acp[t]! < acp[t - 1]!, `ᾱ decreases at ${t}`);
  });

  it("is bit-stable (pinned digest of the float32 table)", () => {
    assert.equal(
      tensorDigest(alphasCumprod(SD_SCHEDULER_CONFIG)),
      "0x46feac013eba4a2ca715a27ac80653e2cda5595aa77d1aca2cdd8c9827829cbe",
    );
  });
});

describe("diffusion scheduler: DDIM timesteps (leading, steps_offset 1)", () => {
  it("gives diffusers' timesteps for 50 and 20 steps", () => {
    const s50 = ddimSchedule(SD_SCHEDULER_CONFIG, 50);
    assert.equal(s50.timesteps.length, 50);
    assert.deepEqual(s50.timesteps.slice(0, 3), [981, 961, 941]);
    assert.equal(s50.timesteps[49], 1);
    assert.deepEqual(s50.prevTimesteps.slice(0, 2), [961, 941]);
    assert.equal(s50.prevTimesteps[49], -19);
    const s20 = ddimSchedule(SD_SCHEDULER_CONFIG, 20);
    assert.deepEqual(
      s20.timesteps,
      [951, 901, 851, 801, 751, 701, 651, 601, 551, 501, 451, 401, 351, 301, 251, 201, 151, 101, 51, 1],
    );
  });

  it("rejects step counts it cannot schedule", () => {
    assert.throws(() => ddimSchedule(SD_SCHEDULER_CONFIG, 0), InvalidJobParamsError);
    assert.throws(() => ddimSchedule(SD_SCHEDULER_CONFIG, 1001), InvalidJobParamsError);
    // 1000 steps with offset 1 would reach t = 1000, outside the table (diffusers would index out of range).
    assert.throws(() => ddimSchedule(SD_SCHEDULER_CONFIG, 1000), InvalidJobParamsError);
    assert.equal(ddimSchedule({ ...SD_SCHEDULER_CONFIG, stepsOffset: 0 }, 1000).timesteps[0], 999);
  });

  it("uses ᾱ_0 after the last step unless set_alpha_to_one", () => {
    const s = ddimSchedule(SD_SCHEDULER_CONFIG, 20);
    const last = ddimCoefficients(s, 1, -49);
    assert.equal(last.sqrtAlphaPrev, Math.fround(Math.sqrt(s.alphasCumprod[0]!)));
    const one = ddimSchedule({ ...SD_SCHEDULER_CONFIG, setAlphaToOne: true }, 20);
    assert.equal(ddimCoefficients(one, 1, -49).sqrtAlphaPrev, 1);
    assert.equal(ddimCoefficients(one, 1, -49).sqrtOneMinusAlphaPrev, 0);
  });
});

describe("diffusion scheduler: ddimStep", () => {
  const s = ddimSchedule(SD_SCHEDULER_CONFIG, 20);

  it("matches diffusers' DDIM formula evaluated in float64 within float32 rounding", () => {
    for (const i of [0, 9, 19]) {
      const t = s.timesteps[i]!;
      const tPrev = s.prevTimesteps[i]!;
      const out = ddimStep({ schedule: s, latent: z, noise: e, t, tPrev });
      const a = s.alphasCumprod[t]!;
      const ap = tPrev >= 0 ? s.alphasCumprod[tPrev]! : s.finalAlphaCumprod;
      let worst = 0;
      for (let j = 0; j < z.length; j++) {
        const x0 = (z[j]! - Math.sqrt(1 - a) * e[j]!) / Math.sqrt(a);
        const ref = Math.sqrt(ap) * x0 + Math.sqrt(1 - ap) * e[j]!;
        worst = Math.max(worst, Math.abs(out[j]! - ref) / (1 + Math.abs(ref)));
      }
      assert.ok(worst < 2e-6, `step ${i}: relative error ${worst}`);
    }
  });

  it("lands on x0 when the noise prediction is exact (z = √ᾱ x0 + √(1−ᾱ) ε)", () => {
    const t = 501;
    const a = s.alphasCumprod[t]!;
    const x0 = initialLatent(`0x${"c3".repeat(32)}`, 256, "float32");
    const eps = initialLatent(`0x${"d4".repeat(32)}`, 256, "float32");
    const zt = x0.map((v, j) => Math.sqrt(a) * v + Math.sqrt(1 - a) * eps[j]!);
    const out = ddimStep({ schedule: { ...s, finalAlphaCumprod: 1 }, latent: zt, noise: eps, t, tPrev: -1 });
    for (let j = 0; j < 256; j++) assert.ok(Math.abs(out[j]! - x0[j]!) < 1e-5, `element ${j}`);
  });

  it("is bit-reproducible: repeated runs agree and the outputs have pinned digests", () => {
    const pinned: Record<number, string> = {
      0: "0x8dc08bd4e8fb69e8b352db3ac0b3a4044e0f265708ac858d199190d466f9dd8c",
      10: "0x276ddb648b7e8449bba33ca7427da6395d09396f6c2144859ab70d2d5a450307",
      19: "0x78c8286ae7ec787dd515bd745334c1f5667af849154916307005201f239798a0",
    };
    for (const [i, digest] of Object.entries(pinned)) {
      const p = { schedule: s, latent: z, noise: e, t: s.timesteps[+i]!, tPrev: s.prevTimesteps[+i]! };
      const a = ddimStep(p);
      assert.ok(sameBits(a, ddimStep(p)));
      assert.equal(tensorDigest(a), digest, `step ${i}`);
    }
  });

  it("rounds at every operation: float64 evaluation or another order gives different bits", () => {
    const t = s.timesteps[0]!;
    const tPrev = s.prevTimesteps[0]!;
    const out = ddimStep({ schedule: s, latent: z, noise: e, t, tPrev });
    const c = ddimCoefficients(s, t, tPrev);
    const f = Math.fround;
    const unrounded = new Float32Array(z.length);
    const reordered = new Float32Array(z.length);
    for (let j = 0; j < z.length; j++) {
      const x0 = (z[j]! - c.sqrtOneMinusAlpha * e[j]!) / c.sqrtAlpha;
      unrounded[j] = c.sqrtAlphaPrev * x0 + c.sqrtOneMinusAlphaPrev * e[j]!;
      // Algebraically equal: z·(a'/a) + ε·(b' − a'·b/a).
      const k1 = f(c.sqrtAlphaPrev / c.sqrtAlpha);
      const k2 = f(c.sqrtOneMinusAlphaPrev - f(k1 * c.sqrtOneMinusAlpha));
      reordered[j] = f(f(z[j]! * k1) + f(e[j]! * k2));
    }
    assert.ok(!sameBits(out, unrounded), "float64 intermediates change some bits");
    assert.ok(!sameBits(out, reordered), "another evaluation order changes some bits");
  });

  it("refuses mismatched tensors and timesteps outside the table", () => {
    assert.throws(
      () => ddimStep({ schedule: s, latent: z, noise: e.subarray(1), t: 1, tPrev: -49 }),
      /elements/,
    );
    assert.throws(
      () => ddimStep({ schedule: s, latent: z, noise: e, t: 1000, tPrev: 950 }),
      InvalidJobParamsError,
    );
  });
});

describe("diffusion guidance", () => {
  it("computes f32(u + f32(g·f32(c − u))) and is off at a scale of 1 or less", () => {
    assert.equal(usesGuidance(1000), false);
    assert.equal(usesGuidance(0), false);
    assert.equal(usesGuidance(1001), true);
    assert.equal(guidanceScale(7500), 7.5);
    assert.equal(guidanceScale(1100), Math.fround(1.1));
    const out = applyGuidance(z, e, 7500);
    for (let j = 0; j < 64; j++) {
      const f = Math.fround;
      assert.equal(out[j], f(z[j]! + f(7.5 * f(e[j]! - z[j]!))));
    }
    assert.throws(() => applyGuidance(z, e.subarray(1), 7500), /elements/);
    assert.throws(() => usesGuidance(-1), /guidanceMilli/);
  });
});

describe("diffusion scheduler config", () => {
  it("reads an SD export's PNDM config as the SD DDIM schedule", () => {
    const c = parseSchedulerConfig({
      _class_name: "PNDMScheduler",
      beta_end: 0.012,
      beta_schedule: "scaled_linear",
      beta_start: 0.00085,
      num_train_timesteps: 1000,
      set_alpha_to_one: false,
      skip_prk_steps: true,
      steps_offset: 1,
      trained_betas: null,
      clip_sample: false,
    });
    assert.deepEqual(c, SD_SCHEDULER_CONFIG);
  });

  it("applies diffusers' defaults and rejects what it does not implement", () => {
    const d = parseSchedulerConfig({});
    assert.equal(d.betaSchedule, "linear");
    assert.equal(d.setAlphaToOne, true);
    assert.equal(d.clipSample, true);
    assert.equal(d.stepsOffset, 0);
    for (const bad of [
      { prediction_type: "v_prediction" },
      { timestep_spacing: "trailing" },
      { beta_schedule: "squaredcos_cap_v2" },
      { thresholding: true },
      { num_train_timesteps: 1.5 },
      { trained_betas: [0.1, 0.2] },
      { beta_start: "0.1" },
    ]) {
      assert.throws(() => parseSchedulerConfig(bad), SchedulerConfigError, JSON.stringify(bad));
    }
    assert.throws(() => parseSchedulerConfig([]), SchedulerConfigError);
  });

  it("clips x0 when clip_sample is set", () => {
    const s = ddimSchedule({ ...SD_SCHEDULER_CONFIG, clipSample: true, clipSampleRange: 1 }, 20);
    const out = ddimStep({
      schedule: s,
      latent: Float32Array.of(50),
      noise: Float32Array.of(0),
      t: 1,
      tPrev: -49,
    });
    assert.equal(out[0], Math.fround(Math.fround(Math.sqrt(s.finalAlphaCumprod)) * 1));
  });
});

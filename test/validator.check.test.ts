// The validator's verification core (node/src/validator) on real trajectories of the synthetic SD image model:
// every check of docs/protocol.md §8 passes an honest reveal and fails its own kind of cheat with the right reason
// and mask bit; the escalate band; the error classes for what a validator must not judge.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as sdk from "@infernet/sdk";
import { encodeAbiParameters, keccak256, stringToHex, type Hex } from "viem";
import {
  STEP_BANDS,
  classifyStep,
  closePipeline,
  ddimSchedule,
  ddimStep,
  defaultRuntimeProfile,
  encodeJobPrompts,
  ensureSyntheticModel,
  jobInitialLatent,
  latentDims,
  loadPipeline,
  predictNoise,
  type DdimSchedule,
  type JobParams,
  type Pipeline,
  type PromptEmbeddings,
} from "../containers/diffusion/src/index.ts";
import {
  DEFAULT_BANDS,
  InvalidBandsError,
  InvalidRevealError,
  ReexecutionError,
  TensorLengthError,
  assertBands,
  classify,
  digestMatches,
  expectedTransition,
  initialLatentMatches,
  jobWideBit,
  pipelineReexecutor,
  relativeL2Error,
  tensorSha256,
  transitionHolds,
  verifyJobReveal,
  verifyReveal,
  verdictDigest,
  type Reexecute,
  type Verdict,
  type VerifyRevealParams,
} from "../node/src/validator/index.ts";

process.env.ORT_DISABLE_TELEMETRY = "1";

const NODE = "0x00000000000000000000000000000000000000a1";
const JOB_ID = sdk.jobId({
  chainId: 31337,
  coordinator: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  subscriptionId: 11n,
  interval: 1,
});
const SEED = sdk.jobSeed(JOB_ID, `0x${"5e".repeat(32)}`);
const T = 10;
/** Strata of T = 10, k = 3: [0, 3), [3, 6), [6, 10); the tampering cases challenge these steps. */
const CHALLENGED = [1, 4, 7];
const JOB: JobParams = {
  prompt: "a photo of a cat",
  steps: T,
  guidanceMilli: 7500,
  seed: SEED,
  width: 64,
  height: 64,
  frames: 1,
};

/** A committed trajectory: `latents[0..T]`, `noise[0..T−1]`. */
interface Run {
  latents: Float32Array[];
  noise: Float32Array[];
}

let pipeline: Pipeline;
let embeddings: PromptEmbeddings;
let schedule: DdimSchedule;
let dims: number[];
let elements: number;
let honest: Run;

/** The guided UNet prediction at `latent`, step `i`. */
function unet(i: number, latent: Float32Array): Promise<Float32Array> {
  return predictNoise({
    unet: pipeline.unet,
    latent,
    dims,
    timestep: schedule.timesteps[i]!,
    embeddings,
    guidanceMilli: JOB.guidanceMilli,
    cfgMode: pipeline.profile.cfgMode,
  });
}

/**
 * A provider's run from `z0`: each step's noise is the UNet's unless `noiseAt` replaces it, the next latent is the
 * exact DDIM transition unless `nextAt` replaces it; later steps continue from what was committed.
 */
async function simulate(
  opts: {
    z0?: Float32Array;
    noiseAt?: (i: number, honestNoise: Float32Array, latent: Float32Array) => Float32Array;
    nextAt?: (i: number, latent: Float32Array, noise: Float32Array, exact: Float32Array) => Float32Array;
  } = {},
): Promise<Run> {
  let z = opts.z0 ?? jobInitialLatent(pipeline, JOB);
  const run: Run = { latents: [z], noise: [] };
  for (let i = 0; i < T; i++) {
    const honestNoise = await unet(i, z);
    const eps = opts.noiseAt?.(i, honestNoise, z) ?? honestNoise;
    const exact = ddimStep({
      schedule,
      latent: z,
      noise: eps,
      t: schedule.timesteps[i]!,
      tPrev: schedule.prevTimesteps[i]!,
    });
    z = opts.nextAt?.(i, z, eps, exact) ?? exact;
    run.noise.push(eps);
    run.latents.push(z);
  }
  return run;
}

const records = (run: Run): sdk.StepRecord[] =>
  run.noise.map((eps, i) => ({
    timestep: schedule.timesteps[i]!,
    latentDigest: sdk.tensorDigest(run.latents[i]!),
    noiseDigest: sdk.tensorDigest(eps),
  }));

/** verifyReveal's arguments for `run` committed and opened at `challenged`, every opened tensor served. */
function params(run: Run, challenged: number[] = CHALLENGED, committed: Run = run): VerifyRevealParams {
  const recs = records(committed);
  const opened = sdk.openedIndices(challenged, T);
  const latents = new Map<number, Float32Array>();
  const noise = new Map<number, Float32Array>();
  for (const i of opened) {
    if (i <= T) latents.set(i, run.latents[i]!); // z_T too: the output leaf is always opened
    if (i < T) noise.set(i, run.noise[i]!);
  }
  return {
    T,
    elements,
    challenged,
    openings: opened.filter((i) => i < T).map((index) => ({ index, ...recs[index]! })),
    finalLatentDigest: sdk.tensorDigest(committed.latents[T]!),
    seed: SEED,
    schedule,
    tensors: { latents, noise },
    reexecute: pipelineReexecutor({ pipeline, job: JOB, embeddings }),
    bands: DEFAULT_BANDS,
  };
}

function codes(v: Verdict): string[] {
  return v.reasons.map((r) => `${r.code}@${r.index}#${r.bit}`);
}

describe("validator checks", () => {
  before(async () => {
    pipeline = await loadPipeline({ dir: await ensureSyntheticModel("image") });
    embeddings = await encodeJobPrompts(pipeline, JOB);
    schedule = ddimSchedule(pipeline.scheduler, T);
    dims = latentDims(pipeline, JOB);
    elements = dims.reduce((a, b) => a * b, 1);
    honest = await simulate();
  });
  after(async () => closePipeline(pipeline));

  describe("relative L2 error and bands", () => {
    it("is ‖ε' − ε‖ / ‖ε‖ with the committed ε as denominator, accumulated in float64", () => {
      const eps = Float32Array.of(3, 4); // ‖ε‖ = 5
      assert.equal(relativeL2Error(Float32Array.of(3, 4), eps), 0);
      assert.equal(relativeL2Error(Float32Array.of(3, 5), eps), 0.2);
      assert.equal(relativeL2Error(Float32Array.of(0, 0), eps), 1);
      // Denominator is the committed side: swapping the arguments changes the value.
      assert.equal(relativeL2Error(eps, Float32Array.of(6, 8)), 0.5);
      assert.equal(relativeL2Error(Float32Array.of(6, 8), eps), 1);
      // 1e6 elements of 1e-3 each: float32 accumulation would drift, float64 gives 1e-3 to ~1e-12.
      const big = new Float32Array(1_000_000).fill(1);
      const off = new Float32Array(1_000_000).fill(Math.fround(1 + 2 ** -10));
      assert.ok(Math.abs(relativeL2Error(off, big) - 2 ** -10) < 1e-12);
    });

    it("defines ‖ε‖ = 0, non-finite values and signed zeros", () => {
      const zero = new Float32Array(4);
      assert.equal(relativeL2Error(new Float32Array(4), zero), 0, "0 against 0");
      assert.equal(relativeL2Error(Float32Array.of(0, 0, 0, 1e-30), zero), Infinity, "anything against 0");
      assert.equal(relativeL2Error(Float32Array.of(-0, 0), Float32Array.of(0, -0)), 0, "−0 is 0");
      assert.equal(relativeL2Error(Float32Array.of(NaN, 1), Float32Array.of(NaN, 1)), 0, "same bits");
      assert.equal(relativeL2Error(Float32Array.of(NaN, 1), Float32Array.of(1, 1)), Infinity);
      assert.equal(relativeL2Error(Float32Array.of(1, 1), Float32Array.of(Infinity, 1)), Infinity);
      assert.throws(() => relativeL2Error(new Float32Array(2), new Float32Array(3)), TensorLengthError);
    });

    it("classifies pass ≤ pass limit < escalate < fail limit ≤ fail, NaN fails, like the calibrated classifyStep", () => {
      const bands = { pass: 1e-4, fail: 5e-4 };
      assert.equal(classify(0, bands), "pass");
      assert.equal(classify(1e-4, bands), "pass");
      assert.equal(classify(1.0001e-4, bands), "escalate");
      assert.equal(classify(4.999e-4, bands), "escalate");
      assert.equal(classify(5e-4, bands), "fail");
      assert.equal(classify(Infinity, bands), "fail");
      assert.equal(classify(NaN, bands), "fail");
      assert.equal(classify(0, { pass: 0, fail: 1e-12 }), "pass");
      assert.equal(classify(1e-13, { pass: 0, fail: 1e-12 }), "escalate");
      assert.deepEqual(DEFAULT_BANDS, { pass: STEP_BANDS.passMax, fail: STEP_BANDS.failMin });
      for (const r of [0, 1e-7, 1e-4, 2e-4, 5e-4, 1e-3, 1, Infinity, NaN]) {
        assert.equal(classify(r, DEFAULT_BANDS), classifyStep(r), `r = ${r}`);
      }
      for (const bad of [
        { pass: -1, fail: 1 },
        { pass: 2, fail: 1 },
        { pass: 1, fail: 1 },
        { pass: NaN, fail: 1 },
        { pass: 0, fail: Infinity },
      ]) {
        assert.throws(() => assertBands(bad), InvalidBandsError);
      }
    });
  });

  describe("single checks", () => {
    it("digests, initial latent, transitions", () => {
      const z0 = honest.latents[0]!;
      for (const t of [
        z0,
        honest.noise[3]!,
        z0.subarray(5, 77),
        new Float32Array(0),
        Float32Array.of(-0, NaN),
      ]) {
        assert.equal(tensorSha256(t), sdk.tensorDigest(t), "the sdk's canonical digest");
      }
      assert.ok(digestMatches(z0, sdk.tensorDigest(z0)));
      assert.ok(!digestMatches(z0, sdk.tensorDigest(honest.latents[1]!)));
      assert.ok(initialLatentMatches(SEED, z0));
      assert.ok(!initialLatentMatches(sdk.jobSeed(JOB_ID, `0x${"5f".repeat(32)}`), z0));
      const flipped = z0.slice();
      new Uint32Array(flipped.buffer)[7]! ^= 1; // one ulp in one element
      assert.ok(!initialLatentMatches(SEED, flipped));
      for (let i = 0; i < T; i++) {
        assert.ok(transitionHolds(schedule, i, honest.latents[i]!, honest.noise[i]!, honest.latents[i + 1]!));
      }
      assert.ok(!transitionHolds(schedule, 3, honest.latents[3]!, honest.noise[3]!, honest.latents[5]!));
      assert.ok(!transitionHolds(schedule, 3, honest.latents[3]!, honest.noise[3]!, new Float32Array(3)));
      assert.throws(() => expectedTransition(schedule, T, z0, honest.noise[0]!), InvalidRevealError);
    });
  });

  describe("verifyReveal", () => {
    it("passes an honest reveal from the sdk prover, bit-exact, with the recomputed digest", async () => {
      const c = sdk.commitJob({
        jobId: JOB_ID,
        node: NODE,
        steps: records(honest),
        finalLatentDigest: sdk.tensorDigest(honest.latents[T]!),
        outputHash: keccak256(stringToHex("output")),
        paramsHash: keccak256(stringToHex("params")),
      });
      const reveal = sdk.revealJob(c, `0x${"c7".repeat(32)}`, 3);
      const base = params(honest, reveal.challenged);
      const v = await verifyReveal({ ...base, openings: reveal.openings });
      assert.deepEqual(codes(v), []);
      assert.equal(v.pass, true);
      assert.equal(v.outcome, "pass");
      assert.equal(v.failedMask, 0n);
      assert.equal(v.escalateMask, 0n);
      assert.equal(v.maxRelErr, 0, "same profile: ε' has the committed bits");
      assert.equal(v.steps.length, 3);
      // ε' hashes to the committed noise digests, so the verdict digest is computable from the reveal alone.
      const committedNoise = reveal.challenged.map((i) => sdk.tensorDigest(honest.noise[i]!));
      assert.deepEqual(
        v.steps.map((s) => s.recomputedDigest),
        committedNoise,
      );
      assert.equal(v.digest, keccak256(encodeAbiParameters([{ type: "bytes32[]" }], [committedNoise])));
      assert.equal(verdictDigest(committedNoise), v.digest);
      assert.equal(verdictDigest([]), keccak256(encodeAbiParameters([{ type: "bytes32[]" }], [[]])));
      assert.throws(() => verdictDigest(["0x12"]), InvalidRevealError);
      assert.throws(() => verdictDigest([`0x${"zz".repeat(32)}`]), InvalidRevealError);
    });

    it("passes every placement of the challenge on an honest run, including the last step", async () => {
      for (const challenged of [
        [0, 3, 9],
        [2, 5, 6],
      ]) {
        const v = await verifyReveal(params(honest, challenged));
        assert.equal(v.pass, true, codes(v).join());
      }
    });

    it("fails a tampered ε at a challenged step (skipped UNet call, ε reused): noise, bit of that step only", async () => {
      const cheat = await simulate({ noiseAt: (i, eps) => (i === 4 ? honest.noise[3]! : eps) });
      const v = await verifyReveal(params(cheat));
      assert.deepEqual(codes(v), ["noise@4#1"]);
      assert.equal(v.failedMask, 0b010n);
      assert.equal(v.pass, false);
      assert.equal(v.outcome, "fail");
      assert.ok(v.maxRelErr > DEFAULT_BANDS.fail, `relErr ${v.maxRelErr}`);
      assert.equal(v.steps[1]!.band, "fail");
      // The same cheat is invisible when no challenged step is the tampered one (and its neighbours are honest).
      const missed = await verifyReveal(params(cheat, [2, 5, 8]));
      assert.equal(missed.pass, true, codes(missed).join());
    });

    it("fails a tampered latent: z_{c+1} off the DDIM transition of step c (transition, bit of c)", async () => {
      const cheat = await simulate({
        nextAt: (i, _z, _eps, exact) => {
          if (i !== 7) return exact;
          const z = exact.slice();
          z[5] = z[5]! + 1e-3;
          return z;
        },
      });
      const v = await verifyReveal(params(cheat));
      assert.deepEqual(codes(v), ["transition@7#2"]);
      assert.equal(v.failedMask, 0b100n);
      assert.equal(v.steps[2]!.band, "pass", "ε_7 itself is honest");
    });

    it("fails a broken transition: DDIM evaluated in float64 (algebraically equal, other bits)", async () => {
      const cheat = await simulate({
        nextAt: (i, z, eps, exact) => {
          if (i !== 1) return exact;
          const acp = schedule.alphasCumprod;
          const a = acp[schedule.timesteps[i]!]!;
          const tp = schedule.prevTimesteps[i]!;
          const ap = tp < 0 ? schedule.finalAlphaCumprod : acp[tp]!;
          const out = new Float32Array(z.length);
          for (let j = 0; j < z.length; j++) {
            const x0 = (z[j]! - Math.sqrt(1 - a) * eps[j]!) / Math.sqrt(a);
            out[j] = Math.sqrt(ap) * x0 + Math.sqrt(1 - ap) * eps[j]!;
          }
          assert.ok(relativeL2Error(out, exact) < 1e-5, "numerically the same step");
          return out;
        },
      });
      const v = await verifyReveal(params(cheat));
      assert.deepEqual(codes(v), ["transition@1#0"]);
      assert.equal(v.failedMask, 0b001n);
    });

    it("fails a wrong seed: leaf 0 is not the seed's z_0 (initial-latent, job-wide bit k)", async () => {
      const other = sdk.initialLatent(sdk.jobSeed(JOB_ID, `0x${"77".repeat(32)}`), elements, "float32");
      const cheat = await simulate({ z0: other });
      const v = await verifyReveal(params(cheat));
      assert.deepEqual(codes(v), ["initial-latent@0#3"]);
      assert.equal(v.failedMask, jobWideBit(3));
      assert.equal(v.failedMask, 0b1000n);
      // Every challenged step is self-consistent: only the seed check sees the cheat.
      assert.ok(v.steps.every((s) => s.band === "pass"));
      // Also when step 0 is challenged, the step itself passes and the job-wide bit carries the failure.
      const at0 = await verifyReveal(params(cheat, [0, 4, 7]));
      assert.deepEqual(codes(at0), ["initial-latent@0#3"]);
    });

    it("fails a served tensor that does not hash to its revealed digest, and a missing one", async () => {
      const p = params(honest);
      const noise = new Map(p.tensors.noise);
      noise.set(
        4,
        honest.noise[4]!.map((x) => x * 1.5),
      );
      let reexecuted = 0;
      const counting: Reexecute = (s) => {
        reexecuted++;
        return p.reexecute(s);
      };
      const v = await verifyReveal({ ...p, tensors: { ...p.tensors, noise }, reexecute: counting });
      assert.deepEqual(codes(v), ["digest-mismatch@4#1"]);
      assert.equal(v.failedMask, 0b010n);
      assert.equal(reexecuted, 2, "a step whose inputs fail their digests is not re-run");
      assert.equal(v.steps[1]!.relErr, undefined);

      const latents = new Map(p.tensors.latents);
      latents.delete(8); // z_{c+1} of c = 7
      const w = await verifyReveal({ ...p, tensors: { ...p.tensors, latents } });
      assert.deepEqual(codes(w), ["missing-tensor@8#2"]);
      const sized = new Map(p.tensors.latents);
      sized.set(1, honest.latents[1]!.subarray(1));
      const x = await verifyReveal({ ...p, tensors: { ...p.tensors, latents: sized } });
      assert.deepEqual(codes(x), ["tensor-size@1#0"]);
      // The served z_T is judged only by the output check (below): a wrong one is harmless here.
      const withZT = new Map(p.tensors.latents);
      withZT.set(T, honest.latents[T - 1]!);
      const y = await verifyReveal({ ...p, tensors: { ...p.tensors, latents: withZT } });
      assert.equal(y.pass, true, codes(y).join());
      // ... unless step T − 1 is challenged: then z_T is its z_{c+1}.
      const last = params(honest, [1, 4, T - 1]);
      const lastZT = new Map(last.tensors.latents).set(T, honest.latents[T - 1]!);
      const z = await verifyReveal({ ...last, tensors: { ...last.tensors, latents: lastZT } });
      assert.deepEqual(codes(z), [`digest-mismatch@${T}#2`]);
    });

    it("escalates a noise error between the bands (ε scaled by 1 + 2e-4, transitions consistent)", async () => {
      const cheat = await simulate({
        noiseAt: (i, eps) => (i === 7 ? eps.map((x) => Math.fround(x * 1.0002)) : eps),
      });
      const v = await verifyReveal(params(cheat));
      assert.deepEqual(codes(v), ["noise-escalate@7#2"]);
      assert.equal(v.pass, false);
      assert.equal(v.outcome, "escalate");
      assert.equal(v.failedMask, 0n, "nothing to slash on");
      assert.equal(v.escalateMask, 0b100n);
      const reference = await unet(7, cheat.latents[7]!);
      assert.equal(
        v.steps[2]!.recomputedDigest,
        sdk.tensorDigest(reference),
        "sha256(ε'), not the committed digest",
      );
      assert.notEqual(v.steps[2]!.recomputedDigest, sdk.tensorDigest(cheat.noise[7]!));
      assert.ok(v.maxRelErr > 1.9e-4 && v.maxRelErr < 2.1e-4, `relErr ${v.maxRelErr}`);
      const strict = await verifyReveal({ ...params(cheat), bands: { pass: 0, fail: 1e-4 } });
      assert.deepEqual(codes(strict), ["noise@7#2"]);
      assert.equal(strict.failedMask, 0b100n);
      // ε × (1 + 1e-3) is past the calibrated fail limit (5e-4).
      const far = await simulate({
        noiseAt: (i, eps) => (i === 7 ? eps.map((x) => Math.fround(x * 1.001)) : eps),
      });
      assert.deepEqual(codes(await verifyReveal(params(far))), ["noise@7#2"]);
    });

    it("fails a wrong timestep, a wrong params hash and a wrong output hash (job-wide)", async () => {
      const p = params(honest);
      const openings = p.openings.map((o) => (o.index === 5 ? { ...o, timestep: o.timestep + 1 } : o));
      const v = await verifyReveal({ ...p, openings });
      assert.deepEqual(codes(v), ["timestep@5#1"]);
      const good = keccak256(stringToHex("params"));
      const w = await verifyReveal({
        ...p,
        params: { committed: keccak256(stringToHex("x")), expected: good },
      });
      assert.deepEqual(codes(w), [`params@${T + 1}#3`]);
      assert.equal((await verifyReveal({ ...p, params: { committed: good, expected: good } })).pass, true);
      const latents = p.tensors.latents; // z_T is served: the output leaf is always opened
      const hashOf = (z: Float32Array): Hex => keccak256(sdk.sha256Hex(new Uint8Array(z.buffer)));
      const out = hashOf(honest.latents[T]!);
      const ok = await verifyReveal({
        ...p,
        tensors: { ...p.tensors, latents },
        output: { committed: out, hashOf },
      });
      assert.equal(ok.pass, true, codes(ok).join());
      const bad = await verifyReveal({
        ...p,
        tensors: { ...p.tensors, latents },
        output: { committed: keccak256(out), hashOf },
      });
      assert.deepEqual(codes(bad), [`output@${T}#3`]);
      const noZT = new Map(p.tensors.latents);
      noZT.delete(T);
      const missing = await verifyReveal({
        ...p,
        tensors: { ...p.tensors, latents: noZT },
        output: { committed: out, hashOf },
      });
      assert.deepEqual(codes(missing), [`missing-tensor@${T}#3`]);
    });

    it("refuses what it cannot judge: malformed reveals, bad bands, a failing re-execution", async () => {
      const p = params(honest);
      await assert.rejects(verifyReveal({ ...p, openings: p.openings.slice(1) }), InvalidRevealError);
      await assert.rejects(verifyReveal({ ...p, challenged: [4, 1, 7] }), InvalidRevealError);
      await assert.rejects(verifyReveal({ ...p, challenged: [1, 4, T] }), InvalidRevealError);
      await assert.rejects(
        verifyReveal({ ...p, schedule: ddimSchedule(pipeline.scheduler, T + 1) }),
        InvalidRevealError,
      );
      await assert.rejects(verifyReveal({ ...p, bands: { pass: 1, fail: 0 } }), InvalidBandsError);
      await assert.rejects(
        verifyReveal({
          ...p,
          reexecute: () => {
            throw new Error("out of memory");
          },
        }),
        (err: unknown) =>
          err instanceof ReexecutionError && err.index === 1 && /out of memory/.test(err.message),
      );
      await assert.rejects(verifyReveal({ ...p, reexecute: () => new Float32Array(3) }), ReexecutionError);
    });

    it("verifyJobReveal takes T, size, schedule and seed from the pipeline; another profile stays in the pass band", async () => {
      const p = params(honest);
      const v = await verifyJobReveal({
        pipeline,
        job: JOB,
        challenged: p.challenged,
        openings: p.openings,
        finalLatentDigest: p.finalLatentDigest,
        tensors: p.tensors,
        bands: DEFAULT_BANDS,
      });
      assert.equal(v.pass, true, codes(v).join());
      assert.equal(v.maxRelErr, 0);
      // A validator on another runtime profile (two batch-1 guidance runs): not bit-exact, still far inside the band.
      const other = await loadPipeline({
        dir: pipeline.dir,
        profile: defaultRuntimeProfile({ cfgMode: "separate" }),
      });
      try {
        const w = await verifyJobReveal({
          pipeline: other,
          job: JOB,
          challenged: p.challenged,
          openings: p.openings,
          finalLatentDigest: p.finalLatentDigest,
          tensors: p.tensors,
          bands: DEFAULT_BANDS,
        });
        assert.equal(w.pass, true, codes(w).join());
        assert.ok(w.maxRelErr > 0 && w.maxRelErr < DEFAULT_BANDS.pass / 10, `relErr ${w.maxRelErr}`);
      } finally {
        await closePipeline(other);
      }
    });
  });
});

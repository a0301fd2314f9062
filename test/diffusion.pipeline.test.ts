// The real-model path on synthetic models with the signatures of a Stable Diffusion ONNX export (diffusers layout),
// image and video latents, end to end: step hook → PoI leaves and tree (sdk) → reveal → validator re-execution of
// the challenged steps, bit-exact under the same runtime profile, detectably different under another.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as sdk from "@infernet/sdk";
import { concat, keccak256, stringToHex, type Hex } from "viem";
import {
  InvalidJobParamsError,
  LAYOUT,
  LatentShapeError,
  ModelSignatureError,
  RuntimeProfileError,
  buildSyntheticModel,
  closePipeline,
  ddimSchedule,
  defaultRuntimeProfile,
  denoise,
  ensureSyntheticModel,
  generate,
  jobInitialLatent,
  latentDims,
  loadPipeline,
  modelDirectoryDigest,
  rawVideo,
  reexecuteStep,
  relativeL2,
  sameBits,
  stepRecords,
  finalLatentDigest,
  transitionStep,
  writeModelFiles,
  type JobParams,
  type Pipeline,
  type StepEvent,
} from "@infernet/diffusion";

const NODE = "0x00000000000000000000000000000000000000a1";
const JOB_ID = sdk.jobId({
  chainId: 31337,
  coordinator: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  subscriptionId: 7n,
  interval: 3,
});
const SEED = sdk.jobSeed(JOB_ID, `0x${"9a".repeat(32)}`);
const CHALLENGE_RANDOMNESS = `0x${"c7".repeat(32)}` as Hex;

function imageJob(over: Partial<JobParams> = {}): JobParams {
  return {
    prompt: "a photo of an astronaut riding a horse",
    steps: 8,
    guidanceMilli: 7500,
    seed: SEED,
    width: 64,
    height: 48,
    frames: 1,
    ...over,
  };
}

/** Runs a job as a provider does: leaves from the step hook, the tree from the trajectory, a reveal. */
async function provide(pipeline: Pipeline, job: JobParams) {
  const hookLeaves: Hex[] = [];
  const events: StepEvent[] = [];
  const result = await generate({
    pipeline,
    job,
    onStep: (e) => {
      events.push(e);
      hookLeaves.push(
        sdk.stepLeaf({
          jobId: JOB_ID,
          node: NODE,
          T: e.steps,
          index: e.index,
          timestep: e.timestep,
          latentDigest: sdk.tensorDigest(e.latent),
          noiseDigest: sdk.tensorDigest(e.noise),
        }),
      );
    },
  });
  const outputHash = keccak256(
    concat([sdk.sha256Hex(rawVideo(result.frames)), stringToHex("ipfs://synthetic")]),
  );
  const paramsHash = sdk.paramsHash({
    modelHash: await modelDirectoryDigest(pipeline.dir),
    schedulerHash: keccak256(stringToHex("ddim")),
    guidanceMilli: job.guidanceMilli,
    width: job.width,
    height: job.height,
    frames: job.frames,
    seed: job.seed,
    inputsHash: keccak256(stringToHex(job.prompt)),
    dtype: "float32",
  });
  const commitment = sdk.commitJob({
    jobId: JOB_ID,
    node: NODE,
    steps: stepRecords(result.trajectory),
    finalLatentDigest: finalLatentDigest(result.trajectory),
    outputHash,
    paramsHash,
  });
  return {
    result,
    events,
    hookLeaves,
    commitment,
    reveal: sdk.revealJob(commitment, CHALLENGE_RANDOMNESS, 3),
  };
}

describe("diffusion pipeline: synthetic SD image export", () => {
  let dir: string;
  let pipeline: Pipeline;
  let provided: Awaited<ReturnType<typeof provide>>;
  const job = imageJob();
  before(async () => {
    dir = await ensureSyntheticModel("image");
    pipeline = await loadPipeline({ dir });
    provided = await provide(pipeline, job);
  });
  after(async () => closePipeline(pipeline));

  it("reads the export's signatures and configs", () => {
    assert.equal(pipeline.textEncoder.idsType, "int32");
    assert.equal(pipeline.unet.sampleRank, 4);
    assert.equal(pipeline.unet.timestepType, "float32");
    assert.equal(pipeline.unet.timestepRank, 1);
    assert.equal(pipeline.latentChannels, 4, "channels from unet/config.json (symbolic in the graph)");
    assert.equal(pipeline.latentFactor, 8);
    assert.equal(pipeline.vae.scalingFactor, 0.18215);
    assert.equal(pipeline.tokenizer.padId, pipeline.tokenizer.eosId);
    assert.deepEqual(latentDims(pipeline, job), [1, 4, 6, 8]);
  });

  it("generates: z_0 from the seed, one hook event per step, trajectory kept, frames decoded", () => {
    const { result, events } = provided;
    const schedule = ddimSchedule(pipeline.scheduler, job.steps);
    assert.ok(sameBits(result.trajectory.latents[0]!, sdk.initialLatent(SEED, 4 * 6 * 8, "float32")));
    assert.ok(sameBits(result.trajectory.latents[0]!, jobInitialLatent(pipeline, job)));
    assert.equal(events.length, job.steps);
    assert.equal(result.trajectory.latents.length, job.steps + 1);
    assert.equal(result.trajectory.noise.length, job.steps);
    for (const e of events) {
      assert.equal(e.timestep, schedule.timesteps[e.index]);
      assert.equal(e.prevTimestep, schedule.prevTimesteps[e.index]);
      assert.ok(sameBits(e.latent, result.trajectory.latents[e.index]!));
      assert.ok(sameBits(e.noise, result.trajectory.noise[e.index]!));
      assert.ok(sameBits(e.next, result.trajectory.latents[e.index + 1]!));
      assert.ok(!sameBits(e.next, e.latent), "every step changes the latent");
    }
    assert.equal(result.frames.length, 1);
    assert.equal(result.frames[0]!.width, 64);
    assert.equal(result.frames[0]!.height, 48);
    assert.ok(new Set(result.frames[0]!.rgb).size > 10, "an image, not a constant");
  });

  it("is reproducible: a second run gives the same trajectory bits", async () => {
    const again = await generate({ pipeline, job, decode: false });
    assert.ok(sameBits(again.finalLatent, provided.result.finalLatent));
    assert.equal(
      sdk.tensorDigest(again.trajectory.noise[3]!),
      sdk.tensorDigest(provided.result.trajectory.noise[3]!),
    );
  });

  it("hook leaves are the sdk tree's step leaves; the reveal verifies", () => {
    const { commitment, hookLeaves, reveal, result } = provided;
    const T = job.steps;
    assert.deepEqual(commitment.tree.levels[0]!.slice(0, T), hookLeaves);
    const tree = sdk.buildTree([
      ...hookLeaves,
      sdk.outputLeaf({
        jobId: JOB_ID,
        node: NODE,
        T,
        finalLatentDigest: sdk.tensorDigest(result.finalLatent),
        outputHash: commitment.input.outputHash,
      }),
      sdk.paramsLeaf({ jobId: JOB_ID, node: NODE, T, paramsHash: commitment.input.paramsHash }),
    ]);
    assert.equal(tree.root, commitment.root);
    const opened = sdk.openedIndices(reveal.challenged, T);
    assert.ok(
      sdk.verifyMultiproof({
        root: commitment.root,
        depth: commitment.tree.depth,
        leafCount: T + 2,
        indices: opened,
        leaves: opened.map((i) => commitment.tree.levels[0]![i]!),
        proof: reveal.proof,
      }),
    );
  });

  it("a validator re-executes the challenged steps bit-exactly with the same profile", async (t) => {
    const { reveal, result } = provided;
    const profile = defaultRuntimeProfile();
    const validator = await loadPipeline({ dir, profile });
    try {
      assert.equal(reveal.challenged.length, 3);
      for (const c of reveal.challenged) {
        const opening = reveal.openings.find((o) => o.index === c)!;
        const zc = result.trajectory.latents[c]!;
        assert.equal(sdk.tensorDigest(zc), opening.latentDigest);
        const started = performance.now();
        const step = await reexecuteStep({ pipeline: validator, job, index: c, latent: zc, profile });
        t.diagnostic(
          `step ${c} re-executed in ${(performance.now() - started).toFixed(1)} ms (incl. prompt encoding)`,
        );
        assert.equal(step.timestep, opening.timestep);
        assert.equal(sdk.tensorDigest(step.noise), opening.noiseDigest);
        assert.equal(relativeL2(step.noise, result.trajectory.noise[c]!), 0);
        assert.ok(sameBits(step.next, result.trajectory.latents[c + 1]!));
        // Check 4 of the protocol: the committed ε gives the committed z_{c+1} exactly.
        const next = transitionStep({
          pipeline: validator,
          job,
          index: c,
          latent: zc,
          noise: result.trajectory.noise[c]!,
        });
        assert.ok(sameBits(next, result.trajectory.latents[c + 1]!));
      }
    } finally {
      await closePipeline(validator);
    }
  });

  it("another graphOptimizationLevel, batching mode or a perturbed latent is detectably different", async (t) => {
    const c = provided.reveal.challenged[0]!;
    const zc = provided.result.trajectory.latents[c]!;
    const committed = provided.result.trajectory.noise[c]!;
    for (const over of [{ graphOptimizationLevel: "disabled" as const }, { cfgMode: "separate" as const }]) {
      const other = await loadPipeline({ dir, profile: defaultRuntimeProfile(over) });
      try {
        const step = await reexecuteStep({ pipeline: other, job, index: c, latent: zc });
        const rel = relativeL2(step.noise, committed);
        t.diagnostic(`${JSON.stringify(over)}: relative L2 of ε = ${rel.toExponential(3)}`);
        assert.ok(rel > 0, "different bits");
        assert.ok(rel < 1e-4, "but only float rounding apart");
        await assert.rejects(
          reexecuteStep({ pipeline: other, job, index: c, latent: zc, profile: defaultRuntimeProfile() }),
          RuntimeProfileError,
        );
      } finally {
        await closePipeline(other);
      }
    }
    const perturbed = Float32Array.from(zc);
    perturbed[5] = perturbed[5]! + 1e-3;
    const step = await reexecuteStep({ pipeline, job, index: c, latent: perturbed });
    const rel = relativeL2(step.noise, committed);
    t.diagnostic(`perturbed latent: relative L2 of ε = ${rel.toExponential(3)}`);
    assert.ok(rel > 0);
    assert.ok(!sameBits(step.next, provided.result.trajectory.latents[c + 1]!));
    // A tampered ε breaks the exact transition check.
    const tampered = Float32Array.from(committed);
    tampered[0] = Math.fround(tampered[0]! * 1.0001);
    const next = transitionStep({ pipeline, job, index: c, latent: zc, noise: tampered });
    assert.ok(!sameBits(next, provided.result.trajectory.latents[c + 1]!));
  });

  it("rejects jobs, latents and profiles it cannot run", async () => {
    assert.throws(() => latentDims(pipeline, imageJob({ width: 60 })), InvalidJobParamsError);
    assert.throws(() => latentDims(pipeline, imageJob({ frames: 2 })), InvalidJobParamsError);
    const zc = provided.result.trajectory.latents[0]!;
    await assert.rejects(
      reexecuteStep({ pipeline, job, index: job.steps, latent: zc }),
      InvalidJobParamsError,
    );
    await assert.rejects(
      reexecuteStep({ pipeline, job, index: 0, latent: zc.subarray(1) }),
      LatentShapeError,
    );
    await assert.rejects(
      loadPipeline({ dir, profile: defaultRuntimeProfile({ ortVersion: "0.0.1" }) }),
      RuntimeProfileError,
    );
    await assert.rejects(
      loadPipeline({ dir, profile: defaultRuntimeProfile({ intraOpNumThreads: 0 }) }),
      RuntimeProfileError,
    );
  });

  it("rejects a model directory whose UNet has the wrong signature", async () => {
    const bad = await mkdtemp(join(tmpdir(), "infernet-badmodel-"));
    try {
      const files = new Map(buildSyntheticModel("image"));
      files.set(LAYOUT.unet, files.get(LAYOUT.vaeDecoder)!);
      await writeModelFiles(bad, files);
      await assert.rejects(loadPipeline({ dir: bad }), (err: unknown) => {
        assert.ok(err instanceof ModelSignatureError);
        assert.match(err.message, /unet: no input named "sample"/);
        return true;
      });
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });
});

describe("diffusion pipeline: synthetic video export", () => {
  let pipeline: Pipeline;
  const job = imageJob({ prompt: "a red horse at night", frames: 4, steps: 6, guidanceMilli: 5000 });
  before(async () => {
    pipeline = await loadPipeline({ dir: await ensureSyntheticModel("video") });
  });
  after(async () => closePipeline(pipeline));

  it("denoises [1, 4, F, h, w] latents, decodes every frame and re-executes a step bit-exactly", async () => {
    assert.equal(pipeline.unet.sampleRank, 5);
    assert.equal(pipeline.unet.timestepType, "int64");
    assert.equal(pipeline.tokenizer.padId, pipeline.tokenizer.vocab.get("!"), "SD 2.x-style padding");
    assert.deepEqual(latentDims(pipeline, job), [1, 4, 4, 6, 8]);
    const seen: number[] = [];
    const steps = denoise({ pipeline, job });
    let r = await steps.next();
    while (r.done !== true) {
      seen.push(r.value.index);
      r = await steps.next();
    }
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
    const trajectory = r.value;
    const result = await generate({ pipeline, job });
    assert.ok(sameBits(result.finalLatent, trajectory.latents[6]!), "iterator and generate agree");
    assert.equal(result.frames.length, 4);
    assert.ok(result.frames.every((f) => f.width === 64 && f.height === 48));
    assert.ok(
      !Buffer.from(result.frames[0]!.rgb).equals(Buffer.from(result.frames[3]!.rgb)),
      "frames differ",
    );
    const step = await reexecuteStep({ pipeline, job, index: 2, latent: trajectory.latents[2]! });
    assert.ok(sameBits(step.noise, trajectory.noise[2]!));
    assert.ok(sameBits(step.next, trajectory.latents[3]!));
  });
});

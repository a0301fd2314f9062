// Generates one clip and writes GIF, PNG frames (and MP4 when ffmpeg is on PATH), printing per-step progress and
// the digests a provider commits to.
// Usage: node src/bin/generate.ts [--model DIR] [--steps 20] [--guidance 7500] [--seed 0x…] [--out DIR] "prompt"
// Without --model it builds and uses the procedural model (64 × 64, 8 frames).
import { parseArgs } from "node:util";
import { tensorDigest } from "@infernet/sdk";
import { ensureProceduralModel } from "../models/procedural/build.ts";
import { writeOutputs } from "../output/write.ts";
import { closePipeline, generate, loadPipeline, type Hex } from "../pipeline.ts";
import { profileKey } from "../runtime.ts";
import { finalLatentDigest } from "../trajectory.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: "string" },
    steps: { type: "string", default: "20" },
    guidance: { type: "string", default: "7500" },
    seed: { type: "string", default: `0x${"00".repeat(31)}01` },
    width: { type: "string", default: "64" },
    height: { type: "string", default: "64" },
    frames: { type: "string", default: "8" },
    out: { type: "string", default: "out/diffusion" },
  },
});
const dir = values.model ?? (await ensureProceduralModel());
const pipeline = await loadPipeline({ dir });
const job = {
  prompt: positionals.join(" ") || "a red circle moving right",
  steps: Number(values.steps),
  guidanceMilli: Number(values.guidance),
  seed: values.seed as Hex,
  width: Number(values.width),
  height: Number(values.height),
  frames: Number(values.frames),
};
console.log(`model ${dir}\nprofile ${profileKey(pipeline.profile)}\njob ${JSON.stringify(job)}`);
const started = performance.now();
const result = await generate({
  pipeline,
  job,
  onStep: (e) =>
    console.log(
      `step ${e.index + 1}/${e.steps} t=${e.timestep} z=${tensorDigest(e.latent).slice(0, 18)}… ε=${tensorDigest(e.noise).slice(0, 18)}…`,
    ),
});
console.log(
  `generated in ${(performance.now() - started).toFixed(1)} ms; z_T ${finalLatentDigest(result.trajectory)}`,
);
const written = await writeOutputs({ frames: result.frames, dir: values.out });
console.log(
  `wrote ${written.gif}, ${written.pngs.length} PNG frames${written.mp4 ? `, ${written.mp4}` : ""}`,
);
await closePipeline(pipeline);

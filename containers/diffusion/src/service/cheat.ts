// DEMO / TEST ONLY: a dishonest generator, to show that Proof-of-Inference catches it (`npm run demo -- --cheat
// skip-steps`, test/demo.test.ts). Never set DIFFUSION_CHEAT on a node that serves real jobs: the node commits to a
// trajectory it did not compute, and its validator fails the challenged steps, which slashes its job bond.
//
//   DIFFUSION_CHEAT=skip-steps      run the UNet on step 0 only and reuse that noise prediction for every later step
//   DIFFUSION_CHEAT=skip-steps:N    run the UNet on every N-th step (0, N, 2N, …) and reuse the last prediction
//
// The saving is what a cheater is after: T − ⌈T/N⌉ of the T UNet evaluations are skipped. Everything else is honest:
// the DDIM transition z_{i+1} = DDIM(z_i, ε_i) is exact, and the service commits to the resulting trajectory
// (z_i, ε_i) as usual, so the reveal verifies on-chain; only a validator's re-execution of a challenged step i shows
// that ε_i is not UNet(z_i, t_i). With the plain `skip-steps`, every step but step 0 is wrong: k ≥ 2 stratified
// challenges (the protocol's kMin is 3) always include a wrong step. With `:N`, a step is right with probability
// ≈ 1/N per stratum, so the cheat escapes with probability about (1/N)^k.
import { ConfigError } from "../../../onnx/src/errors.ts";
import {
  decodeJobLatent,
  encodeJobPrompts,
  jobInitialLatent,
  jobSchedule,
  latentDims,
  type GenerateParams,
  type GenerationResult,
  type Trajectory,
} from "../pipeline.ts";
import { ddimStep } from "../scheduler.ts";
import { predictNoise } from "../unet.ts";

/** A dishonest generation mode. `every`: the UNet runs on steps 0, every, 2·every, …; Infinity = step 0 only. */
export interface CheatMode {
  kind: "skip-steps";
  every: number;
}

/** `DIFFUSION_CHEAT`: unset or "" → honest (undefined); `skip-steps` or `skip-steps:N` (N ≥ 2); else ConfigError. */
export function parseCheat(raw: string | undefined): CheatMode | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const m = /^skip-steps(?::(\d+))?$/.exec(raw.trim());
  if (!m) throw new ConfigError(`DIFFUSION_CHEAT=${raw}: expected "skip-steps" or "skip-steps:N" (N >= 2)`);
  if (m[1] === undefined) return { kind: "skip-steps", every: Infinity };
  const every = Number(m[1]);
  if (!Number.isSafeInteger(every) || every < 2) {
    throw new ConfigError(`DIFFUSION_CHEAT=${raw}: N must be an integer >= 2`);
  }
  return { kind: "skip-steps", every };
}

/** Human description for logs and /health. */
export function describeCheat(mode: CheatMode): string {
  return mode.every === Infinity
    ? "skip-steps (UNet on step 0 only, its noise prediction reused for every later step)"
    : `skip-steps:${mode.every} (UNet on every ${mode.every}th step, the last prediction reused in between)`;
}

/** Whether step `index` runs the UNet under `mode`. */
export function computesStep(mode: CheatMode, index: number): boolean {
  return index === 0 || (mode.every !== Infinity && index % mode.every === 0);
}

/**
 * `generate` (pipeline.ts) with the UNet skipped as `mode` says: same prompts, initial latent, schedule, DDIM and
 * VAE, the same step events and result shape, so the service commits to this trajectory exactly as to an honest one.
 */
export async function generateCheating(p: GenerateParams, mode: CheatMode): Promise<GenerationResult> {
  const { pipeline, job } = p;
  const dims = latentDims(pipeline, job);
  const schedule = jobSchedule(pipeline, job);
  const embeddings = p.embeddings ?? (await encodeJobPrompts(pipeline, job));
  let latent = jobInitialLatent(pipeline, job);
  const trajectory: Trajectory = { dims, timesteps: schedule.timesteps, latents: [latent], noise: [] };
  let noise: Float32Array | undefined;
  for (let index = 0; index < job.steps; index++) {
    const timestep = schedule.timesteps[index]!;
    const prevTimestep = schedule.prevTimesteps[index]!;
    if (noise === undefined || computesStep(mode, index)) {
      noise = await predictNoise({
        unet: pipeline.unet,
        latent,
        dims,
        timestep,
        embeddings,
        guidanceMilli: job.guidanceMilli,
        cfgMode: pipeline.profile.cfgMode,
      });
    }
    const next = ddimStep({ schedule, latent, noise, t: timestep, tPrev: prevTimestep });
    trajectory.noise.push(noise);
    trajectory.latents.push(next);
    await p.onStep?.({ index, steps: job.steps, timestep, prevTimestep, latent, noise, next });
    latent = next;
  }
  const finalLatent = trajectory.latents[trajectory.latents.length - 1]!;
  const frames = p.decode === false ? [] : await decodeJobLatent(pipeline, job, finalLatent);
  return { embeddings, trajectory, finalLatent, frames };
}

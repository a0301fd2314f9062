import { tensorDigest, type StepRecord } from "@infernet/sdk";
import type { Trajectory } from "./pipeline.ts";

/** The per-step records `commitJob` takes: `t_i`, `sha256(z_i)`, `sha256(ε_i)` (docs/protocol.md §3–4). */
export function stepRecords(trajectory: Trajectory): StepRecord[] {
  return trajectory.noise.map((noise, i) => ({
    timestep: trajectory.timesteps[i]!,
    latentDigest: tensorDigest(trajectory.latents[i]!, trajectory.dims),
    noiseDigest: tensorDigest(noise, trajectory.dims),
  }));
}

/** `sha256(z_T)`, the final latent's digest for the output leaf. */
export function finalLatentDigest(trajectory: Trajectory): `0x${string}` {
  return tensorDigest(trajectory.latents[trajectory.latents.length - 1]!, trajectory.dims);
}

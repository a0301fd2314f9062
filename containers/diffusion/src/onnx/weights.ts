import { createHash } from "node:crypto";
import { initialLatent } from "@infernet/sdk";
import { f32 } from "../float32.ts";

/**
 * `n` deterministic pseudo-normal weights (mean 0, standard deviation `scale`) named by `label`: the protocol's CPU
 * PRNG (`initialLatent`) seeded with `sha256("infernet.diffusion.weights:" + label)`, each value `f32(x · scale)`.
 */
export function normalWeights(label: string, n: number, scale: number): Float32Array {
  const seed =
    `0x${createHash("sha256").update(`infernet.diffusion.weights:${label}`).digest("hex")}` as const;
  const x = initialLatent(seed, n, "float32");
  const s = f32(scale);
  for (let i = 0; i < n; i++) x[i] = f32(x[i]! * s);
  return x;
}

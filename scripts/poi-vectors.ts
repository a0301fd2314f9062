/**
 * The shared Proof-of-Inference vectors (test/vectors/poi.json): jobs with T in {1, 2, 7, 30, 50, 64, 100} built
 * from fixed pseudo-random inputs, with their leaves, roots, challenge indices and multiproofs, plus initial-latent
 * samples. `node scripts/poi-vectors.ts` regenerates the file from sdk/src; test/poi.vectors.test.ts checks that the
 * built package still reproduces it exactly and that the Solidity mirror agrees.
 *
 * Regenerate only on a deliberate encoding change (and bump the tags' version then): a diff in this file means the
 * encoding moved.
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { getAddress, keccak256, stringToBytes, type Address, type Hex } from "viem";
import type * as PoiModule from "../sdk/src/poi/index.ts";

export type Poi = typeof PoiModule;

export const VECTORS_PATH = fileURLToPath(new URL("../test/vectors/poi.json", import.meta.url));
export const STEP_COUNTS = [1, 2, 7, 30, 50, 64, 100] as const;
export const CHALLENGE_COUNTS = [1, 3, 6] as const;

/** Deterministic 32 bytes named by `label` (keccak of the label): the only source of "randomness" here. */
export function det(label: string): Hex {
  return keccak256(stringToBytes(`infernet.poi.vectors/${label}`));
}
const detAddress = (label: string): Address => getAddress(`0x${det(label).slice(26)}`);
const detU32 = (label: string, mod: number): number => Number(BigInt(det(label)) % BigInt(mod));

export interface ChallengeVector {
  k: number;
  randomness: Hex;
  challenged: number[];
  opened: number[];
  openedLeaves: Hex[];
  proof: Hex[];
}

export interface JobVector {
  name: string;
  chainId: string;
  coordinator: Address;
  subscriptionId: string;
  interval: number;
  node: Address;
  T: number;
  requestRandomness: Hex;
  jobId: Hex;
  seed: Hex;
  params: {
    modelHash: Hex;
    schedulerHash: Hex;
    guidanceMilli: number;
    width: number;
    height: number;
    frames: number;
    inputsHash: Hex;
    dtype: "float32" | "float16";
  };
  paramsHash: Hex;
  timesteps: number[];
  latentDigests: Hex[];
  noiseDigests: Hex[];
  finalLatentDigest: Hex;
  outputHash: Hex;
  leaves: Hex[];
  depth: number;
  root: Hex;
  challenges: ChallengeVector[];
}

export interface LatentVector {
  seed: Hex;
  dtype: "float32" | "float16";
  count: number;
  /** Raw bits of the first elements (float32: 8 hex digits, float16: 4), little-endian values as hex numbers. */
  headBits: string[];
  digest: Hex;
}

export interface PoiVectors {
  comment: string;
  tags: Record<string, Hex>;
  jobs: JobVector[];
  latents: LatentVector[];
}

const CHAIN_IDS = [31337n, 1n, 8453n, 42161n, 11155111n, 10n, (1n << 256n) - 1n];
const SUBSCRIPTION_IDS = [1n, 2n, 77n, 1000n, (1n << 64n) - 1n, 123456789n, 42n];
const INTERVALS = [1, 2, 3, 0xffff_ffff, 17, 1, 9];

function jobVector(poi: Poi, T: number, n: number): JobVector {
  const name = `job${n}-T${T}`;
  const chainId = CHAIN_IDS[n % CHAIN_IDS.length]!;
  const coordinator = detAddress(`${name}/coordinator`);
  const subscriptionId = SUBSCRIPTION_IDS[n % SUBSCRIPTION_IDS.length]!;
  const interval = INTERVALS[n % INTERVALS.length]!;
  const node = detAddress(`${name}/node`);
  const requestRandomness = det(`${name}/R_req`);
  const jobId = poi.jobId({ chainId, coordinator, subscriptionId, interval });
  const seed = poi.jobSeed(jobId, requestRandomness);
  const params = {
    modelHash: det(`${name}/model`),
    schedulerHash: det(`${name}/scheduler`),
    guidanceMilli: 1000 + detU32(`${name}/guidance`, 14_000),
    width: 64 * (1 + detU32(`${name}/width`, 16)),
    height: 64 * (1 + detU32(`${name}/height`, 16)),
    frames: n % 2 === 0 ? 1 : 1 + detU32(`${name}/frames`, 48),
    inputsHash: det(`${name}/inputs`),
    dtype: n % 2 === 0 ? ("float32" as const) : ("float16" as const),
  };
  const paramsHash = poi.paramsHash({ ...params, seed });
  // A DDIM-like descending schedule; the last job uses full-range u32 timesteps to exercise the encoding.
  const timesteps = Array.from({ length: T }, (_, i) =>
    n === STEP_COUNTS.length - 1
      ? detU32(`${name}/t${i}`, 0x1_0000_0000)
      : Math.floor(((T - i) * 1000) / T) - 1,
  );
  const latentDigests = Array.from({ length: T }, (_, i) => det(`${name}/z${i}`));
  const noiseDigests = Array.from({ length: T }, (_, i) => det(`${name}/eps${i}`));
  const finalLatentDigest = det(`${name}/zT`);
  const outputHash = det(`${name}/output`);
  const leaves: Hex[] = [];
  for (let i = 0; i < T; i++) {
    leaves.push(
      poi.stepLeaf({
        jobId,
        node,
        index: i,
        T,
        timestep: timesteps[i]!,
        latentDigest: latentDigests[i]!,
        noiseDigest: noiseDigests[i]!,
      }),
    );
  }
  leaves.push(poi.outputLeaf({ jobId, node, T, finalLatentDigest, outputHash }));
  leaves.push(poi.paramsLeaf({ jobId, node, T, paramsHash }));
  const tree = poi.buildTree(leaves);
  const challenges: ChallengeVector[] = [];
  for (const k of CHALLENGE_COUNTS) {
    if (k > T) continue;
    const randomness = det(`${name}/R_c/${k}`);
    const challenged = poi.challengeIndices({ jobId, node, root: tree.root, randomness, T, k });
    const opened = poi.openedIndices(challenged, T);
    challenges.push({
      k,
      randomness,
      challenged,
      opened,
      openedLeaves: opened.map((i) => leaves[i]!),
      proof: poi.multiproof(tree, opened),
    });
  }
  return {
    name,
    chainId: chainId.toString(),
    coordinator,
    subscriptionId: subscriptionId.toString(),
    interval,
    node,
    T,
    requestRandomness,
    jobId,
    seed,
    params,
    paramsHash,
    timesteps,
    latentDigests,
    noiseDigests,
    finalLatentDigest,
    outputHash,
    leaves,
    depth: tree.depth,
    root: tree.root,
    challenges,
  };
}

function latentVector(poi: Poi, label: string, dtype: "float32" | "float16", count: number): LatentVector {
  const seed = det(label);
  const data = poi.initialLatent(seed, count, dtype);
  const bits = dtype === "float32" ? new Uint32Array(data.buffer, data.byteOffset, data.length) : data;
  const width = dtype === "float32" ? 8 : 4;
  const headBits = Array.from(bits.subarray(0, 16), (b) => `0x${b.toString(16).padStart(width, "0")}`);
  return { seed, dtype, count, headBits, digest: poi.tensorDigest(data) };
}

/** The vectors as `poi` (sdk/src or the built package) computes them. */
export function generatePoiVectors(poi: Poi): PoiVectors {
  return {
    comment:
      "Generated by `node scripts/poi-vectors.ts` from sdk/src/poi; checked by test/poi.vectors.test.ts.",
    tags: Object.fromEntries(
      (Object.keys(poi.TAG_PREIMAGES) as (keyof typeof poi.TAG_PREIMAGES)[]).map((name) => [name, poi[name]]),
    ),
    jobs: STEP_COUNTS.map((T, n) => jobVector(poi, T, n)),
    latents: [
      latentVector(poi, "latent/a", "float32", 4 * 8 * 8),
      latentVector(poi, "latent/a", "float16", 4 * 8 * 8),
      latentVector(poi, "latent/b", "float32", 4 * 4 * 16 * 16),
      latentVector(poi, "latent/b", "float16", 4 * 4 * 16 * 16),
    ],
  };
}

async function main(): Promise<void> {
  const poi = await import("../sdk/src/poi/index.ts");
  const prettier = await import("prettier");
  const text = JSON.stringify(generatePoiVectors(poi), null, 2);
  const options = (await prettier.resolveConfig(VECTORS_PATH)) ?? {};
  await writeFile(VECTORS_PATH, await prettier.format(text, { ...options, filepath: VECTORS_PATH }));
  console.log(`wrote ${VECTORS_PATH}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();

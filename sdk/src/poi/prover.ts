import { encodeAbiParameters, type Address, type Hex } from "viem";
import { buildTree, multiproof, type MerkleTree } from "./tree.ts";
import { outputLeaf, paramsLeaf, stepLeaf } from "./leaf.ts";
import { challengeIndices, openedIndices } from "./challenge.ts";
import { InvalidFieldError } from "./errors.ts";

/** What a node records per denoising step (digests of canonical tensor bytes, docs/protocol.md §3–4). */
export interface StepRecord {
  timestep: number;
  latentDigest: Hex;
  noiseDigest: Hex;
}

export interface CommitmentInput {
  jobId: Hex;
  node: Address;
  steps: readonly StepRecord[];
  finalLatentDigest: Hex;
  outputHash: Hex;
  paramsHash: Hex;
}

/** A job's step tree and the commitment the node sends with its delivery. */
export interface JobCommitment {
  input: CommitmentInput;
  tree: MerkleTree;
  root: Hex;
  T: number;
  /** `proof` argument of `Coordinator.deliver`: `abi.encode(root, T, paramsHash)`. */
  deliveryProof: Hex;
}

/** One opened step leaf, as `ProofOfInference.reveal` takes it. */
export interface StepOpening {
  index: number;
  timestep: number;
  latentDigest: Hex;
  noiseDigest: Hex;
}

/** Arguments of `ProofOfInference.reveal` (besides the job reference). */
export interface Reveal {
  challenged: number[];
  commitment: { root: Hex; outputHash: Hex; paramsHash: Hex };
  openings: StepOpening[];
  finalLatentDigest: Hex;
  proof: Hex[];
}

/** Builds the `T + 2` leaves of §4 and their tree. */
export function commitJob(input: CommitmentInput): JobCommitment {
  const T = input.steps.length;
  if (T < 1) throw new InvalidFieldError("steps", "a job has at least one step");
  const base = { jobId: input.jobId, node: input.node, T };
  const leaves: Hex[] = input.steps.map((s, index) => stepLeaf({ ...base, index, ...s }));
  leaves.push(
    outputLeaf({ ...base, finalLatentDigest: input.finalLatentDigest, outputHash: input.outputHash }),
  );
  leaves.push(paramsLeaf({ ...base, paramsHash: input.paramsHash }));
  const tree = buildTree(leaves);
  const deliveryProof = encodeAbiParameters(
    [{ type: "bytes32" }, { type: "uint256" }, { type: "bytes32" }],
    [tree.root, BigInt(T), input.paramsHash],
  );
  return { input, tree, root: tree.root, T, deliveryProof };
}

/**
 * Opens the steps the challenge picks: `randomness` is the value of the round reserved at the commit, `k` the audit
 * depth recorded with it (the `Committed` event).
 */
export function revealJob(c: JobCommitment, randomness: Hex, k: number): Reveal {
  const { jobId, node, steps, finalLatentDigest, outputHash, paramsHash } = c.input;
  const challenged = challengeIndices({ jobId, node, root: c.root, randomness, T: c.T, k });
  const opened = openedIndices(challenged, c.T);
  const openings = opened
    .filter((i) => i < c.T)
    .map((index) => {
      const s = steps[index]!;
      return { index, timestep: s.timestep, latentDigest: s.latentDigest, noiseDigest: s.noiseDigest };
    });
  return {
    challenged,
    commitment: { root: c.root, outputHash, paramsHash },
    openings,
    finalLatentDigest,
    proof: multiproof(c.tree, opened),
  };
}

import { concat, keccak256, type Hex } from "viem";
import { bytes32 } from "./check.ts";
import { InvalidIndicesError, PoiEncodingError } from "./errors.ts";
import { EMPTY_LEAF, NODE_TAG } from "./tags.ts";

/** The deepest tree `verifyMultiproof` accepts (Solidity's bound; leaf counts here are safe integers anyway). */
export const MAX_DEPTH = 64;

/** A full binary tree over leaves padded with `EMPTY_LEAF` to a power of two (§5), every level kept. */
export interface MerkleTree {
  /** Number of real leaves (`T + 2` for a job); indices at or above it are padding and cannot be opened. */
  readonly leafCount: number;
  /** `D = log2(P)`, `P` the padded leaf count. */
  readonly depth: number;
  /** `levels[0]` are the `P` padded leaves, `levels[D]` is `[root]`. */
  readonly levels: readonly (readonly Hex[])[];
  readonly root: Hex;
}

/** An internal node: `keccak(NODE_TAG ‖ left ‖ right)` (96 packed bytes, children in index order). */
export function hashNode(left: Hex, right: Hex): Hex {
  return keccak256(concat([NODE_TAG, left, right]));
}

/** The depth `D` of the smallest power of two `2^D ≥ leafCount` (`leafCount ≥ 1`). */
export function depthFor(leafCount: number): number {
  if (!Number.isSafeInteger(leafCount) || leafCount < 1) {
    throw new PoiEncodingError(`leafCount must be a positive integer, got ${leafCount}`);
  }
  let depth = 0;
  while (2 ** depth < leafCount) depth++;
  return depth;
}

/** Builds the tree of §5 over `leaves` (at least one), padding with `EMPTY_LEAF`. */
export function buildTree(leaves: readonly Hex[]): MerkleTree {
  const leafCount = leaves.length;
  const depth = depthFor(leafCount);
  const bottom: Hex[] = leaves.map((leaf, i) => bytes32(`leaves[${i}]`, leaf));
  while (bottom.length < 2 ** depth) bottom.push(EMPTY_LEAF);
  const levels: Hex[][] = [bottom];
  for (let level = 0; level < depth; level++) {
    const below = levels[level]!;
    const above: Hex[] = [];
    for (let i = 0; i < below.length; i += 2) above.push(hashNode(below[i]!, below[i + 1]!));
    levels.push(above);
  }
  return { leafCount, depth, levels, root: levels[depth]![0]! };
}

function checkIndices(indices: readonly number[], leafCount: number): string | undefined {
  if (indices.length === 0) return "no indices";
  let prev = -1;
  for (const [j, i] of indices.entries()) {
    if (!Number.isSafeInteger(i) || i < 0) return `indices[${j}] = ${i} is not a non-negative integer`;
    if (i <= prev)
      return `indices[${j}] = ${i} does not exceed indices[${j - 1}] = ${prev} (unsorted or duplicate)`;
    if (i >= leafCount) return `indices[${j}] = ${i} is not below the leaf count ${leafCount}`;
    prev = i;
  }
  return undefined;
}

/**
 * The multiproof opening `indices` (strictly increasing, each below `tree.leafCount`): exactly the sibling hashes
 * that the verification procedure of §5 consumes, in the order it consumes them.
 */
export function multiproof(tree: MerkleTree, indices: readonly number[]): Hex[] {
  const problem = checkIndices(indices, tree.leafCount);
  if (problem !== undefined) throw new InvalidIndicesError(problem);
  const proof: Hex[] = [];
  let queue = [...indices];
  for (let level = 0; level < tree.depth; level++) {
    const next: number[] = [];
    const nodes = tree.levels[level]!;
    let j = 0;
    while (j < queue.length) {
      const i = queue[j]!;
      if (i % 2 === 0 && j + 1 < queue.length && queue[j + 1] === i + 1) {
        j += 2;
      } else {
        proof.push(nodes[i % 2 === 0 ? i + 1 : i - 1]!);
        j += 1;
      }
      next.push(Math.floor(i / 2));
    }
    queue = next;
  }
  return proof;
}

export interface VerifyMultiproofParams {
  root: Hex;
  /** Tree depth; must be the depth of `leafCount` (`2^(D−1) < leafCount ≤ 2^D`), otherwise rejected. */
  depth: number;
  /** Number of real leaves (`T + 2`). */
  leafCount: number;
  /** Opened leaf indices, strictly increasing, each below `leafCount`. */
  indices: readonly number[];
  /** The opened leaves, `leaves[j]` at `indices[j]`. */
  leaves: readonly Hex[];
  proof: readonly Hex[];
}

/**
 * The verification procedure of §5. Returns false (never throws) for anything that does not verify: a wrong
 * hash, unsorted or duplicate indices, an index ≥ `leafCount`, a proof with spare or missing elements, a depth that
 * does not match `leafCount`, mismatched lengths, malformed input.
 */
export function verifyMultiproof(p: VerifyMultiproofParams): boolean {
  const { depth, leafCount, indices, leaves, proof } = p;
  if (!Number.isSafeInteger(depth) || depth < 0 || depth > MAX_DEPTH) return false;
  if (
    !Number.isSafeInteger(leafCount) ||
    leafCount < 1 ||
    leafCount > 2 ** depth ||
    leafCount <= 2 ** depth / 2
  ) {
    return false;
  }
  if (leaves.length !== indices.length || checkIndices(indices, leafCount) !== undefined) return false;
  let root: Hex;
  let idx: number[];
  let hs: Hex[];
  let siblings: Hex[];
  try {
    root = bytes32("root", p.root);
    hs = leaves.map((h, j) => bytes32(`leaves[${j}]`, h));
    siblings = proof.map((h, j) => bytes32(`proof[${j}]`, h));
    idx = [...indices];
  } catch (_err) {
    return false;
  }
  let n = idx.length;
  let used = 0;
  for (let level = 0; level < depth; level++) {
    let m = 0;
    let j = 0;
    while (j < n) {
      const i = idx[j]!;
      const h = hs[j]!;
      let parent: Hex;
      if (i % 2 === 0 && j + 1 < n && idx[j + 1] === i + 1) {
        parent = hashNode(h, hs[j + 1]!);
        j += 2;
      } else {
        if (used === siblings.length) return false; // missing sibling
        const s = siblings[used++]!;
        parent = i % 2 === 0 ? hashNode(h, s) : hashNode(s, h);
        j += 1;
      }
      idx[m] = Math.floor(i / 2);
      hs[m] = parent;
      m++;
    }
    n = m;
  }
  return used === siblings.length && n === 1 && idx[0] === 0 && hs[0] === root;
}

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { network } from "hardhat";
import type { Hex } from "viem";
import {
  buildTree,
  challengeIndices,
  hashNode,
  multiproof,
  openedIndices,
  verifyMultiproof,
  type VerifyMultiproofParams,
} from "@infernet/sdk";

/**
 * Seeded fuzz of the §5 multiproof in the built sdk and in PoiMerkle (through PoiHarness): random trees (T in
 * 1..128), random and protocol-shaped opened sets; every honest proof must be accepted by both, and every
 * corruption (a flipped bit in a leaf, a proof element, an index or the root; a proof element dropped or added;
 * indices or leaves swapped, duplicated or dropped; leaves not matching the indices; a wrong depth, also one
 * consistent with an extra level over the root) rejected by both.
 * Replay a failure with FUZZ_SEED=<seed printed below>; FUZZ_TREES sets the number of trees.
 */

const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : randomInt(2 ** 32);
const TREES = Number(process.env.FUZZ_TREES ?? 100);
const SUBSETS_PER_TREE = 5;
console.log(`poi.multiproof fuzz: FUZZ_SEED=${SEED} FUZZ_TREES=${TREES}`);

/** mulberry32: a small, fast, seedable 32-bit generator (quality is ample for picking cases). */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rng = mulberry32(SEED);
const int = (n: number): number => Math.floor(rng() * n);
const bytes32 = (): Hex =>
  `0x${Array.from({ length: 8 }, () =>
    int(2 ** 32)
      .toString(16)
      .padStart(8, "0"),
  ).join("")}` as Hex;
const flipBit = (h: Hex, bit: number): Hex =>
  `0x${(BigInt(h) ^ (1n << BigInt(bit))).toString(16).padStart(64, "0")}` as Hex;

function randomSubset(leafCount: number): number[] {
  if (leafCount <= 32 && int(8) === 0) return Array.from({ length: leafCount }, (_, i) => i); // everything
  const size = 1 + int(Math.min(leafCount, 16));
  const set = new Set<number>();
  while (set.size < size) set.add(int(leafCount));
  return [...set].sort((a, b) => a - b);
}

interface Case {
  label: string;
  args: VerifyMultiproofParams;
}

/** Corruptions of an honest case; each must be rejected. */
function corruptions(ok: VerifyMultiproofParams): Case[] {
  const { indices, leaves, proof } = ok;
  const n = indices.length;
  const out: Case[] = [];
  const add = (label: string, change: Partial<VerifyMultiproofParams>) =>
    out.push({ label, args: { ...ok, ...change } });
  const j = int(n);
  add(`leaf[${j}] bit flip`, { leaves: leaves.map((h, x) => (x === j ? flipBit(h, int(256)) : h)) });
  add("root bit flip", { root: flipBit(ok.root, int(256)) });
  // Mostly low bits (other positions inside the tree), sometimes far out of range.
  const bit = int(4) === 0 ? int(40) : int(ok.depth + 1);
  const flipped = Number(BigInt(indices[j]!) ^ (1n << BigInt(bit)));
  add(`index[${j}] bit ${bit} flip (${indices[j]} -> ${flipped})`, {
    indices: indices.map((i, x) => (x === j ? flipped : i)),
  });
  if (proof.length > 0) {
    const p = int(proof.length);
    add(`proof[${p}] bit flip`, { proof: proof.map((h, x) => (x === p ? flipBit(h, int(256)) : h)) });
    add(`proof[${p}] dropped`, { proof: proof.filter((_, x) => x !== p) });
  }
  const at = int(proof.length + 1);
  add(`proof element added at ${at}`, { proof: [...proof.slice(0, at), bytes32(), ...proof.slice(at)] });
  add(
    "proof element duplicated at the end",
    proof.length > 0 ? { proof: [...proof, proof[proof.length - 1]!] } : { proof: [ok.root] },
  );
  if (n >= 2) {
    const a = int(n);
    let b = int(n - 1);
    if (b >= a) b++;
    const swap = <T>(xs: readonly T[]): T[] => xs.map((x, y) => (y === a ? xs[b]! : y === b ? xs[a]! : x));
    add(`indices ${a} and ${b} swapped`, { indices: swap(indices) });
    add(`indices and leaves ${a} and ${b} swapped together`, {
      indices: swap(indices),
      leaves: swap(leaves),
    });
    add(`leaves ${a} and ${b} swapped`, { leaves: swap(leaves) });
    add(`index[${a}] dropped with its leaf`, {
      indices: indices.filter((_, y) => y !== a),
      leaves: leaves.filter((_, y) => y !== a),
    });
  }
  add(`leaf[${j}] missing`, { leaves: leaves.filter((_, x) => x !== j) });
  add("an extra leaf", { leaves: [...leaves, bytes32()] });
  add(`index[${j}] duplicated`, {
    indices: [...indices.slice(0, j + 1), ...indices.slice(j)],
    leaves: [...leaves.slice(0, j + 1), ...leaves.slice(j)],
  });
  add("depth + 1", { depth: ok.depth + 1 });
  // A consistent deeper tree (the real root as the left child of one more level): only the depth-for-leafCount
  // rule rejects it.
  const uncle = bytes32();
  add("one level added over the root", {
    depth: ok.depth + 1,
    root: hashNode(ok.root, uncle),
    proof: [...proof, uncle],
  });
  if (ok.depth > 0) add("depth - 1", { depth: ok.depth - 1 });
  return out;
}

const solArgs = (p: VerifyMultiproofParams) =>
  [p.root, BigInt(p.depth), BigInt(p.leafCount), p.indices.map(BigInt), [...p.leaves], [...p.proof]] as const;

describe(`PoI multiproof fuzz (FUZZ_SEED=${SEED})`, () => {
  it("honest proofs verify in the sdk and in Solidity; every corruption is rejected by both", async (t) => {
    const { viem } = await network.create();
    const harness = await viem.deployContract("PoiHarness");
    const tally = { trees: 0, honest: 0, corrupt: 0 };
    const byKind = new Map<string, number>();
    for (let tree = 0; tree < TREES; tree++) {
      const T = 1 + int(128);
      const leaves = Array.from({ length: T + 2 }, bytes32);
      const built = buildTree(leaves);
      const checks: Promise<void>[] = [
        harness.read
          .root([leaves])
          .then((root) => assert.equal(root, built.root, `seed ${SEED} tree ${tree} root`)),
      ];
      tally.trees++;
      for (let s = 0; s < SUBSETS_PER_TREE; s++) {
        const indices =
          s % 2 === 0
            ? openedIndices(
                challengeIndices({
                  jobId: bytes32(),
                  node: bytes32().slice(0, 42) as Hex,
                  root: built.root,
                  randomness: bytes32(),
                  T,
                  k: 1 + int(Math.min(T, 8)),
                }),
                T,
              )
            : randomSubset(T + 2);
        const honest: VerifyMultiproofParams = {
          root: built.root,
          depth: built.depth,
          leafCount: T + 2,
          indices,
          leaves: indices.map((i) => leaves[i]!),
          proof: multiproof(built, indices),
        };
        const where = `seed ${SEED} tree ${tree} (T=${T}) subset ${s} [${indices.join(",")}]`;
        assert.equal(verifyMultiproof(honest), true, `sdk rejects honest ${where}`);
        checks.push(
          harness.read
            .verifyMultiproof(solArgs(honest))
            .then((ok) => assert.equal(ok, true, `Solidity rejects honest ${where}`)),
        );
        tally.honest++;
        for (const c of corruptions(honest)) {
          assert.equal(verifyMultiproof(c.args), false, `sdk accepts ${c.label} at ${where}`);
          checks.push(
            harness.read
              .verifyMultiproof(solArgs(c.args))
              .then((ok) => assert.equal(ok, false, `Solidity accepts ${c.label} at ${where}`)),
          );
          tally.corrupt++;
          const kind = c.label
            .replace(/\(.*\)/, "")
            .replace(/\d+/g, "n")
            .trim();
          byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
        }
      }
      await Promise.all(checks);
    }
    const summary = `seed ${SEED}: ${tally.trees} trees, ${tally.honest} honest proofs accepted and ${tally.corrupt} corruptions rejected by both`;
    t.diagnostic(summary);
    for (const [kind, count] of [...byKind].sort()) t.diagnostic(`  ${count} × ${kind}`);
    console.log(summary);
    assert.ok(tally.corrupt >= 500);
  });
});

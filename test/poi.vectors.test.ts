import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv, createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { network } from "hardhat";
import { bytesToHex, keccak256, stringToBytes, type Hex } from "viem";
import * as sdk from "@infernet/sdk";
import {
  CHALLENGE_COUNTS,
  STEP_COUNTS,
  VECTORS_PATH,
  det,
  generatePoiVectors,
  type JobVector,
  type PoiVectors,
} from "../scripts/poi-vectors.ts";

/**
 * The Proof-of-Inference encoding (docs/protocol.md §1–7) in the built package against its committed vectors and
 * against the Solidity mirror (PoiEncoding, PoiMerkle through PoiHarness) on the in-process chain.
 */

const vectors = JSON.parse(await readFile(VECTORS_PATH, "utf8")) as PoiVectors;
const { viem } = await network.create();
const harness = await viem.deployContract("PoiHarness");
const publicClient = await viem.getPublicClient();

const u32Bits = (x: Float32Array): Uint32Array => new Uint32Array(x.buffer, x.byteOffset, x.length);

describe("PoI vectors: the sdk reproduces test/vectors/poi.json", () => {
  it("covers every step count and challenge count of the plan", () => {
    assert.deepEqual(
      vectors.jobs.map((j) => j.T),
      [...STEP_COUNTS],
    );
    for (const job of vectors.jobs) {
      assert.deepEqual(
        job.challenges.map((c) => c.k),
        CHALLENGE_COUNTS.filter((k) => k <= job.T),
      );
      assert.equal(job.leaves.length, job.T + 2);
    }
  });

  it("regenerating with the built @infernet/sdk gives the committed file exactly", () => {
    assert.deepEqual(generatePoiVectors(sdk), vectors);
  });
});

describe("PoI encoding: Solidity mirrors the sdk", () => {
  it("tags are keccak of their preimages, equal in TypeScript and Solidity", async () => {
    const names = Object.keys(sdk.TAG_PREIMAGES) as sdk.TagName[];
    const solidity = await harness.read.tags();
    assert.equal(solidity.length, names.length);
    names.forEach((name, i) => {
      const expected = keccak256(stringToBytes(sdk.TAG_PREIMAGES[name]));
      assert.equal(sdk[name], expected, name);
      assert.equal(solidity[i], expected, `Solidity ${name}`);
      assert.equal(vectors.tags[name], expected, `vectors ${name}`);
    });
    assert.deepEqual(
      names.map((n) => sdk.TAG_PREIMAGES[n]),
      [
        "infernet.poi.step.v1",
        "infernet.poi.output.v1",
        "infernet.poi.params.v1",
        "infernet.poi.node.v1",
        "infernet.poi.empty.v1",
        "infernet.poi.job.v1",
        "infernet.poi.seed.v1",
        "infernet.poi.challenge.v1",
        "infernet.poi.prng.v1",
      ],
    );
  });

  it("jobId, seed and paramsHash agree", async () => {
    await Promise.all(
      vectors.jobs.map(async (job) => {
        const solJob = await harness.read.jobId([
          BigInt(job.chainId),
          job.coordinator,
          BigInt(job.subscriptionId),
          job.interval,
        ]);
        assert.equal(solJob, job.jobId, job.name);
        assert.equal(await harness.read.seed([job.jobId, job.requestRandomness]), job.seed, job.name);
        const solParams = await harness.read.paramsHash([
          { ...job.params, seed: job.seed, dtype: sdk.DTYPE_CODE[job.params.dtype] },
        ]);
        assert.equal(solParams, job.paramsHash, job.name);
      }),
    );
  });

  it("every step, output and params leaf agrees", async () => {
    const checks: Promise<void>[] = [];
    for (const job of vectors.jobs) {
      for (let i = 0; i < job.T; i++) {
        checks.push(
          harness.read
            .stepLeaf([
              job.jobId,
              job.node,
              i,
              job.T,
              job.timesteps[i]!,
              job.latentDigests[i]!,
              job.noiseDigests[i]!,
            ])
            .then((leaf) => assert.equal(leaf, job.leaves[i], `${job.name} step ${i}`)),
        );
      }
      checks.push(
        harness.read
          .outputLeaf([job.jobId, job.node, job.T, job.finalLatentDigest, job.outputHash])
          .then((leaf) => assert.equal(leaf, job.leaves[job.T], `${job.name} output`)),
        harness.read
          .paramsLeaf([job.jobId, job.node, job.T, job.paramsHash])
          .then((leaf) => assert.equal(leaf, job.leaves[job.T + 1], `${job.name} params`)),
      );
    }
    await Promise.all(checks);
  });

  it("roots and depths agree (Solidity builds the full padded tree)", async () => {
    await Promise.all(
      vectors.jobs.map(async (job) => {
        assert.equal(await harness.read.root([job.leaves]), job.root, job.name);
        assert.equal(await harness.read.depthFor([BigInt(job.T + 2)]), BigInt(job.depth), job.name);
        assert.equal(2 ** job.depth >= job.T + 2 && 2 ** (job.depth - 1) < job.T + 2, true);
      }),
    );
  });

  it("depthFor agrees at the powers of two and around them; leaf count 0 is refused", async () => {
    const counts = [1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 102, 2 ** 31, 2 ** 32 + 1];
    const depths = await Promise.all(counts.map((c) => harness.read.depthFor([BigInt(c)])));
    assert.deepEqual(depths.map(Number), counts.map(sdk.depthFor));
    assert.deepEqual(counts.slice(0, 9).map(sdk.depthFor), [0, 1, 2, 2, 3, 3, 3, 4, 6]);
    assert.throws(() => sdk.depthFor(0), sdk.PoiEncodingError);
    await assert.rejects(harness.read.depthFor([0n]));
  });

  it("small trees: a single leaf is its own root, opening every leaf needs no proof, no index opens nothing", async () => {
    const leaves = [det("l0"), det("l1"), det("l2"), det("l3")];
    for (const count of [1, 2, 3, 4]) {
      const tree = sdk.buildTree(leaves.slice(0, count));
      assert.equal(await harness.read.root([leaves.slice(0, count)]), tree.root);
      const all = Array.from({ length: count }, (_, i) => i);
      const proof = sdk.multiproof(tree, all);
      assert.equal(proof.length, count === 3 ? 1 : 0); // leaf 3 of a 3-leaf tree is EMPTY_LEAF, a proof element
      if (count === 3) assert.equal(proof[0], sdk.EMPTY_LEAF);
      const args = {
        root: tree.root,
        depth: tree.depth,
        leafCount: count,
        indices: all,
        leaves: leaves.slice(0, count),
        proof,
      };
      assert.equal(sdk.verifyMultiproof(args), true, `${count} leaves`);
      assert.equal(await harness.read.verifyMultiproof(solArgs(args)), true, `Solidity ${count} leaves`);
      const none = { ...args, indices: [], leaves: [] };
      assert.equal(sdk.verifyMultiproof(none), false);
      assert.equal(await harness.read.verifyMultiproof(solArgs(none)), false);
    }
    assert.equal(sdk.buildTree([leaves[0]!]).root, leaves[0]);
    // Padding cannot be opened, even with the right hash: index 3 of a 3-leaf tree.
    const three = sdk.buildTree(leaves.slice(0, 3));
    const pad = {
      root: three.root,
      depth: 2,
      leafCount: 3,
      indices: [3],
      leaves: [sdk.EMPTY_LEAF],
      proof: [three.levels[0]![2]!, three.levels[1]![0]!],
    };
    assert.equal(sdk.verifyMultiproof(pad), false);
    assert.equal(await harness.read.verifyMultiproof(solArgs(pad)), false);
    assert.equal(sdk.verifyMultiproof({ ...pad, leafCount: 4 }), true); // the same path with leafCount 4 is fine
  });

  it("challenge indices and multiproofs agree; both verifiers accept the opened sets", async () => {
    const checks: Promise<void>[] = [];
    for (const job of vectors.jobs) {
      for (const c of job.challenges) {
        const label = `${job.name} k=${c.k}`;
        checks.push(
          harness.read
            .challengeIndices([job.jobId, job.node, job.root, c.randomness, job.T, c.k])
            .then((sol) => assert.deepEqual([...sol], c.challenged, label)),
        );
        const args = verifyArgs(job, c.opened, c.openedLeaves, c.proof);
        assert.equal(sdk.verifyMultiproof(args), true, label);
        checks.push(
          harness.read
            .verifyMultiproof(solArgs(args))
            .then((ok) => assert.equal(ok, true, `Solidity ${label}`)),
        );
      }
    }
    await Promise.all(checks);
  });

  it("challenged steps are one per stratum, strictly increasing; opened sets are {0, T, T+1} ∪ {c, c+1}", () => {
    for (const job of vectors.jobs) {
      for (const c of job.challenges) {
        c.challenged.forEach((step, j) => {
          assert.ok(step >= Math.floor((j * job.T) / c.k) && step < Math.floor(((j + 1) * job.T) / c.k));
        });
        const expected = [...new Set([0, job.T, job.T + 1, ...c.challenged.flatMap((s) => [s, s + 1])])].sort(
          (a, b) => a - b,
        );
        assert.deepEqual(c.opened, expected);
      }
    }
    // k = T challenges every step.
    const job = vectors.jobs.find((j) => j.T === 7)!;
    assert.deepEqual(
      sdk.challengeIndices({
        jobId: job.jobId,
        node: job.node,
        root: job.root,
        randomness: det("x"),
        T: 7,
        k: 7,
      }),
      [0, 1, 2, 3, 4, 5, 6],
    );
  });

  it("k outside 1..T is refused by both", async () => {
    const job = vectors.jobs[2]!;
    for (const k of [0, job.T + 1]) {
      const p = { jobId: job.jobId, node: job.node, root: job.root, randomness: det("r"), T: job.T, k };
      assert.throws(() => sdk.challengeIndices(p), sdk.InvalidChallengeParamsError);
      await viem.assertions.revertWithCustomErrorWithArgs(
        harness.read.challengeIndices([job.jobId, job.node, job.root, det("r"), job.T, k]),
        harness,
        "InvalidChallengeCount",
        [k, job.T],
      );
    }
  });

  it("leaves bind the node, the step index and T", () => {
    const job = vectors.jobs[3]!;
    const base = {
      jobId: job.jobId,
      node: job.node,
      index: 4,
      T: job.T,
      timestep: job.timesteps[4]!,
      latentDigest: job.latentDigests[4]!,
      noiseDigest: job.noiseDigests[4]!,
    };
    assert.equal(sdk.stepLeaf(base), job.leaves[4]);
    assert.notEqual(sdk.stepLeaf({ ...base, node: vectors.jobs[0]!.node }), job.leaves[4]);
    assert.notEqual(sdk.stepLeaf({ ...base, index: 5 }), job.leaves[4]);
    assert.notEqual(sdk.stepLeaf({ ...base, T: job.T + 1 }), job.leaves[4]);
    assert.equal(sdk.stepLeaf({ ...base, node: job.node.toLowerCase() as Hex }), job.leaves[4]);
  });

  it("out-of-range fields are named errors, not silent truncation", () => {
    const job = vectors.jobs[3]!;
    const base = {
      jobId: job.jobId,
      node: job.node,
      index: 0,
      T: job.T,
      timestep: 1,
      latentDigest: job.latentDigests[0]!,
      noiseDigest: job.noiseDigests[0]!,
    };
    assert.throws(() => sdk.stepLeaf({ ...base, index: job.T }), sdk.InvalidFieldError);
    assert.throws(() => sdk.stepLeaf({ ...base, timestep: 2 ** 32 }), sdk.InvalidFieldError);
    assert.throws(() => sdk.stepLeaf({ ...base, timestep: 1.5 }), sdk.InvalidFieldError);
    assert.throws(() => sdk.stepLeaf({ ...base, latentDigest: "0x1234" }), sdk.InvalidFieldError);
    assert.throws(() => sdk.outputLeaf({ ...base, T: 0, finalLatentDigest: det("a"), outputHash: det("b") }));
    assert.throws(
      () => sdk.jobId({ chainId: 1, coordinator: job.coordinator, subscriptionId: 2n ** 64n, interval: 1 }),
      (err: unknown) => err instanceof sdk.InvalidFieldError && err.field === "subscriptionId",
    );
    assert.throws(() => sdk.openedIndices([job.T], job.T), sdk.InvalidFieldError);
    const tree = sdk.buildTree(job.leaves);
    assert.throws(() => sdk.multiproof(tree, [3, 2]), sdk.InvalidIndicesError);
    assert.throws(() => sdk.multiproof(tree, [2, 2]), sdk.InvalidIndicesError);
    assert.throws(() => sdk.multiproof(tree, [job.T + 2]), sdk.InvalidIndicesError);
    assert.throws(() => sdk.multiproof(tree, []), sdk.InvalidIndicesError);
  });

  it("PoiMerkle.verifyMultiproof gas for a reveal's opened set at T = 50", async (t) => {
    const job = vectors.jobs.find((j) => j.T === 50)!;
    const tree = sdk.buildTree(job.leaves);
    const report: string[] = [];
    for (const k of [3, 6]) {
      const fixed = job.challenges.find((c) => c.k === k)!;
      // The vector's own randomness, then 100 more draws of R_c for the spread of opened-set shapes.
      const draws = [fixed.randomness, ...Array.from({ length: 100 }, (_, n) => det(`gas/${k}/${n}`))];
      const measured = await Promise.all(
        draws.map(async (randomness) => {
          const challenged = sdk.challengeIndices({
            jobId: job.jobId,
            node: job.node,
            root: job.root,
            randomness,
            T: 50,
            k,
          });
          const opened = sdk.openedIndices(challenged, 50);
          const args = verifyArgs(
            job,
            opened,
            opened.map((i) => job.leaves[i]!),
            sdk.multiproof(tree, opened),
          );
          const [ok, gasUsed] = await harness.read.measureVerifyMultiproof(solArgs(args));
          assert.equal(ok, true);
          return { opened: opened.length, proof: args.proof.length, gas: Number(gasUsed) };
        }),
      );
      const first = measured[0]!;
      const tx = await publicClient.estimateContractGas({
        address: harness.address,
        abi: harness.abi,
        functionName: "verifyMultiproof",
        args: solArgs(verifyArgs(job, fixed.opened, fixed.openedLeaves, fixed.proof)),
      });
      const gases = measured.map((m) => m.gas);
      const line =
        `k=${k}: vector opens ${first.opened} leaves with ${first.proof} siblings, library ${first.gas} gas ` +
        `(whole eth call ${tx}); over ${measured.length} draws of R_c: min ${Math.min(...gases)}, ` +
        `mean ${Math.round(gases.reduce((a, b) => a + b, 0) / gases.length)}, max ${Math.max(...gases)}`;
      report.push(line);
      t.diagnostic(line);
      // The whole reveal (k = 3) must fit in 100,000 gas; the multiproof must stay a small part of it.
      assert.ok(Math.max(...gases) < (k === 3 ? 14_000 : 20_000), line);
    }
    console.log(report.map((l) => `  PoiMerkle.verifyMultiproof T=50 ${l}`).join("\n"));
  });
});

describe("PoI tensors, seed and initial latent (§3, §6)", () => {
  it("canonical bytes are little-endian with no header; digests are sha256 of them", () => {
    assert.equal(bytesToHex(sdk.tensorBytes(new Float32Array([1, -2]))), "0x0000803f000000c0");
    assert.equal(bytesToHex(sdk.tensorBytes(new Uint16Array([0x3c00, 0x7bff]))), "0x003cff7b");
    const nan = new Float32Array(new Uint32Array([0x7fc00001]).buffer); // a NaN payload survives untouched
    assert.equal(bytesToHex(sdk.tensorBytes(nan)), "0x0100c07f");
    const sub = new Float32Array([0, 1, 2, 3, 4]).subarray(2, 4);
    assert.equal(bytesToHex(sdk.tensorBytes(sub)), "0x0000004000004040");
    const empty = `0x${createHash("sha256").update(Buffer.alloc(0)).digest("hex")}`;
    assert.equal(sdk.tensorDigest(new Float32Array(0)), empty);
    const x = new Float32Array([0.5, 1.5, -3.25]);
    assert.equal(
      sdk.tensorDigest(x, [1, 3]),
      `0x${createHash("sha256").update(Buffer.from(x.buffer)).digest("hex")}`,
    );
    assert.deepEqual(sdk.tensorFromBytes(sdk.tensorBytes(x), "float32"), x);
  });

  it("shape helpers count elements and refuse mismatches", () => {
    assert.equal(sdk.elementCount([1, 4, 64, 64]), 16384);
    assert.equal(sdk.elementCount([1, 4, 16, 32, 32]), 65536);
    assert.equal(sdk.elementCount([]), 1);
    assert.throws(() => sdk.elementCount([1, 0, 2]), sdk.TensorShapeError);
    assert.throws(() => sdk.elementCount([2.5]), sdk.TensorShapeError);
    assert.throws(() => sdk.tensorDigest(new Float32Array(3), [2, 2]), sdk.TensorShapeError);
    assert.equal(sdk.dtypeOf(new Uint16Array(1)), "float16");
  });

  it("float32 → float16 rounds to nearest even", () => {
    const cases: [number, number][] = [
      [1.0, 0x3c00],
      [-2.0, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff],
      [65519, 0x7bff], // below the midpoint to 65536: stays at the max
      [65520, 0x7c00], // the midpoint rounds to even, i.e. overflows to +Inf
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [0, 0x0000],
      [-0, 0x8000],
      [1e-8, 0x0000], // below 2^-25, half the smallest subnormal
      [2 ** -25, 0x0000], // exact tie between 0 and 2^-24: even is 0
      [Math.fround(2 ** -25 * 1.0000001), 0x0001],
      [2 ** -24, 0x0001], // smallest subnormal
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 ulps: even is 2
      [5.960464477539063e-8, 0x0001],
      [6.097555160522461e-5, 0x03ff], // largest subnormal
      [2 ** -14, 0x0400], // smallest normal
      [1 + 2 ** -11, 0x3c00], // tie, rounds down to even mantissa 0
      [1 + 3 * 2 ** -11, 0x3c02], // tie, rounds up to even mantissa 2
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // above the tie
      [0.1, 0x2e66],
      [Math.PI, 0x4248],
      [-6, 0xc600],
    ];
    for (const [x, bits] of cases) {
      assert.equal(sdk.float32ToFloat16Bits(x), bits, `${x} → 0x${bits.toString(16)}`);
    }
    const nan = sdk.float32ToFloat16Bits(NaN);
    assert.equal(nan & 0x7c00, 0x7c00);
    assert.notEqual(nan & 0x3ff, 0);
    // Every finite half converts back to itself.
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      assert.equal(sdk.float32ToFloat16Bits(sdk.float16BitsToNumber(h)), h);
    }
  });

  it("jobSeed is keccak(enc(SEED_TAG, jobId, R_req))", () => {
    const job = vectors.jobs[0]!;
    assert.equal(sdk.jobSeed(job.jobId, job.requestRandomness), job.seed);
    assert.notEqual(sdk.jobSeed(job.jobId, det("other")), job.seed);
  });

  it("initial latent: known values for a fixed seed (regression)", () => {
    const seed = det("latent/a");
    const z = sdk.initialLatent(seed, 8, "float32");
    assert.deepEqual(
      Array.from(u32Bits(z), (b) => `0x${b.toString(16).padStart(8, "0")}`),
      vectors.latents[0]!.headBits.slice(0, 8),
    );
    assert.deepEqual(
      Array.from(z),
      [
        0.401989609003067, -1.2051533460617065, 1.0288240909576416, 0.5756017565727234, 1.1077152490615845,
        1.0402052402496338, 0.012003937736153603, -1.3170385360717773,
      ],
    );
    assert.deepEqual(
      Array.from(sdk.initialLatent(seed, 8, "float16")),
      [0x366f, 0xbcd2, 0x3c1e, 0x389b, 0x3c6e, 0x3c29, 0x2225, 0xbd45],
    );
    // Element 0 by hand: twelve little-endian words of the AES-256-CTR keystream under sha256(PRNG_TAG ‖ seed).
    const key = createHash("sha256")
      .update(Buffer.from(sdk.PRNG_TAG.slice(2) + seed.slice(2), "hex"))
      .digest();
    const aes = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
    const stream = aes.update(Buffer.alloc(48));
    let sum = 0;
    for (let m = 0; m < 12; m++) sum += stream.readUInt32LE(4 * m);
    assert.equal(z[0], Math.fround(sum / 2 ** 32 - 6));
  });

  it("initial latent: the committed samples, and a prefix of a longer draw is the shorter draw", () => {
    for (const v of vectors.latents) {
      const z = sdk.initialLatent(v.seed, v.count, v.dtype);
      assert.equal(sdk.tensorDigest(z), v.digest);
    }
    const long = sdk.initialLatent(det("latent/a"), 70_000, "float32"); // crosses a 65,536-element chunk
    const short = sdk.initialLatent(det("latent/a"), 256, "float32");
    assert.deepEqual(long.subarray(0, 256), short);
    const tail = sdk.initialLatent(det("latent/a"), 65_540, "float32");
    assert.deepEqual(long.subarray(0, 65_540), tail);
  });

  it("initial latent: bit-identical across calls; float16 is the float32 draw rounded to nearest even", () => {
    const seed = det("latent/c");
    const a = sdk.initialLatent(seed, 4096, "float32");
    const b = sdk.initialLatent(seed, 4096, "float32");
    assert.deepEqual(u32Bits(a), u32Bits(b));
    const h = sdk.initialLatent(seed, 4096, "float16");
    assert.ok(h instanceof Uint16Array);
    assert.deepEqual(
      h,
      Uint16Array.from(a, (x) => sdk.float32ToFloat16Bits(x)),
    );
    assert.deepEqual(sdk.initialLatent(seed, 4096, "float16"), h);
    assert.notDeepEqual(u32Bits(sdk.initialLatent(det("latent/d"), 4096, "float32")), u32Bits(a));
  });

  it("initial latent: mean ≈ 0, variance ≈ 1, support inside [−6, 6] over 1e5 samples", () => {
    const n = 100_000;
    const z = sdk.initialLatent(det("latent/stats"), n, "float32");
    let sum = 0;
    let sq = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const x of z) {
      sum += x;
      sq += x * x;
      min = Math.min(min, x);
      max = Math.max(max, x);
    }
    const mean = sum / n;
    const variance = sq / n - mean * mean;
    // Standard errors: mean 1/√n ≈ 0.0032, variance ≈ √(2/n)·(1 − 0.1/2)... ≈ 0.0043; 5σ bands.
    assert.ok(Math.abs(mean) < 0.016, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 0.025, `variance ${variance}`);
    assert.ok(min >= -6 && max <= 6 && min < -3.5 && max > 3.5, `support [${min}, ${max}]`);
  });
});

function verifyArgs(
  job: JobVector,
  indices: number[],
  leaves: Hex[],
  proof: Hex[],
): sdk.VerifyMultiproofParams {
  return { root: job.root, depth: job.depth, leafCount: job.T + 2, indices, leaves, proof };
}

function solArgs(p: sdk.VerifyMultiproofParams) {
  return [
    p.root,
    BigInt(p.depth),
    BigInt(p.leafCount),
    p.indices.map(BigInt),
    [...p.leaves],
    [...p.proof],
  ] as const;
}

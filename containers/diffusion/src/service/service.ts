// The diffusion service: one job through the pipeline, the reply the container contract wants for its
// destination, and the Proof-of-Inference side (commitment, reveal, tensors). README.md documents the formats.
//
//   destination 1 (off-chain): JobResult (the GIF as base64, frame count, digests, and `poi` for PoI jobs)
//   destination 2 (stream):    one NDJSON line per denoising step, then {"event":"result", …JobResult}
//   destination 0 (on-chain):  raw_input = inputsHash, processed_input = "", raw_output = sha256(decoded video),
//                              processed_output = the storage URI (UTF-8), proof = abi.encode(root, T, paramsHash)
//                              when requires_proof, else ""
//
// outputHash (the output leaf's) = keccak256(abi.encode(bytes raw_output, bytes processed_output)): the bytes the
// node delivers, so the Coordinator's keccak256(output) is the same value.
import { revealJob, tensorDigest, type Reveal } from "@infernet/sdk";
import { stringToHex, type Hex } from "viem";
import { BadRequestError, QueueFullError } from "../../../onnx/src/errors.ts";
import { SerialQueue } from "../../../onnx/src/queue.ts";
import type { ServiceRequest } from "../../../onnx/src/request.ts";
import { DiffusionError, InvalidJobParamsError } from "../errors.ts";
import { modelDirectoryDigest } from "../layout.ts";
import { encodeGif } from "../output/gif.ts";
import {
  closePipeline,
  generate,
  latentDims,
  loadPipeline,
  type GenerateParams,
  type JobParams,
  type Pipeline,
} from "../pipeline.ts";
import { installedOrtVersion, profileKey } from "../runtime.ts";
import { inputSpec } from "../signature.ts";
import { finalLatentDigest, stepRecords } from "../trajectory.ts";
import { describeCheat, generateCheating } from "./cheat.ts";
import type { ServiceConfig } from "./config.ts";
import { jobParamsHash, outputHashOf, schedulerHashOf, videoDigest } from "./hashes.ts";
import { storeGif } from "./outputs.ts";
import {
  PoiConflictError,
  PoiStore,
  PoiStoreFullError,
  trajectoryBytes,
  type StoredJob,
} from "./poi-store.ts";
import { parseJob, type ParsedJob } from "./request.ts";

/** An unknown job or output: HTTP 404. */
export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
  readonly status = 404;
}

/** HTTP status for an error thrown while serving a request. */
export function statusOf(e: unknown): number {
  if (e instanceof BadRequestError || e instanceof InvalidJobParamsError) return 400;
  const status = (e as { status?: unknown } | null)?.status;
  if (
    (e instanceof QueueFullError ||
      e instanceof PoiStoreFullError ||
      e instanceof PoiConflictError ||
      e instanceof NotFoundError) &&
    typeof status === "number"
  ) {
    return status;
  }
  return 500;
}

/** The PoI part of a reply. */
export interface PoiReply {
  jobId: Hex;
  node: Hex;
  root: Hex;
  T: number;
  paramsHash: Hex;
  inputsHash: Hex;
  outputHash: Hex;
  finalLatentDigest: Hex;
  /** `abi.encode(root, T, paramsHash)`, the `proof` of `Coordinator.deliver`. */
  proof: Hex;
}

/** The off-chain reply (and the stream's last line). */
export interface JobResult {
  /** The animated GIF, base64. */
  gif: string;
  mime: "image/gif";
  frames: number;
  width: number;
  height: number;
  /** sha256 of the decoded video: the frames' RGB bytes back to back (`rawVideo`); the on-chain raw_output. */
  output_digest: Hex;
  /** sha256 of the GIF bytes: its file name under the output dir. */
  gif_sha256: Hex;
  /** Where the GIF is stored; the on-chain processed_output. */
  uri: string;
  /** keccak256(abi.encode(bytes raw_output, bytes processed_output)): what the chain's outputHash will be. */
  output_hash: Hex;
  final_latent_digest: Hex;
  model_hash: Hex;
  scheduler_hash: Hex;
  profile: string;
  seed: Hex;
  steps: number;
  /** Generation time (denoising + decoding), ms. */
  ms: number;
  /** Present for Proof-of-Inference jobs (requires_proof). */
  poi?: PoiReply;
}

export interface OnchainReply {
  raw_input: string;
  processed_input: string;
  raw_output: string;
  processed_output: string;
  proof: string;
}

/** One progress line of the stream destination. */
export interface StepProgress {
  event: "step";
  step: number;
  steps: number;
  timestep: number;
}

export type Reply = { kind: "json"; body: JobResult | OnchainReply } | { kind: "stream"; last: JobResult };

/** A step's committed tensors (`GET /poi/tensors/:jobId/:step`). */
export interface StepTensorsReply {
  jobId: Hex;
  step: number;
  T: number;
  /** t_step; null for step T (z_T only). */
  timestep: number | null;
  dims: number[];
  dtype: "float32";
  latent: { sha256: Hex; data: string };
  noise: { sha256: Hex; data: string } | null;
}

const strip0x = (h: string) => h.replace(/^0x/i, "");
const b64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");

/** The model directory: the configured one, or the procedural model, built (or refreshed) on demand. */
export async function resolveModelDir(config: ServiceConfig): Promise<string> {
  if (config.modelDir) return config.modelDir;
  // Imported only here: building needs onnx-proto, which the Docker image leaves out (it bakes the model in).
  const { ensureProceduralModel } = await import("../models/procedural/build.ts");
  return ensureProceduralModel();
}

export class DiffusionService {
  readonly config: ServiceConfig;
  readonly pipeline: Pipeline;
  readonly modelHash: Hex;
  readonly schedulerHash: Hex;
  readonly store: PoiStore;
  readonly queue: SerialQueue;
  /** The UNet's `sample` shape: sizes where the model fixes them, null where it does not. */
  readonly sampleShape: (number | null)[];

  private constructor(config: ServiceConfig, pipeline: Pipeline, modelHash: Hex, store: PoiStore) {
    this.config = config;
    this.pipeline = pipeline;
    this.modelHash = modelHash;
    this.schedulerHash = schedulerHashOf(pipeline.scheduler);
    this.store = store;
    this.queue = new SerialQueue(config.maxQueue);
    this.sampleShape = inputSpec(pipeline.unet.session, "sample", "unet").shape.map((d) =>
      typeof d === "number" && d > 0 ? d : null,
    );
  }

  static async create(config: ServiceConfig): Promise<DiffusionService> {
    const dir = await resolveModelDir(config);
    const pipeline = await loadPipeline({ dir, profile: config.profile });
    const store = new PoiStore({
      dir: config.poiDir,
      memoryBytes: config.poiMemoryBytes,
      diskBytes: config.poiDiskBytes,
      ttlMs: config.poiTtlMs,
    });
    await store.init();
    return new DiffusionService(config, pipeline, await modelDirectoryDigest(dir), store);
  }

  async close(): Promise<void> {
    await closePipeline(this.pipeline);
  }

  health(): Record<string, unknown> {
    const p = this.pipeline;
    return {
      status: "ok",
      model_dir: p.dir,
      model_hash: this.modelHash,
      scheduler_hash: this.schedulerHash,
      onnxruntime: installedOrtVersion(),
      profile: p.profile,
      profile_key: profileKey(p.profile),
      latent: {
        channels: p.latentChannels,
        factor: p.latentFactor,
        video: p.unet.sampleRank === 5,
        sample_shape: this.sampleShape,
      },
      max_steps: this.config.maxSteps,
      output_uri_base: this.config.outputUriBase,
      poi: this.store.usage(),
      queued: this.queue.size,
      ...(this.config.cheat ? { cheat: describeCheat(this.config.cheat) } : {}),
    };
  }

  /** The job's latent shape; 400 when the model cannot make that size. */
  checkSize(job: JobParams): number[] {
    let dims: number[];
    try {
      dims = latentDims(this.pipeline, job);
    } catch (e) {
      if (e instanceof DiffusionError) throw new BadRequestError(`data.${e.message}`);
      throw e;
    }
    const f = this.pipeline.latentFactor;
    dims.forEach((d, i) => {
      const fixed = this.sampleShape[i];
      if (i === 0 || fixed == null || fixed === d) return;
      const video = dims.length === 5;
      const want = video
        ? `frames × height × width = ${this.sampleShape[2] ?? "any"} × ${(this.sampleShape[3] ?? 0) * f || "any"} × ${(this.sampleShape[4] ?? 0) * f || "any"}`
        : `height × width = ${(this.sampleShape[2] ?? 0) * f || "any"} × ${(this.sampleShape[3] ?? 0) * f || "any"}`;
      throw new BadRequestError(
        `data: this model makes ${want} only; asked ${job.frames} frame(s) of ${job.height} × ${job.width}`,
      );
    });
    return dims;
  }

  /** Validates (400), reserves PoI space (503), waits its turn (503 when full), runs, and builds the reply. */
  async serve(req: ServiceRequest, onStep?: (p: StepProgress) => void): Promise<Reply> {
    const parsed = parseJob(req, this.config.maxSteps);
    const dims = this.checkSize(parsed.job);
    if (req.requires_proof && parsed.poi) {
      const held = this.store.meta(parsed.poi.jobId);
      if (held && held.node !== parsed.poi.node) {
        throw new PoiConflictError(`job ${parsed.poi.jobId} is already kept for node ${held.node}`);
      }
      const n = dims.reduce((a, b) => a * b, 1);
      if (!(await this.store.makeRoom(trajectoryBytes(n, parsed.job.steps), parsed.poi.jobId))) {
        throw new PoiStoreFullError("busy: the Proof-of-Inference store is full; try again later");
      }
    }
    const result = await this.queue.run(() => this.#run(parsed, req.requires_proof, onStep));
    if (req.destination === 2) return { kind: "stream", last: result };
    if (req.destination === 1) return { kind: "json", body: result };
    return {
      kind: "json",
      body: {
        raw_input: strip0x(parsed.inputsHash),
        processed_input: "",
        raw_output: strip0x(result.output_digest),
        processed_output: strip0x(stringToHex(result.uri)),
        proof: result.poi ? strip0x(result.poi.proof) : "",
      },
    };
  }

  async #run(
    parsed: ParsedJob,
    requiresProof: boolean,
    onStep: ((p: StepProgress) => void) | undefined,
  ): Promise<JobResult> {
    const { job } = parsed;
    const t0 = performance.now();
    const params: GenerateParams = {
      pipeline: this.pipeline,
      job,
      onStep: onStep
        ? (e) => onStep({ event: "step", step: e.index + 1, steps: e.steps, timestep: e.timestep })
        : undefined,
    };
    // DEMO/TEST ONLY: DIFFUSION_CHEAT swaps in the dishonest generator (cheat.ts); unset, this is `generate`.
    const gen = this.config.cheat
      ? await generateCheating(params, this.config.cheat)
      : await generate(params);
    const ms = performance.now() - t0;
    const frames = gen.frames;
    const gif = encodeGif(frames, { delayCs: Math.max(1, Math.round(100 / this.config.fps)) });
    const stored = await storeGif(gif, this.config.outputDir, this.config.outputUriBase);
    const videoSha256 = videoDigest(frames);
    const outputHash = outputHashOf(videoSha256, stored.uri);
    const zT = finalLatentDigest(gen.trajectory);
    const result: JobResult = {
      gif: Buffer.from(gif).toString("base64"),
      mime: "image/gif",
      frames: frames.length,
      width: frames[0]?.width ?? 0,
      height: frames[0]?.height ?? 0,
      output_digest: videoSha256,
      gif_sha256: stored.sha256,
      uri: stored.uri,
      output_hash: outputHash,
      final_latent_digest: zT,
      model_hash: this.modelHash,
      scheduler_hash: this.schedulerHash,
      profile: profileKey(this.pipeline.profile),
      seed: job.seed,
      steps: job.steps,
      ms: Math.round(ms * 10) / 10,
    };
    if (requiresProof && parsed.poi) {
      const meta: StoredJob = {
        jobId: parsed.poi.jobId,
        node: parsed.poi.node,
        job,
        inputsHash: parsed.inputsHash,
        modelHash: this.modelHash,
        schedulerHash: this.schedulerHash,
        paramsHash: jobParamsHash({
          modelHash: this.modelHash,
          schedulerHash: this.schedulerHash,
          job,
          inputsHash: parsed.inputsHash,
        }),
        outputHash,
        videoSha256,
        uri: stored.uri,
        dims: [...gen.trajectory.dims],
        timesteps: [...gen.trajectory.timesteps],
        steps: stepRecords(gen.trajectory),
        finalLatentDigest: zT,
        createdAt: Date.now(),
      };
      const c = await this.store.put(meta, gen.trajectory);
      result.poi = {
        jobId: meta.jobId,
        node: meta.node,
        root: c.root,
        T: c.T,
        paramsHash: meta.paramsHash,
        inputsHash: meta.inputsHash,
        outputHash,
        finalLatentDigest: zT,
        proof: c.deliveryProof,
      };
    }
    return result;
  }

  /** `POST /poi/reveal {jobId, randomness, k}`: the sdk's `revealJob` for the kept commitment. */
  reveal(body: unknown): Reveal {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new BadRequestError("the body must be a JSON object {jobId, randomness, k}");
    }
    const { jobId, randomness, k } = body as Record<string, unknown>;
    const extra = Object.keys(body).filter((key) => !["jobId", "randomness", "k"].includes(key));
    if (extra.length > 0)
      throw new BadRequestError(`unknown keys: ${extra.join(", ")} (expected jobId, randomness, k)`);
    if (typeof jobId !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(jobId)) {
      throw new BadRequestError("jobId must be a bytes32 hex string (0x + 64 hex digits)");
    }
    if (typeof randomness !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(randomness)) {
      throw new BadRequestError(
        "randomness must be the bytes32 value of the challenge round (0x + 64 hex digits)",
      );
    }
    const c = this.store.commitment(jobId);
    if (!c) throw new NotFoundError(`no Proof-of-Inference job ${jobId} is kept here`);
    if (typeof k !== "number" || !Number.isSafeInteger(k) || k < 1 || k > c.T) {
      throw new BadRequestError(`k must be an integer in [1, T = ${c.T}], got ${JSON.stringify(k)}`);
    }
    return revealJob(c, randomness.toLowerCase() as Hex, k);
  }

  /** `GET /poi/tensors/:jobId/:step`: z_step and ε_step (z_T alone for step T), checked against the commitment. */
  async tensors(jobId: string, stepText: string): Promise<StepTensorsReply> {
    const meta = this.store.meta(jobId);
    if (!meta) throw new NotFoundError(`no Proof-of-Inference job ${jobId} is kept here`);
    const T = meta.steps.length;
    const step = Number(stepText);
    if (!/^\d+$/.test(stepText) || !Number.isSafeInteger(step) || step > T) {
      throw new BadRequestError(`step must be an integer in [0, T = ${T}], got ${stepText}`);
    }
    const t = await this.store.tensors(jobId, step);
    if (!t) throw new NotFoundError(`no Proof-of-Inference job ${jobId} is kept here`);
    const latentSha = tensorDigest(t.latent);
    const noiseSha = t.noise ? tensorDigest(t.noise) : undefined;
    const want = step < T ? meta.steps[step]! : undefined;
    const wantLatent = want ? want.latentDigest : meta.finalLatentDigest;
    if (latentSha !== wantLatent || (want && noiseSha !== want.noiseDigest)) {
      throw new Error(`the kept tensors of job ${meta.jobId} step ${step} no longer match the commitment`);
    }
    return {
      jobId: meta.jobId,
      step,
      T,
      timestep: step < T ? meta.timesteps[step]! : null,
      dims: meta.dims,
      dtype: "float32",
      latent: { sha256: latentSha, data: b64(t.latent) },
      noise: t.noise && noiseSha ? { sha256: noiseSha, data: b64(t.noise) } : null,
    };
  }

  /** `GET /poi/jobs/:jobId`: what is kept about the job, with its root and delivery proof. */
  job(jobId: string): StoredJob & { root: Hex; proof: Hex } {
    const meta = this.store.meta(jobId);
    const c = this.store.commitment(jobId);
    if (!meta || !c) throw new NotFoundError(`no Proof-of-Inference job ${jobId} is kept here`);
    return { ...meta, root: c.root, proof: c.deliveryProof };
  }

  /** `DELETE /poi/jobs/:jobId`: drops a settled job. */
  async drop(jobId: string): Promise<void> {
    if (!(await this.store.delete(jobId))) {
      throw new NotFoundError(`no Proof-of-Inference job ${jobId} is kept here`);
    }
  }
}

/**
 * The validator's work for one job it was drawn for (docs/protocol.md §8–9): reconstruct the job from the chain
 * (reference, commitment, reveal, pinned inputs, seed), fetch the opened tensors from the provider's endpoint with a
 * signed request, re-run the challenged steps with the pinned pipeline, and post the verdict with a quality score.
 * Everything the verdict depends on comes from the chain or is recomputed here; the provider supplies only tensors,
 * and those must hash to the digests it revealed.
 */
import {
  decodeAbiParameters,
  decodeFunctionData,
  hexToString,
  parseEventLogs,
  type Abi,
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
} from "viem";
import { decodeDiffusionInputs, jobId as poiJobIdOf, jobSeed, type StepOpening } from "@infernet/sdk";
import {
  ReferenceFreeScorer,
  STEP_BANDS,
  decodeJobLatent,
  jobParamsHash,
  modelDirectoryDigest,
  outputHashOf,
  qualityOf,
  schedulerHashOf,
  videoDigest,
  type JobParams,
  type Pipeline,
} from "../../../containers/diffusion/src/index.ts";
import type { TransactionSender } from "../chain/sender.ts";
import { errorMessage } from "../chain/log.ts";
import type { Logger } from "../log.ts";
import { containerIndex } from "../provider/jobs.ts";
import { PoiPhase, type JobRef, type PoiReads } from "../poi/reads.ts";
import { inlineInputs } from "../chain/inputs.ts";
import { signTensorRequest } from "../poi/tensor-auth.ts";
import type { Bands } from "./bands.ts";
import { verifyJobReveal } from "./pipeline.ts";
import type { Verdict } from "./verify.ts";

/** The calibrated step bands (containers/diffusion, `npm run calibrate`) in the validator's terms. */
export const CALIBRATED_BANDS: Bands = { pass: STEP_BANDS.passMax, fail: STEP_BANDS.failMin };

export interface JudgeOptions {
  publicClient: PublicClient;
  sender: TransactionSender;
  account: LocalAccount;
  chainId: number;
  coordinator: Address;
  coordinatorAbi: Abi;
  proofOfInference: Address;
  poiAbi: Abi;
  nodeRegistry: Address;
  /** Pipelines by container id (the on-chain id is keccak256 of it, or of a pipeline "A,B" ending in it). */
  pipelines: ReadonlyMap<string, Pipeline>;
  /** Job states and randomness rounds. */
  reads: PoiReads;
  bands?: Bands;
  logger: Logger;
  /** Tensor fetch timeout per request, ms (default 30,000). */
  fetchTimeoutMs?: number;
  /** Share of jobs whose final latent is decoded and checked against the committed output hash (default 0.25). */
  outputCheckProbability?: number;
}

export class JudgeError extends Error {
  constructor(key: Hex, reason: string) {
    super(`job ${key}: ${reason}`);
    this.name = "JudgeError";
  }
}

interface Committed {
  node: Address;
  root: Hex;
  outputHash: Hex;
  paramsHash: Hex;
  steps: number;
  k: number;
  transactionHash: Hex;
}

interface Revealed {
  challenged: number[];
  openings: StepOpening[];
  finalLatentDigest: Hex;
}

/** What a judged job came to (posted on-chain unless `posted` is false). */
export interface Judgement {
  key: Hex;
  ref: JobRef;
  verdict: Verdict;
  quality: number;
  txHash: Hex | undefined;
}

export class Judge {
  readonly #o: JudgeOptions;
  readonly #index: Map<Hex, string[]>;
  readonly #inFlight = new Map<Hex, Promise<Judgement | undefined>>();
  /** Model directory digests: the files are hashed once per pipeline, not once per job. */
  readonly #modelHashes = new Map<Pipeline, Promise<Hex>>();

  constructor(options: JudgeOptions) {
    this.#o = options;
    this.#index = containerIndex(options.pipelines.keys());
  }

  /** Judges `key` once (concurrent calls share the work); undefined when there is nothing (left) to do. */
  judge(key: Hex): Promise<Judgement | undefined> {
    let p = this.#inFlight.get(key);
    if (!p) {
      p = this.#judge(key).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, p);
    }
    return p;
  }

  async #judge(key: Hex): Promise<Judgement | undefined> {
    const log = this.#o.logger.child({ poiKey: key });
    const committed = await this.#committed(key);
    const ref = await this.#refOf(key, committed);
    const state = await this.#o.reads.state(ref);
    if (
      state.phase !== PoiPhase.Revealed ||
      state.validator.toLowerCase() !== this.#o.account.address.toLowerCase()
    )
      return undefined; // judged already, reassigned, or not ours
    const revealed = await this.#revealed(key);
    const sub = (await this.#read(this.#o.coordinator, this.#o.coordinatorAbi, "getSubscription", [
      ref.subscriptionId,
    ])) as { containerId: Hex; inputsHash: Hex };
    const containers = this.#index.get(sub.containerId);
    const pipeline = containers && this.#o.pipelines.get(containers.at(-1)!);
    if (!pipeline) throw new JudgeError(key, `no pipeline configured for container id ${sub.containerId}`);

    // The job as the chain pins it: inputs, seed from the reserved round, T from the commitment.
    const inputs = await this.#inputs(ref);
    const params = decodeDiffusionInputs(inputs);
    const poiJobId = poiJobIdOf({
      chainId: this.#o.chainId,
      coordinator: this.#o.coordinator,
      subscriptionId: ref.subscriptionId,
      interval: ref.interval,
    });
    const [interval] = (await this.#read(this.#o.coordinator, this.#o.coordinatorAbi, "getInterval", [
      ref.subscriptionId,
      ref.interval,
    ])) as [{ seedRound: number }];
    const seed = jobSeed(poiJobId, await this.#o.reads.randomnessValue(Number(interval.seedRound)));
    const job: JobParams = { ...params, steps: committed.steps, seed };

    const tensors = await this.#fetchTensors(key, committed.node, revealed, committed.steps);
    const expectedParams = jobParamsHash({
      modelHash: await this.#modelHash(pipeline),
      schedulerHash: schedulerHashOf(pipeline.scheduler),
      job,
      inputsHash: sub.inputsHash,
    });
    // Check 5, on a random share of jobs (a decode costs about as much as a step): z_T decodes to the committed output.
    const checkOutput = Math.random() < (this.#o.outputCheckProbability ?? 0.25);
    const uri = checkOutput ? await this.#deliveredUri(committed.transactionHash) : undefined;
    const verdict = await verifyJobReveal({
      pipeline,
      job,
      challenged: revealed.challenged,
      openings: revealed.openings,
      finalLatentDigest: revealed.finalLatentDigest,
      tensors,
      bands: this.#o.bands ?? CALIBRATED_BANDS,
      params: { committed: committed.paramsHash, expected: expectedParams },
      ...(uri === undefined
        ? {}
        : {
            output: {
              committed: committed.outputHash,
              hashOf: async (z: Float32Array) =>
                outputHashOf(videoDigest(await decodeJobLatent(pipeline, job, z)), uri),
            },
          }),
    });
    const quality = await this.#quality(pipeline, job, tensors.latents.get(committed.steps)).catch((err) => {
      // The validator's own failure must not cost the provider: full score (the verdict rests on re-execution).
      log.warn({ err: errorMessage(err) }, "quality scoring failed; posting the full score");
      return 10_000;
    });
    // An escalation is posted as a fail of the steps concerned: a committee (dispute) settles it.
    const mask = verdict.failedMask | verdict.escalateMask;
    const sent = await this.#o.sender.send({
      address: this.#o.proofOfInference,
      abi: this.#o.poiAbi,
      functionName: "postVerdict",
      args: [ref, verdict.pass, mask, verdict.digest, quality],
      contractName: "ProofOfInference",
    });
    log.info(
      {
        subscriptionId: ref.subscriptionId.toString(),
        interval: ref.interval,
        pass: verdict.pass,
        outcome: verdict.outcome,
        failedMask: mask.toString(),
        maxRelErr: verdict.maxRelErr,
        quality,
        outputChecked: uri !== undefined,
        reasons: verdict.reasons.map((r) => `${r.code}@${r.index}`),
        txHash: sent.hash,
      },
      "verdict posted",
    );
    return { key, ref, verdict, quality, txHash: sent.hash };
  }

  #modelHash(pipeline: Pipeline): Promise<Hex> {
    let h = this.#modelHashes.get(pipeline);
    if (!h) {
      h = modelDirectoryDigest(pipeline.dir);
      this.#modelHashes.set(pipeline, h);
    }
    return h;
  }

  async #read(address: Address, abi: Abi, functionName: string, args: readonly unknown[]): Promise<unknown> {
    return this.#o.publicClient.readContract({ address, abi, functionName, args });
  }

  async #committed(key: Hex): Promise<Committed> {
    const logs = await this.#o.publicClient.getContractEvents({
      address: this.#o.proofOfInference,
      abi: this.#o.poiAbi,
      eventName: "Committed",
      args: { key },
      fromBlock: 0n,
    });
    const last = logs.at(-1) as unknown as { args: Omit<Committed, "transactionHash">; transactionHash: Hex };
    if (!last) throw new JudgeError(key, "no Committed log");
    return {
      ...last.args,
      steps: Number(last.args.steps),
      k: Number(last.args.k),
      transactionHash: last.transactionHash,
    };
  }

  /** The job reference, from the Coordinator's Delivered log in the commit's transaction. */
  async #refOf(key: Hex, c: Committed): Promise<JobRef> {
    const receipt = await this.#o.publicClient.getTransactionReceipt({ hash: c.transactionHash });
    const delivered = parseEventLogs({
      abi: this.#o.coordinatorAbi,
      logs: receipt.logs,
      eventName: "Delivered",
    });
    const d = delivered.find(
      (l) => (l.args as { node: Address }).node.toLowerCase() === c.node.toLowerCase(),
    );
    if (!d) throw new JudgeError(key, "no Delivered log beside the commit");
    const a = d.args as { subscriptionId: bigint; interval: number; slot: number };
    return { subscriptionId: a.subscriptionId, interval: Number(a.interval), slot: Number(a.slot) };
  }

  async #revealed(key: Hex): Promise<Revealed> {
    const logs = await this.#o.publicClient.getContractEvents({
      address: this.#o.proofOfInference,
      abi: this.#o.poiAbi,
      eventName: "Revealed",
      args: { key },
      fromBlock: 0n,
    });
    const last = logs.at(-1) as unknown as
      | {
          args: {
            challenged: readonly number[];
            openings: readonly { index: number; timestep: number; latentDigest: Hex; noiseDigest: Hex }[];
            finalLatentDigest: Hex;
          };
        }
      | undefined;
    if (!last) throw new JudgeError(key, "no Revealed log");
    return {
      challenged: last.args.challenged.map(Number),
      openings: last.args.openings.map((o) => ({
        ...o,
        index: Number(o.index),
        timestep: Number(o.timestep),
      })),
      finalLatentDigest: last.args.finalLatentDigest,
    };
  }

  /** The interval's pinned inputs: from its IntervalRequested log, or the subscription's (inline inputs). */
  async #inputs(ref: JobRef): Promise<Hex> {
    const requested = await this.#o.publicClient.getContractEvents({
      address: this.#o.coordinator,
      abi: this.#o.coordinatorAbi,
      eventName: "IntervalRequested",
      args: { subscriptionId: ref.subscriptionId, interval: ref.interval },
      fromBlock: 0n,
    });
    const fromRequest = (requested.at(-1) as unknown as { args: { inputs: Hex } } | undefined)?.args.inputs;
    if (fromRequest && fromRequest !== "0x") return fromRequest;
    return inlineInputs({
      publicClient: this.#o.publicClient,
      coordinator: this.#o.coordinator,
      coordinatorAbi: this.#o.coordinatorAbi,
      subscriptionId: ref.subscriptionId,
    });
  }

  /** Fetches z and ε of every opened step and z_T from the provider's endpoint (signed requests). */
  async #fetchTensors(key: Hex, provider: Address, revealed: Revealed, T: number) {
    const endpoint = (await this.#read(this.#o.nodeRegistry, NODE_REGISTRY_ABI, "endpointOf", [
      provider,
    ])) as string;
    const base = endpoint.replace(/\/+$/, "");
    const latents = new Map<number, Float32Array>();
    const noise = new Map<number, Float32Array>();
    const steps = [...revealed.openings.map((o) => o.index), T];
    await Promise.all(
      steps.map(async (step) => {
        const headers = await signTensorRequest(this.#o.account, { chainId: this.#o.chainId, key, step });
        const res = await fetch(`${base}/poi/jobs/${key}/tensors/${step}`, {
          headers,
          signal: AbortSignal.timeout(this.#o.fetchTimeoutMs ?? 30_000),
        }).catch((err: unknown) => {
          this.#o.logger.warn({ poiKey: key, step, err: errorMessage(err) }, "tensor fetch failed");
          return undefined;
        });
        if (!res?.ok) return; // a missing tensor fails the step (verifyReveal: missing-tensor)
        const body = (await res.json()) as { latent: { data: string }; noise: { data: string } | null };
        latents.set(step, floats(body.latent.data));
        if (body.noise && step < T) noise.set(step, floats(body.noise.data));
      }),
    );
    return { latents, noise };
  }

  /**
   * The storage URI the provider delivered (the output is `abi.encode(bytes videoSha256, bytes uri)`, read from the
   * deliver transaction's calldata; the Coordinator hashed exactly these bytes into the committed output hash).
   */
  async #deliveredUri(deliverTx: Hex): Promise<string | undefined> {
    const tx = await this.#o.publicClient.getTransaction({ hash: deliverTx });
    const call = decodeFunctionData({ abi: this.#o.coordinatorAbi, data: tx.input });
    if (call.functionName !== "deliver") return undefined; // delivered through a contract: skip the output check
    const output = (call.args as readonly unknown[])[3] as Hex;
    const [, uri] = decodeAbiParameters([{ type: "bytes" }, { type: "bytes" }], output);
    return hexToString(uri);
  }

  /** Reference-free quality of the decoded final latent, in basis points (0 when z_T is missing). */
  async #quality(pipeline: Pipeline, job: JobParams, finalLatent: Float32Array | undefined): Promise<number> {
    if (!finalLatent) return 0;
    const frames = await decodeJobLatent(pipeline, job, finalLatent);
    return (await qualityOf(new ReferenceFreeScorer(), { frames, prompt: job.prompt })).bps;
  }
}

function floats(base64: string): Float32Array {
  const bytes = Buffer.from(base64, "base64");
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer, 0, Math.floor(copy.byteLength / 4));
}

const NODE_REGISTRY_ABI = [
  {
    type: "function",
    name: "endpointOf",
    stateMutability: "view",
    inputs: [{ name: "node", type: "address" }],
    outputs: [{ type: "string" }],
  },
] as const;

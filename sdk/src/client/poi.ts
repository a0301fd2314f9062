/**
 * Proof-of-Inference jobs seen from the client: submitting a diffusion job verified by PoI, following its phases
 * (Committed → Revealed → ValidatorAssigned → VerdictPosted → … → JobPaid or FraudSlashed), and verifying a
 * delivered result's commitment and opened steps on the client: the challenged steps recomputed from the challenge
 * randomness, the leaves rebuilt with the sdk's encoding, the multiproof checked against the committed root, and the
 * output's hash compared with the committed one.
 */
import { decodeFunctionData, encodeAbiParameters, keccak256, type Address, type Hex } from "viem";
import { proofOfInferenceAbi, randomnessAbi } from "../abis/index.ts";
import { encodeDiffusionInputs, type DiffusionRequest } from "../diffusion-inputs.ts";
import { jobId as poiJobId } from "../poi/job.ts";
import { outputLeaf, paramsLeaf, stepLeaf } from "../poi/leaf.ts";
import { depthFor, verifyMultiproof } from "../poi/tree.ts";
import { challengeIndices, openedIndices } from "../poi/challenge.ts";
import type { StepOpening } from "../poi/prover.ts";
import type { InfernetClient } from "./client.ts";
import { PoiJobNotFoundError, ResultVerificationError } from "./errors.ts";
import { pollLogs, queryLogs, type DecodedLog } from "./events.ts";
import { getDeliveries } from "./results.ts";
import { requestCompute, type ComputeRequested, type SubscriptionInput } from "./subscriptions.ts";

/** One slot of one interval: what the ProofOfInference contract judges. */
export interface PoiJobRef {
  subscriptionId: bigint;
  interval: number;
  slot: number;
}

/** `ProofOfInference.jobKey(ref)`: `keccak256(abi.encode(subscriptionId, interval, slot))`. */
export function poiJobKey(ref: PoiJobRef): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "uint64" }, { type: "uint32" }, { type: "uint16" }],
      [ref.subscriptionId, ref.interval, ref.slot],
    ),
  );
}

/** `IProofOfInference.Phase` by value. */
export const POI_PHASES = ["None", "Committed", "Revealed", "Judged", "Disputed", "Paid", "Slashed"] as const;
export type PoiPhase = (typeof POI_PHASES)[number];

export interface SubmitDiffusionJobParams extends Omit<SubscriptionInput, "inputs" | "verifier"> {
  /** The generation parameters; ABI-encoded with `encodeDiffusionInputs` as the job's inline inputs. */
  request: DiffusionRequest;
  /** Payment per node (at most the PoI `maxPrice`, 0.003 ETH by default). */
  paymentAmount: bigint;
  /** Verify with Proof-of-Inference (default true); false pays on delivery. */
  proofOfInference?: boolean;
  deposit?: bigint;
}

export interface DiffusionJobSubmitted extends ComputeRequested {
  /** One PoI job per slot (`redundancy` of them); empty without Proof-of-Inference. */
  jobs: PoiJobRef[];
}

/** Requests a one-shot diffusion job on-chain, verified by Proof-of-Inference (the deployment's verifier). */
export async function submitDiffusionJob(
  client: InfernetClient,
  p: SubmitDiffusionJobParams,
): Promise<DiffusionJobSubmitted> {
  const { request, proofOfInference = true, ...rest } = p;
  const requested = await requestCompute(client, {
    ...rest,
    inputs: encodeDiffusionInputs(request),
    verifier: proofOfInference ? client.contracts.proofOfInference : undefined,
  });
  const redundancy = p.redundancy ?? 1;
  const jobs = proofOfInference
    ? Array.from({ length: redundancy }, (_, slot) => ({
        subscriptionId: requested.subscriptionId,
        interval: 1,
        slot,
      }))
    : [];
  return { ...requested, jobs };
}

/** The job as the contract stores it, with its phase by name. */
export async function getPoiJob(client: InfernetClient, ref: PoiJobRef) {
  const job = await client.publicClient.readContract({
    address: client.contracts.proofOfInference,
    abi: proofOfInferenceAbi,
    functionName: "getJob",
    args: [ref],
  });
  return { ...job, phaseName: POI_PHASES[job.phase] ?? ("None" as PoiPhase) };
}

/** The events of one PoI job, in protocol order (what a prover, a validator or a watcher of a job acts on). */
export const POI_JOB_EVENTS = [
  "Committed",
  "Revealed",
  "ValidatorAssigned",
  "VerdictPosted",
  "VerdictTimedOut",
  "Disputed",
  "CommitteeAssigned",
  "CommitteeVote",
  "DisputeResolved",
  "JobPaid",
  "FraudSlashed",
] as const;

/** A decoded event of one PoI job. */
export type PoiEvent = DecodedLog<typeof proofOfInferenceAbi> & {
  eventName: (typeof POI_JOB_EVENTS)[number];
};

const JOB_EVENTS = new Set<string>(POI_JOB_EVENTS);

export interface WatchPoiJobParams {
  ref: PoiJobRef;
  fromBlock?: bigint;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * Streams the job's events in order (those already mined first) and ends after the final one, `JobPaid` or
 * `FraudSlashed`.
 */
export async function* watchPoiJob(
  client: InfernetClient,
  p: WatchPoiJobParams,
): AsyncGenerator<PoiEvent, void, undefined> {
  const key = poiJobKey(p.ref);
  const logs = pollLogs(client, {
    abi: proofOfInferenceAbi,
    address: client.contracts.proofOfInference,
    topics: [null, key],
    ...(p.fromBlock !== undefined ? { fromBlock: p.fromBlock } : {}),
    ...(p.signal ? { signal: p.signal } : {}),
    ...(p.timeoutMs !== undefined ? { timeoutMs: p.timeoutMs } : {}),
    what: `the outcome of Proof-of-Inference job ${key}`,
  });
  try {
    for (;;) {
      const { value } = await logs.next();
      if (!JOB_EVENTS.has(value.eventName)) continue;
      yield value as PoiEvent;
      if (value.eventName === "JobPaid" || value.eventName === "FraudSlashed") return;
    }
  } finally {
    await logs.return(undefined as never);
  }
}

export type PoiOutcome =
  | {
      outcome: "paid";
      node: Address;
      /** The validator's quality score, basis points. */
      quality: number;
      /** Share of the payment released to the node, basis points. */
      payBps: number;
      transactionHash: Hex;
    }
  | {
      outcome: "slashed";
      node: Address;
      toRequester: bigint;
      toChallenger: bigint;
      burned: bigint;
      transactionHash: Hex;
    };

/** Waits for the job's settlement; `onEvent` sees every event on the way. */
export async function waitForPoiOutcome(
  client: InfernetClient,
  p: WatchPoiJobParams & { onEvent?: (event: PoiEvent) => void },
): Promise<PoiOutcome> {
  for await (const event of watchPoiJob(client, p)) {
    p.onEvent?.(event);
    if (event.eventName === "JobPaid") {
      const { node, quality, payBps } = event.args;
      return { outcome: "paid", node, quality, payBps, transactionHash: event.transactionHash };
    }
    if (event.eventName === "FraudSlashed") {
      const { node, toRequester, toChallenger, burned } = event.args;
      return {
        outcome: "slashed",
        node,
        toRequester,
        toChallenger,
        burned,
        transactionHash: event.transactionHash,
      };
    }
  }
  // watchPoiJob only ends after a final event (or throws).
  throw new PoiJobNotFoundError(poiJobKey(p.ref), "the event stream ended without an outcome");
}

// ---------------------------------------------------------------- client-side verification

/** The `Committed` event's fields. */
export interface CommittedFields {
  node: Address;
  root: Hex;
  outputHash: Hex;
  paramsHash: Hex;
  steps: number;
  k: number;
  round: number;
}

/** The `Revealed` event's fields. */
export interface RevealedFields {
  challenged: readonly number[];
  openings: readonly StepOpening[];
  finalLatentDigest: Hex;
}

export interface VerifyPoiOpeningsParams {
  chainId: number | bigint;
  coordinator: Address;
  ref: PoiJobRef;
  committed: CommittedFields;
  revealed: RevealedFields;
  /** The multiproof the node revealed (`reveal`'s last argument). */
  proof: readonly Hex[];
  /** Value of the challenge round (`randomness.valueOf(committed.round)`): recomputes the challenged steps. */
  randomness?: Hex;
  /** The delivered output bytes: their keccak must be the committed output hash. */
  output?: Hex;
  /** The output hash of the `Delivered` event: must equal the committed one. */
  deliveredOutputHash?: Hex;
}

export interface PoiVerification {
  /** True when every check that could run passed (and the multiproof and openings were checked). */
  ok: boolean;
  /** One line per failed check. */
  problems: string[];
  /** Checks that could not run, and why (e.g. randomness no longer readable, output unknown). */
  skipped: string[];
  key: Hex;
  jobId: Hex;
  node: Address;
  root: Hex;
  /** Denoising steps `T`. */
  steps: number;
  /** Leaf indices the reveal opened (`T + 2` leaves in all). */
  opened: number[];
  challenged: number[];
}

/**
 * Verifies a revealed commitment offline (no chain access): the openings are exactly the steps the challenge
 * opens, the leaves rebuilt from them (with the output and params leaves) verify against the root with the proof,
 * and, when given, the challenged steps match the randomness and the output matches the committed hash.
 */
export function verifyPoiOpenings(p: VerifyPoiOpeningsParams): PoiVerification {
  const { committed: c, revealed: r, ref } = p;
  const problems: string[] = [];
  const skipped: string[] = [];
  const T = c.steps;
  const jobId = poiJobId({
    chainId: p.chainId,
    coordinator: p.coordinator,
    subscriptionId: ref.subscriptionId,
    interval: ref.interval,
  });
  const challenged = [...r.challenged];
  let opened: number[] = [];
  if (challenged.length !== c.k)
    problems.push(`${challenged.length} steps challenged, the audit depth is ${c.k}`);
  if (p.randomness !== undefined) {
    const expected = challengeIndices({
      jobId,
      node: c.node,
      root: c.root,
      randomness: p.randomness,
      T,
      k: c.k,
    });
    if (expected.join(",") !== challenged.join(","))
      problems.push(`challenged steps [${challenged}] are not the challenge's [${expected}]`);
  } else skipped.push("challenge: the round's randomness is not available");
  try {
    opened = openedIndices(challenged, T);
  } catch (err) {
    problems.push(`challenged steps are invalid: ${(err as Error).message}`);
  }
  if (opened.length > 0) {
    const stepIndices = opened.filter((i) => i < T);
    const got = r.openings.map((o) => o.index);
    if (got.join(",") !== stepIndices.join(",")) {
      problems.push(`opened steps [${got}] are not the required [${stepIndices}]`);
    } else {
      const base = { jobId, node: c.node, T };
      const leaves: Hex[] = r.openings.map((o) =>
        stepLeaf({
          ...base,
          index: o.index,
          timestep: o.timestep,
          latentDigest: o.latentDigest,
          noiseDigest: o.noiseDigest,
        }),
      );
      leaves.push(outputLeaf({ ...base, finalLatentDigest: r.finalLatentDigest, outputHash: c.outputHash }));
      leaves.push(paramsLeaf({ ...base, paramsHash: c.paramsHash }));
      const valid = verifyMultiproof({
        root: c.root,
        depth: depthFor(T + 2),
        leafCount: T + 2,
        indices: opened,
        leaves,
        proof: p.proof,
      });
      if (!valid) problems.push("the multiproof does not verify against the committed root");
    }
  }
  if (p.output !== undefined) {
    if (keccak256(p.output) !== c.outputHash)
      problems.push("keccak256 of the delivered output is not the committed output hash");
  } else skipped.push("output: the delivered output bytes are not available");
  if (p.deliveredOutputHash !== undefined && p.deliveredOutputHash !== c.outputHash)
    problems.push("the Delivered event's output hash is not the committed one");
  return {
    ok: problems.length === 0,
    problems,
    skipped,
    key: poiJobKey(ref),
    jobId,
    node: c.node,
    root: c.root,
    steps: T,
    opened,
    challenged,
  };
}

export interface VerifyPoiResultParams {
  ref: PoiJobRef;
  /** The output bytes, when known; otherwise read from the delivery. */
  output?: Hex;
  /** The reveal's multiproof, when known; otherwise decoded from the reveal transaction's calldata. */
  proof?: readonly Hex[];
  fromBlock?: bigint;
}

/**
 * Verifies a delivered PoI result against the chain's records: reads the job's `Committed` and `Revealed` events,
 * the reveal's multiproof (its calldata), the challenge randomness and the delivered output, then runs
 * `verifyPoiOpenings`. `PoiJobNotFoundError` when the job was not committed or not revealed yet.
 */
export async function verifyPoiResult(
  client: InfernetClient,
  p: VerifyPoiResultParams,
): Promise<PoiVerification> {
  const key = poiJobKey(p.ref);
  const logs = await queryLogs(client, {
    abi: proofOfInferenceAbi,
    address: client.contracts.proofOfInference,
    topics: [null, key],
    fromBlock: p.fromBlock ?? client.fromBlock,
    toBlock: await client.publicClient.getBlockNumber({ cacheTime: 0 }),
  });
  const committed = logs.find((l) => l.eventName === "Committed");
  const revealed = logs.find((l) => l.eventName === "Revealed");
  if (committed?.eventName !== "Committed") throw new PoiJobNotFoundError(key, "no commitment (Committed)");
  if (revealed?.eventName !== "Revealed") throw new PoiJobNotFoundError(key, "not revealed yet (Revealed)");
  const problems: string[] = [];

  let proof = p.proof;
  if (proof === undefined) {
    const tx = await client.publicClient.getTransaction({ hash: revealed.transactionHash });
    try {
      const call = decodeFunctionData({ abi: proofOfInferenceAbi, data: tx.input });
      if (call.functionName === "reveal") proof = call.args[4];
    } catch {
      // sent through a contract
    }
    if (proof === undefined) problems.push("the reveal's multiproof is not in its calldata: pass `proof`");
  }

  let randomness: Hex | undefined;
  try {
    randomness = await client.publicClient.readContract({
      address: client.contracts.randomness,
      abi: randomnessAbi,
      functionName: "valueOf",
      args: [BigInt(committed.args.round)],
    });
  } catch {
    // expired (a blockhash older than 256 blocks) or not ready
  }

  let output = p.output;
  let deliveredOutputHash: Hex | undefined;
  const delivery = (
    await getDeliveries(client, {
      subscriptionId: p.ref.subscriptionId,
      interval: p.ref.interval,
      ...(p.fromBlock !== undefined ? { fromBlock: p.fromBlock } : {}),
    })
  ).find((d) => d.slot === p.ref.slot);
  if (delivery) {
    deliveredOutputHash = delivery.outputHash;
    output ??= delivery.output;
  }

  const v = verifyPoiOpenings({
    chainId: client.chainId,
    coordinator: client.contracts.coordinator,
    ref: p.ref,
    committed: committed.args,
    revealed: revealed.args,
    proof: proof ?? [],
    ...(randomness !== undefined ? { randomness } : {}),
    ...(output !== undefined ? { output } : {}),
    ...(deliveredOutputHash !== undefined ? { deliveredOutputHash } : {}),
  });
  const all = [...problems, ...v.problems];
  return { ...v, ok: all.length === 0, problems: all };
}

/** Throws `ResultVerificationError` listing the problems unless the verification passed. */
export function assertVerified(v: { ok: boolean; problems: readonly string[] }): void {
  if (!v.ok) throw new ResultVerificationError(v.problems);
}

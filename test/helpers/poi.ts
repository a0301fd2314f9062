import { randomBytes } from "node:crypto";
import assert from "node:assert/strict";
import { keccak256, parseEventLogs, toHex, type Address, type Hex } from "viem";
import {
  commitJob,
  jobId as poiJobId,
  revealJob,
  type JobCommitment,
  type Reveal,
  type StepRecord,
} from "@infernet/sdk";
import {
  coordinatorAs,
  deployFixture,
  registerNode,
  registryAs,
  subscriptionParams,
  wallet,
  walletOf,
  type Fixture,
} from "./fixture.ts";

export const PRICE = 3_000_000_000_000_000n; // 0.003 ETH, the default PoI maxPrice
export const ETH: Address = "0x0000000000000000000000000000000000000000";

export interface PoiWorld {
  f: Fixture;
  /** Node addresses, each registered by its own operator (the same wallet). */
  nodes: Address[];
}

/** A deployed system with `count` nodes (wallets 2..2+count), each its own operator, all serving the container. */
export async function poiWorld(count = 6): Promise<PoiWorld> {
  const f = await deployFixture();
  const nodes: Address[] = [];
  for (let i = 0; i < count; i++) {
    const w = f.wallets[2 + i]!;
    await registerNode(f, 2 + i, w.account.address);
    nodes.push(w.account.address);
  }
  return { f, nodes };
}

/** Typed contract handles acting as `address` (one of the fixture's wallets). */
export async function as(f: Fixture, address: Address) {
  const wallet = walletOf(f, address);
  return {
    coordinator: await coordinatorAs(f, wallet),
    poi: await f.viem.getContractAt("ProofOfInference", f.poi.address, { client: { wallet } }),
    registry: await registryAs(f, wallet),
  };
}

export interface PoiJob {
  subscriptionId: bigint;
  interval: number;
  slot: number;
  ref: { subscriptionId: bigint; interval: number; slot: number };
  provider: Address;
  jobId: Hex;
  output: Hex;
}

/**
 * Wallet 1 requests a one-shot subscription verified by Proof-of-Inference, paying `payment` to each of `redundancy`
 * nodes, then a block is mined (the assignment randomness becomes readable); returns the subscription id.
 */
async function requestPoiSubscription(f: Fixture, payment: bigint, redundancy = 1): Promise<bigint> {
  const asConsumer = await coordinatorAs(f, wallet(f, 1));
  const before = await f.coordinator.read.subscriptionCount();
  const deposit = payment * BigInt(redundancy);
  await asConsumer.write.requestCompute(
    [subscriptionParams({ paymentAmount: payment, verifier: f.poi.address, redundancy }), deposit],
    { value: deposit },
  );
  await f.networkHelpers.mine();
  return before + 1n;
}

/** A one-shot paid subscription verified by Proof-of-Inference, requested by wallet 1; returns the assigned node. */
export async function requestPoiJob(w: PoiWorld, payment = PRICE): Promise<PoiJob> {
  const { f } = w;
  const subscriptionId = await requestPoiSubscription(f, payment);
  const [provider] = await f.coordinator.read.previewAssignment([subscriptionId, 1]);
  assert.ok(provider, "a node is assigned");
  const chainId = await f.publicClient.getChainId();
  return {
    subscriptionId,
    interval: 1,
    slot: 0,
    ref: { subscriptionId, interval: 1, slot: 0 },
    provider,
    jobId: poiJobId({ chainId, coordinator: f.coordinator.address, subscriptionId, interval: 1 }),
    output: toHex(randomBytes(32)),
  };
}

/** Random step digests standing in for a real trajectory (the diffusion workload supplies real ones). */
export function fakeTrajectory(T: number): StepRecord[] {
  return Array.from({ length: T }, (_, i) => ({
    timestep: 999 - Math.floor((i * 1000) / T),
    latentDigest: toHex(randomBytes(32)),
    noiseDigest: toHex(randomBytes(32)),
  }));
}

export function commitmentFor(job: PoiJob, steps: StepRecord[], node: Address = job.provider): JobCommitment {
  return commitJob({
    jobId: job.jobId,
    node,
    steps,
    finalLatentDigest: toHex(randomBytes(32)),
    outputHash: keccak256(job.output),
    paramsHash: toHex(randomBytes(32)),
  });
}

/** The provider delivers its output with the commitment; returns the audit depth and challenge round. */
export async function deliverWithCommit(
  w: PoiWorld,
  job: PoiJob,
  c: JobCommitment,
  from: Address = job.provider,
) {
  const { f } = w;
  const hash = await (
    await as(f, from)
  ).coordinator.write.deliver([job.subscriptionId, job.interval, "0x", job.output, c.deliveryProof]);
  const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
  const [committed] = parseEventLogs({ abi: f.poi.abi, logs: receipt.logs, eventName: "Committed" });
  assert.ok(committed, "Committed emitted");
  return { k: committed.args.k, round: committed.args.round, receipt };
}

/** Waits for the challenge round and opens the challenged steps. */
export async function revealFor(w: PoiWorld, job: PoiJob, c: JobCommitment, k: number, round: number) {
  const { f } = w;
  await f.networkHelpers.mine();
  const randomness = await f.randomness.read.valueOf([BigInt(round)]);
  const r = revealJob(c, randomness, k);
  const hash = await (
    await as(f, job.provider)
  ).poi.write.reveal([job.ref, r.commitment, r.openings, r.finalLatentDigest, r.proof]);
  return { reveal: r, receipt: await f.publicClient.waitForTransactionReceipt({ hash }) };
}

/** Draws the validator; returns its address. */
export async function drawValidator(w: PoiWorld, job: PoiJob): Promise<Address> {
  const { f } = w;
  const hash = await f.poi.write.assignValidator([job.ref]);
  const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
  const [assigned] = parseEventLogs({ abi: f.poi.abi, logs: receipt.logs, eventName: "ValidatorAssigned" });
  assert.ok(assigned, "a validator was assigned");
  return assigned.args.validator;
}

// ---------------------------------------------------------------- adversarial scenarios (poi.adversarial.test.ts)

/** Phases of IProofOfInference.Phase (the node's one definition) and ICoordinator.SlotStatus, by name. */
export { PoiPhase as Phase } from "../../node/src/poi/reads.ts";
export { SlotStatus } from "./fixture.ts";

/**
 * Requests PoI jobs (fresh one-shot subscriptions) until `node` is the one assigned; the others are left requested
 * and unassigned, bonding nothing. Assignment is random (stake × trust weighted), so this takes a few tries.
 */
export async function requestPoiJobAssignedTo(
  w: PoiWorld,
  node: Address,
  payment = PRICE,
  tries = 40,
): Promise<PoiJob> {
  for (let i = 0; i < tries; i++) {
    const job = await requestPoiJob(w, payment);
    if (job.provider.toLowerCase() === node.toLowerCase()) return job;
  }
  throw new Error(`no job was assigned to ${node} in ${tries} requests`);
}

/** A one-shot paid PoI subscription with `redundancy` slots; one PoiJob per slot (same jobId, same output). */
export async function requestRedundantPoiJob(
  w: PoiWorld,
  redundancy: number,
  payment = PRICE,
): Promise<PoiJob[]> {
  const { f } = w;
  const subscriptionId = await requestPoiSubscription(f, payment, redundancy);
  await f.coordinator.write.assign([subscriptionId, 1]);
  const [, , slots] = await f.coordinator.read.getInterval([subscriptionId, 1]);
  assert.equal(slots.length, redundancy);
  const chainId = await f.publicClient.getChainId();
  const jobId = poiJobId({ chainId, coordinator: f.coordinator.address, subscriptionId, interval: 1 });
  const output = toHex(randomBytes(32));
  return slots.map((s, slot) => ({
    subscriptionId,
    interval: 1,
    slot,
    ref: { subscriptionId, interval: 1, slot },
    provider: s.node,
    jobId,
    output,
  }));
}

/** The randomness value of the challenge round (readable from the block after the commit). */
export async function challengeValue(w: PoiWorld, round: number): Promise<Hex> {
  return w.f.randomness.read.valueOf([BigInt(round)]);
}

/** `reveal` arguments after the job reference. */
export function revealArgs(r: Reveal) {
  return [r.commitment, r.openings, r.finalLatentDigest, r.proof] as const;
}

/** Sends `reveal` for `job` as `from` (default: the job's node) and waits for it. */
export async function sendReveal(w: PoiWorld, job: PoiJob, r: Reveal, from: Address = job.provider) {
  const hash = await (await as(w.f, from)).poi.write.reveal([job.ref, ...revealArgs(r)]);
  return w.f.publicClient.waitForTransactionReceipt({ hash });
}

/**
 * Posts a verdict as the job's validator. The quality score defaults to a perfect 10,000 on a pass (the job is then
 * paid in full, as the pass/fail scenarios assume) and 0 on a fail; poi.quality.test.ts covers the weighted payout.
 */
export async function postVerdict(
  w: PoiWorld,
  job: PoiJob,
  validator: Address,
  pass: boolean,
  quality = pass ? 10_000 : 0,
) {
  const hash = await (
    await as(w.f, validator)
  ).poi.write.postVerdict([job.ref, pass, pass ? 0n : 1n, toHex(7, { size: 32 }), quality]);
  return w.f.publicClient.waitForTransactionReceipt({ hash });
}

/** Commit + reveal with fresh random digests; returns the commitment, audit depth and reveal. */
export async function commitAndReveal(w: PoiWorld, job: PoiJob, T = 50) {
  const c = commitmentFor(job, fakeTrajectory(T));
  const { k, round } = await deliverWithCommit(w, job, c);
  const { reveal } = await revealFor(w, job, c, k, round);
  return { c, k, round, reveal };
}

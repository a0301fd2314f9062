/**
 * Gas of the Proof-of-Inference path, for bench/gas.ts (`measurePoiGas`) or on its own: `node bench/poi-gas.ts`
 * (after `hardhat build` and `npm run build -w sdk`).
 *
 * A fresh in-process Hardhat network with the system deployed by deploy/system.ts (default parameters). Figures are
 * `gasUsed` from each receipt (intrinsic 21,000 and calldata included). Consumer: an EOA (its callback is a plain
 * call to an account without code), one-shot subscriptions, 32-byte inline input and output, paid the PoI
 * `maxPrice` (0.003 ETH by default) in ETH. Node 1 takes every job (it is the only node when jobs are assigned); node 2, of
 * another operator, is registered afterwards and so is the only validator candidate.
 *
 * - `deliver_plain`: deliver on a subscription without verifier (node paid at once; node and treasury already hold
 *   credits from an earlier job, the steady state).
 * - `deliver_with_commit`: the same deliver on a subscription verified by ProofOfInference, carrying the commitment
 *   `abi.encode(root, T = 50, paramsHash)`: payment and bond are held, the job is recorded and a challenge round is
 *   reserved.
 * - `commit`: `deliver_with_commit − deliver_plain`, the marginal gas of committing inside delivery.
 * - `reveal_k3_T50`, `reveal_k6_T50`: `reveal` of T = 50 jobs with the audit depth forced to 3 or 6 (kMin = kMax
 *   via setParams; the guard accepts both). Reveal gas depends on where the challenged steps fall (how many leaves
 *   are opened and how many siblings the multiproof needs), so each is the MAXIMUM over `REVEAL_SAMPLES` jobs;
 *   `…_min` gives the minimum.
 * - `assign_validator`: drawing the validator (two candidates in the container list, one eligible).
 * - `verdict`: `postVerdict` (pass, quality 9,000).
 * - `settle`: `finalize` of a passing job after the dispute window (node paid 9,800 bps of the price for its quality
 *   score, the rest unlocked for the consumer, its bond and the validator's released, trust updated).
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { network } from "hardhat";
import { keccak256, parseEventLogs, toHex, zeroAddress, type Address, type Hex } from "viem";
import { commitJob, jobId as poiJobId, revealJob, type JobCommitment } from "@infernet/sdk";
import { deploySystem } from "../deploy/system.ts";
import { DEFAULT_PARAMS, poiContractParams } from "../deploy/params.ts";
import { CONTAINER, nodeRegistration, subscriptionParams } from "../test/helpers/fixture.ts";
import { fakeTrajectory } from "../test/helpers/poi.ts";

const INPUT: Hex = `0x${"ab".repeat(32)}`;
const OUTPUT: Hex = `0x${"cd".repeat(32)}`;
const PRICE = DEFAULT_PARAMS.poi.maxPrice;
const T = 50;
const REVEAL_SAMPLES = 6;

export const POI_NOTES: Record<string, string> = {
  deliver_plain: "deliver, no verifier, paid maxPrice, EOA consumer (baseline for commit)",
  deliver_with_commit:
    "same deliver with the PoI verifier: commitment (root, T = 50, paramsHash) recorded, payment held",
  commit: "deliver_with_commit − deliver_plain: marginal gas of the commitment",
  reveal_k3_T50: `reveal, T = 50, k = 3: multiproof of the opened leaves (max of ${REVEAL_SAMPLES} jobs)`,
  reveal_k3_T50_min: `same, min of ${REVEAL_SAMPLES}`,
  reveal_k6_T50: `reveal, T = 50, k = 6 (max of ${REVEAL_SAMPLES} jobs)`,
  reveal_k6_T50_min: `same, min of ${REVEAL_SAMPLES}`,
  assign_validator: "draw and bond the validator (stake × trust weighted, miner's operator excluded)",
  verdict: "postVerdict (pass, quality 9,000) by the validator",
  settle:
    "finalize a passing job after the dispute window: pay 98 %, unlock 2 %, release bonds, record trust",
};

export async function measurePoiGas(): Promise<Record<string, number>> {
  const { viem, networkHelpers } = await network.create();
  const publicClient = await viem.getPublicClient();
  const [deployer, consumer, node1, node2] = await viem.getWalletClients();
  if (!deployer || !consumer || !node1 || !node2) throw new Error("not enough accounts");
  const deployment = await deploySystem({ wallet: deployer, publicClient });
  const { contracts } = deployment;
  const containers = await viem.getContractAt("ContainerRegistry", contracts.containerRegistry);
  const poi = await viem.getContractAt("ProofOfInference", contracts.proofOfInference);
  const randomness = await viem.getContractAt("BlockhashRandomness", contracts.randomness);
  const coordinator = await viem.getContractAt("Coordinator", contracts.coordinator);
  const asConsumer = await viem.getContractAt("Coordinator", contracts.coordinator, {
    client: { wallet: consumer },
  });
  const asNode1 = {
    coordinator: await viem.getContractAt("Coordinator", contracts.coordinator, {
      client: { wallet: node1 },
    }),
    poi: await viem.getContractAt("ProofOfInference", contracts.proofOfInference, {
      client: { wallet: node1 },
    }),
  };
  const validatorPoi = await viem.getContractAt("ProofOfInference", contracts.proofOfInference, {
    client: { wallet: node2 },
  });
  const chainId = await publicClient.getChainId();

  const receiptOf = async (key: string, tx: Promise<Hex>) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await tx });
    if (receipt.status !== "success") throw new Error(`${key}: transaction reverted`);
    return receipt;
  };
  const gas: Record<string, number> = {};
  const measure = async (key: string, tx: Promise<Hex>) => {
    const receipt = await receiptOf(key, tx);
    gas[key] = Number(receipt.gasUsed);
    return receipt;
  };

  await receiptOf("container", containers.write.registerContainer([CONTAINER, `0x${"00".repeat(32)}`]));
  const register = async (wallet: typeof node1) => {
    const registry = await viem.getContractAt("NodeRegistry", contracts.nodeRegistry, { client: { wallet } });
    const stake = 10n ** 19n; // 10 ETH: room for every job bond
    await receiptOf(
      "register",
      registry.write.register([nodeRegistration(wallet.account.address, stake)], { value: stake }),
    );
  };
  await register(node1);

  /** A one-shot paid subscription, requested; returns its id. */
  const request = async (verifier: Address): Promise<bigint> => {
    const id = (await coordinator.read.subscriptionCount()) + 1n;
    const params = subscriptionParams({ paymentAmount: PRICE, verifier });
    await receiptOf("request", asConsumer.write.requestCompute([params, PRICE], { value: PRICE }));
    return id;
  };
  const commitmentFor = (subscriptionId: bigint): JobCommitment =>
    commitJob({
      jobId: poiJobId({ chainId, coordinator: contracts.coordinator, subscriptionId, interval: 1 }),
      node: node1.account.address,
      steps: fakeTrajectory(T),
      finalLatentDigest: toHex(randomBytes(32)),
      outputHash: keccak256(OUTPUT),
      paramsHash: toHex(randomBytes(32)),
    });
  const setDepth = async (k: number) => {
    const p = poiContractParams(DEFAULT_PARAMS.poi, deployer.account.address);
    await receiptOf("setParams", poi.write.setParams([{ ...p, kMin: k, kMax: k }]));
  };

  // ---- requests, all assigned to node 1 (the only node yet)
  const warm = await request(zeroAddress);
  const plain = await request(zeroAddress);
  const jobs: { k: number; id: bigint }[] = [];
  for (const k of [3, 6])
    for (let i = 0; i < REVEAL_SAMPLES; i++) jobs.push({ k, id: await request(poi.address) });
  await networkHelpers.mine();
  for (const id of [warm, plain, ...jobs.map((j) => j.id)])
    await receiptOf("assign", coordinator.write.assign([id, 1]));

  // ---- deliveries: the plain baseline (after a warm-up payment), then the committing ones
  await receiptOf("warm-up", asNode1.coordinator.write.deliver([warm, 1, INPUT, OUTPUT, "0x"]));
  await measure("deliver_plain", asNode1.coordinator.write.deliver([plain, 1, INPUT, OUTPUT, "0x"]));
  const committed: { k: number; id: bigint; c: JobCommitment; round: number }[] = [];
  for (const k of [3, 6]) {
    await setDepth(k);
    for (const job of jobs.filter((j) => j.k === k)) {
      const c = commitmentFor(job.id);
      const receipt = await receiptOf(
        "deliver_with_commit",
        asNode1.coordinator.write.deliver([job.id, 1, INPUT, OUTPUT, c.deliveryProof]),
      );
      const [ev] = parseEventLogs({ abi: poi.abi, logs: receipt.logs, eventName: "Committed" });
      if (!ev || ev.args.k !== k) throw new Error(`expected audit depth ${k}`);
      if (gas.deliver_with_commit === undefined) gas.deliver_with_commit = Number(receipt.gasUsed);
      committed.push({ ...job, c, round: ev.args.round });
    }
  }
  gas.commit = gas.deliver_with_commit! - gas.deliver_plain!;

  // ---- reveals
  await networkHelpers.mine();
  const reveals: Record<number, number[]> = { 3: [], 6: [] };
  for (const job of committed) {
    const r = revealJob(job.c, await randomness.read.valueOf([BigInt(job.round)]), job.k);
    const ref = { subscriptionId: job.id, interval: 1, slot: 0 };
    const receipt = await receiptOf(
      "reveal",
      asNode1.poi.write.reveal([ref, r.commitment, r.openings, r.finalLatentDigest, r.proof]),
    );
    reveals[job.k]!.push(Number(receipt.gasUsed));
  }
  for (const k of [3, 6]) {
    gas[`reveal_k${k}_T50`] = Math.max(...reveals[k]!);
    gas[`reveal_k${k}_T50_min`] = Math.min(...reveals[k]!);
  }

  // ---- validator, verdict, settlement (the first k = 3 job)
  await register(node2);
  const ref = { subscriptionId: committed[0]!.id, interval: 1, slot: 0 };
  const assigned = await measure("assign_validator", poi.write.assignValidator([ref]));
  const [drawn] = parseEventLogs({ abi: poi.abi, logs: assigned.logs, eventName: "ValidatorAssigned" });
  if (!drawn || drawn.args.validator.toLowerCase() !== node2.account.address.toLowerCase())
    throw new Error("node 2 was not drawn");
  await measure("verdict", validatorPoi.write.postVerdict([ref, true, 0n, toHex(1, { size: 32 }), 9000]));
  await networkHelpers.time.increase(DEFAULT_PARAMS.poi.disputeWindow + 1);
  await measure("settle", poi.write.finalize([ref]));
  return gas;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const gas = await measurePoiGas();
  const fmt = (n: number) => n.toLocaleString("en-US");
  for (const [k, v] of Object.entries(gas))
    console.log(`${k.padEnd(22)} ${fmt(v).padStart(9)}  ${POI_NOTES[k] ?? ""}`);
}

/**
 * Proof-of-Inference under attack: every case ends in a named revert or in the slash the contracts specify, with
 * balances, credits and phases checked. Scenario helpers: test/helpers/poi.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  encodeAbiParameters,
  getAddress,
  keccak256,
  parseEventLogs,
  toHex,
  zeroAddress,
  type Address,
  type Hex,
} from "viem";
import { openedIndices, revealJob, splitFee, type JobCommitment, type Reveal } from "@infernet/sdk";
import { CONTAINER_ID, registerNode } from "./helpers/fixture.ts";
import {
  ETH,
  PRICE,
  Phase,
  SlotStatus,
  as,
  challengeValue,
  commitAndReveal,
  commitmentFor,
  deliverWithCommit,
  drawValidator,
  fakeTrajectory,
  poiWorld,
  postVerdict,
  requestPoiJob,
  requestPoiJobAssignedTo,
  requestRedundantPoiJob,
  revealArgs,
  revealFor,
  sendReveal,
  type PoiJob,
  type PoiWorld,
} from "./helpers/poi.ts";

const STAKE = 2_000_000_000_000_000_000n; // registerNode's default
const BPS = 10_000n;
const NEUTRAL = 10_000n;

/** Flips the last byte of a 32-byte value. */
function corrupt(h: Hex): Hex {
  const last = parseInt(h.slice(-2), 16) ^ 0xff;
  return `${h.slice(0, -2)}${last.toString(16).padStart(2, "0")}` as Hex;
}

async function keyOf(w: PoiWorld, job: PoiJob): Promise<Hex> {
  return w.f.poi.read.jobKey([job.ref]);
}

async function phaseOf(w: PoiWorld, job: PoiJob): Promise<number> {
  return (await w.f.poi.read.getJob([job.ref])).phase;
}

async function slotStatus(w: PoiWorld, job: PoiJob): Promise<number> {
  const [, , slots] = await w.f.coordinator.read.getInterval([job.subscriptionId, job.interval]);
  return slots[job.slot]!.status;
}

async function stakeOf(w: PoiWorld, node: Address) {
  const [info] = await w.f.nodeRegistry.read.getNode([node]);
  return { staked: info.staked, bonded: info.bonded };
}

/** What a slash for fraud pays out of the job bond (ProofOfInference._settle). */
function fraudSplit(w: PoiWorld) {
  const bond = w.f.params.jobBond;
  const toRequester = (bond * BigInt(w.f.params.poi.requesterShareBps)) / BPS;
  const toChallenger = (bond * BigInt(w.f.params.poi.challengerShareBps)) / BPS;
  return { bond, toRequester, toChallenger, burned: bond - toRequester - toChallenger };
}

/** Balances every fraud case checks, read before and after. */
async function ledger(w: PoiWorld, job: PoiJob, challenger: Address) {
  const { f } = w;
  const consumer = f.wallets[1]!.account.address;
  const [escrowBalance, escrowLocked] = await f.coordinator.read.escrowOf([job.subscriptionId]);
  return {
    requesterCredit: await f.nodeRegistry.read.credits([consumer]),
    challengerCredit: await f.nodeRegistry.read.credits([challenger]),
    burned: await f.nodeRegistry.read.totalBurned(),
    node: await stakeOf(w, job.provider),
    escrowBalance,
    escrowLocked,
  };
}

/**
 * The fraud outcome of ProofOfInference._settle: the bond split (requester, challenger, burn), the requester's payment
 * unlocked in escrow and withdrawable, the slot Refunded, the job Slashed and the node's trust below neutral.
 */
async function assertFraudSettled(
  w: PoiWorld,
  job: PoiJob,
  challenger: Address,
  before: Awaited<ReturnType<typeof ledger>>,
  extra: { challenger: bigint; burned: bigint } = { challenger: 0n, burned: 0n },
) {
  const { f } = w;
  const split = fraudSplit(w);
  const after = await ledger(w, job, challenger);
  assert.equal(after.requesterCredit - before.requesterCredit, split.toRequester, "requester share credited");
  assert.equal(
    after.challengerCredit - before.challengerCredit,
    split.toChallenger + extra.challenger,
    "challenger share",
  );
  assert.equal(after.burned - before.burned, split.burned + extra.burned, "rest burned");
  assert.equal(
    before.node.staked - after.node.staked,
    split.bond,
    "the whole job bond leaves the node's stake",
  );
  assert.equal(before.node.bonded - after.node.bonded, split.bond, "and its bond is released");
  assert.equal(after.escrowBalance, before.escrowBalance, "the payment stays with the subscription");
  assert.equal(before.escrowLocked - after.escrowLocked, PRICE, "…unlocked");
  assert.equal(await phaseOf(w, job), Phase.Slashed);
  assert.equal(await slotStatus(w, job), SlotStatus.Refunded);
  assert.ok((await f.trustModel.read.trustBps([job.provider])) < NEUTRAL, "trust below neutral after fraud");
}

/** The requester takes its refunded payment back (withdrawFunds → Coordinator credit → withdraw). */
async function assertRefundWithdrawable(w: PoiWorld, job: PoiJob) {
  const { f } = w;
  const consumer = f.wallets[1]!.account.address;
  const asConsumer = await as(f, consumer);
  const creditBefore = await f.coordinator.read.credits([ETH, consumer]);
  await asConsumer.coordinator.write.withdrawFunds([job.subscriptionId, PRICE]);
  assert.equal((await f.coordinator.read.credits([ETH, consumer])) - creditBefore, PRICE);
  const [balance, locked] = await f.coordinator.read.escrowOf([job.subscriptionId]);
  assert.equal(locked, 0n);
  assert.equal(balance, 0n);
  const ethBefore = await f.publicClient.getBalance({ address: consumer });
  const hash = await asConsumer.coordinator.write.withdraw([ETH]);
  const r = await f.publicClient.waitForTransactionReceipt({ hash });
  const ethAfter = await f.publicClient.getBalance({ address: consumer });
  assert.equal(ethAfter - ethBefore + r.gasUsed * r.effectiveGasPrice, creditBefore + PRICE);
}

/** The requester's NodeRegistry credit (its share of the slashed bond) is real ETH. */
async function assertCreditWithdrawable(w: PoiWorld, account: Address) {
  const { f } = w;
  const credit = await f.nodeRegistry.read.credits([account]);
  assert.ok(credit > 0n);
  const ethBefore = await f.publicClient.getBalance({ address: account });
  const hash = await (await as(f, account)).registry.write.withdrawCredits();
  const r = await f.publicClient.waitForTransactionReceipt({ hash });
  const ethAfter = await f.publicClient.getBalance({ address: account });
  assert.equal(ethAfter - ethBefore + r.gasUsed * r.effectiveGasPrice, credit);
  assert.equal(await f.nodeRegistry.read.credits([account]), 0n);
}

/**
 * A reveal of `c`'s tree built for the challenge of (jobId, node) — what a node holding someone else's tree would
 * send: the openings sit at the right indices, but their leaves were hashed for the other job or node.
 */
function foreignReveal(
  c: JobCommitment,
  jobId: Hex,
  node: Address,
  outputHash: Hex,
  randomness: Hex,
  k: number,
): Reveal {
  const hybrid: JobCommitment = { ...c, input: { ...c.input, jobId, node, outputHash } };
  return revealJob(hybrid, randomness, k);
}

/** The WrongOpening position the contract reports for `openings` against the true opened set. */
function wrongOpeningPosition(expected: number[], T: number, openings: readonly { index: number }[]): bigint {
  const steps = expected.filter((i) => i < T);
  if (openings.length !== steps.length) return BigInt(openings.length);
  const i = steps.findIndex((s, j) => openings[j]!.index !== s);
  assert.ok(i >= 0, "the openings differ from the challenge");
  return BigInt(i);
}

// ------------------------------------------------------------------------------------------------------------------

describe("PoI adversarial: invalid reveals", () => {
  it("a corrupted proof element, opening digest or final latent digest → InvalidProof; the honest reveal still passes", async () => {
    const w = await poiWorld(2);
    const { f } = w;
    const job = await requestPoiJob(w);
    const c = commitmentFor(job, fakeTrajectory(50));
    const { k, round } = await deliverWithCommit(w, job, c);
    await f.networkHelpers.mine();
    const r = revealJob(c, await challengeValue(w, round), k);
    const key = await keyOf(w, job);
    const node = await as(f, job.provider);
    const proof = r.proof;
    assert.ok(proof.length >= 2);
    const cases: Reveal[] = [
      { ...r, proof: [corrupt(proof[0]!), ...proof.slice(1)] },
      { ...r, proof: [...proof.slice(0, -1), corrupt(proof.at(-1)!)] },
      {
        ...r,
        openings: r.openings.map((o, i) => (i === 0 ? { ...o, noiseDigest: corrupt(o.noiseDigest) } : o)),
      },
      {
        ...r,
        openings: r.openings.map((o, i) => (i === 1 ? { ...o, latentDigest: corrupt(o.latentDigest) } : o)),
      },
      { ...r, openings: r.openings.map((o, i) => (i === 2 ? { ...o, timestep: o.timestep + 1 } : o)) },
      { ...r, finalLatentDigest: corrupt(r.finalLatentDigest) },
      { ...r, proof: proof.slice(0, -1) }, // a missing sibling
      { ...r, proof: [...proof, proof[0]!] }, // a spare sibling
    ];
    for (const bad of cases) {
      await f.viem.assertions.revertWithCustomErrorWithArgs(
        node.poi.write.reveal([job.ref, ...revealArgs(bad)]),
        f.poi,
        "InvalidProof",
        [key],
      );
    }
    // A commitment preimage other than the committed one, or a reveal by anyone but the node.
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      node.poi.write.reveal([
        job.ref,
        ...revealArgs({
          ...r,
          commitment: { ...r.commitment, paramsHash: corrupt(r.commitment.paramsHash) },
        }),
      ]),
      f.poi,
      "CommitmentMismatch",
      [key],
    );
    const other = w.nodes.find((n) => getAddress(n) !== getAddress(job.provider))!;
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await as(f, other)).poi.write.reveal([job.ref, ...revealArgs(r)]),
      f.poi,
      "NotJobNode",
      [key, getAddress(other)],
    );
    assert.equal(await phaseOf(w, job), Phase.Committed, "failed reveals change nothing");

    await sendReveal(w, job, r);
    assert.equal(await phaseOf(w, job), Phase.Revealed);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      node.poi.write.reveal([job.ref, ...revealArgs(r)]),
      f.poi,
      "WrongPhase",
      [key, Phase.Revealed],
    );
  });

  it("openings at other indices than the challenge, one missing or one extra → WrongOpening(position)", async () => {
    const w = await poiWorld(2);
    const { f } = w;
    const job = await requestPoiJob(w);
    const T = 50;
    const c = commitmentFor(job, fakeTrajectory(T));
    const { k, round } = await deliverWithCommit(w, job, c);
    await f.networkHelpers.mine();
    const R = await challengeValue(w, round);
    const r = revealJob(c, R, k);
    const expected = openedIndices(r.challenged, T);
    const key = await keyOf(w, job);
    const node = await as(f, job.provider);
    const n = r.openings.length;
    const send = (bad: Reveal) => node.poi.write.reveal([job.ref, ...revealArgs(bad)]);

    // One opening moved to an index that is not challenged (leaf 0 is always opened first, so move the second).
    const taken = new Set(expected);
    const free = Array.from({ length: T }, (_, i) => i).find((i) => !taken.has(i))!;
    const moved = r.openings.map((o, i) => (i === 1 ? { ...c.input.steps[free]!, index: free } : o));
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      send({ ...r, openings: moved }),
      f.poi,
      "WrongOpening",
      [key, 1n],
    );
    // Missing one, or one extra (a duplicate of the last).
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      send({ ...r, openings: r.openings.slice(0, -1) }),
      f.poi,
      "WrongOpening",
      [key, BigInt(n - 1)],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      send({ ...r, openings: [...r.openings, r.openings.at(-1)!] }),
      f.poi,
      "WrongOpening",
      [key, BigInt(n + 1)],
    );
    // Openings for another challenge: a guessed randomness value, or a lower audit depth than the recorded k.
    let guessed: Reveal | undefined;
    for (let salt = 0; !guessed; salt++) {
      const g = revealJob(c, keccak256(toHex(`guess-${salt}`)), k);
      if (g.challenged.join() !== r.challenged.join()) guessed = g;
    }
    await f.viem.assertions.revertWithCustomErrorWithArgs(send(guessed), f.poi, "WrongOpening", [
      key,
      wrongOpeningPosition(expected, T, guessed.openings),
    ]);
    const shallow = revealJob(c, R, k - 1);
    await f.viem.assertions.revertWithCustomErrorWithArgs(send(shallow), f.poi, "WrongOpening", [
      key,
      wrongOpeningPosition(expected, T, shallow.openings),
    ]);

    assert.equal(await phaseOf(w, job), Phase.Committed);
    await sendReveal(w, job, r);
    assert.equal(await phaseOf(w, job), Phase.Revealed);
  });
});

describe("PoI adversarial: commitments reused across jobs and nodes", () => {
  it("job A's delivery and tree replayed for job B by the same node cannot be opened; slashUnrevealed then splits the bond", async () => {
    const w = await poiWorld(1); // one node: both jobs (and the next one) go to it
    const { f } = w;
    const [node] = w.nodes as [Address];
    const consumer = f.wallets[1]!.account.address;
    const keeper = f.wallets[9]!.account.address; // not a node: anyone may enforce the reveal rule
    const T = 50;

    const jobA = await requestPoiJob(w);
    const cA = commitmentFor(jobA, fakeTrajectory(T));
    const a = await deliverWithCommit(w, jobA, cA);
    // Job B: the same output and the same commitment (root, T, paramsHash) as job A.
    const jobB = { ...(await requestPoiJob(w)), output: jobA.output };
    assert.equal(getAddress(jobB.provider), getAddress(node));
    const b = await deliverWithCommit(w, jobB, cA);
    assert.equal(b.k, a.k);
    await f.networkHelpers.mine();
    const keyB = await keyOf(w, jobB);
    const asNode = await as(f, node);

    // (1) Job A's own reveal sent verbatim for job B: B's challenge differs (jobId and round), so the openings
    // sit at the wrong indices (or, if every index coincided, hash to leaves of A, not of B).
    const revealA = revealJob(cA, await challengeValue(w, a.round), a.k);
    const RB = await challengeValue(w, b.round);
    // A's tree opened at B's challenged indices (B's jobId, same node, root A): what the node would have to send.
    const rebuilt = foreignReveal(cA, jobB.jobId, node, cA.input.outputHash, RB, b.k);
    const expectedB = openedIndices(rebuilt.challenged, T);
    const sameIndices = expectedB.filter((i) => i < T).join() === revealA.openings.map((o) => o.index).join();
    const replay = asNode.poi.write.reveal([jobB.ref, ...revealArgs(revealA)]);
    if (sameIndices)
      await f.viem.assertions.revertWithCustomErrorWithArgs(replay, f.poi, "InvalidProof", [keyB]);
    else {
      await f.viem.assertions.revertWithCustomErrorWithArgs(replay, f.poi, "WrongOpening", [
        keyB,
        wrongOpeningPosition(expectedB, T, revealA.openings),
      ]);
    }
    // (2) That rebuilt reveal: the indices are right, but the leaves bind the jobId, so the multiproof fails.
    assert.deepEqual(
      rebuilt.openings.map((o) => o.index),
      expectedB.filter((i) => i < T),
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asNode.poi.write.reveal([jobB.ref, ...revealArgs(rebuilt)]),
      f.poi,
      "InvalidProof",
      [keyB],
    );
    // Job A itself opens fine with the same tree.
    await sendReveal(w, jobA, revealA);
    assert.equal(await phaseOf(w, jobA), Phase.Revealed);

    // No reveal for B: slashable only once the reveal window closed.
    const committedAt = BigInt((await f.poi.read.getJob([jobB.ref])).committedAt);
    const closes = committedAt + BigInt(f.params.poi.revealWindow);
    const asKeeper = await as(f, keeper);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asKeeper.poi.write.slashUnrevealed([jobB.ref]),
      f.poi,
      "RevealWindowOpen",
      [keyB, closes],
    );
    const trustBefore = await f.trustModel.read.trustBps([node]);
    const depthBefore = await f.trustModel.read.auditDepth([
      node,
      BigInt(f.params.poi.kMin),
      BigInt(f.params.poi.kMax),
    ]);
    assert.equal(trustBefore, NEUTRAL);
    await f.networkHelpers.time.increase(f.params.poi.revealWindow + 1);
    const before = await ledger(w, jobB, keeper);
    const split = fraudSplit(w);
    await f.viem.assertions.emitWithArgs(
      asKeeper.poi.write.slashUnrevealed([jobB.ref]),
      f.poi,
      "FraudSlashed",
      [keyB, getAddress(node), split.toRequester, split.toChallenger, split.burned],
    );
    await assertFraudSettled(w, jobB, keeper, before);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asKeeper.poi.write.slashUnrevealed([jobB.ref]),
      f.poi,
      "WrongPhase",
      [keyB, Phase.Slashed],
    );
    await assertRefundWithdrawable(w, jobB);
    await assertCreditWithdrawable(w, consumer);
    await assertCreditWithdrawable(w, keeper);

    // The next job of this node is audited deeper.
    const depthAfter = await f.trustModel.read.auditDepth([
      node,
      BigInt(f.params.poi.kMin),
      BigInt(f.params.poi.kMax),
    ]);
    assert.ok(depthAfter > depthBefore, `audit depth ${depthBefore} → ${depthAfter}`);
    const jobC = await requestPoiJob(w);
    const cC = await deliverWithCommit(w, jobC, commitmentFor(jobC, fakeTrajectory(T)));
    assert.equal(BigInt(cC.k), depthAfter);
    assert.ok(cC.k > a.k);
  });

  it("a root copied by a different node does not verify for it (leaves bind the node)", async () => {
    const w = await poiWorld(3);
    const { f } = w;
    const T = 40;
    const jobA = await requestPoiJob(w);
    const cA = commitmentFor(jobA, fakeTrajectory(T));
    await deliverWithCommit(w, jobA, cA);
    const copier = w.nodes.find((n) => getAddress(n) !== getAddress(jobA.provider))!;
    // Job B goes to another node, which delivers A's output with A's commitment (both public once A delivered).
    const jobB = { ...(await requestPoiJobAssignedTo(w, copier)), output: jobA.output };
    const b = await deliverWithCommit(w, jobB, cA);
    await f.networkHelpers.mine();
    const RB = await challengeValue(w, b.round);
    const keyB = await keyOf(w, jobB);
    const asCopier = await as(f, copier);
    // Rebuilt for job B and the copier's challenge, the openings are at the right indices; the leaves are A's.
    const rebuilt = foreignReveal(cA, jobB.jobId, copier, cA.input.outputHash, RB, b.k);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asCopier.poi.write.reveal([jobB.ref, ...revealArgs(rebuilt)]),
      f.poi,
      "InvalidProof",
      [keyB],
    );
    assert.equal(await phaseOf(w, jobB), Phase.Committed);

    await f.networkHelpers.time.increase(f.params.poi.revealWindow + 1);
    const before = await ledger(w, jobB, jobA.provider);
    const asFirst = await as(f, jobA.provider); // the original node enforces it and takes the challenger share
    await asFirst.poi.write.slashUnrevealed([jobB.ref]);
    await assertFraudSettled(w, jobB, jobA.provider, before);
    assert.equal(
      await f.trustModel.read.trustBps([jobA.provider]),
      NEUTRAL,
      "the copied node is not affected",
    );
    assert.equal(await phaseOf(w, jobA), Phase.Committed);
  });

  it("two nodes assigned to the same interval (redundancy 2) cannot use each other's commitment", async () => {
    const w = await poiWorld(3);
    const { f } = w;
    const T = 30;
    const [first, second] = (await requestRedundantPoiJob(w, 2)) as [PoiJob, PoiJob];
    assert.notEqual(getAddress(first.provider), getAddress(second.provider));
    assert.equal(first.jobId, second.jobId, "one interval, one jobId");
    const [, lockedBefore] = await f.coordinator.read.escrowOf([first.subscriptionId]);
    assert.equal(lockedBefore, 2n * PRICE);

    const c0 = commitmentFor(first, fakeTrajectory(T));
    const d0 = await deliverWithCommit(w, first, c0);
    // The second node delivers the same output with the first node's commitment, copied from its Committed event.
    const d1 = await deliverWithCommit(w, second, c0);
    const [, , slots] = await f.coordinator.read.getInterval([first.subscriptionId, 1]);
    assert.deepEqual(
      slots.map((s) => s.status),
      [SlotStatus.Held, SlotStatus.Held],
    );
    await f.networkHelpers.mine();
    const key1 = await keyOf(w, second);
    const rebuilt = foreignReveal(
      c0,
      second.jobId,
      second.provider,
      c0.input.outputHash,
      await challengeValue(w, d1.round),
      d1.k,
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await as(f, second.provider)).poi.write.reveal([second.ref, ...revealArgs(rebuilt)]),
      f.poi,
      "InvalidProof",
      [key1],
    );
    // The first node's own reveal of the same tree passes.
    await sendReveal(w, first, revealJob(c0, await challengeValue(w, d0.round), d0.k));
    assert.equal(await phaseOf(w, first), Phase.Revealed);

    await f.networkHelpers.time.increase(f.params.poi.revealWindow + 1);
    const keeper = f.wallets[9]!.account.address;
    const asKeeper = await as(f, keeper);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asKeeper.poi.write.slashUnrevealed([first.ref]),
      f.poi,
      "WrongPhase",
      [await keyOf(w, first), Phase.Revealed],
    );
    const before = await ledger(w, second, keeper);
    await asKeeper.poi.write.slashUnrevealed([second.ref]);
    await assertFraudSettled(w, second, keeper, before);
    const [, , after] = await f.coordinator.read.getInterval([first.subscriptionId, 1]);
    assert.deepEqual(
      after.map((s) => s.status),
      [SlotStatus.Held, SlotStatus.Refunded],
    );
    const [, lockedAfter] = await f.coordinator.read.escrowOf([first.subscriptionId]);
    assert.equal(lockedAfter, PRICE, "only the honest slot's payment stays locked");
    assert.equal(await f.trustModel.read.trustBps([first.provider]), NEUTRAL);
  });
});

describe("PoI adversarial: commit and reveal timing", () => {
  it("a node that was not assigned cannot commit (Coordinator NotAssigned)", async () => {
    const w = await poiWorld(3);
    const { f } = w;
    const job = await requestPoiJob(w);
    const intruder = w.nodes.find((n) => getAddress(n) !== getAddress(job.provider))!;
    const c = commitmentFor(job, fakeTrajectory(20), intruder);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await as(f, intruder)).coordinator.write.deliver([
        job.subscriptionId,
        1,
        "0x",
        job.output,
        c.deliveryProof,
      ]),
      f.coordinator,
      "NotAssigned",
      [job.subscriptionId, 1, getAddress(intruder)],
    );
    assert.equal(await phaseOf(w, job), Phase.None);
    assert.equal((await stakeOf(w, intruder)).bonded, 0n);
  });

  it("a reveal in the commit's own block → ChallengeNotReady; the next block it passes", async () => {
    const w = await poiWorld(2);
    const { f } = w;
    const job = await requestPoiJob(w);
    const c = commitmentFor(job, fakeTrajectory(20));
    const node = await as(f, job.provider);
    const key = await keyOf(w, job);
    const r0: Reveal = {
      challenged: [],
      commitment: { root: c.root, outputHash: c.input.outputHash, paramsHash: c.input.paramsHash },
      openings: [],
      finalLatentDigest: c.input.finalLatentDigest,
      proof: [],
    };
    await f.publicClient.request({ method: "evm_setAutomine", params: [false] } as never);
    try {
      await node.coordinator.write.deliver([job.subscriptionId, 1, "0x", job.output, c.deliveryProof], {
        gas: 2_000_000n,
      });
      // In the pending block (the one that includes the commit) the challenge round is not readable yet.
      const commitBlock = (await f.publicClient.getBlockNumber()) + 1n;
      await f.viem.assertions.revertWithCustomErrorWithArgs(
        node.poi.simulate.reveal([job.ref, ...revealArgs(r0)], {
          account: job.provider,
          blockTag: "pending",
        } as never),
        f.poi,
        "ChallengeNotReady",
        [key, commitBlock],
      );
    } finally {
      await f.networkHelpers.mine();
      await f.publicClient.request({ method: "evm_setAutomine", params: [true] } as never);
    }
    const committed = await f.poi.read.getJob([job.ref]);
    assert.equal(committed.phase, Phase.Committed);
    await revealFor(w, job, c, committed.k, committed.round);
    assert.equal(await phaseOf(w, job), Phase.Revealed);
  });

  it("a reveal after the window → RevealWindowClosed", async () => {
    const w = await poiWorld(2);
    const { f } = w;
    const job = await requestPoiJob(w);
    const c = commitmentFor(job, fakeTrajectory(20));
    const { k, round } = await deliverWithCommit(w, job, c);
    await f.networkHelpers.mine();
    const r = revealJob(c, await challengeValue(w, round), k); // computed in time, sent too late
    const { committedAt } = await f.poi.read.getJob([job.ref]);
    await f.networkHelpers.time.increase(f.params.poi.revealWindow + 1);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await as(f, job.provider)).poi.write.reveal([job.ref, ...revealArgs(r)]),
      f.poi,
      "RevealWindowClosed",
      [await keyOf(w, job), BigInt(committedAt + f.params.poi.revealWindow)],
    );
    assert.equal(await phaseOf(w, job), Phase.Committed);
  });

  it("no reveal: RevealWindowOpen until the window closes, then slashUnrevealed splits the bond and refunds the slot", async () => {
    const w = await poiWorld(2);
    const { f } = w;
    const job = await requestPoiJob(w);
    await deliverWithCommit(w, job, commitmentFor(job, fakeTrajectory(20)));
    const key = await keyOf(w, job);
    const caller = w.nodes.find((n) => getAddress(n) !== getAddress(job.provider))!;
    const asCaller = await as(f, caller);
    const { committedAt } = await f.poi.read.getJob([job.ref]);
    const closes = BigInt(committedAt + f.params.poi.revealWindow);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asCaller.poi.write.slashUnrevealed([job.ref]),
      f.poi,
      "RevealWindowOpen",
      [key, closes],
    );
    await f.networkHelpers.time.setNextBlockTimestamp(closes); // at `closes` itself the window is still open
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asCaller.poi.write.slashUnrevealed([job.ref]),
      f.poi,
      "RevealWindowOpen",
      [key, closes],
    );
    await f.networkHelpers.mine(); // the block at `closes`; the next one is past the window
    const before = await ledger(w, job, caller);
    await asCaller.poi.write.slashUnrevealed([job.ref]);
    await assertFraudSettled(w, job, caller, before);
    assert.equal(await f.coordinator.read.credits([ETH, job.provider]), 0n, "the node is not paid");
    await assertRefundWithdrawable(w, job);
  });
});

describe("PoI adversarial: validators", () => {
  it("a node of the miner's own operator is never drawn to judge it and cannot post a verdict", async () => {
    const w = await poiWorld(1);
    const { f } = w;
    const operatorIndex = 2; // wallet 2 operates node 0 …
    const sibling = f.wallets[10]!.account.address; // … and now a second node
    await registerNode(f, operatorIndex, sibling);
    const job = await requestPoiJob(w);
    const other = getAddress(job.provider) === getAddress(sibling) ? w.nodes[0]! : sibling;
    assert.equal(
      await f.nodeRegistry.read.operatorOf([other]),
      await f.nodeRegistry.read.operatorOf([job.provider]),
    );
    await commitAndReveal(w, job);
    const key = await keyOf(w, job);

    assert.ok(
      await f.nodeRegistry.read.isEligible([other, CONTAINER_ID, f.params.poi.validatorBond]),
      "eligible but for its operator",
    );
    const hash = await f.poi.write.assignValidator([job.ref]);
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
    assert.equal(
      parseEventLogs({ abi: f.poi.abi, logs: receipt.logs, eventName: "ValidatorAssigned" }).length,
      0,
    );
    const j = await f.poi.read.getJob([job.ref]);
    assert.equal(j.validator, zeroAddress);
    assert.equal(j.phase, Phase.Revealed);
    assert.equal((await stakeOf(w, other)).bonded, 0n, "nothing bonded from the sibling");
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await as(f, other)).poi.write.postVerdict([job.ref, true, 0n, toHex(1, { size: 32 }), 9000]),
      f.poi,
      "NotValidator",
      [key, getAddress(other)],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.poi.write.verdictTimeout([job.ref]),
      f.poi,
      "NoValidatorAssigned",
      [key],
    );

    // A node of another operator is drawn as soon as it exists.
    const outsider = f.wallets[3]!.account.address;
    await registerNode(f, 3, outsider);
    assert.equal(getAddress(await drawValidator(w, job)), getAddress(outsider));
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.poi.write.assignValidator([job.ref]),
      f.poi,
      "ValidatorAlreadyAssigned",
      [key],
    );
  });

  it("verdict timeout: VerdictWindowOpen before; then the silent validator pays validatorPenalty to the treasury and another is drawn", async () => {
    const w = await poiWorld(3); // provider + two possible validators
    const { f } = w;
    const job = await requestPoiJob(w);
    await commitAndReveal(w, job);
    const key = await keyOf(w, job);
    const silent = await drawValidator(w, job);
    const { deadline } = await f.poi.read.getJob([job.ref]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.poi.write.verdictTimeout([job.ref]),
      f.poi,
      "VerdictWindowOpen",
      [key, BigInt(deadline)],
    );
    assert.equal((await stakeOf(w, silent)).bonded, f.params.poi.validatorBond);
    await f.networkHelpers.time.increase(f.params.poi.verdictWindow + 1);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await as(f, silent)).poi.write.postVerdict([job.ref, true, 0n, toHex(1, { size: 32 }), 9000]),
      f.poi,
      "VerdictWindowClosed",
      [key, BigInt(deadline)],
    );

    const treasury = f.wallets[0]!.account.address;
    const treasuryBefore = await f.nodeRegistry.read.credits([treasury]);
    const silentBefore = await stakeOf(w, silent);
    const penalty = f.params.poi.validatorPenalty;
    const hash = await f.poi.write.verdictTimeout([job.ref]);
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
    const [timedOut] = parseEventLogs({ abi: f.poi.abi, logs: receipt.logs, eventName: "VerdictTimedOut" });
    assert.deepEqual(timedOut!.args, { key, validator: getAddress(silent), penalty });
    assert.equal((await f.nodeRegistry.read.credits([treasury])) - treasuryBefore, penalty);
    const silentAfter = await stakeOf(w, silent);
    assert.equal(silentBefore.staked - silentAfter.staked, penalty);
    assert.equal(silentAfter.bonded, 0n, "the rest of its validator bond is released");
    // Trust records the timeout: a = 0.95, b = 0.95 + 1 (in 1e4) → 2 · 9,500 / 29,000.
    assert.equal(await f.trustModel.read.trustBps([silent]), (2n * NEUTRAL * 9_500n) / 29_000n);

    // The replacement is the other candidate (the silent validator is excluded from the redraw).
    const [assigned] = parseEventLogs({ abi: f.poi.abi, logs: receipt.logs, eventName: "ValidatorAssigned" });
    assert.ok(assigned, "another validator was drawn");
    const replacement = assigned.args.validator;
    assert.notEqual(getAddress(replacement), getAddress(silent));
    assert.notEqual(getAddress(replacement), getAddress(job.provider));
    const j = await f.poi.read.getJob([job.ref]);
    assert.equal(getAddress(j.validator), getAddress(replacement));
    assert.equal(j.attempts, 1);
    assert.ok(j.deadline > deadline);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await as(f, silent)).poi.write.postVerdict([job.ref, true, 0n, toHex(1, { size: 32 }), 9000]),
      f.poi,
      "NotValidator",
      [key, getAddress(silent)],
    );
    await postVerdict(w, job, replacement, true);
    await f.networkHelpers.time.increase(f.params.poi.disputeWindow + 1);
    await f.poi.write.finalize([job.ref]);
    assert.equal(await phaseOf(w, job), Phase.Paid);
    assert.equal((await stakeOf(w, replacement)).bonded, 0n);
  });

  it("verdict timeout with no other eligible validator: the silent one is not drawn again", async () => {
    const w = await poiWorld(2);
    const { f } = w;
    const job = await requestPoiJob(w);
    await commitAndReveal(w, job);
    const silent = await drawValidator(w, job);
    await f.networkHelpers.time.increase(f.params.poi.verdictWindow + 1);
    const hash = await f.poi.write.verdictTimeout([job.ref]);
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
    assert.equal(
      parseEventLogs({ abi: f.poi.abi, logs: receipt.logs, eventName: "ValidatorAssigned" }).length,
      0,
    );
    assert.equal((await f.poi.read.getJob([job.ref])).validator, zeroAddress);
    assert.ok(
      await f.nodeRegistry.read.isEligible([silent, CONTAINER_ID, f.params.poi.validatorBond]),
      "it would be eligible",
    );
    // Once a keeper asks again (a later block), any eligible node may be drawn, the penalised one included.
    assert.equal(getAddress(await drawValidator(w, job)), getAddress(silent));
  });
});

describe("PoI adversarial: disputes", () => {
  /** Provider, validator, disputer and the 3-node committee are six nodes of six operators. */
  async function judged(pass: boolean, disputerIsProvider = false) {
    const w = await poiWorld(6);
    const { f } = w;
    const job = await requestPoiJob(w);
    await commitAndReveal(w, job);
    const validator = await drawValidator(w, job);
    await postVerdict(w, job, validator, pass);
    const disputer = disputerIsProvider
      ? job.provider
      : w.nodes.find((n) => ![job.provider, validator].map((a) => getAddress(a)).includes(getAddress(n)))!;
    const key = await keyOf(w, job);
    return { w, f, job, validator, disputer, key };
  }

  async function disputeAndDraw(w: PoiWorld, job: PoiJob, disputer: Address, validator: Address) {
    const { f } = w;
    await (await as(f, disputer)).poi.write.dispute([job.ref]);
    assert.equal(await phaseOf(w, job), Phase.Disputed);
    const disputerStake = await stakeOf(w, disputer);
    assert.ok(disputerStake.bonded >= f.params.poi.disputeBond, "the dispute bond is locked");
    await f.poi.write.assignCommittee([job.ref]);
    const members = [...(await f.poi.read.committeeOf([job.ref]))];
    assert.equal(members.length, f.params.poi.committeeSize);
    const providerOperator = await f.nodeRegistry.read.operatorOf([job.provider]);
    for (const m of members) {
      assert.ok(![job.provider, validator, disputer].map((a) => getAddress(a)).includes(getAddress(m)));
      assert.notEqual(await f.nodeRegistry.read.operatorOf([m]), providerOperator);
      assert.equal((await stakeOf(w, m)).bonded, f.params.poi.validatorBond);
    }
    return members;
  }

  async function voteAll(w: PoiWorld, job: PoiJob, members: Address[], pass: boolean) {
    for (const m of members) await (await as(w.f, m)).poi.write.vote([job.ref, pass]);
  }

  it("a dispute no committee can be drawn for: CommitteeNotAssigned until the committee window ends, then the verdict stands and nobody is slashed", async () => {
    // Three nodes: provider, validator and disputer, all excluded from the committee, so nobody can be drawn.
    const w = await poiWorld(3);
    const { f } = w;
    const job = await requestPoiJob(w);
    await commitAndReveal(w, job);
    const validator = await drawValidator(w, job);
    await postVerdict(w, job, validator, true);
    const disputer = w.nodes.find(
      (n) => ![job.provider, validator].map((a) => getAddress(a)).includes(getAddress(n)),
    )!;
    await (await as(f, disputer)).poi.write.dispute([job.ref]);
    const key = await keyOf(w, job);
    await f.networkHelpers.mine();
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.poi.write.assignCommittee([job.ref]),
      f.poi,
      "CommitteeNotAssigned",
      [key],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.poi.write.resolveDispute([job.ref]),
      f.poi,
      "CommitteeNotAssigned",
      [key],
    );
    await f.networkHelpers.time.increase(f.params.poi.committeeWindow + 1);
    const burned = await f.nodeRegistry.read.totalBurned();
    const hash = f.poi.write.resolveDispute([job.ref]);
    await f.viem.assertions.emitWithArgs(hash, f.poi, "DisputeResolved", [key, true, true, 0n, 0n]);
    assert.equal(await phaseOf(w, job), Phase.Paid);
    assert.equal((await stakeOf(w, disputer)).bonded, 0n, "the dispute bond is released, not slashed");
    assert.equal(await f.nodeRegistry.read.totalBurned(), burned);
    assert.equal(await f.coordinator.read.credits([ETH, job.provider]), splitFee(PRICE, f.params.feeBps).net);
  });

  it("false dispute of an honest pass: the committee upholds it, the disputer's bond goes half to the validator, half burned; node paid", async () => {
    const { w, f, job, validator, disputer, key } = await judged(true);
    const members = await disputeAndDraw(w, job, disputer, validator);
    const outsider = f.wallets[9]!.account.address;
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await as(f, outsider)).poi.write.vote([job.ref, false]),
      f.poi,
      "NotCommitteeMember",
      [key, getAddress(outsider)],
    );
    await (await as(f, members[0]!)).poi.write.vote([job.ref, true]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await as(f, members[0]!)).poi.write.vote([job.ref, true]),
      f.poi,
      "AlreadyVoted",
      [key, getAddress(members[0]!)],
    );
    const { disputeDeadline } = await f.poi.read.getJob([job.ref]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.poi.write.resolveDispute([job.ref]),
      f.poi,
      "CommitteeStillVoting",
      [key, BigInt(disputeDeadline)],
    );
    await voteAll(w, job, members.slice(1), true);

    const validatorCredit = await f.nodeRegistry.read.credits([validator]);
    const burned = await f.nodeRegistry.read.totalBurned();
    const disputerBefore = await stakeOf(w, disputer);
    const half = f.params.poi.disputeBond / 2n;
    const settle = f.poi.write.resolveDispute([job.ref]);
    await f.viem.assertions.emitWithArgs(settle, f.poi, "DisputeResolved", [key, true, true, 3n, 0n]);
    assert.equal((await f.nodeRegistry.read.credits([validator])) - validatorCredit, half);
    assert.equal((await f.nodeRegistry.read.totalBurned()) - burned, f.params.poi.disputeBond - half);
    const disputerAfter = await stakeOf(w, disputer);
    assert.equal(disputerBefore.staked - disputerAfter.staked, f.params.poi.disputeBond);
    assert.equal(disputerAfter.bonded, 0n);
    // Node paid, every bond released.
    assert.equal(await phaseOf(w, job), Phase.Paid);
    assert.equal(await slotStatus(w, job), SlotStatus.Paid);
    assert.equal(await f.coordinator.read.credits([ETH, job.provider]), splitFee(PRICE, f.params.feeBps).net);
    for (const n of [job.provider, validator, ...members])
      assert.equal(await f.nodeRegistry.read.freeStake([n]), STAKE);
  });

  it("a lying validator (fail on an honest job) is overturned: validator slashed to the disputer, verdict flipped, node paid", async () => {
    const { w, f, job, validator, disputer, key } = await judged(false, true); // the node disputes its own fail
    const members = await disputeAndDraw(w, job, disputer, validator);
    await voteAll(w, job, members, true);
    const disputerCredit = await f.nodeRegistry.read.credits([disputer]);
    const burned = await f.nodeRegistry.read.totalBurned();
    const validatorBefore = await stakeOf(w, validator);
    const half = f.params.poi.validatorBond / 2n;
    const settle = f.poi.write.resolveDispute([job.ref]);
    await f.viem.assertions.emitWithArgs(settle, f.poi, "DisputeResolved", [key, false, true, 3n, 0n]);
    const validatorAfter = await stakeOf(w, validator);
    assert.equal(
      validatorBefore.staked - validatorAfter.staked,
      f.params.poi.validatorBond,
      "validator bond slashed",
    );
    assert.equal(validatorAfter.bonded, 0n);
    assert.equal((await f.nodeRegistry.read.credits([disputer])) - disputerCredit, half);
    assert.equal((await f.nodeRegistry.read.totalBurned()) - burned, f.params.poi.validatorBond - half);
    const j = await f.poi.read.getJob([job.ref]);
    assert.equal(j.pass, true, "verdict flipped");
    assert.equal(j.phase, Phase.Paid);
    assert.ok((await f.trustModel.read.trustBps([validator])) < NEUTRAL, "a lying validator loses trust");
    assert.equal(await slotStatus(w, job), SlotStatus.Paid);
    assert.equal(await f.coordinator.read.credits([ETH, job.provider]), splitFee(PRICE, f.params.feeBps).net);
    assert.equal(
      await f.nodeRegistry.read.freeStake([job.provider]),
      STAKE,
      "job and dispute bonds released",
    );
    assert.ok((await f.trustModel.read.trustBps([job.provider])) > NEUTRAL);
  });

  it("a dishonest pass is overturned: validator slashed, node slashed, the disputer takes both challenger shares", async () => {
    const { w, f, job, validator, disputer, key } = await judged(true);
    const members = await disputeAndDraw(w, job, disputer, validator);
    await voteAll(w, job, members, false);
    const before = await ledger(w, job, disputer);
    const validatorBefore = await stakeOf(w, validator);
    const split = fraudSplit(w);
    const half = f.params.poi.validatorBond / 2n;
    const hash = await f.poi.write.resolveDispute([job.ref]);
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
    const [resolved] = parseEventLogs({ abi: f.poi.abi, logs: receipt.logs, eventName: "DisputeResolved" });
    assert.deepEqual(resolved!.args, {
      key,
      verdictUpheld: false,
      pass: false,
      votesPass: 0n,
      votesFail: 3n,
    });
    const [slashed] = parseEventLogs({ abi: f.poi.abi, logs: receipt.logs, eventName: "FraudSlashed" });
    assert.deepEqual(slashed!.args, {
      key,
      node: getAddress(job.provider),
      toRequester: split.toRequester,
      toChallenger: split.toChallenger,
      burned: split.burned,
    });
    // The disputer's credit: half the validator bond plus the challenger share; burned: the other half plus the rest.
    await assertFraudSettled(w, job, disputer, before, {
      challenger: half,
      burned: f.params.poi.validatorBond - half,
    });
    assert.equal(validatorBefore.staked - (await stakeOf(w, validator)).staked, f.params.poi.validatorBond);
    assert.equal((await stakeOf(w, disputer)).bonded, 0n, "dispute bond released");
    await assertRefundWithdrawable(w, job);
  });

  it("a committee member that stays silent is penalised; a tie keeps the verdict", async () => {
    const { w, f, job, validator, disputer, key } = await judged(true);
    const members = await disputeAndDraw(w, job, disputer, validator);
    await (await as(f, members[0]!)).poi.write.vote([job.ref, true]);
    await (await as(f, members[1]!)).poi.write.vote([job.ref, false]);
    await f.networkHelpers.time.increase(f.params.poi.committeeWindow + 1);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await as(f, members[2]!)).poi.write.vote([job.ref, true]),
      f.poi,
      "VerdictWindowClosed",
      [key, BigInt((await f.poi.read.getJob([job.ref])).disputeDeadline)],
    );
    const treasury = f.wallets[0]!.account.address;
    const treasuryBefore = await f.nodeRegistry.read.credits([treasury]);
    const silentBefore = await stakeOf(w, members[2]!);
    await f.viem.assertions.emitWithArgs(f.poi.write.resolveDispute([job.ref]), f.poi, "DisputeResolved", [
      key,
      true,
      true,
      1n,
      1n,
    ]);
    assert.equal(
      (await f.nodeRegistry.read.credits([treasury])) - treasuryBefore,
      f.params.poi.validatorPenalty,
    );
    assert.equal(silentBefore.staked - (await stakeOf(w, members[2]!)).staked, f.params.poi.validatorPenalty);
    assert.ok((await f.trustModel.read.trustBps([members[2]!])) < NEUTRAL);
    assert.equal(await phaseOf(w, job), Phase.Paid);
  });

  it("an undisputed fail verdict slashes the node at finalize, the validator taking the challenger share", async () => {
    const { w, f, job, validator } = await judged(false);
    await f.networkHelpers.time.increase(f.params.poi.disputeWindow + 1);
    const before = await ledger(w, job, validator);
    await f.poi.write.finalize([job.ref]);
    await assertFraudSettled(w, job, validator, before);
    assert.equal((await stakeOf(w, validator)).bonded, 0n, "validator bond released");
  });
});

describe("PoI adversarial: settlement guards", () => {
  it("payout before the dispute window closes → DisputeWindowOpen; finalize in any other phase → WrongPhase", async () => {
    const w = await poiWorld(3);
    const { f } = w;
    const job = await requestPoiJob(w);
    const key = await keyOf(w, job);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.poi.write.finalize([job.ref]),
      f.poi,
      "WrongPhase",
      [key, Phase.None],
    );
    const c = commitmentFor(job, fakeTrajectory(20));
    const { k, round } = await deliverWithCommit(w, job, c);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.poi.write.finalize([job.ref]),
      f.poi,
      "WrongPhase",
      [key, Phase.Committed],
    );
    await revealFor(w, job, c, k, round);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.poi.write.finalize([job.ref]),
      f.poi,
      "WrongPhase",
      [key, Phase.Revealed],
    );
    const validator = await drawValidator(w, job);
    await postVerdict(w, job, validator, true);
    const { disputeDeadline } = await f.poi.read.getJob([job.ref]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.poi.write.finalize([job.ref]),
      f.poi,
      "DisputeWindowOpen",
      [key, BigInt(disputeDeadline)],
    );
    assert.equal(await slotStatus(w, job), SlotStatus.Held);
    assert.equal(await f.coordinator.read.credits([ETH, job.provider]), 0n, "nothing paid yet");
    await f.networkHelpers.time.increase(f.params.poi.disputeWindow + 1);
    const late = w.nodes.find(
      (n) => ![job.provider, validator].map((a) => getAddress(a)).includes(getAddress(n)),
    )!;
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await as(f, late)).poi.write.dispute([job.ref]),
      f.poi,
      "DisputeWindowClosed",
      [key, BigInt(disputeDeadline)],
    );
    await f.poi.write.finalize([job.ref]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.poi.write.finalize([job.ref]),
      f.poi,
      "WrongPhase",
      [key, Phase.Paid],
    );
    assert.equal(await f.coordinator.read.credits([ETH, job.provider]), splitFee(PRICE, f.params.feeBps).net);
  });

  it("stake bonded to an open job cannot be unbonded (StakeBonded) until the job settles", async () => {
    const w = await poiWorld(2);
    const { f } = w;
    const job = await requestPoiJob(w);
    const asProvider = await as(f, job.provider); // each node is its own operator
    const c = commitmentFor(job, fakeTrajectory(20));
    const { k, round } = await deliverWithCommit(w, job, c);
    const free = STAKE - f.params.jobBond;
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asProvider.registry.write.requestUnbond([job.provider, STAKE]),
      f.nodeRegistry,
      "StakeBonded",
      [getAddress(job.provider), STAKE, free],
    );
    await revealFor(w, job, c, k, round);
    const validator = await drawValidator(w, job);
    await postVerdict(w, job, validator, true);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asProvider.registry.write.requestUnbond([job.provider, STAKE]),
      f.nodeRegistry,
      "StakeBonded",
      [getAddress(job.provider), STAKE, free],
    );
    const asValidator = await as(f, validator);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asValidator.registry.write.requestUnbond([validator, STAKE]),
      f.nodeRegistry,
      "StakeBonded",
      [getAddress(validator), STAKE, STAKE - f.params.poi.validatorBond],
    );
    await f.networkHelpers.time.increase(f.params.poi.disputeWindow + 1);
    await f.poi.write.finalize([job.ref]);
    await asProvider.registry.write.requestUnbond([job.provider, STAKE]);
    await asValidator.registry.write.requestUnbond([validator, STAKE]);
    const [info] = await f.nodeRegistry.read.getNode([job.provider]);
    assert.equal(info.unbonding, STAKE);
  });
});

describe("PoI adversarial: commit guards", () => {
  function proofOf(root: Hex, steps: bigint, paramsHash: Hex): Hex {
    return encodeAbiParameters(
      [{ type: "bytes32" }, { type: "uint256" }, { type: "bytes32" }],
      [root, steps, paramsHash],
    );
  }

  it("onDeliver called by anyone but the Coordinator → NotCoordinator", async () => {
    const w = await poiWorld(1);
    const { f } = w;
    const job = await requestPoiJob(w);
    const c = commitmentFor(job, fakeTrajectory(10));
    const caller = f.wallets[0]!.account.address;
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.poi.write.onDeliver([
        job.subscriptionId,
        1,
        0,
        job.provider,
        keccak256(job.output),
        PRICE,
        f.params.jobBond,
        c.deliveryProof,
      ]),
      f.poi,
      "NotCoordinator",
      [getAddress(caller)],
    );
    assert.equal(await phaseOf(w, job), Phase.None);
  });

  it("T = 0 or T > maxSteps → StepsOutOfRange; a zero root → InvalidCommitment; payment above maxPrice → PriceAboveGuard", async () => {
    const w = await poiWorld(1);
    const { f } = w;
    const job = await requestPoiJob(w);
    const node = await as(f, job.provider);
    const c = commitmentFor(job, fakeTrajectory(f.params.poi.maxSteps));
    const maxSteps = BigInt(f.params.poi.maxSteps);
    const paramsHash = c.input.paramsHash;
    const deliver = (proof: Hex) =>
      node.coordinator.write.deliver([job.subscriptionId, 1, "0x", job.output, proof]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      deliver(proofOf(c.root, 0n, paramsHash)),
      f.poi,
      "StepsOutOfRange",
      [0n, maxSteps],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      deliver(proofOf(c.root, maxSteps + 1n, paramsHash)),
      f.poi,
      "StepsOutOfRange",
      [maxSteps + 1n, maxSteps],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      deliver(proofOf(`0x${"00".repeat(32)}`, 10n, paramsHash)),
      f.poi,
      "InvalidCommitment",
      [],
    );
    assert.equal(
      await slotStatus(w, job),
      SlotStatus.Empty,
      "a rejected commit rejects the delivery (and its assignment)",
    );
    // T = maxSteps is accepted.
    const { k } = await deliverWithCommit(w, job, c);
    assert.equal((await f.poi.read.getJob([job.ref])).steps, f.params.poi.maxSteps);
    assert.ok(k >= f.params.poi.kMin && k <= f.params.poi.kMax);

    const over = f.params.poi.maxPrice + 1n;
    const pricey = await requestPoiJob(w, over);
    const cp = commitmentFor(pricey, fakeTrajectory(10));
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      node.coordinator.write.deliver([pricey.subscriptionId, 1, "0x", pricey.output, cp.deliveryProof]),
      f.poi,
      "PriceAboveGuard",
      [over, f.params.poi.maxPrice],
    );
    assert.equal(await phaseOf(w, pricey), Phase.None);
  });
});

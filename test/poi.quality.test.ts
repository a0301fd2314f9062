/**
 * The validator's quality score weights a passing job's payment within a bounded range (docs/protocol.md §10): the node
 * is paid `qualityFloorBps + (10,000 − qualityFloorBps) × quality / 10,000` of the price, less the protocol fee on
 * that part, and the rest returns to the consumer's escrow. Exact wei at the default floor of 8,000 and fee of 1 %.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, parseEventLogs, toHex, type Address, type Hex } from "viem";
import { qualityPayBps, splitSettlement } from "@infernet/sdk";
import { poiContractParams } from "../deploy/params.ts";
import {
  ETH,
  PRICE,
  Phase,
  SlotStatus,
  as,
  commitAndReveal,
  drawValidator,
  poiWorld,
  postVerdict,
  requestPoiJob,
  type PoiJob,
  type PoiWorld,
} from "./helpers/poi.ts";

/** A job committed, revealed and judged pass with `quality`; returns it with its validator and key. */
async function judgedPass(w: PoiWorld, quality: number) {
  const job = await requestPoiJob(w);
  await commitAndReveal(w, job);
  const validator = await drawValidator(w, job);
  await postVerdict(w, job, validator, true, quality);
  return { job, validator, key: await w.f.poi.read.jobKey([job.ref]) };
}

/** What a settlement moved: the node's and the treasury's Coordinator credits, the subscription's escrow. */
async function balances(w: PoiWorld, job: PoiJob) {
  const { f } = w;
  const treasury = (await f.coordinator.read.params())[4];
  const [escrowBalance, escrowLocked] = await f.coordinator.read.escrowOf([job.subscriptionId]);
  return {
    node: await f.coordinator.read.credits([ETH, job.provider]),
    treasury: await f.coordinator.read.credits([ETH, treasury]),
    escrowBalance,
    escrowLocked,
  };
}

/** Checks the events and balances of a pass settled in `hash` at `payBps`, against exact expected wei. */
async function assertPaid(
  w: PoiWorld,
  job: PoiJob,
  key: Hex,
  hash: Hex,
  before: Awaited<ReturnType<typeof balances>>,
  expected: { quality: number; payBps: number; net: bigint; fee: bigint; refund: bigint },
) {
  const { f } = w;
  const node = getAddress(job.provider);
  await f.viem.assertions.emitWithArgs(hash, f.poi, "JobPaid", [
    key,
    node,
    expected.quality,
    expected.payBps,
  ]);
  await f.viem.assertions.emitWithArgs(hash, f.coordinator, "Settled", [
    job.subscriptionId,
    job.interval,
    job.slot,
    node,
    expected.payBps,
  ]);
  await f.viem.assertions.emitWithArgs(hash, f.coordinator, "Paid", [
    job.subscriptionId,
    node,
    expected.net,
    expected.fee,
  ]);
  const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
  const unlocked = parseEventLogs({ abi: f.coordinator.abi, logs: receipt.logs, eventName: "Unlocked" });
  assert.deepEqual(
    unlocked.map((e) => e.args.amount),
    expected.refund === 0n ? [] : [expected.refund],
  );
  // The sdk's mirror agrees to the wei.
  assert.equal(qualityPayBps(f.params.poi.qualityFloorBps, expected.quality), expected.payBps);
  const split = splitSettlement(PRICE, expected.payBps, f.params.feeBps);
  assert.deepEqual(
    { net: split.net, fee: split.fee, refund: split.refund },
    { net: expected.net, fee: expected.fee, refund: expected.refund },
  );

  const after = await balances(w, job);
  assert.equal(after.node - before.node, expected.net, "node credit");
  assert.equal(after.treasury - before.treasury, expected.fee, "fee on the paid part only");
  assert.equal(
    before.escrowLocked - after.escrowLocked,
    PRICE,
    "the whole payment is released from the lock",
  );
  assert.equal(
    after.escrowBalance,
    before.escrowBalance - PRICE + expected.refund,
    "the rest stays the consumer's",
  );
  assert.equal(after.escrowLocked, 0n);
  const stored = await f.poi.read.getJob([job.ref]);
  assert.equal(stored.phase, Phase.Paid);
  assert.equal(stored.quality, expected.quality);
  const [, , slots] = await f.coordinator.read.getInterval([job.subscriptionId, job.interval]);
  assert.equal(slots[job.slot]!.status, SlotStatus.Paid);
  assert.equal(
    await f.nodeRegistry.read.freeStake([job.provider]),
    (await f.nodeRegistry.read.getNode([job.provider]))[0].staked,
    "the job bond is released whatever the score",
  );
}

describe("PoI quality-weighted payout", () => {
  it("quality 10,000 / 5,000 / 0 pays 100 % / 90 % / 80 % (the floor) of the price; the rest returns to the consumer", async () => {
    const w = await poiWorld(2);
    const { f } = w;
    assert.equal(f.params.poi.qualityFloorBps, 8_000);
    assert.equal(f.params.feeBps, 100);
    assert.equal(PRICE, 3_000_000_000_000_000n);
    const cases = [
      // 0.003 ETH in full: 0.00003 fee, 0.00297 to the node, nothing back.
      { quality: 10_000, payBps: 10_000, net: 2_970_000_000_000_000n, fee: 30_000_000_000_000n, refund: 0n },
      // 8,000 + 2,000 × 0.5 = 9,000 bps: 0.0027 paid (0.000027 fee, 0.002673 net), 0.0003 back.
      {
        quality: 5_000,
        payBps: 9_000,
        net: 2_673_000_000_000_000n,
        fee: 27_000_000_000_000n,
        refund: 300_000_000_000_000n,
      },
      // The floor, never less: 0.0024 paid (0.000024 fee, 0.002376 net), 0.0006 back.
      {
        quality: 0,
        payBps: 8_000,
        net: 2_376_000_000_000_000n,
        fee: 24_000_000_000_000n,
        refund: 600_000_000_000_000n,
      },
    ];
    for (const c of cases) {
      const { job, key } = await judgedPass(w, c.quality);
      assert.equal((await f.poi.read.getJob([job.ref])).quality, c.quality, "stored with the verdict");
      await f.networkHelpers.time.increase(f.params.poi.disputeWindow + 1);
      const before = await balances(w, job);
      const hash = await f.poi.write.finalize([job.ref]);
      await assertPaid(w, job, key, hash, before, c);
      // What came back is free: the consumer can withdraw it.
      if (c.refund !== 0n) {
        await (
          await as(f, f.wallets[1]!.account.address)
        ).coordinator.write.withdrawFunds([job.subscriptionId, c.refund]);
      }
      assert.deepEqual(await f.coordinator.read.escrowOf([job.subscriptionId]), [0n, 0n]);
    }
  });

  it("a floor of 10,000 pays in full whatever the score; the floor in force at settlement applies", async () => {
    const w = await poiWorld(2);
    const { f } = w;
    const { job, key } = await judgedPass(w, 0);
    const owner = getAddress(f.wallets[0]!.account.address);
    await f.poi.write.setParams([{ ...poiContractParams(f.params.poi, owner), qualityFloorBps: 10_000 }]);
    await f.networkHelpers.time.increase(f.params.poi.disputeWindow + 1);
    const before = await balances(w, job);
    const hash = await f.poi.write.finalize([job.ref]);
    await f.viem.assertions.emitWithArgs(hash, f.poi, "JobPaid", [key, getAddress(job.provider), 0, 10_000]);
    assert.equal((await balances(w, job)).node - before.node, 2_970_000_000_000_000n);
  });

  it("a score above 10,000 is refused with QualityTooHigh; the verdict can then be posted with a valid one", async () => {
    const w = await poiWorld(2);
    const { f } = w;
    const job = await requestPoiJob(w);
    await commitAndReveal(w, job);
    const validator = await drawValidator(w, job);
    const asValidator = (await as(f, validator)).poi;
    for (const quality of [10_001, 65_535]) {
      await f.viem.assertions.revertWithCustomErrorWithArgs(
        asValidator.write.postVerdict([job.ref, true, 0n, toHex(1, { size: 32 }), quality]),
        f.poi,
        "QualityTooHigh",
        [quality],
      );
    }
    assert.equal((await f.poi.read.getJob([job.ref])).phase, Phase.Revealed);
    await asValidator.write.postVerdict([job.ref, true, 0n, toHex(1, { size: 32 }), 10_000]);
    assert.equal((await f.poi.read.getJob([job.ref])).phase, Phase.Judged);
  });
});

describe("PoI quality-weighted payout after a dispute", () => {
  /** Disputes the verdict from a node that is neither the provider nor the validator, draws the committee, votes. */
  async function disputeAndVote(w: PoiWorld, job: PoiJob, validator: Address, votePass: boolean) {
    const { f } = w;
    const disputer = w.nodes.find(
      (n) => ![job.provider, validator].map((a) => getAddress(a)).includes(getAddress(n)),
    )!;
    await (await as(f, disputer)).poi.write.dispute([job.ref]);
    await f.poi.write.assignCommittee([job.ref]);
    const members = await f.poi.read.committeeOf([job.ref]);
    assert.equal(members.length, f.params.poi.committeeSize);
    for (const m of members) await (await as(f, m)).poi.write.vote([job.ref, votePass]);
    return f.poi.write.resolveDispute([job.ref]);
  }

  it("an upheld pass keeps the validator's score: quality 5,000 pays 90 %", async () => {
    const w = await poiWorld(6);
    const { f } = w;
    const { job, validator, key } = await judgedPass(w, 5_000);
    const before = await balances(w, job);
    const hash = await disputeAndVote(w, job, validator, true);
    await f.viem.assertions.emitWithArgs(hash, f.poi, "DisputeResolved", [key, true, true, 3n, 0n]);
    await assertPaid(w, job, key, hash, before, {
      quality: 5_000,
      payBps: 9_000,
      net: 2_673_000_000_000_000n,
      fee: 27_000_000_000_000n,
      refund: 300_000_000_000_000n,
    });
  });

  it("a fail overturned to a pass pays in full: the lying validator's score (0 here) is discarded", async () => {
    const w = await poiWorld(6);
    const { f } = w;
    const job = await requestPoiJob(w);
    await commitAndReveal(w, job);
    const validator = await drawValidator(w, job);
    await postVerdict(w, job, validator, false, 0);
    const key = await f.poi.read.jobKey([job.ref]);
    const before = await balances(w, job);
    const hash = await disputeAndVote(w, job, validator, true);
    await f.viem.assertions.emitWithArgs(hash, f.poi, "DisputeResolved", [key, false, true, 3n, 0n]);
    await assertPaid(w, job, key, hash, before, {
      quality: 10_000,
      payBps: 10_000,
      net: 2_970_000_000_000_000n,
      fee: 30_000_000_000_000n,
      refund: 0n,
    });
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, keccak256, parseEventLogs, toHex } from "viem";
import { qualityPayBps, splitSettlement } from "@infernet/sdk";
import {
  ETH,
  PRICE,
  as,
  commitmentFor,
  deliverWithCommit,
  drawValidator,
  fakeTrajectory,
  poiWorld,
  requestPoiJob,
  revealFor,
} from "./helpers/poi.ts";

describe("Proof-of-Inference lifecycle on the in-process chain", () => {
  it("request → assign → commit → challenge → reveal → verdict → dispute window → payout", async () => {
    const w = await poiWorld(4);
    const { f } = w;
    const job = await requestPoiJob(w);
    const c = commitmentFor(job, fakeTrajectory(50));
    const providerOperator = await f.nodeRegistry.read.operatorOf([job.provider]);
    const trustBefore = await f.trustModel.read.trustBps([job.provider]);

    // Commit: inside the delivery, bound to the output hash; the payment is held.
    const { k, round, receipt: delivered } = await deliverWithCommit(w, job, c);
    assert.equal(k, 4, "a new node (prior trust) is audited halfway between kMin 3 and kMax 6");
    const [committed] = parseEventLogs({ abi: f.poi.abi, logs: delivered.logs, eventName: "Committed" });
    assert.equal(committed!.args.root, c.root);
    assert.equal(committed!.args.outputHash, keccak256(job.output));
    const [, , slots] = await f.coordinator.read.getInterval([job.subscriptionId, 1]);
    assert.equal(slots[0]!.status, 2, "Held");

    // Challenge + reveal: the contract's challenged steps equal the sdk's.
    const { reveal, receipt: revealed } = await revealFor(w, job, c, k, round);
    const [ev] = parseEventLogs({ abi: f.poi.abi, logs: revealed.logs, eventName: "Revealed" });
    assert.deepEqual([...ev!.args.challenged], reveal.challenged);
    assert.equal(reveal.challenged.length, 4);
    assert.equal((await f.poi.read.getJob([job.ref])).phase, 2, "Revealed");

    // Verdict by a validator of another operator.
    const validator = await drawValidator(w, job);
    assert.notEqual(getAddress(validator), getAddress(job.provider));
    assert.notEqual(await f.nodeRegistry.read.operatorOf([validator]), providerOperator);
    await (await as(f, validator)).poi.write.postVerdict([job.ref, true, 0n, toHex(1, { size: 32 }), 9000]);

    // No payout while the dispute window is open.
    await f.viem.assertions.revertWithCustomError(
      f.poi.write.finalize([job.ref]),
      f.poi,
      "DisputeWindowOpen",
    );
    await f.networkHelpers.time.increase(f.params.poi.disputeWindow + 1);
    const settle = await f.poi.write.finalize([job.ref]);
    // Quality 9,000 with the default floor of 8,000: 8,000 + 2,000 × 0.9 = 9,800 bps of the payment.
    const payBps = qualityPayBps(f.params.poi.qualityFloorBps, 9000);
    assert.equal(payBps, 9_800);
    await f.viem.assertions.emitWithArgs(settle, f.poi, "JobPaid", [
      await f.poi.read.jobKey([job.ref]),
      getAddress(job.provider),
      9000,
      payBps,
    ]);

    // The node is paid its share (less the protocol fee), the rest returns to the consumer's free escrow; its job
    // bond and the validator's bond are free again.
    const split = splitSettlement(PRICE, payBps, f.params.feeBps);
    assert.equal(await f.coordinator.read.credits([ETH, job.provider]), split.net);
    assert.deepEqual(await f.coordinator.read.escrowOf([job.subscriptionId]), [split.refund, 0n]);
    const stake = 2_000_000_000_000_000_000n;
    assert.equal(await f.nodeRegistry.read.freeStake([job.provider]), stake);
    assert.equal(await f.nodeRegistry.read.freeStake([validator]), stake);
    assert.equal((await f.poi.read.getJob([job.ref])).phase, 5, "Paid");
    assert.ok((await f.trustModel.read.trustBps([job.provider])) > trustBefore, "trust rises after a pass");
    const asProvider = await as(f, job.provider);
    await asProvider.coordinator.write.withdraw([ETH]);
    assert.equal(await f.coordinator.read.credits([ETH, job.provider]), 0n);
  });
});

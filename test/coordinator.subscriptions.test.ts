import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, keccak256, parseEther, parseEventLogs, type Address } from "viem";
import {
  blockTime,
  coordinatorAs,
  deployFixture,
  mined,
  registerNode,
  subscriptionParams,
  wallet,
  CONTAINER_ID,
} from "./helpers/fixture.ts";

const ZERO: Address = "0x0000000000000000000000000000000000000000";
const WINDOW = 3600;

describe("Coordinator subscriptions: createSubscription", () => {
  it("stores the subscription, defaults activeAt to the block time, pins inline inputs and emits SubscriptionCreated", async () => {
    const f = await deployFixture();
    const consumer = wallet(f, 1);
    const asConsumer = await coordinatorAs(f, consumer);
    const p = subscriptionParams({
      redundancy: 2,
      callbackGasLimit: 123_456,
      lazy: true,
      paymentAmount: parseEther("0.01"),
    });

    const hash = asConsumer.write.createSubscription([p, parseEther("0.02")], { value: parseEther("0.02") });
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "SubscriptionCreated", [
      1n,
      getAddress(consumer.account.address),
      p,
    ]);
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "Funded", [
      1n,
      getAddress(consumer.account.address),
      parseEther("0.02"),
    ]);
    const receipt = await mined(f, await hash);

    assert.equal(await f.coordinator.read.subscriptionCount(), 1n);
    const s = await f.coordinator.read.getSubscription([1n]);
    assert.equal(s.owner, getAddress(consumer.account.address));
    assert.equal(s.activeAt, await blockTime(f, receipt.blockNumber));
    assert.equal(s.period, 0);
    assert.equal(s.frequency, 1);
    assert.equal(s.redundancy, 2);
    assert.equal(s.callbackGasLimit, 123_456);
    assert.equal(s.lazy, true);
    assert.equal(s.cancelled, false);
    assert.equal(s.lastInterval, 0);
    assert.equal(s.paymentToken, ZERO);
    assert.equal(s.paymentAmount, parseEther("0.01"));
    assert.equal(s.verifier, ZERO);
    assert.equal(s.containerId, CONTAINER_ID);
    assert.equal(s.inputsHash, keccak256(p.inputs));
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [parseEther("0.02"), 0n]);
  });

  it("keeps an explicit activeAt, numbers subscriptions consecutively and leaves inputsHash zero without inline inputs", async () => {
    const f = await deployFixture();
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    const activeAt = (await f.networkHelpers.time.latest()) + 1000;
    await asConsumer.write.createSubscription([subscriptionParams(), 0n]);
    await asConsumer.write.createSubscription([
      subscriptionParams({ activeAt, period: 60, frequency: 5, inputs: "0x" }),
      0n,
    ]);
    assert.equal(await f.coordinator.read.subscriptionCount(), 2n);
    const s = await f.coordinator.read.getSubscription([2n]);
    assert.equal(s.activeAt, activeAt);
    assert.equal(s.period, 60);
    assert.equal(s.frequency, 5);
    assert.equal(s.inputsHash, `0x${"00".repeat(32)}`);
    // No deposit and no value: nothing funded.
    assert.deepEqual(await f.coordinator.read.escrowOf([2n]), [0n, 0n]);
  });

  it("accepts inline inputs of exactly MAX_INPUTS_BYTES and rejects one byte more with InputsTooLarge", async () => {
    const f = await deployFixture();
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    const max = await f.coordinator.read.MAX_INPUTS_BYTES();
    assert.equal(max, 16_384n);
    await asConsumer.write.createSubscription([
      subscriptionParams({ inputs: `0x${"11".repeat(16_384)}` }),
      0n,
    ]);
    assert.equal(await f.coordinator.read.subscriptionCount(), 1n);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.createSubscription([subscriptionParams({ inputs: `0x${"11".repeat(16_385)}` }), 0n]),
      f.coordinator,
      "InputsTooLarge",
      [16_385n, 16_384n],
    );
  });
});

describe("Coordinator subscriptions: wiring and constants", () => {
  it("points at the deployed randomness, registries and parameters", async () => {
    const f = await deployFixture();
    const { contracts } = f.deployment;
    assert.equal(await f.coordinator.read.randomness(), getAddress(contracts.randomness));
    assert.equal(await f.coordinator.read.registry(), getAddress(contracts.nodeRegistry));
    assert.equal(await f.coordinator.read.containers(), getAddress(contracts.containerRegistry));
    assert.equal(await f.coordinator.read.INPUTS_GAS_LIMIT(), 500_000n);
    assert.deepEqual(await f.coordinator.read.params(), [
      WINDOW,
      2_000_000,
      100,
      3,
      getAddress(wallet(f, 0).account.address),
      parseEther("0.1"),
      parseEther("0.01"),
    ]);
    assert.equal(await f.coordinator.read.subscriptionCount(), 0n);
  });
});

describe("Coordinator subscriptions: requestCompute", () => {
  it("creates, funds, locks redundancy × payment and requests interval 1 in one call", async () => {
    const f = await deployFixture();
    const consumer = wallet(f, 1);
    const asConsumer = await coordinatorAs(f, consumer);
    const price = parseEther("0.01");
    const p = subscriptionParams({ redundancy: 2, paymentAmount: price });

    const { result } = await asConsumer.simulate.requestCompute([p, 2n * price], { value: 2n * price });
    assert.equal(result, 1n);
    const hash = asConsumer.write.requestCompute([p, 2n * price], { value: 2n * price });
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "Locked", [1n, 2n * price]);
    const receipt = await mined(f, await hash);
    const [requested] = parseEventLogs({
      abi: f.coordinator.abi,
      logs: receipt.logs,
      eventName: "IntervalRequested",
    });
    assert.ok(requested);
    // Inline inputs travel in SubscriptionCreated; IntervalRequested carries only their hash.
    assert.deepEqual(requested.args, {
      subscriptionId: 1n,
      interval: 1,
      round: receipt.blockNumber,
      inputsHash: keccak256(p.inputs),
      inputs: "0x",
    });

    const now = await blockTime(f, receipt.blockNumber);
    const [state, inputsHash, slots] = await f.coordinator.read.getInterval([1n, 1]);
    // The job bond is fixed at the request.
    assert.deepEqual(state, {
      round: Number(receipt.blockNumber),
      seedRound: Number(receipt.blockNumber),
      requestedAt: now,
      delivered: 0,
      reassignments: 0,
      bond: parseEther("0.1"),
      openUntil: now + WINDOW,
    });
    assert.equal(inputsHash, keccak256(p.inputs));
    assert.equal(slots.length, 2);
    for (const slot of slots) assert.deepEqual(slot, { node: ZERO, deadline: now + WINDOW, status: 0 });
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [2n * price, 2n * price]);
    assert.equal((await f.coordinator.read.getSubscription([1n])).lastInterval, 1);
  });

  it("reverts with SubscriptionNotActive when activeAt is in the future (nothing is created)", async () => {
    const f = await deployFixture();
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    const activeAt = (await f.networkHelpers.time.latest()) + 500;
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.requestCompute([subscriptionParams({ activeAt }), 0n]),
      f.coordinator,
      "SubscriptionNotActive",
      [1n, activeAt],
    );
    assert.equal(await f.coordinator.read.subscriptionCount(), 0n);
  });
});

describe("Coordinator subscriptions: requestInterval and the interval rule", () => {
  it("reverts SubscriptionNotActive before activeAt, then anyone may request the current interval", async () => {
    const f = await deployFixture();
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    const keeper = await coordinatorAs(f, wallet(f, 5));
    const activeAt = (await f.networkHelpers.time.latest()) + 100;
    await asConsumer.write.createSubscription([
      subscriptionParams({ activeAt, period: 60, frequency: 3 }),
      0n,
    ]);

    assert.equal(await f.coordinator.read.currentInterval([1n]), 0);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      keeper.write.requestInterval([1n]),
      f.coordinator,
      "SubscriptionNotActive",
      [1n, activeAt],
    );

    await f.networkHelpers.time.setNextBlockTimestamp(activeAt);
    const { result } = await keeper.simulate.requestInterval([1n], { blockTag: "pending" } as never);
    assert.equal(result, 1);
    await f.viem.assertions.emitWithArgs(
      keeper.write.requestInterval([1n]),
      f.coordinator,
      "IntervalRequested",
      [1n, 1, (v: unknown) => typeof v === "bigint", keccak256(subscriptionParams().inputs), "0x"],
    );
    assert.equal((await f.coordinator.read.getSubscription([1n])).lastInterval, 1);
  });

  it("walks a recurring subscription through its periods: IntervalAlreadyRequested within a period, skipped intervals are lost, SubscriptionCompleted after frequency", async () => {
    const f = await deployFixture();
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    const period = 60;
    const activeAt = (await f.networkHelpers.time.latest()) + 10;
    await asConsumer.write.createSubscription([subscriptionParams({ activeAt, period, frequency: 4 }), 0n]);

    // Interval 1 = [activeAt, activeAt + 60): request it, then fail to request it again inside the same period.
    await f.networkHelpers.time.setNextBlockTimestamp(activeAt + 10);
    await asConsumer.write.requestInterval([1n]);
    assert.equal((await f.coordinator.read.getSubscription([1n])).lastInterval, 1);
    await f.networkHelpers.time.setNextBlockTimestamp(activeAt + period - 1);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.requestInterval([1n]),
      f.coordinator,
      "IntervalAlreadyRequested",
      [1n, 1],
    );

    // The boundary itself belongs to interval 2.
    await f.networkHelpers.time.setNextBlockTimestamp(activeAt + period);
    await asConsumer.write.requestInterval([1n]);
    assert.equal((await f.coordinator.read.getSubscription([1n])).lastInterval, 2);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.requestInterval([1n]),
      f.coordinator,
      "IntervalAlreadyRequested",
      [1n, 2],
    );

    // Skip interval 3 entirely: interval 4 is requestable, 3 is gone for good.
    await f.networkHelpers.time.setNextBlockTimestamp(activeAt + 3 * period + 5);
    await asConsumer.write.requestInterval([1n]);
    assert.equal((await f.coordinator.read.getSubscription([1n])).lastInterval, 4);
    const [skipped] = await f.coordinator.read.getInterval([1n, 3]);
    assert.equal(skipped.requestedAt, 0);
    const [fourth] = await f.coordinator.read.getInterval([1n, 4]);
    assert.equal(fourth.requestedAt, activeAt + 3 * period + 5);

    await f.networkHelpers.time.setNextBlockTimestamp(activeAt + 4 * period);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.requestInterval([1n]),
      f.coordinator,
      "SubscriptionCompleted",
      [1n, 4],
    );
  });

  it("a one-shot subscription has only interval 1: a second request is IntervalAlreadyRequested, however late", async () => {
    const f = await deployFixture();
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    await asConsumer.write.requestCompute([subscriptionParams(), 0n]);
    await f.networkHelpers.time.increase(10 * 365 * 24 * 3600);
    assert.equal(await f.coordinator.read.currentInterval([1n]), 1);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.requestInterval([1n]),
      f.coordinator,
      "IntervalAlreadyRequested",
      [1n, 1],
    );
  });

  it("a one-shot subscription with frequency 1 and period 0 starting later is requested once it is active", async () => {
    const f = await deployFixture();
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    const activeAt = (await f.networkHelpers.time.latest()) + 3600;
    await asConsumer.write.createSubscription([subscriptionParams({ activeAt }), 0n]);
    await f.networkHelpers.time.increaseTo(activeAt + 1000);
    await asConsumer.write.requestInterval([1n]);
    assert.equal((await f.coordinator.read.getSubscription([1n])).lastInterval, 1);
  });

  it("rejects requests for unknown and cancelled subscriptions", async () => {
    const f = await deployFixture();
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.requestInterval([7n]),
      f.coordinator,
      "UnknownSubscription",
      [7n],
    );
    await asConsumer.write.createSubscription([subscriptionParams({ period: 60, frequency: 2 }), 0n]);
    await asConsumer.write.cancelSubscription([1n]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.requestInterval([1n]),
      f.coordinator,
      "SubscriptionIsCancelled",
      [1n],
    );
  });
});

describe("Coordinator subscriptions: inputs from the consumer's view", () => {
  it("pins each interval's inputs by hash when it is requested; later changes do not affect requested intervals", async () => {
    const f = await deployFixture();
    const owner = wallet(f, 0);
    const consumer = await f.viem.deployContract("ExampleConsumer", [
      f.coordinator.address,
      owner.account.address,
    ]);
    const period = 100;
    const activeAt = (await f.networkHelpers.time.latest()) + 10;
    await consumer.write.subscribe([
      subscriptionParams({ activeAt, period, frequency: 2, inputs: "0x" }),
      0n,
    ]);
    assert.equal((await f.coordinator.read.getSubscription([1n])).owner, getAddress(consumer.address));
    await consumer.write.setRecurringInput(["0xc0ffee"]);
    assert.equal(await consumer.read.recurringInput(), "0xc0ffee");
    assert.equal(await consumer.read.getContainerInputs([1n, 1, 0]), "0xc0ffee");

    await f.networkHelpers.time.setNextBlockTimestamp(activeAt);
    await f.viem.assertions.emitWithArgs(
      f.coordinator.write.requestInterval([1n]),
      f.coordinator,
      "IntervalRequested",
      [1n, 1, (v: unknown) => typeof v === "bigint", keccak256("0xc0ffee"), "0xc0ffee"],
    );
    await consumer.write.setRecurringInput(["0xdecaf0"]);
    assert.equal((await f.coordinator.read.getInterval([1n, 1]))[1], keccak256("0xc0ffee"));

    await f.networkHelpers.time.setNextBlockTimestamp(activeAt + period);
    await f.viem.assertions.emitWithArgs(
      f.coordinator.write.requestInterval([1n]),
      f.coordinator,
      "IntervalRequested",
      [1n, 2, (v: unknown) => typeof v === "bigint", keccak256("0xdecaf0"), "0xdecaf0"],
    );
    assert.equal((await f.coordinator.read.getInterval([1n, 1]))[1], keccak256("0xc0ffee"));
    assert.equal((await f.coordinator.read.getInterval([1n, 2]))[1], keccak256("0xdecaf0"));
  });

  it("an empty view result is pinned as the hash of empty bytes", async () => {
    const f = await deployFixture();
    const consumer = await f.viem.deployContract("ExampleConsumer", [
      f.coordinator.address,
      wallet(f, 0).account.address,
    ]);
    await consumer.write.subscribe([subscriptionParams({ inputs: "0x" }), 0n]);
    await f.coordinator.write.requestInterval([1n]);
    assert.equal((await f.coordinator.read.getInterval([1n, 1]))[1], keccak256("0x"));
  });

  it("reverts InputsUnavailable when the consumer's view reverts, and InputsTooLarge when it returns too much", async () => {
    const f = await deployFixture();
    const hostile = await f.viem.deployContract("HostileConsumer", [f.coordinator.address]);
    await hostile.write.create([subscriptionParams({ period: 60, frequency: 10, inputs: "0x" })]);
    await hostile.write.setMode([3]); // RevertInputs
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.requestInterval([1n]),
      f.coordinator,
      "InputsUnavailable",
      [1n, 1],
    );
    await hostile.write.setMode([4]); // HugeInputs: 16,385 bytes
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.requestInterval([1n]),
      f.coordinator,
      "InputsTooLarge",
      [16_385n, 16_384n],
    );
    // Nothing was requested by the failed attempts; a well-behaved view works afterwards.
    assert.equal((await f.coordinator.read.getSubscription([1n])).lastInterval, 0);
    await hostile.write.setMode([0]);
    await f.coordinator.write.requestInterval([1n]);
    assert.equal((await f.coordinator.read.getInterval([1n, 1]))[1], keccak256("0x01"));
  });
});

describe("Coordinator subscriptions: cancel, fund, withdrawFunds, withdraw", () => {
  it("fund: anyone may top up; Funded names the payer", async () => {
    const f = await deployFixture();
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    const stranger = wallet(f, 6);
    const asStranger = await coordinatorAs(f, stranger);
    await asConsumer.write.createSubscription([subscriptionParams({ paymentAmount: 5n }), 10n], {
      value: 10n,
    });
    await f.viem.assertions.emitWithArgs(
      asStranger.write.fund([1n, 7n], { value: 7n }),
      f.coordinator,
      "Funded",
      [1n, getAddress(stranger.account.address), 7n],
    );
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [17n, 0n]);
  });

  it("withdrawFunds credits the owner, withdraw pays the credit out; cancel refunds the rest and blocks new intervals", async () => {
    const f = await deployFixture();
    const consumer = wallet(f, 1);
    const me = getAddress(consumer.account.address);
    const asConsumer = await coordinatorAs(f, consumer);
    const deposit = parseEther("1");
    await asConsumer.write.createSubscription(
      [subscriptionParams({ period: 60, frequency: 3, paymentAmount: parseEther("0.1") }), deposit],
      {
        value: deposit,
      },
    );

    const w = asConsumer.write.withdrawFunds([1n, parseEther("0.3")]);
    await f.viem.assertions.emitWithArgs(w, f.coordinator, "FundsWithdrawn", [1n, me, parseEther("0.3")]);
    await f.viem.assertions.emitWithArgs(
      asConsumer.write.withdrawFunds([1n, 1n]),
      f.coordinator,
      "Credited",
      [ZERO, me, 1n],
    );
    assert.equal(await f.coordinator.read.credits([ZERO, me]), parseEther("0.3") + 1n);
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [parseEther("0.7") - 1n, 0n]);

    const cancel = asConsumer.write.cancelSubscription([1n]);
    await f.viem.assertions.emitWithArgs(cancel, f.coordinator, "SubscriptionCancelled", [
      1n,
      parseEther("0.7") - 1n,
    ]);
    assert.equal((await f.coordinator.read.getSubscription([1n])).cancelled, true);
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [0n, 0n]);
    assert.equal(await f.coordinator.read.credits([ZERO, me]), deposit);

    const withdrawal = asConsumer.write.withdraw([ZERO]);
    await f.viem.assertions.balancesHaveChanged(withdrawal, [
      { address: me, amount: deposit },
      { address: f.coordinator.address, amount: -deposit },
    ]);
    await f.viem.assertions.emitWithArgs(
      (async () => {
        await asConsumer.write.fund([1n, 5n], { value: 5n });
        await asConsumer.write.withdrawFunds([1n, 5n]);
        return asConsumer.write.withdraw([ZERO]);
      })(),
      f.coordinator,
      "Withdrawn",
      [ZERO, me, 5n],
    );
    assert.equal(await f.coordinator.read.credits([ZERO, me]), 0n);
  });

  it("withdrawFunds of zero is a no-op that emits nothing", async () => {
    const f = await deployFixture();
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    await asConsumer.write.createSubscription([subscriptionParams(), 3n], { value: 3n });
    const receipt = await mined(f, await asConsumer.write.withdrawFunds([1n, 0n]));
    assert.equal(receipt.logs.length, 0);
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [3n, 0n]);
  });

  it("a cancelled subscription's requested interval stays deliverable and its node is paid", async () => {
    const f = await deployFixture();
    const node = wallet(f, 2);
    await registerNode(f, 2, node.account.address);
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    const price = parseEther("0.1");
    await asConsumer.write.requestCompute([subscriptionParams({ paymentAmount: price }), 3n * price], {
      value: 3n * price,
    });
    await f.viem.assertions.emitWithArgs(
      asConsumer.write.cancelSubscription([1n]),
      f.coordinator,
      "SubscriptionCancelled",
      [1n, 2n * price],
    );
    const asNode = await coordinatorAs(f, node);
    await f.viem.assertions.emitWithArgs(
      asNode.write.deliver([1n, 1, "0x", "0x01", "0x"]),
      f.coordinator,
      "Paid",
      [1n, getAddress(node.account.address), price - price / 100n, price / 100n],
    );
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [0n, 0n]);
  });
});

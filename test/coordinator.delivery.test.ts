import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, keccak256, parseEther, parseEventLogs, type Address, type Hex } from "viem";
import {
  addr,
  blockTime,
  coordinatorAs,
  coordinatorParams,
  deployFixture,
  mined,
  registerNode,
  registerNodes,
  setJobBond,
  subscriptionParams,
  wallet,
  walletOf,
  SlotStatus as Status,
  STAKE,
  type Fixture,
} from "./helpers/fixture.ts";

const ZERO: Address = "0x0000000000000000000000000000000000000000";
const WINDOW = 3600;
const JOB_BOND = parseEther("0.1");
const PENALTY = parseEther("0.01");
const PRICE = parseEther("0.05");
const HostileMode = { Revert: 0, BurnGas: 1, Reenter: 2, RevertInputs: 3, HugeInputs: 4 } as const;

/** Consumer (wallet 1, an EOA) creates, funds and requests a subscription; returns its id. */
async function requestAsEoa(
  f: Fixture,
  overrides: Parameters<typeof subscriptionParams>[0] = {},
): Promise<bigint> {
  const p = subscriptionParams(overrides);
  const deposit = p.paymentAmount * BigInt(p.redundancy);
  const asConsumer = await coordinatorAs(f, wallet(f, 1));
  await asConsumer.write.requestCompute([p, deposit], { value: p.paymentToken === ZERO ? deposit : 0n });
  return f.coordinator.read.subscriptionCount();
}

/** Assigns the interval and returns the node of each slot. */
async function assignNow(f: Fixture, id: bigint, interval = 1): Promise<Address[]> {
  const receipt = await mined(f, await f.coordinator.write.assign([id, interval]));
  return parseEventLogs({ abi: f.coordinator.abi, logs: receipt.logs, eventName: "NodeAssigned" }).map(
    (e) => e.args.node,
  );
}

/**
 * deployFixture on a Cancun chain (the contracts' evmVersion). From Prague on, EIP-7623's calldata floor price hands a
 * data-heavy transaction spare execution gas, which hides gas-griefing through padded calldata.
 */
function deployCancunFixture(): Promise<Fixture> {
  return deployFixture({}, { override: { hardfork: "cancun" } });
}

const net = (amount: bigint, feeBps = 100n) => amount - (amount * feeBps) / 10_000n;
const fee = (amount: bigint, feeBps = 100n) => (amount * feeBps) / 10_000n;

describe("Coordinator delivery: eager and lazy", () => {
  it("eager: the consumer callback writes its state, the node is paid less the fee and its bond is released", async () => {
    const f = await deployFixture();
    const owner = wallet(f, 0);
    const [node] = await registerNodes(f, [2]);
    assert.ok(node);
    const consumer = await f.viem.deployContract("ExampleConsumer", [f.coordinator.address, addr(owner)]);
    await consumer.write.request([subscriptionParams().containerId, "0x1234", 1, PRICE], { value: PRICE });
    const asNode = await coordinatorAs(f, walletOf(f, node));

    const hash = await asNode.write.deliver([1n, 1, "0x5678", "0xbeef", "0x"]);
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "Delivered", [
      1n,
      1,
      0,
      node,
      keccak256("0xbeef"),
    ]);
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "Paid", [1n, node, net(PRICE), fee(PRICE)]);
    await f.viem.assertions.emitWithArgs(hash, consumer, "ResultReceived", [1n, 1, node, "0xbeef"]);
    await f.viem.assertions.emitWithArgs(hash, f.nodeRegistry, "BondReleased", [node, JOB_BOND, 0n]);
    const receipt = await mined(f, hash);
    assert.equal(
      parseEventLogs({ abi: f.coordinator.abi, logs: receipt.logs, eventName: "CallbackFailed" }).length,
      0,
    );

    assert.deepEqual(await consumer.read.results([1n]), [1, node, "0xbeef"]);
    assert.equal(await f.coordinator.read.credits([ZERO, node]), net(PRICE));
    assert.equal(await f.coordinator.read.credits([ZERO, addr(owner)]), fee(PRICE));
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [0n, 0n]);
    assert.equal(await f.nodeRegistry.read.freeStake([node]), STAKE);
    const [state, , slots] = await f.coordinator.read.getInterval([1n, 1]);
    assert.equal(state.delivered, 1);
    assert.equal(slots[0]?.status, Status.Paid);
    // Eager deliveries leave the inbox empty.
    assert.equal((await f.coordinator.read.inboxOf([1n, 1, node])).timestamp, 0);

    // The node cannot deliver twice.
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asNode.write.deliver([1n, 1, "0x", "0xbeef", "0x"]),
      f.coordinator,
      "NotAssigned",
      [1n, 1, node],
    );
  });

  it("lazy: the result is stored in the inbox per node, no callback runs and no callback gas is needed", async () => {
    const f = await deployFixture();
    const owner = wallet(f, 0);
    const nodes = await registerNodes(f, [2, 3]);
    const consumer = await f.viem.deployContract("ExampleConsumer", [f.coordinator.address, addr(owner)]);
    await consumer.write.subscribe([
      subscriptionParams({ lazy: true, redundancy: 2, callbackGasLimit: 2_000_000 }),
      0n,
    ]);
    await f.coordinator.write.requestInterval([1n]);
    await f.networkHelpers.mine();
    const assigned = await f.coordinator.read.previewAssignment([1n, 1]);
    assert.deepEqual([...assigned].sort(), [...nodes].sort());
    const [a, b] = assigned;
    assert.ok(a && b);

    // Far less gas than the 2,000,000 callback limit would need: lazy delivery never calls the consumer.
    const hashA = await (
      await coordinatorAs(f, walletOf(f, a))
    ).write.deliver([1n, 1, "0x", "0xbeef", "0xabcd"], { gas: 600_000n });
    const receiptA = await mined(f, hashA);
    await f.viem.assertions.emitWithArgs(hashA, f.coordinator, "Delivered", [
      1n,
      1,
      0,
      a,
      keccak256("0xbeef"),
    ]);
    assert.deepEqual(await f.coordinator.read.inboxOf([1n, 1, a]), {
      timestamp: await blockTime(f, receiptA.blockNumber),
      output: "0xbeef",
      proof: "0xabcd",
    });
    assert.equal((await f.coordinator.read.inboxOf([1n, 1, b])).timestamp, 0);

    const hashB = await (await coordinatorAs(f, walletOf(f, b))).write.deliver([1n, 1, "0x", "0xcafe", "0x"]);
    const receiptB = await mined(f, hashB);
    assert.deepEqual(await f.coordinator.read.inboxOf([1n, 1, b]), {
      timestamp: await blockTime(f, receiptB.blockNumber),
      output: "0xcafe",
      proof: "0x",
    });
    // The consumer's state is untouched, and an unpaid subscription emits no Paid.
    assert.deepEqual(await consumer.read.results([1n]), [0, ZERO, "0x"]);
    assert.equal(
      parseEventLogs({
        abi: f.coordinator.abi,
        logs: [...receiptA.logs, ...receiptB.logs],
        eventName: "Paid",
      }).length,
      0,
    );
    assert.equal((await f.coordinator.read.getInterval([1n, 1]))[0].delivered, 2);
    assert.equal(await f.nodeRegistry.read.freeStake([a]), STAKE);
  });
});

describe("Coordinator delivery: who may deliver, and when", () => {
  it("NotAssigned for a node that was not drawn, for an unregistered address; IntervalNotRequested; UnknownSubscription", async () => {
    const f = await deployFixture();
    const nodes = await registerNodes(f, [2, 3]);
    const id = await requestAsEoa(f, { paymentAmount: PRICE });
    const [assigned] = await assignNow(f, id);
    const other = nodes.find((n) => n !== assigned);
    assert.ok(other);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await coordinatorAs(f, walletOf(f, other))).write.deliver([id, 1, "0x", "0x01", "0x"]),
      f.coordinator,
      "NotAssigned",
      [id, 1, other],
    );
    const stranger = wallet(f, 8);
    const asStranger = await coordinatorAs(f, stranger);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.deliver([id, 1, "0x", "0x01", "0x"]),
      f.coordinator,
      "NotAssigned",
      [id, 1, addr(stranger)],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.deliver([id, 2, "0x", "0x01", "0x"]),
      f.coordinator,
      "IntervalNotRequested",
      [id, 2],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.deliver([9n, 1, "0x", "0x01", "0x"]),
      f.coordinator,
      "UnknownSubscription",
      [9n],
    );
  });

  it("accepts a delivery at the deadline itself and rejects one a second later with DeadlinePassed", async () => {
    const f = await deployFixture();
    await registerNodes(f, [2, 3]);
    await requestAsEoa(f, { redundancy: 2 });
    const [a, b] = await assignNow(f, 1n);
    assert.ok(a && b);
    const deadline = (await f.coordinator.read.getInterval([1n, 1]))[2][0]?.deadline;
    assert.ok(deadline);
    await f.networkHelpers.time.setNextBlockTimestamp(deadline);
    await (await coordinatorAs(f, walletOf(f, a))).write.deliver([1n, 1, "0x", "0x01", "0x"]);
    assert.equal((await f.coordinator.read.getInterval([1n, 1]))[2][0]?.status, Status.Paid);
    await f.networkHelpers.time.setNextBlockTimestamp(deadline + 1);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await coordinatorAs(f, walletOf(f, b))).write.deliver([1n, 1, "0x", "0x01", "0x"]),
      f.coordinator,
      "DeadlinePassed",
      [1n, 1, 1, deadline],
    );
  });

  it("interval rule: a delivery one block after the period boundary of a recurring subscription is accepted and paid", async () => {
    const f = await deployFixture();
    const [node] = await registerNodes(f, [2]);
    assert.ok(node);
    const period = 60;
    const activeAt = (await f.networkHelpers.time.latest()) + 10;
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    await asConsumer.write.createSubscription(
      [subscriptionParams({ activeAt, period, frequency: 3, paymentAmount: PRICE }), 3n * PRICE],
      {
        value: 3n * PRICE,
      },
    );
    await f.networkHelpers.time.setNextBlockTimestamp(activeAt + period - 2);
    await f.coordinator.write.requestInterval([1n]);
    await f.networkHelpers.time.setNextBlockTimestamp(activeAt + period - 1);
    assert.deepEqual(await assignNow(f, 1n), [node]);

    // Interval 2 has started; interval 1 is still deliverable and paid.
    await f.networkHelpers.time.setNextBlockTimestamp(activeAt + period + 1);
    const hash = await (await coordinatorAs(f, walletOf(f, node))).write.deliver([1n, 1, "0x", "0x01", "0x"]);
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "Paid", [1n, node, net(PRICE), fee(PRICE)]);
    const receipt = await mined(f, hash);
    assert.equal(await blockTime(f, receipt.blockNumber), activeAt + period + 1);
    assert.equal(await f.coordinator.read.currentInterval([1n]), 2);
    // And interval 2 can be requested independently.
    await f.coordinator.write.requestInterval([1n]);
    assert.equal((await f.coordinator.read.getSubscription([1n])).lastInterval, 2);
  });
});

describe("Coordinator delivery: hostile consumers", () => {
  async function hostileSetup(mode: number, callbackGasLimit = 200_000) {
    const f = await deployFixture();
    const [node] = await registerNodes(f, [2]);
    assert.ok(node);
    const hostile = await f.viem.deployContract("HostileConsumer", [f.coordinator.address]);
    await hostile.write.requestCompute([subscriptionParams({ paymentAmount: PRICE, callbackGasLimit })], {
      value: PRICE,
    });
    await hostile.write.setMode([mode]);
    return { f, node, hostile, asNode: await coordinatorAs(f, walletOf(f, node)) };
  }

  it("a reverting consumer: CallbackFailed is recorded and the node is still paid", async () => {
    const { f, node, asNode } = await hostileSetup(HostileMode.Revert);
    const hash = await asNode.write.deliver([1n, 1, "0x", "0x01", "0x"]);
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "CallbackFailed", [1n, 1, 0]);
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "Paid", [1n, node, net(PRICE), fee(PRICE)]);
    assert.equal(await f.coordinator.read.credits([ZERO, node]), net(PRICE));
    assert.equal((await f.coordinator.read.getInterval([1n, 1]))[2][0]?.status, Status.Paid);
  });

  it("a gas-burning consumer gets exactly its callbackGasLimit; the node is paid", async () => {
    for (const limit of [100_000, 1_000_000]) {
      const { f, node, asNode } = await hostileSetup(HostileMode.BurnGas, limit);
      const hash = await asNode.write.deliver([1n, 1, "0x", "0x01", "0x"]);
      const receipt = await mined(f, hash);
      await f.viem.assertions.emitWithArgs(hash, f.coordinator, "CallbackFailed", [1n, 1, 0]);
      assert.equal(await f.coordinator.read.credits([ZERO, node]), net(PRICE));
      // The callee burned its whole limit, and not more: the rest of deliver (including the assignment it performs,
      // with a trust-model read per candidate) costs well under 200k.
      assert.ok(receipt.gasUsed > BigInt(limit), `gasUsed ${receipt.gasUsed} > ${limit}`);
      assert.ok(receipt.gasUsed < BigInt(limit) + 200_000n, `gasUsed ${receipt.gasUsed} < ${limit} + 200k`);
    }
  });

  it("a reentrant consumer (also an assigned node) cannot deliver from inside the callback; the delivering node is paid", async () => {
    const f = await deployFixture();
    const [node] = await registerNodes(f, [2]);
    assert.ok(node);
    const hostile = await f.viem.deployContract("HostileConsumer", [f.coordinator.address]);
    await registerNode(f, 3, hostile.address, STAKE);
    await hostile.write.requestCompute([subscriptionParams({ redundancy: 2, paymentAmount: PRICE })], {
      value: 2n * PRICE,
    });
    await hostile.write.setMode([HostileMode.Reenter]);
    const assigned = await assignNow(f, 1n);
    assert.deepEqual([...assigned].sort(), [node, getAddress(hostile.address)].sort());

    const hash = await (await coordinatorAs(f, walletOf(f, node))).write.deliver([1n, 1, "0x", "0x01", "0x"]);
    const slotOfNode = assigned.indexOf(node);
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "CallbackFailed", [1n, 1, slotOfNode]);
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "Paid", [1n, node, net(PRICE), fee(PRICE)]);
    const receipt = await mined(f, hash);
    assert.equal(
      parseEventLogs({ abi: f.coordinator.abi, logs: receipt.logs, eventName: "Delivered" }).length,
      1,
    );

    const [state, , slots] = await f.coordinator.read.getInterval([1n, 1]);
    assert.equal(state.delivered, 1);
    assert.equal(slots[slotOfNode]?.status, Status.Paid);
    assert.equal(slots[1 - slotOfNode]?.status, Status.Assigned);
    assert.equal(await f.coordinator.read.credits([ZERO, node]), net(PRICE));
    assert.equal(await f.coordinator.read.credits([ZERO, hostile.address]), 0n);
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [PRICE, PRICE]);
  });

  it("InsufficientCallbackGas when the node sends too little gas for the callback limit", async () => {
    const f = await deployFixture();
    const [node] = await registerNodes(f, [2]);
    assert.ok(node);
    await requestAsEoa(f, { callbackGasLimit: 2_000_000 });
    const asNode = await coordinatorAs(f, walletOf(f, node));
    const required = 2_000_000n + 2_000_000n / 63n + 12_000n;
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asNode.write.deliver([1n, 1, "0x", "0x01", "0x"], { gas: 1_000_000n }),
      f.coordinator,
      "InsufficientCallbackGas",
      [(available: unknown) => typeof available === "bigint" && available < required, required],
    );
    assert.equal((await f.coordinator.read.getInterval([1n, 1]))[0].delivered, 0);
    // With enough gas the same delivery goes through.
    const receipt = await mined(f, await asNode.write.deliver([1n, 1, "0x", "0x01", "0x"]));
    assert.ok(receipt.gasUsed < required);
  });

  it("a node cannot starve the callback by padding the proof: at the least gas the node can send, the consumer still gets its full limit", async () => {
    const f = await deployCancunFixture();
    const owner = wallet(f, 0);
    const [node] = await registerNodes(f, [2]);
    assert.ok(node);
    const consumer = await f.viem.deployContract("ExampleConsumer", [f.coordinator.address, addr(owner)]);
    // Storing a 900-byte result costs ExampleConsumer about 720k gas: a 760k limit leaves it a 40k margin.
    await consumer.write.subscribe([subscriptionParams({ callbackGasLimit: 760_000 }), 0n]);
    await f.coordinator.write.requestInterval([1n]);
    await f.coordinator.write.assign([1n, 1]);
    const asNode = await coordinatorAs(f, walletOf(f, node));
    const output: Hex = `0x${"be".repeat(900)}`;
    // Encoding 256 KiB of padding into the callback costs far more than that margin.
    const proof: Hex = `0x${"00".repeat(256 * 1024)}`;

    // Smallest gas at which the delivery transaction succeeds (binary search on snapshots).
    const snapshot = await f.networkHelpers.takeSnapshot();
    const succeeds = async (gas: bigint) => {
      try {
        const receipt = await f.publicClient.waitForTransactionReceipt({
          hash: await asNode.write.deliver([1n, 1, "0x", output, proof], { gas }),
        });
        return receipt.status === "success";
      } catch {
        return false;
      } finally {
        await snapshot.restore();
      }
    };
    let lo = 100_000n;
    let hi = 8_000_000n;
    assert.equal(await succeeds(hi), true);
    while (hi - lo > 500n) {
      const mid = (lo + hi) / 2n;
      if (await succeeds(mid)) hi = mid;
      else lo = mid;
    }
    const hash = await asNode.write.deliver([1n, 1, "0x", output, proof], { gas: hi });
    const receipt = await mined(f, hash);
    assert.equal(
      parseEventLogs({ abi: f.coordinator.abi, logs: receipt.logs, eventName: "CallbackFailed" }).length,
      0,
    );
    assert.deepEqual(await consumer.read.results([1n]), [1, node, output]);
  });

  it("BaseConsumer accepts results from the Coordinator only (NotCoordinator)", async () => {
    const f = await deployFixture();
    const owner = wallet(f, 0);
    const consumer = await f.viem.deployContract("ExampleConsumer", [f.coordinator.address, addr(owner)]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      consumer.write.receiveCompute([1n, 1, 0, addr(owner), "0x", "0xbeef", "0x"]),
      consumer,
      "NotCoordinator",
      [addr(owner)],
    );
  });
});

describe("Coordinator delivery: verifier path", () => {
  it("holds payment and bond until the verifier settles: settle(10,000) pays and releases, settle(0) returns the payment", async () => {
    const f = await deployFixture();
    await registerNodes(f, [2, 3]);
    const verifier = await f.viem.deployContract("TestVerifier", [f.coordinator.address]);
    // Only allow-listed verifiers can be named.
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      requestAsEoa(f, { redundancy: 2, paymentAmount: PRICE, verifier: verifier.address }),
      f.coordinator,
      "UnknownVerifier",
      [verifier.address],
    );
    await f.viem.assertions.emitWithArgs(
      f.coordinator.write.setVerifier([verifier.address, true]),
      f.coordinator,
      "VerifierSet",
      [verifier.address, true],
    );
    const id = await requestAsEoa(f, { redundancy: 2, paymentAmount: PRICE, verifier: verifier.address });
    const [a, b] = await assignNow(f, id);
    assert.ok(a && b);
    const asVerifier = verifier;

    // Nothing delivered yet: nothing to settle.
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asVerifier.write.settle([id, 1, 0, 10_000]),
      f.coordinator,
      "WrongSlotStatus",
      [id, 1, 0, Status.Assigned],
    );

    // A verifier that refuses a delivery rejects it as a whole.
    await verifier.write.setRefuse([true]);
    await f.viem.assertions.revertWithCustomError(
      (await coordinatorAs(f, walletOf(f, a))).write.deliver([id, 1, "0x", "0x01", "0x"]),
      verifier,
      "Refused",
    );
    await verifier.write.setRefuse([false]);
    for (const [i, n] of [a, b].entries()) {
      const hash = await (
        await coordinatorAs(f, walletOf(f, n))
      ).write.deliver([id, 1, "0x", "0x01", "0xc0ffee"]);
      // The verifier sees the node, the output's hash, the payment and the proof (its commitment).
      await f.viem.assertions.emitWithArgs(hash, verifier, "DeliveryRecorded", [
        id,
        1,
        i,
        n,
        keccak256("0x01"),
        PRICE,
        JOB_BOND,
        "0xc0ffee",
      ]);
      const receipt = await mined(f, hash);
      assert.equal(
        parseEventLogs({ abi: f.coordinator.abi, logs: receipt.logs, eventName: "Paid" }).length,
        0,
      );
      assert.equal(
        parseEventLogs({ abi: f.nodeRegistry.abi, logs: receipt.logs, eventName: "BondReleased" }).length,
        0,
      );
    }
    let slots = (await f.coordinator.read.getInterval([id, 1]))[2];
    assert.deepEqual(
      slots.map((s) => s.status),
      [Status.Held, Status.Held],
    );
    assert.deepEqual(await f.coordinator.read.escrowOf([id]), [2n * PRICE, 2n * PRICE]);
    assert.equal(await f.nodeRegistry.read.freeStake([a]), STAKE - JOB_BOND);

    // A delivered slot is no longer the node's to lose, even after its deadline.
    await f.networkHelpers.time.increase(WINDOW + 1);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.reassign([id, 1, 0]),
      f.coordinator,
      "WrongSlotStatus",
      [id, 1, 0, Status.Held],
    );

    const stranger = wallet(f, 8);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await coordinatorAs(f, stranger)).write.settle([id, 1, 0, 10_000]),
      f.coordinator,
      "NotVerifier",
      [id, addr(stranger)],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await coordinatorAs(f, walletOf(f, a))).write.settle([id, 1, 0, 10_000]),
      f.coordinator,
      "NotVerifier",
      [id, a],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asVerifier.write.settle([id, 1, 2, 10_000]),
      f.coordinator,
      "InvalidSlot",
      [id, 1, 2],
    );

    const pay = await asVerifier.write.settle([id, 1, 0, 10_000]);
    await f.viem.assertions.emitWithArgs(pay, f.coordinator, "Settled", [id, 1, 0, a, 10_000]);
    await f.viem.assertions.emitWithArgs(pay, f.coordinator, "Paid", [id, a, net(PRICE), fee(PRICE)]);
    assert.equal(
      parseEventLogs({ abi: f.coordinator.abi, logs: (await mined(f, pay)).logs, eventName: "Unlocked" })
        .length,
      0,
      "a full payment unlocks nothing",
    );
    await f.viem.assertions.emitWithArgs(pay, f.nodeRegistry, "BondReleased", [a, JOB_BOND, 0n]);
    assert.equal(await f.coordinator.read.credits([ZERO, a]), net(PRICE));
    assert.equal(await f.nodeRegistry.read.freeStake([a]), STAKE);

    const refuse = await asVerifier.write.settle([id, 1, 1, 0]);
    await f.viem.assertions.emitWithArgs(refuse, f.coordinator, "Settled", [id, 1, 1, b, 0]);
    await f.viem.assertions.emitWithArgs(refuse, f.coordinator, "Unlocked", [id, PRICE]);
    assert.equal(await f.coordinator.read.credits([ZERO, b]), 0n);
    // On refusal the bond stays bonded for the verifier to slash or release in the NodeRegistry.
    assert.equal(await f.nodeRegistry.read.freeStake([b]), STAKE - JOB_BOND);
    assert.deepEqual(await f.coordinator.read.escrowOf([id]), [PRICE, 0n]);

    slots = (await f.coordinator.read.getInterval([id, 1]))[2];
    assert.deepEqual(
      slots.map((s) => s.status),
      [Status.Paid, Status.Refunded],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asVerifier.write.settle([id, 1, 0, 0]),
      f.coordinator,
      "WrongSlotStatus",
      [id, 1, 0, Status.Paid],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asVerifier.write.settle([id, 1, 1, 10_000]),
      f.coordinator,
      "WrongSlotStatus",
      [id, 1, 1, Status.Refunded],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asVerifier.write.settle([99n, 1, 0, 10_000]),
      f.coordinator,
      "UnknownSubscription",
      [99n],
    );
    // The refused payment is the owner's to take back.
    await (await coordinatorAs(f, wallet(f, 1))).write.withdrawFunds([id, PRICE]);
    assert.deepEqual(await f.coordinator.read.escrowOf([id]), [0n, 0n]);
  });

  it("settle(payBps) in between pays that share less the fee on it, unlocks the rest and releases the bond; payBps above 10,000 reverts PayBpsTooHigh", async () => {
    const f = await deployFixture();
    await registerNodes(f, [2, 3]);
    const verifier = await f.viem.deployContract("TestVerifier", [f.coordinator.address]);
    await f.coordinator.write.setVerifier([verifier.address, true]);
    const id = await requestAsEoa(f, { redundancy: 2, paymentAmount: PRICE, verifier: verifier.address });
    const [a, b] = await assignNow(f, id);
    assert.ok(a && b);
    for (const n of [a, b])
      await (await coordinatorAs(f, walletOf(f, n))).write.deliver([id, 1, "0x", "0x01", "0x"]);
    const treasury = (await f.coordinator.read.params())[4];
    const treasuryBefore = await f.coordinator.read.credits([ZERO, treasury]);

    await f.viem.assertions.revertWithCustomErrorWithArgs(
      verifier.write.settle([id, 1, 0, 10_001]),
      f.coordinator,
      "PayBpsTooHigh",
      [10_001, 10_000],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      verifier.write.settle([id, 1, 0, 65_535]),
      f.coordinator,
      "PayBpsTooHigh",
      [65_535, 10_000],
    );

    // A quarter of 0.05 ETH: 0.0125 ETH paid, of which the 1 % fee is 0.000125 ETH; 0.0375 ETH back to the consumer.
    const quarter = await verifier.write.settle([id, 1, 0, 2_500]);
    await f.viem.assertions.emitWithArgs(quarter, f.coordinator, "Settled", [id, 1, 0, a, 2_500]);
    await f.viem.assertions.emitWithArgs(quarter, f.coordinator, "Paid", [
      id,
      a,
      parseEther("0.012375"),
      parseEther("0.000125"),
    ]);
    await f.viem.assertions.emitWithArgs(quarter, f.coordinator, "Unlocked", [id, parseEther("0.0375")]);
    await f.viem.assertions.emitWithArgs(quarter, f.nodeRegistry, "BondReleased", [a, JOB_BOND, 0n]);
    assert.equal(await f.coordinator.read.credits([ZERO, a]), parseEther("0.012375"));
    assert.equal(
      (await f.coordinator.read.credits([ZERO, treasury])) - treasuryBefore,
      parseEther("0.000125"),
    );
    assert.deepEqual(await f.coordinator.read.escrowOf([id]), [PRICE + parseEther("0.0375"), PRICE]);
    assert.equal(await f.nodeRegistry.read.freeStake([a]), STAKE);

    // 1 bps still accepts the delivery (the bond is released): 0.000005 ETH paid, fee 0.00000005 ETH.
    const least = await verifier.write.settle([id, 1, 1, 1]);
    await f.viem.assertions.emitWithArgs(least, f.coordinator, "Paid", [
      id,
      b,
      parseEther("0.00000495"),
      parseEther("0.00000005"),
    ]);
    await f.viem.assertions.emitWithArgs(least, f.coordinator, "Unlocked", [id, parseEther("0.049995")]);
    assert.equal(await f.nodeRegistry.read.freeStake([b]), STAKE);
    const slots = (await f.coordinator.read.getInterval([id, 1]))[2];
    assert.deepEqual(
      slots.map((s) => s.status),
      [Status.Paid, Status.Paid],
    );
    // Everything unlocked is the owner's to take back: 2 × 0.05 − 0.0125 − 0.000005 ETH.
    const back = 2n * PRICE - parseEther("0.0125") - parseEther("0.000005");
    assert.deepEqual(await f.coordinator.read.escrowOf([id]), [back, 0n]);
    await (await coordinatorAs(f, wallet(f, 1))).write.withdrawFunds([id, back]);
    assert.deepEqual(await f.coordinator.read.escrowOf([id]), [0n, 0n]);
  });
});

describe("Coordinator delivery: fees and parameters", () => {
  it("splits payments by feeBps, rounding the fee down; a zero fee credits nothing to the treasury", async () => {
    const f = await deployFixture();
    const treasury = addr(wallet(f, 0));
    const [node] = await registerNodes(f, [2]);
    assert.ok(node);
    const asNode = await coordinatorAs(f, walletOf(f, node));

    await requestAsEoa(f, { paymentAmount: 199n });
    await f.viem.assertions.emitWithArgs(
      asNode.write.deliver([1n, 1, "0x", "0x01", "0x"]),
      f.coordinator,
      "Paid",
      [1n, node, 198n, 1n],
    );
    assert.equal(await f.coordinator.read.credits([ZERO, treasury]), 1n);

    const base = await coordinatorParams(f);

    await f.coordinator.write.setParams([{ ...base, feeBps: 0 }]);
    await requestAsEoa(f, { paymentAmount: 10_000n });
    const zeroFee = await asNode.write.deliver([2n, 1, "0x", "0x01", "0x"]);
    await f.viem.assertions.emitWithArgs(zeroFee, f.coordinator, "Paid", [2n, node, 10_000n, 0n]);
    assert.equal(await f.coordinator.read.credits([ZERO, treasury]), 1n);

    await f.coordinator.write.setParams([{ ...base, feeBps: 1_000 }]);
    await requestAsEoa(f, { paymentAmount: 10_009n });
    await f.viem.assertions.emitWithArgs(
      asNode.write.deliver([3n, 1, "0x", "0x01", "0x"]),
      f.coordinator,
      "Paid",
      [3n, node, 9_009n, 1_000n],
    );
    assert.equal(await f.coordinator.read.credits([ZERO, treasury]), 1_001n);
    assert.equal(await f.coordinator.read.credits([ZERO, node]), 198n + 10_000n + 9_009n);
  });

  it("setParams: owner only, FeeTooHigh above MAX_FEE_BPS, InvalidParams for a zero window or treasury, ParamsSet on success", async () => {
    const f = await deployFixture();
    const newTreasury = addr(wallet(f, 9));
    const good = {
      deliveryWindow: 600,
      maxCallbackGasLimit: 500_000,
      feeBps: 1_000,
      maxReassignments: 1,
      treasury: newTreasury,
      jobBond: parseEther("0.2"),
      livenessPenalty: parseEther("0.05"),
    };
    assert.equal(await f.coordinator.read.MAX_FEE_BPS(), 1_000);
    const stranger = wallet(f, 8);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await coordinatorAs(f, stranger)).write.setParams([good]),
      f.coordinator,
      "OwnableUnauthorizedAccount",
      [addr(stranger)],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.setParams([{ ...good, feeBps: 1_001 }]),
      f.coordinator,
      "FeeTooHigh",
      [1_001, 1_000],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.setParams([{ ...good, deliveryWindow: 0 }]),
      f.coordinator,
      "InvalidParams",
      [],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.setParams([{ ...good, treasury: ZERO }]),
      f.coordinator,
      "InvalidParams",
      [],
    );

    await f.viem.assertions.emitWithArgs(f.coordinator.write.setParams([good]), f.coordinator, "ParamsSet", [
      good,
    ]);
    assert.deepEqual(await f.coordinator.read.params(), [
      600,
      500_000,
      1_000,
      1,
      newTreasury,
      parseEther("0.2"),
      parseEther("0.05"),
    ]);

    // The new limits apply at once: a higher callback limit is refused, a new request gets the new window.
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.createSubscription([subscriptionParams({ callbackGasLimit: 500_001 }), 0n]),
      f.coordinator,
      "CallbackGasLimitTooHigh",
      [500_001, 500_000],
    );
    const receipt = await mined(f, await asConsumer.write.requestCompute([subscriptionParams(), 0n]));
    assert.equal(
      (await f.coordinator.read.getInterval([1n, 1]))[2][0]?.deadline,
      (await blockTime(f, receipt.blockNumber)) + 600,
    );
  });

  it("ownership moves in two steps (Ownable2Step); only the current owner sets parameters; renouncing freezes them", async () => {
    const f = await deployFixture();
    const next = wallet(f, 9);
    const p = await coordinatorParams(f);
    assert.equal(await f.coordinator.read.owner(), addr(wallet(f, 0)));
    await f.coordinator.write.transferOwnership([addr(next)]);
    assert.equal(await f.coordinator.read.pendingOwner(), addr(next));
    assert.equal(await f.coordinator.read.owner(), addr(wallet(f, 0)));
    const asNext = await coordinatorAs(f, next);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await coordinatorAs(f, wallet(f, 8))).write.acceptOwnership(),
      f.coordinator,
      "OwnableUnauthorizedAccount",
      [addr(wallet(f, 8))],
    );
    await asNext.write.acceptOwnership();
    assert.equal(await f.coordinator.read.owner(), addr(next));
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.setParams([p]),
      f.coordinator,
      "OwnableUnauthorizedAccount",
      [addr(wallet(f, 0))],
    );
    await f.viem.assertions.emitWithArgs(
      asNext.write.setParams([{ ...p, feeBps: 5 }]),
      f.coordinator,
      "ParamsSet",
      [{ ...p, feeBps: 5 }],
    );
    await asNext.write.renounceOwnership();
    assert.equal(await f.coordinator.read.owner(), ZERO);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asNext.write.setParams([p]),
      f.coordinator,
      "OwnableUnauthorizedAccount",
      [addr(next)],
    );
  });

  it("a job bond changed by governance while a node works: delivery releases exactly the bond that was taken", async () => {
    for (const newBond of [parseEther("0.3"), parseEther("0.05")]) {
      const f = await deployFixture();
      const [node] = await registerNodes(f, [2]);
      assert.ok(node);
      await requestAsEoa(f, { paymentAmount: PRICE });
      assert.deepEqual(await assignNow(f, 1n), [node]);
      assert.equal((await f.nodeRegistry.read.getNode([node]))[0].bonded, JOB_BOND);
      await setJobBond(f, newBond);
      const hash = await (
        await coordinatorAs(f, walletOf(f, node))
      ).write.deliver([1n, 1, "0x", "0x01", "0x"]);
      await f.viem.assertions.emitWithArgs(hash, f.nodeRegistry, "BondReleased", [node, JOB_BOND, 0n]);
      assert.equal((await f.nodeRegistry.read.getNode([node]))[0].bonded, 0n);
    }
  });

  it("a job bond changed by governance before a missed deadline: reassign slashes the bond that was taken", async () => {
    const f = await deployFixture();
    const nodes = await registerNodes(f, [2, 3]);
    await requestAsEoa(f, { paymentAmount: PRICE });
    const [missed] = await assignNow(f, 1n);
    assert.ok(missed && nodes.includes(missed));
    await setJobBond(f, parseEther("0.5"));
    await f.networkHelpers.time.increase(WINDOW + 1);
    const hash = await f.coordinator.write.reassign([1n, 1, 0]);
    await f.viem.assertions.emitWithArgs(hash, f.nodeRegistry, "Slashed", [
      missed,
      getAddress(f.coordinator.address),
      JOB_BOND,
      PENALTY,
      0n,
    ]);
    const [info] = await f.nodeRegistry.read.getNode([missed]);
    assert.equal(info.bonded, 0n);
    assert.equal(info.staked, STAKE - PENALTY);
  });
});

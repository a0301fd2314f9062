import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, keccak256, parseEther, parseEventLogs, toBytes, type Address, type Hex } from "viem";
import {
  blockTime,
  coordinatorAs,
  deployFixture,
  mined,
  registerNode,
  registerNodes,
  subscriptionParams,
  wallet,
  walletOf,
  SlotStatus as Status,
  STAKE,
  type Fixture,
} from "./helpers/fixture.ts";

const WINDOW = 3600;
const JOB_BOND = parseEther("0.1");
const PENALTY = parseEther("0.01");
const PRICE = parseEther("0.05");

/** Paid request of `redundancy` nodes by the consumer (wallet 1); returns the request receipt. */
async function request(f: Fixture, redundancy: number) {
  const asConsumer = await coordinatorAs(f, wallet(f, 1));
  const deposit = PRICE * BigInt(redundancy);
  const hash = await asConsumer.write.requestCompute(
    [subscriptionParams({ redundancy, paymentAmount: PRICE }), deposit],
    {
      value: deposit,
    },
  );
  return f.publicClient.waitForTransactionReceipt({ hash });
}

async function assignedEvents(f: Fixture, hash: Hex) {
  const receipt = await mined(f, hash);
  return {
    receipt,
    events: parseEventLogs({ abi: f.coordinator.abi, logs: receipt.logs, eventName: "NodeAssigned" }),
  };
}

async function slotsOf(f: Fixture, id: bigint, interval: number) {
  return (await f.coordinator.read.getInterval([id, interval]))[2];
}

describe("Coordinator assignment: assign and previewAssignment", () => {
  it("assigns redundancy 3 to three distinct nodes out of four, exactly as previewed, and bonds each one", async () => {
    const f = await deployFixture();
    const nodes = await registerNodes(f, [2, 3, 4, 5]);
    await request(f, 3);
    // At `latest` the request block's round is not readable yet: the preview shows nobody rather than a guess.
    assert.deepEqual(await f.coordinator.read.previewAssignment([1n, 1]), []);
    await f.networkHelpers.mine();

    const preview = await f.coordinator.read.previewAssignment([1n, 1]);
    assert.equal(preview.length, 3);
    assert.equal(new Set(preview).size, 3, "distinct nodes");
    for (const n of preview) assert.ok(nodes.includes(n));

    // Anyone may call assign.
    const asStranger = await coordinatorAs(f, wallet(f, 9));
    const { receipt, events } = await assignedEvents(f, await asStranger.write.assign([1n, 1]));
    const deadline = (await blockTime(f, receipt.blockNumber)) + WINDOW;
    assert.deepEqual(
      events.map((e) => e.args),
      preview.map((node, slot) => ({ subscriptionId: 1n, interval: 1, slot, node, deadline })),
    );
    const slots = await slotsOf(f, 1n, 1);
    assert.deepEqual(
      slots,
      preview.map((node) => ({ node, deadline, status: Status.Assigned })),
    );
    for (const n of nodes) {
      const expected = preview.includes(n) ? STAKE - JOB_BOND : STAKE;
      assert.equal(await f.nodeRegistry.read.freeStake([n]), expected, `free stake of ${n}`);
    }
    const bonded = parseEventLogs({ abi: f.nodeRegistry.abi, logs: receipt.logs, eventName: "Bonded" });
    assert.deepEqual(
      bonded.map((e) => [e.args.node, e.args.amount]),
      preview.map((n) => [n, JOB_BOND]),
    );

    // Nothing is left to assign: the preview is empty and assign is a no-op.
    assert.deepEqual(await f.coordinator.read.previewAssignment([1n, 1]), []);
    const again = await assignedEvents(f, await f.coordinator.write.assign([1n, 1]));
    assert.equal(again.receipt.logs.length, 0);
  });

  it("preview equals the assignment made by deliver's implicit assign across several requests", async () => {
    const f = await deployFixture();
    await registerNodes(f, [2, 3, 4, 5, 6]);
    for (let id = 1n; id <= 4n; id++) {
      await request(f, 2);
      await f.networkHelpers.mine();
      const preview = await f.coordinator.read.previewAssignment([id, 1]);
      assert.equal(preview.length, 2);
      const first = preview[0];
      assert.ok(first);
      const asNode = await coordinatorAs(f, walletOf(f, first));
      const { events } = await assignedEvents(f, await asNode.write.deliver([id, 1, "0x", "0x01", "0x"]));
      assert.deepEqual(
        events.map((e) => e.args.node),
        preview,
      );
    }
  });

  it("RandomnessNotReady in the request block (assign and deliver); preview shows nobody until the round is ready", async () => {
    const f = await deployFixture();
    const [node] = await registerNodes(f, [2]);
    assert.ok(node);
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    const asNode = await coordinatorAs(f, walletOf(f, node));
    await f.connection.provider.request({ method: "evm_setAutomine", params: [false] });
    try {
      await asConsumer.write.requestCompute([subscriptionParams(), 0n], { gas: 1_000_000n });
      const round = (await f.publicClient.getBlockNumber()) + 1n;
      const pending = { blockTag: "pending" } as never;
      await f.viem.assertions.revertWithCustomErrorWithArgs(
        f.coordinator.simulate.assign([1n, 1], pending),
        f.coordinator,
        "RandomnessNotReady",
        [round],
      );
      await f.viem.assertions.revertWithCustomErrorWithArgs(
        asNode.simulate.deliver([1n, 1, "0x", "0x01", "0x"], pending),
        f.coordinator,
        "RandomnessNotReady",
        [round],
      );
      assert.deepEqual(await f.coordinator.read.previewAssignment([1n, 1], pending), []);
    } finally {
      await f.connection.provider.request({ method: "evm_setAutomine", params: [true] });
    }
    // Mining the request block is not enough: at `latest` its own round is still unreadable.
    await f.networkHelpers.mine();
    assert.deepEqual(await f.coordinator.read.previewAssignment([1n, 1]), []);
    await f.networkHelpers.mine();
    assert.deepEqual(await f.coordinator.read.previewAssignment([1n, 1]), [node]);
    await asNode.write.deliver([1n, 1, "0x", "0x01", "0x"]);
    assert.equal((await slotsOf(f, 1n, 1))[0]?.status, Status.Paid);
  });

  it("previewAssignment of an interval that was never requested is empty; assign reverts IntervalNotRequested", async () => {
    const f = await deployFixture();
    await registerNodes(f, [2, 3]);
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    await asConsumer.write.createSubscription([subscriptionParams({ period: 60, frequency: 3 }), 0n]);
    await f.networkHelpers.mine(2);
    assert.deepEqual(await f.coordinator.read.previewAssignment([1n, 1]), []);
    assert.deepEqual(await f.coordinator.read.previewAssignment([1n, 2]), []);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.assign([1n, 2]),
      f.coordinator,
      "IntervalNotRequested",
      [1n, 2],
    );
  });

  it("with fewer eligible nodes than redundancy fills what it can; a node that joins later takes the empty slot", async () => {
    const f = await deployFixture();
    const [a] = await registerNodes(f, [2]);
    const req = await request(f, 2);
    const requestDeadline = (await blockTime(f, req.blockNumber)) + WINDOW;
    const first = await assignedEvents(f, await f.coordinator.write.assign([1n, 1]));
    assert.deepEqual(
      first.events.map((e) => [e.args.slot, e.args.node]),
      [[0, a]],
    );
    let slots = await slotsOf(f, 1n, 1);
    assert.deepEqual(slots[1], {
      node: "0x0000000000000000000000000000000000000000",
      deadline: requestDeadline,
      status: Status.Empty,
    });
    assert.deepEqual(await f.coordinator.read.previewAssignment([1n, 1]), []);

    const [b] = await registerNodes(f, [3]);
    assert.deepEqual(await f.coordinator.read.previewAssignment([1n, 1]), [b]);
    const second = await assignedEvents(f, await f.coordinator.write.assign([1n, 1]));
    assert.deepEqual(
      second.events.map((e) => [e.args.slot, e.args.node]),
      [[1, b]],
    );
    slots = await slotsOf(f, 1n, 1);
    assert.deepEqual(
      slots.map((s) => [s.node, s.status]),
      [
        [a, Status.Assigned],
        [b, Status.Assigned],
      ],
    );
  });

  it("nodes that do not serve the container or are below the minimum active stake are never assigned", async () => {
    const f = await deployFixture();
    await f.containerRegistry.write.registerContainer(["other", `0x${"00".repeat(32)}`]);
    await registerNode(f, 2, wallet(f, 2).account.address, STAKE, [keccak256(toBytes("other"))]);
    const [weak] = await registerNodes(f, [3]);
    assert.ok(weak);
    const asWeakOperator = await f.viem.getContractAt("NodeRegistry", f.nodeRegistry.address, {
      client: { wallet: wallet(f, 3) },
    });
    await asWeakOperator.write.requestUnbond([weak, parseEther("1.5")]);
    await request(f, 1);
    assert.deepEqual(await f.coordinator.read.previewAssignment([1n, 1]), []);
    const { events } = await assignedEvents(f, await f.coordinator.write.assign([1n, 1]));
    assert.equal(events.length, 0);
    // Once the weak node is topped up it becomes eligible.
    await asWeakOperator.write.addStake([weak, parseEther("1")], { value: parseEther("1") });
    assert.deepEqual(await f.coordinator.read.previewAssignment([1n, 1]), [weak]);
  });
});

describe("Coordinator assignment: expireSlot and InvalidSlot", () => {
  it("expires an empty slot after its deadline and unlocks its payment; guards status, deadline and slot index", async () => {
    const f = await deployFixture();
    await registerNodes(f, [2, 3]);
    const req = await request(f, 3);
    const deadline = (await blockTime(f, req.blockNumber)) + WINDOW;
    await f.coordinator.write.assign([1n, 1]);
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [3n * PRICE, 3n * PRICE]);

    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.expireSlot([1n, 1, 2]),
      f.coordinator,
      "DeadlineNotPassed",
      [1n, 1, 2, deadline],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.expireSlot([1n, 1, 3]),
      f.coordinator,
      "InvalidSlot",
      [1n, 1, 3],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.expireSlot([1n, 2, 0]),
      f.coordinator,
      "InvalidSlot",
      [1n, 2, 0],
    );

    await f.networkHelpers.time.increaseTo(deadline + 1);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.expireSlot([1n, 1, 0]),
      f.coordinator,
      "WrongSlotStatus",
      [1n, 1, 0, Status.Assigned],
    );
    const asStranger = await coordinatorAs(f, wallet(f, 9));
    const hash = await asStranger.write.expireSlot([1n, 1, 2]);
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "SlotExpired", [1n, 1, 2]);
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "Unlocked", [1n, PRICE]);
    assert.equal((await slotsOf(f, 1n, 1))[2]?.status, Status.Expired);
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [3n * PRICE, 2n * PRICE]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.expireSlot([1n, 1, 2]),
      f.coordinator,
      "WrongSlotStatus",
      [1n, 1, 2, Status.Expired],
    );
    // The unlocked part is the owner's again.
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    await asConsumer.write.withdrawFunds([1n, PRICE]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.withdrawFunds([1n, 1n]),
      f.coordinator,
      "InsufficientEscrow",
      [1n, 1n, 0n],
    );
  });
});

describe("Coordinator assignment: reassign after a missed deadline", () => {
  it("penalises the missed node to the treasury, releases the rest of its bond and hands the slot to another node", async () => {
    const f = await deployFixture();
    const nodes = await registerNodes(f, [2, 3]);
    await request(f, 1);
    const asStranger = await coordinatorAs(f, wallet(f, 9));

    // Nothing assigned yet: an empty slot cannot be reassigned.
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.reassign([1n, 1, 0]),
      f.coordinator,
      "WrongSlotStatus",
      [1n, 1, 0, Status.Empty],
    );
    const { events } = await assignedEvents(f, await f.coordinator.write.assign([1n, 1]));
    const missed = events[0]?.args.node;
    const deadline = events[0]?.args.deadline;
    assert.ok(missed && deadline);
    const other = nodes.find((n) => n !== missed);
    assert.ok(other);

    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.reassign([1n, 1, 0]),
      f.coordinator,
      "DeadlineNotPassed",
      [1n, 1, 0, deadline],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.reassign([1n, 1, 1]),
      f.coordinator,
      "InvalidSlot",
      [1n, 1, 1],
    );

    await f.networkHelpers.time.increaseTo(deadline + 1);
    const treasury = getAddress(wallet(f, 0).account.address);
    assert.equal(await f.nodeRegistry.read.credits([treasury]), 0n);
    const hash = await asStranger.write.reassign([1n, 1, 0]);
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "NodeReassigned", [1n, 1, 0, missed, PENALTY]);
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "RandomnessRefreshed", [
      1n,
      1,
      receipt.blockNumber,
    ]);
    await f.viem.assertions.emitWithArgs(hash, f.nodeRegistry, "Slashed", [
      missed,
      getAddress(f.coordinator.address),
      JOB_BOND,
      PENALTY,
      0n,
    ]);

    assert.equal(await f.nodeRegistry.read.credits([treasury]), PENALTY);
    const [info] = await f.nodeRegistry.read.getNode([missed]);
    assert.equal(info.bonded, 0n);
    assert.equal(info.staked, STAKE - PENALTY);
    assert.equal(await f.nodeRegistry.read.freeStake([missed]), STAKE - PENALTY);

    const now = await blockTime(f, receipt.blockNumber);
    const [state, , slots] = await f.coordinator.read.getInterval([1n, 1]);
    assert.equal(state.reassignments, 1);
    assert.equal(state.round, Number(receipt.blockNumber));
    // The missed node stays recorded so it is never drawn again for this interval.
    assert.deepEqual(slots[0], { node: missed, deadline: now + WINDOW, status: Status.Empty });
    await f.networkHelpers.mine();
    assert.deepEqual(await f.coordinator.read.previewAssignment([1n, 1]), [other]);

    // The missed node can no longer deliver; the new one delivers (assigning itself implicitly) and is paid.
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await coordinatorAs(f, walletOf(f, missed))).write.deliver([1n, 1, "0x", "0x01", "0x"]),
      f.coordinator,
      "NotAssigned",
      [1n, 1, missed],
    );
    const asOther = await coordinatorAs(f, walletOf(f, other));
    const delivery = asOther.write.deliver([1n, 1, "0x", "0x01", "0x"]);
    await f.viem.assertions.emitWithArgs(delivery, f.coordinator, "Paid", [
      1n,
      other,
      PRICE - PRICE / 100n,
      PRICE / 100n,
    ]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.reassign([1n, 1, 0]),
      f.coordinator,
      "WrongSlotStatus",
      [1n, 1, 0, Status.Paid],
    );
  });

  it("after maxReassignments the slot expires instead, its payment unlocks, and every missed node was distinct", async () => {
    const f = await deployFixture();
    await registerNodes(f, [2, 3, 4, 5]);
    await request(f, 1);
    const treasury = getAddress(wallet(f, 0).account.address);
    const missed: Address[] = [];
    for (let i = 0; i < 3; i++) {
      const { events } = await assignedEvents(f, await f.coordinator.write.assign([1n, 1]));
      const e = events[0];
      assert.ok(e);
      missed.push(e.args.node);
      await f.networkHelpers.time.increaseTo(e.args.deadline + 1);
      const hash = f.coordinator.write.reassign([1n, 1, 0]);
      await f.viem.assertions.emitWithArgs(hash, f.coordinator, "NodeReassigned", [
        1n,
        1,
        0,
        e.args.node,
        PENALTY,
      ]);
      assert.equal((await f.coordinator.read.getInterval([1n, 1]))[0].reassignments, i + 1);
    }
    const { events } = await assignedEvents(f, await f.coordinator.write.assign([1n, 1]));
    const last = events[0];
    assert.ok(last);
    missed.push(last.args.node);
    assert.equal(new Set(missed).size, 4);

    await f.networkHelpers.time.increaseTo(last.args.deadline + 1);
    const hash = await f.coordinator.write.reassign([1n, 1, 0]);
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "SlotExpired", [1n, 1, 0]);
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "Unlocked", [1n, PRICE]);
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "NodeReassigned", [
      1n,
      1,
      0,
      last.args.node,
      PENALTY,
    ]);
    assert.equal(
      parseEventLogs({ abi: f.coordinator.abi, logs: receipt.logs, eventName: "RandomnessRefreshed" }).length,
      0,
    );

    assert.equal((await slotsOf(f, 1n, 1))[0]?.status, Status.Expired);
    assert.equal((await f.coordinator.read.getInterval([1n, 1]))[0].reassignments, 3);
    assert.equal(await f.nodeRegistry.read.credits([treasury]), 4n * PENALTY);
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [PRICE, 0n]);
    for (const n of missed) assert.equal((await f.nodeRegistry.read.getNode([n]))[0].bonded, 0n);

    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.reassign([1n, 1, 0]),
      f.coordinator,
      "WrongSlotStatus",
      [1n, 1, 0, Status.Expired],
    );
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    await f.viem.assertions.emitWithArgs(
      asConsumer.write.withdrawFunds([1n, PRICE]),
      f.coordinator,
      "FundsWithdrawn",
      [1n, getAddress(wallet(f, 1).account.address), PRICE],
    );
  });

  it("a node that missed is never drawn again for the interval, even after the node that replaced it missed too", async () => {
    const f = await deployFixture();
    const nodes = await registerNodes(f, [2, 3]);
    await request(f, 1);
    const drawn: Address[] = [];
    for (let i = 0; i < 2; i++) {
      const { events } = await assignedEvents(f, await f.coordinator.write.assign([1n, 1]));
      const e = events[0];
      assert.ok(e, `assignment ${i}`);
      drawn.push(e.args.node);
      await f.networkHelpers.time.increaseTo(e.args.deadline + 1);
      await f.coordinator.write.reassign([1n, 1, 0]);
    }
    assert.deepEqual([...drawn].sort(), [...nodes].sort());
    // Both eligible nodes have missed this interval: nobody is left to draw, however often assign is called.
    await f.networkHelpers.mine();
    assert.deepEqual(await f.coordinator.read.previewAssignment([1n, 1]), []);
    const { events } = await assignedEvents(f, await f.coordinator.write.assign([1n, 1]));
    assert.equal(events.length, 0);
    assert.equal((await slotsOf(f, 1n, 1))[0]?.status, Status.Empty);
    // A newcomer can still take the slot.
    const [late] = await registerNodes(f, [4]);
    assert.deepEqual(await f.coordinator.read.previewAssignment([1n, 1]), [late]);
  });

  it("with maxReassignments 0 the first missed deadline expires the slot", async () => {
    const f = await deployFixture({ maxReassignments: 0 });
    await registerNodes(f, [2, 3]);
    await request(f, 1);
    const { events } = await assignedEvents(f, await f.coordinator.write.assign([1n, 1]));
    const e = events[0];
    assert.ok(e);
    await f.networkHelpers.time.increaseTo(e.args.deadline + 1);
    await f.viem.assertions.emitWithArgs(
      f.coordinator.write.reassign([1n, 1, 0]),
      f.coordinator,
      "SlotExpired",
      [1n, 1, 0],
    );
    assert.equal((await slotsOf(f, 1n, 1))[0]?.status, Status.Expired);
  });
});

describe("Coordinator assignment: randomness rounds", () => {
  it("refreshes an expired round (after 256 blocks) instead of assigning, then assigns from the new round", async () => {
    const f = await deployFixture();
    const [node] = await registerNodes(f, [2]);
    assert.ok(node);
    const req = await request(f, 1);
    await f.networkHelpers.mine(300);
    assert.equal(await f.randomness.read.isExpired([req.blockNumber]), true);
    assert.deepEqual(await f.coordinator.read.previewAssignment([1n, 1]), []);

    // A node delivering straight away cannot be assigned from an expired round.
    const asNode = await coordinatorAs(f, walletOf(f, node));
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asNode.write.deliver([1n, 1, "0x", "0x01", "0x"]),
      f.coordinator,
      "NotAssigned",
      [1n, 1, node],
    );

    const hash = await f.coordinator.write.assign([1n, 1]);
    const { receipt, events } = await assignedEvents(f, hash);
    assert.equal(events.length, 0);
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "RandomnessRefreshed", [
      1n,
      1,
      receipt.blockNumber,
    ]);
    const [state, , slots] = await f.coordinator.read.getInterval([1n, 1]);
    assert.equal(state.round, Number(receipt.blockNumber));
    assert.equal(slots[0]?.status, Status.Empty);

    await f.networkHelpers.mine();
    assert.deepEqual(await f.coordinator.read.previewAssignment([1n, 1]), [node]);
    await f.viem.assertions.emitWithArgs(
      asNode.write.deliver([1n, 1, "0x", "0x01", "0x"]),
      f.coordinator,
      "NodeAssigned",
      [1n, 1, 0, node, (v: unknown) => typeof v === "number"],
    );
  });

  it("assign, previewAssignment, reassign and expireSlot reject unknown subscriptions", async () => {
    const f = await deployFixture();
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.assign([5n, 1]),
      f.coordinator,
      "UnknownSubscription",
      [5n],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.read.previewAssignment([5n, 1]),
      f.coordinator,
      "UnknownSubscription",
      [5n],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.reassign([5n, 1, 0]),
      f.coordinator,
      "UnknownSubscription",
      [5n],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.expireSlot([5n, 1, 0]),
      f.coordinator,
      "UnknownSubscription",
      [5n],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.read.currentInterval([5n]),
      f.coordinator,
      "UnknownSubscription",
      [5n],
    );
  });
});

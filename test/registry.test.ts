import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  getAddress,
  keccak256,
  parseEther,
  parseEventLogs,
  toBytes,
  toFunctionSelector,
  toHex,
  zeroAddress,
  type Address,
  type Hash,
  type Hex,
} from "viem";
import {
  CONTAINER_ID,
  deployFixture,
  ENDPOINT,
  nodeRegistration as registration,
  registerNode,
  registryAs,
  wallet,
} from "./helpers/fixture.ts";

// Accounts: [0] owner, [1] consumer (unused here), [2] operator A, [3] operator B, [4] bonder, [5] slasher,
// [6] stranger, [7] slash recipient, [8] second recipient / new owner.
const OP_A = 2;
const OP_B = 3;
const BONDER = 4;
const SLASHER = 5;
const STRANGER = 6;
const RECIPIENT = 7;
const OTHER = 8;

const DEAD: Address = "0x000000000000000000000000000000000000dEaD";
const HW = { gpuModel: "cpu", vramMiB: 0, gpuCount: 0 };
const OTHER_CONTAINER = "other-model";
const OTHER_ID: Hex = keccak256(toBytes(OTHER_CONTAINER));
const SLASHER_WINDOW = 7200n;

/** Deterministic node hot-key address that is not one of the wallets. */
function nodeAddr(i: number): Address {
  return getAddress(`0x${(0xb0de0000 + i).toString(16).padStart(40, "0")}`);
}

async function setup(params: Parameters<typeof deployFixture>[0] = {}) {
  const f = await deployFixture(params);
  const w = (i: number) => wallet(f, i);
  const addr = (i: number) => w(i).account.address;
  const as = (i: number) => registryAs(f, w(i));
  const reg = f.nodeRegistry;
  const asA = await as(OP_A);
  const asB = await as(OP_B);
  const asBonder = await as(BONDER);
  const asSlasher = await as(SLASHER);
  const asStranger = await as(STRANGER);
  await reg.write.setBonder([addr(BONDER), true]);
  await reg.write.setSlasher([addr(SLASHER), true, SLASHER_WINDOW]);
  await f.containerRegistry.write.registerContainer([OTHER_CONTAINER, `0x${"11".repeat(32)}`]);
  const ts = async (hash: Hash) => {
    const receipt = await f.publicClient.getTransactionReceipt({ hash });
    const block = await f.publicClient.getBlock({ blockNumber: receipt.blockNumber });
    return block.timestamp;
  };
  const logs = async (hash: Hash) => (await f.publicClient.getTransactionReceipt({ hash })).logs;
  const node = async (n: Address) => (await reg.read.getNode([n]))[0];
  return { f, reg, w, addr, as, asA, asB, asBonder, asSlasher, asStranger, ts, logs, node };
}

type Ctx = Awaited<ReturnType<typeof setup>>;

async function selectN(
  c: Ctx,
  count: bigint,
  seed: Hex,
  exclude: Address[] = [],
  amount = 0n,
  id = CONTAINER_ID,
) {
  return c.reg.read.selectNodes([id, count, seed, exclude, amount]);
}

function seedOf(i: number): Hex {
  return keccak256(toHex(`seed-${i}`));
}

describe("NodeRegistry: deployment and views", () => {
  it("stores constructor arguments and the deploy module's wiring", async () => {
    const c = await setup();
    const { f, reg } = c;
    assert.equal(await reg.read.owner(), getAddress(c.addr(0)));
    assert.equal(await reg.read.stakeToken(), zeroAddress);
    assert.equal(await reg.read.containerRegistry(), getAddress(f.containerRegistry.address));
    assert.deepEqual(await reg.read.params(), [parseEther("1"), 14 * 24 * 3600]);
    assert.equal(await reg.read.MAX_NODES_PER_CONTAINER(), 128n);
    assert.equal(await reg.read.NEUTRAL_TRUST_BPS(), 10_000n);
    assert.equal(await reg.read.isBonder([f.coordinator.address]), true);
    assert.equal(await reg.read.isSlasher([f.coordinator.address]), true);
    // deliveryWindow (3600) from the deploy module, then raised by our slasher's 7200 window
    assert.equal(await reg.read.maxSlasherWindow(), SLASHER_WINDOW);
    // The deploy module wires the Proof-of-Inference trust model into selection.
    assert.equal(await reg.read.trustModel(), getAddress(f.trustModel.address));
    assert.equal(await reg.read.totalBurned(), 0n);
    assert.equal(await reg.read.operatorOf([nodeAddr(1)]), zeroAddress);
    assert.equal(await reg.read.freeStake([nodeAddr(1)]), 0n);
    assert.deepEqual(await reg.read.nodesOf([CONTAINER_ID]), []);
  });

  it("rejects a zero unbonding delay and a zero owner at construction", async () => {
    const c = await setup();
    const { f, reg } = c;
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.viem.deployContract("NodeRegistry", [
        c.addr(0),
        zeroAddress,
        f.containerRegistry.address,
        { minStake: 1n, unbondingDelay: 0 },
      ]),
      reg,
      "InvalidUnbondingDelay",
      [0n],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.viem.deployContract("NodeRegistry", [
        zeroAddress,
        zeroAddress,
        f.containerRegistry.address,
        { minStake: 1n, unbondingDelay: 100 },
      ]),
      reg,
      "OwnableInvalidOwner",
      [zeroAddress],
    );
  });
});

describe("NodeRegistry: register", () => {
  it("registers a node with ETH stake and emits NodeRegistered, NodeUpdated, ContainersUpdated", async () => {
    const c = await setup();
    const { f, reg, asA } = c;
    const n = nodeAddr(1);
    const stake = parseEther("2.5");
    const hw = { gpuModel: "H100", vramMiB: 81_920, gpuCount: 8 };
    const hash = asA.write.register(
      [
        {
          node: n,
          endpoint: "https://node.example",
          containers: [CONTAINER_ID, OTHER_ID],
          hardware: hw,
          stake,
        },
      ],
      { value: stake },
    );
    await f.viem.assertions.balancesHaveChanged(hash, [
      { address: reg.address, amount: stake },
      { address: c.addr(OP_A), amount: -stake },
    ]);
    await f.viem.assertions.emitWithArgs(hash, reg, "NodeRegistered", [
      n,
      c.addr(OP_A),
      stake,
      "https://node.example",
    ]);
    await f.viem.assertions.emitWithArgs(hash, reg, "NodeUpdated", [n, "https://node.example", hw]);
    await f.viem.assertions.emitWithArgs(hash, reg, "ContainersUpdated", [n, [CONTAINER_ID, OTHER_ID]]);

    const [info, hardware, containers] = await reg.read.getNode([n]);
    assert.deepEqual(info, {
      operator: getAddress(c.addr(OP_A)),
      jailed: false,
      unlockAt: 0,
      staked: stake,
      bonded: 0n,
      unbonding: 0n,
    });
    assert.deepEqual(hardware, hw);
    assert.deepEqual(containers, [CONTAINER_ID, OTHER_ID]);
    assert.equal(await reg.read.endpointOf([n]), "https://node.example");
    assert.equal(await reg.read.operatorOf([n]), getAddress(c.addr(OP_A)));
    assert.equal(await reg.read.freeStake([n]), stake);
    assert.deepEqual(await reg.read.nodesOf([CONTAINER_ID]), [n]);
    assert.deepEqual(await reg.read.nodesOf([OTHER_ID]), [n]);
    assert.equal(await reg.read.isEligible([n, CONTAINER_ID, stake]), true);
  });

  it("allows a registration that serves no container yet", async () => {
    const c = await setup();
    const n = nodeAddr(1);
    const hash = c.asA.write.register([registration(n, parseEther("1"), [])], { value: parseEther("1") });
    await c.f.viem.assertions.emitWithArgs(hash, c.reg, "ContainersUpdated", [n, []]);
    assert.deepEqual((await c.reg.read.getNode([n]))[2], []);
    assert.equal(await c.reg.read.isEligible([n, CONTAINER_ID, 0n]), false);
  });

  it("reverts StakeBelowMinimum when the stake is below minStake", async () => {
    const c = await setup();
    const low = parseEther("1") - 1n;
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.register([registration(nodeAddr(1), low)], { value: low }),
      c.reg,
      "StakeBelowMinimum",
      [low, parseEther("1")],
    );
    assert.equal(await c.reg.read.operatorOf([nodeAddr(1)]), zeroAddress);
  });

  it("reverts WrongEthAmount when msg.value differs from the ETH stake", async () => {
    const c = await setup();
    const stake = parseEther("2");
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.register([registration(nodeAddr(1), stake)], { value: stake - 1n }),
      c.reg,
      "WrongEthAmount",
      [stake - 1n, stake],
    );
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.register([registration(nodeAddr(1), stake)], { value: stake + 1n }),
      c.reg,
      "WrongEthAmount",
      [stake + 1n, stake],
    );
  });

  it("reverts UnknownContainer for a container id that is not registered", async () => {
    const c = await setup();
    const unknown = keccak256(toBytes("no-such-container"));
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.register([registration(nodeAddr(1), parseEther("1"), [CONTAINER_ID, unknown])], {
        value: parseEther("1"),
      }),
      c.reg,
      "UnknownContainer",
      [unknown],
    );
    assert.deepEqual(await c.reg.read.nodesOf([CONTAINER_ID]), []);
  });

  it("reverts DuplicateContainer when a container is listed twice", async () => {
    const c = await setup();
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.register(
        [registration(nodeAddr(1), parseEther("1"), [CONTAINER_ID, OTHER_ID, CONTAINER_ID])],
        {
          value: parseEther("1"),
        },
      ),
      c.reg,
      "DuplicateContainer",
      [CONTAINER_ID],
    );
  });

  it("reverts ZeroAddress, NodeAlreadyRegistered and EmptyEndpoint", async () => {
    const c = await setup();
    const one = parseEther("1");
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.register([registration(zeroAddress, one)], { value: one }),
      c.reg,
      "ZeroAddress",
      [],
    );
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.register([registration(nodeAddr(1), one, [CONTAINER_ID], "")], { value: one }),
      c.reg,
      "EmptyEndpoint",
      [],
    );
    await c.asA.write.register([registration(nodeAddr(1), one)], { value: one });
    // a second registration of the same hot key, by anyone, is refused
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asB.write.register([registration(nodeAddr(1), one)], { value: one }),
      c.reg,
      "NodeAlreadyRegistered",
      [nodeAddr(1)],
    );
    assert.equal(await c.reg.read.operatorOf([nodeAddr(1)]), getAddress(c.addr(OP_A)));
  });

  it("reverts ContainerFull when a container already has 128 nodes", async () => {
    const c = await setup({ minStake: 1000n });
    const stake = 1000n;
    for (let i = 0; i < 128; ++i) {
      await c.asA.write.register([registration(nodeAddr(i), stake)], { value: stake });
    }
    const list = await c.reg.read.nodesOf([CONTAINER_ID]);
    assert.equal(list.length, 128);
    assert.equal(new Set(list).size, 128);
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.register([registration(nodeAddr(128), stake)], { value: stake }),
      c.reg,
      "ContainerFull",
      [CONTAINER_ID],
    );
    // an existing node cannot join it through setContainers either, but other containers are fine
    await c.asA.write.register([registration(nodeAddr(200), stake, [OTHER_ID])], { value: stake });
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.setContainers([nodeAddr(200), [OTHER_ID, CONTAINER_ID]]),
      c.reg,
      "ContainerFull",
      [CONTAINER_ID],
    );
    // leaving frees a slot
    await c.asA.write.setContainers([nodeAddr(0), []]);
    await c.asA.write.setContainers([nodeAddr(200), [OTHER_ID, CONTAINER_ID]]);
    const after = await c.reg.read.nodesOf([CONTAINER_ID]);
    assert.equal(after.length, 128);
    assert.ok(after.includes(nodeAddr(200)));
    assert.ok(!after.includes(nodeAddr(0)));
  });
});

describe("NodeRegistry: operator functions", () => {
  it("updateNode changes endpoint and hardware and emits NodeUpdated", async () => {
    const c = await setup();
    const n = nodeAddr(1);
    await registerNode(c.f, OP_A, n);
    const hw = { gpuModel: "A100", vramMiB: 40_960, gpuCount: 2 };
    const hash = c.asA.write.updateNode([n, "https://new.example", hw]);
    await c.f.viem.assertions.emitWithArgs(hash, c.reg, "NodeUpdated", [n, "https://new.example", hw]);
    assert.equal(await c.reg.read.endpointOf([n]), "https://new.example");
    assert.deepEqual((await c.reg.read.getNode([n]))[1], hw);
  });

  it("updateNode reverts EmptyEndpoint, NotOperator and NodeNotRegistered", async () => {
    const c = await setup();
    const n = nodeAddr(1);
    await registerNode(c.f, OP_A, n);
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.updateNode([n, "", HW]),
      c.reg,
      "EmptyEndpoint",
      [],
    );
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asB.write.updateNode([n, "x", HW]),
      c.reg,
      "NotOperator",
      [n, c.addr(OP_B)],
    );
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.updateNode([nodeAddr(2), "x", HW]),
      c.reg,
      "NodeNotRegistered",
      [nodeAddr(2)],
    );
  });

  it("setContainers moves a node between container lists and keeps the other nodes' positions", async () => {
    const c = await setup();
    const [a, b, d] = [nodeAddr(1), nodeAddr(2), nodeAddr(3)];
    await registerNode(c.f, OP_A, a);
    await registerNode(c.f, OP_A, b);
    await registerNode(c.f, OP_B, d);
    assert.deepEqual(await c.reg.read.nodesOf([CONTAINER_ID]), [a, b, d]);

    const hash = c.asA.write.setContainers([a, [OTHER_ID]]);
    await c.f.viem.assertions.emitWithArgs(hash, c.reg, "ContainersUpdated", [a, [OTHER_ID]]);
    // swap-and-pop: the last node takes a's slot
    assert.deepEqual(await c.reg.read.nodesOf([CONTAINER_ID]), [d, b]);
    assert.deepEqual(await c.reg.read.nodesOf([OTHER_ID]), [a]);
    assert.deepEqual((await c.reg.read.getNode([a]))[2], [OTHER_ID]);
    assert.equal(await c.reg.read.isEligible([a, CONTAINER_ID, 0n]), false);
    assert.equal(await c.reg.read.isEligible([a, OTHER_ID, 0n]), true);

    // positions stay consistent: removing d (now first) and then b works and leaves an empty list
    await c.asB.write.setContainers([d, [OTHER_ID, CONTAINER_ID]]);
    assert.deepEqual(await c.reg.read.nodesOf([CONTAINER_ID]), [b, d]);
    assert.deepEqual(await c.reg.read.nodesOf([OTHER_ID]), [a, d]);
    await c.asA.write.setContainers([b, []]);
    assert.deepEqual(await c.reg.read.nodesOf([CONTAINER_ID]), [d]);
    await c.asB.write.setContainers([d, []]);
    assert.deepEqual(await c.reg.read.nodesOf([CONTAINER_ID]), []);
    assert.deepEqual(await c.reg.read.nodesOf([OTHER_ID]), [a]);
    assert.equal(await c.reg.read.isEligible([d, OTHER_ID, 0n]), false);

    // re-adding after removal works (position bookkeeping was cleared)
    await c.asA.write.setContainers([b, [CONTAINER_ID, OTHER_ID]]);
    assert.deepEqual(await c.reg.read.nodesOf([CONTAINER_ID]), [b]);
    assert.deepEqual(await c.reg.read.nodesOf([OTHER_ID]), [a, b]);
    // re-setting the same set is not a duplicate
    await c.asA.write.setContainers([b, [CONTAINER_ID, OTHER_ID]]);
    assert.deepEqual(await c.reg.read.nodesOf([OTHER_ID]), [a, b]);
  });

  it("setContainers reverts DuplicateContainer, UnknownContainer, NotOperator, NodeNotRegistered", async () => {
    const c = await setup();
    const n = nodeAddr(1);
    await registerNode(c.f, OP_A, n);
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.setContainers([n, [OTHER_ID, OTHER_ID]]),
      c.reg,
      "DuplicateContainer",
      [OTHER_ID],
    );
    const unknown = keccak256(toBytes("typo"));
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.setContainers([n, [unknown]]),
      c.reg,
      "UnknownContainer",
      [unknown],
    );
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asStranger.write.setContainers([n, []]),
      c.reg,
      "NotOperator",
      [n, c.addr(STRANGER)],
    );
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.setContainers([nodeAddr(9), []]),
      c.reg,
      "NodeNotRegistered",
      [nodeAddr(9)],
    );
    assert.deepEqual(await c.reg.read.nodesOf([CONTAINER_ID]), [n]);
  });

  it("addStake adds ETH stake and emits StakeAdded; rejects wrong value and non-operators", async () => {
    const c = await setup();
    const n = nodeAddr(1);
    await registerNode(c.f, OP_A, n, parseEther("1"));
    const hash = c.asA.write.addStake([n, parseEther("0.5")], { value: parseEther("0.5") });
    await c.f.viem.assertions.balancesHaveChanged(hash, [
      { address: c.reg.address, amount: parseEther("0.5") },
    ]);
    await c.f.viem.assertions.emitWithArgs(hash, c.reg, "StakeAdded", [
      n,
      parseEther("0.5"),
      parseEther("1.5"),
    ]);
    assert.equal((await c.node(n)).staked, parseEther("1.5"));
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.addStake([n, parseEther("1")], { value: parseEther("0.5") }),
      c.reg,
      "WrongEthAmount",
      [parseEther("0.5"), parseEther("1")],
    );
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asB.write.addStake([n, 1n], { value: 1n }),
      c.reg,
      "NotOperator",
      [n, c.addr(OP_B)],
    );
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.addStake([nodeAddr(2), 1n], { value: 1n }),
      c.reg,
      "NodeNotRegistered",
      [nodeAddr(2)],
    );
  });
});

describe("NodeRegistry: unbonding and withdrawal", () => {
  it("requestUnbond starts the delay; withdrawStake pays the operator once it has elapsed", async () => {
    const c = await setup();
    const n = nodeAddr(1);
    await registerNode(c.f, OP_A, n, parseEther("3"));
    const delay = BigInt(c.f.params.unbondingDelay);
    const h1 = await c.asA.write.requestUnbond([n, parseEther("1")]);
    const unlockAt = (await c.ts(h1)) + delay;
    await c.f.viem.assertions.emitWithArgs(h1, c.reg, "UnbondRequested", [n, parseEther("1"), unlockAt]);
    const info = await c.node(n);
    assert.equal(info.unbonding, parseEther("1"));
    assert.equal(BigInt(info.unlockAt), unlockAt);
    assert.equal(await c.reg.read.freeStake([n]), parseEther("2"));

    // inside the delay
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.withdrawStake([n]),
      c.reg,
      "UnbondingNotElapsed",
      [n, unlockAt],
    );
    await c.f.networkHelpers.time.increaseTo(unlockAt - 2n);
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.withdrawStake([n]),
      c.reg,
      "UnbondingNotElapsed",
      [n, unlockAt],
    );
    // exactly at unlockAt
    await c.f.networkHelpers.time.setNextBlockTimestamp(unlockAt);
    const h2 = c.asA.write.withdrawStake([n]);
    await c.f.viem.assertions.balancesHaveChanged(h2, [
      { address: c.addr(OP_A), amount: parseEther("1") },
      { address: c.reg.address, amount: -parseEther("1") },
    ]);
    await c.f.viem.assertions.emitWithArgs(h2, c.reg, "StakeWithdrawn", [n, c.addr(OP_A), parseEther("1")]);
    assert.equal(await c.ts(await h2), unlockAt);
    const after = await c.node(n);
    assert.equal(after.staked, parseEther("2"));
    assert.equal(after.unbonding, 0n);
    assert.equal(await c.reg.read.freeStake([n]), parseEther("2"));
    // nothing left unbonding
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.withdrawStake([n]),
      c.reg,
      "NothingToWithdraw",
      [c.addr(OP_A)],
    );
  });

  it("a new unbond request restarts the delay for everything unbonding", async () => {
    const c = await setup();
    const n = nodeAddr(1);
    await registerNode(c.f, OP_A, n, parseEther("3"));
    const delay = BigInt(c.f.params.unbondingDelay);
    const h1 = await c.asA.write.requestUnbond([n, parseEther("0.5")]);
    const first = (await c.ts(h1)) + delay;
    await c.f.networkHelpers.time.increase(delay / 2n);
    const h2 = await c.asA.write.requestUnbond([n, parseEther("0.5")]);
    const second = (await c.ts(h2)) + delay;
    assert.ok(second > first);
    await c.f.networkHelpers.time.increaseTo(first + 1n);
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.withdrawStake([n]),
      c.reg,
      "UnbondingNotElapsed",
      [n, second],
    );
    await c.f.networkHelpers.time.increaseTo(second);
    await c.f.viem.assertions.emitWithArgs(c.asA.write.withdrawStake([n]), c.reg, "StakeWithdrawn", [
      n,
      c.addr(OP_A),
      parseEther("1"),
    ]);
  });

  it("requestUnbond reverts StakeBonded for stake bonded to open jobs, for zero, and for non-operators", async () => {
    const c = await setup();
    const n = nodeAddr(1);
    await registerNode(c.f, OP_A, n, parseEther("2"));
    await c.asBonder.write.bond([n, parseEther("1.5")]);
    // only 0.5 is free
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.requestUnbond([n, parseEther("0.6")]),
      c.reg,
      "StakeBonded",
      [n, parseEther("0.6"), parseEther("0.5")],
    );
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.requestUnbond([n, 0n]),
      c.reg,
      "StakeBonded",
      [n, 0n, parseEther("0.5")],
    );
    await c.asA.write.requestUnbond([n, parseEther("0.5")]);
    // unbonding stake is not free either
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.requestUnbond([n, 1n]),
      c.reg,
      "StakeBonded",
      [n, 1n, 0n],
    );
    // after the bond is released it can be unbonded
    await c.asBonder.write.releaseBond([n, parseEther("1.5")]);
    await c.asA.write.requestUnbond([n, parseEther("1.5")]);
    assert.equal((await c.node(n)).unbonding, parseEther("2"));
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asB.write.requestUnbond([n, 1n]),
      c.reg,
      "NotOperator",
      [n, c.addr(OP_B)],
    );
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asB.write.withdrawStake([n]),
      c.reg,
      "NotOperator",
      [n, c.addr(OP_B)],
    );
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.withdrawStake([nodeAddr(2)]),
      c.reg,
      "NodeNotRegistered",
      [nodeAddr(2)],
    );
  });
});

describe("NodeRegistry: bonds", () => {
  it("bond and releaseBond move free stake and emit Bonded / BondReleased", async () => {
    const c = await setup();
    const n = nodeAddr(1);
    await registerNode(c.f, OP_A, n, parseEther("2"));
    await c.f.viem.assertions.emitWithArgs(c.asBonder.write.bond([n, parseEther("0.3")]), c.reg, "Bonded", [
      n,
      parseEther("0.3"),
      parseEther("0.3"),
    ]);
    await c.f.viem.assertions.emitWithArgs(c.asBonder.write.bond([n, parseEther("0.2")]), c.reg, "Bonded", [
      n,
      parseEther("0.2"),
      parseEther("0.5"),
    ]);
    assert.equal(await c.reg.read.freeStake([n]), parseEther("1.5"));
    await c.f.viem.assertions.emitWithArgs(
      c.asBonder.write.releaseBond([n, parseEther("0.3")]),
      c.reg,
      "BondReleased",
      [n, parseEther("0.3"), parseEther("0.2")],
    );
    assert.equal((await c.node(n)).bonded, parseEther("0.2"));
    assert.equal(await c.reg.read.freeStake([n]), parseEther("1.8"));
    assert.equal((await c.node(n)).staked, parseEther("2"));
  });

  it("bond reverts InsufficientFreeStake; releaseBond reverts BondExceedsBonded", async () => {
    const c = await setup();
    const n = nodeAddr(1);
    await registerNode(c.f, OP_A, n, parseEther("2"));
    await c.asA.write.requestUnbond([n, parseEther("0.5")]);
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asBonder.write.bond([n, parseEther("1.5") + 1n]),
      c.reg,
      "InsufficientFreeStake",
      [n, parseEther("1.5") + 1n, parseEther("1.5")],
    );
    await c.asBonder.write.bond([n, parseEther("1.5")]);
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asBonder.write.releaseBond([n, parseEther("1.5") + 1n]),
      c.reg,
      "BondExceedsBonded",
      [n, parseEther("1.5") + 1n, parseEther("1.5")],
    );
  });

  it("bond, releaseBond and assignNodes revert NotBonder for non-bonders (and after revocation)", async () => {
    const c = await setup();
    const n = nodeAddr(1);
    await registerNode(c.f, OP_A, n);
    for (const i of [STRANGER, OP_A, SLASHER]) {
      const who = await c.as(i);
      const caller = c.addr(i);
      await c.f.viem.assertions.revertWithCustomErrorWithArgs(who.write.bond([n, 1n]), c.reg, "NotBonder", [
        caller,
      ]);
      await c.f.viem.assertions.revertWithCustomErrorWithArgs(
        who.write.releaseBond([n, 0n]),
        c.reg,
        "NotBonder",
        [caller],
      );
      await c.f.viem.assertions.revertWithCustomErrorWithArgs(
        who.write.assignNodes([CONTAINER_ID, 1n, seedOf(0), [], 1n]),
        c.reg,
        "NotBonder",
        [caller],
      );
    }
    await c.f.viem.assertions.emitWithArgs(
      c.reg.write.setBonder([c.addr(BONDER), false]),
      c.reg,
      "BonderSet",
      [c.addr(BONDER), false],
    );
    assert.equal(await c.reg.read.isBonder([c.addr(BONDER)]), false);
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asBonder.write.bond([n, 1n]),
      c.reg,
      "NotBonder",
      [c.addr(BONDER)],
    );
  });

  it("assignNodes bonds exactly the nodes selectNodes previews and returns them", async () => {
    const c = await setup();
    const nodes = [nodeAddr(1), nodeAddr(2), nodeAddr(3)];
    for (const n of nodes) await registerNode(c.f, OP_A, n, parseEther("2"));
    const amount = parseEther("0.1");
    const seed = seedOf(42);
    const preview = await selectN(c, 2n, seed, [], amount);
    assert.equal(preview.length, 2);
    const sim = await c.asBonder.simulate.assignNodes([CONTAINER_ID, 2n, seed, [], amount], {
      account: c.addr(BONDER),
    });
    assert.deepEqual(sim.result, preview);
    const hash = await c.asBonder.write.assignNodes([CONTAINER_ID, 2n, seed, [], amount]);
    const bonded = parseEventLogs({ abi: c.reg.abi, logs: await c.logs(hash), eventName: "Bonded" });
    assert.deepEqual(
      bonded.map((l) => [l.args.node, l.args.amount, l.args.bonded]),
      preview.map((p) => [p, amount, amount]),
    );
    for (const n of nodes) {
      const expected = preview.includes(n) ? amount : 0n;
      assert.equal((await c.node(n)).bonded, expected);
    }
  });
});

describe("NodeRegistry: slashing", () => {
  async function slashSetup() {
    const c = await setup();
    const n = nodeAddr(1);
    await registerNode(c.f, OP_A, n, parseEther("1")); // exactly minStake
    await c.asBonder.write.bond([n, parseEther("0.1")]);
    return { c, n };
  }

  it("slashes within the bond: credits shares, burns to 0xdead, releases the rest, jails below minimum", async () => {
    const { c, n } = await slashSetup();
    const shares = [
      { to: c.addr(RECIPIENT), amount: parseEther("0.05") },
      { to: zeroAddress, amount: parseEther("0.02") },
      { to: c.addr(OTHER), amount: parseEther("0.01") },
    ];
    const hash = c.asSlasher.write.slash([n, parseEther("0.1"), shares]);
    await c.f.viem.assertions.balancesHaveChanged(hash, [
      { address: DEAD, amount: parseEther("0.02") },
      { address: c.reg.address, amount: -parseEther("0.02") },
    ]);
    await c.f.viem.assertions.emitWithArgs(hash, c.reg, "Slashed", [
      n,
      c.addr(SLASHER),
      parseEther("0.1"),
      parseEther("0.08"),
      parseEther("0.02"),
    ]);
    await c.f.viem.assertions.emitWithArgs(hash, c.reg, "NodeJailed", [n, parseEther("0.92")]);
    const info = await c.node(n);
    assert.equal(info.staked, parseEther("0.92"));
    assert.equal(info.bonded, 0n);
    assert.equal(info.jailed, true);
    assert.equal(await c.reg.read.credits([c.addr(RECIPIENT)]), parseEther("0.05"));
    assert.equal(await c.reg.read.credits([c.addr(OTHER)]), parseEther("0.01"));
    assert.equal(await c.reg.read.totalBurned(), parseEther("0.02"));
    // registry ETH balance equals the stake still held plus the credits owed
    const balance = await c.f.publicClient.getBalance({ address: c.reg.address });
    assert.equal(balance, parseEther("0.92") + parseEther("0.06"));
    assert.equal(await c.reg.read.isEligible([n, CONTAINER_ID, 0n]), false);
    assert.deepEqual(await selectN(c, 1n, seedOf(0)), []);
  });

  it("slash credits are withdrawable once via withdrawCredits", async () => {
    const { c, n } = await slashSetup();
    await c.asSlasher.write.slash([
      n,
      parseEther("0.1"),
      [{ to: c.addr(RECIPIENT), amount: parseEther("0.04") }],
    ]);
    const asRecipient = await c.as(RECIPIENT);
    const hash = asRecipient.write.withdrawCredits();
    await c.f.viem.assertions.balancesHaveChanged(hash, [
      { address: c.addr(RECIPIENT), amount: parseEther("0.04") },
      { address: c.reg.address, amount: -parseEther("0.04") },
    ]);
    await c.f.viem.assertions.emitWithArgs(hash, c.reg, "CreditWithdrawn", [
      c.addr(RECIPIENT),
      parseEther("0.04"),
    ]);
    assert.equal(await c.reg.read.credits([c.addr(RECIPIENT)]), 0n);
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      asRecipient.write.withdrawCredits(),
      c.reg,
      "NothingToWithdraw",
      [c.addr(RECIPIENT)],
    );
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asStranger.write.withdrawCredits(),
      c.reg,
      "NothingToWithdraw",
      [c.addr(STRANGER)],
    );
  });

  it("never takes more than the bond: SlashExceedsBond and BondExceedsBonded", async () => {
    const { c, n } = await slashSetup();
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asSlasher.write.slash([
        n,
        parseEther("0.1"),
        [
          { to: c.addr(RECIPIENT), amount: parseEther("0.06") },
          { to: zeroAddress, amount: parseEther("0.05") },
        ],
      ]),
      c.reg,
      "SlashExceedsBond",
      [parseEther("0.11"), parseEther("0.1")],
    );
    // a smaller bondAmount caps the shares even though more is bonded
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asSlasher.write.slash([
        n,
        parseEther("0.01"),
        [{ to: c.addr(RECIPIENT), amount: parseEther("0.02") }],
      ]),
      c.reg,
      "SlashExceedsBond",
      [parseEther("0.02"), parseEther("0.01")],
    );
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asSlasher.write.slash([n, parseEther("0.2"), []]),
      c.reg,
      "BondExceedsBonded",
      [n, parseEther("0.2"), parseEther("0.1")],
    );
    // state untouched by the failed attempts
    const info = await c.node(n);
    assert.equal(info.staked, parseEther("1"));
    assert.equal(info.bonded, parseEther("0.1"));
    assert.equal(await c.reg.read.credits([c.addr(RECIPIENT)]), 0n);
  });

  it("slashing the whole bond leaves the rest of the stake alone and a surplus node unjailed", async () => {
    const c = await setup();
    const n = nodeAddr(1);
    await registerNode(c.f, OP_A, n, parseEther("3"));
    await c.asBonder.write.bond([n, parseEther("0.5")]);
    await c.asBonder.write.bond([n, parseEther("0.25")]);
    const hash = await c.asSlasher.write.slash([
      n,
      parseEther("0.5"),
      [{ to: c.addr(RECIPIENT), amount: parseEther("0.5") }],
    ]);
    const info = await c.node(n);
    assert.equal(info.staked, parseEther("2.5"));
    assert.equal(info.bonded, parseEther("0.25"));
    assert.equal(info.jailed, false);
    assert.equal(await c.reg.read.freeStake([n]), parseEther("2.25"));
    assert.equal(
      parseEventLogs({ abi: c.reg.abi, logs: await c.logs(hash), eventName: "NodeJailed" }).length,
      0,
    );
    // an empty share list just releases the bond
    const h2 = c.asSlasher.write.slash([n, parseEther("0.25"), []]);
    await c.f.viem.assertions.emitWithArgs(h2, c.reg, "Slashed", [
      n,
      c.addr(SLASHER),
      parseEther("0.25"),
      0n,
      0n,
    ]);
    assert.deepEqual([(await c.node(n)).staked, (await c.node(n)).bonded], [parseEther("2.5"), 0n]);
  });

  it("jails on active stake (staked - unbonding) and does not re-jail a jailed node", async () => {
    const c = await setup();
    const n = nodeAddr(1);
    await registerNode(c.f, OP_A, n, parseEther("2"));
    await c.asBonder.write.bond([n, parseEther("0.2")]);
    await c.asA.write.requestUnbond([n, parseEther("0.9")]); // active 1.1
    const h1 = await c.asSlasher.write.slash([
      n,
      parseEther("0.1"),
      [{ to: zeroAddress, amount: parseEther("0.1") }],
    ]);
    // staked 1.9, unbonding 0.9: active exactly minStake is not jailed
    assert.equal(
      parseEventLogs({ abi: c.reg.abi, logs: await c.logs(h1), eventName: "NodeJailed" }).length,
      0,
    );
    assert.equal((await c.node(n)).jailed, false);
    const h2 = c.asSlasher.write.slash([n, parseEther("0.1"), [{ to: zeroAddress, amount: 1n }]]);
    await c.f.viem.assertions.emitWithArgs(h2, c.reg, "NodeJailed", [n, parseEther("1") - 1n]);
    assert.equal((await c.node(n)).jailed, true);
    await c.asBonder.write.bond([n, parseEther("0.1")]);
    const h3 = await c.asSlasher.write.slash([
      n,
      parseEther("0.1"),
      [{ to: zeroAddress, amount: parseEther("0.1") }],
    ]);
    assert.equal(
      parseEventLogs({ abi: c.reg.abi, logs: await c.logs(h3), eventName: "NodeJailed" }).length,
      0,
    );
    assert.equal(parseEventLogs({ abi: c.reg.abi, logs: await c.logs(h3), eventName: "Slashed" }).length, 1);
    assert.equal(await c.reg.read.totalBurned(), parseEther("0.2") + 1n);
  });

  it("slash reverts NotSlasher for non-slashers and after revocation", async () => {
    const { c, n } = await slashSetup();
    for (const i of [STRANGER, OP_A, BONDER]) {
      const who = await c.as(i);
      await c.f.viem.assertions.revertWithCustomErrorWithArgs(
        who.write.slash([n, 0n, []]),
        c.reg,
        "NotSlasher",
        [c.addr(i)],
      );
    }
    await c.f.viem.assertions.emitWithArgs(
      c.reg.write.setSlasher([c.addr(SLASHER), false, 0n]),
      c.reg,
      "SlasherSet",
      [c.addr(SLASHER), false, 0n],
    );
    assert.equal(await c.reg.read.isSlasher([c.addr(SLASHER)]), false);
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asSlasher.write.slash([n, 0n, []]),
      c.reg,
      "NotSlasher",
      [c.addr(SLASHER)],
    );
  });

  it("unjail: NodeNotJailed, StakeBelowMinimum while short, NodeUnjailed after addStake", async () => {
    const { c, n } = await slashSetup();
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(c.asA.write.unjail([n]), c.reg, "NodeNotJailed", [
      n,
    ]);
    await c.asSlasher.write.slash([
      n,
      parseEther("0.1"),
      [{ to: c.addr(RECIPIENT), amount: parseEther("0.1") }],
    ]);
    assert.equal((await c.node(n)).jailed, true);
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.unjail([n]),
      c.reg,
      "StakeBelowMinimum",
      [parseEther("0.9"), parseEther("1")],
    );
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(c.asB.write.unjail([n]), c.reg, "NotOperator", [
      n,
      c.addr(OP_B),
    ]);
    await c.asA.write.addStake([n, parseEther("0.05")], { value: parseEther("0.05") });
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.unjail([n]),
      c.reg,
      "StakeBelowMinimum",
      [parseEther("0.95"), parseEther("1")],
    );
    // addStake alone does not unjail
    await c.asA.write.addStake([n, parseEther("0.05")], { value: parseEther("0.05") });
    assert.equal((await c.node(n)).jailed, true);
    assert.equal(await c.reg.read.isEligible([n, CONTAINER_ID, 0n]), false);
    // back at the minimum with free stake, but jailed: selection still skips it
    assert.equal((await c.node(n)).staked, parseEther("1"));
    assert.deepEqual(await selectN(c, 1n, seedOf(0)), []);
    await c.f.viem.assertions.emitWithArgs(c.asA.write.unjail([n]), c.reg, "NodeUnjailed", [n]);
    assert.equal((await c.node(n)).jailed, false);
    assert.equal(await c.reg.read.isEligible([n, CONTAINER_ID, parseEther("1")]), true);
    assert.deepEqual(await selectN(c, 1n, seedOf(0)), [n]);
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(c.asA.write.unjail([n]), c.reg, "NodeNotJailed", [
      n,
    ]);
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.unjail([nodeAddr(7)]),
      c.reg,
      "NodeNotRegistered",
      [nodeAddr(7)],
    );
  });

  it("unjail counts unbonding stake out of the active stake", async () => {
    const c = await setup();
    const n = nodeAddr(1);
    await registerNode(c.f, OP_A, n, parseEther("1.5"));
    await c.asBonder.write.bond([n, parseEther("0.5")]);
    await c.asSlasher.write.slash([n, parseEther("0.5"), [{ to: zeroAddress, amount: parseEther("0.5") }]]);
    assert.equal((await c.node(n)).jailed, false); // 1.0 active
    await c.asA.write.requestUnbond([n, parseEther("0.2")]);
    await c.asBonder.write.bond([n, parseEther("0.1")]);
    await c.asSlasher.write.slash([n, parseEther("0.1"), [{ to: zeroAddress, amount: 1n }]]);
    assert.equal((await c.node(n)).jailed, true);
    await c.asA.write.addStake([n, parseEther("0.2")], { value: parseEther("0.2") });
    // staked 1.2 - 1 wei, unbonding 0.2: active still below 1
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.unjail([n]),
      c.reg,
      "StakeBelowMinimum",
      [parseEther("1") - 1n, parseEther("1")],
    );
  });
});

describe("NodeRegistry: governance", () => {
  it("setParams updates params and emits ParamsSet", async () => {
    const c = await setup();
    const hash = c.reg.write.setParams([{ minStake: parseEther("2"), unbondingDelay: 30 * 24 * 3600 }]);
    await c.f.viem.assertions.emitWithArgs(hash, c.reg, "ParamsSet", [parseEther("2"), 30 * 24 * 3600]);
    assert.deepEqual(await c.reg.read.params(), [parseEther("2"), 30 * 24 * 3600]);
    // the new minimum applies to registrations
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asA.write.register([registration(nodeAddr(1), parseEther("1.5"))], { value: parseEther("1.5") }),
      c.reg,
      "StakeBelowMinimum",
      [parseEther("1.5"), parseEther("2")],
    );
    // and the new delay to unbonding
    await registerNode(c.f, OP_A, nodeAddr(1), parseEther("3"));
    const h = await c.asA.write.requestUnbond([nodeAddr(1), 1n]);
    assert.equal(BigInt((await c.node(nodeAddr(1))).unlockAt), (await c.ts(h)) + BigInt(30 * 24 * 3600));
  });

  it("setParams reverts InvalidUnbondingDelay when the delay is not above maxSlasherWindow or is zero", async () => {
    const c = await setup();
    const window = await c.reg.read.maxSlasherWindow();
    for (const delay of [Number(window), Number(window) - 1, 0]) {
      await c.f.viem.assertions.revertWithCustomErrorWithArgs(
        c.reg.write.setParams([{ minStake: 1n, unbondingDelay: delay }]),
        c.reg,
        "InvalidUnbondingDelay",
        [BigInt(delay)],
      );
    }
    await c.reg.write.setParams([{ minStake: 1n, unbondingDelay: Number(window) + 1 }]);
    assert.deepEqual(await c.reg.read.params(), [1n, Number(window) + 1]);
  });

  it("setSlasher reverts WindowNotBelowUnbondingDelay; maxSlasherWindow only grows", async () => {
    const c = await setup();
    const delay = BigInt(c.f.params.unbondingDelay);
    const x = c.addr(OTHER);
    for (const window of [delay, delay + 1n]) {
      await c.f.viem.assertions.revertWithCustomErrorWithArgs(
        c.reg.write.setSlasher([x, true, window]),
        c.reg,
        "WindowNotBelowUnbondingDelay",
        [window, delay],
      );
    }
    assert.equal(await c.reg.read.isSlasher([x]), false);
    await c.f.viem.assertions.emitWithArgs(
      c.reg.write.setSlasher([x, true, delay - 1n]),
      c.reg,
      "SlasherSet",
      [x, true, delay - 1n],
    );
    assert.equal(await c.reg.read.isSlasher([x]), true);
    assert.equal(await c.reg.read.maxSlasherWindow(), delay - 1n);
    await c.reg.write.setSlasher([c.addr(STRANGER), true, 10n]);
    assert.equal(await c.reg.read.maxSlasherWindow(), delay - 1n);
    // revoking never lowers the window: the delay still cannot drop to or below it
    await c.reg.write.setSlasher([x, false, 0n]);
    assert.equal(await c.reg.read.maxSlasherWindow(), delay - 1n);
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.reg.write.setParams([{ minStake: 1n, unbondingDelay: Number(delay - 1n) }]),
      c.reg,
      "InvalidUnbondingDelay",
      [delay - 1n],
    );
    // revoking with any window is allowed
    await c.reg.write.setSlasher([c.addr(STRANGER), false, delay * 10n]);
    assert.equal(await c.reg.read.isSlasher([c.addr(STRANGER)]), false);
  });

  it("setBonder and setTrustModel emit and store", async () => {
    const c = await setup();
    await c.f.viem.assertions.emitWithArgs(c.reg.write.setBonder([c.addr(OTHER), true]), c.reg, "BonderSet", [
      c.addr(OTHER),
      true,
    ]);
    assert.equal(await c.reg.read.isBonder([c.addr(OTHER)]), true);
    const model = nodeAddr(999);
    await c.f.viem.assertions.emitWithArgs(c.reg.write.setTrustModel([model]), c.reg, "TrustModelSet", [
      model,
    ]);
    assert.equal(await c.reg.read.trustModel(), model);
    await c.reg.write.setTrustModel([zeroAddress]);
    assert.equal(await c.reg.read.trustModel(), zeroAddress);
  });

  it("owner-only functions revert OwnableUnauthorizedAccount for non-owners", async () => {
    const c = await setup();
    const s = c.asStranger;
    const who = [c.addr(STRANGER)] as const;
    const A = c.f.viem.assertions;
    await A.revertWithCustomErrorWithArgs(
      s.write.setParams([{ minStake: 1n, unbondingDelay: 1_000_000 }]),
      c.reg,
      "OwnableUnauthorizedAccount",
      [...who],
    );
    await A.revertWithCustomErrorWithArgs(
      s.write.setBonder([c.addr(STRANGER), true]),
      c.reg,
      "OwnableUnauthorizedAccount",
      [...who],
    );
    await A.revertWithCustomErrorWithArgs(
      s.write.setSlasher([c.addr(STRANGER), true, 1n]),
      c.reg,
      "OwnableUnauthorizedAccount",
      [...who],
    );
    await A.revertWithCustomErrorWithArgs(
      s.write.setTrustModel([zeroAddress]),
      c.reg,
      "OwnableUnauthorizedAccount",
      [...who],
    );
    await A.revertWithCustomErrorWithArgs(
      s.write.transferOwnership([c.addr(STRANGER)]),
      c.reg,
      "OwnableUnauthorizedAccount",
      [...who],
    );
    await A.revertWithCustomErrorWithArgs(s.write.renounceOwnership(), c.reg, "OwnableUnauthorizedAccount", [
      ...who,
    ]);
    assert.equal(await c.reg.read.isBonder([c.addr(STRANGER)]), false);
  });

  it("two-step ownership transfer hands governance over", async () => {
    const c = await setup();
    const newOwner = c.addr(OTHER);
    await c.f.viem.assertions.emitWithArgs(
      c.reg.write.transferOwnership([newOwner]),
      c.reg,
      "OwnershipTransferStarted",
      [c.addr(0), newOwner],
    );
    assert.equal(await c.reg.read.pendingOwner(), getAddress(newOwner));
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.asStranger.write.acceptOwnership(),
      c.reg,
      "OwnableUnauthorizedAccount",
      [c.addr(STRANGER)],
    );
    const asNew = await c.as(OTHER);
    await c.f.viem.assertions.emitWithArgs(asNew.write.acceptOwnership(), c.reg, "OwnershipTransferred", [
      c.addr(0),
      newOwner,
    ]);
    assert.equal(await c.reg.read.owner(), getAddress(newOwner));
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      c.reg.write.setBonder([c.addr(0), true]),
      c.reg,
      "OwnableUnauthorizedAccount",
      [c.addr(0)],
    );
    await asNew.write.setBonder([c.addr(STRANGER), true]);
    assert.equal(await c.reg.read.isBonder([c.addr(STRANGER)]), true);
  });
});

describe("NodeRegistry: weighted selection", () => {
  it("returns distinct nodes, all of them when count exceeds the eligible set, none for unknown ids", async () => {
    const c = await setup();
    const nodes = [1, 2, 3, 4, 5].map(nodeAddr);
    for (const n of nodes) await registerNode(c.f, OP_A, n, parseEther("2"));
    for (let i = 0; i < 20; ++i) {
      const picked = await selectN(c, 3n, seedOf(i));
      assert.equal(picked.length, 3);
      assert.equal(new Set(picked).size, 3);
      for (const p of picked) assert.ok(nodes.includes(p));
    }
    const all = await selectN(c, 10n, seedOf(99));
    assert.equal(all.length, 5);
    assert.deepEqual([...all].sort(), [...nodes].sort());
    assert.deepEqual(await selectN(c, 0n, seedOf(1)), []);
    assert.deepEqual(await selectN(c, 3n, seedOf(1), [], 0n, OTHER_ID), []);
    // deterministic in (state, seed)
    assert.deepEqual(await selectN(c, 3n, seedOf(7)), await selectN(c, 3n, seedOf(7)));
  });

  it("respects exclude", async () => {
    const c = await setup();
    const nodes = [1, 2, 3, 4].map(nodeAddr);
    for (const n of nodes) await registerNode(c.f, OP_A, n, parseEther("2"));
    const exclude = [nodes[0]!, nodes[2]!];
    for (let i = 0; i < 15; ++i) {
      const picked = await selectN(c, 4n, seedOf(i), exclude);
      assert.deepEqual([...picked].sort(), [nodes[1]!, nodes[3]!].sort());
    }
    assert.deepEqual(await selectN(c, 4n, seedOf(0), nodes), []);
  });

  it("skips jailed, unbonding-below-minimum and insufficient-free-stake nodes, returning fewer", async () => {
    const c = await setup();
    const [good, jailed, unbonding, busy, empty] = [1, 2, 3, 4, 5].map(nodeAddr) as [
      Address,
      Address,
      Address,
      Address,
      Address,
    ];
    for (const n of [good, jailed, unbonding, busy]) await registerNode(c.f, OP_A, n, parseEther("2"));
    await registerNode(c.f, OP_A, empty, parseEther("1"));
    // jailed: slash below minimum
    await c.asBonder.write.bond([jailed, parseEther("1.5")]);
    await c.asSlasher.write.slash([
      jailed,
      parseEther("1.5"),
      [{ to: zeroAddress, amount: parseEther("1.5") }],
    ]);
    assert.equal((await c.node(jailed)).jailed, true);
    // unbonding so that active stake < minimum while free stake stays high
    await c.asA.write.requestUnbond([unbonding, parseEther("1.01")]);
    // busy: only 0.05 free
    await c.asBonder.write.bond([busy, parseEther("1.95")]);
    // empty: all stake bonded, free == 0
    await c.asBonder.write.bond([empty, parseEther("1")]);

    const amount = parseEther("0.1");
    for (let i = 0; i < 10; ++i) assert.deepEqual(await selectN(c, 5n, seedOf(i), [], amount), [good]);
    assert.equal(await c.reg.read.isEligible([good, CONTAINER_ID, amount]), true);
    assert.equal(await c.reg.read.isEligible([jailed, CONTAINER_ID, 0n]), false);
    assert.equal(await c.reg.read.isEligible([unbonding, CONTAINER_ID, 0n]), false);
    assert.equal(await c.reg.read.isEligible([busy, CONTAINER_ID, amount]), false);
    assert.equal(await c.reg.read.isEligible([busy, CONTAINER_ID, parseEther("0.05")]), true);
    // with a smaller bond the busy node qualifies again; a node with zero free stake never does
    const small = await selectN(c, 5n, seedOf(0), [], parseEther("0.05"));
    assert.deepEqual([...small].sort(), [good, busy].sort());
    const zero = await selectN(c, 5n, seedOf(0), [], 0n);
    assert.deepEqual([...zero].sort(), [good, busy].sort());
    // no eligible node at all
    assert.deepEqual(await selectN(c, 5n, seedOf(0), [good], amount), []);
    // assignNodes with nothing eligible bonds nothing
    const sim = await c.asBonder.simulate.assignNodes([CONTAINER_ID, 2n, seedOf(0), [good], amount], {
      account: c.addr(BONDER),
    });
    assert.deepEqual(sim.result, []);
  });

  it("weights by free stake: 1 ETH vs 3 ETH -> the heavier node is first pick 75% ± 7% of 400 seeds", async () => {
    const c = await setup();
    const [light, heavy] = [nodeAddr(1), nodeAddr(2)];
    await registerNode(c.f, OP_A, light, parseEther("1"));
    await registerNode(c.f, OP_A, heavy, parseEther("3"));
    const share = await heavyShare(c, heavy, 400);
    assert.ok(share > 0.68 && share < 0.82, `heavy picked ${share}`);
  });

  it("weights by free stake, not total stake: bonded stake does not count", async () => {
    const c = await setup();
    const [a, b] = [nodeAddr(1), nodeAddr(2)];
    await registerNode(c.f, OP_A, a, parseEther("3"));
    await registerNode(c.f, OP_A, b, parseEther("3"));
    await c.asBonder.write.bond([a, parseEther("2")]); // a: 1 free, b: 3 free
    const share = await heavyShare(c, b, 400);
    assert.ok(share > 0.68 && share < 0.82, `b picked ${share}`);
  });

  it("scales weight by the trust model; a zero-trust node is never picked", async () => {
    const c = await setup();
    const [a, b] = [nodeAddr(1), nodeAddr(2)];
    await registerNode(c.f, OP_A, a, parseEther("2"));
    await registerNode(c.f, OP_A, b, parseEther("2"));
    const model = nodeAddr(777);
    const aHex = a.slice(2).toLowerCase();
    // trustBps(node) = node == a ? 30_000 : 10_000
    const triple = `0x60043573${aHex}14614e20026127100160005260206000f3`;
    await c.f.networkHelpers.setCode(model, triple);
    await c.reg.write.setTrustModel([model]);
    const share = await heavyShare(c, a, 400);
    assert.ok(share > 0.68 && share < 0.82, `a picked ${share}`);
    // trustBps(node) = node == a ? 0 : 10_000
    await c.f.networkHelpers.setCode(model, `0x60043573${aHex}14156127100260005260206000f3`);
    for (let i = 0; i < 20; ++i) assert.deepEqual(await selectN(c, 2n, seedOf(i)), [b]);
    // back to neutral
    await c.reg.write.setTrustModel([zeroAddress]);
    assert.equal((await selectN(c, 2n, seedOf(0))).length, 2);
  });
});

/** Fraction of `runs` seeds for which `target` is the first of two picks. */
async function heavyShare(c: Ctx, target: Address, runs: number) {
  let hits = 0;
  const batch = 50;
  for (let start = 0; start < runs; start += batch) {
    const results = await Promise.all(
      Array.from({ length: Math.min(batch, runs - start) }, (_, k) => selectN(c, 1n, seedOf(start + k))),
    );
    for (const r of results) {
      assert.equal(r.length, 1);
      if (r[0] === target) hits++;
    }
  }
  return hits / runs;
}

describe("NodeRegistry: payouts to contracts", () => {
  /** Credits `amount` of slashed stake to `to` and returns a wallet client that sends from `to`. */
  async function creditTo(c: Ctx, to: Address, code: Hex, amount: bigint) {
    const n = nodeAddr(1);
    await registerNode(c.f, OP_A, n, parseEther("2"));
    await c.asBonder.write.bond([n, amount]);
    await c.asSlasher.write.slash([n, amount, [{ to, amount }]]);
    await c.f.networkHelpers.setCode(to, code);
    await c.f.networkHelpers.impersonateAccount(to);
    await c.f.networkHelpers.setBalance(to, parseEther("1"));
    const wallet = await c.f.viem.getWalletClient(to);
    return c.f.viem.getContractAt("NodeRegistry", c.reg.address, { client: { wallet } });
  }

  it("withdrawCredits to a recipient that rejects ETH reverts FailedCall and keeps the credit", async () => {
    const c = await setup();
    const to = nodeAddr(500);
    // runtime code: revert(0, 0)
    const asTo = await creditTo(c, to, "0x60006000fd", parseEther("0.1"));
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      asTo.write.withdrawCredits(),
      c.reg,
      "FailedCall",
      [],
    );
    assert.equal(await c.reg.read.credits([to]), parseEther("0.1"));
  });

  it("a recipient re-entering withdrawCredits from its receive hook hits ReentrancyGuardReentrantCall", async () => {
    const c = await setup();
    const to = nodeAddr(501);
    const selector = toFunctionSelector("withdrawCredits()").slice(2);
    const registry = c.reg.address.slice(2).toLowerCase();
    // runtime code: call registry.withdrawCredits(); on failure revert with the callee's revert data
    const code: Hex = `0x63${selector}60e01b6000526000600060046000600073${registry}5af115603157005b3d600060003e3d6000fd`;
    const asTo = await creditTo(c, to, code, parseEther("0.1"));
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      asTo.write.withdrawCredits(),
      c.reg,
      "ReentrancyGuardReentrantCall",
      [],
    );
    assert.equal(await c.reg.read.credits([to]), parseEther("0.1"));
  });
});

describe("NodeRegistry: ERC-20 stake", () => {
  async function tokenSetup() {
    const c = await setup();
    const token = await c.f.viem.deployContract("TestToken");
    const reg = await c.f.viem.deployContract("NodeRegistry", [
      c.addr(0),
      token.address,
      c.f.containerRegistry.address,
      { minStake: parseEther("1"), unbondingDelay: 1000 },
    ]);
    await reg.write.setBonder([c.addr(BONDER), true]);
    await reg.write.setSlasher([c.addr(SLASHER), true, 100n]);
    const asOp = await c.f.viem.getContractAt("NodeRegistry", reg.address, { client: { wallet: c.w(OP_A) } });
    const tokenAsOp = await c.f.viem.getContractAt("TestToken", token.address, {
      client: { wallet: c.w(OP_A) },
    });
    await token.write.mint([c.addr(OP_A), parseEther("100")]);
    return { c, token, reg, asOp, tokenAsOp };
  }

  it("registers, adds stake and withdraws in the token; UnexpectedEth when ETH is sent", async () => {
    const { c, token, reg, asOp, tokenAsOp } = await tokenSetup();
    const n = nodeAddr(1);
    const op = c.addr(OP_A);
    assert.equal(await reg.read.stakeToken(), getAddress(token.address));
    // no allowance: the token's own error bubbles up
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      asOp.write.register([registration(n, parseEther("2"))]),
      token,
      "ERC20InsufficientAllowance",
      [reg.address, 0n, parseEther("2")],
    );
    await tokenAsOp.write.approve([reg.address, parseEther("100")]);
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      asOp.write.register([registration(n, parseEther("2"))], { value: 1n }),
      reg,
      "UnexpectedEth",
      [1n],
    );
    const h = asOp.write.register([registration(n, parseEther("2"))]);
    await c.f.viem.assertions.emitWithArgs(h, reg, "NodeRegistered", [n, op, parseEther("2"), ENDPOINT]);
    assert.equal(await token.read.balanceOf([reg.address]), parseEther("2"));
    assert.equal(await token.read.balanceOf([op]), parseEther("98"));

    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      asOp.write.addStake([n, parseEther("1")], { value: parseEther("1") }),
      reg,
      "UnexpectedEth",
      [parseEther("1")],
    );
    await c.f.viem.assertions.emitWithArgs(asOp.write.addStake([n, parseEther("1")]), reg, "StakeAdded", [
      n,
      parseEther("1"),
      parseEther("3"),
    ]);
    assert.equal(await token.read.balanceOf([reg.address]), parseEther("3"));

    await asOp.write.requestUnbond([n, parseEther("1.5")]);
    await c.f.networkHelpers.time.increase(1000);
    await c.f.viem.assertions.emitWithArgs(asOp.write.withdrawStake([n]), reg, "StakeWithdrawn", [
      n,
      op,
      parseEther("1.5"),
    ]);
    assert.equal(await token.read.balanceOf([reg.address]), parseEther("1.5"));
    assert.equal(await token.read.balanceOf([op]), parseEther("98.5"));
    assert.equal((await reg.read.getNode([n]))[0].staked, parseEther("1.5"));
    // a too-small token stake is refused before any transfer
    await c.f.viem.assertions.revertWithCustomErrorWithArgs(
      asOp.write.register([registration(nodeAddr(2), parseEther("0.5"))]),
      reg,
      "StakeBelowMinimum",
      [parseEther("0.5"), parseEther("1")],
    );
  });

  it("slashes in the token: burn to 0xdead, credits withdrawn in the token", async () => {
    const { c, token, reg, asOp, tokenAsOp } = await tokenSetup();
    const n = nodeAddr(1);
    await tokenAsOp.write.approve([reg.address, parseEther("1")]);
    await asOp.write.register([registration(n, parseEther("1"))]);
    const asBonder = await c.f.viem.getContractAt("NodeRegistry", reg.address, {
      client: { wallet: c.w(BONDER) },
    });
    const asSlasher = await c.f.viem.getContractAt("NodeRegistry", reg.address, {
      client: { wallet: c.w(SLASHER) },
    });
    await asBonder.write.bond([n, parseEther("0.4")]);
    const h = asSlasher.write.slash([
      n,
      parseEther("0.4"),
      [
        { to: c.addr(RECIPIENT), amount: parseEther("0.25") },
        { to: zeroAddress, amount: parseEther("0.1") },
      ],
    ]);
    await c.f.viem.assertions.emitWithArgs(h, reg, "NodeJailed", [n, parseEther("0.65")]);
    assert.equal(await token.read.balanceOf([DEAD]), parseEther("0.1"));
    assert.equal(await token.read.balanceOf([reg.address]), parseEther("0.9"));
    assert.equal(await reg.read.totalBurned(), parseEther("0.1"));
    const asRecipient = await c.f.viem.getContractAt("NodeRegistry", reg.address, {
      client: { wallet: c.w(RECIPIENT) },
    });
    await c.f.viem.assertions.emitWithArgs(asRecipient.write.withdrawCredits(), reg, "CreditWithdrawn", [
      c.addr(RECIPIENT),
      parseEther("0.25"),
    ]);
    assert.equal(await token.read.balanceOf([c.addr(RECIPIENT)]), parseEther("0.25"));
    assert.equal(await token.read.balanceOf([reg.address]), parseEther("0.65"));
    // unjail after topping up in the token
    await tokenAsOp.write.approve([reg.address, parseEther("0.35")]);
    await asOp.write.addStake([n, parseEther("0.35")]);
    await c.f.viem.assertions.emitWithArgs(asOp.write.unjail([n]), reg, "NodeUnjailed", [n]);
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, parseEther, type Address } from "viem";
import {
  addr,
  coordinatorAs,
  deployFixture,
  mined,
  registerNode,
  subscriptionParams,
  wallet,
  STAKE,
  type Fixture,
} from "./helpers/fixture.ts";

const ZERO: Address = "0x0000000000000000000000000000000000000000";
const PRICE = parseEther("0.05");

const net = (amount: bigint) => amount - (amount * 100n) / 10_000n;
const fee = (amount: bigint) => (amount * 100n) / 10_000n;

/** A TestToken with `amount` minted to wallets 1 (consumer) and 6 (a third party), both approving the Coordinator. */
async function tokenSetup(f: Fixture, amount = parseEther("100")) {
  const token = await f.viem.deployContract("TestToken");
  for (const i of [1, 6]) {
    await token.write.mint([addr(wallet(f, i)), amount]);
    const asHolder = await f.viem.getContractAt("TestToken", token.address, {
      client: { wallet: wallet(f, i) },
    });
    await asHolder.write.approve([f.coordinator.address, amount]);
  }
  return token;
}

describe("Coordinator payments: ETH escrow", () => {
  it("createSubscription moves the deposit into escrow; fund adds to it from anyone", async () => {
    const f = await deployFixture();
    const consumer = wallet(f, 1);
    const asConsumer = await coordinatorAs(f, consumer);
    const deposit = 3n * PRICE;
    const hash = asConsumer.write.createSubscription(
      [subscriptionParams({ paymentAmount: PRICE }), deposit],
      { value: deposit },
    );
    await f.viem.assertions.balancesHaveChanged(hash, [
      { address: addr(consumer), amount: -deposit },
      { address: f.coordinator.address, amount: deposit },
    ]);
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [deposit, 0n]);

    // An unpaid subscription can be funded in ETH too.
    await asConsumer.write.createSubscription([subscriptionParams(), 0n]);
    await f.viem.assertions.emitWithArgs(
      asConsumer.write.fund([2n, 5n], { value: 5n }),
      f.coordinator,
      "Funded",
      [2n, addr(consumer), 5n],
    );
    assert.deepEqual(await f.coordinator.read.escrowOf([2n]), [5n, 0n]);
  });

  it("WrongEthAmount whenever msg.value differs from the ETH amount", async () => {
    const f = await deployFixture();
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    const p = subscriptionParams({ paymentAmount: PRICE });
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.createSubscription([p, PRICE], { value: PRICE - 1n }),
      f.coordinator,
      "WrongEthAmount",
      [PRICE - 1n, PRICE],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.createSubscription([p, 0n], { value: 5n }),
      f.coordinator,
      "WrongEthAmount",
      [5n, 0n],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.requestCompute([p, PRICE], { value: PRICE + 1n }),
      f.coordinator,
      "WrongEthAmount",
      [PRICE + 1n, PRICE],
    );
    await asConsumer.write.createSubscription([p, 0n]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.fund([1n, PRICE]),
      f.coordinator,
      "WrongEthAmount",
      [0n, PRICE],
    );
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [0n, 0n]);
  });

  it("InsufficientEscrow when an interval's payment is not covered (payment without funds)", async () => {
    const f = await deployFixture();
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.requestCompute([subscriptionParams({ paymentAmount: PRICE }), 0n]),
      f.coordinator,
      "InsufficientEscrow",
      [1n, PRICE, 0n],
    );
    // redundancy × payment must be covered, not just one payment.
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.requestCompute(
        [subscriptionParams({ paymentAmount: PRICE, redundancy: 3 }), 2n * PRICE],
        { value: 2n * PRICE },
      ),
      f.coordinator,
      "InsufficientEscrow",
      [1n, 3n * PRICE, 2n * PRICE],
    );
    assert.equal(await f.coordinator.read.subscriptionCount(), 0n);

    await asConsumer.write.createSubscription([subscriptionParams({ paymentAmount: PRICE }), 0n]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.requestInterval([1n]),
      f.coordinator,
      "InsufficientEscrow",
      [1n, PRICE, 0n],
    );
    await asConsumer.write.fund([1n, PRICE], { value: PRICE });
    await f.viem.assertions.emitWithArgs(asConsumer.write.requestInterval([1n]), f.coordinator, "Locked", [
      1n,
      PRICE,
    ]);
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [PRICE, PRICE]);
  });

  it("locked funds cannot be withdrawn while a node works; cancel refunds only unlocked funds; the node is still paid", async () => {
    const f = await deployFixture();
    const consumer = wallet(f, 1);
    const node = wallet(f, 2);
    await registerNode(f, 2, addr(node), STAKE);
    const asConsumer = await coordinatorAs(f, consumer);
    const deposit = 3n * PRICE;
    await asConsumer.write.requestCompute([subscriptionParams({ paymentAmount: PRICE }), deposit], {
      value: deposit,
    });
    await f.coordinator.write.assign([1n, 1]);

    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.withdrawFunds([1n, deposit]),
      f.coordinator,
      "InsufficientEscrow",
      [1n, deposit, 2n * PRICE],
    );
    await asConsumer.write.withdrawFunds([1n, PRICE]);
    await f.viem.assertions.emitWithArgs(
      asConsumer.write.cancelSubscription([1n]),
      f.coordinator,
      "SubscriptionCancelled",
      [1n, PRICE],
    );
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [PRICE, PRICE]);
    assert.equal(await f.coordinator.read.credits([ZERO, addr(consumer)]), 2n * PRICE);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.withdrawFunds([1n, 1n]),
      f.coordinator,
      "InsufficientEscrow",
      [1n, 1n, 0n],
    );

    await f.viem.assertions.emitWithArgs(
      (await coordinatorAs(f, node)).write.deliver([1n, 1, "0x", "0x01", "0x"]),
      f.coordinator,
      "Paid",
      [1n, addr(node), net(PRICE), fee(PRICE)],
    );
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [0n, 0n]);

    // Pull payments: each party withdraws its own credit, and the Coordinator ends up empty.
    const consumerOut = asConsumer.write.withdraw([ZERO]);
    await f.viem.assertions.balancesHaveChanged(consumerOut, [
      { address: addr(consumer), amount: 2n * PRICE },
    ]);
    const nodeOut = (await coordinatorAs(f, node)).write.withdraw([ZERO]);
    await f.viem.assertions.balancesHaveChanged(nodeOut, [{ address: addr(node), amount: net(PRICE) }]);
    await f.coordinator.write.withdraw([ZERO]);
    assert.equal(await f.publicClient.getBalance({ address: f.coordinator.address }), 0n);
  });

  it("cancel with nothing unlocked refunds zero; NothingToWithdraw when there is no credit", async () => {
    const f = await deployFixture();
    const consumer = wallet(f, 1);
    const asConsumer = await coordinatorAs(f, consumer);
    await asConsumer.write.requestCompute([subscriptionParams({ paymentAmount: PRICE }), PRICE], {
      value: PRICE,
    });
    await f.viem.assertions.emitWithArgs(
      asConsumer.write.cancelSubscription([1n]),
      f.coordinator,
      "SubscriptionCancelled",
      [1n, 0n],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.withdraw([ZERO]),
      f.coordinator,
      "NothingToWithdraw",
      [addr(consumer), ZERO],
    );
    const token = await f.viem.deployContract("TestToken");
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.withdraw([token.address]),
      f.coordinator,
      "NothingToWithdraw",
      [addr(consumer), getAddress(token.address)],
    );
  });

  it("rejects fund on an unknown subscription and withdrawFunds/cancel by anyone but the owner", async () => {
    const f = await deployFixture();
    const stranger = wallet(f, 6);
    const asStranger = await coordinatorAs(f, stranger);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.fund([4n, 1n], { value: 1n }),
      f.coordinator,
      "UnknownSubscription",
      [4n],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.withdrawFunds([4n, 1n]),
      f.coordinator,
      "UnknownSubscription",
      [4n],
    );
    await (
      await coordinatorAs(f, wallet(f, 1))
    ).write.createSubscription([subscriptionParams(), 10n], { value: 10n });
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.withdrawFunds([1n, 1n]),
      f.coordinator,
      "NotSubscriptionOwner",
      [1n, addr(stranger)],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.cancelSubscription([1n]),
      f.coordinator,
      "NotSubscriptionOwner",
      [1n, addr(stranger)],
    );
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [10n, 0n]);
  });
});

describe("Coordinator payments: ERC-20 escrow", () => {
  it("funds, locks, pays the node and the fee in the token, and withdraws it (SafeERC20)", async () => {
    const f = await deployFixture();
    const consumer = wallet(f, 1);
    const third = wallet(f, 6);
    const node = wallet(f, 2);
    const treasury = addr(wallet(f, 0));
    await registerNode(f, 2, addr(node), STAKE);
    const token = await tokenSetup(f);
    const price = 1_000_000n;
    const p = subscriptionParams({
      paymentToken: token.address,
      paymentAmount: price,
      period: 60,
      frequency: 10,
    });
    const asConsumer = await coordinatorAs(f, consumer);

    await f.viem.assertions.emitWithArgs(
      asConsumer.write.createSubscription([p, 2n * price]),
      f.coordinator,
      "Funded",
      [1n, addr(consumer), 2n * price],
    );
    assert.equal((await f.coordinator.read.getSubscription([1n])).paymentToken, getAddress(token.address));
    assert.equal(await token.read.balanceOf([f.coordinator.address]), 2n * price);
    await f.viem.assertions.emitWithArgs(
      (await coordinatorAs(f, third)).write.fund([1n, 3n]),
      f.coordinator,
      "Funded",
      [1n, addr(third), 3n],
    );
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [2n * price + 3n, 0n]);

    await f.viem.assertions.emitWithArgs(asConsumer.write.requestInterval([1n]), f.coordinator, "Locked", [
      1n,
      price,
    ]);
    await mined(f, await (await coordinatorAs(f, node)).write.deliver([1n, 1, "0x", "0x01", "0x"]));
    assert.equal(
      await f.coordinator.read.credits([getAddress(token.address), addr(node)]),
      price - price / 100n,
    );
    assert.equal(await f.coordinator.read.credits([getAddress(token.address), treasury]), price / 100n);
    assert.equal(await f.coordinator.read.credits([ZERO, addr(node)]), 0n);

    const asNode = await coordinatorAs(f, node);
    await f.viem.assertions.emitWithArgs(asNode.write.withdraw([token.address]), f.coordinator, "Withdrawn", [
      getAddress(token.address),
      addr(node),
      price - price / 100n,
    ]);
    assert.equal(await token.read.balanceOf([addr(node)]), price - price / 100n);

    await f.viem.assertions.emitWithArgs(
      asConsumer.write.cancelSubscription([1n]),
      f.coordinator,
      "SubscriptionCancelled",
      [1n, price + 3n],
    );
    const before = await token.read.balanceOf([addr(consumer)]);
    await asConsumer.write.withdraw([token.address]);
    assert.equal(await token.read.balanceOf([addr(consumer)]), before + price + 3n);
    await f.coordinator.write.withdraw([token.address]);
    assert.equal(await token.read.balanceOf([f.coordinator.address]), 0n);
  });

  it("UnexpectedEth with an ERC-20 subscription, PaymentTokenWithoutAmount, and the token's own error without allowance", async () => {
    const f = await deployFixture();
    const consumer = wallet(f, 1);
    const asConsumer = await coordinatorAs(f, consumer);
    const token = await tokenSetup(f);
    const p = subscriptionParams({ paymentToken: token.address, paymentAmount: 10n });
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.createSubscription([p, 10n], { value: 1n }),
      f.coordinator,
      "UnexpectedEth",
      [1n],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.requestCompute([p, 10n], { value: 2n }),
      f.coordinator,
      "UnexpectedEth",
      [2n],
    );
    await asConsumer.write.createSubscription([p, 0n]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.fund([1n, 10n], { value: 3n }),
      f.coordinator,
      "UnexpectedEth",
      [3n],
    );

    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.createSubscription([
        subscriptionParams({ paymentToken: token.address, paymentAmount: 0n }),
        0n,
      ]),
      f.coordinator,
      "PaymentTokenWithoutAmount",
      [getAddress(token.address)],
    );

    const poor = wallet(f, 7);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      (await coordinatorAs(f, poor)).write.fund([1n, 10n]),
      token,
      "ERC20InsufficientAllowance",
      [getAddress(f.coordinator.address), 0n, 10n],
    );
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [0n, 0n]);
  });
});

describe("Coordinator payments: consumer contracts", () => {
  it("ExampleConsumer: subscribe with a deposit, cancel, and collectRefund forwards the ETH to its owner", async () => {
    const f = await deployFixture();
    const owner = wallet(f, 3);
    const consumer = await f.viem.deployContract("ExampleConsumer", [f.coordinator.address, addr(owner)], {
      client: { wallet: owner },
    });
    const deposit = 4n * PRICE;
    await consumer.write.subscribe(
      [subscriptionParams({ period: 60, frequency: 4, paymentAmount: PRICE }), deposit],
      { value: deposit },
    );
    assert.equal((await f.coordinator.read.getSubscription([1n])).owner, getAddress(consumer.address));
    assert.deepEqual(await f.coordinator.read.escrowOf([1n]), [deposit, 0n]);

    const stranger = wallet(f, 6);
    const asStranger = await f.viem.getContractAt("ExampleConsumer", consumer.address, {
      client: { wallet: stranger },
    });
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.cancel([1n]),
      consumer,
      "OwnableUnauthorizedAccount",
      [addr(stranger)],
    );
    for (const call of [
      () => asStranger.write.request([subscriptionParams().containerId, "0x", 1, 0n]),
      () => asStranger.write.subscribe([subscriptionParams(), 0n]),
      () => asStranger.write.setRecurringInput(["0x01"]),
      () => asStranger.write.setSigner([addr(stranger)]),
    ]) {
      await f.viem.assertions.revertWithCustomErrorWithArgs(call(), consumer, "OwnableUnauthorizedAccount", [
        addr(stranger),
      ]);
    }
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.collectRefund([ZERO]),
      consumer,
      "OwnableUnauthorizedAccount",
      [addr(stranger)],
    );

    await f.viem.assertions.emitWithArgs(
      consumer.write.cancel([1n]),
      f.coordinator,
      "SubscriptionCancelled",
      [1n, deposit],
    );
    assert.equal(await f.coordinator.read.credits([ZERO, consumer.address]), deposit);
    await f.viem.assertions.balancesHaveChanged(consumer.write.collectRefund([ZERO]), [
      { address: addr(owner), amount: deposit },
      { address: f.coordinator.address, amount: -deposit },
      { address: consumer.address, amount: 0n },
    ]);
  });

  it("ExampleConsumer.request pays redundancy × payment from msg.value; too little value reverts", async () => {
    const f = await deployFixture();
    const owner = wallet(f, 0);
    const consumer = await f.viem.deployContract("ExampleConsumer", [f.coordinator.address, addr(owner)]);
    const containerId = subscriptionParams().containerId;
    await f.viem.assertions.emitWithArgs(
      consumer.write.request([containerId, "0x1234", 2, PRICE], { value: 2n * PRICE }),
      f.coordinator,
      "Locked",
      [1n, 2n * PRICE],
    );
    const s = await f.coordinator.read.getSubscription([1n]);
    assert.equal(s.redundancy, 2);
    assert.equal(s.callbackGasLimit, 200_000);
    assert.equal(s.frequency, 1);
    await f.viem.assertions.revert(
      consumer.write.request([containerId, "0x1234", 2, PRICE], { value: PRICE }),
    );
  });

  it("HostileConsumer as a subscription owner: create with ETH, cancel and withdraw the refund", async () => {
    const f = await deployFixture();
    const hostile = await f.viem.deployContract("HostileConsumer", [f.coordinator.address]);
    await hostile.write.create([subscriptionParams({ paymentAmount: PRICE, period: 10, frequency: 3 })], {
      value: 3n * PRICE,
    });
    await f.viem.assertions.emitWithArgs(hostile.write.cancel([1n]), f.coordinator, "SubscriptionCancelled", [
      1n,
      3n * PRICE,
    ]);
    await f.viem.assertions.balancesHaveChanged(hostile.write.withdraw([ZERO]), [
      { address: hostile.address, amount: 3n * PRICE },
      { address: f.coordinator.address, amount: -3n * PRICE },
    ]);
  });
});

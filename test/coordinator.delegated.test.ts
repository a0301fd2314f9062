import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  getAddress,
  hashTypedData,
  keccak256,
  parseEther,
  toBytes,
  type Address,
  type Hex,
  type TypedDataDomain,
} from "viem";
import type { SubscriptionParams } from "@infernet/sdk";
import {
  addr,
  coordinatorAs,
  deployFixture,
  registerNode,
  subscriptionParams,
  wallet,
  type Fixture,
  type Wallet,
} from "./helpers/fixture.ts";

const ZERO: Address = "0x0000000000000000000000000000000000000000";

const TYPE_STRING =
  "DelegatedSubscription(address owner,uint32 nonce,uint32 expiry,bytes32 containerId,uint32 activeAt," +
  "uint32 period,uint32 frequency,uint16 redundancy,uint32 callbackGasLimit,bool lazy,address paymentToken," +
  "uint96 paymentAmount,address verifier,bytes inputs)";

const TYPES = {
  DelegatedSubscription: [
    { name: "owner", type: "address" },
    { name: "nonce", type: "uint32" },
    { name: "expiry", type: "uint32" },
    { name: "containerId", type: "bytes32" },
    { name: "activeAt", type: "uint32" },
    { name: "period", type: "uint32" },
    { name: "frequency", type: "uint32" },
    { name: "redundancy", type: "uint16" },
    { name: "callbackGasLimit", type: "uint32" },
    { name: "lazy", type: "bool" },
    { name: "paymentToken", type: "address" },
    { name: "paymentAmount", type: "uint96" },
    { name: "verifier", type: "address" },
    { name: "inputs", type: "bytes" },
  ],
} as const;

async function domainOf(f: Fixture): Promise<TypedDataDomain & { chainId: number }> {
  const [, name, version, chainId, verifyingContract] = await f.coordinator.read.eip712Domain();
  return { name, version, chainId: Number(chainId), verifyingContract };
}

function message(owner: Address, nonce: number, expiry: number, p: SubscriptionParams) {
  return { owner, nonce, expiry, ...p };
}

async function sign(
  signer: Wallet,
  domain: TypedDataDomain,
  owner: Address,
  nonce: number,
  expiry: number,
  p: SubscriptionParams,
): Promise<Hex> {
  return signer.signTypedData({
    account: signer.account,
    domain,
    types: TYPES,
    primaryType: "DelegatedSubscription",
    message: message(owner, nonce, expiry, p),
  });
}

/** ExampleConsumer (owned by wallet 0) whose delegated signer is wallet 4. */
async function setup() {
  const f = await deployFixture();
  const signer = wallet(f, 4);
  const consumer = await f.viem.deployContract("ExampleConsumer", [f.coordinator.address, addr(signer)]);
  const domain = await domainOf(f);
  const expiry = (await f.networkHelpers.time.latest()) + 3600;
  return { f, signer, consumer, owner: getAddress(consumer.address), domain, expiry };
}

describe("Coordinator delegated subscriptions (EIP-712)", () => {
  it("the type hash, the domain and viem's typed-data digest match the contract's delegatedDigest", async () => {
    const { f, owner, domain, expiry } = await setup();
    assert.equal(await f.coordinator.read.DELEGATED_SUBSCRIPTION_TYPEHASH(), keccak256(toBytes(TYPE_STRING)));
    assert.equal(domain.name, "InferNet Coordinator");
    assert.equal(domain.version, "1");
    assert.equal(domain.chainId, await f.publicClient.getChainId());
    assert.equal(domain.verifyingContract, getAddress(f.coordinator.address));
    for (const p of [
      subscriptionParams(),
      subscriptionParams({
        period: 60,
        frequency: 7,
        redundancy: 3,
        lazy: true,
        paymentAmount: 12345n,
        verifier: owner,
        inputs: "0x",
      }),
    ]) {
      const digest = hashTypedData({
        domain,
        types: TYPES,
        primaryType: "DelegatedSubscription",
        message: message(owner, 9, expiry, p),
      });
      assert.equal(await f.coordinator.read.delegatedDigest([owner, 9, expiry, p]), digest);
    }
  });

  it("whoever presents the signature creates the subscription for the consumer, once; a replay returns the same id and emits nothing", async () => {
    const { f, signer, consumer, owner, domain, expiry } = await setup();
    const p = subscriptionParams({ period: 86_400, frequency: 5, paymentAmount: parseEther("0.01") });
    const signature = await sign(signer, domain, owner, 1, expiry, p);
    const asNode = await coordinatorAs(f, wallet(f, 2));
    assert.equal(await f.coordinator.read.delegatedSubscriptionOf([owner, 1]), 0n);

    const { result } = await asNode.simulate.createSubscriptionDelegated([owner, 1, expiry, p, signature]);
    assert.equal(result, 1n);
    const hash = await asNode.write.createSubscriptionDelegated([owner, 1, expiry, p, signature]);
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "SubscriptionCreated", [1n, owner, p]);
    await f.viem.assertions.emitWithArgs(hash, f.coordinator, "DelegatedSubscriptionCreated", [owner, 1, 1n]);
    assert.equal(await f.coordinator.read.delegatedSubscriptionOf([owner, 1]), 1n);
    const s = await f.coordinator.read.getSubscription([1n]);
    assert.equal(s.owner, owner);
    assert.equal(s.frequency, 5);
    assert.equal(s.paymentAmount, parseEther("0.01"));

    // Replays (by anyone, even after expiry and with other parameters) return the existing id without a new event.
    await f.networkHelpers.time.increaseTo(expiry + 10);
    const asOther = await coordinatorAs(f, wallet(f, 5));
    const replay = await asOther.simulate.createSubscriptionDelegated([
      owner,
      1,
      expiry,
      subscriptionParams({ redundancy: 9 }),
      "0x",
    ]);
    assert.equal(replay.result, 1n);
    const receipt = await f.publicClient.waitForTransactionReceipt({
      hash: await asOther.write.createSubscriptionDelegated([owner, 1, expiry, p, signature]),
    });
    assert.equal(receipt.status, "success");
    assert.equal(receipt.logs.length, 0);
    assert.equal(await f.coordinator.read.subscriptionCount(), 1n);

    // The subscription works like any other: funded by anyone, requested, delivered to the consumer.
    await registerNode(f, 2, addr(wallet(f, 2)));
    await asNode.write.fund([1n, parseEther("0.01")], { value: parseEther("0.01") });
    await consumer.write.setRecurringInput(["0x99"]);
    await asNode.write.requestInterval([1n]);
    await asNode.write.deliver([1n, await f.coordinator.read.currentInterval([1n]), "0x", "0xfeed", "0x"]);
    assert.equal((await consumer.read.results([1n]))[2], "0xfeed");
  });

  it("another nonce creates another subscription; the signature is valid up to and including its expiry", async () => {
    const { f, signer, owner, domain, expiry } = await setup();
    const p = subscriptionParams();
    const asNode = await coordinatorAs(f, wallet(f, 2));
    await asNode.write.createSubscriptionDelegated([
      owner,
      1,
      expiry,
      p,
      await sign(signer, domain, owner, 1, expiry, p),
    ]);
    const sig2 = await sign(signer, domain, owner, 2, expiry, p);
    await f.networkHelpers.time.setNextBlockTimestamp(expiry);
    await f.viem.assertions.emitWithArgs(
      asNode.write.createSubscriptionDelegated([owner, 2, expiry, p, sig2]),
      f.coordinator,
      "DelegatedSubscriptionCreated",
      [owner, 2, 2n],
    );
    assert.equal(await f.coordinator.read.delegatedSubscriptionOf([owner, 2]), 2n);
  });

  it("SignatureExpired after the expiry", async () => {
    const { f, signer, owner, domain, expiry } = await setup();
    const p = subscriptionParams();
    const signature = await sign(signer, domain, owner, 1, expiry, p);
    await f.networkHelpers.time.increaseTo(expiry + 1);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.createSubscriptionDelegated([owner, 1, expiry, p, signature]),
      f.coordinator,
      "SignatureExpired",
      [expiry],
    );
    assert.equal(await f.coordinator.read.delegatedSubscriptionOf([owner, 1]), 0n);
  });

  it("InvalidDelegateSignature: forged bytes, the wrong signer, another chain id, another Coordinator, altered parameters, no signer", async () => {
    const { f, signer, consumer, owner, domain, expiry } = await setup();
    const p = subscriptionParams();
    const invalid = async (
      signature: Hex,
      params: SubscriptionParams = p,
      expected: Address = addr(signer),
    ) =>
      f.viem.assertions.revertWithCustomErrorWithArgs(
        f.coordinator.write.createSubscriptionDelegated([owner, 1, expiry, params, signature]),
        f.coordinator,
        "InvalidDelegateSignature",
        [owner, expected],
      );

    await invalid(`0x${"11".repeat(65)}`);
    await invalid("0x");
    await invalid(await sign(wallet(f, 5), domain, owner, 1, expiry, p));
    await invalid(await sign(signer, { ...domain, chainId: domain.chainId + 1 }, owner, 1, expiry, p));
    await invalid(
      await sign(signer, { ...domain, verifyingContract: consumer.address }, owner, 1, expiry, p),
    );
    await invalid(await sign(signer, domain, owner, 2, expiry, p));
    await invalid(await sign(signer, domain, owner, 1, expiry - 1, p));
    const good = await sign(signer, domain, owner, 1, expiry, p);
    await invalid(good, { ...p, paymentAmount: 1n });
    await invalid(good, { ...p, inputs: "0xab" });

    // A signer that is removed cannot sign at all.
    await consumer.write.setSigner([ZERO]);
    await invalid(good, p, ZERO);
    assert.equal(await f.coordinator.read.subscriptionCount(), 0n);

    // A new signer takes over.
    const next = wallet(f, 6);
    await f.viem.assertions.emitWithArgs(consumer.write.setSigner([addr(next)]), consumer, "SignerUpdated", [
      addr(next),
    ]);
    assert.equal(await consumer.read.getSigner(), addr(next));
    await f.coordinator.write.createSubscriptionDelegated([
      owner,
      1,
      expiry,
      p,
      await sign(next, domain, owner, 1, expiry, p),
    ]);
    assert.equal(await f.coordinator.read.delegatedSubscriptionOf([owner, 1]), 1n);
  });

  it("a valid signature over invalid parameters still fails the creation checks", async () => {
    const { f, signer, owner, domain, expiry } = await setup();
    const p = subscriptionParams({ redundancy: 0 });
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      f.coordinator.write.createSubscriptionDelegated([
        owner,
        1,
        expiry,
        p,
        await sign(signer, domain, owner, 1, expiry, p),
      ]),
      f.coordinator,
      "InvalidRedundancy",
      [0],
    );
  });
});

describe("Coordinator creation checks and ownership", () => {
  it("InvalidRedundancy, InvalidFrequency, InvalidPeriod, UnknownContainer, CallbackGasLimitTooHigh", async () => {
    const f = await deployFixture();
    const asConsumer = await coordinatorAs(f, wallet(f, 1));
    const create = (overrides: Partial<SubscriptionParams>) =>
      asConsumer.write.createSubscription([subscriptionParams(overrides), 0n]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      create({ redundancy: 0 }),
      f.coordinator,
      "InvalidRedundancy",
      [0],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      create({ frequency: 0 }),
      f.coordinator,
      "InvalidFrequency",
      [0],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      create({ period: 0, frequency: 2 }),
      f.coordinator,
      "InvalidPeriod",
      [0, 2],
    );
    const unknown = keccak256(toBytes("no-such-container"));
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      create({ containerId: unknown }),
      f.coordinator,
      "UnknownContainer",
      [unknown],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      create({ callbackGasLimit: 2_000_001 }),
      f.coordinator,
      "CallbackGasLimitTooHigh",
      [2_000_001, 2_000_000],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.requestCompute([subscriptionParams({ redundancy: 0 }), 0n]),
      f.coordinator,
      "InvalidRedundancy",
      [0],
    );
    assert.equal(await f.coordinator.read.subscriptionCount(), 0n);

    // The boundaries themselves are fine: maximum callback gas, a recurring one-interval subscription, zero callback gas.
    await create({ callbackGasLimit: 2_000_000 });
    await create({ period: 60, frequency: 1 });
    await create({ callbackGasLimit: 0, lazy: true });
    assert.equal(await f.coordinator.read.subscriptionCount(), 3n);
  });

  it("UnknownSubscription, NotSubscriptionOwner and SubscriptionIsCancelled", async () => {
    const f = await deployFixture();
    const consumer = wallet(f, 1);
    const stranger = wallet(f, 6);
    const asConsumer = await coordinatorAs(f, consumer);
    const asStranger = await coordinatorAs(f, stranger);

    for (const call of [
      () => asConsumer.write.cancelSubscription([3n]),
      () => asConsumer.write.withdrawFunds([3n, 0n]),
      () => asConsumer.write.fund([3n, 0n]),
      () => asConsumer.write.requestInterval([3n]),
      () => asConsumer.write.deliver([3n, 1, "0x", "0x", "0x"]),
      () => asConsumer.write.settle([3n, 1, 0, 10_000]),
    ]) {
      await f.viem.assertions.revertWithCustomErrorWithArgs(call(), f.coordinator, "UnknownSubscription", [
        3n,
      ]);
    }
    // getSubscription of an unknown id is all zero rather than a revert.
    assert.equal((await f.coordinator.read.getSubscription([3n])).owner, ZERO);

    await asConsumer.write.createSubscription([subscriptionParams({ period: 60, frequency: 3 }), 0n]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.cancelSubscription([1n]),
      f.coordinator,
      "NotSubscriptionOwner",
      [1n, addr(stranger)],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.withdrawFunds([1n, 0n]),
      f.coordinator,
      "NotSubscriptionOwner",
      [1n, addr(stranger)],
    );

    await f.viem.assertions.emitWithArgs(
      asConsumer.write.cancelSubscription([1n]),
      f.coordinator,
      "SubscriptionCancelled",
      [1n, 0n],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asConsumer.write.cancelSubscription([1n]),
      f.coordinator,
      "SubscriptionIsCancelled",
      [1n],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.requestInterval([1n]),
      f.coordinator,
      "SubscriptionIsCancelled",
      [1n],
    );
    // Ownership is checked before the cancelled flag.
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asStranger.write.cancelSubscription([1n]),
      f.coordinator,
      "NotSubscriptionOwner",
      [1n, addr(stranger)],
    );
  });
});

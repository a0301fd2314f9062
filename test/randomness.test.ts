import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { encodeAbiParameters, getAddress, keccak256, zeroAddress, type Address, type Hex } from "viem";
import { deployFixture, wallet } from "./helpers/fixture.ts";

const ZERO32: Hex = `0x${"00".repeat(32)}`;
const ONE32: Hex = `0x${"00".repeat(31)}01`;
const V1: Hex = `0x${"a1".repeat(32)}`;
const V2: Hex = `0x${"b2".repeat(32)}`;

describe("BlockhashRandomness", () => {
  async function setup() {
    const f = await deployFixture();
    const rng = f.randomness;
    const chainId = await f.publicClient.getChainId();
    const salt = keccak256(
      encodeAbiParameters([{ type: "address" }, { type: "uint256" }], [rng.address, BigInt(chainId)]),
    );
    /** valueOf(round) as the contract defines it: keccak256(abi.encode(salt, blockhash(round), round)). */
    const expected = async (round: bigint, s: Hex = salt) => {
      const block = await f.publicClient.getBlock({ blockNumber: round });
      return keccak256(
        encodeAbiParameters(
          [{ type: "bytes32" }, { type: "bytes32" }, { type: "uint64" }],
          [s, block.hash, round],
        ),
      );
    };
    return { f, rng, expected, A: f.viem.assertions };
  }

  it("requestRound returns the current block; the round is not ready in that block", async () => {
    const { f, rng, A } = await setup();
    const latest = await f.publicClient.getBlockNumber();
    const round = await rng.read.requestRound();
    assert.equal(round, latest);
    assert.equal(await rng.read.isReady([round]), false);
    assert.equal(await rng.read.isExpired([round]), false);
    await A.revertWithCustomErrorWithArgs(rng.read.valueOf([round]), rng, "RoundNotReady", [round]);
    // a round in the future is not ready and not expired
    await A.revertWithCustomErrorWithArgs(rng.read.valueOf([round + 5n]), rng, "RoundNotReady", [round + 5n]);
    assert.equal(await rng.read.isExpired([round + 5n]), false);
  });

  it("is ready from the next block with the salted block hash, and stable while readable", async () => {
    const { f, rng, expected } = await setup();
    const round = await rng.read.requestRound();
    await f.networkHelpers.mine(1);
    assert.equal(await rng.read.isReady([round]), true);
    assert.equal(await rng.read.isExpired([round]), false);
    const value = await rng.read.valueOf([round]);
    assert.equal(value, await expected(round));
    assert.notEqual(value, ZERO32);
    await f.networkHelpers.mine(100);
    assert.equal(await rng.read.valueOf([round]), value);
    // neighbouring rounds differ
    const next = round + 1n;
    assert.notEqual(await rng.read.valueOf([next]), value);
    assert.equal(await rng.read.valueOf([next]), await expected(next));
  });

  it("stays readable for 256 blocks and then reverts RoundExpired", async () => {
    const { f, rng, A } = await setup();
    const round = await rng.read.requestRound();
    await f.networkHelpers.mineUpTo(round + 256n);
    assert.equal(await rng.read.isReady([round]), true);
    assert.equal(await rng.read.isExpired([round]), false);
    const value = await rng.read.valueOf([round]);
    assert.notEqual(value, ZERO32);
    await f.networkHelpers.mine(1); // block.number - round == 257
    assert.equal(await rng.read.isReady([round]), false);
    assert.equal(await rng.read.isExpired([round]), true);
    await A.revertWithCustomErrorWithArgs(rng.read.valueOf([round]), rng, "RoundExpired", [round]);
    // the following round is still at the edge of the window
    assert.equal(await rng.read.isReady([round + 1n]), true);
  });

  it("two deployments on one chain give different values for the same round", async () => {
    const { f, rng, expected } = await setup();
    const other = await f.viem.deployContract("BlockhashRandomness");
    const round = await rng.read.requestRound();
    await f.networkHelpers.mine(1);
    const otherSalt = keccak256(
      encodeAbiParameters(
        [{ type: "address" }, { type: "uint256" }],
        [other.address, BigInt(await f.publicClient.getChainId())],
      ),
    );
    const a = await rng.read.valueOf([round]);
    const b = await other.read.valueOf([round]);
    assert.notEqual(a, b);
    assert.equal(b, await expected(round, otherSalt));
  });
});

describe("OracleRandomness", () => {
  async function setup() {
    const f = await deployFixture();
    const w = (i: number) => wallet(f, i);
    const owner = w(0).account.address;
    const fulfillerAddr = w(5).account.address;
    const { contract: oracle, deploymentTransaction } = await f.viem.sendDeploymentTransaction(
      "OracleRandomness",
      [owner, fulfillerAddr],
    );
    await f.publicClient.waitForTransactionReceipt({ hash: deploymentTransaction.hash });
    const as = (i: number) =>
      f.viem.getContractAt("OracleRandomness", oracle.address, { client: { wallet: w(i) } });
    return {
      f,
      oracle,
      deployHash: deploymentTransaction.hash,
      owner,
      fulfillerAddr,
      addr: (i: number): Address => w(i).account.address,
      as,
      asFulfiller: await as(5),
      asStranger: await as(6),
      A: f.viem.assertions,
    };
  }

  it("constructor sets owner and fulfiller and emits FulfillerSet", async () => {
    const { oracle, deployHash, owner, fulfillerAddr, A } = await setup();
    await A.emitWithArgs(deployHash, oracle, "FulfillerSet", [fulfillerAddr]);
    assert.equal(await oracle.read.owner(), getAddress(owner));
    assert.equal(await oracle.read.fulfiller(), getAddress(fulfillerAddr));
    assert.equal(await oracle.read.lastRound(), 0n);
  });

  it("requestRound numbers rounds from 1 for any caller and emits RoundRequested", async () => {
    const { oracle, as, addr, A } = await setup();
    const asUser = await as(3);
    const sim = await asUser.simulate.requestRound({ account: addr(3) });
    assert.equal(sim.result, 1n);
    await A.emitWithArgs(asUser.write.requestRound(), oracle, "RoundRequested", [1n, addr(3)]);
    await A.emitWithArgs(oracle.write.requestRound(), oracle, "RoundRequested", [2n, addr(0)]);
    assert.equal(await oracle.read.lastRound(), 2n);
    for (const r of [1n, 2n]) {
      assert.equal(await oracle.read.isReady([r]), false);
      await A.revertWithCustomErrorWithArgs(oracle.read.valueOf([r]), oracle, "RoundNotReady", [r]);
    }
  });

  it("fulfill stores the value once; valueOf returns it; rounds may be fulfilled out of order; never expires", async () => {
    const { oracle, asFulfiller, A } = await setup();
    await oracle.write.requestRound();
    await oracle.write.requestRound();
    await A.emitWithArgs(asFulfiller.write.fulfill([2n, V2]), oracle, "RoundFulfilled", [2n, V2]);
    assert.equal(await oracle.read.isReady([2n]), true);
    assert.equal(await oracle.read.isReady([1n]), false);
    assert.equal(await oracle.read.valueOf([2n]), V2);
    await A.emitWithArgs(asFulfiller.write.fulfill([1n, V1]), oracle, "RoundFulfilled", [1n, V1]);
    assert.equal(await oracle.read.valueOf([1n]), V1);
    for (const r of [0n, 1n, 2n, 3n, 2n ** 64n - 1n]) assert.equal(await oracle.read.isExpired([r]), false);
    // cannot be changed afterwards, not even to the same value
    await A.revertWithCustomErrorWithArgs(asFulfiller.write.fulfill([1n, V2]), oracle, "AlreadyFulfilled", [
      1n,
    ]);
    await A.revertWithCustomErrorWithArgs(asFulfiller.write.fulfill([2n, V2]), oracle, "AlreadyFulfilled", [
      2n,
    ]);
    assert.equal(await oracle.read.valueOf([1n]), V1);
  });

  it("a zero value is stored as 1 so the round still reads as fulfilled, and the event reports the stored value", async () => {
    const { oracle, asFulfiller, A } = await setup();
    await oracle.write.requestRound();
    const hash = asFulfiller.write.fulfill([1n, ZERO32]);
    await A.emitWithArgs(hash, oracle, "RoundFulfilled", [1n, ONE32]);
    assert.equal(await oracle.read.isReady([1n]), true);
    assert.equal(await oracle.read.valueOf([1n]), ONE32);
    await A.revertWithCustomErrorWithArgs(asFulfiller.write.fulfill([1n, V1]), oracle, "AlreadyFulfilled", [
      1n,
    ]);
  });

  it("fulfill reverts NotFulfiller for anyone else, the owner included", async () => {
    const { oracle, asStranger, addr, A } = await setup();
    await oracle.write.requestRound();
    await A.revertWithCustomErrorWithArgs(asStranger.write.fulfill([1n, V1]), oracle, "NotFulfiller", [
      addr(6),
    ]);
    await A.revertWithCustomErrorWithArgs(oracle.write.fulfill([1n, V1]), oracle, "NotFulfiller", [addr(0)]);
    assert.equal(await oracle.read.isReady([1n]), false);
  });

  it("fulfill reverts UnknownRound for round 0 and for rounds not yet requested", async () => {
    const { oracle, asFulfiller, A } = await setup();
    await A.revertWithCustomErrorWithArgs(asFulfiller.write.fulfill([1n, V1]), oracle, "UnknownRound", [1n]);
    await oracle.write.requestRound();
    await A.revertWithCustomErrorWithArgs(asFulfiller.write.fulfill([0n, V1]), oracle, "UnknownRound", [0n]);
    await A.revertWithCustomErrorWithArgs(asFulfiller.write.fulfill([2n, V1]), oracle, "UnknownRound", [2n]);
    await A.revertWithCustomErrorWithArgs(oracle.read.valueOf([2n]), oracle, "RoundNotReady", [2n]);
    await asFulfiller.write.fulfill([1n, V1]);
    assert.equal(await oracle.read.valueOf([1n]), V1);
  });

  it("setFulfiller replaces the fulfiller (owner only) and emits FulfillerSet", async () => {
    const { oracle, asFulfiller, asStranger, as, addr, fulfillerAddr, A } = await setup();
    await A.revertWithCustomErrorWithArgs(
      asStranger.write.setFulfiller([addr(6)]),
      oracle,
      "OwnableUnauthorizedAccount",
      [addr(6)],
    );
    await A.revertWithCustomErrorWithArgs(
      asFulfiller.write.setFulfiller([addr(6)]),
      oracle,
      "OwnableUnauthorizedAccount",
      [fulfillerAddr],
    );
    assert.equal(await oracle.read.fulfiller(), getAddress(fulfillerAddr));
    await A.emitWithArgs(oracle.write.setFulfiller([addr(7)]), oracle, "FulfillerSet", [addr(7)]);
    assert.equal(await oracle.read.fulfiller(), getAddress(addr(7)));
    await oracle.write.requestRound();
    await A.revertWithCustomErrorWithArgs(asFulfiller.write.fulfill([1n, V1]), oracle, "NotFulfiller", [
      fulfillerAddr,
    ]);
    await A.emitWithArgs((await as(7)).write.fulfill([1n, V1]), oracle, "RoundFulfilled", [1n, V1]);
    // the zero address disables fulfilment
    await A.emitWithArgs(oracle.write.setFulfiller([zeroAddress]), oracle, "FulfillerSet", [zeroAddress]);
    await oracle.write.requestRound();
    await A.revertWithCustomErrorWithArgs((await as(7)).write.fulfill([2n, V2]), oracle, "NotFulfiller", [
      addr(7),
    ]);
  });
});

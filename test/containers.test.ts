import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, keccak256, parseEther, toBytes, zeroAddress, type Hash, type Hex } from "viem";
import { CONTAINER, CONTAINER_ID, deployFixture, registerNode, wallet } from "./helpers/fixture.ts";

const DIGEST: Hex = `0x${"5e".repeat(32)}`;
const ZERO32: Hex = `0x${"00".repeat(32)}`;
const id = (s: string): Hex => keccak256(toBytes(s));

async function setup() {
  const f = await deployFixture();
  const as = (i: number) =>
    f.viem.getContractAt("ContainerRegistry", f.containerRegistry.address, {
      client: { wallet: wallet(f, i) },
    });
  const blockTime = async (hash: Hash) => {
    const receipt = await f.publicClient.getTransactionReceipt({ hash });
    return Number((await f.publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp);
  };
  return {
    f,
    reg: f.containerRegistry,
    wallet: (i: number) => wallet(f, i),
    as,
    blockTime,
    A: f.viem.assertions,
  };
}

describe("ContainerRegistry: containers", () => {
  it("registerContainer returns keccak256(name), stores the record and emits ContainerRegistered", async () => {
    const { f, reg, wallet, as, blockTime, A } = await setup();
    const publisher = wallet(3).account.address;
    const asPub = await as(3);
    const name = "diffusion-v1";
    const sim = await asPub.simulate.registerContainer([name, DIGEST], { account: publisher });
    assert.equal(sim.result, id(name));
    assert.equal(await reg.read.isKnown([id(name)]), false);
    const hash = await asPub.write.registerContainer([name, DIGEST]);
    await A.emitWithArgs(hash, reg, "ContainerRegistered", [id(name), name, publisher, DIGEST]);
    assert.equal(await reg.read.isKnown([id(name)]), true);
    assert.deepEqual(await reg.read.containers([id(name)]), [
      getAddress(publisher),
      await blockTime(hash),
      false,
      DIGEST,
    ]);
    void f;
  });

  it("the fixture's container id is keccak256 of its name and a zero digest is allowed", async () => {
    const { reg } = await setup();
    assert.equal(CONTAINER_ID, id(CONTAINER));
    assert.equal(await reg.read.isKnown([CONTAINER_ID]), true);
    const [publisher, registeredAt, pipeline, digest] = await reg.read.containers([CONTAINER_ID]);
    assert.notEqual(publisher, zeroAddress);
    assert.ok(registeredAt > 0);
    assert.equal(pipeline, false);
    assert.equal(digest, ZERO32);
  });

  it("unknown ids are not known and have an empty record", async () => {
    const { reg } = await setup();
    assert.equal(await reg.read.isKnown([id("nope")]), false);
    assert.equal(await reg.read.isKnown([ZERO32]), false);
    assert.deepEqual(await reg.read.containers([id("nope")]), [zeroAddress, 0, false, ZERO32]);
  });

  it("reverts EmptyContainerName for an empty name", async () => {
    const { reg, A } = await setup();
    await A.revertWithCustomErrorWithArgs(
      reg.write.registerContainer(["", DIGEST]),
      reg,
      "EmptyContainerName",
      [],
    );
    assert.equal(await reg.read.isKnown([id("")]), false);
  });

  it("reverts ContainerAlreadyRegistered for a taken name, whoever registers it, and keeps the first record", async () => {
    const { reg, wallet, as, A } = await setup();
    const first = wallet(2).account.address;
    await (await as(2)).write.registerContainer(["sd-xl", DIGEST]);
    await A.revertWithCustomErrorWithArgs(
      (await as(3)).write.registerContainer(["sd-xl", ZERO32]),
      reg,
      "ContainerAlreadyRegistered",
      [id("sd-xl")],
    );
    await A.revertWithCustomErrorWithArgs(
      (await as(2)).write.registerContainer(["sd-xl", DIGEST]),
      reg,
      "ContainerAlreadyRegistered",
      [id("sd-xl")],
    );
    const [publisher, , , digest] = await reg.read.containers([id("sd-xl")]);
    assert.equal(publisher, getAddress(first));
    assert.equal(digest, DIGEST);
    // names are case- and byte-exact: a different spelling is a different container
    await (await as(3)).write.registerContainer(["SD-XL", ZERO32]);
    assert.notEqual(id("SD-XL"), id("sd-xl"));
    assert.equal(await reg.read.isKnown([id("SD-XL")]), true);
  });
});

describe("ContainerRegistry: pipelines", () => {
  async function withHops() {
    const s = await setup();
    for (const name of ["a", "b", "c"]) await s.reg.write.registerContainer([name, ZERO32]);
    return s;
  }

  it("registerPipeline returns keccak256 of the comma-joined names and emits PipelineRegistered", async () => {
    const { reg, wallet, as, blockTime, A } = await withHops();
    const publisher = wallet(4).account.address;
    const asPub = await as(4);
    const sim = await asPub.simulate.registerPipeline([["a", "b"]], { account: publisher });
    assert.equal(sim.result, id("a,b"));
    const hash = await asPub.write.registerPipeline([["a", "b"]]);
    await A.emitWithArgs(hash, reg, "PipelineRegistered", [id("a,b"), "a,b", publisher]);
    assert.equal(await reg.read.isKnown([id("a,b")]), true);
    assert.deepEqual(await reg.read.containers([id("a,b")]), [
      getAddress(publisher),
      await blockTime(hash),
      true,
      ZERO32,
    ]);
    // order matters and longer pipelines join every hop
    await A.emitWithArgs(reg.write.registerPipeline([["b", "a"]]), reg, "PipelineRegistered", [
      id("b,a"),
      "b,a",
      wallet(0).account.address,
    ]);
    const h3 = reg.write.registerPipeline([["a", "b", "c", "a"]]);
    await A.emitWithArgs(h3, reg, "PipelineRegistered", [
      id("a,b,c,a"),
      "a,b,c,a",
      wallet(0).account.address,
    ]);
    assert.equal(await reg.read.isKnown([id("a,b,c,a")]), true);
    assert.equal(await reg.read.isKnown([id("a,c")]), false);
  });

  it("reverts PipelineTooShort for fewer than two hops", async () => {
    const { reg, A } = await withHops();
    await A.revertWithCustomErrorWithArgs(reg.write.registerPipeline([[]]), reg, "PipelineTooShort", [0n]);
    await A.revertWithCustomErrorWithArgs(reg.write.registerPipeline([["a"]]), reg, "PipelineTooShort", [1n]);
  });

  it("reverts UnknownContainer naming the first unregistered hop", async () => {
    const { reg, A } = await withHops();
    await A.revertWithCustomErrorWithArgs(reg.write.registerPipeline([["a", "x"]]), reg, "UnknownContainer", [
      id("x"),
    ]);
    await A.revertWithCustomErrorWithArgs(reg.write.registerPipeline([["y", "a"]]), reg, "UnknownContainer", [
      id("y"),
    ]);
    await A.revertWithCustomErrorWithArgs(
      reg.write.registerPipeline([["a", "b", "z", "w"]]),
      reg,
      "UnknownContainer",
      [id("z")],
    );
    await A.revertWithCustomErrorWithArgs(reg.write.registerPipeline([["a", ""]]), reg, "UnknownContainer", [
      id(""),
    ]);
    assert.equal(await reg.read.isKnown([id("a,x")]), false);
  });

  it("reverts ContainerAlreadyRegistered for a repeated pipeline or one whose id a container already took", async () => {
    const { reg, A } = await withHops();
    await reg.write.registerPipeline([["a", "b"]]);
    await A.revertWithCustomErrorWithArgs(
      reg.write.registerPipeline([["a", "b"]]),
      reg,
      "ContainerAlreadyRegistered",
      [id("a,b")],
    );
    // pipelines and containers share one id space
    await A.revertWithCustomErrorWithArgs(
      reg.write.registerContainer(["a,b", ZERO32]),
      reg,
      "ContainerAlreadyRegistered",
      [id("a,b")],
    );
    await reg.write.registerContainer(["b,c", DIGEST]);
    await A.revertWithCustomErrorWithArgs(
      reg.write.registerPipeline([["b", "c"]]),
      reg,
      "ContainerAlreadyRegistered",
      [id("b,c")],
    );
  });

  it("a registered pipeline can be served by nodes in the NodeRegistry; an unregistered one cannot", async () => {
    const { f, reg, A } = await withHops();
    const node = "0x00000000000000000000000000000000000b0de1" as const;
    await A.revertWithCustomErrorWithArgs(
      registerNode(f, 2, node, parseEther("1"), [id("a,b")]),
      f.nodeRegistry,
      "UnknownContainer",
      [id("a,b")],
    );
    await reg.write.registerPipeline([["a", "b"]]);
    await registerNode(f, 2, node, parseEther("1"), [id("a,b")]);
    assert.deepEqual(await f.nodeRegistry.read.nodesOf([id("a,b")]), [getAddress(node)]);
  });
});

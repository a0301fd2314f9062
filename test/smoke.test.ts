import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, parseEther } from "viem";
import { deployFixture, registerNode, subscriptionParams } from "./helpers/fixture.ts";

describe("smoke: one-shot paid request end to end", () => {
  it("assigns the only node, delivers, pays it less the fee and calls the consumer back", async () => {
    const f = await deployFixture();
    const [owner, , operator, node] = f.wallets;
    await registerNode(f, 2, node!.account.address);
    const consumer = await f.viem.deployContract("ExampleConsumer", [
      f.coordinator.address,
      owner!.account.address,
    ]);
    const price = parseEther("0.01");
    await consumer.write.request([subscriptionParams().containerId, "0x1234", 1, price], { value: price });
    await f.networkHelpers.mine(); // the assignment randomness is the request block's hash
    const asNode = await f.viem.getContractAt("Coordinator", f.coordinator.address, {
      client: { wallet: node! },
    });
    assert.deepEqual(await f.coordinator.read.previewAssignment([1n, 1]), [
      getAddress(node!.account.address),
    ]);
    await asNode.write.deliver([1n, 1, "0x", "0xbeef", "0x"]);
    const result = await consumer.read.results([1n]);
    assert.equal(result[2], "0xbeef");
    const fee = (price * 100n) / 10_000n;
    assert.equal(
      await f.coordinator.read.credits(["0x0000000000000000000000000000000000000000", node!.account.address]),
      price - fee,
    );
    void operator;
  });
});

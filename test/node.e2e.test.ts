/**
 * The node end to end against real parts: a `hardhat node` chain, the `infernet-node` CLI in its own process (the
 * provider role on the embedded defaults: SQLite store and queue, process runtime running containers/hello), and an
 * on-chain consumer contract. A subscription on-chain → the node runs the container → delivery on-chain → the
 * consumer's state changed and the node was paid.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { encodeAbiParameters, keccak256, parseEther, toBytes, type Address, type Hex } from "viem";
import {
  ETH,
  nodeAccount,
  setUp,
  startNodeProcess,
  until,
  writeNodeConfig,
  type World,
} from "./helpers/node-e2e.ts";

describe("node end to end: embedded queue, process runtime, hello container", () => {
  let w: World;
  before(async () => {
    w = await setUp();
  });
  after(async () => {
    await w?.stopChain();
  });

  it("an on-chain request is computed by the node, delivered on-chain, changes the consumer's state and pays the node", async () => {
    const node = startNodeProcess(writeNodeConfig(w));
    try {
      await until(
        "node started",
        async () => (node.output().includes("provider started") ? true : undefined),
        60_000,
        node.output,
      );
      const input: Hex = "0x1234abcd";
      const price = parseEther("0.01");
      await w.write(
        w.consumer,
        "ExampleConsumer",
        "request",
        [keccak256(toBytes("hello")), input, 1, price],
        price,
      );
      const result = (await until(
        "the consumer's result",
        async () => {
          const r = (await w.read(w.consumer, "ExampleConsumer", "results", [1n])) as [number, Address, Hex];
          return r[2] !== "0x" ? r : undefined;
        },
        60_000,
        node.output,
      )) as [number, Address, Hex];
      // hello echoes its input: output = abi.encode(raw_output, processed_output) = abi.encode(input, input).
      assert.equal(result[2], encodeAbiParameters([{ type: "bytes" }, { type: "bytes" }], [input, input]));
      assert.equal(result[1].toLowerCase(), nodeAccount.address.toLowerCase());
      const credit = (await w.read(w.deployment.contracts.coordinator, "Coordinator", "credits", [
        ETH,
        nodeAccount.address,
      ])) as bigint;
      assert.equal(credit, price - (price * 100n) / 10_000n, "paid less the 1 % fee");
    } finally {
      node.child.kill("SIGTERM");
      const code = await new Promise<number | null>((r) => node.child.once("exit", (c) => r(c)));
      assert.equal(code, 0, `node exits cleanly on SIGTERM:\n${node.output().slice(-2000)}`);
    }
  });
});

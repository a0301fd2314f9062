import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  currentInterval,
  intervalStart,
  splitFee,
  qualityPayBps,
  splitSettlement,
  parseDeployment,
  InvalidDeploymentFileError,
} from "@infernet/sdk";
import { deployFixture, subscriptionParams } from "./helpers/fixture.ts";

/** The built package (sdk/dist, what users import) against the contracts' own rules. */
describe("@infernet/sdk mirrors the on-chain rules", () => {
  it("currentInterval equals Coordinator.currentInterval across a recurring subscription's life", async () => {
    const f = await deployFixture();
    const now = Number((await f.publicClient.getBlock()).timestamp);
    const activeAt = now + 100;
    const period = 37;
    await f.coordinator.write.createSubscription([
      subscriptionParams({ activeAt, period, frequency: 50 }),
      0n,
    ]);
    for (const step of [1, 50, 60, 1, 36, 37, 100, 3]) {
      await f.networkHelpers.time.increase(step);
      const ts = Number((await f.publicClient.getBlock()).timestamp);
      assert.equal(
        await f.coordinator.read.currentInterval([1n]),
        currentInterval(activeAt, period, ts),
        `at ${ts}`,
      );
    }
  });

  it("intervalStart inverts currentInterval and rejects non-positive intervals", () => {
    for (let n = 1; n < 20; n++) assert.equal(currentInterval(1000, 7, intervalStart(1000, 7, n)), n);
    assert.equal(currentInterval(1000, 0, 5000), 1);
    assert.equal(currentInterval(1000, 7, 999), 0);
    assert.throws(() => intervalStart(1000, 7, 0), RangeError);
  });

  it("splitFee rounds the fee down and refuses fees above the on-chain cap", () => {
    assert.deepEqual(splitFee(10_000_000_000_000_000n, 100), {
      fee: 100_000_000_000_000n,
      net: 9_900_000_000_000_000n,
    });
    assert.deepEqual(splitFee(199n, 100), { fee: 1n, net: 198n });
    assert.throws(() => splitFee(1n, 1001), RangeError);
  });

  it("qualityPayBps and splitSettlement mirror ProofOfInference._payBps and Coordinator.settle", () => {
    assert.equal(qualityPayBps(8_000, 10_000), 10_000);
    assert.equal(qualityPayBps(8_000, 5_000), 9_000);
    assert.equal(qualityPayBps(8_000, 0), 8_000);
    assert.equal(qualityPayBps(8_000, 3), 8_000, "rounded down: the consumer keeps the odd basis point");
    assert.equal(qualityPayBps(8_000, 9_999), 9_999);
    assert.equal(qualityPayBps(10_000, 0), 10_000);
    assert.equal(qualityPayBps(1, 9_999), 9_999);
    assert.equal(qualityPayBps(1, 1), 1);
    for (const [floor, quality] of [
      [0, 5_000],
      [10_001, 5_000],
      [8_000, -1],
      [8_000, 10_001],
      [8_000, 0.5],
    ] as const) {
      assert.throws(() => qualityPayBps(floor, quality), RangeError);
    }
    // 0.003 ETH at 9,000 bps with a 1 % fee: 0.0027 paid, of which 0.000027 fee; 0.0003 back to the consumer.
    assert.deepEqual(splitSettlement(3_000_000_000_000_000n, 9_000, 100), {
      paid: 2_700_000_000_000_000n,
      fee: 27_000_000_000_000n,
      net: 2_673_000_000_000_000n,
      refund: 300_000_000_000_000n,
    });
    assert.deepEqual(splitSettlement(999n, 1, 100), { paid: 0n, fee: 0n, net: 0n, refund: 999n });
    assert.deepEqual(splitSettlement(5n, 0, 100), { paid: 0n, fee: 0n, net: 0n, refund: 5n });
    assert.deepEqual(splitSettlement(5n, 10_000, 0), { paid: 5n, fee: 0n, net: 5n, refund: 0n });
    assert.throws(() => splitSettlement(1n, 10_001, 100), RangeError);
    assert.throws(() => splitSettlement(-1n, 5_000, 100), RangeError);
    assert.throws(() => splitSettlement(1n, 5_000, 1_001), RangeError);
  });

  it("parseDeployment validates addresses and names the bad key", () => {
    const good = {
      network: "x",
      chainId: 1,
      deployer: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
      contracts: {
        randomness: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        containerRegistry: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
        nodeRegistry: "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0",
        coordinator: "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9",
        proofOfInference: "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9",
        trustModel: "0x5fc8d32690cc91d4c39d9d3abcbd16989f875707",
      },
    };
    assert.equal(parseDeployment(good).contracts.coordinator, "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9");
    assert.throws(
      () => parseDeployment({ ...good, contracts: { ...good.contracts, nodeRegistry: "0x12" } }),
      (err: unknown) =>
        err instanceof InvalidDeploymentFileError && /contracts\.nodeRegistry/.test(err.message),
    );
  });
});

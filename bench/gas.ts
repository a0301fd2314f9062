/**
 * Gas benchmark: `npm run bench:gas` (= `hardhat build --quiet && node bench/gas.ts`).
 *
 * Deploys the system through deploy/system.ts (default parameters) on a fresh in-process Hardhat network and
 * measures `gasUsed` from the receipt of each operation (intrinsic 21,000 and calldata included). Inputs and outputs
 * are 32 bytes; paid variants pay 0.01 ETH per node; the consumer is contracts/test/BenchConsumer.sol, whose callback
 * writes exactly one storage slot. Two nodes are registered for the container but the second one unbonds all its
 * stake at once, so every assignment goes to the first node and the figures are the same on every run.
 *
 * Prints a table (with Ritual's reference figures where an operation is comparable) and writes bench/out/gas.json:
 * an object operation → gas used. docs/gas.md explains the numbers.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { measurePoiGas, POI_NOTES } from "./poi-gas.ts";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { network } from "hardhat";
import { parseEther, zeroAddress, type Abi, type Hex } from "viem";
import { deploySystem } from "../deploy/system.ts";
import {
  CONTAINER,
  CONTAINER_ID,
  nodeRegistration,
  subscriptionParams as params,
} from "../test/helpers/fixture.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "bench", "out", "gas.json");
const INPUT: Hex = `0x${"ab".repeat(32)}`;
const OUTPUT: Hex = `0x${"cd".repeat(32)}`;
const PRICE = parseEther("0.01");

/** Ritual Infernet reference figures (as given in the project brief), keyed by our comparable operation. */
const RITUAL: Record<string, { gas: number; what: string }> = {
  request: { gas: 196_993, what: "one-shot request, paid" },
  request_unpaid: { gas: 156_893, what: "one-shot request, unpaid" },
  deliver_eager: { gas: 149_612, what: "deliverCompute, paid" },
  deliver_eager_unpaid: { gas: 99_179, what: "deliverCompute, unpaid" },
  subscribe_unpaid: { gas: 111_408, what: "recurring subscription creation" },
  cancel_unpaid: { gas: 30_961, what: "cancel subscription" },
};

const NOTES: Record<string, string> = {
  subscribe: "recurring (10 × 1 h), 0.01 ETH/interval, 0.1 ETH deposit, via consumer",
  subscribe_unpaid: "recurring (10 × 1 h), unpaid, via consumer",
  request: "one-shot requestCompute via consumer, 32-byte input, 0.01 ETH",
  request_unpaid: "same, unpaid",
  request_interval: "keeper requests interval 1 of the paid recurring sub (inputs from the consumer's view)",
  assign: "weighted random pick + bond (paid request)",
  assign_unpaid: "same, unpaid request",
  deliver_eager: "assigned node delivers, callback writes 1 slot, paid",
  deliver_eager_unpaid: "same, unpaid",
  deliver_eager_first_payment: "deliver_eager, but the first payment ever to this node and to the treasury",
  deliver_lazy: "result stored in the Inbox, no callback, paid",
  deliver_lazy_unpaid: "same, unpaid",
  deliver_with_assign: "deliver when nobody called assign yet (assign + deliver in one tx), paid",
  deliver_with_assign_unpaid: "same, unpaid",
  deliver_verified:
    "deliver_eager for a sub naming a verifier: payment and bond held (verifier hook is a no-op)",
  coordinator_settle: "verifier releases the held payment and bond (through BenchVerifier)",
  cancel: "cancel paid recurring sub (refund of the free deposit credited)",
  cancel_unpaid: "cancel unpaid recurring sub",
  fund: "top up a subscription with 0.05 ETH",
  withdraw: "node withdraws its ETH credits",
  register: "register a node with 2 ETH stake, 1 container",
  unbond: "requestUnbond",
  withdraw_stake: "withdrawStake after the unbonding delay",
};

async function main(): Promise<void> {
  const { viem, networkHelpers } = await network.create();
  const publicClient = await viem.getPublicClient();
  const [deployer, operator, node1, node2, keeper] = await viem.getWalletClients();
  if (!deployer || !operator || !node1 || !node2 || !keeper) throw new Error("not enough accounts");
  const deployment = await deploySystem({ wallet: deployer, publicClient });
  const { contracts } = deployment;
  const containers = await viem.getContractAt("ContainerRegistry", contracts.containerRegistry);
  await containers.write.registerContainer([CONTAINER, `0x${"00".repeat(32)}`]);

  const gas: Record<string, number> = {};
  const measure = async (key: string, tx: Promise<Hex>): Promise<void> => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await tx });
    if (receipt.status !== "success") throw new Error(`${key}: transaction reverted`);
    gas[key] = Number(receipt.gasUsed);
  };
  const run = async (tx: Promise<Hex>): Promise<void> => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await tx });
    if (receipt.status !== "success") throw new Error("setup transaction reverted");
  };

  // ---- nodes: node1 takes every job; node2 is registered (measured) and unbonds everything (measured)
  const registry = await viem.getContractAt("NodeRegistry", contracts.nodeRegistry, {
    client: { wallet: operator },
  });
  const stake = parseEther("2");
  await run(registry.write.register([nodeRegistration(node1.account.address, stake)], { value: stake }));
  await measure(
    "register",
    registry.write.register([nodeRegistration(node2.account.address, stake)], { value: stake }),
  );
  await measure("unbond", registry.write.requestUnbond([node2.account.address, stake]));

  // ---- consumer
  const consumer = await viem.deployContract("BenchConsumer", [contracts.coordinator]);
  const coordinator = await viem.getContractAt("Coordinator", contracts.coordinator);
  const asNode = await viem.getContractAt("Coordinator", contracts.coordinator, {
    client: { wallet: node1 },
  });
  const asKeeper = await viem.getContractAt("Coordinator", contracts.coordinator, {
    client: { wallet: keeper },
  });
  const lastSub = async (): Promise<bigint> => coordinator.read.subscriptionCount();
  const recurring = { period: 3600, frequency: 10, inputs: "0x" as Hex };

  // Warm-up, so the figures are steady-state: subscriptionCount is not a cold zero slot, and the node and the
  // treasury already hold a credit (the very first payment to each writes a zero slot: reported separately).
  await run(consumer.write.subscribe([params(recurring)]));
  await run(consumer.write.request([CONTAINER_ID, INPUT, PRICE], { value: PRICE }));
  const first = await lastSub();
  await networkHelpers.mine(1);
  await run(asKeeper.write.assign([first, 1]));
  await measure("deliver_eager_first_payment", asNode.write.deliver([first, 1, INPUT, OUTPUT, "0x"]));

  await measure(
    "subscribe",
    consumer.write.subscribe([params({ ...recurring, paymentAmount: PRICE })], { value: PRICE * 10n }),
  );
  const paidSub = await lastSub();
  await measure("subscribe_unpaid", consumer.write.subscribe([params(recurring)]));
  const unpaidSub = await lastSub();

  // ---- one-shot eager requests, assigned separately, then delivered
  await measure("request", consumer.write.request([CONTAINER_ID, INPUT, PRICE], { value: PRICE }));
  const eagerPaid = await lastSub();
  await measure("request_unpaid", consumer.write.request([CONTAINER_ID, INPUT, 0n]));
  const eagerUnpaid = await lastSub();
  await networkHelpers.mine(1); // randomness of the request blocks becomes readable
  await measure("assign", asKeeper.write.assign([eagerPaid, 1]));
  await measure("assign_unpaid", asKeeper.write.assign([eagerUnpaid, 1]));
  await measure("deliver_eager", asNode.write.deliver([eagerPaid, 1, INPUT, OUTPUT, "0x"]));
  await measure("deliver_eager_unpaid", asNode.write.deliver([eagerUnpaid, 1, INPUT, OUTPUT, "0x"]));
  if ((await consumer.read.results([eagerPaid])) !== OUTPUT)
    throw new Error("callback did not store the result");

  // ---- one-shot lazy requests
  await run(consumer.write.requestWith([params({ lazy: true, paymentAmount: PRICE })], { value: PRICE }));
  const lazyPaid = await lastSub();
  await run(consumer.write.requestWith([params({ lazy: true })]));
  const lazyUnpaid = await lastSub();
  await networkHelpers.mine(1);
  await run(asKeeper.write.assign([lazyPaid, 1]));
  await run(asKeeper.write.assign([lazyUnpaid, 1]));
  await measure("deliver_lazy", asNode.write.deliver([lazyPaid, 1, INPUT, OUTPUT, "0x"]));
  await measure("deliver_lazy_unpaid", asNode.write.deliver([lazyUnpaid, 1, INPUT, OUTPUT, "0x"]));

  // ---- delivery without a prior assign call
  await run(consumer.write.request([CONTAINER_ID, INPUT, PRICE], { value: PRICE }));
  const directPaid = await lastSub();
  await run(consumer.write.request([CONTAINER_ID, INPUT, 0n]));
  const directUnpaid = await lastSub();
  await networkHelpers.mine(1);
  await measure("deliver_with_assign", asNode.write.deliver([directPaid, 1, INPUT, OUTPUT, "0x"]));
  await measure("deliver_with_assign_unpaid", asNode.write.deliver([directUnpaid, 1, INPUT, OUTPUT, "0x"]));

  // ---- verifier path: payment and bond are held until the verifier settles (BenchVerifier accepts everything)
  const verifier = await viem.deployContract("BenchVerifier", [contracts.coordinator]);
  const coordAbi = coordinator.abi as Abi;
  if (coordAbi.some((x) => x.type === "function" && x.name === "setVerifier")) {
    await run(
      deployer.writeContract({
        address: contracts.coordinator,
        abi: coordAbi,
        functionName: "setVerifier",
        args: [verifier.address, true],
        account: deployer.account,
        chain: deployer.chain,
      }),
    );
  }
  await run(
    consumer.write.requestWith([params({ paymentAmount: PRICE, verifier: verifier.address })], {
      value: PRICE,
    }),
  );
  const verified = await lastSub();
  await networkHelpers.mine(1);
  await run(asKeeper.write.assign([verified, 1]));
  await measure("deliver_verified", asNode.write.deliver([verified, 1, INPUT, OUTPUT, "0x"]));
  await measure("coordinator_settle", verifier.write.settle([verified, 1, 0, 10_000]));

  // ---- recurring subscription lifecycle
  await measure("request_interval", asKeeper.write.requestInterval([paidSub]));
  await measure("fund", asKeeper.write.fund([paidSub, parseEther("0.05")], { value: parseEther("0.05") }));
  await measure("cancel", consumer.write.cancel([paidSub]));
  await measure("cancel_unpaid", consumer.write.cancel([unpaidSub]));
  await measure("withdraw", asNode.write.withdraw([zeroAddress]));

  // ---- stake leaves after the unbonding delay
  await networkHelpers.time.increase(Number(deployment.params.unbondingDelay) + 1);
  await measure("withdraw_stake", registry.write.withdrawStake([node2.account.address]));

  // aliases: the required keys are the paid variants
  gas.request_paid = gas.request as number;
  gas.deliver_eager_paid = gas.deliver_eager as number;

  // Proof-of-Inference operations (commit, reveal_k3_T50, reveal_k6_T50, verdict, settle, …) on a fresh chain.
  Object.assign(gas, await measurePoiGas());
  report(gas);
}

function report(gas: Record<string, number>): void {
  const fmt = (n: number) => n.toLocaleString("en-US");
  const rows = Object.entries(gas).filter(([k]) => k !== "request_paid" && k !== "deliver_eager_paid");
  const lines = [
    `${"operation".padEnd(28)} ${"gas".padStart(9)} ${"Ritual".padStart(9)} ${"diff".padStart(8)}  notes`,
    `${"-".repeat(28)} ${"-".repeat(9)} ${"-".repeat(9)} ${"-".repeat(8)}  ${"-".repeat(5)}`,
  ];
  for (const [k, v] of rows) {
    const ref = RITUAL[k];
    const diff = ref ? `${v >= ref.gas ? "+" : ""}${(((v - ref.gas) / ref.gas) * 100).toFixed(0)}%` : "";
    lines.push(
      `${k.padEnd(28)} ${fmt(v).padStart(9)} ${(ref ? fmt(ref.gas) : "").padStart(9)} ${diff.padStart(8)}  ${NOTES[k] ?? POI_NOTES[k] ?? ""}`,
    );
  }
  console.log(lines.join("\n"));
  const required = [
    ...["subscribe", "request", "deliver_eager", "deliver_lazy", "cancel", "register", "unbond"],
    ...["commit", "reveal_k3_T50", "reveal_k6_T50", "verdict", "settle"],
  ];
  const missing = required.filter((k) => typeof gas[k] !== "number");
  if (missing.length > 0) throw new Error(`missing required keys: ${missing.join(", ")}`);
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(gas, null, 2)}\n`);
  console.log(`\nwrote ${OUT}`);
}

await main();

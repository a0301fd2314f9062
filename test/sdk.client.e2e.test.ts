/**
 * The sdk client end to end against real parts: a `hardhat node` with the system deployed, the `infernet-node` CLI
 * in its own process (provider role + REST API, the hello container as a process, an API key made with
 * `infernet-node keys create`), and only the sdk on the user's side:
 *  - an on-chain one-shot request and a recurring (lazy) subscription → delivered results read through the sdk,
 *    funded, cancelled, credits withdrawn; reverts decoded into named errors;
 *  - an off-chain job through the node's REST API, followed over SSE to its result;
 *  - a diffusion job verified by Proof-of-Inference (two more nodes driven with the sdk's prover and the typed
 *    ABIs), its phases streamed to JobPaid, and the delivered result's commitment and opened steps verified on the
 *    client (and tampered copies refused).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  createTestClient,
  encodeAbiParameters,
  getAddress,
  http,
  keccak256,
  parseEther,
  parseEventLogs,
  toHex,
  type Hex,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import {
  ChainMismatchError,
  ContractCallError,
  NodeApiError,
  ResultVerificationError,
  assertVerified,
  cancelSubscription,
  commitJob,
  coordinatorAbi,
  createInfernetClient,
  createSubscription,
  decodeDiffusionInputs,
  fundSubscription,
  getCredits,
  getEscrow,
  getNode,
  getOffchainJob,
  getPoiJob,
  getSubscription,
  jobId as poiJobId,
  nodeApi,
  proofOfInferenceAbi,
  qualityPayBps,
  randomnessAbi,
  registerContainer,
  registerNode,
  requestCompute,
  requestInterval,
  revealJob,
  runOffchainJob,
  submitDiffusionJob,
  submitOffchainJob,
  transact,
  verifyPoiOpenings,
  verifyPoiResult,
  waitForDelivery,
  waitForPoiOutcome,
  withdrawCredits,
  type InfernetClient,
  type OffchainJobEvent,
  type PoiEvent,
} from "@infernet/sdk";
import { main as infernetCli } from "../cli/src/main.ts";
import { freePort } from "./helpers/chain.ts";
import {
  DEV_MNEMONIC,
  ETH,
  ROOT,
  nodeAccount,
  setUp,
  startNodeProcess,
  until,
  writeNodeConfig,
  type World,
} from "./helpers/node-e2e.ts";

const run = promisify(execFile);
const consumer = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 1 });
const poiNodes = [3, 4].map((i) => mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i }));
const random32 = (): Hex => toHex(crypto.getRandomValues(new Uint8Array(32)));

describe("sdk client end to end: hardhat node + infernet-node process", () => {
  let w: World;
  let node: ReturnType<typeof startNodeProcess>;
  let apiUrl = "";
  let apiKey = "";
  let client: InfernetClient;
  let dir = "";
  /** The paid PoI job's subscription (docs/sdk.md's verification example reads it). */
  let poiSubscription = 0n;

  before(async () => {
    w = await setUp();
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    const config = writeNodeConfig(w, {
      overrides: { api: { enabled: true, sseKeepaliveMs: 500 }, server: { host: "127.0.0.1", port } },
    });
    const { stdout } = await run(
      process.execPath,
      [join(ROOT, "node", "bin", "infernet-node.ts"), "keys", "create", "--config", config, "--json"],
      { cwd: ROOT },
    );
    apiKey = (JSON.parse(stdout) as { key: string }).key;
    node = startNodeProcess(config);
    await until(
      "node and API started",
      async () =>
        node.output().includes("provider started") && node.output().includes("api listening")
          ? true
          : undefined,
      60_000,
      node.output,
    );
    // Addresses from a deployments/<network>.json file through the sdk's parser.
    dir = mkdtempSync(join(tmpdir(), "infernet-sdk-"));
    writeFileSync(join(dir, "e2e.json"), JSON.stringify({ network: "e2e", ...w.deployment }));
    mkdirSync(join(dir, "deployments"));
    writeFileSync(
      join(dir, "deployments", "localhost.json"),
      JSON.stringify({ network: "localhost", ...w.deployment }),
    );
    client = await createInfernetClient({
      rpcUrl: w.rpcUrl,
      deployment: { network: "e2e", dir },
      account: consumer,
      pollIntervalMs: 100,
    });
  });

  after(async () => {
    if (node && node.child.exitCode === null) {
      node.child.kill("SIGTERM");
      await new Promise((r) => node.child.once("exit", r));
    }
    await w?.stopChain();
  });

  it("checks the chain, and decodes reverts into named errors", async () => {
    await assert.rejects(
      createInfernetClient({ rpcUrl: w.rpcUrl, deployment: { ...w.deployment, chainId: 1 } }),
      (err: unknown) => err instanceof ChainMismatchError && err.actual === 31337,
    );
    await assert.rejects(
      requestCompute(client, { container: "no-such-container", inputs: "0x01" }),
      (err: unknown) =>
        err instanceof ContractCallError &&
        err.errorName === "UnknownContainer" &&
        err.functionName === "requestCompute",
    );
  });

  it("on-chain one-shot request → the node delivers → the result read and checked through the sdk", async () => {
    const input: Hex = "0x1234abcd";
    const price = parseEther("0.01");
    const { subscriptionId, interval } = await requestCompute(client, {
      container: "hello",
      inputs: input,
      paymentAmount: price,
    });
    assert.equal(interval, 1);
    const delivery = await waitForDelivery(client, { subscriptionId, timeoutMs: 60_000 });
    assert.equal(delivery.node, getAddress(nodeAccount.address));
    // hello echoes its input: output = abi.encode(raw_output, processed_output).
    assert.equal(
      delivery.output,
      encodeAbiParameters([{ type: "bytes" }, { type: "bytes" }], [input, input]),
    );
    assert.equal(delivery.input, delivery.output, "the node passes the container's (raw, processed) input");
    assert.ok(delivery.outputVerified, "keccak256(output) is the recorded output hash");
    assert.equal(delivery.callback, "called");
    const sub = await getSubscription(client, subscriptionId);
    assert.equal(sub.owner, getAddress(consumer.address));
    assert.deepEqual(await getEscrow(client, subscriptionId), { balance: 0n, locked: 0n }, "paid out");
  });

  it("recurring lazy subscription: fund, request an interval, read it from the inbox, cancel, withdraw", async () => {
    const price = parseEther("0.001");
    const { subscriptionId } = await createSubscription(client, {
      container: "hello",
      inputs: "0xbeef",
      period: 3600,
      frequency: 2,
      lazy: true,
      paymentAmount: price,
      deposit: price,
    });
    await fundSubscription(client, { subscriptionId, amount: price });
    assert.deepEqual(await getEscrow(client, subscriptionId), { balance: 2n * price, locked: 0n });
    const { interval } = await requestInterval(client, { subscriptionId });
    assert.equal(interval, 1);
    const delivery = await waitForDelivery(client, { subscriptionId, interval, timeoutMs: 60_000 });
    assert.equal(delivery.callback, "inbox");
    assert.ok(delivery.outputVerified);
    assert.equal(
      delivery.output,
      encodeAbiParameters([{ type: "bytes" }, { type: "bytes" }], ["0xbeef", "0xbeef"]),
    );
    const { refunded } = await cancelSubscription(client, { subscriptionId });
    assert.equal(refunded, price, "interval 2 was never requested: its prepayment comes back");
    assert.equal(await getCredits(client), price);
    const { amount } = await withdrawCredits(client);
    assert.equal(amount, price);
    assert.equal(await getCredits(client), 0n);
  });

  it("off-chain job through the node's REST API, followed over SSE to its result", async () => {
    const api = nodeApi({ url: apiUrl, apiKey });
    const events: OffchainJobEvent[] = [];
    const job = await runOffchainJob(
      api,
      { containers: ["hello"], data: { prompt: "a red fox" } },
      { onEvent: (e) => events.push(e), timeoutMs: 30_000 },
    );
    assert.equal(job.status, "success");
    assert.deepEqual(job.result, { container: "hello", output: { echo: { prompt: "a red fox" } } });
    assert.equal(events[0]?.type, "state");
    assert.equal(events.at(-1)?.type, "result");
    assert.deepEqual(await getOffchainJob(api, job.id), job);
    await assert.rejects(
      submitOffchainJob(nodeApi({ url: apiUrl, apiKey: "wrong" }), { containers: ["hello"], data: 1 }),
      (err: unknown) => err instanceof NodeApiError && err.status === 401,
    );
    await assert.rejects(
      getOffchainJob(api, "no-such-job"),
      (err: unknown) => err instanceof NodeApiError && err.status === 404,
    );
  });

  it("a Proof-of-Inference diffusion job: phases streamed to JobPaid, the result verified on the client", async () => {
    const test = createTestClient({ mode: "hardhat", transport: http(w.rpcUrl) });
    // Two nodes of their own operators serve a simulated diffusion container (the running node does not).
    const nodeClients = await Promise.all(
      poiNodes.map((account) =>
        createInfernetClient({ rpcUrl: w.rpcUrl, deployment: w.deployment, account, pollIntervalMs: 100 }),
      ),
    );
    await registerContainer(client, { name: "diffusion-sim" });
    for (const c of nodeClients)
      await registerNode(c, {
        endpoint: "http://127.0.0.1:1",
        containers: ["diffusion-sim"],
        stake: parseEther("2"),
      });
    const info = await getNode(client, poiNodes[0]!.address);
    assert.ok(info.registered);
    assert.equal(info.operator, getAddress(poiNodes[0]!.address));

    // The user: a diffusion job verified by PoI.
    const request = {
      prompt: "a lighthouse at dusk",
      negativePrompt: "",
      steps: 20,
      guidanceMilli: 7500,
      width: 64,
      height: 64,
      frames: 1,
    };
    const submitted = await submitDiffusionJob(client, {
      container: "diffusion-sim",
      request,
      paymentAmount: parseEther("0.003"),
    });
    const ref = submitted.jobs[0]!;
    assert.deepEqual(ref, { subscriptionId: submitted.subscriptionId, interval: 1, slot: 0 });
    const phases: PoiEvent["eventName"][] = [];
    const stop = new AbortController();
    const outcome = waitForPoiOutcome(client, {
      ref,
      timeoutMs: 60_000,
      signal: stop.signal,
      onEvent: (e) => phases.push(e.eventName),
    });
    outcome.catch(() => {}); // awaited below; a failure before then must not count as unhandled
    try {
      // The provider (whichever node the draw picked), with the sdk's prover and the typed ABIs.
      await test.mine({ blocks: 1 });
      const [assigned] = await client.publicClient.readContract({
        address: client.contracts.coordinator,
        abi: coordinatorAbi,
        functionName: "previewAssignment",
        args: [ref.subscriptionId, ref.interval],
      });
      const providerIndex = poiNodes.findIndex((a) => getAddress(a.address) === assigned);
      assert.ok(providerIndex >= 0, "one of the two PoI nodes is assigned");
      const provider = nodeClients[providerIndex]!;
      const validator = nodeClients[1 - providerIndex]!;
      const subscription = await getSubscription(client, ref.subscriptionId);
      const [created] = await client.publicClient.getContractEvents({
        address: client.contracts.coordinator,
        abi: coordinatorAbi,
        eventName: "SubscriptionCreated",
        args: { subscriptionId: ref.subscriptionId },
        fromBlock: client.fromBlock,
      });
      const inputs = created!.args.params!.inputs;
      assert.deepEqual(decodeDiffusionInputs(inputs), request, "the node reads the job's inputs");
      assert.equal(keccak256(inputs), subscription.inputsHash);

      const output = random32();
      const commitment = commitJob({
        jobId: poiJobId({
          chainId: client.chainId,
          coordinator: client.contracts.coordinator,
          subscriptionId: ref.subscriptionId,
          interval: 1,
        }),
        node: assigned!,
        steps: Array.from({ length: request.steps }, (_, i) => ({
          timestep: 999 - i * 50,
          latentDigest: random32(),
          noiseDigest: random32(),
        })),
        finalLatentDigest: random32(),
        outputHash: keccak256(output),
        paramsHash: random32(),
      });
      const delivered = await transact(provider, {
        contract: "Coordinator",
        address: client.contracts.coordinator,
        abi: coordinatorAbi,
        functionName: "deliver",
        args: [ref.subscriptionId, 1, "0x", output, commitment.deliveryProof],
      });
      const [committed] = parseEventLogs({
        abi: proofOfInferenceAbi,
        logs: delivered.logs,
        eventName: "Committed",
      });
      assert.ok(committed);
      await test.mine({ blocks: 1 });
      const randomness = await client.publicClient.readContract({
        address: client.contracts.randomness,
        abi: randomnessAbi,
        functionName: "valueOf",
        args: [BigInt(committed.args.round)],
      });
      const reveal = revealJob(commitment, randomness, committed.args.k);
      await transact(provider, {
        contract: "ProofOfInference",
        address: client.contracts.proofOfInference,
        abi: proofOfInferenceAbi,
        functionName: "reveal",
        args: [ref, reveal.commitment, reveal.openings, reveal.finalLatentDigest, reveal.proof],
      });

      // Client-side verification of the delivered result, from the chain's records only.
      const verified = await verifyPoiResult(client, { ref });
      assert.deepEqual(verified.problems, []);
      assert.deepEqual(verified.skipped, []);
      assert.ok(verified.ok);
      assert.equal(verified.root, commitment.root);
      assert.equal(verified.steps, request.steps);
      assert.deepEqual(verified.challenged, reveal.challenged);
      assertVerified(verified);
      // The same check from the command line.
      let cliOut = "";
      const cliCode = await infernetCli(
        [
          "job",
          "verify",
          String(ref.subscriptionId),
          "--rpc",
          w.rpcUrl,
          "--deployment",
          join(dir, "e2e.json"),
        ],
        { io: { stdout: (t) => (cliOut += t), stderr: (t) => (cliOut += t), interactive: false } },
      );
      assert.equal(cliCode, 0, cliOut);
      assert.match(cliOut, new RegExp(`verified: root ${commitment.root}, 20 steps`));

      // Tampered copies are refused: a wrong output, a proof element changed, another challenge.
      const base = {
        chainId: client.chainId,
        coordinator: client.contracts.coordinator,
        ref,
        committed: committed.args,
        revealed: {
          challenged: reveal.challenged,
          openings: reveal.openings,
          finalLatentDigest: reveal.finalLatentDigest,
        },
        proof: reveal.proof,
        randomness,
        output,
      };
      assert.ok(verifyPoiOpenings(base).ok);
      const wrongOutput = verifyPoiOpenings({ ...base, output: random32() });
      assert.match(wrongOutput.problems.join(), /committed output hash/);
      assert.throws(() => assertVerified(wrongOutput), ResultVerificationError);
      const badProof = verifyPoiOpenings({ ...base, proof: [random32(), ...reveal.proof.slice(1)] });
      assert.match(badProof.problems.join(), /multiproof does not verify/);
      const otherChallenge = verifyPoiOpenings({ ...base, randomness: random32() });
      assert.match(otherChallenge.problems.join(), /not the challenge's/);
      const badOpening = verifyPoiOpenings({
        ...base,
        revealed: {
          ...base.revealed,
          openings: reveal.openings.map((o, i) => (i === 0 ? { ...o, noiseDigest: random32() } : o)),
        },
      });
      assert.match(badOpening.problems.join(), /multiproof does not verify/);

      // The validator (the other operator's node) judges; after the dispute window anyone finalizes.
      await transact(client, {
        contract: "ProofOfInference",
        address: client.contracts.proofOfInference,
        abi: proofOfInferenceAbi,
        functionName: "assignValidator",
        args: [ref],
      });
      assert.equal((await getPoiJob(client, ref)).validator, validator.walletClient!.account.address);
      await transact(validator, {
        contract: "ProofOfInference",
        address: client.contracts.proofOfInference,
        abi: proofOfInferenceAbi,
        functionName: "postVerdict",
        args: [ref, true, 0n, random32(), 9000],
      });
      const [, , disputeWindow] = await client.publicClient.readContract({
        address: client.contracts.proofOfInference,
        abi: proofOfInferenceAbi,
        functionName: "params",
      });
      await test.increaseTime({ seconds: disputeWindow + 1 });
      await test.mine({ blocks: 1 });
      await transact(client, {
        contract: "ProofOfInference",
        address: client.contracts.proofOfInference,
        abi: proofOfInferenceAbi,
        functionName: "finalize",
        args: [ref],
      });

      const result = await outcome;
      assert.equal(result.outcome, "paid");
      assert.ok(result.outcome === "paid");
      assert.equal(result.node, assigned);
      assert.equal(result.quality, 9000);
      assert.equal(result.payBps, qualityPayBps(Number(w.deployment.params["poi.qualityFloorBps"]), 9000));
      assert.deepEqual(phases, ["Committed", "Revealed", "ValidatorAssigned", "VerdictPosted", "JobPaid"]);
      assert.equal((await getPoiJob(client, ref)).phaseName, "Paid");
      poiSubscription = ref.subscriptionId;
      assert.ok((await getCredits(provider, { token: ETH })) > 0n, "the provider was paid");
    } finally {
      stop.abort();
      await outcome.catch(() => {});
    }
  });

  it("docs/sdk.md's examples run as written", async () => {
    assert.ok(poiSubscription > 0n, "the PoI job ran first");
    const blocks = [
      ...readFileSync(join(ROOT, "docs", "sdk.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g),
    ].map((m) => m[1]!);
    assert.equal(blocks.length, 4);
    // Inside the repository (so "@infernet/sdk" and "viem" resolve), in an ignored folder; run from `dir`, which
    // holds deployments/localhost.json.
    const scratch = join(ROOT, "out", `sdk-docs-${process.pid}`);
    mkdirSync(scratch, { recursive: true });
    const env = {
      PATH: process.env.PATH,
      RPC_URL: w.rpcUrl,
      PRIVATE_KEY: toHex(consumer.getHdKey().privateKey!),
      NODE_API_URL: apiUrl,
      NODE_API_KEY: apiKey,
      SUBSCRIPTION_ID: String(poiSubscription),
    };
    const outputs: string[] = [];
    try {
      for (const [i, code] of blocks.entries()) {
        const file = join(scratch, `example-${i}.ts`);
        writeFileSync(file, code);
        const { stdout } = await run(process.execPath, [file], { cwd: dir, env, timeout: 60_000 });
        outputs.push(stdout);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    assert.match(
      outputs[0]!,
      new RegExp(
        `^delivered by ${getAddress(nodeAccount.address)}: 0x[0-9a-f]+1234abcd0+ \\(hash checked: true\\)`,
      ),
    );
    assert.match(outputs[1]!, /^event state\n/);
    assert.match(
      outputs[1]!,
      /event result\n\{"container":"hello","output":\{"echo":\{"prompt":"a red fox"\}\}\}\n$/,
    );
    assert.match(outputs[2]!, /^verified 20 steps, challenged \[\d+(,\d+)*\]\n/);
    assert.match(
      outputs[2]!,
      /phase Committed\nphase Revealed\nphase ValidatorAssigned\nphase VerdictPosted\nphase JobPaid\noutcome paid\n$/,
    );
    assert.match(outputs[3]!, /^subscriptions \d+\n$/);
  });
});

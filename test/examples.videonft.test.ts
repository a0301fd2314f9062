/**
 * VideoNFT (contracts/examples/VideoNFT.sol) on the in-process chain: a mint pays for a Proof-of-Inference job
 * through the Coordinator; a registered node's delivery (with its commitment, as the test helpers make it) mints the
 * token to the requester with the delivered video's hash and URI; `settle` then follows the verifier: a paid job
 * verifies the token, a job slashed for fraud burns it and refunds the requester the price plus the requester share
 * of the slashed bond, an expired one refunds the price. Bad inputs revert with named errors.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  decodeAbiParameters,
  encodeAbiParameters,
  getAddress,
  keccak256,
  parseEventLogs,
  sha256,
  stringToHex,
  toHex,
  type Hex,
} from "viem";
import { decodeDiffusionInputs, jobId as poiJobId } from "@infernet/sdk";
import { CONTAINER_ID, SlotStatus, addr, wallet, type Fixture } from "./helpers/fixture.ts";
import {
  ETH,
  PRICE,
  commitmentFor,
  deliverWithCommit,
  drawValidator,
  fakeTrajectory,
  poiWorld,
  postVerdict,
  revealFor,
  type PoiJob,
  type PoiWorld,
} from "./helpers/poi.ts";

const TERMS = {
  price: PRICE,
  steps: 12,
  guidanceMilli: 7500,
  width: 64,
  height: 64,
  frames: 8,
  callbackGasLimit: 500_000,
};
const ZERO32: Hex = `0x${"00".repeat(32)}`;
/** VideoNFT.Status */
const Status = { None: 0, Requested: 1, Delivered: 2, Malformed: 3, Verified: 4, Refunded: 5 } as const;

/** The diffusion container's on-chain output: abi.encode(bytes videoSha256, bytes uri). */
function videoOutput(videoSha256: Hex, uri: string): Hex {
  return encodeAbiParameters([{ type: "bytes" }, { type: "bytes" }], [videoSha256, stringToHex(uri)]);
}

function tokenJson(uri: string): Record<string, unknown> {
  const prefix = "data:application/json;base64,";
  assert.ok(uri.startsWith(prefix), uri);
  return JSON.parse(Buffer.from(uri.slice(prefix.length), "base64").toString("utf8")) as Record<
    string,
    unknown
  >;
}

function attribute(json: Record<string, unknown>, trait: string): unknown {
  const attrs = json.attributes as { trait_type: string; value: unknown }[];
  return attrs.find((a) => a.trait_type === trait)?.value;
}

async function deployVideoNft(f: Fixture, terms = TERMS, negativePrompt = "") {
  return f.viem.deployContract("VideoNFT", [
    f.coordinator.address,
    f.poi.address,
    CONTAINER_ID,
    terms,
    negativePrompt,
  ]);
}

type VideoNft = Awaited<ReturnType<typeof deployVideoNft>>;

describe("VideoNFT: a PoI-verified video minted as an ERC-721", () => {
  let w: PoiWorld;
  let f: Fixture;
  let nft: VideoNft;
  const minter = () => wallet(f, 1);
  const nftAs = (i: number) =>
    f.viem.getContractAt("VideoNFT", nft.address, { client: { wallet: wallet(f, i) } });

  /** The inline inputs a subscription pinned (SubscriptionCreated carries them; nodes read them there). */
  async function pinnedInputs(subscriptionId: bigint): Promise<Hex> {
    const logs = await f.coordinator.getEvents.SubscriptionCreated({ subscriptionId }, { fromBlock: 0n });
    return logs.at(-1)!.args.params!.inputs;
  }

  /** Wallet 1 mints `prompt`; a block is mined so the assignment is readable. Returns the PoI job of the request. */
  async function mint(prompt: string, videoUri = "file:///srv/outputs/clip.gif"): Promise<PoiJob> {
    const hash = await (await nftAs(1)).write.mint([prompt], { value: TERMS.price });
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
    const [requested] = parseEventLogs({ abi: nft.abi, logs: receipt.logs, eventName: "VideoRequested" });
    assert.ok(requested, "VideoRequested emitted");
    const subscriptionId = requested.args.requestId;
    await f.networkHelpers.mine();
    const [provider] = await f.coordinator.read.previewAssignment([subscriptionId, 1]);
    assert.ok(provider, "a node is assigned");
    return {
      subscriptionId,
      interval: 1,
      slot: 0,
      ref: { subscriptionId, interval: 1, slot: 0 },
      provider,
      jobId: poiJobId({
        chainId: await f.publicClient.getChainId(),
        coordinator: f.coordinator.address,
        subscriptionId,
        interval: 1,
      }),
      output: videoOutput(sha256(stringToHex(`${prompt}|frames`)), videoUri),
    };
  }

  /** Delivery with a commitment, then challenge + reveal + validator + verdict; returns the token id minted. */
  async function deliverAndJudge(job: PoiJob, pass: boolean) {
    const c = commitmentFor(job, fakeTrajectory(TERMS.steps));
    const { k, round, receipt } = await deliverWithCommit(w, job, c);
    const [minted] = parseEventLogs({ abi: nft.abi, logs: receipt.logs, eventName: "VideoMinted" });
    assert.ok(minted, "the delivery minted the token");
    await revealFor(w, job, c, k, round);
    const validator = await drawValidator(w, job);
    await postVerdict(w, job, validator, pass);
    await f.networkHelpers.time.increase(f.params.poi.disputeWindow + 1);
    await f.poi.write.finalize([job.ref]);
    return { tokenId: minted.args.tokenId, validator };
  }

  before(async () => {
    w = await poiWorld(3);
    f = w.f;
    nft = await deployVideoNft(f);
  });

  it("mint requests a PoI job through the Coordinator with the sdk's diffusion inputs", async () => {
    const job = await mint("a red circle moving right");
    const sub = await f.coordinator.read.getSubscription([job.subscriptionId]);
    assert.equal(getAddress(sub.owner), getAddress(nft.address), "the contract owns the subscription");
    assert.equal(getAddress(sub.verifier), getAddress(f.poi.address));
    assert.equal(sub.containerId, CONTAINER_ID);
    assert.equal(sub.paymentAmount, PRICE);
    assert.equal(sub.redundancy, 1);
    assert.equal(sub.callbackGasLimit, TERMS.callbackGasLimit);
    const inputs = await pinnedInputs(job.subscriptionId);
    assert.equal(sub.inputsHash, keccak256(inputs));
    assert.deepEqual(decodeDiffusionInputs(inputs), {
      prompt: "a red circle moving right",
      negativePrompt: "",
      steps: TERMS.steps,
      guidanceMilli: TERMS.guidanceMilli,
      width: TERMS.width,
      height: TERMS.height,
      frames: TERMS.frames,
    });
    const r = await nft.read.getRequest([job.subscriptionId]);
    assert.equal(getAddress(r.requester), addr(minter()));
    assert.equal(r.status, Status.Requested);
    assert.equal(r.tokenId, 0n);
    assert.equal(r.prompt, "a red circle moving right");
    const [balance, locked] = await f.coordinator.read.escrowOf([job.subscriptionId]);
    assert.equal(balance, PRICE);
    assert.equal(locked, PRICE);
  });

  it("a node's delivery mints the token to the requester with the video hash and URI; a pass verifies it", async () => {
    const prompt = 'a "quoted" prompt \\ with a backslash,\na newline and a \u0007 bell';
    const uri = `file:///tmp/infernet/outputs/${"ab".repeat(32)}.gif`;
    const job = await mint(prompt, uri);
    const [videoSha256] = decodeAbiParameters([{ type: "bytes" }, { type: "bytes" }], job.output);
    const c = commitmentFor(job, fakeTrajectory(TERMS.steps));
    const { k, round, receipt } = await deliverWithCommit(w, job, c);
    assert.equal(
      parseEventLogs({ abi: f.coordinator.abi, logs: receipt.logs, eventName: "CallbackFailed" }).length,
      0,
      "the mint fits the callback gas limit",
    );
    const [minted] = parseEventLogs({ abi: nft.abi, logs: receipt.logs, eventName: "VideoMinted" });
    assert.ok(minted);
    const tokenId = minted.args.tokenId;
    assert.equal(getAddress(minted.args.owner), addr(minter()));
    assert.equal(getAddress(minted.args.node), getAddress(job.provider));
    assert.equal(minted.args.videoSha256, videoSha256);
    assert.equal(minted.args.uri, uri);
    assert.equal(getAddress(await nft.read.ownerOf([tokenId])), addr(minter()));
    const video = await nft.read.videoOf([tokenId]);
    assert.equal(video.videoSha256, videoSha256);
    assert.equal(video.uri, uri);
    assert.equal(video.requestId, job.subscriptionId);
    const pending = tokenJson(await nft.read.tokenURI([tokenId]));
    assert.equal(pending.description, prompt, "the prompt survives JSON escaping");
    assert.equal(pending.animation_url, uri);
    assert.equal(attribute(pending, "video_sha256"), videoSha256);
    assert.equal(attribute(pending, "verification"), "pending");
    assert.equal((await nft.read.getRequest([job.subscriptionId])).status, Status.Delivered);

    // Not settled while the verifier holds the payment.
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      nft.write.settle([job.subscriptionId]),
      nft,
      "JobNotSettled",
      [job.subscriptionId, SlotStatus.Held],
    );

    await revealFor(w, job, c, k, round);
    const validator = await drawValidator(w, job);
    await postVerdict(w, job, validator, true);
    await f.networkHelpers.time.increase(f.params.poi.disputeWindow + 1);
    await f.poi.write.finalize([job.ref]);
    // A quality-weighted pass may pay the node less than the price: the rest is free in the escrow, for the minter.
    const [balance, locked] = await f.coordinator.read.escrowOf([job.subscriptionId]);
    const returned = balance - locked;
    const hash = await nft.write.settle([job.subscriptionId]);
    await f.viem.assertions.emitWithArgs(hash, nft, "VideoVerified", [tokenId, job.subscriptionId, returned]);
    assert.equal(await nft.read.refunds([ETH, addr(minter())]), returned);
    const [after] = await f.coordinator.read.escrowOf([job.subscriptionId]);
    assert.equal(after, 0n, "nothing is left in the subscription's escrow");
    assert.equal((await nft.read.getRequest([job.subscriptionId])).status, Status.Verified);
    assert.equal(attribute(tokenJson(await nft.read.tokenURI([tokenId])), "verification"), "verified");
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      nft.write.settle([job.subscriptionId]),
      nft,
      "RequestAlreadySettled",
      [job.subscriptionId, Status.Verified],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      nft.write.withdrawRefund([ETH]),
      nft,
      "NothingToRefund",
      [addr(wallet(f, 0)), ETH],
    );
    if (returned !== 0n) await (await nftAs(1)).write.withdrawRefund([ETH]);
  });

  it("proven fraud: the token is burned, the requester gets the price and the requester share of the bond", async () => {
    const job = await mint("a cheater's clip");
    const { tokenId } = await deliverAndJudge(job, false);
    const [state] = await f.coordinator.read.getInterval([job.subscriptionId, 1]);
    const share = (state.bond * BigInt(f.params.poi.requesterShareBps)) / 10_000n;
    assert.ok(share > 0n);
    const hash = await nft.write.settle([job.subscriptionId]);
    await f.viem.assertions.emitWithArgs(hash, nft, "RequestRefunded", [
      job.subscriptionId,
      addr(minter()),
      PRICE,
      share,
      tokenId,
    ]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      nft.read.ownerOf([tokenId]),
      nft,
      "ERC721NonexistentToken",
      [tokenId],
    );
    assert.equal((await nft.read.getRequest([job.subscriptionId])).status, Status.Refunded);
    assert.equal(await nft.read.refunds([ETH, addr(minter())]), PRICE + share);

    const before = await f.publicClient.getBalance({ address: addr(minter()) });
    const withdraw = await (await nftAs(1)).write.withdrawRefund([ETH]);
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash: withdraw });
    const after = await f.publicClient.getBalance({ address: addr(minter()) });
    assert.equal(after - before + receipt.gasUsed * receipt.effectiveGasPrice, PRICE + share);
    assert.equal(await nft.read.refunds([ETH, addr(minter())]), 0n);
    assert.equal(await f.publicClient.getBalance({ address: nft.address }), 0n, "nothing stays behind");
  });

  it("a slot that expires undelivered refunds the price (no token, no compensation)", async () => {
    // A container no node serves: the slot is never filled and expires after the delivery window.
    const lonely = keccak256(stringToHex("no-node-serves-this"));
    await f.containerRegistry.write.registerContainer(["no-node-serves-this", ZERO32]);
    const other = await f.viem.deployContract("VideoNFT", [
      f.coordinator.address,
      f.poi.address,
      lonely,
      TERMS,
      "",
    ]);
    const otherAs = await f.viem.getContractAt("VideoNFT", other.address, { client: { wallet: minter() } });
    const tx = await otherAs.write.mint(["nobody will make this"], { value: PRICE });
    const [requested] = parseEventLogs({
      abi: other.abi,
      logs: (await f.publicClient.waitForTransactionReceipt({ hash: tx })).logs,
      eventName: "VideoRequested",
    });
    const id = requested!.args.requestId;
    await f.networkHelpers.time.increase(3601);
    await f.coordinator.write.expireSlot([id, 1, 0]);
    const hash = await other.write.settle([id]);
    await f.viem.assertions.emitWithArgs(hash, other, "RequestRefunded", [id, addr(minter()), PRICE, 0n, 0n]);
    assert.equal(await other.read.refunds([ETH, addr(minter())]), PRICE);
  });

  it("a malformed delivery mints nothing and does not break the node's delivery", async () => {
    const job = await mint("garbage in");
    const bad: PoiJob = { ...job, output: "0x1234" };
    const c = commitmentFor(bad, fakeTrajectory(TERMS.steps));
    const { receipt } = await deliverWithCommit(w, bad, c);
    const [malformed] = parseEventLogs({ abi: nft.abi, logs: receipt.logs, eventName: "DeliveryMalformed" });
    assert.equal(malformed?.args.requestId, job.subscriptionId);
    assert.equal(parseEventLogs({ abi: nft.abi, logs: receipt.logs, eventName: "VideoMinted" }).length, 0);
    const r = await nft.read.getRequest([job.subscriptionId]);
    assert.equal(r.status, Status.Malformed);
    assert.equal(r.tokenId, 0n);
    // A 31-byte hash or an over-long URI is malformed too.
    await f.viem.assertions.revertWithCustomError(
      nft.read.decodeVideoOutput([videoOutput(toHex(1, { size: 31 }), "file:///x.gif")]),
      nft,
      "MalformedOutput",
    );
    await f.viem.assertions.revertWithCustomError(
      nft.read.decodeVideoOutput([videoOutput(ZERO32, `file:///${"a".repeat(250)}`)]),
      nft,
      "MalformedOutput",
    );
  });

  it("the longest URI it keeps still fits the smallest callback gas limit it allows", async () => {
    const tight = await deployVideoNft(f, { ...TERMS, callbackGasLimit: 400_000 });
    const tightAs = await f.viem.getContractAt("VideoNFT", tight.address, { client: { wallet: minter() } });
    const prompt = "p".repeat(1024);
    const tx = await tightAs.write.mint([prompt], { value: PRICE });
    const [requested] = parseEventLogs({
      abi: tight.abi,
      logs: (await f.publicClient.waitForTransactionReceipt({ hash: tx })).logs,
      eventName: "VideoRequested",
    });
    const subscriptionId = requested!.args.requestId;
    await f.networkHelpers.mine();
    const [provider] = await f.coordinator.read.previewAssignment([subscriptionId, 1]);
    const job: PoiJob = {
      subscriptionId,
      interval: 1,
      slot: 0,
      ref: { subscriptionId, interval: 1, slot: 0 },
      provider: provider!,
      jobId: poiJobId({
        chainId: await f.publicClient.getChainId(),
        coordinator: f.coordinator.address,
        subscriptionId,
        interval: 1,
      }),
      output: videoOutput(toHex(7, { size: 32 }), `https://${"u".repeat(256 - 12)}.gif`),
    };
    const { receipt } = await deliverWithCommit(w, job, commitmentFor(job, fakeTrajectory(TERMS.steps)));
    assert.equal(
      parseEventLogs({ abi: f.coordinator.abi, logs: receipt.logs, eventName: "CallbackFailed" }).length,
      0,
    );
    assert.equal(parseEventLogs({ abi: tight.abi, logs: receipt.logs, eventName: "VideoMinted" }).length, 1);
  });

  it("bad inputs revert with named errors", async () => {
    const asMinter = await nftAs(1);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asMinter.write.mint(["x"], { value: PRICE - 1n }),
      nft,
      "WrongPayment",
      [PRICE - 1n, PRICE],
    );
    await f.viem.assertions.revertWithCustomError(
      asMinter.write.mint([""], { value: PRICE }),
      nft,
      "EmptyPrompt",
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asMinter.write.mint(["p".repeat(1025)], { value: PRICE }),
      nft,
      "PromptTooLong",
      [1025n, 1024n],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(nft.write.settle([999n]), nft, "UnknownRequest", [
      999n,
    ]);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      nft.write.setTerms([{ ...TERMS, price: f.params.poi.maxPrice + 1n }, ""]),
      nft,
      "PriceAboveVerifierLimit",
      [f.params.poi.maxPrice + 1n, f.params.poi.maxPrice],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      nft.write.setTerms([{ ...TERMS, steps: f.params.poi.maxSteps + 1 }, ""]),
      nft,
      "StepsOutOfRange",
      [f.params.poi.maxSteps + 1, f.params.poi.maxSteps],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      nft.write.setTerms([{ ...TERMS, frames: 0 }, ""]),
      nft,
      "InvalidVideoSize",
      [64, 64, 0],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      nft.write.setTerms([{ ...TERMS, callbackGasLimit: 100_000 }, ""]),
      nft,
      "CallbackGasOutOfRange",
      [100_000, 400_000, f.params.maxCallbackGasLimit],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      nft.write.setTerms([TERMS, "n".repeat(1025)]),
      nft,
      "PromptTooLong",
      [1025n, 1024n],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asMinter.write.setTerms([TERMS, ""]),
      nft,
      "OwnableUnauthorizedAccount",
      [addr(minter())],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asMinter.write.receiveCompute([1n, 1, 0, addr(minter()), "0x", "0x", "0x"]),
      nft,
      "NotCoordinator",
      [addr(minter())],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      asMinter.write.withdrawRefund([ETH]),
      nft,
      "NothingToRefund",
      [addr(minter()), ETH],
    );
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      nft.read.tokenURI([12345n]),
      nft,
      "ERC721NonexistentToken",
      [12345n],
    );
  });

  it("new terms apply to later mints (price, steps, negative prompt)", async () => {
    const cheaper = { ...TERMS, price: PRICE / 3n, steps: 20 };
    await nft.write.setTerms([cheaper, "blurry"]);
    const hash = await (await nftAs(1)).write.mint(["later"], { value: cheaper.price });
    const [requested] = parseEventLogs({
      abi: nft.abi,
      logs: (await f.publicClient.waitForTransactionReceipt({ hash })).logs,
      eventName: "VideoRequested",
    });
    assert.equal(requested!.args.price, cheaper.price);
    const inputs = decodeDiffusionInputs(await pinnedInputs(requested!.args.requestId));
    assert.equal(inputs.steps, 20);
    assert.equal(inputs.negativePrompt, "blurry");
    await nft.write.setTerms([TERMS, ""]);
  });
});

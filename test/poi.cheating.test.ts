/**
 * Cheating providers run through the real protocol and are caught and slashed; honest providers are never failed.
 *
 * Every job here is real end to end: the real contracts (deploySystem) on the in-process Hardhat network, the real
 * diffusion pipeline (the synthetic SD video UNet of containers/diffusion, T = 12 steps), the real sdk prover
 * (`commitJob`, `revealJob`, the multiproof `ProofOfInference.reveal` verifies on-chain) and the real validator core
 * (`verifyReveal`, re-running the challenged steps), judging from the `Revealed` event's data. The providers — honest
 * and the eight cheats (1)–(8) — are the bench's own (bench/lib/cheats.ts, the same code bench/poi.ts measures).
 *
 * Lifecycle per job: request → assign → deliver with the commitment → challenge round → reveal (or, for (6), none)
 * → assignValidator → verdict of verifyReveal → postVerdict → dispute window → finalize (or slashUnrevealed after the
 * reveal window for (6)); then the settlement of docs/protocol.md §10–11 is checked: FraudSlashed for the provider,
 * the job bond split (requester / challenger / burned), the consumer's payment unlocked in its escrow on top of its
 * NodeRegistry credit, the node not paid, its trust reset.
 *
 * Detection is made deterministic by having the owner pin kMin = kMax = T (every step audited): what this test
 * proves is that a cheat the challenge hits is caught and slashed by the protocol. Detection *rates* at realistic k
 * (k = 3 of T = 50) are the bench's job: bench/poi.ts, docs/verification.md.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { encodeAbiParameters, getAddress, keccak256, parseEventLogs, type Address, type Hex } from "viem";
import { revealJob, splitFee } from "@infernet/sdk";
import { closePipeline } from "../containers/diffusion/src/index.ts";
import { DEFAULT_BANDS, jobWideBit, type Verdict } from "../node/src/validator/index.ts";
import {
  commit,
  honestRun,
  jobContext,
  judge,
  openModel,
  strategies,
  type Donor,
  type JobContext,
  type Model,
  type Produced,
  type Strategy,
  type StrategyKey,
} from "../bench/lib/cheats.ts";
import {
  ETH,
  PRICE,
  Phase,
  SlotStatus,
  as,
  deliverWithCommit,
  drawValidator,
  poiWorld,
  requestPoiJob,
  revealFor,
  type PoiJob,
  type PoiWorld,
} from "./helpers/poi.ts";

process.env.ORT_DISABLE_TELEMETRY = "1";

/** Denoising steps per job: small, so that auditing every step stays cheap. */
const T = 12;
const BPS = 10_000n;
/** TrustModel fixed point (1.0). */
const ONE = 10_000n;
/** Honest jobs at the default audit depth. */
const HONEST_JOBS = 4;
/** Wallet that calls finalize / slashUnrevealed (poiWorld's 6 nodes are wallets 2–7, the consumer wallet 1). */
const KEEPER = 8;

/** Reproducible randomness for the cheats (tampered-step placement, the wrong seed). */
let counter = 0n;
const fresh = (): Hex =>
  keccak256(encodeAbiParameters([{ type: "string" }, { type: "uint256" }], ["poi.cheating.test", ++counter]));

/** The cheats place their tampering against the default kMin (a cheater does not know it will be fully audited). */
const { honest: HONEST, cheats: CHEATS } = strategies({ T, k: 3, fresh });

const bits = (steps: Iterable<number>): bigint => [...steps].reduce((m, i) => m | (1n << BigInt(i)), 0n);

let m: Model;
let w: PoiWorld;
let donor: Donor;

/** A job through the contracts up to its verdict (or its withheld reveal). */
interface Run {
  job: PoiJob;
  ctx: JobContext;
  p: Produced;
  /** Audit depth recorded at the commit, and what TrustModel.auditDepth gave just before it. */
  k: number;
  expectedK: number;
  /** The challenged steps the contract emitted (or, withheld, the sdk's for the challenge round). */
  challenged: number[];
  verdict?: Verdict;
  validator?: Address;
  withheld: boolean;
}

async function mined(hash: Promise<Hex>) {
  const receipt = await w.f.publicClient.waitForTransactionReceipt({ hash: await hash });
  assert.equal(receipt.status, "success");
  return receipt;
}

/** Request → assign → produce (strategy `s`) → deliver with commitment → reveal or withhold → validator's verdict. */
async function runJob(s: Strategy): Promise<Run> {
  const { f } = w;
  const requested = await requestPoiJob(w);
  await mined(f.coordinator.write.assign([requested.subscriptionId, requested.interval]));
  const [state, inputsHash, slots] = await f.coordinator.read.getInterval([
    requested.subscriptionId,
    requested.interval,
  ]);
  assert.equal(getAddress(slots[0]!.node), getAddress(requested.provider), "assigned as previewed");
  // The job as provider and validator reconstruct it from the chain: seed = jobSeed(jobId, R_req), pinned inputs.
  const requestRandomness = await f.randomness.read.valueOf([BigInt(state.seedRound)]);
  const ctx = jobContext(m, requested.jobId, requested.provider, requestRandomness, inputsHash);

  // Provider: run (honestly or not), commit inside the delivery.
  const p = await s.produce(m, ctx, donor);
  const job: PoiJob = { ...requested, output: p.output };
  const { commitment } = commit(m, ctx, p);
  const [kMin, kMax] = await poiAuditBounds();
  const expectedK = Math.min(
    T,
    Number(await f.trustModel.read.auditDepth([job.provider, BigInt(kMin), BigInt(kMax)])),
  );
  const { k, round, receipt: delivered } = await deliverWithCommit(w, job, commitment);
  const [committed] = parseEventLogs({ abi: f.poi.abi, logs: delivered.logs, eventName: "Committed" });
  assert.ok(committed);
  assert.equal(committed.args.root, commitment.root);
  assert.equal(
    committed.args.outputHash,
    keccak256(p.output),
    "the commitment is bound to the delivered output",
  );

  if (p.withholdIfHit) {
    await f.networkHelpers.mine();
    const reveal = revealJob(commitment, await f.randomness.read.valueOf([BigInt(round)]), k);
    if (reveal.challenged.some((i) => p.tampered.has(i))) {
      return { job, ctx, p, k, expectedK, challenged: reveal.challenged, withheld: true };
    }
  }

  // Reveal: the contract verifies the multiproof and emits the openings; the validator judges from that event.
  const { reveal, receipt: revealed } = await revealFor(w, job, commitment, k, round);
  const [ev] = parseEventLogs({ abi: f.poi.abi, logs: revealed.logs, eventName: "Revealed" });
  assert.ok(ev, "Revealed emitted");
  const challenged = [...ev.args.challenged];
  assert.deepEqual(challenged, reveal.challenged, "the contract challenges the steps the sdk opened");
  const validator = await drawValidator(w, job);
  assert.notEqual(getAddress(validator), getAddress(job.provider));
  const verdict = await judge(
    m,
    ctx,
    {
      challenged,
      openings: ev.args.openings.map((o) => ({ ...o })),
      finalLatentDigest: ev.args.finalLatentDigest,
      paramsHash: committed.args.paramsHash,
    },
    p,
  );
  await mined(
    (await as(f, validator)).poi.write.postVerdict([
      job.ref,
      verdict.pass,
      verdict.failedMask,
      verdict.digest,
      verdict.pass ? 10_000 : 0,
    ]),
  );
  return { job, ctx, p, k, expectedK, challenged, verdict, validator, withheld: false };
}

async function poiAuditBounds(): Promise<[number, number]> {
  const params = await w.f.poi.read.params();
  return [params[4], params[5]];
}

/** Balances a settlement moves. */
async function ledger(job: PoiJob, challenger: Address) {
  const { f } = w;
  const consumer = f.wallets[1]!.account.address;
  const [escrowBalance, escrowLocked] = await f.coordinator.read.escrowOf([job.subscriptionId]);
  const [info] = await f.nodeRegistry.read.getNode([job.provider]);
  return {
    requesterCredit: await f.nodeRegistry.read.credits([consumer]),
    challengerCredit: await f.nodeRegistry.read.credits([challenger]),
    burned: await f.nodeRegistry.read.totalBurned(),
    staked: info.staked,
    bonded: info.bonded,
    providerPay: await f.coordinator.read.credits([ETH, job.provider]),
    escrowBalance,
    escrowLocked,
    trust: await f.trustModel.read.trustBps([job.provider]),
    failures: (await f.trustModel.read.beliefOf([job.provider])).failures,
  };
}

async function slotStatus(job: PoiJob): Promise<number> {
  const [, , slots] = await w.f.coordinator.read.getInterval([job.subscriptionId, job.interval]);
  return slots[job.slot]!.status;
}

const keeper = () => w.f.wallets[KEEPER]!.account.address;

/** After the dispute window: finalize; the honest job is paid, its bond released, its trust raised. */
async function settlePaid(r: Run) {
  const { f } = w;
  assert.ok(r.verdict && r.validator);
  const before = await ledger(r.job, r.validator);
  await f.networkHelpers.time.increase(f.params.poi.disputeWindow + 1);
  const receipt = await mined((await as(f, keeper())).poi.write.finalize([r.job.ref]));
  const [paid] = parseEventLogs({ abi: f.poi.abi, logs: receipt.logs, eventName: "JobPaid" });
  assert.ok(paid, "JobPaid emitted");
  assert.equal(getAddress(paid.args.node), getAddress(r.job.provider));
  assert.equal(
    parseEventLogs({ abi: f.poi.abi, logs: receipt.logs, eventName: "FraudSlashed" }).length,
    0,
    "an honest provider is never slashed",
  );
  const after = await ledger(r.job, r.validator);
  assert.equal(
    after.providerPay - before.providerPay,
    splitFee(PRICE, f.params.feeBps).net,
    "paid, less fee",
  );
  assert.equal(before.escrowBalance - after.escrowBalance, PRICE, "the payment leaves the escrow");
  assert.equal(before.escrowLocked - after.escrowLocked, PRICE);
  assert.equal(after.staked, before.staked, "no stake taken");
  assert.equal(before.bonded - after.bonded, f.params.jobBond, "job bond released");
  assert.equal(after.requesterCredit, before.requesterCredit, "no slash share to the requester");
  assert.equal(after.burned, before.burned);
  assert.ok(after.trust > before.trust, "trust rises after a pass");
  assert.equal(after.failures, before.failures);
  assert.equal((await f.poi.read.getJob([r.job.ref])).phase, Phase.Paid);
  assert.equal(await slotStatus(r.job), SlotStatus.Paid);
}

/**
 * After the window (dispute, or reveal for a withheld reveal): finalize / slashUnrevealed by the keeper; checks the
 * fraud settlement of docs/protocol.md §10–11.
 */
async function settleSlashed(r: Run) {
  const { f } = w;
  const challenger = r.withheld ? keeper() : r.validator!;
  const before = await ledger(r.job, challenger);
  const asKeeper = (await as(f, keeper())).poi;
  let receipt;
  if (r.withheld) {
    await f.viem.assertions.revertWithCustomError(
      asKeeper.write.slashUnrevealed([r.job.ref]),
      f.poi,
      "RevealWindowOpen",
    );
    await f.networkHelpers.time.increase(f.params.poi.revealWindow + 1);
    receipt = await mined(asKeeper.write.slashUnrevealed([r.job.ref]));
  } else {
    await f.viem.assertions.revertWithCustomError(
      asKeeper.write.finalize([r.job.ref]),
      f.poi,
      "DisputeWindowOpen",
    );
    await f.networkHelpers.time.increase(f.params.poi.disputeWindow + 1);
    receipt = await mined(asKeeper.write.finalize([r.job.ref]));
  }
  const bond = f.params.jobBond;
  const toRequester = (bond * BigInt(f.params.poi.requesterShareBps)) / BPS;
  const toChallenger = (bond * BigInt(f.params.poi.challengerShareBps)) / BPS;
  const burned = bond - toRequester - toChallenger;

  const [slashed] = parseEventLogs({ abi: f.poi.abi, logs: receipt.logs, eventName: "FraudSlashed" });
  assert.ok(slashed, "FraudSlashed emitted");
  assert.equal(slashed.args.key, await f.poi.read.jobKey([r.job.ref]));
  assert.equal(getAddress(slashed.args.node), getAddress(r.job.provider), "the cheating provider is slashed");
  assert.equal(slashed.args.toRequester, toRequester);
  assert.equal(slashed.args.toChallenger, toChallenger);
  assert.equal(slashed.args.burned, burned);
  assert.equal(parseEventLogs({ abi: f.poi.abi, logs: receipt.logs, eventName: "JobPaid" }).length, 0);

  const after = await ledger(r.job, challenger);
  assert.equal(before.staked - after.staked, bond, "the whole job bond leaves the provider's stake");
  assert.equal(before.bonded - after.bonded, bond);
  assert.equal(after.providerPay, before.providerPay, "the provider is not paid");
  assert.equal(after.requesterCredit - before.requesterCredit, toRequester, "requester share (NodeRegistry)");
  assert.equal(after.challengerCredit - before.challengerCredit, toChallenger, "challenger share");
  assert.equal(after.burned - before.burned, burned, "the rest burned");
  assert.equal(
    after.escrowBalance,
    before.escrowBalance,
    "the full payment stays with the consumer's escrow…",
  );
  assert.equal(before.escrowLocked - after.escrowLocked, PRICE, "…unlocked: refunded");
  assert.equal(after.escrowLocked, 0n);
  assert.equal((await f.poi.read.getJob([r.job.ref])).phase, Phase.Slashed);
  assert.equal(await slotStatus(r.job), SlotStatus.Refunded);

  // Trust reset (TrustModel.recordFraud): Beta(1, 1 + fraudPenalty) whatever the record before.
  const penalty = f.params.poi.trustFraudPenalty;
  const belief = await f.trustModel.read.beliefOf([r.job.provider]);
  assert.equal(belief.a, ONE);
  assert.equal(belief.b, ONE + penalty);
  assert.equal(after.failures, before.failures + 1);
  assert.equal(after.trust, (2n * 10_000n * ONE) / (2n * ONE + penalty), "trust reset below neutral");
  assert.ok(after.trust < 10_000n);
  const { kMin, kMax } = f.params.poi;
  assert.equal(
    await f.trustModel.read.auditDepth([r.job.provider, BigInt(kMin), BigInt(kMax)]),
    BigInt(kMin) + (BigInt(kMax - kMin) * (ONE + penalty)) / (2n * ONE + penalty),
    "audited deeper next time",
  );
}

/** What the validator must find, per cheat, when every step is challenged (position j = step j). */
function expectedVerdict(key: StrategyKey, p: Produced): { failedMask: bigint; codes: string[] } {
  switch (key) {
    case "wrong_seed":
    case "replayed_trajectory":
      // Every step is a correct run of *another* z_0: only leaf 0 (checked against the seed) gives it away.
      return { failedMask: jobWideBit(T), codes: ["initial-latent"] };
    case "cached_output":
      // Another job's ε at every step, and the cached z_T does not follow from the last step.
      return { failedMask: bits(p.tampered), codes: ["noise", "transition"] };
    default:
      // The UNet skipped or substituted on exactly the tampered steps; transitions hold (DDIM of what is committed).
      return { failedMask: bits(p.tampered), codes: ["noise"] };
  }
}

describe("cheating providers through the real protocol (issue 6)", () => {
  before(async () => {
    m = await openModel("synthetic-video", T);
    w = await poiWorld(6);
    // The run the replaying (7) and caching (8) cheats reuse: an honest run of another job.
    const other = jobContext(m, fresh(), w.nodes[0]!, fresh(), fresh());
    const run = await honestRun(m, other);
    donor = { latents: run.latents, noise: run.noise, output: run.output };
  });
  after(async () => {
    if (m !== undefined) await closePipeline(m.pipeline);
  });

  it(`honest providers at the default audit depth are judged pass and paid (${HONEST_JOBS} jobs)`, async () => {
    const { kMin, kMax } = w.f.params.poi;
    for (let n = 0; n < HONEST_JOBS; n++) {
      const r = await runJob(HONEST);
      assert.equal(r.k, r.expectedK, "k from the provider's trust");
      assert.ok(r.k >= kMin && r.k <= kMax && r.k < T, `default audit depth, got ${r.k}`);
      assert.equal(r.challenged.length, r.k);
      const v = r.verdict!;
      assert.equal(v.outcome, "pass", JSON.stringify(v.reasons));
      assert.equal(v.pass, true);
      assert.equal(v.failedMask, 0n);
      assert.equal(v.escalateMask, 0n);
      assert.equal(v.reasons.length, 0);
      assert.equal(v.steps.length, r.k, "every challenged step re-run");
      assert.ok(v.maxRelErr <= DEFAULT_BANDS.pass, `re-execution within the pass band: ${v.maxRelErr}`);
      await settlePaid(r);
    }
  });

  describe("every step audited (owner pins kMin = kMax = T)", () => {
    before(async () => {
      const { f } = w;
      // Every other parameter as deployed (the bond sizes cannot change once set).
      const [
        revealWindow,
        verdictWindow,
        disputeWindow,
        committeeWindow,
        ,
        ,
        maxSteps,
        requesterShareBps,
        challengerShareBps,
        committeeSize,
        validatorBond,
        disputeBond,
        validatorPenalty,
        maxPrice,
        qualityFloorBps,
        computeCost,
        treasury,
      ] = await f.poi.read.params();
      await mined(
        f.poi.write.setParams([
          {
            revealWindow,
            verdictWindow,
            disputeWindow,
            committeeWindow,
            kMin: T,
            kMax: T,
            maxSteps,
            requesterShareBps,
            challengerShareBps,
            committeeSize,
            validatorBond,
            disputeBond,
            validatorPenalty,
            maxPrice,
            qualityFloorBps,
            computeCost,
            treasury,
          },
        ]),
      );
      assert.deepEqual(await poiAuditBounds(), [T, T]);
    });

    it("an honest provider still passes with all T steps re-run, and is paid", async () => {
      const r = await runJob(HONEST);
      assert.equal(r.k, T);
      assert.deepEqual(
        r.challenged,
        Array.from({ length: T }, (_, i) => i),
      );
      const v = r.verdict!;
      assert.equal(v.outcome, "pass", JSON.stringify(v.reasons));
      assert.equal(v.failedMask, 0n);
      assert.equal(v.steps.length, T);
      assert.ok(v.maxRelErr <= DEFAULT_BANDS.pass);
      await settlePaid(r);
    });

    CHEATS.forEach((s, n) => {
      it(`(${n + 1}) ${s.key}: ${s.label} — caught and slashed`, async () => {
        const r = await runJob(s);
        assert.equal(r.k, T, "every step audited");
        assert.deepEqual(
          r.challenged,
          Array.from({ length: T }, (_, i) => i),
        );
        if (s.key === "withheld_reveal") {
          assert.ok(r.withheld, "the reveal is withheld: the challenge hits its tampered steps");
          assert.ok(r.p.tampered.size > 0);
          assert.equal((await w.f.poi.read.getJob([r.job.ref])).phase, Phase.Committed);
        } else {
          assert.equal(r.withheld, false);
          const v = r.verdict!;
          const want = expectedVerdict(s.key, r.p);
          assert.ok(want.failedMask !== 0n, "the cheat tampers something");
          assert.equal(v.pass, false);
          assert.equal(v.outcome, "fail", JSON.stringify(v.reasons));
          assert.equal(
            v.failedMask,
            want.failedMask,
            `failed bits ${v.failedMask.toString(2)} vs tampered ${want.failedMask.toString(2)}`,
          );
          assert.deepEqual([...new Set(v.reasons.map((x) => x.code))].sort(), [...want.codes].sort());
          if (want.codes.includes("noise")) {
            const tampered = v.steps.filter((x) => r.p.tampered.has(x.index));
            assert.ok(tampered.every((x) => x.relErr !== undefined && x.relErr >= DEFAULT_BANDS.fail));
          }
        }
        await settleSlashed(r);
      });
    });
  });
});

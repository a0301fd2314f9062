/**
 * `verifyReveal`: the validator's judgement of one revealed job (docs/protocol.md §8, docs/verification.md). Pure
 * apart from the `reexecute` callback: no chain I/O; the caller reads the reveal from the `Revealed` event, fetches
 * the opened tensors from the provider and posts `postVerdict(pass, failedMask, digest, quality)`.
 */
import { keccak256, zeroHash, type Hex } from "viem";
import { openedIndices, type StepOpening } from "@infernet/sdk";
import type { DdimSchedule } from "../../../containers/diffusion/src/index.ts";
import { assertBands, classify, relativeL2Error, sameBits, type Band, type Bands } from "./bands.ts";
import {
  digestMatches,
  expectedInitialLatent,
  tensorSha256,
  timestepMatches,
  transitionHolds,
} from "./checks.ts";
import { InvalidRevealError, ReexecutionError } from "./errors.ts";

/** Largest audit depth whose verdict mask (k step bits + the job-wide bit) fits `postVerdict`'s uint256. */
export const MAX_CHALLENGED = 255;

/** What a validator re-runs for one challenged step: the UNet (with guidance) on the committed `z_c` at `t_c`. */
export interface ReexecuteRequest {
  /** Step index c, `0 ≤ c < T`. */
  index: number;
  /** `t_c` from the job's schedule (not the provider's claim). */
  timestep: number;
  /** The timestep the step lands on (`t_c − ⌊N/T⌋`; negative after the last step). */
  prevTimestep: number;
  /** The committed `z_c` (already checked against its digest). */
  latent: Float32Array;
}

/** Computes `ε'` for a step; tests and the bench plug a model in here, the node its pinned pipeline. */
export type Reexecute = (step: ReexecuteRequest) => Float32Array | Promise<Float32Array>;

/** Tensors the validator fetched from the provider for the opened leaves (any may be missing). */
export interface FetchedTensors {
  /** `z_i` by leaf index, `0 ≤ i ≤ T` (`z_T` is the final latent of the output leaf). */
  latents: ReadonlyMap<number, Float32Array>;
  /** `ε_i` by step index, `0 ≤ i < T`. */
  noise: ReadonlyMap<number, Float32Array>;
}

export interface VerifyRevealParams {
  /** Denoising steps T the job committed to. */
  T: number;
  /** Elements per latent and noise tensor (the product of the job's latent shape). */
  elements: number;
  /** The challenged steps as the `Revealed` event lists them (strictly increasing, each `< T`). */
  challenged: readonly number[];
  /** The opened step leaves of the reveal: exactly the step indices of `openedIndices(challenged, T)`, in order. */
  openings: readonly StepOpening[];
  /** `sha256(z_T)` from the output leaf. */
  finalLatentDigest: Hex;
  /** The job's initial-noise seed (§6, `jobSeed(jobId, R_req)`), computed by the validator, not taken from the node. */
  seed: Hex;
  /** The job's DDIM schedule of T steps (`ddimSchedule(pipeline.scheduler, T)`). */
  schedule: DdimSchedule;
  tensors: FetchedTensors;
  reexecute: Reexecute;
  bands: Bands;
  /** Check 6: the revealed `paramsHash` against the one the validator computes from the job. */
  params?: { committed: Hex; expected: Hex };
  /** Check 5 (the caller decides how often): the output hash `z_T` decodes to against the committed one. */
  output?: { committed: Hex; hashOf: (finalLatent: Float32Array) => Hex | Promise<Hex> };
}

export type ReasonCode =
  /** The provider did not serve the tensor of an opened leaf. */
  | "missing-tensor"
  /** A served tensor has another element count than the job's latent. */
  | "tensor-size"
  /** A served tensor does not hash to the revealed digest (check 1). */
  | "digest-mismatch"
  /** Leaf 0's latent is not the seed's initial latent (check 2). */
  | "initial-latent"
  /** A revealed timestep is not the schedule's. */
  | "timestep"
  /** `z_{c+1} ≠ DDIM(z_c, ε_c, t_c, t_{c+1})` (check 4). */
  | "transition"
  /** `‖ε' − ε_c‖ / ‖ε_c‖` in the fail band (check 3). */
  | "noise"
  /** `‖ε' − ε_c‖ / ‖ε_c‖` between the pass and fail bands (check 3). */
  | "noise-escalate"
  /** The committed params hash is not the job's (check 6). */
  | "params"
  /** Decoding `z_T` does not give the committed output hash (check 5). */
  | "output";

export interface Reason {
  code: ReasonCode;
  /** The leaf or step index concerned (`T` for the final latent, `T + 1` for the params leaf). */
  index: number;
  /** The mask bit set: the position `j` of a challenged step, or `k` for a job-wide check. */
  bit: number;
  message: string;
  relErr?: number;
}

/** The outcome of one challenged step's noise re-execution. */
export interface StepResult {
  /** Position j in `challenged` (the mask bit). */
  position: number;
  /** Step index c. */
  index: number;
  /** `‖ε' − ε_c‖ / ‖ε_c‖`, undefined when the step could not be re-run (its inputs failed check 1). */
  relErr: number | undefined;
  band: Band | undefined;
  /** `sha256(ε')`, undefined when not re-run. */
  recomputedDigest: Hex | undefined;
}

export interface Verdict {
  /** `postVerdict`'s `pass`: true iff every check passed (no fail, no escalation). */
  pass: boolean;
  /** fail if any check failed, else escalate if a noise error is between the bands, else pass. */
  outcome: Band;
  /**
   * `postVerdict`'s `failedSteps`: bit j set when challenged step `challenged[j]` failed a check, bit k (one past
   * the last challenged position) when a job-wide check failed (initial latent, final latent, params, output).
   */
  failedMask: bigint;
  /** Bit j set when step `challenged[j]`'s noise error is in the escalate band. */
  escalateMask: bigint;
  reasons: Reason[];
  /** The largest relative noise error over the re-run steps (0 when none was re-run; Infinity possible). */
  maxRelErr: number;
  steps: StepResult[];
  /** `postVerdict`'s `digest`: `keccak(abi.encode(bytes32[] sha256(ε'_j)))`, zero for a step not re-run. */
  digest: Hex;
}

/**
 * `keccak(abi.encode(bytes32[] digests))`: the ABI words (offset 0x20, length, the digests) written directly, as
 * viem's generic encoder costs more than the rest of a small verdict. Throws `InvalidRevealError` for a digest that
 * is not 32 bytes of 0x-prefixed hex.
 */
export function verdictDigest(digests: readonly Hex[]): Hex {
  const out = Buffer.alloc(64 + 32 * digests.length);
  out[31] = 0x20;
  out.writeUInt32BE(digests.length, 60);
  digests.forEach((d, i) => {
    const word =
      typeof d === "string" && d.length === 66 && d.startsWith("0x") ? Buffer.from(d.slice(2), "hex") : null;
    if (word === null || word.length !== 32)
      throw new InvalidRevealError(`not a 32-byte digest: ${String(d)}`);
    word.copy(out, 64 + 32 * i);
  });
  return keccak256(out);
}

/** The job-wide bit of a verdict mask over `k` challenged steps. */
export function jobWideBit(k: number): bigint {
  return 1n << BigInt(k);
}

function assertReveal(p: VerifyRevealParams): Map<number, StepOpening> {
  const { T, elements, challenged, openings, schedule } = p;
  if (!Number.isSafeInteger(T) || T < 1)
    throw new InvalidRevealError(`T must be a positive integer, got ${T}`);
  if (schedule.timesteps.length !== T) {
    throw new InvalidRevealError(`the schedule has ${schedule.timesteps.length} steps, the job ${T}`);
  }
  if (!Number.isSafeInteger(elements) || elements < 1) {
    throw new InvalidRevealError(`elements must be a positive integer, got ${elements}`);
  }
  if (challenged.length < 1 || challenged.length > MAX_CHALLENGED) {
    throw new InvalidRevealError(`1 to ${MAX_CHALLENGED} challenged steps, got ${challenged.length}`);
  }
  challenged.forEach((c, j) => {
    if (!Number.isSafeInteger(c) || c < 0 || c >= T || (j > 0 && c <= challenged[j - 1]!)) {
      throw new InvalidRevealError(`challenged must be strictly increasing step indices below ${T}`);
    }
  });
  const expected = openedIndices(challenged, T).filter((i) => i < T);
  if (openings.length !== expected.length || openings.some((o, i) => o.index !== expected[i])) {
    throw new InvalidRevealError(
      `openings [${openings.map((o) => o.index).join(", ")}] are not the opened steps [${expected.join(", ")}]`,
    );
  }
  return new Map(openings.map((o) => [o.index, o]));
}

/**
 * Runs every check of §8 on a revealed job and returns the verdict. Per challenged step c (position j):
 * the served `z_c`, `ε_c`, `z_{c+1}` hash to the revealed digests (1), the revealed `t_c`, `t_{c+1}` are the
 * schedule's, `z_{c+1} = DDIM(z_c, ε_c, t_c, t_{c+1})` bit for bit (4), and `ε' = reexecute(c)` is within the bands
 * of `ε_c` (3); job-wide (bit k): leaf 0 holds the seed's `z_0` (2), the revealed `t_0` is the schedule's, and the
 * optional params (6) and output (5, on the served `z_T`) checks. Steps whose inputs fail check 1 are not re-run.
 *
 * Throws `InvalidRevealError` for a reveal the contract would have refused, `InvalidBandsError` for bad bands and
 * `ReexecutionError` when `reexecute` fails: none of these is evidence against the provider.
 */
export async function verifyReveal(p: VerifyRevealParams): Promise<Verdict> {
  const byIndex = assertReveal(p);
  const bands = assertBands(p.bands);
  const { T, elements, challenged, schedule, tensors } = p;
  const k = challenged.length;
  const reasons: Reason[] = [];
  let failedMask = 0n;
  let escalateMask = 0n;
  const fail = (bit: number, code: ReasonCode, index: number, message: string, relErr?: number) => {
    reasons.push(
      relErr === undefined ? { code, index, bit, message } : { code, index, bit, message, relErr },
    );
    failedMask |= 1n << BigInt(bit);
  };
  const digestOf = (kind: "latent" | "noise", index: number): Hex =>
    kind === "noise"
      ? byIndex.get(index)!.noiseDigest
      : index === T
        ? p.finalLatentDigest
        : byIndex.get(index)!.latentDigest;

  // Check 1 for one opened tensor: present, of the job's size, hashing to its revealed digest. Returns the tensor,
  // or undefined after recording the failure against `bit`.
  const hashed = new Map<string, boolean>();
  const served = (kind: "latent" | "noise", index: number, bit: number): Float32Array | undefined => {
    const tensor = (kind === "latent" ? tensors.latents : tensors.noise).get(index);
    const name = kind === "latent" ? `z_${index}` : `ε_${index}`;
    if (tensor === undefined) {
      fail(bit, "missing-tensor", index, `${name} was not served`);
      return undefined;
    }
    if (tensor.length !== elements) {
      fail(bit, "tensor-size", index, `${name} has ${tensor.length} elements, the job ${elements}`);
      return undefined;
    }
    const key = `${kind}:${index}`;
    let ok = hashed.get(key);
    if (ok === undefined) {
      ok = digestMatches(tensor, digestOf(kind, index));
      hashed.set(key, ok);
    }
    if (!ok) {
      fail(bit, "digest-mismatch", index, `${name} does not hash to the revealed digest`);
      return undefined;
    }
    return tensor;
  };

  // Job-wide checks (bit k). Leaf 0 against the seed settles z_0 without fetching it: a served z_0 matters only when
  // step 0 is challenged, and is then checked against the same digest below.
  const z0 = expectedInitialLatent(p.seed, elements);
  const opening0 = byIndex.get(0)!;
  if (!digestMatches(z0, opening0.latentDigest)) {
    fail(k, "initial-latent", 0, "leaf 0 does not commit to the initial latent of the job's seed");
  }
  if (!timestepMatches(schedule, 0, opening0.timestep)) {
    fail(k, "timestep", 0, `t_0 is ${opening0.timestep}, the schedule's ${schedule.timesteps[0]}`);
  }
  if (p.params !== undefined && p.params.committed.toLowerCase() !== p.params.expected.toLowerCase()) {
    fail(k, "params", T + 1, "the committed params hash is not the job's");
  }
  if (p.output !== undefined) {
    const zT = served("latent", T, k);
    if (zT !== undefined) {
      const hash = await p.output.hashOf(zT);
      if (hash.toLowerCase() !== p.output.committed.toLowerCase()) {
        fail(k, "output", T, "decoding z_T does not give the committed output hash");
      }
    }
  }

  // Per challenged step (bit j).
  const steps: StepResult[] = [];
  for (const [j, c] of challenged.entries()) {
    const result: StepResult = {
      position: j,
      index: c,
      relErr: undefined,
      band: undefined,
      recomputedDigest: undefined,
    };
    steps.push(result);
    const t = schedule.timesteps[c]!;
    const tPrev = schedule.prevTimesteps[c]!;
    const opening = byIndex.get(c)!;
    if (opening.timestep !== t) fail(j, "timestep", c, `t_${c} is ${opening.timestep}, the schedule's ${t}`);
    const nextOpening = byIndex.get(c + 1);
    if (nextOpening !== undefined && !timestepMatches(schedule, c + 1, nextOpening.timestep)) {
      fail(
        j,
        "timestep",
        c + 1,
        `t_${c + 1} is ${nextOpening.timestep}, the schedule's ${schedule.timesteps[c + 1]}`,
      );
    }
    const latent = served("latent", c, j);
    const noise = served("noise", c, j);
    const next = served("latent", c + 1, j);
    if (latent === undefined || noise === undefined) continue;
    if (next !== undefined && !transitionHolds(schedule, c, latent, noise, next)) {
      fail(j, "transition", c, `z_${c + 1} is not DDIM(z_${c}, ε_${c}, ${t}, ${tPrev})`);
    }
    let reference: Float32Array;
    try {
      reference = await p.reexecute({ index: c, timestep: t, prevTimestep: tPrev, latent });
    } catch (err) {
      throw new ReexecutionError(c, err instanceof Error ? err.message : String(err), { cause: err });
    }
    if (!(reference instanceof Float32Array) || reference.length !== elements) {
      throw new ReexecutionError(c, `returned ${reference?.length} elements, the job has ${elements}`);
    }
    const relErr = relativeL2Error(reference, noise);
    const band = classify(relErr, bands);
    result.relErr = relErr;
    result.band = band;
    // ε' with the committed bits hashes to the revealed digest, already checked: no need to hash it again.
    result.recomputedDigest =
      relErr === 0 && sameBits(reference, noise)
        ? (digestOf("noise", c).toLowerCase() as Hex)
        : tensorSha256(reference);
    if (band === "fail") {
      fail(j, "noise", c, `‖ε' − ε_${c}‖/‖ε_${c}‖ = ${relErr.toExponential(3)} ≥ ${bands.fail}`, relErr);
    } else if (band === "escalate") {
      reasons.push({
        code: "noise-escalate",
        index: c,
        bit: j,
        message: `‖ε' − ε_${c}‖/‖ε_${c}‖ = ${relErr.toExponential(3)} is between ${bands.pass} and ${bands.fail}`,
        relErr,
      });
      escalateMask |= 1n << BigInt(j);
    }
  }

  const outcome: Band = failedMask !== 0n ? "fail" : escalateMask !== 0n ? "escalate" : "pass";
  const relErrs = steps.flatMap((s) => (s.relErr === undefined ? [] : [s.relErr]));
  return {
    pass: outcome === "pass",
    outcome,
    failedMask,
    escalateMask,
    reasons,
    maxRelErr: relErrs.length === 0 ? 0 : Math.max(...relErrs),
    steps,
    digest: verdictDigest(steps.map((s) => s.recomputedDigest ?? zeroHash)),
  };
}

// A job request under the container contract (`POST /service_output {source, destination, data, requires_proof}`):
//
//   data (source 1: a JSON object; source 0: hex of the UTF-8 bytes of that object)
//     prompt          string (≤ 2000 characters)
//     negativePrompt  string, optional (default "")
//     steps           T, integer in [1, DIFFUSION_MAX_STEPS]
//     guidanceMilli   guidance scale × 1000, integer in [0, 100000] (≤ 1000: no guidance)
//     width, height   pixels, multiples of the model's latent factor (and its fixed sizes, if any)
//     frames          1 for an image model, the clip length of a video model
//   and, for Proof-of-Inference jobs (required when requires_proof):
//     jobId           bytes32 hex, the job of docs/protocol.md §2
//     node            address, the committing node (every leaf binds it)
//     seed            bytes32 hex, jobSeed(jobId, R_req) (§6), computed by the node; optional otherwise
//     inputsHash      bytes32 hex, optional: the Coordinator's pinned inputs hash of the interval, bound by the
//                     params leaf. Default keccak256 of the input bytes as received (source 0: the data bytes;
//                     source 1: the UTF-8 of JSON.stringify(data)), which equals the pinned hash only when the node
//                     forwarded the consumer's bytes unchanged; a node that adds the PoI fields passes it.
//
// Without a seed (non-PoI jobs) the seed is keccak256("infernet.diffusion.seed" ‖ input bytes): the same request
// gives the same video. Unknown keys are refused, so a misspelt field cannot pass silently.
import { keccak256, stringToBytes, type Hex } from "viem";
import { BadRequestError } from "../../../onnx/src/errors.ts";
import type { ServiceRequest } from "../../../onnx/src/request.ts";
import type { JobParams } from "../pipeline.ts";

export interface PoiFields {
  jobId: Hex;
  node: Hex;
}

export interface ParsedJob {
  job: JobParams;
  /** Present when the request carries jobId and node. */
  poi: PoiFields | undefined;
  inputsHash: Hex;
  /** The input bytes as received (see above). */
  inputBytes: Uint8Array;
}

const JOB_KEYS = ["prompt", "negativePrompt", "steps", "guidanceMilli", "width", "height", "frames"] as const;
const POI_KEYS = ["jobId", "node", "seed", "inputsHash"] as const;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
export const MAX_PROMPT_CHARS = 2000;
export const MAX_GUIDANCE_MILLI = 100_000;

function bad(message: string): never {
  throw new BadRequestError(message);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `data` as JSON and the bytes it arrived as. */
export function decodeData(req: ServiceRequest): { value: unknown; bytes: Uint8Array } {
  if (req.source === 1) {
    return { value: req.data, bytes: stringToBytes(JSON.stringify(req.data ?? null)) };
  }
  if (typeof req.data !== "string") bad("on-chain data must be a hex string");
  const hex = req.data.replace(/^0x/i, "");
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) bad("on-chain data must be hex of whole bytes");
  const bytes = new Uint8Array(Buffer.from(hex, "hex"));
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    bad("on-chain data must be the UTF-8 bytes of a JSON object (the job parameters)");
  }
  try {
    return { value: JSON.parse(text), bytes };
  } catch {
    bad("on-chain data is not JSON: it must be the UTF-8 bytes of a JSON object (the job parameters)");
  }
}

function integer(o: Record<string, unknown>, key: string, min: number, max: number): number {
  const v = o[key];
  if (v === undefined) bad(`data.${key} is missing (an integer in [${min}, ${max}])`);
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
    bad(`data.${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

function hexField(o: Record<string, unknown>, key: string, re: RegExp, what: string): Hex | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !re.test(v)) bad(`data.${key} must be ${what}, got ${JSON.stringify(v)}`);
  return v.toLowerCase() as Hex;
}

/** Parses and checks the job; size checks against the model are the service's (they need the pipeline). */
export function parseJob(req: ServiceRequest, maxSteps: number): ParsedJob {
  const { value, bytes } = decodeData(req);
  if (!isObj(value)) {
    bad(
      "data must be a JSON object {prompt, negativePrompt?, steps, guidanceMilli, width, height, frames} " +
        "(+ jobId, node, seed for Proof-of-Inference jobs)",
    );
  }
  const unknown = Object.keys(value).filter(
    (k) => !(JOB_KEYS as readonly string[]).includes(k) && !(POI_KEYS as readonly string[]).includes(k),
  );
  if (unknown.length > 0) {
    bad(`data has unknown keys: ${unknown.join(", ")} (expected ${[...JOB_KEYS, ...POI_KEYS].join(", ")})`);
  }
  const prompt = value.prompt;
  if (typeof prompt !== "string") bad("data.prompt must be a string");
  if (prompt.length > MAX_PROMPT_CHARS) bad(`data.prompt is longer than ${MAX_PROMPT_CHARS} characters`);
  const negativePrompt = value.negativePrompt ?? "";
  if (typeof negativePrompt !== "string") bad("data.negativePrompt must be a string");
  if (negativePrompt.length > MAX_PROMPT_CHARS) {
    bad(`data.negativePrompt is longer than ${MAX_PROMPT_CHARS} characters`);
  }
  const steps = integer(value, "steps", 1, maxSteps);
  const guidanceMilli = integer(value, "guidanceMilli", 0, MAX_GUIDANCE_MILLI);
  const width = integer(value, "width", 1, 4096);
  const height = integer(value, "height", 1, 4096);
  const frames = integer(value, "frames", 1, 1024);

  const jobId = hexField(value, "jobId", BYTES32, "a bytes32 hex string (0x + 64 hex digits)");
  const node = hexField(value, "node", ADDRESS, "an address (0x + 40 hex digits)");
  const seedField = hexField(value, "seed", BYTES32, "a bytes32 hex string (0x + 64 hex digits)");
  const inputsField = hexField(value, "inputsHash", BYTES32, "a bytes32 hex string (0x + 64 hex digits)");
  if ((jobId === undefined) !== (node === undefined)) bad("data.jobId and data.node go together");
  if (req.requires_proof) {
    const missing = (["jobId", "node", "seed"] as const).filter((k) => value[k] === undefined);
    if (missing.length > 0) {
      bad(
        `requires_proof needs data.${missing.join(", data.")} (the node computes them: docs/protocol.md §2, §6)`,
      );
    }
  }
  const seed =
    seedField ?? keccak256(new Uint8Array([...stringToBytes("infernet.diffusion.seed"), ...bytes]));
  return {
    job: { prompt, negativePrompt, steps, guidanceMilli, seed, width, height, frames },
    poi: jobId !== undefined && node !== undefined ? { jobId, node } : undefined,
    inputsHash: inputsField ?? keccak256(bytes),
    inputBytes: bytes,
  };
}

// The container contract, compatible with Ritual's Infernet so that their containers run unchanged.
//
// A container serves HTTP (TCP port 3000, or the unix socket named by INFERNET_SOCKET on our containers):
//   POST /service_output  {source, destination, data, requires_proof}
//     source       0 = on-chain (data is the consumer's input bytes as a hex string without 0x)
//                  1 = off-chain (data is any JSON value, usually an object)
//     destination  0 = on-chain  → reply {raw_input, processed_input, raw_output, processed_output, proof},
//                                  hex strings without 0x (null = empty); the node delivers
//                                  input = abi.encode(bytes raw_input, bytes processed_input),
//                                  output = abi.encode(bytes raw_output, bytes processed_output), proof = bytes
//                  1 = off-chain → reply: any JSON object
//                  2 = stream    → the body is raw chunks; the runtime returns {output: <whole body as text>}
//   GET /health (optional: a server without it is ready as soon as it answers anything below 500)
//
// Pipelines "A,B,C": the first hop gets the job's source, the last hop the job's destination, every other hop
// is off-chain → off-chain, and each hop's JSON output is the next hop's data.
import { z } from "zod";
import { encodeAbiParameters, type Hex } from "viem";

export const Source = { ONCHAIN: 0, OFFCHAIN: 1 } as const;
export type Source = (typeof Source)[keyof typeof Source];
export const Destination = { ONCHAIN: 0, OFFCHAIN: 1, STREAM: 2 } as const;
export type Destination = (typeof Destination)[keyof typeof Destination];

/** The JSON body of `POST /service_output`. */
export interface ContainerRequest {
  source: Source;
  destination: Destination;
  /** Hex string without 0x when source is on-chain; any JSON value when off-chain. */
  data: unknown;
  requires_proof: boolean;
}

/** What a container answered: a JSON object (for the stream destination, `{output: text}`). */
export type ContainerOutput = Record<string, unknown>;

export const ContainerRequestSchema = z.object({
  source: z.union([z.literal(0), z.literal(1)]),
  destination: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  data: z.unknown(),
  requires_proof: z.boolean().default(false),
});

/** The five fields of an on-chain reply. */
export const ONCHAIN_REPLY_KEYS = [
  "raw_input",
  "processed_input",
  "raw_output",
  "processed_output",
  "proof",
] as const;
export type OnchainReplyKey = (typeof ONCHAIN_REPLY_KEYS)[number];

// Ritual's node reads these with Python's bytes.fromhex (no 0x, null = empty). A leading 0x is tolerated.
const hexField = z
  .union([z.string(), z.null()])
  .transform((v) => (v == null ? "" : v.trim().replace(/^0x/i, "")))
  .refine((v) => /^(?:[0-9a-fA-F]{2})*$/.test(v), {
    message: "must be a hex string of whole bytes (no 0x), or null",
  });

export const OnchainReplySchema = z.object({
  raw_input: hexField,
  processed_input: hexField,
  raw_output: hexField,
  processed_output: hexField,
  proof: hexField,
});
/** The five fields after validation: lower/upper-case hex without 0x, "" where the container sent null. */
export type OnchainReply = z.output<typeof OnchainReplySchema>;

export const OffchainReplySchema = z.record(z.string(), z.unknown());

/** A container answered something that does not follow the contract. */
export class MalformedReplyError extends Error {
  override readonly name = "MalformedReplyError";
  readonly code = "MALFORMED_REPLY";
  readonly retryable = false;
  readonly containerId: string | undefined;
  /** The start of what the container sent (for logs). */
  readonly body: string;
  constructor(containerId: string | undefined, reason: string, body: string) {
    super(`container ${containerId ?? "?"} returned a malformed reply: ${reason}`);
    this.containerId = containerId;
    this.body = body.length > 2000 ? `${body.slice(0, 2000)}…` : body;
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`).join("; ");
}

function preview(value: unknown): string {
  try {
    return typeof value === "string" ? value : JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * Validates the parsed JSON a container returned for `destination`. On-chain replies must carry all five fields
 * (each hex without 0x, or null); off-chain replies must be a JSON object. Returns the reply unchanged.
 * A reply carrying `code` other than 200 is an error report (Ritual's node fails such jobs): see
 * {@link replyErrorCode}.
 */
export function validateReply(
  containerId: string | undefined,
  destination: Destination,
  reply: unknown,
): ContainerOutput {
  const obj = OffchainReplySchema.safeParse(reply);
  if (!obj.success) {
    throw new MalformedReplyError(containerId, "expected a JSON object", preview(reply));
  }
  if (destination === Destination.ONCHAIN) {
    const parsed = OnchainReplySchema.safeParse(obj.data);
    if (!parsed.success) {
      throw new MalformedReplyError(
        containerId,
        `on-chain reply needs ${ONCHAIN_REPLY_KEYS.join(", ")}: ${describeIssues(parsed.error)}`,
        preview(reply),
      );
    }
  }
  return obj.data;
}

/** `code` of a reply that reports an error (anything but 200/"200"), else undefined. */
export function replyErrorCode(reply: ContainerOutput): string | undefined {
  if (!("code" in reply) || reply.code == null) return undefined;
  const code = String(reply.code);
  return code === "200" ? undefined : code;
}

/** What goes on-chain for one delivery. */
export interface OnchainDelivery {
  /** abi.encode(bytes raw_input, bytes processed_input) */
  input: Hex;
  /** abi.encode(bytes raw_output, bytes processed_output) */
  output: Hex;
  /** the proof bytes, as sent */
  proof: Hex;
}

const BYTES_PAIR = [{ type: "bytes" }, { type: "bytes" }] as const;

/** Builds the delivery from an on-chain reply; throws MalformedReplyError when the five fields are not there. */
export function encodeOnchainReply(reply: unknown, containerId?: string): OnchainDelivery {
  const parsed = OnchainReplySchema.safeParse(reply);
  if (!parsed.success) {
    throw new MalformedReplyError(
      containerId,
      `on-chain reply needs ${ONCHAIN_REPLY_KEYS.join(", ")}: ${describeIssues(parsed.error)}`,
      preview(reply),
    );
  }
  const r = parsed.data;
  const hex = (s: string): Hex => `0x${s.toLowerCase()}`;
  return {
    input: encodeAbiParameters(BYTES_PAIR, [hex(r.raw_input), hex(r.processed_input)]),
    output: encodeAbiParameters(BYTES_PAIR, [hex(r.raw_output), hex(r.processed_output)]),
    proof: hex(r.proof),
  };
}

/** Hex string without 0x, as the contract wants on-chain data (`source: 0`) to be. */
export function toContractHex(data: Hex | Uint8Array): string {
  if (typeof data === "string") return data.replace(/^0x/i, "").toLowerCase();
  return Buffer.from(data).toString("hex");
}

/** The request for an on-chain subscription: the consumer's input bytes, delivered back on-chain. */
export function onchainRequest(input: Hex | Uint8Array, requiresProof = false): ContainerRequest {
  return {
    source: Source.ONCHAIN,
    destination: Destination.ONCHAIN,
    data: toContractHex(input),
    requires_proof: requiresProof,
  };
}

/** The request for hop `index` of `count` in a pipeline (Ritual's chaining rule). */
export function hopRequest(
  job: ContainerRequest,
  index: number,
  count: number,
  previous: unknown,
): ContainerRequest {
  return {
    source: index === 0 ? job.source : Source.OFFCHAIN,
    destination: index === count - 1 ? job.destination : Destination.OFFCHAIN,
    data: index === 0 ? job.data : previous,
    requires_proof: job.requires_proof,
  };
}

/** Splits a pipeline id "A,B,C" into its container ids (whitespace around ids is ignored). */
export function parsePipeline(ids: string | readonly string[]): string[] {
  const list = typeof ids === "string" ? ids.split(",") : [...ids];
  const out = list.map((s) => s.trim());
  if (out.length === 0 || out.some((s) => s === "")) {
    throw new Error(
      `invalid pipeline "${typeof ids === "string" ? ids : ids.join(",")}": empty container id`,
    );
  }
  return out;
}

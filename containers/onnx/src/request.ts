// The container contract's request, and the model inputs it carries.
//
//   POST /service_output {source, destination, data, requires_proof}
//     source 1 (off-chain): data is {"inputs": {<name>: {dtype, dims, data}, …}}
//     source 0 (on-chain):  data is hex (no 0x needed) of the UTF-8 bytes of that same JSON
import { BadRequestError } from "./errors.ts";
import { decodeTensor, type Tensor } from "./tensor.ts";

export interface ServiceRequest {
  source: 0 | 1;
  destination: 0 | 1 | 2;
  data: unknown;
  requires_proof: boolean;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parses the HTTP body; BadRequestError for anything that is not a contract request. */
export function parseRequest(body: string): ServiceRequest {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new BadRequestError("the request body is not JSON");
  }
  if (!isObj(v)) throw new BadRequestError("the request body must be a JSON object");
  if (v.source !== 0 && v.source !== 1)
    throw new BadRequestError("source must be 0 (on-chain) or 1 (off-chain)");
  if (v.destination !== 0 && v.destination !== 1 && v.destination !== 2) {
    throw new BadRequestError("destination must be 0 (on-chain), 1 (off-chain) or 2 (stream)");
  }
  if (v.requires_proof !== undefined && typeof v.requires_proof !== "boolean") {
    throw new BadRequestError("requires_proof must be a boolean");
  }
  return {
    source: v.source,
    destination: v.destination,
    data: v.data,
    requires_proof: v.requires_proof === true,
  };
}

/** The request's `data` as JSON: decoded from hex + UTF-8 when it came from the chain. */
function payload(req: ServiceRequest): unknown {
  if (req.source === 1) return req.data;
  if (typeof req.data !== "string") throw new BadRequestError("on-chain data must be a hex string");
  const hex = req.data.replace(/^0x/i, "");
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex))
    throw new BadRequestError("on-chain data must be hex of whole bytes");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(hex, "hex"));
  } catch {
    throw new BadRequestError("on-chain data must be the UTF-8 bytes of a JSON object {inputs: …}");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestError(
      "on-chain data is not JSON: it must be the UTF-8 bytes of a JSON object {inputs: …}",
    );
  }
}

/** The named input tensors of a request, parsed (not yet checked against the model's spec). */
export function requestInputs(req: ServiceRequest): Map<string, Tensor> {
  const data = payload(req);
  if (!isObj(data) || !isObj(data.inputs)) {
    throw new BadRequestError('data must be a JSON object {"inputs": {<name>: {dtype, dims, data}}}');
  }
  const extra = Object.keys(data).filter((k) => k !== "inputs");
  if (extra.length > 0)
    throw new BadRequestError(`data has unknown keys: ${extra.join(", ")} (expected inputs)`);
  return new Map(
    Object.entries(data.inputs).map(([name, raw]) => [name, decodeTensor(`inputs.${name}`, raw)]),
  );
}

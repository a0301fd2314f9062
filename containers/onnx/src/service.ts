// One request through the model, and the reply the contract wants for its destination.
//
//   destination 1 (off-chain) and 2 (stream, the same JSON as text):
//     {"outputs": {<name>: {dtype, dims, data: base64}}, "output_digest": hex, "input_digest": hex,
//      "model_sha256": hex}
//   destination 0 (on-chain), hex without 0x:
//     raw_input = input_digest, raw_output = output_digest (32 bytes each), processed_input = processed_output =
//     proof = "" (this service makes no proof: anyone can re-run the model and compare the digest)
import { canonicalDigest, type NamedTensor } from "./digest.ts";
import type { OnnxModel } from "./model.ts";
import type { SerialQueue } from "./queue.ts";
import { requestInputs, type ServiceRequest } from "./request.ts";
import { checkInputs, encodeTensor, type Tensor, type WireTensor } from "./tensor.ts";

export interface OffchainReply {
  outputs: Record<string, WireTensor>;
  /** SHA-256 of the canonical encoding of the outputs (digest.ts), hex. */
  output_digest: string;
  /** SHA-256 of the canonical encoding of the inputs, in spec order, hex. */
  input_digest: string;
  /** SHA-256 of the .onnx file, hex. */
  model_sha256: string;
}

export interface OnchainReply {
  raw_input: string;
  processed_input: string;
  raw_output: string;
  processed_output: string;
  proof: string;
}

export type Reply = { kind: "json"; body: OffchainReply | OnchainReply } | { kind: "stream"; text: string };

export class OnnxService {
  readonly #model: OnnxModel;
  readonly #queue: SerialQueue;

  constructor(model: OnnxModel, queue: SerialQueue) {
    this.#model = model;
    this.#queue = queue;
  }

  /** Validates (BadRequestError), waits its turn (QueueFullError when full), runs, and builds the reply. */
  async serve(req: ServiceRequest): Promise<Reply> {
    const model = this.#model;
    // Validation happens before queueing: a bad request is answered at once, without waiting for the model.
    const inputs = checkInputs(requestInputs(req), model.inputs);
    const named: NamedTensor[] = model.inputs.map((s, i) => ({ name: s.name, tensor: inputs[i] as Tensor }));
    const inputDigest = canonicalDigest(named);
    const outputs = await this.#queue.run(() => model.run(inputs));
    const outputDigest = canonicalDigest(outputs);
    if (req.destination === 0) {
      return {
        kind: "json",
        body: {
          raw_input: inputDigest,
          processed_input: "",
          raw_output: outputDigest,
          processed_output: "",
          proof: "",
        },
      };
    }
    const body: OffchainReply = {
      outputs: Object.fromEntries(outputs.map((o) => [o.name, encodeTensor(o.tensor)])),
      output_digest: outputDigest,
      input_digest: inputDigest,
      model_sha256: model.sha256,
    };
    return req.destination === 1 ? { kind: "json", body } : { kind: "stream", text: JSON.stringify(body) };
  }
}

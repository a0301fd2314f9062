import * as ort from "onnxruntime-node";
import { ModelSignatureError } from "./errors.ts";
import { expectTensor, inputSpec, outputSpec } from "./signature.ts";
import { floatTensor, type FloatTensor } from "./tensor.ts";

const MODEL = "text_encoder";

/** A CLIP-style text encoder: `input_ids` [B, L] (int32 or int64) → `last_hidden_state` [B, L, D] float32. */
export interface TextEncoderModel {
  readonly session: ort.InferenceSession;
  readonly idsType: "int32" | "int64";
}

export function describeTextEncoder(session: ort.InferenceSession): TextEncoderModel {
  const ids = inputSpec(session, "input_ids", MODEL);
  expectTensor(MODEL, ids, ["int32", "int64"], [2]);
  expectTensor(MODEL, outputSpec(session, "last_hidden_state", MODEL), ["float32"], [3]);
  return { session, idsType: ids.type as "int32" | "int64" };
}

/** `last_hidden_state` of one prompt's ids (`[1, L, D]`, float32). */
export async function encodeIds(enc: TextEncoderModel, ids: Int32Array): Promise<FloatTensor> {
  const input =
    enc.idsType === "int32"
      ? new ort.Tensor("int32", Int32Array.from(ids), [1, ids.length])
      : new ort.Tensor(
          "int64",
          BigInt64Array.from(ids, (v) => BigInt(v)),
          [1, ids.length],
        );
  const out = await enc.session.run({ input_ids: input }, ["last_hidden_state"]);
  const hidden = out.last_hidden_state;
  if (hidden === undefined || hidden.type !== "float32") {
    throw new ModelSignatureError(MODEL, "last_hidden_state is not a float32 tensor");
  }
  return floatTensor(hidden.data as Float32Array, hidden.dims);
}

import type * as ort from "onnxruntime-node";
import { ModelSignatureError } from "./errors.ts";

/** A model input or output as onnxruntime reports it (a symbolic dimension is a string). */
export interface TensorSpec {
  name: string;
  type: string;
  /** `[]` for a scalar (or a tensor whose shape the model does not declare). */
  shape: readonly (number | string)[];
}

function find(
  list: readonly ort.InferenceSession.ValueMetadata[],
  name: string,
  what: string,
  model: string,
) {
  const m = list.find((v) => v.name === name);
  if (m === undefined) {
    throw new ModelSignatureError(
      model,
      `no ${what} named "${name}" (has ${list.map((v) => v.name).join(", ")})`,
    );
  }
  if (!m.isTensor) throw new ModelSignatureError(model, `${what} "${name}" is not a tensor`);
  return { name, type: m.type, shape: m.shape };
}

export function inputSpec(session: ort.InferenceSession, name: string, model: string): TensorSpec {
  return find(session.inputMetadata, name, "input", model);
}

export function outputSpec(session: ort.InferenceSession, name: string, model: string): TensorSpec {
  return find(session.outputMetadata, name, "output", model);
}

/** Throws unless `spec` has one of `types` and, when given, one of `ranks`. */
export function expectTensor(
  model: string,
  spec: TensorSpec,
  types: readonly string[],
  ranks?: readonly number[],
): void {
  if (!types.includes(spec.type)) {
    throw new ModelSignatureError(model, `"${spec.name}" is ${spec.type}, expected ${types.join(" or ")}`);
  }
  if (ranks !== undefined && !ranks.includes(spec.shape.length)) {
    throw new ModelSignatureError(
      model,
      `"${spec.name}" has rank ${spec.shape.length}, expected ${ranks.join(" or ")}`,
    );
  }
}

/** The declared size of dimension `i`, or undefined when it is symbolic. */
export function staticDim(spec: TensorSpec, i: number): number | undefined {
  const d = spec.shape[i];
  return typeof d === "number" && d > 0 ? d : undefined;
}

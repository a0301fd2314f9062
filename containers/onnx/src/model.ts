// The model: one onnxruntime session, the input spec it accepts (the config's, checked against the model's own
// metadata) and the outputs it returns.
import { createReadStream } from "node:fs";
import { createHash } from "node:crypto";
import ort from "onnxruntime-node";
import { sessionOptions, type Dim, type ServiceConfig, type TensorSpec } from "./config.ts";
import { isDType, type TensorData } from "./dtypes.ts";
import { InferenceError, ModelLoadError } from "./errors.ts";
import type { NamedTensor } from "./digest.ts";
import type { Tensor } from "./tensor.ts";

/** What the model says about one of its inputs or outputs. */
interface ModelValue {
  name: string;
  dtype: string;
  /** Sizes and symbolic names; [] when the model does not say. */
  shape: Array<number | string>;
}

function describe(values: readonly ModelValue[]): string {
  return values.map((v) => `${v.name}: ${v.dtype} [${v.shape.join(", ")}]`).join("; ");
}

function modelValues(meta: readonly ort.InferenceSession.ValueMetadata[]): ModelValue[] {
  return meta.map((m) =>
    m.isTensor
      ? { name: m.name, dtype: m.type, shape: [...m.shape] }
      : { name: m.name, dtype: "(not a tensor)", shape: [] },
  );
}

/** The spec the model's own metadata implies (symbolic dimensions become named dimensions). */
function specFromModel(v: ModelValue): TensorSpec {
  if (!isDType(v.dtype)) {
    throw new ModelLoadError(
      `model input ${v.name} is ${v.dtype}; this service handles numeric tensors only`,
    );
  }
  return { name: v.name, dtype: v.dtype, shape: v.shape.map((d): Dim => d) };
}

/** Checks a configured input against the model and fills in the sizes the model fixes. */
function mergeSpec(spec: TensorSpec, model: ModelValue | undefined, all: readonly ModelValue[]): TensorSpec {
  const where = `config inputs: ${spec.name}`;
  if (!model)
    throw new ModelLoadError(`${where} is not an input of the model (model inputs: ${describe(all)})`);
  if (model.dtype !== spec.dtype) {
    throw new ModelLoadError(`${where} is declared ${spec.dtype}, but the model takes ${model.dtype}`);
  }
  if (model.shape.length === 0) return spec; // the model does not declare a shape
  if (model.shape.length !== spec.shape.length) {
    throw new ModelLoadError(
      `${where} has rank ${spec.shape.length}, but the model takes [${model.shape.join(", ")}]`,
    );
  }
  return {
    ...spec,
    shape: spec.shape.map((d, i) => {
      const m = model.shape[i];
      if (typeof m !== "number") return d;
      if (typeof d === "number" && d !== m) {
        throw new ModelLoadError(`${where} fixes dimension ${i} to ${d}, but the model fixes it to ${m}`);
      }
      return m;
    }),
  };
}

async function sha256File(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

export class OnnxModel {
  /** The accepted inputs, in the order their digest covers them. */
  readonly inputs: readonly TensorSpec[];
  /** The returned outputs, in order. */
  readonly outputs: readonly string[];
  /** SHA-256 of the .onnx file, hex. */
  readonly sha256: string;
  /** onnxruntime-node's version. */
  readonly ortVersion: string;
  readonly #session: ort.InferenceSession;

  private constructor(
    session: ort.InferenceSession,
    inputs: TensorSpec[],
    outputs: string[],
    sha256: string,
  ) {
    this.#session = session;
    this.inputs = inputs;
    this.outputs = outputs;
    this.sha256 = sha256;
    this.ortVersion = ort.env.versions.node ?? ort.env.versions.common;
  }

  static async load(config: ServiceConfig): Promise<OnnxModel> {
    let sha256: string;
    try {
      sha256 = await sha256File(config.model);
    } catch (e) {
      throw new ModelLoadError(`cannot read model ${config.model}: ${(e as Error).message}`);
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(config.model, sessionOptions(config.session));
    } catch (e) {
      const hint =
        config.session.executionProvider === "cuda"
          ? " (the CUDA provider needs onnxruntime's CUDA libraries, CUDA 12 and cuDNN 9: see the README)"
          : "";
      throw new ModelLoadError(`cannot load model ${config.model}: ${(e as Error).message}${hint}`);
    }
    const modelInputs = modelValues(session.inputMetadata);
    const modelOutputs = modelValues(session.outputMetadata);
    const byName = new Map(modelInputs.map((v) => [v.name, v]));
    const inputs = config.inputs
      ? config.inputs.map((s) => mergeSpec(s, byName.get(s.name), modelInputs))
      : modelInputs.map(specFromModel);
    const missing = modelInputs.filter((v) => !inputs.some((s) => s.name === v.name));
    if (missing.length > 0) {
      throw new ModelLoadError(`config inputs leave out model inputs: ${describe(missing)}`);
    }
    const outputs = config.outputs ?? modelOutputs.map((v) => v.name);
    for (const name of outputs) {
      const v = modelOutputs.find((o) => o.name === name);
      if (!v)
        throw new ModelLoadError(
          `config outputs: ${name} is not an output (model outputs: ${describe(modelOutputs)})`,
        );
      if (!isDType(v.dtype)) {
        throw new ModelLoadError(
          `model output ${name} is ${v.dtype}; this service handles numeric tensors only`,
        );
      }
    }
    return new OnnxModel(session, inputs, outputs, sha256);
  }

  /** Runs the model on inputs in spec order (already checked); returns the configured outputs in order. */
  async run(inputs: readonly Tensor[]): Promise<NamedTensor[]> {
    const feeds: Record<string, ort.Tensor> = {};
    this.inputs.forEach((spec, i) => {
      const t = inputs[i] as Tensor;
      feeds[spec.name] = new ort.Tensor(t.dtype, t.data, t.dims);
    });
    let result: ort.InferenceSession.ReturnType;
    try {
      result = await this.#session.run(feeds, [...this.outputs]);
    } catch (e) {
      throw new InferenceError(`onnxruntime failed: ${(e as Error).message}`, { cause: e });
    }
    return this.outputs.map((name) => {
      const v = result[name];
      if (!v || !isDType(v.type)) {
        throw new InferenceError(`onnxruntime returned no numeric tensor for output ${name}`);
      }
      return { name, tensor: { dtype: v.type, dims: [...v.dims], data: v.data as TensorData } };
    });
  }

  async dispose(): Promise<void> {
    await this.#session.release();
  }
}

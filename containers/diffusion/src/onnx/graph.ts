import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** Element types used by the project's graphs (ONNX `TensorProto.DataType` codes). */
export type ElemType = "float32" | "int64" | "int32";
const ELEM_CODE: Readonly<Record<ElemType, number>> = { float32: 1, int32: 6, int64: 7 };

/** A graph input or output: a name, element type and shape (a string is a symbolic dimension; `[]` a scalar). */
export interface ValueSpec {
  name: string;
  type: ElemType;
  shape: readonly (number | string)[];
}

export type Attribute =
  | { name: string; kind: "int"; value: number }
  | { name: string; kind: "ints"; value: readonly number[] }
  | { name: string; kind: "float"; value: number }
  | { name: string; kind: "string"; value: string };

export interface NodeSpec {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: readonly Attribute[];
}

export const attr = {
  int: (name: string, value: number): Attribute => ({ name, kind: "int", value }),
  ints: (name: string, value: readonly number[]): Attribute => ({ name, kind: "ints", value }),
  float: (name: string, value: number): Attribute => ({ name, kind: "float", value }),
  string: (name: string, value: string): Attribute => ({ name, kind: "string", value }),
};

/** A constant tensor: raw little-endian bytes of its elements. */
export interface Initializer {
  name: string;
  type: ElemType;
  dims: readonly number[];
  data: Float32Array | Int32Array | BigInt64Array;
}

export function floatInit(name: string, dims: readonly number[], data: Float32Array): Initializer {
  return { name, type: "float32", dims, data };
}

export function int64Init(name: string, dims: readonly number[], values: readonly number[]): Initializer {
  return { name, type: "int64", dims, data: BigInt64Array.from(values, (v) => BigInt(v)) };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianBytes(data: Initializer["data"]): Uint8Array {
  if (LITTLE_ENDIAN)
    return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => view.setFloat32(4 * i, v, true));
  else if (data instanceof Int32Array) data.forEach((v, i) => view.setInt32(4 * i, v, true));
  else data.forEach((v, i) => view.setBigInt64(8 * i, v, true));
  return out;
}

function attributeProto(a: Attribute) {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case "int":
      return { name: a.name, type: T.INT, i: a.value };
    case "ints":
      return { name: a.name, type: T.INTS, ints: [...a.value] };
    case "float":
      return { name: a.name, type: T.FLOAT, f: a.value };
    case "string":
      return { name: a.name, type: T.STRING, s: new TextEncoder().encode(a.value) };
  }
}

function valueInfo(v: ValueSpec) {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ELEM_CODE[v.type],
        shape: { dim: v.shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface ModelSpec {
  name: string;
  doc: string;
  inputs: readonly ValueSpec[];
  outputs: readonly ValueSpec[];
  nodes: readonly NodeSpec[];
  initializers: readonly Initializer[];
  /** Default opset 13 (IR version 7). */
  opset?: number;
}

/** Serialises a model with onnx-proto. Field order is fixed by the schema, so equal specs give equal bytes. */
export function encodeModel(m: ModelSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: "", version: m.opset ?? 13 }],
    producerName: "infernet-diffusion",
    producerVersion: "1",
    docString: m.doc,
    graph: {
      name: m.name,
      node: m.nodes.map((n, i) => ({
        name: `${n.op.toLowerCase()}_${i}`,
        opType: n.op,
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: (n.attributes ?? []).map(attributeProto),
      })),
      initializer: m.initializers.map((t) => ({
        name: t.name,
        dataType: ELEM_CODE[t.type],
        dims: [...t.dims],
        rawData: littleEndianBytes(t.data),
      })),
      input: m.inputs.map(valueInfo),
      output: m.outputs.map(valueInfo),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

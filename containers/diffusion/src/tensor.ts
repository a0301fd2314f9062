import { LatentShapeError } from "./errors.ts";
import { sizeOf } from "./float32.ts";

/** A float32 tensor: elements in C order and the shape. */
export interface FloatTensor {
  data: Float32Array;
  dims: readonly number[];
}

export function floatTensor(data: Float32Array, dims: readonly number[]): FloatTensor {
  if (data.length !== sizeOf(dims)) {
    throw new LatentShapeError(
      `tensor has ${data.length} elements, shape ${JSON.stringify(dims)} needs ${sizeOf(dims)}`,
    );
  }
  return { data, dims: [...dims] };
}

/** Stacks tensors of one shape `[b, …]` along the batch dimension: `[n·b, …]`. */
export function concatBatch(parts: readonly FloatTensor[]): FloatTensor {
  const first = parts[0];
  if (first === undefined) throw new LatentShapeError("nothing to concatenate");
  const key = JSON.stringify(first.dims);
  const data = new Float32Array(first.data.length * parts.length);
  parts.forEach((p, i) => {
    if (JSON.stringify(p.dims) !== key) {
      throw new LatentShapeError(`cannot batch ${JSON.stringify(p.dims)} with ${key}`);
    }
    data.set(p.data, i * first.data.length);
  });
  return { data, dims: [first.dims[0]! * parts.length, ...first.dims.slice(1)] };
}

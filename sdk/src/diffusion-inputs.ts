// The on-chain inputs of a diffusion job: what a consumer contract pins with its request and what providers and
// validators decode. ABI-encoded so Solidity writes it with one abi.encode; the order below is the format.
import { decodeAbiParameters, encodeAbiParameters, type Hex } from "viem";

/** Generation parameters of one diffusion job (the seed is not here: it comes from the chain, protocol §6). */
export interface DiffusionRequest {
  prompt: string;
  /** Empty for none. */
  negativePrompt: string;
  /** Denoising steps T. */
  steps: number;
  /** Classifier-free guidance scale × 1000 (7500 = 7.5; ≤ 1000 disables guidance). */
  guidanceMilli: number;
  /** Output size in pixels. */
  width: number;
  height: number;
  /** Video frames (1 for an image). */
  frames: number;
}

/** `abi.encode(string prompt, string negativePrompt, uint16 steps, uint32 guidanceMilli, uint16 width, uint16 height,
 * uint16 frames)`. */
export const DIFFUSION_INPUTS_ABI = [
  { name: "prompt", type: "string" },
  { name: "negativePrompt", type: "string" },
  { name: "steps", type: "uint16" },
  { name: "guidanceMilli", type: "uint32" },
  { name: "width", type: "uint16" },
  { name: "height", type: "uint16" },
  { name: "frames", type: "uint16" },
] as const;

/** Longest prompt accepted, in bytes (the text encoders read 77 tokens; this bounds calldata and logs). */
export const MAX_PROMPT_BYTES = 1024;

export class InvalidDiffusionInputsError extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`invalid diffusion job inputs: ${reason}`, options);
    this.name = "InvalidDiffusionInputsError";
  }
}

function check(r: DiffusionRequest): DiffusionRequest {
  const bytes = (s: string) => new TextEncoder().encode(s).length;
  if (bytes(r.prompt) === 0) throw new InvalidDiffusionInputsError("prompt is empty");
  if (bytes(r.prompt) > MAX_PROMPT_BYTES || bytes(r.negativePrompt) > MAX_PROMPT_BYTES)
    throw new InvalidDiffusionInputsError(`prompts are limited to ${MAX_PROMPT_BYTES} bytes`);
  const positive = { steps: r.steps, width: r.width, height: r.height, frames: r.frames };
  for (const [name, v] of Object.entries(positive))
    if (!Number.isInteger(v) || v < 1 || v > 0xffff)
      throw new InvalidDiffusionInputsError(`${name} must be an integer in 1..65535, got ${v}`);
  if (!Number.isInteger(r.guidanceMilli) || r.guidanceMilli < 0 || r.guidanceMilli > 0xffff_ffff)
    throw new InvalidDiffusionInputsError(`guidanceMilli must be a uint32, got ${r.guidanceMilli}`);
  return r;
}

export function encodeDiffusionInputs(r: DiffusionRequest): Hex {
  const c = check(r);
  return encodeAbiParameters(DIFFUSION_INPUTS_ABI, [
    c.prompt,
    c.negativePrompt,
    c.steps,
    c.guidanceMilli,
    c.width,
    c.height,
    c.frames,
  ]);
}

export function decodeDiffusionInputs(data: Hex): DiffusionRequest {
  let v: readonly [string, string, number, number, number, number, number];
  try {
    v = decodeAbiParameters(DIFFUSION_INPUTS_ABI, data);
  } catch (err) {
    throw new InvalidDiffusionInputsError(
      "not abi.encode(string,string,uint16,uint32,uint16,uint16,uint16)",
      {
        cause: err,
      },
    );
  }
  const [prompt, negativePrompt, steps, guidanceMilli, width, height, frames] = v;
  return check({ prompt, negativePrompt, steps, guidanceMilli, width, height, frames });
}

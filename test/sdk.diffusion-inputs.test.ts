import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { encodeAbiParameters, parseAbiParameters } from "viem";
import {
  InvalidDiffusionInputsError,
  decodeDiffusionInputs,
  encodeDiffusionInputs,
  type DiffusionRequest,
} from "@infernet/sdk";

const job: DiffusionRequest = {
  prompt: "a red circle moving right",
  negativePrompt: "",
  steps: 20,
  guidanceMilli: 7500,
  width: 64,
  height: 64,
  frames: 8,
};

describe("diffusion job inputs (the bytes a consumer pins on-chain)", () => {
  it("is abi.encode(string,string,uint16,uint32,uint16,uint16,uint16), as Solidity writes it", () => {
    const solidityStyle = encodeAbiParameters(
      parseAbiParameters("string, string, uint16, uint32, uint16, uint16, uint16"),
      [job.prompt, job.negativePrompt, 20, 7500, 64, 64, 8],
    );
    assert.equal(encodeDiffusionInputs(job), solidityStyle);
    assert.deepEqual(decodeDiffusionInputs(solidityStyle), job);
  });

  it("round-trips unicode prompts", () => {
    const j = { ...job, prompt: "un cercle rouge — 赤い円", negativePrompt: "blurry" };
    assert.deepEqual(decodeDiffusionInputs(encodeDiffusionInputs(j)), j);
  });

  it("refuses bad parameters and undecodable bytes with a named error and the reason", () => {
    const bad: Array<[Partial<DiffusionRequest>, RegExp]> = [
      [{ prompt: "" }, /prompt is empty/],
      [{ prompt: "x".repeat(1025) }, /limited to 1024 bytes/],
      [{ steps: 0 }, /steps must be an integer in 1\.\.65535/],
      [{ frames: 1.5 }, /frames must be an integer/],
      [{ guidanceMilli: -1 }, /guidanceMilli must be a uint32/],
    ];
    for (const [patch, reason] of bad)
      assert.throws(
        () => encodeDiffusionInputs({ ...job, ...patch }),
        (e: Error) => e instanceof InvalidDiffusionInputsError && reason.test(e.message),
      );
    assert.throws(() => decodeDiffusionInputs("0x1234"), InvalidDiffusionInputsError);
    const zeroSteps = encodeAbiParameters(
      parseAbiParameters("string, string, uint16, uint32, uint16, uint16, uint16"),
      ["p", "", 0, 0, 64, 64, 1],
    );
    assert.throws(() => decodeDiffusionInputs(zeroSteps), /steps must be/);
  });
});

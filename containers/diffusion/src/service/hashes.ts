// The hashes the diffusion workload puts into a Proof-of-Inference commitment, in one place so that the service
// (provider) and validators compute them the same way (docs/protocol.md §4, containers/diffusion/README.md):
//
//   modelHash      modelDirectoryDigest(model dir) (src/layout.ts)
//   schedulerHash  keccak256(UTF-8 of JSON.stringify(schedulerConfigJson(parsed scheduler config)))
//   videoSha256    sha256 of the decoded video: the frames' RGB bytes back to back (rawVideo)
//   outputHash     keccak256(abi.encode(bytes videoSha256, bytes uri)): the `output` the node delivers from the
//                  on-chain reply (raw_output = videoSha256, processed_output = the URI), hashed as the Coordinator does
//   paramsHash     the sdk's paramsHash with those, the job's guidance, size, seed, the inputs hash and dtype float32
import { createHash } from "node:crypto";
import { paramsHash } from "@infernet/sdk";
import { encodeAbiParameters, keccak256, stringToHex, type Hex } from "viem";
import { rawVideo, type Frame } from "../output/frame.ts";
import type { JobParams } from "../pipeline.ts";
import { schedulerConfigJson, type SchedulerConfig } from "../scheduler.ts";

export function schedulerHashOf(scheduler: SchedulerConfig): Hex {
  return keccak256(stringToHex(JSON.stringify(schedulerConfigJson(scheduler))));
}

export function videoDigest(frames: readonly Frame[]): Hex {
  return `0x${createHash("sha256").update(rawVideo(frames)).digest("hex")}`;
}

export function outputHashOf(videoSha256: Hex, uri: string): Hex {
  return keccak256(
    encodeAbiParameters([{ type: "bytes" }, { type: "bytes" }], [videoSha256, stringToHex(uri)]),
  );
}

export interface JobParamsHashParams {
  modelHash: Hex;
  schedulerHash: Hex;
  job: JobParams;
  inputsHash: Hex;
}

export function jobParamsHash(p: JobParamsHashParams): Hex {
  return paramsHash({
    modelHash: p.modelHash,
    schedulerHash: p.schedulerHash,
    guidanceMilli: p.job.guidanceMilli,
    width: p.job.width,
    height: p.job.height,
    frames: p.job.frames,
    seed: p.job.seed,
    inputsHash: p.inputsHash,
    dtype: "float32",
  });
}

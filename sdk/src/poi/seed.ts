import { encodeAbiParameters, keccak256, type Hex } from "viem";
import { bytes32 } from "./check.ts";
import { SEED_TAG } from "./tags.ts";

/**
 * The initial-noise seed of a job (§6): `keccak(enc(SEED_TAG, jobId, R_req))`, `R_req` the value of the randomness
 * round reserved when the interval was requested.
 */
export function jobSeed(jobId: Hex, requestRandomness: Hex): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }],
      [SEED_TAG, bytes32("jobId", jobId), bytes32("requestRandomness", requestRandomness)],
    ),
  );
}

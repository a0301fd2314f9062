import { encodeAbiParameters, keccak256, type Address, type Hex } from "viem";
import { address, u256, u32, u64 } from "./check.ts";
import { JOB_TAG } from "./tags.ts";

export interface JobIdParams {
  /** EIP-155 chain id of the Coordinator's chain. */
  chainId: bigint | number;
  coordinator: Address;
  /** uint64 subscription id. */
  subscriptionId: bigint | number;
  /** uint32 interval (1-based). */
  interval: number;
}

/** `keccak(enc(JOB_TAG, chainId, coordinator, u64(subscriptionId), u32(interval)))` (§2). */
export function jobId(p: JobIdParams): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "uint256" }, { type: "address" }, { type: "uint64" }, { type: "uint32" }],
      [
        JOB_TAG,
        u256("chainId", p.chainId),
        address("coordinator", p.coordinator),
        u64("subscriptionId", p.subscriptionId),
        u32("interval", p.interval),
      ],
    ),
  );
}

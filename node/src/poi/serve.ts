/**
 * Serving a committed job's step tensors to its validators (docs/protocol.md §8): the request is authenticated by
 * the validator's signature (tensor-auth.ts), the signer must be the job's assigned validator or a committee member
 * on-chain, and the tensors come from the container that generated the job, which checks them against the
 * commitment before answering (so a validator never gets bytes the provider did not commit to).
 */
import type { Abi, Address, Hex, PublicClient } from "viem";
import type { ContainerRuntime } from "../runtime/types.ts";
import { stepTensors } from "./container.ts";
import type { PoiFollowUp } from "./followup.ts";
import { verifyTensorRequest } from "./tensor-auth.ts";

export class TensorNotFoundError extends Error {
  constructor(key: Hex) {
    super(`no committed job ${key} is followed by this node`);
    this.name = "TensorNotFoundError";
  }
}

export interface TensorSource {
  /** The step's tensors as the container serves them (JSON), for a validator of the job. */
  tensors(p: {
    key: Hex;
    step: number;
    headers: Record<string, string | string[] | undefined>;
  }): Promise<unknown>;
}

export function createTensorSource(o: {
  followUp: PoiFollowUp;
  runtimes: ReadonlyMap<string, ContainerRuntime>;
  publicClient: PublicClient;
  proofOfInference: Address;
  poiAbi: Abi;
  chainId: number;
}): TensorSource {
  return {
    async tensors({ key, step, headers }) {
      const job = o.followUp.byKey(key);
      if (!job) throw new TensorNotFoundError(key);
      await verifyTensorRequest({
        headers,
        chainId: o.chainId,
        key,
        step,
        allowed: async (signer) => {
          const state = await o.followUp.state(job.ref);
          if (state.validator.toLowerCase() === signer.toLowerCase()) return true;
          const committee = (await o.publicClient.readContract({
            address: o.proofOfInference,
            abi: o.poiAbi,
            functionName: "committeeOf",
            args: [
              { subscriptionId: job.ref.subscriptionId, interval: job.ref.interval, slot: job.ref.slot },
            ],
          })) as readonly Address[];
          return committee.some((m) => m.toLowerCase() === signer.toLowerCase());
        },
      });
      const runtime = o.runtimes.get(job.container);
      if (!runtime) throw new TensorNotFoundError(key);
      const res = await stepTensors(runtime, job.poiJobId, step);
      return JSON.parse(res.body.toString("utf8")) as unknown;
    },
  };
}

// The inputs of a subscription created with them inline (`SubscriptionCreated.params.inputs`): what an interval
// requested without per-interval inputs runs on. One reader for the provider and the validator.
import type { Abi, Address, Hex, PublicClient } from "viem";

export async function inlineInputs(p: {
  publicClient: PublicClient;
  coordinator: Address;
  coordinatorAbi: Abi;
  subscriptionId: bigint;
  /** Last block to look in (the request's block), default latest. */
  toBlock?: bigint;
}): Promise<Hex> {
  const logs = await p.publicClient.getContractEvents({
    address: p.coordinator,
    abi: p.coordinatorAbi,
    eventName: "SubscriptionCreated",
    args: { subscriptionId: p.subscriptionId },
    fromBlock: 0n,
    ...(p.toBlock === undefined ? {} : { toBlock: p.toBlock }),
  });
  const created = logs.at(-1) as { args?: { params?: { inputs?: Hex } } } | undefined;
  const inputs = created?.args?.params?.inputs;
  if (!inputs) throw new Error(`inputs of subscription ${p.subscriptionId} not found`);
  return inputs;
}

/**
 * Contract ABIs for the chain modules, read from the Hardhat build output (`npx hardhat build`). Typed ABIs from the
 * sdk replace this file later; everything here is `Abi` and decoded with viem's generic helpers.
 */
import type { Abi } from "viem";
import { POI_JOB_EVENTS } from "@infernet/sdk";
import { loadArtifact, type ContractName } from "../../../deploy/artifacts.ts";

export function contractAbi(name: ContractName): Abi {
  return loadArtifact(name).abi;
}

export function coordinatorAbi(): Abi {
  return contractAbi("Coordinator");
}

export function proofOfInferenceAbi(): Abi {
  return contractAbi("ProofOfInference");
}

/** The Coordinator events a node acts on. */
export const COORDINATOR_EVENTS = [
  "SubscriptionCreated",
  "SubscriptionCancelled",
  "IntervalRequested",
  "RandomnessRefreshed",
  "NodeAssigned",
  "Delivered",
] as const;

/** The Proof-of-Inference events a prover or validator acts on (the sdk's list). */
export const PROOF_OF_INFERENCE_EVENTS = POI_JOB_EVENTS;

/**
 * ABIs used to decode custom errors, by contract name. A call into the Coordinator can revert with an error of the
 * NodeRegistry (bubbled up), so the sender tries the target contract's ABI first and then these.
 */
export function protocolErrorAbis(): Record<string, Abi> {
  const names: ContractName[] = [
    "Coordinator",
    "NodeRegistry",
    "ContainerRegistry",
    "ProofOfInference",
    "TrustModel",
    "BlockhashRandomness",
  ];
  return Object.fromEntries(names.map((n) => [n, contractAbi(n)]));
}

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Abi, Hex } from "viem";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Where each deployable contract's Hardhat artifact lives, relative to artifacts/contracts. */
export const CONTRACT_SOURCES = {
  BlockhashRandomness: "randomness/BlockhashRandomness.sol",
  OracleRandomness: "randomness/OracleRandomness.sol",
  ContainerRegistry: "registry/ContainerRegistry.sol",
  NodeRegistry: "registry/NodeRegistry.sol",
  Coordinator: "core/Coordinator.sol",
  ProofOfInference: "poi/ProofOfInference.sol",
  TrustModel: "poi/TrustModel.sol",
  ExampleConsumer: "examples/ExampleConsumer.sol",
  TestToken: "test/TestToken.sol",
  HostileConsumer: "test/HostileConsumer.sol",
  TestVerifier: "test/TestVerifier.sol",
} as const;

export type ContractName = keyof typeof CONTRACT_SOURCES;

export interface Artifact {
  abi: Abi;
  bytecode: Hex;
}

export class MissingArtifactError extends Error {
  constructor(name: string, path: string) {
    super(`artifact for ${name} not found at ${path}: run \`npx hardhat build\` first`);
    this.name = "MissingArtifactError";
  }
}

const cache = new Map<ContractName, Artifact>();

/** Reads a contract's ABI and creation bytecode from the Hardhat build output. */
export function loadArtifact(name: ContractName): Artifact {
  const hit = cache.get(name);
  if (hit) return hit;
  const path = join(ROOT, "artifacts", "contracts", CONTRACT_SOURCES[name], `${name}.json`);
  let raw: string;
  try {
    raw = readFileSync(path, "utf8");
  } catch {
    throw new MissingArtifactError(name, path);
  }
  const parsed = JSON.parse(raw) as { abi: Abi; bytecode: Hex };
  const artifact = { abi: parsed.abi, bytecode: parsed.bytecode };
  cache.set(name, artifact);
  return artifact;
}

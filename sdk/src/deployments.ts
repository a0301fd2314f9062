import { readFile } from "node:fs/promises";
import { getAddress, isAddress, type Address } from "viem";

/** The addresses a deployment wrote to deployments/<network>.json. */
export interface DeploymentFile {
  network: string;
  chainId: number;
  deployer: Address;
  blockNumber: string;
  params: Record<string, string | number>;
  contracts: {
    randomness: Address;
    containerRegistry: Address;
    nodeRegistry: Address;
    coordinator: Address;
    proofOfInference: Address;
    trustModel: Address;
  };
}

export class InvalidDeploymentFileError extends Error {
  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = "InvalidDeploymentFileError";
  }
}

const CONTRACT_KEYS = [
  "randomness",
  "containerRegistry",
  "nodeRegistry",
  "coordinator",
  "proofOfInference",
  "trustModel",
] as const;

/** Validates parsed JSON as a deployment file; `source` names it in errors. */
export function parseDeployment(json: unknown, source = "deployment"): DeploymentFile {
  if (typeof json !== "object" || json === null)
    throw new InvalidDeploymentFileError(source, "not a JSON object");
  const o = json as Record<string, unknown>;
  if (typeof o.chainId !== "number") throw new InvalidDeploymentFileError(source, "chainId must be a number");
  const contracts = o.contracts as Record<string, unknown> | undefined;
  if (typeof contracts !== "object" || contracts === null) {
    throw new InvalidDeploymentFileError(source, "contracts must be an object");
  }
  const checked = {} as DeploymentFile["contracts"];
  for (const key of CONTRACT_KEYS) {
    const value = contracts[key];
    if (typeof value !== "string" || !isAddress(value, { strict: false })) {
      throw new InvalidDeploymentFileError(source, `contracts.${key} must be an address`);
    }
    checked[key] = getAddress(value);
  }
  return {
    network: String(o.network ?? "unknown"),
    chainId: o.chainId,
    deployer: getAddress(String(o.deployer)),
    blockNumber: String(o.blockNumber ?? "0"),
    params: (o.params ?? {}) as Record<string, string | number>,
    contracts: checked,
  };
}

/** Reads and validates deployments/<network>.json (or any path). */
export async function readDeployment(path: string): Promise<DeploymentFile> {
  let raw: string;
  try {
    raw = await readFile(path, "utf8");
  } catch (err) {
    throw new InvalidDeploymentFileError(path, `not readable (${(err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new InvalidDeploymentFileError(path, "not valid JSON");
  }
  return parseDeployment(json, path);
}

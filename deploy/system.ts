import {
  getAddress,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { loadArtifact, type ContractName } from "./artifacts.ts";
import {
  DEFAULT_PARAMS,
  poiContractParams,
  poiMaxWindow,
  type PoiParams,
  type SystemParams,
} from "./params.ts";
import type { DeploymentFile } from "@infernet/sdk";

/** What deploySystem returns; deployments/<network>.json adds the network name (the sdk's DeploymentFile). */
export type Deployment = Omit<DeploymentFile, "network">;

/** Any subset of the parameters; `poi` may itself be partial. */
export type ParamOverrides = Partial<Omit<SystemParams, "poi">> & { poi?: Partial<PoiParams> };

export interface DeployOptions {
  wallet: WalletClient<Transport, Chain, Account>;
  publicClient: PublicClient;
  params?: ParamOverrides;
  /** Log each step (name and address). */
  log?: (line: string) => void;
}

export class DeploymentError extends Error {
  constructor(step: string, detail: string) {
    super(`deployment failed at ${step}: ${detail}`);
    this.name = "DeploymentError";
  }
}

/** Deploys a contract from its Hardhat artifact and waits for the receipt. */
export async function deployContract(
  wallet: WalletClient<Transport, Chain, Account>,
  publicClient: PublicClient,
  name: ContractName,
  args: readonly unknown[] = [],
): Promise<Address> {
  const { abi, bytecode } = loadArtifact(name);
  const hash = await wallet.deployContract({
    abi,
    bytecode,
    args,
    account: wallet.account,
    chain: wallet.chain,
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success" || !receipt.contractAddress)
    throw new DeploymentError(name, `tx ${hash} reverted`);
  return getAddress(receipt.contractAddress);
}

async function send(
  wallet: WalletClient<Transport, Chain, Account>,
  publicClient: PublicClient,
  name: ContractName,
  address: Address,
  functionName: string,
  args: readonly unknown[],
): Promise<Hex> {
  const { abi } = loadArtifact(name);
  const hash = await wallet.writeContract({
    address,
    abi,
    functionName,
    args,
    account: wallet.account,
    chain: wallet.chain,
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success")
    throw new DeploymentError(`${name}.${functionName}`, `tx ${hash} reverted`);
  return hash;
}

/**
 * Deploys the whole on-chain system and wires its permissions: the Coordinator bonds job stake in the NodeRegistry
 * and may slash it for missed deadlines (its longest window is the delivery window).
 */
export async function deploySystem(options: DeployOptions): Promise<Deployment> {
  const { wallet, publicClient } = options;
  const log = options.log ?? (() => {});
  const p: SystemParams = {
    ...DEFAULT_PARAMS,
    ...options.params,
    poi: { ...DEFAULT_PARAMS.poi, ...options.params?.poi },
  };
  const owner = wallet.account.address;
  const treasury = p.treasury ?? owner;
  if (p.unbondingDelay <= p.deliveryWindow) {
    throw new DeploymentError(
      "params",
      `unbondingDelay (${p.unbondingDelay}) must exceed deliveryWindow (${p.deliveryWindow})`,
    );
  }

  const randomness = await deployContract(wallet, publicClient, "BlockhashRandomness");
  log(`BlockhashRandomness ${randomness}`);
  const containerRegistry = await deployContract(wallet, publicClient, "ContainerRegistry");
  log(`ContainerRegistry   ${containerRegistry}`);
  const nodeRegistry = await deployContract(wallet, publicClient, "NodeRegistry", [
    owner,
    p.stakeToken,
    containerRegistry,
    { minStake: p.minStake, unbondingDelay: p.unbondingDelay },
  ]);
  log(`NodeRegistry        ${nodeRegistry}`);
  const coordinator = await deployContract(wallet, publicClient, "Coordinator", [
    owner,
    randomness,
    nodeRegistry,
    containerRegistry,
    {
      deliveryWindow: p.deliveryWindow,
      maxCallbackGasLimit: p.maxCallbackGasLimit,
      feeBps: p.feeBps,
      maxReassignments: p.maxReassignments,
      treasury,
      jobBond: p.jobBond,
      livenessPenalty: p.livenessPenalty,
    },
  ]);
  log(`Coordinator         ${coordinator}`);
  await send(wallet, publicClient, "NodeRegistry", nodeRegistry, "setBonder", [coordinator, true]);
  await send(wallet, publicClient, "NodeRegistry", nodeRegistry, "setSlasher", [
    coordinator,
    true,
    BigInt(p.deliveryWindow),
  ]);

  // Proof-of-Inference: its constructor runs the parameter guard against the Coordinator's job bond.
  const q = p.poi;
  const proofOfInference = await deployContract(wallet, publicClient, "ProofOfInference", [
    owner,
    coordinator,
    nodeRegistry,
    randomness,
    poiContractParams(q, treasury),
  ]);
  log(`ProofOfInference    ${proofOfInference}`);
  const trustModel = await deployContract(wallet, publicClient, "TrustModel", [
    proofOfInference,
    { decay: q.trustDecay, fraudPenalty: q.trustFraudPenalty, timeoutPenalty: q.trustTimeoutPenalty },
  ]);
  log(`TrustModel          ${trustModel}`);
  await send(wallet, publicClient, "ProofOfInference", proofOfInference, "setTrustModel", [trustModel]);
  await send(wallet, publicClient, "NodeRegistry", nodeRegistry, "setTrustModel", [trustModel]);
  await send(wallet, publicClient, "NodeRegistry", nodeRegistry, "setBonder", [proofOfInference, true]);
  await send(wallet, publicClient, "NodeRegistry", nodeRegistry, "setSlasher", [
    proofOfInference,
    true,
    BigInt(poiMaxWindow(q)),
  ]);
  await send(wallet, publicClient, "Coordinator", coordinator, "setVerifier", [proofOfInference, true]);

  const blockNumber = await publicClient.getBlockNumber();
  return {
    chainId: await publicClient.getChainId(),
    deployer: owner,
    blockNumber: blockNumber.toString(),
    params: flatten({ ...p, treasury }),
    contracts: { randomness, containerRegistry, nodeRegistry, coordinator, proofOfInference, trustModel },
  };
}

/** Parameters as JSON-safe strings and numbers, nested groups flattened as "group.key". */
function flatten(o: object, prefix = ""): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === "bigint") out[prefix + k] = v.toString();
    else if (typeof v === "object" && v !== null) Object.assign(out, flatten(v, `${prefix}${k}.`));
    else out[prefix + k] = v as string | number;
  }
  return out;
}

import { network } from "hardhat";
import { keccak256, parseEther, toBytes, type Address, type Hex } from "viem";
import { deploySystem, type Deployment, type ParamOverrides } from "../../deploy/system.ts";
import { DEFAULT_PARAMS } from "../../deploy/params.ts";

export const CONTAINER = "hello-echo";
export const CONTAINER_ID: Hex = keccak256(toBytes(CONTAINER));

/**
 * A fresh in-process chain with the whole system deployed through the same module as `npm run devnet`, one
 * container registered, and typed contract handles. Accounts: [0] deployer/owner/treasury, [1] consumer EOA,
 * [2..] free for operators and nodes.
 */
export async function deployFixture(params: ParamOverrides = {}) {
  const connection = await network.create();
  const { viem, networkHelpers } = connection;
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const [deployer] = wallets;
  if (!deployer) throw new Error("no accounts");
  const deployment: Deployment = await deploySystem({ wallet: deployer, publicClient, params });
  const { contracts } = deployment;
  const coordinator = await viem.getContractAt("Coordinator", contracts.coordinator);
  const nodeRegistry = await viem.getContractAt("NodeRegistry", contracts.nodeRegistry);
  const containerRegistry = await viem.getContractAt("ContainerRegistry", contracts.containerRegistry);
  const randomness = await viem.getContractAt("BlockhashRandomness", contracts.randomness);
  const poi = await viem.getContractAt("ProofOfInference", contracts.proofOfInference);
  const trustModel = await viem.getContractAt("TrustModel", contracts.trustModel);
  await containerRegistry.write.registerContainer([CONTAINER, `0x${"00".repeat(32)}`]);
  return {
    connection,
    viem,
    networkHelpers,
    publicClient,
    wallets,
    deployment,
    params: { ...DEFAULT_PARAMS, ...params, poi: { ...DEFAULT_PARAMS.poi, ...params.poi } },
    coordinator,
    nodeRegistry,
    containerRegistry,
    randomness,
    poi,
    trustModel,
  };
}

export type Fixture = Awaited<ReturnType<typeof deployFixture>>;

/** Registers `node` under `operator` with `stake` wei of ETH, serving CONTAINER_ID by default. */
export async function registerNode(
  f: Fixture,
  operatorIndex: number,
  node: Address,
  stake: bigint = parseEther("2"),
  containers: Hex[] = [CONTAINER_ID],
) {
  const operator = f.wallets[operatorIndex];
  if (!operator) throw new Error(`no wallet ${operatorIndex}`);
  const registry = await f.viem.getContractAt("NodeRegistry", f.deployment.contracts.nodeRegistry, {
    client: { wallet: operator },
  });
  return registry.write.register(
    [
      {
        node,
        endpoint: "http://127.0.0.1:4000",
        containers,
        hardware: { gpuModel: "cpu", vramMiB: 0, gpuCount: 0 },
        stake,
      },
    ],
    { value: stake },
  );
}

/** Default subscription parameters: one-shot, redundancy 1, unpaid, inline 32-byte input. */
export function subscriptionParams(overrides: Partial<SubscriptionParams> = {}): SubscriptionParams {
  return {
    containerId: CONTAINER_ID,
    activeAt: 0,
    period: 0,
    frequency: 1,
    redundancy: 1,
    callbackGasLimit: 200_000,
    lazy: false,
    paymentToken: "0x0000000000000000000000000000000000000000",
    paymentAmount: 0n,
    verifier: "0x0000000000000000000000000000000000000000",
    inputs: `0x${"ab".repeat(32)}`,
    ...overrides,
  };
}

export interface SubscriptionParams {
  containerId: Hex;
  activeAt: number;
  period: number;
  frequency: number;
  redundancy: number;
  callbackGasLimit: number;
  lazy: boolean;
  paymentToken: Address;
  paymentAmount: bigint;
  verifier: Address;
  inputs: Hex;
}

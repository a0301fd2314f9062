/**
 * The VideoNFT example consumer (contracts/examples/VideoNFT.sol) for the demo: its artifact, its terms and its
 * deployment. The artifact is read here rather than through deploy/artifacts.ts's table of system contracts.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  getAddress,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { MissingArtifactError } from "../artifacts.ts";
import { DeploymentError } from "../system.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const VIDEO_NFT_ARTIFACT = join(
  ROOT,
  "artifacts",
  "contracts",
  "examples",
  "VideoNFT.sol",
  "VideoNFT.json",
);

/** `VideoNFT.Terms`. */
export interface VideoTerms {
  price: bigint;
  steps: number;
  guidanceMilli: number;
  width: number;
  height: number;
  frames: number;
  callbackGasLimit: number;
}

let cached: { abi: Abi; bytecode: Hex } | undefined;

export function videoNftArtifact(): { abi: Abi; bytecode: Hex } {
  if (cached) return cached;
  let raw: string;
  try {
    raw = readFileSync(VIDEO_NFT_ARTIFACT, "utf8");
  } catch {
    throw new MissingArtifactError("VideoNFT", VIDEO_NFT_ARTIFACT);
  }
  const parsed = JSON.parse(raw) as { abi: Abi; bytecode: Hex };
  cached = { abi: parsed.abi, bytecode: parsed.bytecode };
  return cached;
}

export interface DeployVideoNftParams {
  wallet: WalletClient<Transport, Chain, Account>;
  publicClient: PublicClient;
  coordinator: Address;
  proofOfInference: Address;
  containerId: Hex;
  terms: VideoTerms;
  negativePrompt?: string;
}

export async function deployVideoNft(p: DeployVideoNftParams): Promise<Address> {
  const { abi, bytecode } = videoNftArtifact();
  const hash = await p.wallet.deployContract({
    abi,
    bytecode,
    args: [p.coordinator, p.proofOfInference, p.containerId, p.terms, p.negativePrompt ?? ""],
    account: p.wallet.account,
    chain: p.wallet.chain,
  });
  const receipt = await p.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success" || !receipt.contractAddress)
    throw new DeploymentError("VideoNFT", `tx ${hash} reverted`);
  return getAddress(receipt.contractAddress);
}

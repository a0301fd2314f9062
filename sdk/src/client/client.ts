/**
 * The sdk client: a plain object holding viem clients and the protocol's addresses, passed as the first argument to
 * every client function (`requestCompute(client, {...})`). Nothing here keeps state beyond that object.
 */
import { join } from "node:path";
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  defineChain,
  http,
  parseEventLogs,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { readDeployment, type DeploymentFile } from "../deployments.ts";
import {
  containerRegistryAbi,
  coordinatorAbi,
  nodeRegistryAbi,
  proofOfInferenceAbi,
  trustModelAbi,
} from "../abis/index.ts";
import { ChainMismatchError, ContractCallError, MissingAccountError } from "./errors.ts";

/** The protocol's contract addresses (`deployments/<network>.json` → `contracts`). */
export type ProtocolContracts = DeploymentFile["contracts"];

/** What the client needs of a deployment: its chain, its addresses and (optionally) the block it starts at. */
export interface DeploymentAddresses {
  chainId: number;
  contracts: ProtocolContracts;
  /** Block of the deployment (decimal string, as in the deployment file): log searches start here. */
  blockNumber?: string;
}

/**
 * Where the addresses come from: an object (a parsed deployment file, or what `deploySystem` returns), a network
 * name read from `<dir>/<network>.json` (dir defaults to `deployments` under the working directory), or a path.
 */
export type DeploymentSource = DeploymentAddresses | { network: string; dir?: string } | { path: string };

export interface InfernetClient {
  publicClient: PublicClient<Transport, Chain>;
  /** Present when the client was created with an account or a wallet client; needed for writes. */
  walletClient: WalletClient<Transport, Chain, Account> | undefined;
  chainId: number;
  contracts: ProtocolContracts;
  /** First block to search for the protocol's logs. */
  fromBlock: bigint;
  /** Interval between polls when waiting or watching, ms. */
  pollIntervalMs: number;
}

export interface CreateInfernetClientParams {
  deployment: DeploymentSource;
  /** JSON-RPC endpoint (HTTP); not needed when `publicClient` is given. */
  rpcUrl?: string;
  /** A viem public client to use instead of one made from `rpcUrl`. */
  publicClient?: PublicClient<Transport, Chain>;
  /** Signs and sends transactions: a viem account or a 0x-prefixed private key. */
  account?: Account | Hex;
  /** A viem wallet client to use instead of one made from `account`. */
  walletClient?: WalletClient<Transport, Chain, Account>;
  /** Poll interval for waits and watches, ms (default 500). */
  pollIntervalMs?: number;
}

/** Reads the addresses from a deployment source (see `DeploymentSource`). */
export async function loadDeployment(source: DeploymentSource): Promise<DeploymentAddresses> {
  if ("contracts" in source) return source;
  if ("path" in source) return readDeployment(source.path);
  return readDeployment(join(source.dir ?? "deployments", `${source.network}.json`));
}

/**
 * Creates a client. Checks that the RPC endpoint serves the deployment's chain (`ChainMismatchError` otherwise).
 * Without `account`/`walletClient` the client reads and watches only.
 */
export async function createInfernetClient(p: CreateInfernetClientParams): Promise<InfernetClient> {
  const deployment = await loadDeployment(p.deployment);
  let publicClient = p.publicClient;
  let chain: Chain;
  if (publicClient) {
    chain = publicClient.chain;
  } else {
    if (!p.rpcUrl) throw new TypeError("createInfernetClient needs rpcUrl or publicClient");
    chain = defineChain({
      id: deployment.chainId,
      name: `chain-${deployment.chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [p.rpcUrl] } },
    });
    publicClient = createPublicClient({ chain, transport: http(p.rpcUrl) });
  }
  const actual = await publicClient.getChainId();
  if (actual !== deployment.chainId) throw new ChainMismatchError(deployment.chainId, actual);
  let walletClient = p.walletClient;
  if (!walletClient && p.account !== undefined) {
    const account = typeof p.account === "string" ? privateKeyToAccount(p.account) : p.account;
    const url = p.rpcUrl ?? chain.rpcUrls.default.http[0];
    walletClient = createWalletClient({ chain, account, transport: http(url) });
  }
  return {
    publicClient,
    walletClient,
    chainId: deployment.chainId,
    contracts: deployment.contracts,
    fromBlock: BigInt(deployment.blockNumber ?? "0"),
    pollIntervalMs: p.pollIntervalMs ?? 500,
  };
}

/** The client's account address (`MissingAccountError` for a read-only client). */
export function accountOf(client: InfernetClient, action = "this call"): Address {
  if (!client.walletClient) throw new MissingAccountError(action);
  return client.walletClient.account.address;
}

/** Every error of the protocol's contracts, to decode a revert from any of them (errors bubble up). */
const ALL_ERRORS: Abi = [
  ...coordinatorAbi,
  ...nodeRegistryAbi,
  ...containerRegistryAbi,
  ...proofOfInferenceAbi,
  ...trustModelAbi,
].filter((item) => item.type === "error");

function revertDetails(err: unknown): { reason: string; errorName?: string; errorArgs?: readonly unknown[] } {
  if (err instanceof BaseError) {
    const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError) {
      if (reverted.data) {
        return {
          reason: `${reverted.data.errorName}(${(reverted.data.args ?? []).map(String).join(", ")})`,
          errorName: reverted.data.errorName,
          errorArgs: reverted.data.args ?? [],
        };
      }
      if (reverted.raw) {
        try {
          const decoded = decodeErrorResult({ abi: ALL_ERRORS, data: reverted.raw });
          return {
            reason: `${decoded.errorName}(${(decoded.args ?? []).map(String).join(", ")})`,
            errorName: decoded.errorName,
            errorArgs: decoded.args ?? [],
          };
        } catch {
          // not one of ours
        }
      }
      if (reverted.reason) return { reason: reverted.reason };
    }
    return { reason: err.shortMessage };
  }
  return { reason: (err as Error)?.message ?? String(err) };
}

/** A typed contract write: simulated first (so a revert is reported with its decoded error), then sent. */
export interface WriteCall<
  abi extends Abi,
  functionName extends ContractFunctionName<abi, "nonpayable" | "payable">,
> {
  /** Contract name for error messages. */
  contract: string;
  address: Address;
  abi: abi;
  functionName: functionName;
  args: ContractFunctionArgs<abi, "nonpayable" | "payable", functionName>;
  value?: bigint;
}

/** Simulates, sends and waits for a contract write; returns the receipt (`ContractCallError` on a revert). */
export async function transact<
  const abi extends Abi,
  functionName extends ContractFunctionName<abi, "nonpayable" | "payable">,
>(client: InfernetClient, call: WriteCall<abi, functionName>): Promise<TransactionReceipt> {
  const wallet = client.walletClient;
  if (!wallet) throw new MissingAccountError(`${call.contract}.${call.functionName}`);
  const request = {
    address: call.address,
    abi: call.abi as Abi,
    functionName: call.functionName as string,
    args: call.args as readonly unknown[],
    account: wallet.account,
    ...(call.value !== undefined && call.value !== 0n ? { value: call.value } : {}),
  };
  let hash: Hex;
  try {
    const { request: simulated } = await client.publicClient.simulateContract(request);
    hash = await wallet.writeContract(simulated);
  } catch (err) {
    throw new ContractCallError({
      contract: call.contract,
      functionName: call.functionName,
      ...revertDetails(err),
      cause: err,
    });
  }
  const receipt = await client.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") {
    throw new ContractCallError({
      contract: call.contract,
      functionName: call.functionName,
      reason: "the transaction reverted",
      transactionHash: hash,
    });
  }
  return receipt;
}

/** The ABIs the client decodes receipts with. */
export const RECEIPT_ABI = [...coordinatorAbi, ...proofOfInferenceAbi, ...nodeRegistryAbi] as const;

/** Decodes the protocol's events in a receipt. */
export function receiptEvents(receipt: TransactionReceipt) {
  return parseEventLogs({ abi: RECEIPT_ABI, logs: receipt.logs });
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

export { sleep as pollSleep };

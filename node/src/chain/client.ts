/**
 * viem clients for the node. Transport-level retries are disabled: the watcher and the sender decide themselves
 * when to retry (with backoff and logging), so a failing RPC is never hidden behind silent retries, and every
 * request has a timeout so a hung endpoint turns into an error instead of a stalled node.
 */
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  webSocket,
  type Account,
  type Address,
  type Chain,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";

export interface ChainClientOptions {
  /** HTTP(S) JSON-RPC endpoint. */
  rpcUrl: string;
  /** Optional WebSocket endpoint, used only for newHeads notifications (the watcher still reads over HTTP). */
  wsUrl?: string | undefined;
  /** Chain id; asked from the endpoint when left out (which then must answer at start-up). */
  chainId?: number | undefined;
  /** The node's account (a local account signs locally; an address uses the endpoint's eth_sendTransaction). */
  account?: Account | Address | undefined;
  /** Per-request timeout, ms (default 10,000). */
  timeoutMs?: number | undefined;
  /** Name of the chain in viem's chain object (default "chain-<id>"). */
  name?: string | undefined;
}

export interface ChainClients {
  chain: Chain;
  publicClient: PublicClient<Transport, Chain>;
  /** Present when an account was given. */
  walletClient: WalletClient<Transport, Chain, Account> | undefined;
  /** Present when a wsUrl was given. */
  wsClient: PublicClient<Transport, Chain> | undefined;
}

export class ChainIdMismatchError extends Error {
  readonly expected: number;
  readonly actual: number;
  constructor(expected: number, actual: number, rpcUrl: string) {
    super(`RPC endpoint ${rpcUrl} serves chain id ${actual}, but the configuration says ${expected}`);
    this.name = "ChainIdMismatchError";
    this.expected = expected;
    this.actual = actual;
  }
}

export const DEFAULT_RPC_TIMEOUT_MS = 10_000;

/** A viem chain object for an arbitrary chain id (EIP-1559 fee defaults, no multicall). */
export function chainFor(chainId: number, rpcUrl: string, name?: string): Chain {
  return defineChain({
    id: chainId,
    name: name ?? `chain-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

/** An HTTP transport with a timeout and no retries. */
export function httpTransport(rpcUrl: string, timeoutMs: number = DEFAULT_RPC_TIMEOUT_MS): Transport {
  return http(rpcUrl, { timeout: timeoutMs, retryCount: 0 });
}

/** Asks the endpoint for its chain id (one request, no retry). */
export async function fetchChainId(
  rpcUrl: string,
  timeoutMs: number = DEFAULT_RPC_TIMEOUT_MS,
): Promise<number> {
  const probe = createPublicClient({ transport: httpTransport(rpcUrl, timeoutMs) });
  return probe.getChainId();
}

/**
 * Builds the public client (always), the wallet client (when an account is given) and a WebSocket client (when a
 * wsUrl is given). Block-number caching is off (`cacheTime: 0`): viem otherwise serves `getBlockNumber` from a
 * 4-second cache, which would make the watcher see a stale head.
 */
export async function createChainClients(options: ChainClientOptions): Promise<ChainClients> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
  const chainId = options.chainId ?? (await fetchChainId(options.rpcUrl, timeoutMs));
  const chain = chainFor(chainId, options.rpcUrl, options.name);
  const publicClient = createPublicClient({
    chain,
    transport: httpTransport(options.rpcUrl, timeoutMs),
    cacheTime: 0,
    pollingInterval: 1_000,
  });
  const walletClient = options.account
    ? createWalletClient({
        chain,
        transport: httpTransport(options.rpcUrl, timeoutMs),
        account: options.account,
        cacheTime: 0,
      })
    : undefined;
  const wsClient = options.wsUrl
    ? createPublicClient({
        chain,
        transport: webSocket(options.wsUrl, {
          timeout: timeoutMs,
          retryCount: 0,
          reconnect: { attempts: Number.MAX_SAFE_INTEGER, delay: 2_000 },
          keepAlive: { interval: 15_000 },
        }),
        cacheTime: 0,
      })
    : undefined;
  return {
    chain,
    publicClient: publicClient as PublicClient<Transport, Chain>,
    walletClient: walletClient as WalletClient<Transport, Chain, Account> | undefined,
    wsClient: wsClient as PublicClient<Transport, Chain> | undefined,
  };
}

/** Throws ChainIdMismatchError when the endpoint serves another chain than `clients.chain`. */
export async function verifyChainId(clients: ChainClients): Promise<void> {
  const actual = await clients.publicClient.getChainId();
  if (actual !== clients.chain.id)
    throw new ChainIdMismatchError(clients.chain.id, actual, clients.chain.rpcUrls.default.http[0] ?? "?");
}

/**
 * Closes the WebSocket client's socket (its keep-alive and reconnect timers would otherwise keep the process
 * alive). viem shares one socket per URL and options within a process, so this closes it for every client built
 * with the same wsUrl. HTTP clients hold no resources.
 */
export async function closeChainClients(clients: Pick<ChainClients, "wsClient">): Promise<void> {
  const transport = clients.wsClient?.transport as
    { getRpcClient?: () => Promise<{ close(): void }> } | undefined;
  if (!transport?.getRpcClient) return;
  try {
    (await transport.getRpcClient()).close();
  } catch {
    // Never connected: nothing to close.
  }
}

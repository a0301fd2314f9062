/**
 * Transaction sender: simulate → estimate gas → EIP-1559 fees (capped) → nonce (serialised per account) → sign and
 * broadcast → track the receipt, replacing a stuck transaction (same nonce, fees +12.5 % or more) after
 * `replaceAfterMs`, up to the fee cap, until `receiptTimeoutMs`.
 *
 * Reverts found by the simulation are decoded with the contract ABIs into one readable line, e.g.
 * `Coordinator.NotAssigned(subscriptionId=1, interval=1, node=0x…)`, and thrown as SimulationRevertedError: a call
 * that would revert is never sent (and never pays gas).
 */
import {
  decodeErrorResult,
  encodeFunctionData,
  getAddress,
  isHex,
  keccak256,
  parseGwei,
  TransactionReceiptNotFoundError,
  type Abi,
  type AbiParameter,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from "viem";
import { errorMessage, type Logger } from "./log.ts";
import type { SharedNonces } from "./nonce-redis.ts";

// ------------------------------------------------------------------------------------------------ revert decoding

export interface DecodedRevert {
  /** Contract whose ABI declares the error; null for Error(string), Panic(uint256) and unknown errors. */
  contract: string | null;
  /** Error name ("Error" / "Panic" for Solidity's built-ins; "unknown" when no ABI knows the selector). */
  errorName: string;
  /** Arguments by name (positional names `arg0`… where the ABI has none). */
  args: Record<string, unknown>;
  /** One readable line: `Coordinator.NotAssigned(subscriptionId=1, interval=1, node=0x…)`. */
  line: string;
  /** The raw revert data. */
  data: Hex;
}

const PANIC_REASONS: Record<number, string> = {
  0x01: "assert failed",
  0x11: "arithmetic overflow or underflow",
  0x12: "division or modulo by zero",
  0x21: "invalid enum value",
  0x22: "invalid storage byte array",
  0x31: "pop on empty array",
  0x32: "array index out of bounds",
  0x41: "out of memory",
  0x51: "call to an uninitialised function",
};

/** Formats a decoded ABI value compactly: bigints as decimals, tuples as {k: v}, arrays as [a, b]. */
export function formatAbiValue(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `[${value.map(formatAbiValue).join(", ")}]`;
  if (typeof value === "object")
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}: ${formatAbiValue(v)}`)
      .join(", ")}}`;
  return String(value);
}

/**
 * Decodes revert data with the first ABI that declares its selector (in the order given; Error(string) and
 * Panic(uint256) are always understood).
 */
export function decodeRevert(data: Hex, abis: ReadonlyArray<readonly [string, Abi]>): DecodedRevert {
  if (data === "0x" || data.length < 10)
    return { contract: null, errorName: "unknown", args: {}, line: "reverted without a reason", data };
  for (const [contract, abi] of abis) {
    let decoded;
    try {
      decoded = decodeErrorResult({ abi, data });
    } catch {
      continue;
    }
    const values = (decoded.args ?? []) as readonly unknown[];
    if (decoded.errorName === "Error") {
      const reason = String(values[0]);
      return {
        contract: null,
        errorName: "Error",
        args: { reason },
        line: `Error(${JSON.stringify(reason)})`,
        data,
      };
    }
    if (decoded.errorName === "Panic") {
      const code = Number(values[0]);
      const why = PANIC_REASONS[code] ?? "unknown panic";
      return {
        contract: null,
        errorName: "Panic",
        args: { code },
        line: `Panic(0x${code.toString(16).padStart(2, "0")}: ${why})`,
        data,
      };
    }
    const inputs = ((decoded.abiItem as { inputs?: readonly AbiParameter[] }).inputs ?? []) as AbiParameter[];
    const args: Record<string, unknown> = {};
    values.forEach((v, i) => (args[inputs[i]?.name || `arg${i}`] = v));
    const line = `${contract}.${decoded.errorName}(${Object.entries(args)
      .map(([k, v]) => `${k}=${formatAbiValue(v)}`)
      .join(", ")})`;
    return { contract, errorName: decoded.errorName, args, line, data };
  }
  return {
    contract: null,
    errorName: "unknown",
    args: {},
    line: `unknown error ${data.slice(0, 10)} (data ${data.length > 74 ? `${data.slice(0, 74)}…` : data})`,
    data,
  };
}

/** The revert data carried by a viem error chain (ContractFunctionRevertedError.raw, RPC error data), if any. */
export function revertDataOf(err: unknown): Hex | undefined {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e && typeof e === "object" && !seen.has(e)) {
    seen.add(e);
    const o = e as { raw?: unknown; data?: unknown; cause?: unknown };
    if (typeof o.raw === "string" && isHex(o.raw)) return o.raw;
    if (typeof o.data === "string" && isHex(o.data)) return o.data;
    if (o.data && typeof o.data === "object") {
      const inner = (o.data as { data?: unknown }).data;
      if (typeof inner === "string" && isHex(inner)) return inner;
    }
    e = o.cause;
  }
  return undefined;
}

/** Whether a viem error chain says the call reverted (as opposed to a transport or node failure). */
export function isRevert(err: unknown): boolean {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e && typeof e === "object" && !seen.has(e)) {
    seen.add(e);
    const o = e as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown };
    if (o.name === "ContractFunctionRevertedError" || o.name === "ExecutionRevertedError") return true;
    if (o.code === 3) return true; // JSON-RPC "execution reverted" with data
    e = o.cause;
  }
  return revertDataOf(err) !== undefined && /revert/i.test(errorMessage(err));
}

// ------------------------------------------------------------------------------------------------ errors

export class SimulationRevertedError extends Error {
  readonly decoded: DecodedRevert;
  readonly functionName: string;
  constructor(target: string, functionName: string, decoded: DecodedRevert, cause?: unknown) {
    super(`${target}.${functionName} would revert: ${decoded.line}`, { cause });
    this.name = "SimulationRevertedError";
    this.decoded = decoded;
    this.functionName = functionName;
  }
}

export class FeeCapExceededError extends Error {
  readonly baseFeePerGas: bigint;
  readonly maxFeePerGas: bigint;
  constructor(baseFeePerGas: bigint, maxFeePerGas: bigint) {
    super(
      `base fee ${formatGwei(baseFeePerGas)} gwei is above the configured fee cap ${formatGwei(maxFeePerGas)} gwei; ` +
        "not sending",
    );
    this.name = "FeeCapExceededError";
    this.baseFeePerGas = baseFeePerGas;
    this.maxFeePerGas = maxFeePerGas;
  }
}

export class TransactionTimeoutError extends Error {
  readonly hashes: Hex[];
  readonly nonce: number;
  constructor(hashes: Hex[], nonce: number, timeoutMs: number) {
    super(`no receipt within ${timeoutMs} ms for nonce ${nonce} (sent ${hashes.join(", ")})`);
    this.name = "TransactionTimeoutError";
    this.hashes = hashes;
    this.nonce = nonce;
  }
}

function formatGwei(wei: bigint): string {
  const whole = wei / 1_000_000_000n;
  const frac = (wei % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : whole.toString();
}

/** gwei (a config number, possibly fractional) → wei. */
export function gweiToWei(gwei: number): bigint {
  if (!Number.isFinite(gwei) || gwei < 0) throw new Error(`invalid gwei amount ${gwei}`);
  return parseGwei(gwei.toFixed(9));
}

// ------------------------------------------------------------------------------------------------ nonces

function isNonceError(err: unknown): boolean {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e && typeof e === "object" && !seen.has(e)) {
    seen.add(e);
    const o = e as { name?: unknown; cause?: unknown };
    if (o.name === "NonceTooLowError" || o.name === "NonceTooHighError") return true;
    e = o.cause;
  }
  return /nonce too (low|high)|invalid nonce|nonce.*(expected|mismatch)|replacement transaction underpriced/i.test(
    errorMessage(err),
  );
}

/**
 * Hands out nonces per account, one send at a time: the next nonce is tracked locally (initialised from the
 * chain's pending count) and re-read from the chain when a node rejects a nonce. Share one instance between
 * senders that use the same account; with `shared` (Redis), processes that sign with the same key also take turns
 * and keep the next nonce in one place.
 */
export class NonceManager {
  readonly #next = new Map<string, number>();
  readonly #tails = new Map<string, Promise<unknown>>();
  readonly #log: Logger | undefined;
  readonly #shared: SharedNonces | undefined;

  constructor(logger?: Logger, shared?: SharedNonces) {
    this.#log = logger;
    this.#shared = shared;
  }

  /**
   * Runs `broadcast(nonce)` under the account's lock. On success the nonce is consumed; on a nonce error the
   * count is re-read from the chain and the broadcast retried (up to 3 times); other errors leave it unused.
   */
  async run<T>(client: PublicClient, address: Address, broadcast: (nonce: number) => Promise<T>): Promise<T> {
    const key = getAddress(address);
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    await previous;
    try {
      const attempt = () => this.#attempt(client, key, broadcast);
      return this.#shared ? await this.#shared.withLock(key, attempt) : await attempt();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  async #attempt<T>(
    client: PublicClient,
    key: Address,
    broadcast: (nonce: number) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let nonce = this.#shared ? await this.#shared.get(key) : this.#next.get(key);
      nonce ??= await client.getTransactionCount({ address: key, blockTag: "pending" });
      try {
        const result = await broadcast(nonce);
        this.#next.set(key, nonce + 1);
        await this.#shared?.set(key, nonce + 1);
        return result;
      } catch (err) {
        if (!isNonceError(err) || attempt >= 3) throw err;
        this.#next.delete(key);
        await this.#shared?.reset(key);
        this.#log?.warn(
          { account: key, nonce, err: errorMessage(err) },
          "nonce rejected; resyncing from chain",
        );
      }
    }
  }

  /** Forgets the tracked nonce (the next send reads it from the chain). */
  reset(address: Address): void {
    this.#next.delete(getAddress(address));
    this.#shared?.reset(getAddress(address)).catch((err: unknown) => {
      this.#log?.warn({ account: address, err: errorMessage(err) }, "could not reset the shared nonce");
    });
  }

  /** The locally tracked next nonce, if any. */
  peek(address: Address): number | undefined {
    return this.#next.get(getAddress(address));
  }
}

// ------------------------------------------------------------------------------------------------ sender

export interface FeeSettings {
  /** Cap on maxFeePerGas, gwei. A base fee above it refuses the send (FeeCapExceededError). */
  maxFeePerGasGwei: number;
  /** maxPriorityFeePerGas, gwei. */
  priorityFeeGwei: number;
}

export interface BroadcastInfo {
  hash: Hex;
  nonce: number;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  /** 0 for the first broadcast, n for the n-th replacement. */
  replacement: number;
  functionName: string;
}

export interface TransactionSenderOptions {
  publicClient: PublicClient;
  walletClient: WalletClient<Transport, Chain, Account>;
  logger: Logger;
  fees: FeeSettings;
  /** ABIs to decode custom errors with, by contract name (e.g. protocolErrorAbis()). */
  errorAbis?: Record<string, Abi> | undefined;
  /** Shared nonce manager (default: one per sender). */
  nonceManager?: NonceManager | undefined;
  /** Give up waiting for a receipt after this long from the first broadcast, ms (default 180,000). */
  receiptTimeoutMs?: number | undefined;
  /** Replace a transaction still pending after this long, ms (default 30,000). */
  replaceAfterMs?: number | undefined;
  /** At most this many replacements per send (default 5). */
  maxReplacements?: number | undefined;
  /** Fee bump per replacement, percent (default 12.5; at least 12.5 so every node accepts it). */
  bumpPercent?: number | undefined;
  /** Receipt polling interval, ms (default 500). */
  pollIntervalMs?: number | undefined;
  /** Gas limit headroom over the estimate, percent (default 20). */
  gasHeadroomPercent?: number | undefined;
  /** Called after every broadcast (first and replacements). */
  onBroadcast?: ((info: BroadcastInfo) => void) | undefined;
  /** Called once per send that got past simulation: mined (success or reverted), or failed to send or to mine. */
  onSettled?:
    ((info: { functionName: string; outcome: "success" | "reverted" | "failed" }) => void) | undefined;
}

export interface SendRequest {
  address: Address;
  abi: Abi;
  functionName: string;
  args?: readonly unknown[] | undefined;
  value?: bigint | undefined;
  /** Gas limit; estimated (+ headroom) when left out. */
  gas?: bigint | undefined;
  /** Name used in log lines and to pick the first ABI for error decoding (default: found in errorAbis). */
  contractName?: string | undefined;
  /** Skip the eth_call simulation (default false). */
  skipSimulation?: boolean | undefined;
}

export interface SendResult {
  /** The hash that was mined (a replacement's hash when one was mined). */
  hash: Hex;
  receipt: TransactionReceipt;
  status: "success" | "reverted";
  nonce: number;
  /** Every hash broadcast for this nonce, first to last. */
  hashes: Hex[];
}

interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

interface Prepared {
  to: Address;
  data: Hex;
  value: bigint;
  gas: bigint;
  functionName: string;
  label: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class TransactionSender {
  readonly #public: PublicClient;
  readonly #wallet: WalletClient<Transport, Chain, Account>;
  readonly #log: Logger;
  readonly #cap: bigint;
  readonly #priority: bigint;
  readonly #errorAbis: Array<readonly [string, Abi]>;
  readonly #nonces: NonceManager;
  readonly #receiptTimeoutMs: number;
  readonly #replaceAfterMs: number;
  readonly #maxReplacements: number;
  readonly #bumpPermille: bigint;
  readonly #pollMs: number;
  readonly #headroom: bigint;
  readonly #onBroadcast: ((info: BroadcastInfo) => void) | undefined;
  readonly #onSettled: TransactionSenderOptions["onSettled"];

  constructor(options: TransactionSenderOptions) {
    this.#public = options.publicClient;
    this.#wallet = options.walletClient;
    this.#log = options.logger;
    this.#cap = gweiToWei(options.fees.maxFeePerGasGwei);
    this.#priority = gweiToWei(options.fees.priorityFeeGwei);
    this.#errorAbis = Object.entries(options.errorAbis ?? {});
    this.#nonces = options.nonceManager ?? new NonceManager(options.logger);
    this.#receiptTimeoutMs = options.receiptTimeoutMs ?? 180_000;
    this.#replaceAfterMs = options.replaceAfterMs ?? 30_000;
    this.#maxReplacements = options.maxReplacements ?? 5;
    this.#bumpPermille = BigInt(Math.ceil(Math.max(12.5, options.bumpPercent ?? 12.5) * 10));
    this.#pollMs = options.pollIntervalMs ?? 500;
    this.#headroom = BigInt(options.gasHeadroomPercent ?? 20);
    this.#onBroadcast = options.onBroadcast;
    this.#onSettled = options.onSettled;
  }

  get address(): Address {
    return this.#wallet.account.address;
  }

  get nonceManager(): NonceManager {
    return this.#nonces;
  }

  /** Runs the call with eth_call; throws SimulationRevertedError with the decoded reason if it would revert. */
  async simulate(request: SendRequest): Promise<void> {
    const label = this.#label(request);
    try {
      await this.#public.simulateContract({
        account: this.#wallet.account,
        address: request.address,
        abi: request.abi,
        functionName: request.functionName,
        args: request.args ?? [],
        value: request.value,
        // The transaction can only land in a future block: simulate against the pending one (on an automine dev
        // chain this is what makes randomness reserved in the latest block readable).
        blockTag: "pending",
      } as Parameters<PublicClient["simulateContract"]>[0]);
    } catch (err) {
      throw this.#asRevert(err, label, request) ?? err;
    }
  }

  /** Decodes revert data with the request's ABI first, then the configured error ABIs. */
  decode(data: Hex, request?: Pick<SendRequest, "abi" | "address" | "contractName">): DecodedRevert {
    const abis: Array<readonly [string, Abi]> = [];
    if (request) abis.push([this.#label(request), request.abi]);
    abis.push(...this.#errorAbis);
    return decodeRevert(data, abis);
  }

  /** Current EIP-1559 fees under the cap: maxFee = min(2 × base fee + priority, cap). */
  async fees(): Promise<Fees> {
    const block = await this.#public.getBlock({ blockTag: "latest" });
    const base = block.baseFeePerGas;
    if (base === null || base === undefined) {
      // Pre-London chain: a legacy-style price expressed as 1559 fees with no separate tip.
      const price = await this.#public.getGasPrice();
      if (price > this.#cap) throw new FeeCapExceededError(price, this.#cap);
      return { maxFeePerGas: price, maxPriorityFeePerGas: price };
    }
    if (base > this.#cap) throw new FeeCapExceededError(base, this.#cap);
    const wanted = 2n * base + this.#priority;
    const maxFeePerGas = wanted < this.#cap ? wanted : this.#cap;
    const maxPriorityFeePerGas = this.#priority < maxFeePerGas ? this.#priority : maxFeePerGas;
    return { maxFeePerGas, maxPriorityFeePerGas };
  }

  /** Simulates, sends and waits for the receipt (replacing the transaction while it is stuck). */
  async send(request: SendRequest): Promise<SendResult> {
    const label = this.#label(request);
    const account = this.#wallet.account;
    const data = encodeFunctionData({
      abi: request.abi,
      functionName: request.functionName,
      args: request.args ?? [],
    } as Parameters<typeof encodeFunctionData>[0]);
    const value = request.value ?? 0n;
    // Simulation, gas estimation and fee reads are independent: run them together (one round trip of latency).
    const simulation = request.skipSimulation
      ? Promise.resolve()
      : this.simulate(request).catch((err: unknown) => {
          if (err instanceof SimulationRevertedError)
            this.#log.warn(
              { call: `${label}.${request.functionName}`, reason: err.decoded.line },
              "simulation reverted",
            );
          throw err;
        });
    const estimation =
      request.gas !== undefined
        ? Promise.resolve(request.gas)
        : this.#public
            .estimateGas({ account, to: request.address, data, value, blockTag: "pending" })
            .then((estimate) => (estimate * (100n + this.#headroom)) / 100n)
            .catch((err: unknown) => {
              throw this.#asRevert(err, label, request) ?? err;
            });
    const feeRead = this.fees();
    // The simulation's decoded revert wins over the estimate's error when both fail.
    const [simulated, estimated, feeResult] = await Promise.allSettled([simulation, estimation, feeRead]);
    if (simulated.status === "rejected") throw simulated.reason;
    if (estimated.status === "rejected") throw estimated.reason;
    if (feeResult.status === "rejected") throw feeResult.reason;
    const gas = estimated.value;
    const fees = feeResult.value;
    const prepared: Prepared = {
      to: request.address,
      data,
      value,
      gas,
      functionName: `${label}.${request.functionName}`,
      label,
    };
    try {
      const result = await this.#sendPrepared(prepared, fees);
      this.#onSettled?.({ functionName: prepared.functionName, outcome: result.status });
      return result;
    } catch (err) {
      this.#onSettled?.({ functionName: prepared.functionName, outcome: "failed" });
      throw err;
    }
  }

  async #sendPrepared(prepared: Prepared, fees: Fees): Promise<SendResult> {
    const account = this.#wallet.account;
    const first = await this.#nonces.run(this.#public, account.address, async (nonce) => {
      const hash = await this.#broadcast(prepared, nonce, fees);
      return { hash, nonce };
    });
    this.#emit(prepared, first.hash, first.nonce, fees, 0);
    this.#log.info(
      {
        call: prepared.functionName,
        hash: first.hash,
        nonce: first.nonce,
        maxFeeGwei: formatGwei(fees.maxFeePerGas),
        priorityFeeGwei: formatGwei(fees.maxPriorityFeePerGas),
        gas: prepared.gas.toString(),
      },
      "transaction sent",
    );
    return this.#track(prepared, first.nonce, first.hash, fees);
  }

  #label(request: Pick<SendRequest, "abi" | "address" | "contractName">): string {
    if (request.contractName) return request.contractName;
    const byAbi = this.#errorAbis.find(([, abi]) => abi === request.abi);
    return byAbi ? byAbi[0] : `contract ${request.address}`;
  }

  #asRevert(err: unknown, label: string, request: SendRequest): SimulationRevertedError | undefined {
    if (!isRevert(err)) return undefined;
    const data = revertDataOf(err) ?? "0x";
    const decoded = this.decode(data, request);
    return new SimulationRevertedError(label, request.functionName, decoded, err);
  }

  #emit(prepared: Prepared, hash: Hex, nonce: number, fees: Fees, replacement: number): void {
    this.#onBroadcast?.({
      hash,
      nonce,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      replacement,
      functionName: prepared.functionName,
    });
  }

  /** Signs and broadcasts; returns the hash. "already known" for our own signed bytes counts as sent. */
  async #broadcast(prepared: Prepared, nonce: number, fees: Fees): Promise<Hex> {
    const account = this.#wallet.account;
    const tx = {
      to: prepared.to,
      data: prepared.data,
      value: prepared.value,
      gas: prepared.gas,
      nonce,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    };
    if (account.type === "local") {
      const serialized = await account.signTransaction({
        ...tx,
        type: "eip1559",
        chainId: this.#wallet.chain.id,
      });
      const hash = keccak256(serialized);
      try {
        return await this.#wallet.sendRawTransaction({ serializedTransaction: serialized });
      } catch (err) {
        if (/already known|already imported|known transaction/i.test(errorMessage(err))) return hash;
        throw err;
      }
    }
    return this.#wallet.sendTransaction({ ...tx, account, chain: this.#wallet.chain });
  }

  async #receipt(hash: Hex): Promise<TransactionReceipt | null> {
    try {
      return await this.#public.getTransactionReceipt({ hash });
    } catch (err) {
      if (err instanceof TransactionReceiptNotFoundError) return null;
      throw err;
    }
  }

  async #track(prepared: Prepared, nonce: number, firstHash: Hex, firstFees: Fees): Promise<SendResult> {
    const hashes: Hex[] = [firstHash];
    const started = Date.now();
    let lastBroadcast = started;
    let fees = firstFees;
    let replacements = 0;
    let replacing = true;
    for (;;) {
      try {
        for (const hash of [...hashes].reverse()) {
          const receipt = await this.#receipt(hash);
          if (!receipt) continue;
          const status = receipt.status;
          const fields = {
            call: prepared.functionName,
            hash,
            nonce,
            block: receipt.blockNumber.toString(),
            gasUsed: receipt.gasUsed.toString(),
            replacements,
          };
          if (status === "success") this.#log.info(fields, "transaction mined");
          else this.#log.warn(fields, "transaction mined but reverted");
          return { hash, receipt, status, nonce, hashes };
        }
      } catch (err) {
        this.#log.warn({ call: prepared.functionName, nonce, err: errorMessage(err) }, "receipt poll failed");
      }
      const now = Date.now();
      if (now - started >= this.#receiptTimeoutMs) {
        this.#log.error(
          { call: prepared.functionName, nonce, hashes, timeoutMs: this.#receiptTimeoutMs },
          "transaction not mined in time",
        );
        // The next send re-reads the nonce from the chain: if these were dropped, their nonce is reused.
        this.#nonces.reset(this.#wallet.account.address);
        throw new TransactionTimeoutError(hashes, nonce, this.#receiptTimeoutMs);
      }
      if (replacing && replacements < this.#maxReplacements && now - lastBroadcast >= this.#replaceAfterMs) {
        lastBroadcast = now;
        const next = await this.#replace(prepared, nonce, fees, replacements + 1).catch((err: unknown) => {
          this.#log.warn(
            { call: prepared.functionName, nonce, err: errorMessage(err) },
            "replacement not sent; waiting for the pending transaction",
          );
          if (/nonce too low|nonce has already been used/i.test(errorMessage(err))) replacing = false;
          return undefined;
        });
        if (next?.kind === "cap") replacing = false;
        else if (next?.kind === "underpriced")
          fees = next.fees; // bump again from what was refused
        else if (next?.kind === "sent") {
          replacements += 1;
          fees = next.fees;
          hashes.push(next.hash);
        }
      }
      await sleep(this.#pollMs);
    }
  }

  /** Same nonce, both fees bumped by at least bumpPercent (and at least the market rate); "cap" when over it. */
  async #replace(
    prepared: Prepared,
    nonce: number,
    old: Fees,
    replacement: number,
  ): Promise<
    { kind: "sent"; hash: Hex; fees: Fees } | { kind: "underpriced"; fees: Fees } | { kind: "cap" }
  > {
    const bump = (x: bigint) => {
      const raised = (x * (1000n + this.#bumpPermille) + 999n) / 1000n;
      return raised > x ? raised : x + 1n;
    };
    let market: Fees | undefined;
    try {
      market = await this.fees();
    } catch (err) {
      if (!(err instanceof FeeCapExceededError)) throw err;
    }
    let maxFeePerGas = bump(old.maxFeePerGas);
    let maxPriorityFeePerGas = bump(old.maxPriorityFeePerGas);
    // The market rate when it is higher (fees() already keeps it under the cap).
    if (market && market.maxFeePerGas > maxFeePerGas) maxFeePerGas = market.maxFeePerGas;
    if (market && market.maxPriorityFeePerGas > maxPriorityFeePerGas)
      maxPriorityFeePerGas = market.maxPriorityFeePerGas;
    if (maxPriorityFeePerGas > maxFeePerGas) maxFeePerGas = maxPriorityFeePerGas;
    if (maxFeePerGas > this.#cap) {
      this.#log.warn(
        {
          call: prepared.functionName,
          nonce,
          neededGwei: formatGwei(maxFeePerGas),
          capGwei: formatGwei(this.#cap),
        },
        "stuck transaction cannot be replaced: fee cap reached",
      );
      return { kind: "cap" };
    }
    const fees = { maxFeePerGas, maxPriorityFeePerGas };
    let hash: Hex;
    try {
      hash = await this.#broadcast(prepared, nonce, fees);
    } catch (err) {
      if (!/underpriced/i.test(errorMessage(err))) throw err;
      this.#log.warn(
        { call: prepared.functionName, nonce, maxFeeGwei: formatGwei(maxFeePerGas), err: errorMessage(err) },
        "replacement refused as underpriced; bumping further next time",
      );
      return { kind: "underpriced", fees };
    }
    this.#emit(prepared, hash, nonce, fees, replacement);
    this.#log.warn(
      {
        call: prepared.functionName,
        nonce,
        hash,
        replacement,
        maxFeeGwei: formatGwei(maxFeePerGas),
        priorityFeeGwei: formatGwei(maxPriorityFeePerGas),
      },
      "stuck transaction replaced with higher fees",
    );
    return { kind: "sent", hash, fees };
  }
}

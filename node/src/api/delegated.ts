// EIP-712 delegated subscriptions submitted through the API (contracts/core/DelegatedSubscriptions.sol).
//
// Everything is checked BEFORE any work (no row stored, no transaction): the expiry against the chain's clock, the
// container (one this node serves), the signature (recovered over the Coordinator's own EIP-712 domain), the owner's
// delegate rule (the owner contract's getSigner() must be the signer; an ERC-1271 signer contract is asked
// isValidSignature), the container's allowlists, and finally an eth_call of createSubscriptionDelegated from the
// node's account (the contract's verdict). A request that passes is stored ('pending') and sent by the node through
// the Coordinator's delegated entry point; its state (sending → created | failed, subscription id, tx hash) is
// tracked in the store (table delegated_subscriptions) and readable through the API. (owner, nonce) creates at most
// one subscription on-chain; a repeated submission returns the recorded one.
import { randomUUID } from "node:crypto";
import {
  BaseError,
  ContractFunctionRevertedError,
  decodeEventLog,
  getAddress,
  hashTypedData,
  keccak256,
  parseAbi,
  recoverAddress,
  toBytes,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
  type TypedDataDomain,
} from "viem";
import type { Store } from "../store/sqlite.ts";
import type { SendRequest, SendResult } from "../chain/sender.ts";
import type { Logger } from "../log.ts";
import { checkAllowlist, type AllowlistRules } from "../allowlist.ts";
import { ApiError, ConflictError, UnavailableError } from "./errors.ts";
import type { DelegatedReply, DelegatedRequest } from "./schemas.ts";

/** The struct the owner's signer signs (DELEGATED_SUBSCRIPTION_TYPEHASH). */
export const DELEGATED_SUBSCRIPTION_TYPES = {
  DelegatedSubscription: [
    { name: "owner", type: "address" },
    { name: "nonce", type: "uint32" },
    { name: "expiry", type: "uint32" },
    { name: "containerId", type: "bytes32" },
    { name: "activeAt", type: "uint32" },
    { name: "period", type: "uint32" },
    { name: "frequency", type: "uint32" },
    { name: "redundancy", type: "uint16" },
    { name: "callbackGasLimit", type: "uint32" },
    { name: "lazy", type: "bool" },
    { name: "paymentToken", type: "address" },
    { name: "paymentAmount", type: "uint96" },
    { name: "verifier", type: "address" },
    { name: "inputs", type: "bytes" },
  ],
} as const;

const DELEGATOR_ABI = parseAbi([
  "function getSigner() view returns (address)",
  "function isValidSignature(bytes32 hash, bytes signature) view returns (bytes4)",
]);
const ERC1271_MAGIC = "0x1626ba7e";
const ZERO: Address = "0x0000000000000000000000000000000000000000";

/** A refused submission: the status and a reason the client can act on. */
export class DelegatedRejection extends ApiError {
  constructor(statusCode: number, message: string, code: string) {
    super(statusCode, message, code);
    this.name = "DelegatedRejection";
  }
}

export interface DelegatedSubscriptionsOptions {
  store: Store;
  publicClient: PublicClient;
  coordinator: Address;
  coordinatorAbi: Abi;
  /** Containers this node serves, with their allowlists. */
  containers: readonly ({ id: string } & AllowlistRules)[];
  /** Sends transactions (the node's TransactionSender); without one, submissions are refused with 503. */
  sender?: { readonly address: Address; send(request: SendRequest): Promise<SendResult> } | undefined;
  logger: Logger;
}

type State = DelegatedReply["status"];

interface Row {
  id: string;
  owner_key: string;
  sub_owner: string;
  nonce: number;
  signer: string;
  container: string;
  request: string;
  state: State;
  subscription_id: string | null;
  tx_hash: string | null;
  error: string | null;
  created_at: number;
  updated_at: number;
}

const COLUMNS =
  "id, owner_key, sub_owner, nonce, signer, container, request, state, subscription_id, tx_hash, error, created_at, updated_at";

function view(row: Row): DelegatedReply {
  return {
    id: row.id,
    status: row.state,
    owner: row.sub_owner,
    nonce: Number(row.nonce),
    signer: row.signer,
    container: row.container,
    subscription_id: row.subscription_id,
    tx_hash: row.tx_hash,
    error: row.error,
    created_at: new Date(Number(row.created_at)).toISOString(),
    updated_at: new Date(Number(row.updated_at)).toISOString(),
  };
}

interface Verified {
  owner: Address;
  signer: Address;
  container: string;
  args: readonly unknown[];
}

function params(request: DelegatedRequest) {
  const s = request.subscription;
  return {
    containerId: s.containerId as Hex,
    activeAt: s.activeAt,
    period: s.period,
    frequency: s.frequency,
    redundancy: s.redundancy,
    callbackGasLimit: s.callbackGasLimit,
    lazy: s.lazy,
    paymentToken: getAddress(s.paymentToken),
    paymentAmount: BigInt(s.paymentAmount),
    verifier: getAddress(s.verifier),
    inputs: s.inputs as Hex,
  };
}

/** The first line of a viem error, with a decoded custom error when there is one. */
function reason(err: unknown): string {
  if (err instanceof BaseError) {
    const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError && revert.data?.errorName) {
      const args = (revert.data.args ?? []).map((a) => String(a)).join(", ");
      return `${revert.data.errorName}(${args})`;
    }
    return err.shortMessage;
  }
  return err instanceof Error ? (err.message.split("\n")[0] ?? err.message) : String(err);
}

export class DelegatedSubscriptions {
  readonly #o: DelegatedSubscriptionsOptions;
  readonly #byContainerId: Map<Hex, { id: string } & AllowlistRules>;
  readonly #inflight = new Set<Promise<void>>();
  #domain: Promise<TypedDataDomain> | undefined;
  #closed = false;

  constructor(options: DelegatedSubscriptionsOptions) {
    this.#o = options;
    this.#byContainerId = new Map(options.containers.map((c) => [keccak256(toBytes(c.id)), c]));
  }

  /** The Coordinator's EIP-712 domain, read once from the contract (eip712Domain()). */
  domain(): Promise<TypedDataDomain> {
    this.#domain ??= (async () => {
      const [, name, version, chainId, verifyingContract] = (await this.#read("eip712Domain", [])) as [
        Hex,
        string,
        string,
        bigint,
        Address,
      ];
      return { name, version, chainId: Number(chainId), verifyingContract };
    })().catch((err: unknown) => {
      this.#domain = undefined;
      throw err;
    });
    return this.#domain;
  }

  /** All the checks; throws a DelegatedRejection (4xx) with the reason, or 503 when the chain cannot be read. */
  async verify(request: DelegatedRequest): Promise<Verified> {
    const owner = getAddress(request.owner);
    const p = params(request);
    const container = this.#byContainerId.get(p.containerId.toLowerCase() as Hex);
    if (!container) {
      throw new DelegatedRejection(
        400,
        `subscription.containerId ${p.containerId} is not a container this node serves (keccak256 of its id)`,
        "unknown_container",
      );
    }
    const chain = <T>(what: string, work: () => Promise<T>): Promise<T> =>
      work().catch((err: unknown) => {
        if (err instanceof ApiError) throw err;
        throw new UnavailableError(`cannot ${what}: ${reason(err)}`, "chain_unavailable");
      });
    const [block, domain] = await Promise.all([
      chain("read the latest block", () => this.#o.publicClient.getBlock({ blockTag: "latest" })),
      chain("read the Coordinator's EIP-712 domain", () => this.domain()),
    ]);
    if (BigInt(request.expiry) < block.timestamp) {
      throw new DelegatedRejection(
        400,
        `signature expired at ${request.expiry} (chain time ${block.timestamp})`,
        "signature_expired",
      );
    }
    const digest = hashTypedData({
      domain,
      types: DELEGATED_SUBSCRIPTION_TYPES,
      primaryType: "DelegatedSubscription",
      message: { owner, nonce: request.nonce, expiry: request.expiry, ...p },
    });
    let recovered: Address | undefined;
    try {
      recovered = await recoverAddress({ hash: digest, signature: request.signature as Hex });
    } catch {
      recovered = undefined; // not an ECDSA signature: maybe an ERC-1271 one
    }
    let signer: Address;
    try {
      signer = getAddress(
        (await this.#o.publicClient.readContract({
          address: owner,
          abi: DELEGATOR_ABI,
          functionName: "getSigner",
        })) as Address,
      );
    } catch (err) {
      const code = await chain("read the owner's code", () =>
        this.#o.publicClient.getCode({ address: owner }),
      );
      if (code === undefined || code === "0x") {
        throw new DelegatedRejection(400, `owner ${owner} is not a contract`, "owner_not_delegator");
      }
      throw new DelegatedRejection(
        400,
        `owner ${owner} does not answer getSigner(): ${reason(err)}`,
        "owner_not_delegator",
      );
    }
    if (signer === ZERO) {
      throw new DelegatedRejection(
        401,
        `owner ${owner} has no delegated signer (getSigner() is 0)`,
        "no_signer",
      );
    }
    if (recovered === undefined || getAddress(recovered) !== signer) {
      const contractSigner = await this.#erc1271(signer, digest, request.signature as Hex);
      if (!contractSigner) {
        throw new DelegatedRejection(
          401,
          recovered === undefined
            ? `signature is not a valid ECDSA signature and ${signer} (the owner's signer) did not accept it`
            : `signature was made by ${getAddress(recovered)}, not by the owner's signer ${signer} ` +
                `(over domain ${domain.name} v${domain.version}, chain ${domain.chainId}, ${domain.verifyingContract})`,
          "invalid_signature",
        );
      }
    }
    const allowed = checkAllowlist(container, { owner, signer });
    if (!allowed.allowed) throw new DelegatedRejection(403, allowed.reason, "not_allowed");
    return {
      owner,
      signer,
      container: container.id,
      args: [owner, request.nonce, request.expiry, p, request.signature],
    };
  }

  /**
   * Verifies and accepts a submission for `ownerKey` (the API key). Resolves with the record and whether it is new
   * (false: the same (owner, nonce) was submitted before, or is already on-chain).
   */
  async submit(
    ownerKey: string,
    request: DelegatedRequest,
  ): Promise<{ record: DelegatedReply; created: boolean }> {
    if (!this.#o.sender) {
      throw new UnavailableError("this node has no wallet to send delegated subscriptions with", "no_sender");
    }
    const v = await this.verify(request);
    const existing = this.#row(
      "SELECT " + COLUMNS + " FROM delegated_subscriptions WHERE sub_owner = ? AND nonce = ?",
      v.owner,
      request.nonce,
    );
    if (existing && existing.owner_key !== ownerKey) {
      throw new ConflictError(
        `(owner ${v.owner}, nonce ${request.nonce}) was submitted by another API key`,
        "duplicate",
      );
    }
    if (existing && existing.state !== "failed") return { record: view(existing), created: false };

    // Already on-chain (sent by anyone): record it, nothing to send.
    const onchain = (await this.#read("delegatedSubscriptionOf", [v.owner, request.nonce]).catch(
      (err: unknown) => {
        throw new UnavailableError(`cannot read the Coordinator: ${reason(err)}`, "chain_unavailable");
      },
    )) as bigint;
    // The contract's own verdict, from the account that will send (a revert names the reason).
    if (onchain === 0n) {
      try {
        await this.#o.publicClient.simulateContract({
          account: this.#o.sender.address,
          address: this.#o.coordinator,
          abi: this.#o.coordinatorAbi,
          functionName: "createSubscriptionDelegated",
          args: v.args,
          blockTag: "pending",
        } as Parameters<PublicClient["simulateContract"]>[0]);
      } catch (err) {
        const revert =
          err instanceof BaseError && err.walk((e) => e instanceof ContractFunctionRevertedError);
        if (!revert)
          throw new UnavailableError(`cannot simulate the transaction: ${reason(err)}`, "chain_unavailable");
        throw new DelegatedRejection(
          400,
          `the Coordinator refuses this subscription: ${reason(err)}`,
          "rejected_by_contract",
        );
      }
    }
    const now = this.#o.store.now();
    const id = existing?.id ?? randomUUID();
    const state: State = onchain === 0n ? "pending" : "created";
    const subscriptionId = onchain === 0n ? null : onchain.toString();
    // Compare-and-set against a concurrent submission of the same (owner, nonce): one of them wins, the other gets
    // the winner's record.
    const changed = existing
      ? this.#o.store
          .statement(
            `UPDATE delegated_subscriptions SET state = ?, request = ?, signer = ?, container = ?, subscription_id = ?,
               tx_hash = NULL, error = NULL, updated_at = ? WHERE id = ? AND state = 'failed'`,
          )
          .run(state, JSON.stringify(request), v.signer, v.container, subscriptionId, now, id).changes
      : this.#o.store
          .statement(
            `INSERT INTO delegated_subscriptions (id, owner_key, sub_owner, nonce, signer, container, request, state,
               subscription_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (sub_owner, nonce) DO NOTHING`,
          )
          .run(
            id,
            ownerKey,
            v.owner,
            request.nonce,
            v.signer,
            v.container,
            JSON.stringify(request),
            state,
            subscriptionId,
            now,
            now,
          ).changes;
    if (Number(changed) !== 1) {
      const winner = this.#row(
        `SELECT ${COLUMNS} FROM delegated_subscriptions WHERE sub_owner = ? AND nonce = ?`,
        v.owner,
        request.nonce,
      );
      if (!winner || winner.owner_key !== ownerKey) {
        throw new ConflictError(
          `(owner ${v.owner}, nonce ${request.nonce}) was submitted by another API key`,
          "duplicate",
        );
      }
      return { record: view(winner), created: false };
    }
    this.#o.logger.info(
      {
        delegatedId: id,
        owner: v.owner,
        nonce: request.nonce,
        signer: v.signer,
        container: v.container,
        state,
      },
      "delegated subscription accepted",
    );
    if (state === "pending") this.#track(this.#send(id, v.args));
    return { record: view(this.#get(id)!), created: true };
  }

  /** The record, if it belongs to `ownerKey`. */
  get(id: string, ownerKey: string): DelegatedReply | undefined {
    const row = this.#get(id);
    return row && row.owner_key === ownerKey ? view(row) : undefined;
  }

  /** Sends the submissions left pending or sending by a previous run. */
  resume(): number {
    const rows = this.#o.store
      .statement(
        `SELECT ${COLUMNS} FROM delegated_subscriptions WHERE state IN ('pending', 'sending') ORDER BY seq`,
      )
      .all() as unknown as Row[];
    for (const row of rows) {
      const request = JSON.parse(row.request) as DelegatedRequest;
      this.#track(
        this.#send(row.id, [
          getAddress(row.sub_owner),
          request.nonce,
          request.expiry,
          params(request),
          request.signature,
        ]),
      );
    }
    return rows.length;
  }

  /** Waits for the sends in flight (they finish or fail on their own: the sender has its own time limits). */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  #track(work: Promise<void>): void {
    this.#inflight.add(work);
    void work.finally(() => this.#inflight.delete(work));
  }

  async #send(id: string, args: readonly unknown[]): Promise<void> {
    const { store, logger } = this.#o;
    const set = (
      state: State,
      fields: { subscriptionId?: string | null; txHash?: string | null; error?: string | null },
    ) =>
      store
        .statement(
          `UPDATE delegated_subscriptions SET state = ?, subscription_id = COALESCE(?, subscription_id),
             tx_hash = COALESCE(?, tx_hash), error = ?, updated_at = ? WHERE id = ?`,
        )
        .run(
          state,
          fields.subscriptionId ?? null,
          fields.txHash ?? null,
          fields.error ?? null,
          store.now(),
          id,
        );
    const log = logger.child({ delegatedId: id });
    if (this.#closed) return;
    set("sending", {});
    const [owner, nonce] = args as [Address, number];
    try {
      const sent = await this.#o.sender!.send({
        address: this.#o.coordinator,
        abi: this.#o.coordinatorAbi,
        functionName: "createSubscriptionDelegated",
        args,
        contractName: "Coordinator",
      });
      if (sent.status !== "success")
        throw new Error(`createSubscriptionDelegated reverted on-chain (${sent.hash})`);
      const subscriptionId =
        this.#createdId(sent.receipt.logs) ??
        ((await this.#read("delegatedSubscriptionOf", [owner, nonce])) as bigint);
      set("created", { subscriptionId: subscriptionId.toString(), txHash: sent.hash });
      log.info(
        { subscriptionId: subscriptionId.toString(), txHash: sent.hash },
        "delegated subscription created",
      );
    } catch (err) {
      // Someone else may have presented the same signature first: then it exists all the same.
      const existing = (await this.#read("delegatedSubscriptionOf", [owner, nonce]).catch(
        () => 0n,
      )) as bigint;
      if (existing !== 0n) {
        set("created", { subscriptionId: existing.toString() });
        log.info({ subscriptionId: existing.toString() }, "delegated subscription exists on-chain");
        return;
      }
      set("failed", { error: reason(err) });
      log.warn({ err: reason(err) }, "delegated subscription failed");
    }
  }

  #createdId(logs: readonly { address: string; data: Hex; topics: readonly Hex[] }[]): bigint | undefined {
    for (const l of logs) {
      if (l.address.toLowerCase() !== this.#o.coordinator.toLowerCase()) continue;
      try {
        const ev = decodeEventLog({
          abi: this.#o.coordinatorAbi,
          data: l.data,
          topics: l.topics as [Hex, ...Hex[]],
        });
        if (ev.eventName === "DelegatedSubscriptionCreated") {
          return BigInt((ev.args as unknown as { subscriptionId: bigint }).subscriptionId);
        }
      } catch {
        // another event
      }
    }
    return undefined;
  }

  async #erc1271(signer: Address, digest: Hex, signature: Hex): Promise<boolean> {
    const code = await this.#o.publicClient.getCode({ address: signer }).catch(() => undefined);
    if (code === undefined || code === "0x") return false;
    try {
      const magic = await this.#o.publicClient.readContract({
        address: signer,
        abi: DELEGATOR_ABI,
        functionName: "isValidSignature",
        args: [digest, signature],
      });
      return String(magic).toLowerCase() === ERC1271_MAGIC;
    } catch {
      return false;
    }
  }

  #read(functionName: string, args: readonly unknown[]): Promise<unknown> {
    return this.#o.publicClient.readContract({
      address: this.#o.coordinator,
      abi: this.#o.coordinatorAbi,
      functionName,
      args,
    });
  }

  #get(id: string): Row | undefined {
    return this.#row(`SELECT ${COLUMNS} FROM delegated_subscriptions WHERE id = ?`, id);
  }

  #row(sql: string, ...args: (string | number)[]): Row | undefined {
    return this.#o.store.statement(sql).get(...args) as Row | undefined;
  }
}

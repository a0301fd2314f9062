/**
 * Stateful fuzz / invariant test of the Coordinator (escrow, assignment, delivery) and the NodeRegistry (stake,
 * bonds, slashing).
 *
 * How it works
 * - A seeded PRNG (mulberry32) draws FUZZ_OPS (default 5,000) random operations against a fresh in-process EDR
 *   chain: subscriptions (one-shot and recurring; ETH, TestToken and unpaid; redundancy 1–3; lazy or eager; with or
 *   without a verifier; owned by EOAs, by an ExampleConsumer and by a HostileConsumer whose callback reverts, burns
 *   its gas, re-enters or serves bad inputs), fund, requestInterval / requestCompute, assign, deliver (by the
 *   assigned node, in time or late; by wrong nodes; by a node that previewed its pick, before anyone called assign),
 *   reassign, expireSlot, settle (through contracts/test/BenchConsumer.sol:BenchVerifier, allow-listed when the
 *   Coordinator has a verifier allow-list), cancel, withdrawFunds, withdraw, register, addStake, requestUnbond,
 *   withdrawStake (inside and after the delay), unjail, bond / releaseBond / slash / assignValidators by a test account
 *   (the "judge") made bonder and slasher with setBonder / setSlasher, withdrawCredits, Coordinator.setParams (a new
 *   job bond applies to new intervals only), time travel and block mining. Weights adapt to the state so most draws
 *   have something to act on; ~25% of operations are expected reverts.
 * - Replay: the seed is printed first (`FUZZ_SEED=<n>`) and in every failure message; `FUZZ_SEED=<n> FUZZ_OPS=<m>
 *   node --test test/invariants.fuzz.test.ts` replays a run exactly. The chain is made deterministic for that:
 *   fixed genesis date, zero gas price, and every transaction's block timestamp set explicitly (so block hashes,
 *   hence the on-chain randomness and the node selection, are the same on every replay).
 * - An independent model in TypeScript predicts the outcome of every operation: either success with its exact
 *   effects, or the exact custom error the contracts must revert with (the check order of the contracts is mirrored).
 *   A revert with any other error, an unexpected success, or an unexpected revert fails the test. Node selection is
 *   reproduced bit for bit (stake-weighted choice from the blockhash round), so even "which node gets the slot" is
 *   predicted and compared with the NodeAssigned / Bonded events.
 * - Struct fields the model does not know (added to the contracts later) are ignored, not failed on: Params for
 *   setParams are rebuilt from the ABI and the on-chain values; IntervalState is read by field name.
 *
 * What is checked when
 * - After EVERY operation (cheap, ~10–20 reads):
 *   (1) per token (ETH and the ERC-20): Coordinator balance on chain == Σ model escrow balances + Σ model credits;
 *       NodeRegistry ETH balance on chain == Σ model `staked` + Σ model registry credits; 0xdead == model burned.
 *       The model these sums come from is compared with the chain for every entity the operation touched (predicted
 *       by the model, plus every subscription / interval / address named in the receipt's events): escrowOf
 *       (balance, locked), subscription state, interval + slot state, credits(token, account), getNode, registry
 *       credits, and the exact ETH / token wallet balances of touched accounts (gas price is zero, so a wallet
 *       balance moves only by what the protocol pays or takes).
 *   (2) withdrawals: every withdraw / withdrawCredits / withdrawStake must pay exactly the modelled credit or stake,
 *       seen in the wallet balance; per account, cumulative withdrawn <= cumulative credited is asserted.
 *   (3) for touched nodes read from chain: bonded + unbonding <= staked (and uint arithmetic makes "negative" a
 *       revert); for touched subscriptions: locked <= balance.
 *   (4) every Slashed event: taken <= bondAmount, equals the modelled share total, and the node's `bonded` fell by
 *       exactly bondAmount and `staked` by exactly `taken` (chain state before vs after).
 * - Every 100 operations and at the end: a full sweep that reads EVERY subscription, credit account, node, registry
 *   credit and wallet from the chain, recomputes the balance equalities of (1) from chain reads alone (independent of
 *   the model), re-checks (3) for all of them and compares all with the model. Every 500 operations and at the end the
 *   sweep also compares every requested interval and its slots.
 */
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import {
  createWalletClient,
  custom,
  decodeErrorResult,
  encodeAbiParameters,
  encodeDeployData,
  encodeFunctionData,
  getAddress,
  keccak256,
  maxUint256,
  parseEther,
  parseEventLogs,
  toBytes,
  toHex,
  zeroAddress,
  type Abi,
  type Address,
  type Hex,
} from "viem";
import { deploySystem } from "../deploy/system.ts";
import { loadArtifact, type ContractName } from "../deploy/artifacts.ts";
import { DEFAULT_PARAMS, poiMaxWindow, type SystemParams } from "../deploy/params.ts";
import type { SubscriptionParams as SubParams } from "@infernet/sdk";

// ------------------------------------------------------------------------------------------------ configuration

const SEED =
  process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const OPS = process.env.FUZZ_OPS !== undefined ? Number(process.env.FUZZ_OPS) : 5_000;
const SWEEP_EVERY = 100;
const INTERVAL_SWEEP_EVERY = 500;
const GENESIS = 1_893_456_000; // 2030-01-01T00:00:00Z
const TX_GAS = 6_000_000n;

const ETH: Address = zeroAddress;
const DEAD: Address = getAddress("0x000000000000000000000000000000000000dead");
const CONTAINER_A: Hex = keccak256(toBytes("hello-echo"));
const CONTAINER_B: Hex = keccak256(toBytes("other-model"));
const CONTAINER_UNKNOWN: Hex = keccak256(toBytes("never-registered"));

const S_EMPTY = 0;
const S_ASSIGNED = 1;
const S_HELD = 2;
const S_PAID = 3;
const S_REFUNDED = 4;
const S_EXPIRED = 5;
const STATUS_NAMES = ["Empty", "Assigned", "Held", "Paid", "Refunded", "Expired"];

const MODE_REVERT = 0;
const MODE_BURN_GAS = 1;
const MODE_REENTER = 2;
const MODE_REVERT_INPUTS = 3;
const MODE_HUGE_INPUTS = 4;

// ------------------------------------------------------------------------------------------------ PRNG

function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from empty list");
    return items[Math.floor(this.next() * items.length)] as T;
  }
  /** bigint in [lo, hi]. */
  big(lo: bigint, hi: bigint): bigint {
    if (hi <= lo) return lo;
    const r =
      BigInt(Math.floor(this.next() * 2 ** 26)) * 2n ** 26n + BigInt(Math.floor(this.next() * 2 ** 26));
    return lo + (r * (hi - lo + 1n)) / 2n ** 52n;
  }
  bytes(n: number): Hex {
    let s = "0x";
    for (let i = 0; i < n; i++) s += this.int(0, 255).toString(16).padStart(2, "0");
    return s as Hex;
  }
  weighted<T extends string>(table: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of table) total += w;
    let r = this.next() * total;
    for (const [k, w] of table) {
      if (r < w) return k;
      r -= w;
    }
    return (table[table.length - 1] as readonly [T, number])[0];
  }
}

// ------------------------------------------------------------------------------------------------ model types

type OwnerKind = "eoa" | "example" | "hostile";

interface MSlot {
  node: Address;
  deadline: number;
  status: number;
}

interface MInterval {
  round: bigint;
  /** Round reserved at the request, never replaced (checked when the contract exposes it). */
  seedRound: bigint;
  requestedAt: number;
  delivered: number;
  reassignments: number;
  /** Job bond of this interval, fixed at its request. */
  bond: bigint;
  /** Nodes a slot of this interval was taken from by `reassign`; never drawn again for it. */
  missed: Address[];
  slots: MSlot[];
}

interface MSub {
  id: bigint;
  owner: Address;
  kind: OwnerKind;
  token: Address;
  price: bigint;
  redundancy: number;
  lazy: boolean;
  verifier: Address;
  period: number;
  frequency: number;
  activeAt: number;
  cancelled: boolean;
  lastInterval: number;
  containerId: Hex;
  viewInputs: boolean;
  balance: bigint;
  locked: bigint;
  intervals: Map<number, MInterval>;
}

interface MNode {
  addr: Address;
  operator: Address;
  containers: Hex[];
  staked: bigint;
  bonded: bigint;
  unbonding: bigint;
  unlockAt: number;
  jailed: boolean;
  /** Part of `bonded` the test judge is responsible for (bonded by it or left to it by a refused settlement). */
  judgeBond: bigint;
}

interface DecodedLog {
  eventName: string;
  address: Address;
  args: Record<string, unknown>;
}

type TxResult = { ok: true; logs: DecodedLog[] } | { ok: false; error: string; detail: string };

class FuzzFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FuzzFailure";
  }
}

/** An expected outcome: null = success, a string = that custom error. */
type Expect = string | null;

// ------------------------------------------------------------------------------------------------ setup

async function typedContracts(
  viem: Awaited<ReturnType<typeof network.create>>["viem"],
  a: {
    coordinator: Address;
    nodeRegistry: Address;
    token: Address;
    example: Address;
    hostile: Address;
    verifier: Address;
  },
) {
  return {
    verifier: await viem.getContractAt("BenchVerifier", a.verifier),
    coordinator: await viem.getContractAt("Coordinator", a.coordinator),
    registry: await viem.getContractAt("NodeRegistry", a.nodeRegistry),
    token: await viem.getContractAt("TestToken", a.token),
    example: await viem.getContractAt("ExampleConsumer", a.example),
    hostile: await viem.getContractAt("HostileConsumer", a.hostile),
  };
}
type Contracts = Awaited<ReturnType<typeof typedContracts>>;

function combinedAbi(): { errors: Abi; events: Abi } {
  const names: ContractName[] = [
    "Coordinator",
    "NodeRegistry",
    "ContainerRegistry",
    "BlockhashRandomness",
    "TestToken",
    "ExampleConsumer",
    "HostileConsumer",
  ];
  const errors = new Map<string, Abi[number]>();
  const events = new Map<string, Abi[number]>();
  for (const abi of [...names.map((n) => loadArtifact(n).abi), benchVerifierArtifact().abi]) {
    for (const item of abi) {
      if (item.type !== "error" && item.type !== "event") continue;
      const sig = `${item.name}(${item.inputs.map((i) => i.type).join(",")})`;
      (item.type === "error" ? errors : events).set(sig, item);
    }
  }
  return { errors: [...errors.values()], events: [...events.values()] };
}

/** contracts/test/BenchConsumer.sol:BenchVerifier, a minimal allow-listable verifier that forwards `settle`. */
function benchVerifierArtifact(): { abi: Abi; bytecode: Hex } {
  const path = new URL("../artifacts/contracts/test/BenchConsumer.sol/BenchVerifier.json", import.meta.url);
  return JSON.parse(readFileSync(path, "utf8")) as { abi: Abi; bytecode: Hex };
}

function fmtEth(x: bigint): string {
  return `${x}`;
}

// ------------------------------------------------------------------------------------------------ the fuzzer

class Fuzz {
  readonly rng: Rng;
  readonly seed: number;
  conn!: Awaited<ReturnType<typeof network.create>>;
  c!: Contracts;
  abi = combinedAbi();
  params!: SystemParams;
  judgeWindow = 0;
  // chain clock model: timestamp and number of the latest block
  now = GENESIS;
  head = 0n;
  // accounts
  wallets: Address[] = [];
  owner!: Address; // deployer, governance, treasury
  judge!: Address; // authorised bonder + slasher
  consumers: Address[] = [];
  operators: Address[] = [];
  nodeKeys: Address[] = [];
  outsiders: Address[] = [];
  coordinator!: Address;
  registry!: Address;
  randomness!: Address;
  token!: Address;
  example!: Address;
  hostile!: Address;
  /** BenchVerifier: the verifier subscriptions name; the judge settles through it. */
  verifier!: Address;
  /** Whether the Coordinator allow-lists verifiers (setVerifier / UnknownVerifier). */
  verifierAllowList = false;
  /** Whether the NodeRegistry has assignValidators (selection with operator exclusion, for verifier contracts). */
  hasAssignValidators = false;
  exampleOwner!: Address;
  salt!: Hex;
  chainId = 0n;
  // model
  subs: MSub[] = [];
  nodes = new Map<Address, MNode>();
  containerLists = new Map<Hex, Address[]>([
    [CONTAINER_A, []],
    [CONTAINER_B, []],
  ]);
  coordCredits = new Map<string, bigint>(); // `${token}|${account}`
  regCredits = new Map<Address, bigint>();
  credited = new Map<string, bigint>(); // cumulative, `c|token|acct` and `r|acct`
  withdrawn = new Map<string, bigint>();
  eth = new Map<Address, bigint>();
  tok = new Map<Address, bigint>();
  burned = 0n;
  hostileMode = MODE_REVERT;
  blockHashes = new Map<bigint, Hex>();
  open: { sub: MSub; interval: number }[] = [];
  // bookkeeping
  opIndex = -1;
  opName = "";
  opDesc = "";
  recent: string[] = [];
  stats = new Map<string, { ok: number; reverts: Map<string, number> }>();
  counters = {
    assignedSlots: 0,
    deliveries: 0,
    paidWei: 0n,
    callbackFailures: 0,
    slashes: 0,
    reassigns: 0,
    implicitAssigns: 0,
    withdrawStakeEarly: 0,
    sweeps: 0,
    reads: 0,
  };
  touched = this.freshTouched();

  constructor(seed: number) {
    this.seed = seed;
    this.rng = new Rng(seed);
  }

  freshTouched() {
    return {
      subs: new Set<MSub>(),
      intervals: new Set<string>(),
      credits: new Set<string>(),
      nodes: new Set<Address>(),
      regCredits: new Set<Address>(),
      wallets: new Set<Address>(),
    };
  }

  // ---------------------------------------------------------------- failure reporting

  fail(message: string): never {
    throw new FuzzFailure(
      `[FUZZ_SEED=${this.seed}] op #${this.opIndex} ${this.opName} (${this.opDesc}): ${message}\n` +
        `replay: FUZZ_SEED=${this.seed} FUZZ_OPS=${OPS} node --test test/invariants.fuzz.test.ts\n` +
        `recent operations:\n  ${this.recent.slice(-20).join("\n  ")}`,
    );
  }

  eq(actual: unknown, expected: unknown, what: string): void {
    if (actual !== expected) this.fail(`${what}: chain ${String(actual)} != model ${String(expected)}`);
  }

  // ---------------------------------------------------------------- chain access

  async rpc(method: string, params: unknown[] = []): Promise<unknown> {
    return this.conn.provider.request({ method, params });
  }

  /** Sends a transaction in the next block at the model's next timestamp; never throws for a revert. */
  async send(from: Address, to: Address, data: Hex, value = 0n): Promise<TxResult> {
    const ts = this.now + 1;
    await this.rpc("evm_setNextBlockTimestamp", [toHex(ts)]);
    let hash: Hex;
    try {
      hash = (await this.rpc("eth_sendTransaction", [
        {
          from,
          to,
          data,
          value: toHex(value),
          gas: toHex(TX_GAS),
          maxFeePerGas: "0x0",
          maxPriorityFeePerGas: "0x0",
        },
      ])) as Hex;
    } catch (e) {
      this.now = ts;
      this.head += 1n; // a failed transaction is still mined (throwOnTransactionFailures)
      return this.decodeRevert(e);
    }
    this.now = ts;
    this.head += 1n;
    const receipt = await this.conn.viem.getPublicClient().then((pc) => pc.getTransactionReceipt({ hash }));
    if (receipt.status !== "success") return { ok: false, error: "StatusFailed", detail: hash };
    const parsed = parseEventLogs({ abi: this.abi.events, logs: receipt.logs, strict: false });
    const logs: DecodedLog[] = parsed.map((l) => ({
      eventName: (l as unknown as { eventName: string }).eventName,
      address: getAddress(l.address),
      args: ((l as unknown as { args?: Record<string, unknown> }).args ?? {}) as Record<string, unknown>,
    }));
    return { ok: true, logs };
  }

  decodeRevert(e: unknown): TxResult {
    let cur: unknown = e;
    let data: string | undefined;
    const message = e instanceof Error ? e.message : String(e);
    for (let depth = 0; cur && depth < 8; depth++) {
      const d = (cur as { data?: unknown }).data;
      if (typeof d === "string" && d.startsWith("0x")) {
        data = d;
        break;
      }
      if (d && typeof d === "object" && typeof (d as { data?: unknown }).data === "string") {
        data = (d as { data: string }).data;
        break;
      }
      cur = (cur as { cause?: unknown }).cause;
    }
    if (data === undefined) return { ok: false, error: "NoRevertData", detail: message.slice(0, 300) };
    if (data === "0x") return { ok: false, error: "EmptyRevert", detail: message.slice(0, 300) };
    try {
      const decoded = decodeErrorResult({ abi: this.abi.errors, data: data as Hex });
      const args = decoded.args ? decoded.args.map((a) => String(a)).join(", ") : "";
      return { ok: false, error: decoded.errorName, detail: `${decoded.errorName}(${args})` };
    } catch {
      return { ok: false, error: `Unknown(${data.slice(0, 10)})`, detail: message.slice(0, 300) };
    }
  }

  /** Runs one transaction and compares its outcome with the model's expectation. Returns logs on success. */
  async exec(
    from: Address,
    to: Address,
    data: Hex,
    value: bigint,
    expect: Expect,
  ): Promise<DecodedLog[] | null> {
    const res = await this.send(from, to, data, value);
    const st = this.stat(this.opName);
    if (res.ok) {
      if (expect !== null) this.fail(`expected revert ${expect} but the transaction succeeded`);
      st.ok += 1;
      this.recent.push(`#${this.opIndex} ${this.opName} ${this.opDesc} -> ok`);
      this.touchFromLogs(res.logs);
      if (value !== 0n) this.addEth(from, -value);
      this.touched.wallets.add(from);
      return res.logs;
    }
    if (expect === null) this.fail(`unexpected revert ${res.detail}`);
    if (res.error !== expect) this.fail(`expected revert ${expect} but got ${res.detail}`);
    st.reverts.set(res.error, (st.reverts.get(res.error) ?? 0) + 1);
    this.recent.push(`#${this.opIndex} ${this.opName} ${this.opDesc} -> ${res.error}`);
    this.touched.wallets.add(from);
    return null;
  }

  stat(name: string) {
    let s = this.stats.get(name);
    if (!s) {
      s = { ok: 0, reverts: new Map() };
      this.stats.set(name, s);
    }
    return s;
  }

  async blockHash(n: bigint): Promise<Hex> {
    const hit = this.blockHashes.get(n);
    if (hit) return hit;
    const pc = await this.conn.viem.getPublicClient();
    const b = await pc.getBlock({ blockNumber: n });
    if (!b.hash) this.fail(`no hash for block ${n}`);
    this.blockHashes.set(n, b.hash);
    return b.hash;
  }

  // ---------------------------------------------------------------- model helpers

  key(token: Address, acct: Address): string {
    return `${token}|${acct}`;
  }

  addEth(a: Address, d: bigint): void {
    this.eth.set(a, (this.eth.get(a) ?? 0n) + d);
    this.touched.wallets.add(a);
  }

  addTok(a: Address, d: bigint): void {
    this.tok.set(a, (this.tok.get(a) ?? 0n) + d);
    this.touched.wallets.add(a);
  }

  credit(token: Address, acct: Address, amount: bigint): void {
    const k = this.key(token, acct);
    this.coordCredits.set(k, (this.coordCredits.get(k) ?? 0n) + amount);
    this.credited.set(`c|${k}`, (this.credited.get(`c|${k}`) ?? 0n) + amount);
    this.touched.credits.add(k);
  }

  regCredit(acct: Address, amount: bigint): void {
    this.regCredits.set(acct, (this.regCredits.get(acct) ?? 0n) + amount);
    this.credited.set(`r|${acct}`, (this.credited.get(`r|${acct}`) ?? 0n) + amount);
    this.touched.regCredits.add(acct);
  }

  noteWithdrawn(k: string, amount: bigint): void {
    const w = (this.withdrawn.get(k) ?? 0n) + amount;
    this.withdrawn.set(k, w);
    const c = this.credited.get(k) ?? 0n;
    if (w > c) this.fail(`invariant (2): ${k} withdrew ${w} in total but was credited only ${c}`);
  }

  touchInterval(sub: MSub, interval: number): void {
    this.touched.subs.add(sub);
    this.touched.intervals.add(`${sub.id}|${interval}`);
  }

  touchNode(a: Address): void {
    this.touched.nodes.add(a);
  }

  touchFromLogs(logs: DecodedLog[]): void {
    for (const l of logs) {
      const id = l.args.subscriptionId;
      if (typeof id === "bigint") {
        const sub = this.subs[Number(id) - 1];
        if (sub) {
          this.touched.subs.add(sub);
          const iv = l.args.interval;
          if (typeof iv === "number") this.touched.intervals.add(`${id}|${iv}`);
        }
      }
      for (const v of Object.values(l.args)) {
        if (typeof v === "string" && v.length === 42 && v.startsWith("0x")) {
          const a = getAddress(v);
          this.touched.wallets.add(a);
          this.touched.regCredits.add(a);
          this.touched.credits.add(this.key(ETH, a));
          this.touched.credits.add(this.key(this.token, a));
          if (this.nodes.has(a)) this.touched.nodes.add(a);
        }
      }
    }
  }

  logsOf(logs: DecodedLog[], name: string): DecodedLog[] {
    return logs.filter((l) => l.eventName === name);
  }

  static current(activeAt: number, period: number, ts: number): number {
    if (ts < activeAt) return 0;
    if (period === 0) return 1;
    return Math.floor((ts - activeAt) / period) + 1;
  }

  /** Readiness of a randomness round for a transaction mined in block `b` (BlockhashRandomness rules). */
  static roundState(round: bigint, b: bigint): "ready" | "pending" | "expired" {
    if (b > round && b - round <= 256n) return "ready";
    if (b > round) return "expired";
    return "pending";
  }

  free(n: MNode): bigint {
    return n.staked - n.bonded - n.unbonding;
  }

  eligible(n: MNode, containerId: Hex, amount: bigint): boolean {
    if (!n.containers.includes(containerId)) return false;
    const free = this.free(n);
    return !n.jailed && n.staked - n.unbonding >= this.params.minStake && free >= amount && free !== 0n;
  }

  maybeJail(n: MNode): void {
    if (!n.jailed && n.staked - n.unbonding < this.params.minStake) n.jailed = true;
  }

  /** Exact reproduction of Coordinator._plan + NodeRegistry._select for the interval in block `b`. */
  async expectedPicks(
    sub: MSub,
    interval: number,
    iv: MInterval,
  ): Promise<{ picks: Address[]; emptySlots: number[] }> {
    const emptySlots: number[] = [];
    const exclude: Address[] = [];
    iv.slots.forEach((s, i) => {
      if (s.status === S_EMPTY) emptySlots.push(i);
      if (s.node !== ETH) exclude.push(s.node);
    });
    if (iv.reassignments !== 0) exclude.push(...iv.missed);
    if (emptySlots.length === 0) return { picks: [], emptySlots };
    const value = keccak256(
      encodeAbiParameters(
        [{ type: "bytes32" }, { type: "bytes32" }, { type: "uint64" }],
        [this.salt, await this.blockHash(iv.round), iv.round],
      ),
    );
    const seed = keccak256(
      encodeAbiParameters(
        [{ type: "bytes32" }, { type: "uint64" }, { type: "uint32" }, { type: "uint8" }],
        [value, sub.id, interval, iv.reassignments],
      ),
    );
    const picks = this.select(sub.containerId, emptySlots.length, seed, exclude, ETH, iv.bond);
    return { picks, emptySlots };
  }

  /** Exact reproduction of NodeRegistry._select (weighted choice without replacement, neutral trust). */
  select(
    containerId: Hex,
    count: number,
    seed: Hex,
    exclude: Address[],
    excludeOperator: Address,
    amount: bigint,
  ): Address[] {
    const list = this.containerLists.get(containerId) ?? [];
    const weights: bigint[] = [];
    let total = 0n;
    let eligible = 0;
    for (const a of list) {
      const n = this.nodes.get(a);
      let w = 0n;
      const operatorOk = excludeOperator === ETH || n?.operator !== excludeOperator;
      if (n && !exclude.includes(a) && operatorOk && this.eligible(n, containerId, amount)) {
        w = this.free(n) * 10_000n;
        eligible += 1;
      }
      weights.push(w);
      total += w;
    }
    const k = Math.min(count, eligible);
    const picks: Address[] = [];
    for (let j = 0; j < k; j++) {
      let r =
        BigInt(
          keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint256" }], [seed, BigInt(j)])),
        ) % total;
      let i = 0;
      for (; i < list.length; i++) {
        const w = weights[i] as bigint;
        if (r < w) break;
        r -= w;
      }
      picks.push(list[i] as Address);
      total -= weights[i] as bigint;
      weights[i] = 0n;
    }
    return picks;
  }

  /** Applies predicted assignments and checks them against the NodeAssigned events of a receipt. */
  applyAssignments(
    sub: MSub,
    interval: number,
    iv: MInterval,
    picks: Address[],
    emptySlots: number[],
    logs: DecodedLog[],
  ): void {
    const events = this.logsOf(logs, "NodeAssigned").filter(
      (l) => l.args.subscriptionId === sub.id && l.args.interval === interval,
    );
    if (events.length !== picks.length) {
      this.fail(
        `expected ${picks.length} NodeAssigned events (${picks.join(",")}), got ${events.length}: ${events.map((e) => String(e.args.node)).join(",")}`,
      );
    }
    const deadline = this.now + this.params.deliveryWindow;
    picks.forEach((node, j) => {
      const ev = events[j] as DecodedLog;
      const slotIndex = emptySlots[j] as number;
      if (
        getAddress(String(ev.args.node)) !== node ||
        ev.args.slot !== slotIndex ||
        ev.args.deadline !== deadline
      ) {
        this.fail(
          `assignment ${j}: chain (${String(ev.args.node)}, slot ${String(ev.args.slot)}, deadline ${String(ev.args.deadline)}) != model (${node}, slot ${slotIndex}, deadline ${deadline})`,
        );
      }
      const slot = iv.slots[slotIndex] as MSlot;
      slot.node = node;
      slot.status = S_ASSIGNED;
      slot.deadline = deadline;
      const n = this.nodes.get(node) as MNode;
      n.bonded += iv.bond;
      this.touchNode(node);
    });
    this.counters.assignedSlots += picks.length;
    this.touchInterval(sub, interval);
  }

  isOpen(iv: MInterval): boolean {
    return iv.slots.some((s) => s.status === S_EMPTY || s.status === S_ASSIGNED || s.status === S_HELD);
  }

  pruneOpen(): void {
    this.open = this.open.filter((o) => {
      const iv = o.sub.intervals.get(o.interval);
      return iv !== undefined && this.isOpen(iv);
    });
  }

  // ---------------------------------------------------------------- setup

  async init(): Promise<void> {
    const r = this.rng;
    // Deployment constraints (deploy/system.ts): the unbonding delay must exceed every slasher's window, including
    // the Proof-of-Inference verifier's; its parameter guard needs a job bond of about 0.09 ETH or more at deployment.
    // Coordinator.setParams may still lower the bond later (opSetParams does).
    const deliveryWindow = r.pick([120, 300, 900]);
    const minDelay = Math.max(deliveryWindow, poiMaxWindow(DEFAULT_PARAMS.poi)) + 1;
    const unbondingDelay = r.pick([minDelay + 3_600, minDelay + 3_600, 86_400]);
    const jobBond = r.pick([parseEther("0.1"), parseEther("0.1"), parseEther("0.2"), parseEther("0.4")]);
    this.params = {
      ...DEFAULT_PARAMS,
      deliveryWindow,
      unbondingDelay,
      feeBps: r.pick([0, 100, 250, 1_000]),
      maxReassignments: r.pick([0, 1, 3]),
      jobBond,
      livenessPenalty: r.pick([parseEther("0.01"), jobBond, jobBond * 2n]),
      minStake: parseEther("1"),
    };
    this.judgeWindow = Math.min(deliveryWindow * 2, unbondingDelay - 1);

    this.conn = await network.create({
      override: {
        initialBaseFeePerGas: 0n,
        initialDate: new Date(GENESIS * 1000),
        accounts: { count: 32, mnemonic: "test test test test test test test test test test test junk" },
      },
    });
    const pc = await this.conn.viem.getPublicClient();
    this.wallets = ((await this.rpc("eth_accounts")) as string[]).map((a) => getAddress(a));
    const w = (i: number): Address => {
      const a = this.wallets[i];
      if (!a) throw new Error(`no wallet ${i}`);
      return a;
    };
    this.owner = w(0);
    this.judge = w(1);
    this.consumers = [2, 3, 4, 5, 6, 7].map(w);
    this.exampleOwner = w(2);
    this.operators = [8, 9, 10, 11].map(w);
    this.nodeKeys = Array.from({ length: 16 }, (_, i) => w(12 + i));
    this.outsiders = [28, 29, 30, 31].map(w);

    // Deploy through the shared deploy module; every transaction gets an explicit timestamp so the run replays.
    const stamped = {
      request: async (args: { method: string; params?: unknown }) => {
        if (args.method === "eth_sendTransaction") {
          this.now += 1;
          await this.rpc("evm_setNextBlockTimestamp", [toHex(this.now)]);
        }
        return this.conn.provider.request(args as { method: string; params?: unknown[] });
      },
    };
    const chain = pc.chain;
    if (!chain) throw new Error("no chain");
    const deployer = createWalletClient({ account: this.owner, chain, transport: custom(stamped) });
    const deployment = await deploySystem({ wallet: deployer, publicClient: pc, params: this.params });
    await this.syncClock();
    this.coordinator = getAddress(deployment.contracts.coordinator);
    this.registry = getAddress(deployment.contracts.nodeRegistry);
    this.randomness = getAddress(deployment.contracts.randomness);
    this.chainId = BigInt(deployment.chainId);
    this.salt = keccak256(
      encodeAbiParameters([{ type: "address" }, { type: "uint256" }], [this.randomness, this.chainId]),
    );

    const deploy = async (from: Address, name: ContractName, args: readonly unknown[]): Promise<Address> => {
      const { abi, bytecode } = loadArtifact(name);
      const ts = this.now + 1;
      await this.rpc("evm_setNextBlockTimestamp", [toHex(ts)]);
      const hash = (await this.rpc("eth_sendTransaction", [
        {
          from,
          data: encodeDeployData({ abi, bytecode, args }),
          gas: toHex(10_000_000n),
          maxFeePerGas: "0x0",
          maxPriorityFeePerGas: "0x0",
        },
      ])) as Hex;
      this.now = ts;
      this.head += 1n;
      const receipt = await pc.getTransactionReceipt({ hash });
      if (!receipt.contractAddress) throw new Error(`deploy ${name} failed`);
      return getAddress(receipt.contractAddress);
    };
    this.token = await deploy(this.owner, "TestToken", []);
    this.example = await deploy(this.exampleOwner, "ExampleConsumer", [this.coordinator, this.exampleOwner]);
    this.hostile = await deploy(this.owner, "HostileConsumer", [this.coordinator]);
    {
      const { abi, bytecode } = benchVerifierArtifact();
      const ts = this.now + 1;
      await this.rpc("evm_setNextBlockTimestamp", [toHex(ts)]);
      const hash = (await this.rpc("eth_sendTransaction", [
        {
          from: this.owner,
          data: encodeDeployData({ abi, bytecode, args: [this.coordinator] }),
          gas: toHex(5_000_000n),
          maxFeePerGas: "0x0",
          maxPriorityFeePerGas: "0x0",
        },
      ])) as Hex;
      this.now = ts;
      this.head += 1n;
      const receipt = await pc.getTransactionReceipt({ hash });
      if (!receipt.contractAddress) throw new Error("deploy BenchVerifier failed");
      this.verifier = getAddress(receipt.contractAddress);
    }
    const containerRegistry = getAddress(deployment.contracts.containerRegistry);
    this.c = await typedContracts(this.conn.viem, {
      coordinator: this.coordinator,
      nodeRegistry: this.registry,
      token: this.token,
      example: this.example,
      hostile: this.hostile,
      verifier: this.verifier,
    });

    const setupTx = async (from: Address, to: Address, data: Hex) => {
      const res = await this.send(from, to, data);
      if (!res.ok) throw new Error(`setup transaction failed: ${res.detail}`);
    };
    const crAbi = loadArtifact("ContainerRegistry").abi;
    for (const name of ["hello-echo", "other-model"]) {
      await setupTx(
        this.owner,
        containerRegistry,
        encodeFunctionData({
          abi: crAbi,
          functionName: "registerContainer",
          args: [name, `0x${"00".repeat(32)}`],
        }),
      );
    }
    const coordAbi = this.c.coordinator.abi as Abi;
    this.verifierAllowList = coordAbi.some((x) => x.type === "function" && x.name === "setVerifier");
    if (this.verifierAllowList) {
      await setupTx(
        this.owner,
        this.coordinator,
        encodeFunctionData({ abi: coordAbi, functionName: "setVerifier", args: [this.verifier, true] }),
      );
    }
    this.hasAssignValidators = (this.c.registry.abi as Abi).some(
      (x) => x.type === "function" && x.name === "assignValidators",
    );
    const reg = this.c.registry.abi;
    await setupTx(
      this.owner,
      this.registry,
      encodeFunctionData({ abi: reg, functionName: "setBonder", args: [this.judge, true] }),
    );
    await setupTx(
      this.owner,
      this.registry,
      encodeFunctionData({
        abi: reg,
        functionName: "setSlasher",
        args: [this.judge, true, BigInt(this.judgeWindow)],
      }),
    );
    for (const a of [...this.consumers, ...this.outsiders]) {
      await setupTx(
        this.owner,
        this.token,
        encodeFunctionData({ abi: this.c.token.abi, functionName: "mint", args: [a, 10n ** 24n] }),
      );
      await setupTx(
        a,
        this.token,
        encodeFunctionData({
          abi: this.c.token.abi,
          functionName: "approve",
          args: [this.coordinator, maxUint256],
        }),
      );
    }

    // Initial wallet balances (deployment paid some gas before the zero-fee transactions).
    for (const a of this.trackedWallets()) {
      this.eth.set(a, await pc.getBalance({ address: a }));
      this.tok.set(a, await this.c.token.read.balanceOf([a]));
    }
    this.burned = await pc.getBalance({ address: DEAD });
    const [cb, rb] = await Promise.all([
      pc.getBalance({ address: this.coordinator }),
      pc.getBalance({ address: this.registry }),
    ]);
    if (cb !== 0n || rb !== 0n) throw new Error("fresh contracts hold ETH");
  }

  trackedWallets(): Address[] {
    return [...this.wallets, this.example, this.hostile];
  }

  async syncClock(): Promise<void> {
    const pc = await this.conn.viem.getPublicClient();
    const b = await pc.getBlock();
    this.head = b.number;
    this.now = Number(b.timestamp);
  }

  // ---------------------------------------------------------------- operation table

  /** Operation weights, adapted to the state so that most draws have something to act on. */
  opTable(): (readonly [string, number])[] {
    this.pruneOpen();
    const T = this.now + 1;
    let assigned = 0;
    let late = 0;
    let empty = 0;
    let emptyLate = 0;
    let held = 0;
    for (const o of this.open) {
      for (const s of (o.sub.intervals.get(o.interval) as MInterval).slots) {
        if (s.status === S_ASSIGNED) {
          if (T > s.deadline) late += 1;
          else assigned += 1;
        } else if (s.status === S_EMPTY) {
          empty += 1;
          if (T > s.deadline) emptyLate += 1;
        } else if (s.status === S_HELD) held += 1;
      }
    }
    const nodes = [...this.nodes.values()];
    const min = this.params.minStake;
    const unhealthy = nodes.filter(
      (n) => n.jailed || n.staked - n.unbonding < min + this.params.jobBond,
    ).length;
    const unjailable = nodes.some((n) => n.jailed && n.staked - n.unbonding >= min);
    const unregistered = this.nodeKeys.length - nodes.length;
    const has = (x: boolean, hi: number, lo: number) => (x ? hi : lo);
    return [
      ["createSubscription", 7],
      ["exampleRequest", 1.5],
      ["exampleSubscribe", 1],
      ["hostileCreate", 1.5],
      ["fund", 4],
      ["requestInterval", 9],
      ["assign", has(empty > 0, 7, 1)],
      ["deliver", has(assigned > 0, 24, 1)],
      ["deliverWrongNode", 3],
      ["deliverPreviewed", has(empty > 0, 3, 0.3)],
      ["reassign", has(late > 0, 5, 0.5)],
      ["expireSlot", has(emptyLate > 0, 3, 0.5)],
      ["settle", has(held > 0, 4, 0.3)],
      ["cancel", 2.5],
      ["withdrawFunds", 3],
      [
        "withdraw",
        has(
          [...this.coordCredits.values()].some((v) => v > 0n),
          5,
          0.5,
        ),
      ],
      ["register", unregistered > 0 ? (nodes.length < 6 ? 12 : 2) : 0.3],
      ["addStake", 1.5 + unhealthy * 0.6],
      ["requestUnbond", 2.5],
      [
        "withdrawStake",
        has(
          nodes.some((n) => n.unbonding > 0n),
          3.5,
          0.5,
        ),
      ],
      ["unjail", has(unjailable, 3, 0.5)],
      ["judgeBond", 1.5],
      ["assignValidators", this.hasAssignValidators ? 1.5 : 0],
      [
        "judgeRelease",
        has(
          nodes.some((n) => n.judgeBond > 0n),
          1.5,
          0.2,
        ),
      ],
      [
        "slash",
        has(
          nodes.some((n) => n.judgeBond > 0n),
          2,
          0.3,
        ),
      ],
      [
        "withdrawCredits",
        has(
          [...this.regCredits.values()].some((v) => v > 0n),
          2,
          0.3,
        ),
      ],
      ["setHostileMode", 1],
      ["setParams", 0.4],
      ["timeTravel", 5],
      ["mine", 2.5],
    ];
  }

  async step(): Promise<void> {
    const op = this.rng.weighted(this.opTable());
    this.opName = op;
    this.opDesc = "";
    this.touched = this.freshTouched();
    switch (op) {
      case "createSubscription":
        return this.opCreate();
      case "exampleRequest":
        return this.opExampleRequest();
      case "exampleSubscribe":
        return this.opExampleSubscribe();
      case "hostileCreate":
        return this.opHostileCreate();
      case "fund":
        return this.opFund();
      case "requestInterval":
        return this.opRequestInterval();
      case "assign":
        return this.opAssign();
      case "deliver":
        return this.opDeliver("assigned");
      case "deliverWrongNode":
        return this.opDeliver("wrong");
      case "deliverPreviewed":
        return this.opDeliver("previewed");
      case "reassign":
        return this.opReassign();
      case "expireSlot":
        return this.opExpireSlot();
      case "settle":
        return this.opSettle();
      case "cancel":
        return this.opCancel();
      case "withdrawFunds":
        return this.opWithdrawFunds();
      case "withdraw":
        return this.opWithdraw();
      case "register":
        return this.opRegister();
      case "addStake":
        return this.opAddStake();
      case "requestUnbond":
        return this.opRequestUnbond();
      case "withdrawStake":
        return this.opWithdrawStake();
      case "unjail":
        return this.opUnjail();
      case "judgeBond":
        return this.opJudgeBond();
      case "assignValidators":
        return this.opAssignValidators();
      case "judgeRelease":
        return this.opJudgeRelease();
      case "slash":
        return this.opSlash();
      case "withdrawCredits":
        return this.opWithdrawCredits();
      case "setHostileMode":
        return this.opSetHostileMode();
      case "setParams":
        return this.opSetParams();
      case "timeTravel":
        return this.opTimeTravel();
      case "mine":
        return this.opMine();
      default:
        this.fail(`unknown op ${op}`);
    }
  }

  // ---------------------------------------------------------------- subscriptions

  randomSubParams(kind: OwnerKind): { p: SubParams; deposit: bigint } {
    const r = this.rng;
    const T = this.now + 1;
    const recurring = r.chance(0.5);
    const p: SubParams = {
      containerId: r.chance(0.9) ? CONTAINER_A : CONTAINER_B,
      activeAt: 0,
      period: recurring ? r.int(20, 600) : 0,
      frequency: recurring ? r.int(1, 6) : 1,
      redundancy: r.int(1, 3),
      callbackGasLimit: kind === "example" ? r.int(200_000, 400_000) : r.int(0, 300_000),
      lazy: r.chance(0.25),
      paymentToken: ETH,
      paymentAmount: 0n,
      verifier: r.chance(0.15) ? this.verifier : ETH,
      inputs: r.bytes(32),
    };
    const a = r.next();
    if (a < 0.15) p.activeAt = T + r.int(1, 400);
    else if (a < 0.25) p.activeAt = T - r.int(1, 1_500);
    const pay = r.next();
    if (pay < 0.4) p.paymentAmount = r.big(10n ** 12n, 10n ** 16n);
    else if (pay < 0.7 && kind === "eoa") {
      p.paymentToken = this.token;
      p.paymentAmount = r.big(10n ** 12n, 10n ** 18n);
    }
    let deposit = 0n;
    if (p.paymentAmount !== 0n) {
      const perInterval = p.paymentAmount * BigInt(p.redundancy);
      deposit = r.pick([
        0n,
        perInterval,
        perInterval * BigInt(p.frequency),
        perInterval * BigInt(p.frequency + 1),
      ]);
      if (r.chance(0.3)) deposit += r.big(0n, perInterval);
    } else if (r.chance(0.15)) deposit = r.big(1n, 10n ** 15n);
    // occasional invalid parameters
    const bad = r.next();
    if (bad < 0.015) p.redundancy = 0;
    else if (bad < 0.025) p.frequency = 0;
    else if (bad < 0.035) {
      p.period = 0;
      p.frequency = r.int(2, 4);
    } else if (bad < 0.045) p.callbackGasLimit = this.params.maxCallbackGasLimit + r.int(1, 1000);
    else if (bad < 0.055 && kind === "eoa") {
      p.paymentToken = this.token;
      p.paymentAmount = 0n;
    } else if (bad < 0.065) p.containerId = CONTAINER_UNKNOWN;
    else if (bad < 0.075 && this.verifierAllowList) p.verifier = this.judge; // not allow-listed
    return { p, deposit };
  }

  predictCreate(p: SubParams, deposit: bigint, value: bigint): Expect {
    if (p.redundancy === 0) return "InvalidRedundancy";
    if (p.frequency === 0) return "InvalidFrequency";
    if (p.period === 0 && p.frequency > 1) return "InvalidPeriod";
    if (p.callbackGasLimit > this.params.maxCallbackGasLimit) return "CallbackGasLimitTooHigh";
    if (p.paymentToken !== ETH && p.paymentAmount === 0n) return "PaymentTokenWithoutAmount";
    if (p.containerId !== CONTAINER_A && p.containerId !== CONTAINER_B) return "UnknownContainer";
    if (this.verifierAllowList && p.verifier !== ETH && p.verifier !== this.verifier)
      return "UnknownVerifier";
    if (deposit !== 0n || value !== 0n) {
      if (p.paymentToken === ETH && value !== deposit) return "WrongEthAmount";
      if (p.paymentToken !== ETH && value !== 0n) return "UnexpectedEth";
    }
    return null;
  }

  newSubModel(owner: Address, kind: OwnerKind, p: SubParams, deposit: bigint): MSub {
    return {
      id: BigInt(this.subs.length + 1),
      owner,
      kind,
      token: p.paymentAmount !== 0n ? p.paymentToken : ETH,
      price: p.paymentAmount,
      redundancy: p.redundancy,
      lazy: p.lazy,
      verifier: p.verifier,
      period: p.period,
      frequency: p.frequency,
      activeAt: p.activeAt === 0 ? this.now + 1 : p.activeAt,
      cancelled: false,
      lastInterval: 0,
      containerId: p.containerId,
      viewInputs: p.inputs === "0x",
      balance: deposit,
      locked: 0n,
      intervals: new Map(),
    };
  }

  /** Predicts `_requestInterval` at the next block; returns the error or the interval. */
  predictRequest(sub: MSub): { error: Expect; interval: number } {
    const T = this.now + 1;
    if (sub.cancelled) return { error: "SubscriptionIsCancelled", interval: 0 };
    const interval = Fuzz.current(sub.activeAt, sub.period, T);
    if (interval === 0) return { error: "SubscriptionNotActive", interval };
    if (interval > sub.frequency) return { error: "SubscriptionCompleted", interval };
    if (interval <= sub.lastInterval) return { error: "IntervalAlreadyRequested", interval };
    if (sub.viewInputs && sub.kind === "hostile" && this.hostileMode === MODE_REVERT_INPUTS) {
      return { error: "InputsUnavailable", interval };
    }
    if (sub.viewInputs && sub.kind === "hostile" && this.hostileMode === MODE_HUGE_INPUTS) {
      return { error: "InputsTooLarge", interval };
    }
    if (sub.price !== 0n && sub.price * BigInt(sub.redundancy) > sub.balance - sub.locked) {
      return { error: "InsufficientEscrow", interval };
    }
    return { error: null, interval };
  }

  /** Applies a successful `_requestInterval` mined at this.now / this.head. */
  applyRequest(sub: MSub, interval: number, logs: DecodedLog[]): void {
    sub.lastInterval = interval;
    if (sub.price !== 0n) sub.locked += sub.price * BigInt(sub.redundancy);
    const deadline = this.now + this.params.deliveryWindow;
    sub.intervals.set(interval, {
      round: this.head,
      seedRound: this.head,
      requestedAt: this.now,
      delivered: 0,
      reassignments: 0,
      bond: this.params.jobBond,
      missed: [],
      slots: Array.from({ length: sub.redundancy }, () => ({ node: ETH, deadline, status: S_EMPTY })),
    });
    this.open.push({ sub, interval });
    this.touchInterval(sub, interval);
    const ev = this.logsOf(logs, "IntervalRequested");
    if (
      ev.length !== 1 ||
      ev[0]?.args.subscriptionId !== sub.id ||
      ev[0]?.args.interval !== interval ||
      BigInt(ev[0]?.args.round as bigint | number) !== this.head
    ) {
      this.fail(`IntervalRequested event mismatch for sub ${sub.id} interval ${interval}`);
    }
  }

  async createVia(
    owner: Address,
    kind: OwnerKind,
    from: Address,
    to: Address,
    data: Hex,
    value: bigint,
    p: SubParams,
    deposit: bigint,
    viaRequest: boolean,
  ): Promise<void> {
    let expect = this.predictCreate(p, deposit, value);
    const sub = this.newSubModel(owner, kind, p, deposit);
    let interval = 0;
    if (expect === null && viaRequest) {
      const pr = this.predictRequest(sub);
      expect = pr.error;
      interval = pr.interval;
    }
    this.opDesc += ` id=${sub.id} ${kind} red=${p.redundancy} per=${p.period} freq=${p.frequency} price=${p.paymentAmount} tok=${p.paymentToken === ETH ? "ETH" : "ERC20"} dep=${deposit} val=${value} lazy=${p.lazy} ver=${p.verifier !== ETH}`;
    const logs = await this.exec(from, to, data, value, expect);
    if (!logs) return;
    this.subs.push(sub);
    this.touched.subs.add(sub);
    const created = this.logsOf(logs, "SubscriptionCreated");
    if (created.length !== 1 || created[0]?.args.subscriptionId !== sub.id)
      this.fail(`SubscriptionCreated id mismatch, expected ${sub.id}`);
    if (p.paymentToken !== ETH && deposit !== 0n) this.addTok(from, -deposit); // only EOAs pay in the ERC-20
    if (viaRequest) this.applyRequest(sub, interval, logs);
  }

  async opCreate(): Promise<void> {
    const r = this.rng;
    const owner = r.pick(this.consumers);
    const { p, deposit } = this.randomSubParams("eoa");
    let value = p.paymentToken === ETH ? deposit : 0n;
    if (r.chance(0.03)) value += r.big(1n, 1000n);
    const viaRequest = r.chance(0.4);
    this.opDesc = viaRequest ? "requestCompute" : "createSubscription";
    const data = encodeFunctionData({
      abi: this.c.coordinator.abi,
      functionName: viaRequest ? "requestCompute" : "createSubscription",
      args: [p, deposit],
    });
    await this.createVia(owner, "eoa", owner, this.coordinator, data, value, p, deposit, viaRequest);
  }

  async opExampleRequest(): Promise<void> {
    const r = this.rng;
    const redundancy = r.chance(0.03) ? 0 : r.int(1, 3);
    const price = r.chance(0.7) ? r.big(10n ** 12n, 10n ** 16n) : 0n;
    const inputs = r.bytes(32);
    const containerId = r.chance(0.9) ? CONTAINER_A : CONTAINER_B;
    const deposit = price * BigInt(redundancy);
    const p: SubParams = {
      containerId,
      activeAt: 0,
      period: 0,
      frequency: 1,
      redundancy,
      callbackGasLimit: 200_000,
      lazy: false,
      paymentToken: ETH,
      paymentAmount: price,
      verifier: ETH,
      inputs,
    };
    this.opDesc = "ExampleConsumer.request";
    const data = encodeFunctionData({
      abi: this.c.example.abi,
      functionName: "request",
      args: [containerId, inputs, redundancy, price],
    });
    await this.createVia(
      this.example,
      "example",
      this.exampleOwner,
      this.example,
      data,
      deposit,
      p,
      deposit,
      true,
    );
  }

  async opExampleSubscribe(): Promise<void> {
    const { p, deposit } = this.randomSubParams("example");
    if (this.rng.chance(0.5)) p.inputs = "0x"; // inputs from the consumer's getContainerInputs view
    this.opDesc = "ExampleConsumer.subscribe";
    const data = encodeFunctionData({
      abi: this.c.example.abi,
      functionName: "subscribe",
      args: [p, deposit],
    });
    await this.createVia(
      this.example,
      "example",
      this.exampleOwner,
      this.example,
      data,
      deposit,
      p,
      deposit,
      false,
    );
  }

  async opHostileCreate(): Promise<void> {
    const { p, deposit } = this.randomSubParams("hostile");
    // enough gas for the callback to run at all, so whether it fails depends on the mode only
    if (p.callbackGasLimit <= this.params.maxCallbackGasLimit)
      p.callbackGasLimit = this.rng.int(50_000, 300_000);
    if (this.rng.chance(0.5)) p.inputs = "0x";
    const viaRequest = this.rng.chance(0.5);
    this.opDesc = viaRequest ? "HostileConsumer.requestCompute" : "HostileConsumer.create";
    const data = encodeFunctionData({
      abi: this.c.hostile.abi,
      functionName: viaRequest ? "requestCompute" : "create",
      args: [p],
    });
    const from = this.rng.pick(this.outsiders);
    await this.createVia(this.hostile, "hostile", from, this.hostile, data, deposit, p, deposit, viaRequest);
  }

  randomSubId(): { id: bigint; sub: MSub | undefined } {
    const r = this.rng;
    if (this.subs.length === 0 || r.chance(0.04)) {
      const id = r.chance(0.5) ? 0n : BigInt(this.subs.length + 1);
      return { id, sub: undefined };
    }
    const sub = r.pick(this.subs);
    return { id: sub.id, sub };
  }

  async opFund(): Promise<void> {
    const r = this.rng;
    const { id, sub } = this.randomSubId();
    const payer = r.pick([...this.consumers, ...this.outsiders]);
    const token = sub?.token ?? ETH;
    const amount = r.chance(0.05) ? 0n : r.big(1n, sub && sub.price !== 0n ? sub.price * 5n : 10n ** 16n);
    let value = token === ETH ? amount : 0n;
    if (r.chance(0.04)) value += r.big(1n, 100n);
    let expect: Expect = null;
    if (!sub) expect = "UnknownSubscription";
    else if (token === ETH && value !== amount) expect = "WrongEthAmount";
    else if (token !== ETH && value !== 0n) expect = "UnexpectedEth";
    this.opDesc = `sub=${id} amount=${amount} value=${value} payer=${payer.slice(0, 8)}`;
    const data = encodeFunctionData({
      abi: this.c.coordinator.abi,
      functionName: "fund",
      args: [id, amount],
    });
    const logs = await this.exec(payer, this.coordinator, data, value, expect);
    if (!logs || !sub) return;
    sub.balance += amount;
    if (token !== ETH) this.addTok(payer, -amount);
    this.touched.subs.add(sub);
  }

  async opRequestInterval(): Promise<void> {
    const r = this.rng;
    let target: { id: bigint; sub: MSub | undefined };
    const requestable = this.subs.filter((s) => this.predictRequest(s).error === null);
    if (requestable.length > 0 && r.chance(0.7)) {
      const sub = r.pick(requestable);
      target = { id: sub.id, sub };
    } else target = this.randomSubId();
    const { id, sub } = target;
    const caller = r.pick([...this.consumers, ...this.outsiders, ...this.nodeKeys]);
    const pr = sub ? this.predictRequest(sub) : { error: "UnknownSubscription", interval: 0 };
    this.opDesc = `sub=${id} interval=${pr.interval}`;
    const data = encodeFunctionData({
      abi: this.c.coordinator.abi,
      functionName: "requestInterval",
      args: [id],
    });
    const logs = await this.exec(caller, this.coordinator, data, 0n, pr.error);
    if (!logs || !sub) return;
    this.applyRequest(sub, pr.interval, logs);
  }

  /** A random (sub, interval) target: mostly open requested intervals matching `want`, sometimes anything. */
  pickInterval(want: (iv: MInterval) => boolean): { id: bigint; interval: number; sub: MSub | undefined } {
    const r = this.rng;
    this.pruneOpen();
    const cands = this.open.filter((o) => want(o.sub.intervals.get(o.interval) as MInterval));
    if (cands.length > 0 && r.chance(0.85)) {
      const o = r.pick(cands);
      return { id: o.sub.id, interval: o.interval, sub: o.sub };
    }
    const { id, sub } = this.randomSubId();
    if (!sub) return { id, interval: 1, sub };
    const interval =
      sub.lastInterval > 0 && r.chance(0.7) ? r.int(1, sub.lastInterval) : sub.lastInterval + 1;
    return { id, interval, sub };
  }

  async opAssign(): Promise<void> {
    const r = this.rng;
    // Keepers mostly act on intervals whose randomness is ready (rounds expire 256 blocks after the request).
    const B0 = this.head + 1n;
    const readyOnly = r.chance(0.75);
    const { id, interval, sub } = this.pickInterval(
      (iv) =>
        iv.slots.some((s) => s.status === S_EMPTY) &&
        (!readyOnly || Fuzz.roundState(iv.round, B0) === "ready"),
    );
    const caller = r.pick([...this.outsiders, ...this.nodeKeys, ...this.consumers]);
    this.opDesc = `sub=${id} interval=${interval}`;
    const data = encodeFunctionData({
      abi: this.c.coordinator.abi,
      functionName: "assign",
      args: [id, interval],
    });
    if (!sub) {
      await this.exec(caller, this.coordinator, data, 0n, "UnknownSubscription");
      return;
    }
    const iv = sub.intervals.get(interval);
    if (!iv) {
      await this.exec(caller, this.coordinator, data, 0n, "IntervalNotRequested");
      return;
    }
    const B = this.head + 1n;
    const rs = Fuzz.roundState(iv.round, B);
    if (rs === "pending") {
      await this.exec(caller, this.coordinator, data, 0n, "RandomnessNotReady");
      return;
    }
    if (rs === "expired") {
      const logs = await this.exec(caller, this.coordinator, data, 0n, null);
      if (!logs) return;
      iv.round = this.head;
      this.touchInterval(sub, interval);
      if (this.logsOf(logs, "RandomnessRefreshed").length !== 1) this.fail("expected RandomnessRefreshed");
      return;
    }
    const { picks, emptySlots } = await this.expectedPicks(sub, interval, iv);
    this.opDesc += ` empty=${emptySlots.length} picks=${picks.length}`;
    const logs = await this.exec(caller, this.coordinator, data, 0n, null);
    if (!logs) return;
    this.applyAssignments(sub, interval, iv, picks, emptySlots, logs);
  }

  async opDeliver(mode: "assigned" | "wrong" | "previewed"): Promise<void> {
    const r = this.rng;
    let target: { id: bigint; interval: number; sub: MSub | undefined };
    let caller: Address;
    const B0 = this.head + 1n;
    const previewable =
      mode === "previewed"
        ? this.open.filter((o) => {
            const iv = o.sub.intervals.get(o.interval) as MInterval;
            return iv.slots.some((s) => s.status === S_EMPTY) && Fuzz.roundState(iv.round, B0) === "ready";
          })
        : [];
    if (mode === "previewed" && previewable.length > 0) {
      // a node that previewed its pick delivers at once: `deliver` assigns the interval itself
      const o = r.pick(previewable);
      const { picks } = await this.expectedPicks(
        o.sub,
        o.interval,
        o.sub.intervals.get(o.interval) as MInterval,
      );
      target = { id: o.sub.id, interval: o.interval, sub: o.sub };
      caller = picks.length > 0 ? r.pick(picks) : r.pick(this.nodeKeys);
    } else if (mode === "assigned") {
      // the assigned node delivers: mostly in time, sometimes late, sometimes on a random target
      const T0 = this.now + 1;
      this.pruneOpen();
      const inTime: { sub: MSub; interval: number; node: Address }[] = [];
      const late: { sub: MSub; interval: number; node: Address }[] = [];
      for (const o of this.open) {
        for (const sl of (o.sub.intervals.get(o.interval) as MInterval).slots) {
          if (sl.status !== S_ASSIGNED) continue;
          (T0 <= sl.deadline ? inTime : late).push({ sub: o.sub, interval: o.interval, node: sl.node });
        }
      }
      const k = r.next();
      const chosen =
        inTime.length > 0 && k < 0.9
          ? r.pick(inTime)
          : late.length > 0 && k < 0.95
            ? r.pick(late)
            : undefined;
      if (chosen) {
        target = { id: chosen.sub.id, interval: chosen.interval, sub: chosen.sub };
        caller = chosen.node;
      } else {
        target = this.pickInterval(() => true);
        caller = r.pick(this.nodeKeys);
      }
    } else {
      target = this.pickInterval((iv) =>
        iv.slots.some((s) => s.status === S_EMPTY || s.status === S_ASSIGNED),
      );
      const iv = target.sub?.intervals.get(target.interval);
      const holders = new Set(iv ? iv.slots.filter((s) => s.status === S_ASSIGNED).map((s) => s.node) : []);
      const others = this.nodeKeys.filter((n) => !holders.has(n));
      caller = r.chance(0.85) && others.length > 0 ? r.pick(others) : r.pick(this.outsiders);
    }
    const { id, interval, sub } = target;
    const input = r.bytes(32);
    const output = r.bytes(32);
    const proof: Hex = r.chance(0.3) ? r.bytes(16) : "0x";
    this.opDesc = `sub=${id} interval=${interval} node=${caller.slice(0, 8)}`;
    const data = encodeFunctionData({
      abi: this.c.coordinator.abi,
      functionName: "deliver",
      args: [id, interval, input, output, proof],
    });
    if (!sub) {
      await this.exec(caller, this.coordinator, data, 0n, "UnknownSubscription");
      return;
    }
    const iv = sub.intervals.get(interval);
    if (!iv) {
      await this.exec(caller, this.coordinator, data, 0n, "IntervalNotRequested");
      return;
    }
    const T = this.now + 1;
    const B = this.head + 1n;
    let slotIndex = iv.slots.findIndex((s) => s.node === caller && s.status === S_ASSIGNED);
    let implicit: { picks: Address[]; emptySlots: number[] } | undefined;
    if (slotIndex < 0) {
      const rs = Fuzz.roundState(iv.round, B);
      if (rs === "pending") {
        await this.exec(caller, this.coordinator, data, 0n, "RandomnessNotReady");
        return;
      }
      if (rs === "expired") {
        // `_assign` refreshes the round and returns; the caller is not assigned and the whole call reverts.
        await this.exec(caller, this.coordinator, data, 0n, "NotAssigned");
        return;
      }
      implicit = await this.expectedPicks(sub, interval, iv);
      const j = implicit.picks.indexOf(caller);
      if (j < 0) {
        this.opDesc += ` implicit-assign picks=${implicit.picks.length}`;
        await this.exec(caller, this.coordinator, data, 0n, "NotAssigned");
        return;
      }
      slotIndex = implicit.emptySlots[j] as number;
      this.opDesc += ` implicit-assign slot=${slotIndex}`;
    }
    const slot = iv.slots[slotIndex] as MSlot;
    const deadline = implicit ? T + this.params.deliveryWindow : slot.deadline;
    if (T > deadline) {
      await this.exec(caller, this.coordinator, data, 0n, "DeadlinePassed");
      return;
    }
    const logs = await this.exec(caller, this.coordinator, data, 0n, null);
    if (!logs) return;
    if (implicit) {
      this.applyAssignments(sub, interval, iv, implicit.picks, implicit.emptySlots, logs);
      this.counters.implicitAssigns += 1;
    }
    // effects of the delivery
    iv.delivered += 1;
    const node = this.nodes.get(caller) as MNode;
    if (sub.verifier === ETH) {
      slot.status = S_PAID;
      if (sub.price !== 0n) this.payLocked(sub, caller, logs);
      node.bonded -= iv.bond;
    } else slot.status = S_HELD;
    this.touchNode(caller);
    this.touchInterval(sub, interval);
    const delivered = this.logsOf(logs, "Delivered");
    if (
      delivered.length !== 1 ||
      delivered[0]?.args.slot !== slotIndex ||
      getAddress(String(delivered[0]?.args.node)) !== caller
    ) {
      this.fail(`Delivered event mismatch (slot ${slotIndex})`);
    }
    const cbFailed = this.logsOf(logs, "CallbackFailed").length;
    const hostileFails =
      this.hostileMode === MODE_REVERT ||
      this.hostileMode === MODE_BURN_GAS ||
      this.hostileMode === MODE_REENTER;
    const expectFail = !sub.lazy && sub.kind === "hostile" && hostileFails ? 1 : 0;
    if (cbFailed !== expectFail)
      this.fail(
        `CallbackFailed events: ${cbFailed}, expected ${expectFail} (kind ${sub.kind}, mode ${this.hostileMode}, lazy ${sub.lazy})`,
      );
    this.counters.callbackFailures += cbFailed;
    this.counters.deliveries += 1;
    if (sub.lazy) {
      const item = await this.c.coordinator.read.inboxOf([sub.id, interval, caller]);
      this.counters.reads += 1;
      if (item.output !== output || item.timestamp !== this.now)
        this.fail(`inbox item mismatch: ${item.output} at ${item.timestamp}`);
    }
    if (sub.kind === "example" && !sub.lazy) {
      const res = await this.c.example.read.results([sub.id]);
      this.counters.reads += 1;
      if (res[0] !== interval || getAddress(res[1]) !== caller || res[2] !== output)
        this.fail("ExampleConsumer did not store the result");
    }
  }

  /** Releases the slot's locked payment: `payBps` of it to `node` (less the fee on that part), the rest unlocked. */
  payLocked(sub: MSub, node: Address, logs: DecodedLog[], payBps = 10_000): void {
    const amount = sub.price;
    const paidAmount = (amount * BigInt(payBps)) / 10_000n;
    sub.locked -= amount;
    sub.balance -= paidAmount;
    const fee = (paidAmount * BigInt(this.params.feeBps)) / 10_000n;
    const net = paidAmount - fee;
    this.credit(sub.token, node, net);
    if (fee !== 0n) this.credit(sub.token, this.owner, fee);
    this.counters.paidWei += sub.token === ETH ? paidAmount : 0n;
    this.touched.subs.add(sub);
    const paid = this.logsOf(logs, "Paid");
    if (paid.length !== 1 || paid[0]?.args.net !== net || paid[0]?.args.fee !== fee)
      this.fail(`Paid event mismatch: expected net ${net} fee ${fee}`);
    const unlocked = this.logsOf(logs, "Unlocked").map((e) => e.args.amount);
    const refund = amount - paidAmount;
    if (unlocked.length !== (refund === 0n ? 0 : 1) || (refund !== 0n && unlocked[0] !== refund))
      this.fail(`Unlocked event mismatch: expected ${refund}, got [${unlocked.join(", ")}]`);
  }

  /** Checks a Slashed event and the node's state deltas on chain (invariant 4). */
  async checkSlash(
    logs: DecodedLog[],
    node: Address,
    before: { staked: bigint; bonded: bigint },
    bondAmount: bigint,
    taken: bigint,
    burned: bigint,
  ): Promise<void> {
    const ev = this.logsOf(logs, "Slashed");
    if (ev.length !== 1) this.fail(`expected one Slashed event, got ${ev.length}`);
    const a = (ev[0] as DecodedLog).args;
    const evBond = a.bondAmount as bigint;
    const evTaken = a.taken as bigint;
    if (evTaken > evBond) this.fail(`invariant (4): slash took ${evTaken} > bond ${evBond}`);
    if (
      evBond !== bondAmount ||
      evTaken !== taken ||
      a.burned !== burned ||
      getAddress(String(a.node)) !== node
    ) {
      this.fail(
        `Slashed event (${String(a.node)}, ${evBond}, ${evTaken}, ${String(a.burned)}) != model (${node}, ${bondAmount}, ${taken}, ${burned})`,
      );
    }
    const [info] = await this.c.registry.read.getNode([node]);
    this.counters.reads += 1;
    if (before.bonded - info.bonded !== evBond)
      this.fail(`invariant (4): bonded fell by ${before.bonded - info.bonded}, slash bond ${evBond}`);
    if (before.staked - info.staked !== evTaken)
      this.fail(`invariant (4): staked fell by ${before.staked - info.staked}, slash took ${evTaken}`);
    this.counters.slashes += 1;
  }

  async opReassign(): Promise<void> {
    const r = this.rng;
    const T = this.now + 1;
    const { id, interval, sub } = this.pickInterval((iv) =>
      iv.slots.some((s) => s.status === S_ASSIGNED && (T > s.deadline || r.chance(0.2))),
    );
    const iv = sub?.intervals.get(interval);
    let slotIndex = r.int(0, 3);
    if (iv) {
      const late = iv.slots
        .map((s, i) => [s, i] as const)
        .filter(([s]) => s.status === S_ASSIGNED && T > s.deadline);
      if (late.length > 0 && r.chance(0.8)) slotIndex = r.pick(late)[1];
      else if (r.chance(0.8)) slotIndex = r.int(0, iv.slots.length - 1);
    }
    const caller = r.pick([...this.outsiders, ...this.nodeKeys]);
    this.opDesc = `sub=${id} interval=${interval} slot=${slotIndex}`;
    const data = encodeFunctionData({
      abi: this.c.coordinator.abi,
      functionName: "reassign",
      args: [id, interval, slotIndex],
    });
    if (!sub) return void (await this.exec(caller, this.coordinator, data, 0n, "UnknownSubscription"));
    if (!iv || slotIndex >= sub.redundancy)
      return void (await this.exec(caller, this.coordinator, data, 0n, "InvalidSlot"));
    const slot = iv.slots[slotIndex] as MSlot;
    if (slot.status !== S_ASSIGNED)
      return void (await this.exec(caller, this.coordinator, data, 0n, "WrongSlotStatus"));
    if (T <= slot.deadline)
      return void (await this.exec(caller, this.coordinator, data, 0n, "DeadlineNotPassed"));
    const missed = slot.node;
    const node = this.nodes.get(missed) as MNode;
    const before = { staked: node.staked, bonded: node.bonded };
    const logs = await this.exec(caller, this.coordinator, data, 0n, null);
    if (!logs) return;
    const { livenessPenalty, maxReassignments } = this.params;
    const jobBond = iv.bond;
    const penalty = livenessPenalty < jobBond ? livenessPenalty : jobBond;
    if (iv.reassignments >= maxReassignments) {
      slot.status = S_EXPIRED;
      if (sub.price !== 0n) sub.locked -= sub.price;
    } else {
      iv.reassignments += 1;
      iv.missed.push(missed);
      slot.status = S_EMPTY;
      slot.deadline = this.now + this.params.deliveryWindow;
      iv.round = this.head;
    }
    node.bonded -= jobBond;
    node.staked -= penalty;
    this.regCredit(this.owner, penalty);
    this.maybeJail(node);
    this.touchNode(missed);
    this.touchInterval(sub, interval);
    this.counters.reassigns += 1;
    await this.checkSlash(logs, missed, before, jobBond, penalty, 0n);
  }

  async opExpireSlot(): Promise<void> {
    const r = this.rng;
    const T = this.now + 1;
    const { id, interval, sub } = this.pickInterval((iv) =>
      iv.slots.some((s) => s.status === S_EMPTY && (T > s.deadline || r.chance(0.2))),
    );
    const iv = sub?.intervals.get(interval);
    let slotIndex = r.int(0, 3);
    if (iv) {
      const empties = iv.slots.map((s, i) => [s, i] as const).filter(([s]) => s.status === S_EMPTY);
      if (empties.length > 0 && r.chance(0.85)) slotIndex = r.pick(empties)[1];
      else if (r.chance(0.8)) slotIndex = r.int(0, iv.slots.length - 1);
    }
    const caller = r.pick([...this.outsiders, ...this.consumers]);
    this.opDesc = `sub=${id} interval=${interval} slot=${slotIndex}`;
    const data = encodeFunctionData({
      abi: this.c.coordinator.abi,
      functionName: "expireSlot",
      args: [id, interval, slotIndex],
    });
    if (!sub) return void (await this.exec(caller, this.coordinator, data, 0n, "UnknownSubscription"));
    if (!iv || slotIndex >= sub.redundancy)
      return void (await this.exec(caller, this.coordinator, data, 0n, "InvalidSlot"));
    const slot = iv.slots[slotIndex] as MSlot;
    if (slot.status !== S_EMPTY)
      return void (await this.exec(caller, this.coordinator, data, 0n, "WrongSlotStatus"));
    if (T <= slot.deadline)
      return void (await this.exec(caller, this.coordinator, data, 0n, "DeadlineNotPassed"));
    const logs = await this.exec(caller, this.coordinator, data, 0n, null);
    if (!logs) return;
    slot.status = S_EXPIRED;
    if (sub.price !== 0n) sub.locked -= sub.price;
    this.touchInterval(sub, interval);
    if (this.logsOf(logs, "SlotExpired").length !== 1) this.fail("expected SlotExpired");
  }

  async opSettle(): Promise<void> {
    const r = this.rng;
    const { id, interval, sub } = this.pickInterval((iv) => iv.slots.some((s) => s.status === S_HELD));
    const iv = sub?.intervals.get(interval);
    let slotIndex = r.int(0, 3);
    if (iv) {
      const held = iv.slots.map((s, i) => [s, i] as const).filter(([s]) => s.status === S_HELD);
      if (held.length > 0 && r.chance(0.9)) slotIndex = r.pick(held)[1];
      else if (r.chance(0.8)) slotIndex = r.int(0, iv.slots.length - 1);
    }
    // the judge settles through the verifier contract; sometimes an EOA calls the Coordinator directly
    const viaVerifier = r.chance(0.9);
    const from = viaVerifier ? this.judge : r.pick([this.judge, ...this.outsiders]);
    const caller = viaVerifier ? this.verifier : from; // msg.sender seen by the Coordinator
    const to = viaVerifier ? this.verifier : this.coordinator;
    // payBps: 0 refuses; 10,000 pays in full; in between pays that share and unlocks the rest; above is refused
    const u = r.next();
    const payBps = u < 0.35 ? 0 : u < 0.6 ? 10_000 : u < 0.95 ? r.int(1, 9_999) : r.int(10_001, 65_535);
    this.opDesc = `sub=${id} interval=${interval} slot=${slotIndex} payBps=${payBps} via=${viaVerifier ? "verifier" : "eoa"}`;
    const data = viaVerifier
      ? encodeFunctionData({
          abi: this.c.verifier.abi,
          functionName: "settle",
          args: [id, interval, slotIndex, payBps],
        })
      : encodeFunctionData({
          abi: this.c.coordinator.abi,
          functionName: "settle",
          args: [id, interval, slotIndex, payBps],
        });
    if (!sub) return void (await this.exec(from, to, data, 0n, "UnknownSubscription"));
    if (caller !== sub.verifier) return void (await this.exec(from, to, data, 0n, "NotVerifier"));
    if (payBps > 10_000) return void (await this.exec(from, to, data, 0n, "PayBpsTooHigh"));
    if (!iv || slotIndex >= sub.redundancy) return void (await this.exec(from, to, data, 0n, "InvalidSlot"));
    const slot = iv.slots[slotIndex] as MSlot;
    if (slot.status !== S_HELD) return void (await this.exec(from, to, data, 0n, "WrongSlotStatus"));
    const logs = await this.exec(from, to, data, 0n, null);
    if (!logs) return;
    const node = this.nodes.get(slot.node) as MNode;
    if (payBps !== 0) {
      slot.status = S_PAID;
      if (sub.price !== 0n) this.payLocked(sub, slot.node, logs, payBps);
      node.bonded -= iv.bond;
    } else {
      slot.status = S_REFUNDED;
      if (sub.price !== 0n) sub.locked -= sub.price;
      node.judgeBond += iv.bond; // the verifier now answers for this bond
    }
    this.touchNode(slot.node);
    this.touchInterval(sub, interval);
  }

  async opCancel(): Promise<void> {
    const r = this.rng;
    const live = this.subs.filter((s) => !s.cancelled);
    const target = live.length > 0 && r.chance(0.85) ? { id: (r.pick(live) as MSub).id } : this.randomSubId();
    const sub = this.subs[Number(target.id) - 1];
    const id = target.id;
    let from: Address;
    let to: Address = this.coordinator;
    let data: Hex;
    let expect: Expect = null;
    if (sub?.kind === "example") {
      from = this.exampleOwner;
      to = this.example;
      data = encodeFunctionData({ abi: this.c.example.abi, functionName: "cancel", args: [id] });
    } else if (sub?.kind === "hostile") {
      from = r.pick(this.outsiders);
      to = this.hostile;
      data = encodeFunctionData({ abi: this.c.hostile.abi, functionName: "cancel", args: [id] });
    } else {
      from = sub && r.chance(0.9) ? sub.owner : r.pick(this.consumers);
      data = encodeFunctionData({
        abi: this.c.coordinator.abi,
        functionName: "cancelSubscription",
        args: [id],
      });
    }
    if (!sub) expect = "UnknownSubscription";
    else if (to === this.coordinator && from !== sub.owner) expect = "NotSubscriptionOwner";
    else if (sub.cancelled) expect = "SubscriptionIsCancelled";
    this.opDesc = `sub=${id} ${sub?.kind ?? "?"}`;
    const logs = await this.exec(from, to, data, 0n, expect);
    if (!logs || !sub) return;
    sub.cancelled = true;
    const free = sub.balance - sub.locked;
    if (free !== 0n) {
      sub.balance -= free;
      this.credit(sub.token, sub.owner, free);
    }
    this.touched.subs.add(sub);
    const ev = this.logsOf(logs, "SubscriptionCancelled");
    if (ev.length !== 1 || ev[0]?.args.refunded !== free)
      this.fail(`SubscriptionCancelled refunded ${String(ev[0]?.args.refunded)} != ${free}`);
  }

  async opWithdrawFunds(): Promise<void> {
    const r = this.rng;
    const eoaSubs = this.subs.filter((s) => s.kind === "eoa" && s.balance > s.locked);
    const target =
      eoaSubs.length > 0 && r.chance(0.85) ? { id: (r.pick(eoaSubs) as MSub).id } : this.randomSubId();
    const sub = this.subs[Number(target.id) - 1];
    const from = sub && sub.kind === "eoa" && r.chance(0.9) ? sub.owner : r.pick(this.consumers);
    const free = sub ? sub.balance - sub.locked : 0n;
    const k = r.next();
    let amount: bigint;
    if (k < 0.3) amount = maxUint256;
    else if (k < 0.7) amount = r.big(0n, free);
    else if (k < 0.85) amount = free + r.big(1n, 10n ** 15n);
    else amount = 0n;
    let expect: Expect = null;
    if (!sub) expect = "UnknownSubscription";
    else if (from !== sub.owner) expect = "NotSubscriptionOwner";
    else if (amount !== maxUint256 && amount > free) expect = "InsufficientEscrow";
    this.opDesc = `sub=${target.id} amount=${amount === maxUint256 ? "max" : amount} free=${free}`;
    const data = encodeFunctionData({
      abi: this.c.coordinator.abi,
      functionName: "withdrawFunds",
      args: [target.id, amount],
    });
    const logs = await this.exec(from, this.coordinator, data, 0n, expect);
    if (!logs || !sub) return;
    const taken = amount === maxUint256 ? free : amount;
    if (taken !== 0n) {
      sub.balance -= taken;
      this.credit(sub.token, sub.owner, taken);
    }
    this.touched.subs.add(sub);
  }

  async opWithdraw(): Promise<void> {
    const r = this.rng;
    const withCredit = [...this.coordCredits.entries()].filter(([, v]) => v > 0n).map(([k]) => k);
    let token: Address;
    let acct: Address;
    if (withCredit.length > 0 && r.chance(0.8)) {
      const [t, a] = r.pick(withCredit).split("|") as [Address, Address];
      token = t;
      acct = a;
    } else {
      token = r.chance(0.5) ? ETH : this.token;
      acct = r.pick([...this.wallets, this.example, this.hostile]);
    }
    const amount = this.coordCredits.get(this.key(token, acct)) ?? 0n;
    this.opDesc = `${acct.slice(0, 8)} ${token === ETH ? "ETH" : "ERC20"} credit=${amount}`;
    let from: Address = acct;
    let to: Address = this.coordinator;
    let data: Hex = encodeFunctionData({
      abi: this.c.coordinator.abi,
      functionName: "withdraw",
      args: [token],
    });
    if (acct === this.example) {
      from = this.exampleOwner;
      to = this.example;
      data = encodeFunctionData({ abi: this.c.example.abi, functionName: "collectRefund", args: [token] });
    } else if (acct === this.hostile) {
      from = r.pick(this.outsiders);
      to = this.hostile;
      data = encodeFunctionData({ abi: this.c.hostile.abi, functionName: "withdraw", args: [token] });
    }
    const logs = await this.exec(from, to, data, 0n, amount === 0n ? "NothingToWithdraw" : null);
    if (!logs) return;
    this.coordCredits.set(this.key(token, acct), 0n);
    this.touched.credits.add(this.key(token, acct));
    this.noteWithdrawn(`c|${this.key(token, acct)}`, amount);
    if (token === ETH) this.addEth(acct, amount);
    else this.addTok(acct, amount);
    if (acct === this.example && token === ETH) {
      // collectRefund forwards the consumer contract's whole ETH balance to its owner
      const bal = this.eth.get(this.example) ?? 0n;
      this.addEth(this.example, -bal);
      this.addEth(this.exampleOwner, bal);
    }
    const ev = this.logsOf(logs, "Withdrawn");
    if (ev.length !== 1 || ev[0]?.args.amount !== amount)
      this.fail(`Withdrawn amount ${String(ev[0]?.args.amount)} != credit ${amount}`);
  }

  // ---------------------------------------------------------------- nodes

  async opRegister(): Promise<void> {
    const r = this.rng;
    const unregistered = this.nodeKeys.filter((n) => !this.nodes.has(n));
    const registered = [...this.nodes.keys()];
    let node: Address;
    const k = r.next();
    if (k < 0.02) node = ETH;
    else if ((k < 0.12 || unregistered.length === 0) && registered.length > 0) node = r.pick(registered);
    else node = r.pick(unregistered.length > 0 ? unregistered : this.nodeKeys);
    const operator = r.pick(this.operators);
    let stake = r.big(this.params.minStake, this.params.minStake * 3n);
    if (r.chance(0.05)) stake = r.big(0n, this.params.minStake - 1n);
    let value = stake;
    if (r.chance(0.04)) value = stake + r.big(1n, 1000n);
    const endpoint = r.chance(0.02) ? "" : `http://node-${node.slice(2, 8)}.test:4000`;
    let containers: Hex[] = r.pick([
      [CONTAINER_A],
      [CONTAINER_A],
      [CONTAINER_A, CONTAINER_B],
      [CONTAINER_B, CONTAINER_A],
      [CONTAINER_B],
      [],
    ]);
    const bad = r.next();
    if (bad < 0.03) containers = [CONTAINER_A, CONTAINER_A];
    else if (bad < 0.05) containers = [CONTAINER_UNKNOWN];
    let expect: Expect = null;
    if (node === ETH) expect = "ZeroAddress";
    else if (this.nodes.has(node)) expect = "NodeAlreadyRegistered";
    else if (endpoint === "") expect = "EmptyEndpoint";
    else if (stake < this.params.minStake) expect = "StakeBelowMinimum";
    else if (value !== stake) expect = "WrongEthAmount";
    else if (containers.some((cid) => cid === CONTAINER_UNKNOWN)) expect = "UnknownContainer";
    else if (new Set(containers).size !== containers.length) expect = "DuplicateContainer";
    this.opDesc = `node=${node.slice(0, 8)} stake=${fmtEth(stake)} containers=${containers.length}`;
    const data = encodeFunctionData({
      abi: this.c.registry.abi,
      functionName: "register",
      args: [{ node, endpoint, containers, hardware: { gpuModel: "cpu", vramMiB: 0, gpuCount: 0 }, stake }],
    });
    const logs = await this.exec(operator, this.registry, data, value, expect);
    if (!logs) return;
    this.nodes.set(node, {
      addr: node,
      operator,
      containers: [...containers],
      staked: stake,
      bonded: 0n,
      unbonding: 0n,
      unlockAt: 0,
      jailed: false,
      judgeBond: 0n,
    });
    for (const cid of containers) (this.containerLists.get(cid) as Address[]).push(node);
    this.touchNode(node);
  }

  /** A node for an operator action: mostly registered ones with its operator as caller. */
  pickNodeAction(pref?: (n: MNode) => boolean): {
    node: Address;
    n: MNode | undefined;
    caller: Address;
    expect: Expect;
  } {
    const r = this.rng;
    const all = [...this.nodes.values()];
    const preferred = pref ? all.filter(pref) : all;
    let n: MNode | undefined;
    let node: Address;
    if (preferred.length > 0 && r.chance(0.8)) n = r.pick(preferred);
    else if (all.length > 0 && r.chance(0.85)) n = r.pick(all);
    if (n) node = n.addr;
    else node = r.pick(this.nodeKeys.filter((k) => !this.nodes.has(k)).concat(this.outsiders));
    let caller = n ? n.operator : r.pick(this.operators);
    if (n && r.chance(0.06))
      caller = r.pick([...this.operators.filter((o) => o !== n?.operator), this.judge]);
    let expect: Expect = null;
    if (!n) expect = "NodeNotRegistered";
    else if (caller !== n.operator) expect = "NotOperator";
    return { node, n, caller, expect };
  }

  async opAddStake(): Promise<void> {
    const r = this.rng;
    const {
      node,
      n,
      caller,
      expect: e0,
    } = this.pickNodeAction((x) => x.jailed || x.staked < this.params.minStake * 2n);
    const amount = r.chance(0.05) ? 0n : r.big(1n, this.params.minStake);
    let value = amount;
    if (r.chance(0.04)) value += r.big(1n, 1000n);
    let expect = e0;
    if (expect === null && value !== amount) expect = "WrongEthAmount";
    this.opDesc = `node=${node.slice(0, 8)} amount=${amount}`;
    const data = encodeFunctionData({
      abi: this.c.registry.abi,
      functionName: "addStake",
      args: [node, amount],
    });
    const logs = await this.exec(caller, this.registry, data, value, expect);
    if (!logs || !n) return;
    n.staked += amount;
    this.touchNode(node);
  }

  async opRequestUnbond(): Promise<void> {
    const r = this.rng;
    const { node, n, caller, expect: e0 } = this.pickNodeAction((x) => this.free(x) > 0n);
    const free = n ? this.free(n) : 0n;
    const k = r.next();
    let amount: bigint;
    const cap = free < this.params.minStake ? free : this.params.minStake;
    if (k < 0.6) amount = r.big(1n, cap > 0n ? cap : 1n);
    else if (k < 0.7) amount = free;
    else if (k < 0.9) amount = free + r.big(1n, 10n ** 17n);
    else amount = 0n;
    let expect = e0;
    if (expect === null && (amount === 0n || amount > free)) expect = "StakeBonded";
    this.opDesc = `node=${node.slice(0, 8)} amount=${amount} free=${free}`;
    const data = encodeFunctionData({
      abi: this.c.registry.abi,
      functionName: "requestUnbond",
      args: [node, amount],
    });
    const logs = await this.exec(caller, this.registry, data, 0n, expect);
    if (!logs || !n) return;
    n.unbonding += amount;
    n.unlockAt = this.now + this.params.unbondingDelay;
    this.touchNode(node);
  }

  async opWithdrawStake(): Promise<void> {
    const { node, n, caller, expect: e0 } = this.pickNodeAction((x) => x.unbonding > 0n);
    const T = this.now + 1;
    let expect = e0;
    if (expect === null && n) {
      if (n.unbonding === 0n) expect = "NothingToWithdraw";
      else if (T < n.unlockAt) expect = "UnbondingNotElapsed";
    }
    this.opDesc = `node=${node.slice(0, 8)} unbonding=${n?.unbonding ?? 0n} unlockAt=${n?.unlockAt ?? 0} now=${T}`;
    const data = encodeFunctionData({
      abi: this.c.registry.abi,
      functionName: "withdrawStake",
      args: [node],
    });
    const logs = await this.exec(caller, this.registry, data, 0n, expect);
    if (expect === "UnbondingNotElapsed") this.counters.withdrawStakeEarly += 1;
    if (!logs || !n) return;
    const amount = n.unbonding;
    n.staked -= amount;
    n.unbonding = 0n;
    this.addEth(n.operator, amount);
    this.touchNode(node);
    const ev = this.logsOf(logs, "StakeWithdrawn");
    if (ev.length !== 1 || ev[0]?.args.amount !== amount)
      this.fail(`StakeWithdrawn amount ${String(ev[0]?.args.amount)} != ${amount}`);
  }

  async opUnjail(): Promise<void> {
    const { node, n, caller, expect: e0 } = this.pickNodeAction((x) => x.jailed);
    let expect = e0;
    if (expect === null && n) {
      if (!n.jailed) expect = "NodeNotJailed";
      else if (n.staked - n.unbonding < this.params.minStake) expect = "StakeBelowMinimum";
    }
    this.opDesc = `node=${node.slice(0, 8)}`;
    const data = encodeFunctionData({ abi: this.c.registry.abi, functionName: "unjail", args: [node] });
    const logs = await this.exec(caller, this.registry, data, 0n, expect);
    if (!logs || !n) return;
    n.jailed = false;
    this.touchNode(node);
  }

  pickAnyNode(pref?: (n: MNode) => boolean): { node: Address; n: MNode | undefined } {
    const r = this.rng;
    const all = [...this.nodes.values()];
    const preferred = pref ? all.filter(pref) : all;
    if (preferred.length > 0 && r.chance(0.85)) {
      const n = r.pick(preferred);
      return { node: n.addr, n };
    }
    if (all.length > 0 && r.chance(0.8)) {
      const n = r.pick(all);
      return { node: n.addr, n };
    }
    return { node: r.pick(this.outsiders), n: undefined };
  }

  async opJudgeBond(): Promise<void> {
    const r = this.rng;
    const { node, n } = this.pickAnyNode((x) => this.free(x) > 0n);
    const free = n ? this.free(n) : 0n;
    const cap = free < parseEther("0.3") ? free : parseEther("0.3");
    let amount = r.chance(0.85) ? r.big(0n, cap) : free + r.big(1n, 10n ** 17n);
    if (r.chance(0.03)) amount = 0n;
    const caller = r.chance(0.95) ? this.judge : r.pick(this.outsiders);
    let expect: Expect = null;
    if (caller !== this.judge) expect = "NotBonder";
    else if (amount > free) expect = "InsufficientFreeStake";
    this.opDesc = `node=${node.slice(0, 8)} amount=${amount} free=${free}`;
    const data = encodeFunctionData({ abi: this.c.registry.abi, functionName: "bond", args: [node, amount] });
    const logs = await this.exec(caller, this.registry, data, 0n, expect);
    if (!logs || !n) return;
    n.bonded += amount;
    n.judgeBond += amount;
    this.touchNode(node);
  }

  /** The judge (an authorised bonder) draws validators: same weighted choice, skipping one operator's nodes. */
  async opAssignValidators(): Promise<void> {
    const r = this.rng;
    const containerId = r.chance(0.85) ? CONTAINER_A : CONTAINER_B;
    const count = r.int(0, 3);
    const seed = r.bytes(32);
    const exclude = [...this.nodes.keys()].filter(() => r.chance(0.2));
    const excludeOperator = r.chance(0.6) ? r.pick(this.operators) : ETH;
    const amount = r.chance(0.1) ? 0n : r.big(1n, parseEther("0.2"));
    const caller = r.chance(0.95) ? this.judge : r.pick(this.outsiders);
    const picks =
      caller === this.judge ? this.select(containerId, count, seed, exclude, excludeOperator, amount) : [];
    this.opDesc = `count=${count} exclude=${exclude.length} op=${excludeOperator.slice(0, 8)} amount=${amount} picks=${picks.length}`;
    const data = encodeFunctionData({
      abi: this.c.registry.abi as Abi,
      functionName: "assignValidators",
      args: [containerId, BigInt(count), seed, exclude, excludeOperator, amount],
    });
    const logs = await this.exec(caller, this.registry, data, 0n, caller === this.judge ? null : "NotBonder");
    if (!logs) return;
    const bonded = this.logsOf(logs, "Bonded");
    if (
      bonded.length !== picks.length ||
      bonded.some((b, i) => getAddress(String(b.args.node)) !== picks[i] || b.args.amount !== amount)
    ) {
      this.fail(
        `assignValidators picked ${bonded.map((b) => String(b.args.node)).join(",")}, model ${picks.join(",")}`,
      );
    }
    for (const a of picks) {
      const n = this.nodes.get(a) as MNode;
      n.bonded += amount;
      n.judgeBond += amount;
      this.touchNode(a);
    }
  }

  async opJudgeRelease(): Promise<void> {
    const r = this.rng;
    const { node, n } = this.pickAnyNode((x) => x.judgeBond > 0n);
    const amount =
      n && n.judgeBond > 0n && r.chance(0.9) ? r.big(1n, n.judgeBond) : n ? n.bonded + r.big(1n, 1000n) : 1n;
    let expect: Expect = null;
    if (!n || amount > n.bonded) expect = "BondExceedsBonded";
    this.opDesc = `node=${node.slice(0, 8)} amount=${amount}`;
    const data = encodeFunctionData({
      abi: this.c.registry.abi,
      functionName: "releaseBond",
      args: [node, amount],
    });
    const logs = await this.exec(this.judge, this.registry, data, 0n, expect);
    if (!logs || !n) return;
    n.bonded -= amount;
    n.judgeBond -= amount;
    this.touchNode(node);
  }

  async opSlash(): Promise<void> {
    const r = this.rng;
    const { node, n } = this.pickAnyNode((x) => x.judgeBond > 0n);
    let bondAmount: bigint;
    if (n && n.judgeBond > 0n && r.chance(0.9)) bondAmount = r.big(0n, n.judgeBond);
    else bondAmount = (n?.bonded ?? 0n) + r.big(1n, 10n ** 17n);
    // shares: up to 3 recipients (treasury, judge, a consumer, or burn) summing to at most bondAmount
    const shares: { to: Address; amount: bigint }[] = [];
    let left = bondAmount;
    const count = r.int(0, 3);
    for (let i = 0; i < count; i++) {
      const to = r.pick([this.owner, this.judge, r.pick(this.consumers), ETH]);
      const amount = r.chance(0.3) ? left : r.big(0n, left);
      shares.push({ to, amount });
      left -= amount;
    }
    if (r.chance(0.07) && bondAmount > 0n) shares.push({ to: this.judge, amount: left + r.big(1n, 1000n) });
    const taken = shares.reduce((s, x) => s + x.amount, 0n);
    const burned = shares.filter((s) => s.to === ETH).reduce((s, x) => s + x.amount, 0n);
    const caller = r.chance(0.96) ? this.judge : r.pick(this.outsiders);
    let expect: Expect = null;
    if (caller !== this.judge) expect = "NotSlasher";
    else if (bondAmount > (n?.bonded ?? 0n)) expect = "BondExceedsBonded";
    else if (taken > bondAmount) expect = "SlashExceedsBond";
    this.opDesc = `node=${node.slice(0, 8)} bond=${bondAmount} taken=${taken} burned=${burned} shares=${shares.length}`;
    const before = n ? { staked: n.staked, bonded: n.bonded } : { staked: 0n, bonded: 0n };
    const data = encodeFunctionData({
      abi: this.c.registry.abi,
      functionName: "slash",
      args: [node, bondAmount, shares],
    });
    const logs = await this.exec(caller, this.registry, data, 0n, expect);
    if (!logs) return;
    if (!n) {
      // bondAmount 0 on an unregistered address: nothing to take
      await this.checkSlash(logs, node, before, bondAmount, taken, burned);
      return;
    }
    n.bonded -= bondAmount;
    n.judgeBond -= bondAmount;
    n.staked -= taken;
    for (const s of shares) if (s.to !== ETH && s.amount !== 0n) this.regCredit(s.to, s.amount);
    for (const s of shares) if (s.to !== ETH) this.touched.regCredits.add(s.to);
    this.burned += burned;
    this.maybeJail(n);
    this.touchNode(node);
    await this.checkSlash(logs, node, before, bondAmount, taken, burned);
  }

  async opWithdrawCredits(): Promise<void> {
    const r = this.rng;
    const withCredit = [...this.regCredits.entries()].filter(([, v]) => v > 0n).map(([a]) => a);
    const acct = withCredit.length > 0 && r.chance(0.85) ? r.pick(withCredit) : r.pick(this.wallets);
    const amount = this.regCredits.get(acct) ?? 0n;
    this.opDesc = `${acct.slice(0, 8)} credit=${amount}`;
    const data = encodeFunctionData({ abi: this.c.registry.abi, functionName: "withdrawCredits", args: [] });
    const logs = await this.exec(acct, this.registry, data, 0n, amount === 0n ? "NothingToWithdraw" : null);
    if (!logs) return;
    this.regCredits.set(acct, 0n);
    this.touched.regCredits.add(acct);
    this.noteWithdrawn(`r|${acct}`, amount);
    this.addEth(acct, amount);
  }

  async opSetHostileMode(): Promise<void> {
    const mode = this.rng.pick([
      MODE_REVERT,
      MODE_BURN_GAS,
      MODE_REENTER,
      MODE_REVERT_INPUTS,
      MODE_HUGE_INPUTS,
    ]);
    this.opDesc = `mode=${mode}`;
    const data = encodeFunctionData({ abi: this.c.hostile.abi, functionName: "setMode", args: [mode] });
    const logs = await this.exec(this.rng.pick(this.outsiders), this.hostile, data, 0n, null);
    if (logs) this.hostileMode = mode;
  }

  /**
   * Governance changes Coordinator parameters mid-run; requested intervals keep the job bond they started with.
   * The Params struct is built from the ABI and the current on-chain values, so fields this test does not know about
   * keep their values.
   */
  async opSetParams(): Promise<void> {
    const r = this.rng;
    const abi = this.c.coordinator.abi as Abi;
    const fn = abi.find((x) => x.type === "function" && x.name === "setParams");
    const comps =
      fn && fn.type === "function"
        ? ((fn.inputs[0] as { components?: { name: string }[] }).components ?? [])
        : [];
    const current = (await this.c.coordinator.read.params()) as readonly unknown[];
    const next: Record<string, unknown> = {};
    comps.forEach((c, i) => (next[c.name] = current[i]));
    const cur = this.params;
    const jobBond = r.chance(0.5)
      ? cur.jobBond
      : r.pick([0n, parseEther("0.05"), parseEther("0.1"), parseEther("0.2")]);
    next.deliveryWindow = r.chance(0.6) ? cur.deliveryWindow : r.pick([120, 300, 900]);
    next.feeBps = r.chance(0.6) ? cur.feeBps : r.pick([0, 50, 100, 1_000]);
    next.maxReassignments = r.chance(0.6) ? cur.maxReassignments : r.pick([0, 1, 3]);
    next.jobBond = jobBond;
    next.livenessPenalty = r.chance(0.5)
      ? cur.livenessPenalty
      : r.pick([parseEther("0.01"), jobBond, jobBond * 2n]);
    const bad = r.next();
    let from = this.owner;
    let expect: Expect = null;
    if (bad < 0.05) {
      from = r.pick(this.outsiders);
      expect = "OwnableUnauthorizedAccount";
    } else if (bad < 0.1) {
      next.feeBps = 1_001 + r.int(0, 5_000);
      expect = "FeeTooHigh";
    } else if (bad < 0.13) {
      next.deliveryWindow = 0;
      expect = "InvalidParams";
    }
    this.opDesc = `window=${String(next.deliveryWindow)} fee=${String(next.feeBps)} maxRe=${String(next.maxReassignments)} bond=${jobBond} penalty=${String(next.livenessPenalty)}`;
    const data = encodeFunctionData({ abi, functionName: "setParams", args: [next] });
    const logs = await this.exec(from, this.coordinator, data, 0n, expect);
    if (!logs) return;
    this.params = {
      ...this.params,
      deliveryWindow: next.deliveryWindow as number,
      feeBps: next.feeBps as number,
      maxReassignments: next.maxReassignments as number,
      jobBond,
      livenessPenalty: next.livenessPenalty as bigint,
    };
  }

  async opTimeTravel(): Promise<void> {
    const r = this.rng;
    const k = r.next();
    const { deliveryWindow, unbondingDelay } = this.params;
    let delta: number;
    if (k < 0.55) delta = r.int(1, 120);
    else if (k < 0.85) delta = r.int(Math.floor(deliveryWindow / 2), deliveryWindow * 2);
    else delta = r.int(Math.floor(unbondingDelay / 2), Math.floor(unbondingDelay * 1.5));
    this.opDesc = `+${delta}s`;
    await this.rpc("evm_mine", [this.now + delta]);
    this.now += delta;
    this.head += 1n;
    this.stat(this.opName).ok += 1;
    this.recent.push(`#${this.opIndex} timeTravel ${this.opDesc}`);
  }

  async opMine(): Promise<void> {
    const r = this.rng;
    const n = r.chance(0.8) ? r.int(1, 20) : r.int(250, 300);
    this.opDesc = `${n} blocks`;
    await this.rpc("hardhat_mine", [toHex(n), "0x1"]);
    this.now += n;
    this.head += BigInt(n);
    this.stat(this.opName).ok += 1;
    this.recent.push(`#${this.opIndex} mine ${this.opDesc}`);
  }

  // ---------------------------------------------------------------- invariant checks

  modelSums(): { coordEth: bigint; coordTok: bigint; registry: bigint } {
    let coordEth = 0n;
    let coordTok = 0n;
    for (const s of this.subs) {
      if (s.token === ETH) coordEth += s.balance;
      else coordTok += s.balance;
    }
    for (const [k, v] of this.coordCredits) {
      if (k.startsWith(`${ETH}|`)) coordEth += v;
      else coordTok += v;
    }
    let registry = 0n;
    for (const n of this.nodes.values()) registry += n.staked;
    for (const v of this.regCredits.values()) registry += v;
    return { coordEth, coordTok, registry };
  }

  async compareSub(sub: MSub): Promise<void> {
    const [[balance, locked], info] = await Promise.all([
      this.c.coordinator.read.escrowOf([sub.id]),
      this.c.coordinator.read.getSubscription([sub.id]),
    ]);
    this.counters.reads += 2;
    if (locked > balance) this.fail(`invariant: sub ${sub.id} locked ${locked} > balance ${balance}`);
    this.eq(balance, sub.balance, `escrow balance of sub ${sub.id}`);
    this.eq(locked, sub.locked, `escrow locked of sub ${sub.id}`);
    this.eq(info.cancelled, sub.cancelled, `cancelled of sub ${sub.id}`);
    this.eq(info.lastInterval, sub.lastInterval, `lastInterval of sub ${sub.id}`);
    this.eq(getAddress(info.owner), sub.owner, `owner of sub ${sub.id}`);
    this.eq(info.activeAt, sub.activeAt, `activeAt of sub ${sub.id}`);
  }

  async compareInterval(sub: MSub, interval: number): Promise<void> {
    const iv = sub.intervals.get(interval);
    const [state, , slots] = await this.c.coordinator.read.getInterval([sub.id, interval]);
    this.counters.reads += 1;
    if (!iv) {
      this.eq(state.requestedAt, 0, `requestedAt of unrequested sub ${sub.id} interval ${interval}`);
      return;
    }
    const what = `sub ${sub.id} interval ${interval}`;
    const st = state as unknown as Record<string, unknown>;
    this.eq(BigInt(st.round as bigint | number), iv.round, `round of ${what}`);
    if ("seedRound" in st)
      this.eq(BigInt(st.seedRound as bigint | number), iv.seedRound, `seedRound of ${what}`);
    this.eq(state.requestedAt, iv.requestedAt, `requestedAt of ${what}`);
    this.eq(state.delivered, iv.delivered, `delivered of ${what}`);
    this.eq(state.reassignments, iv.reassignments, `reassignments of ${what}`);
    this.eq(state.bond, iv.bond, `bond of ${what}`);
    this.eq(slots.length, iv.slots.length, `slot count of ${what}`);
    slots.forEach((s, i) => {
      const m = iv.slots[i] as MSlot;
      this.eq(getAddress(s.node), m.node, `node of ${what} slot ${i}`);
      this.eq(s.deadline, m.deadline, `deadline of ${what} slot ${i}`);
      if (s.status !== m.status)
        this.fail(
          `status of ${what} slot ${i}: chain ${STATUS_NAMES[s.status]} != model ${STATUS_NAMES[m.status]}`,
        );
    });
  }

  async compareNode(addr: Address): Promise<void> {
    const [info] = await this.c.registry.read.getNode([addr]);
    this.counters.reads += 1;
    if (info.bonded + info.unbonding > info.staked)
      this.fail(
        `invariant (3): node ${addr} bonded ${info.bonded} + unbonding ${info.unbonding} > staked ${info.staked}`,
      );
    const n = this.nodes.get(addr);
    const what = `node ${addr}`;
    this.eq(info.staked, n?.staked ?? 0n, `staked of ${what}`);
    this.eq(info.bonded, n?.bonded ?? 0n, `bonded of ${what}`);
    this.eq(info.unbonding, n?.unbonding ?? 0n, `unbonding of ${what}`);
    this.eq(info.unlockAt, n?.unlockAt ?? 0, `unlockAt of ${what}`);
    this.eq(info.jailed, n?.jailed ?? false, `jailed of ${what}`);
    this.eq(getAddress(info.operator), n?.operator ?? ETH, `operator of ${what}`);
    if (n && n.judgeBond > n.bonded)
      this.fail(`model: judge bond ${n.judgeBond} > bonded ${n.bonded} for ${what}`);
  }

  async compareCredit(k: string): Promise<void> {
    const [token, acct] = k.split("|") as [Address, Address];
    const v = await this.c.coordinator.read.credits([token, acct]);
    this.counters.reads += 1;
    this.eq(
      v,
      this.coordCredits.get(k) ?? 0n,
      `Coordinator credits ${token === ETH ? "ETH" : "ERC20"} of ${acct}`,
    );
  }

  async compareRegCredit(a: Address): Promise<void> {
    const v = await this.c.registry.read.credits([a]);
    this.counters.reads += 1;
    this.eq(v, this.regCredits.get(a) ?? 0n, `NodeRegistry credits of ${a}`);
  }

  async compareWallet(a: Address): Promise<void> {
    if (!this.eth.has(a)) return; // an address we do not track (e.g. a contract)
    const pc = await this.conn.viem.getPublicClient();
    const [e, t] = await Promise.all([pc.getBalance({ address: a }), this.c.token.read.balanceOf([a])]);
    this.counters.reads += 2;
    this.eq(e, this.eth.get(a), `ETH wallet balance of ${a}`);
    this.eq(t, this.tok.get(a) ?? 0n, `token wallet balance of ${a}`);
  }

  /** Checks run after every operation. */
  async checkAfterOp(): Promise<void> {
    const pc = await this.conn.viem.getPublicClient();
    const t = this.touched;
    const sums = this.modelSums();
    const [coordEth, coordTok, regEth, deadEth, block, count, totalBurned] = await Promise.all([
      pc.getBalance({ address: this.coordinator }),
      this.c.token.read.balanceOf([this.coordinator]),
      pc.getBalance({ address: this.registry }),
      pc.getBalance({ address: DEAD }),
      pc.getBlock(),
      this.c.coordinator.read.subscriptionCount(),
      this.c.registry.read.totalBurned(),
      ...[...t.subs].map((s) => this.compareSub(s)),
      ...[...t.intervals].map((k) => {
        const [id, iv] = k.split("|");
        const sub = this.subs[Number(id) - 1];
        return sub ? this.compareInterval(sub, Number(iv)) : Promise.resolve();
      }),
      ...[...t.credits].map((k) => this.compareCredit(k)),
      ...[...t.nodes].map((a) => this.compareNode(a)),
      ...[...t.regCredits].map((a) => this.compareRegCredit(a)),
      ...[...t.wallets].map((a) => this.compareWallet(a)),
    ]);
    this.counters.reads += 7;
    this.eq(coordEth, sums.coordEth, "invariant (1): Coordinator ETH balance vs Σ escrow + Σ credits (ETH)");
    this.eq(
      coordTok,
      sums.coordTok,
      "invariant (1): Coordinator token balance vs Σ escrow + Σ credits (ERC-20)",
    );
    this.eq(regEth, sums.registry, "invariant (1): NodeRegistry balance vs Σ staked + Σ credits");
    this.eq(deadEth, this.burned, "burned ETH at 0xdead");
    this.eq(block.number, this.head, "block number");
    this.eq(Number(block.timestamp), this.now, "block timestamp");
    this.eq(count, BigInt(this.subs.length), "subscriptionCount");
    this.eq(totalBurned + (this.burnedAtStart ?? 0n), this.burned, "totalBurned");
  }

  burnedAtStart: bigint | undefined;

  /** Full sweep: everything read from chain, sums recomputed from chain values alone, all compared with the model. */
  async sweep(withIntervals: boolean): Promise<void> {
    const pc = await this.conn.viem.getPublicClient();
    this.counters.sweeps += 1;
    const accounts = this.trackedWallets();
    // (1) from chain reads only
    const escrows = await Promise.all(this.subs.map((s) => this.c.coordinator.read.escrowOf([s.id])));
    const infos = await Promise.all(this.subs.map((s) => this.c.coordinator.read.getSubscription([s.id])));
    const credEth = await Promise.all(accounts.map((a) => this.c.coordinator.read.credits([ETH, a])));
    const credTok = await Promise.all(accounts.map((a) => this.c.coordinator.read.credits([this.token, a])));
    const nodeInfos = await Promise.all(this.nodeKeys.map((a) => this.c.registry.read.getNode([a])));
    const regCred = await Promise.all(accounts.map((a) => this.c.registry.read.credits([a])));
    const [coordEth, coordTok, regEth] = await Promise.all([
      pc.getBalance({ address: this.coordinator }),
      this.c.token.read.balanceOf([this.coordinator]),
      pc.getBalance({ address: this.registry }),
    ]);
    this.counters.reads += escrows.length * 2 + accounts.length * 3 + nodeInfos.length + 3;
    let sumEth = 0n;
    let sumTok = 0n;
    escrows.forEach(([balance, locked], i) => {
      const info = infos[i];
      if (!info) return;
      if (locked > balance) this.fail(`sweep: sub ${i + 1} locked ${locked} > balance ${balance}`);
      if (info.paymentToken === ETH) sumEth += balance;
      else sumTok += balance;
    });
    for (const v of credEth) sumEth += v;
    for (const v of credTok) sumTok += v;
    this.eq(
      coordEth,
      sumEth,
      "sweep invariant (1): Coordinator ETH balance vs Σ escrowOf + Σ credits read from chain",
    );
    this.eq(
      coordTok,
      sumTok,
      "sweep invariant (1): Coordinator token balance vs Σ escrowOf + Σ credits read from chain",
    );
    let sumReg = 0n;
    for (const [info] of nodeInfos) {
      if (info.bonded + info.unbonding > info.staked)
        this.fail(`sweep invariant (3): bonded + unbonding > staked`);
      sumReg += info.staked;
    }
    for (const v of regCred) sumReg += v;
    this.eq(
      regEth,
      sumReg,
      "sweep invariant (1): NodeRegistry balance vs Σ staked + Σ credits read from chain",
    );
    // every model key must be among the swept accounts
    for (const k of this.coordCredits.keys()) {
      const acct = k.split("|")[1] as Address;
      if (!accounts.includes(acct)) this.fail(`credited account ${acct} outside the swept set`);
    }
    for (const a of this.regCredits.keys())
      if (!accounts.includes(a)) this.fail(`registry-credited account ${a} outside the swept set`);
    // model equality for everything
    for (const s of this.subs) await this.compareSub(s);
    for (const a of accounts) {
      await this.compareCredit(this.key(ETH, a));
      await this.compareCredit(this.key(this.token, a));
      await this.compareRegCredit(a);
      await this.compareWallet(a);
    }
    for (const a of this.nodeKeys) await this.compareNode(a);
    if (withIntervals) {
      for (const s of this.subs)
        for (const interval of s.intervals.keys()) await this.compareInterval(s, interval);
    }
  }

  // ---------------------------------------------------------------- driver

  async run(): Promise<string> {
    const started = performance.now();
    await this.init();
    this.burnedAtStart = this.burned;
    // a few registrations to start with, through the same checked path
    for (let i = 0; i < 4; i++) {
      this.opIndex = -1;
      this.opName = "register";
      this.touched = this.freshTouched();
      await this.opRegister();
      await this.checkAfterOp();
    }
    const setupMs = performance.now() - started;
    const loopStart = performance.now();
    for (this.opIndex = 0; this.opIndex < OPS; this.opIndex++) {
      await this.step();
      await this.checkAfterOp();
      if ((this.opIndex + 1) % SWEEP_EVERY === 0)
        await this.sweep((this.opIndex + 1) % INTERVAL_SWEEP_EVERY === 0);
      if (this.recent.length > 200) this.recent.splice(0, 100);
    }
    this.opIndex = OPS;
    this.opName = "final sweep";
    await this.sweep(true);
    const loopMs = performance.now() - loopStart;
    return this.summary(setupMs, loopMs);
  }

  summary(setupMs: number, loopMs: number): string {
    const lines: string[] = [];
    lines.push(
      `FUZZ_SEED=${this.seed} ops=${OPS} duration=${(loopMs / 1000).toFixed(1)}s (+${(setupMs / 1000).toFixed(1)}s setup), ${((OPS * 1000) / loopMs).toFixed(0)} ops/s, ${this.counters.reads} checking reads, ${this.counters.sweeps} full sweeps`,
    );
    const p = this.params;
    lines.push(
      `final params: deliveryWindow=${p.deliveryWindow}s unbondingDelay=${p.unbondingDelay}s feeBps=${p.feeBps} maxReassignments=${p.maxReassignments} jobBond=${p.jobBond} livenessPenalty=${p.livenessPenalty} judgeWindow=${this.judgeWindow}s`,
    );
    lines.push("operation            ok  reverted (by error)");
    const totals = new Map<string, number>();
    let ok = 0;
    let rev = 0;
    for (const [name, s] of [...this.stats.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
      const reverts = [...s.reverts.entries()].sort((a, b) => b[1] - a[1]);
      const n = reverts.reduce((x, [, c]) => x + c, 0);
      ok += s.ok;
      rev += n;
      for (const [e, c] of reverts) totals.set(e, (totals.get(e) ?? 0) + c);
      lines.push(
        `${name.padEnd(20)} ${String(s.ok).padStart(4)}  ${String(n).padStart(4)}  ${reverts.map(([e, c]) => `${e}:${c}`).join(" ")}`,
      );
    }
    lines.push(`total: ${ok} succeeded, ${rev} reverted as predicted`);
    lines.push(
      `reverts by error: ${[...totals.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([e, c]) => `${e}:${c}`)
        .join(" ")}`,
    );
    const c = this.counters;
    lines.push(
      `state: ${this.subs.length} subscriptions, ${this.subs.reduce((x, s) => x + s.intervals.size, 0)} intervals, ${this.nodes.size} nodes (${[...this.nodes.values()].filter((n) => n.jailed).length} jailed); ` +
        `${c.assignedSlots} slots assigned, ${c.deliveries} deliveries (${c.implicitAssigns} with implicit assignment, ${c.callbackFailures} failed callbacks), ${c.reassigns} reassignments, ${c.slashes} slashes, ` +
        `${c.withdrawStakeEarly} early withdrawStake attempts, ${c.paidWei} wei paid to nodes in ETH, ${this.burned - (this.burnedAtStart ?? 0n)} wei burned`,
    );
    return lines.join("\n");
  }
}

describe("invariants: stateful fuzz of Coordinator + NodeRegistry", () => {
  it(
    `holds the accounting invariants over ${OPS} random operations (FUZZ_SEED=${SEED})`,
    { timeout: 15 * 60_000 },
    async (t) => {
      console.log(`# invariants fuzz: FUZZ_SEED=${SEED} FUZZ_OPS=${OPS}`);
      const fuzz = new Fuzz(SEED);
      let summary: string;
      try {
        summary = await fuzz.run();
      } catch (e) {
        if (e instanceof FuzzFailure) throw e;
        const msg = e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e);
        throw new Error(
          `[FUZZ_SEED=${SEED}] op #${fuzz.opIndex} ${fuzz.opName} (${fuzz.opDesc}) threw: ${msg}\n` +
            `replay: FUZZ_SEED=${SEED} FUZZ_OPS=${OPS} node --test test/invariants.fuzz.test.ts\n` +
            `recent operations:\n  ${fuzz.recent.slice(-20).join("\n  ")}`,
        );
      }
      for (const line of summary.split("\n")) t.diagnostic(line);
      assert.ok(fuzz.counters.deliveries > 0, `[FUZZ_SEED=${SEED}] no delivery happened`);
    },
  );
});

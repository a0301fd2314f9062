import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import type { z } from "zod";
import { ConfigError, configErrorFromIssues, dottedPath } from "./errors.ts";
import { configSchema, type Config, type Contracts, type ParsedConfig, type WalletConfig } from "./schema.ts";

/** Prefix of environment overrides; `__` separates path segments (INFERNET__CHAIN__RPC_URL → chain.rpcUrl). */
export const ENV_PREFIX = "INFERNET__";

/** A private key as the node accepts it: 0x followed by 64 hex digits. */
export const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/;

export interface LoadConfigOptions {
  /** Config file (JSON). Without it the configuration comes from environment overrides alone. */
  path?: string;
  /** Environment to read `INFERNET__…` overrides and `chain.wallet.privateKeyEnv` from (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/** One applied environment override. */
interface Override {
  /** The variable's name, e.g. INFERNET__CHAIN__RPC_URL. */
  name: string;
  /** Its raw value. */
  raw: string;
  /** The path it set, e.g. ["chain", "rpcUrl"]. */
  path: (string | number)[];
}

/**
 * Reads, overrides, validates and resolves the node's configuration. Throws ConfigError naming the offending key
 * (`config: chain.rpcUrl: required`) on any problem: an unreadable or malformed file, an unknown key, a wrong type,
 * a missing required key, an unreadable deployment file, an unreadable or malformed wallet key.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<Config> {
  const env = options.env ?? process.env;
  const file = options.path === undefined ? undefined : resolve(options.path);
  const baseDir = file === undefined ? process.cwd() : dirname(file);

  const raw = file === undefined ? {} : await readJsonObject(file, file);
  const overrides = applyEnvOverrides(raw, env);
  const parsed = validate(raw, overrides);
  const config = resolvePaths(parsed, baseDir);
  const resolved = await resolveContracts(config);
  await loadWalletKey(resolved.chain.wallet, env);
  return withoutUndefined(resolved);
}

/** A copy without undefined-valued properties (an absent optional key stays absent). */
function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutUndefined) as T;
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, withoutUndefined(v)]),
  ) as T;
}

/**
 * The wallet's private key, from `chain.wallet.keyFile` (an absolute path after loadConfig) or the environment
 * variable `chain.wallet.privateKeyEnv`. Throws ConfigError naming the key when it is unreadable or malformed.
 */
export async function loadWalletKey(
  wallet: WalletConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<`0x${string}`> {
  if (wallet.keyFile !== undefined) return readKeyFile(wallet.keyFile);
  if (wallet.privateKeyEnv === undefined) {
    throw new ConfigError("chain.wallet.keyFile", "required (or chain.wallet.privateKeyEnv)");
  }
  const value = env[wallet.privateKeyEnv];
  if (value === undefined || value === "") {
    throw new ConfigError(
      "chain.wallet.privateKeyEnv",
      `environment variable ${wallet.privateKeyEnv} is not set`,
    );
  }
  if (!PRIVATE_KEY.test(value.trim())) {
    throw new ConfigError(
      "chain.wallet.privateKeyEnv",
      `environment variable ${wallet.privateKeyEnv} does not hold a private key (expected 0x followed by 64 hex digits)`,
    );
  }
  return value.trim() as `0x${string}`;
}

async function readKeyFile(path: string): Promise<`0x${string}`> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError("chain.wallet.keyFile", `cannot read ${path} (${errorCode(err)})`);
  }
  const key = text.trim();
  if (!PRIVATE_KEY.test(key)) {
    throw new ConfigError(
      "chain.wallet.keyFile",
      `${path} does not hold a private key (expected 0x followed by 64 hex digits)`,
    );
  }
  return key as `0x${string}`;
}

function errorCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message;
}

async function readJsonObject(path: string, key: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError(key, `cannot read ${path} (${errorCode(err)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(key, `${path} is not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ConfigError(key, `${path} does not hold a JSON object`);
  }
  return json as Record<string, unknown>;
}

/** RPC_URL → rpcUrl, MAX_FEE_PER_GAS_GWEI → maxFeePerGasGwei, SERVERADDRESS → serveraddress. */
export function snakeToCamel(segment: string): string {
  return segment.toLowerCase().replace(/_+([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return typeof value === "object" && value !== null;
}

/**
 * Applies every `INFERNET__A__B_C=value` in `env` to `raw` in place (→ a.bC = value), in name order. The value is
 * parsed as JSON when it parses (numbers, booleans, arrays, objects), else taken as a string. Numeric segments index
 * arrays (INFERNET__CONTAINERS__0__IMAGE). A segment that already exists verbatim as a key (an `env` entry such as
 * HF_TOKEN) is used as is, else it is converted from SNAKE_CASE to camelCase.
 */
export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Override[] {
  const overrides: Override[] = [];
  const names = Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX))
    .sort();
  for (const name of names) {
    const value = env[name];
    if (value === undefined) continue;
    const segments = name.slice(ENV_PREFIX.length).split("__");
    if (segments.some((s) => s === "")) {
      throw new ConfigError(name, "malformed override name (empty path segment)");
    }
    const path: (string | number)[] = [];
    let node: Record<string, unknown> | unknown[] = raw;
    segments.forEach((segment, i) => {
      const last = i === segments.length - 1;
      let key: string | number;
      if (Array.isArray(node)) {
        if (!/^[0-9]+$/.test(segment)) {
          throw new ConfigError(dottedPath(path), `${name}: expected an array index, got ${segment}`);
        }
        key = Number(segment);
      } else {
        key = Object.hasOwn(node, segment) ? segment : snakeToCamel(segment);
      }
      path.push(key);
      const holder = node as Record<string | number, unknown>;
      if (last) {
        holder[key] = parseEnvValue(value);
        return;
      }
      let next = holder[key];
      if (next === undefined) {
        next = /^[0-9]+$/.test(segments[i + 1] ?? "") ? [] : {};
        holder[key] = next;
      } else if (!isContainer(next)) {
        throw new ConfigError(dottedPath(path), `${name} sets a key inside a ${typeof next} value`);
      }
      node = next as Record<string, unknown> | unknown[];
    });
    overrides.push({ name, raw: value, path });
  }
  return overrides;
}

function setAt(root: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const lastKey = path[path.length - 1];
  if (lastKey !== undefined) node[lastKey] = value;
}

function validate(raw: Record<string, unknown>, overrides: Override[]): ParsedConfig {
  // An override whose value parsed as JSON but is a string key (a password "1234") is retried as its raw string.
  for (let pass = 0; ; pass++) {
    const result = configSchema.safeParse(raw, { reportInput: true });
    if (result.success) return result.data;
    const retry = pass === 0 ? overrides.filter((o) => wantsString(result.error.issues, o)) : [];
    if (retry.length === 0) throw attribute(configErrorFromIssues(result.error.issues), overrides);
    for (const o of retry) setAt(raw, o.path, o.raw);
  }
}

function wantsString(issues: readonly z.core.$ZodIssue[], o: Override): boolean {
  const key = dottedPath(o.path);
  return issues.some(
    (i) =>
      i.code === "invalid_type" &&
      i.expected === "string" &&
      dottedPath(i.path) === key &&
      (i as { input?: unknown }).input !== o.raw,
  );
}

/** Names the environment variable behind a problem, when one set the key. */
function attribute(error: ConfigError, overrides: Override[]): ConfigError {
  if (overrides.length === 0) return error;
  const problems = error.problems.map((p) => {
    const o = overrides.find((o) => {
      const key = dottedPath(o.path);
      return p.key === key || p.key.startsWith(`${key}.`);
    });
    return o === undefined ? p : { key: p.key, reason: `${p.reason} (from ${o.name})` };
  });
  const first = problems[0] ?? { key: error.key, reason: error.reason };
  return new ConfigError(first.key, first.reason, problems);
}

function resolveVolume(volume: string, baseDir: string): string {
  const sep = volume.indexOf(":");
  const host = volume.slice(0, sep);
  return host.startsWith(".") ? `${resolve(baseDir, host)}${volume.slice(sep)}` : volume;
}

/** Relative paths in the config are relative to the config file's directory. */
function resolvePaths(config: ParsedConfig, baseDir: string): ParsedConfig {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const opt = (p: string | undefined): string | undefined => (p === undefined ? undefined : abs(p));
  const { chain, store, docker, containers, validator } = config;
  return {
    ...config,
    chain: {
      ...chain,
      deployment: opt(chain.deployment),
      wallet: { ...chain.wallet, keyFile: opt(chain.wallet.keyFile) },
    },
    store: { ...store, path: abs(store.path) },
    validator: {
      ...validator,
      models: Object.fromEntries(Object.entries(validator.models).map(([id, dir]) => [id, abs(dir)])),
    },
    docker: { ...docker, socketPath: opt(docker.socketPath) },
    containers: containers.map((c) => ({
      ...c,
      build: c.build === undefined ? undefined : { ...c.build, context: abs(c.build.context) },
      cwd: c.runtime === "process" ? abs(c.cwd ?? ".") : c.cwd,
      volumes: c.volumes?.map((v) => resolveVolume(v, baseDir)),
    })),
  };
}

const DEPLOYMENT_CONTRACTS = [
  "coordinator",
  "nodeRegistry",
  "proofOfInference",
  "containerRegistry",
  "trustModel",
  "randomness",
] as const;
const REQUIRED_CONTRACTS: readonly string[] = ["coordinator", "nodeRegistry", "proofOfInference"];
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Fills chain.contracts (and chainId, startBlock when unset) from the deployment file. */
async function resolveContracts(config: ParsedConfig): Promise<Config> {
  const { chain } = config;
  if (chain.contracts !== undefined) return { ...config, chain: { ...chain, contracts: chain.contracts } };
  const path = chain.deployment as string;
  const file = await readJsonObject(path, "chain.deployment");
  const listed = file.contracts;
  if (typeof listed !== "object" || listed === null) {
    throw new ConfigError("chain.deployment", `${path}: contracts must be an object`);
  }
  const contracts: Partial<Record<(typeof DEPLOYMENT_CONTRACTS)[number], string>> = {};
  for (const name of DEPLOYMENT_CONTRACTS) {
    const value = (listed as Record<string, unknown>)[name];
    if (value === undefined && !REQUIRED_CONTRACTS.includes(name)) continue;
    if (typeof value !== "string" || !ADDRESS.test(value)) {
      throw new ConfigError("chain.deployment", `${path}: contracts.${name} must be an address`);
    }
    contracts[name] = value;
  }
  const fileChainId = file.chainId;
  if (fileChainId !== undefined && (typeof fileChainId !== "number" || !Number.isSafeInteger(fileChainId))) {
    throw new ConfigError("chain.deployment", `${path}: chainId must be an integer`);
  }
  if (chain.chainId !== undefined && fileChainId !== undefined && chain.chainId !== fileChainId) {
    throw new ConfigError(
      "chain.chainId",
      `${chain.chainId} does not match ${path} (chainId ${String(fileChainId)})`,
    );
  }
  const block = file.blockNumber;
  const blockNumber =
    typeof block === "string" && /^[0-9]+$/.test(block)
      ? Number(block)
      : typeof block === "number"
        ? block
        : undefined;
  return {
    ...config,
    chain: {
      ...chain,
      chainId: chain.chainId ?? (fileChainId as number | undefined),
      startBlock: chain.startBlock ?? blockNumber,
      contracts: contracts as Contracts,
    },
  };
}

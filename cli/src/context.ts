// What the chain commands share: the RPC endpoint, the deployment file, the account, and value parsing.
import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { isAddress, parseEther, getAddress, type Account, type Address, type Hex } from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { createInfernetClient, InvalidDeploymentFileError, type InfernetClient } from "@infernet/sdk";
import { CliError, UsageError, type CliIo } from "./io.ts";

/** Hardhat's development mnemonic: its accounts are funded on every dev chain. Never use it elsewhere. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";
export const DEFAULT_RPC = "http://127.0.0.1:8545";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Options of every chain command. */
export const CHAIN_OPTIONS = {
  rpc: { type: "string" },
  network: { type: "string" },
  deployments: { type: "string" },
  deployment: { type: "string" },
  "key-file": { type: "string" },
  "dev-account": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies Options;

export const CHAIN_HELP = `Chain options:
  --rpc <url>            JSON-RPC endpoint (env INFERNET_RPC_URL; default ${DEFAULT_RPC})
  --network <name>       reads <deployments>/<name>.json (default localhost)
  --deployments <dir>    where deployment files are (default ./deployments)
  --deployment <file>    a deployment file, instead of --network
  --key-file <file>      file holding the account's 0x-prefixed private key (env INFERNET_PRIVATE_KEY)
  --dev-account <n>      account n of Hardhat's development mnemonic (dev chains only)
  --json                 machine-readable output
  -h, --help             show this command's help
`;

/** parseArgs with usage errors as `UsageError`. */
export function parse<const O extends Options>(args: string[], options: O, positionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!(parsed.values as { help?: boolean }).help && parsed.positionals.length > positionals) {
    throw new UsageError(`unexpected argument: ${parsed.positionals[positionals]}`);
  }
  return parsed;
}

type ChainValues = {
  rpc?: string | undefined;
  network?: string | undefined;
  deployments?: string | undefined;
  deployment?: string | undefined;
  "key-file"?: string | undefined;
  "dev-account"?: string | undefined;
};

export function rpcUrl(values: ChainValues, io: CliIo): string {
  return values.rpc ?? io.env.INFERNET_RPC_URL ?? DEFAULT_RPC;
}

/** The account from --key-file, --dev-account or INFERNET_PRIVATE_KEY; undefined when none is given. */
export function accountFrom(values: ChainValues, io: CliIo): Account | undefined {
  if (values["key-file"] !== undefined && values["dev-account"] !== undefined)
    throw new UsageError("--key-file and --dev-account exclude each other");
  if (values["dev-account"] !== undefined) {
    const index = int("--dev-account", values["dev-account"]);
    return mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index });
  }
  let key = io.env.INFERNET_PRIVATE_KEY;
  if (values["key-file"] !== undefined) {
    try {
      key = readFileSync(resolvePath(io, values["key-file"]), "utf8").trim();
    } catch (err) {
      throw new CliError(`--key-file ${values["key-file"]} is not readable: ${(err as Error).message}`);
    }
  }
  if (key === undefined) return undefined;
  if (!/^0x[0-9a-fA-F]{64}$/.test(key))
    throw new CliError("the private key must be 0x followed by 64 hex digits");
  return privateKeyToAccount(key as Hex);
}

export function resolvePath(io: CliIo, path: string): string {
  return isAbsolute(path) ? path : join(io.cwd, path);
}

/** The deployment file the options name. */
export function deploymentPath(values: ChainValues, io: CliIo): string {
  if (values.deployment !== undefined) return resolvePath(io, values.deployment);
  const network = values.network ?? "localhost";
  if (!/^[a-z0-9_-]+$/i.test(network)) throw new UsageError("--network: letters, digits, - and _");
  return join(resolvePath(io, values.deployments ?? "deployments"), `${network}.json`);
}

/** An sdk client for the options; `needAccount` makes a missing account a usage error. */
export async function clientFrom(
  values: ChainValues,
  io: CliIo,
  needAccount: boolean,
): Promise<InfernetClient> {
  const account = accountFrom(values, io);
  if (needAccount && !account)
    throw new UsageError(
      "this command sends transactions: give --key-file, --dev-account or INFERNET_PRIVATE_KEY",
    );
  const path = deploymentPath(values, io);
  const url = rpcUrl(values, io);
  try {
    return await createInfernetClient({
      rpcUrl: url,
      deployment: { path },
      ...(account ? { account } : {}),
      pollIntervalMs: 250,
    });
  } catch (err) {
    if (err instanceof InvalidDeploymentFileError)
      throw new CliError(
        `${err.message}\n(deploy first: infernet deploy, or infernet devnet for a local chain)`,
      );
    if ((err as Error).name === "HttpRequestError" || (err as Error).name === "ChainMismatchError")
      throw new CliError(`cannot use the chain at ${url}: ${(err as Error).message.split("\n")[0]}`);
    throw err;
  }
}

export function int(name: string, value: string, min = 0): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < min)
    throw new UsageError(
      `${name} must be a whole number${min > 0 ? ` ≥ ${min}` : ""}, got ${JSON.stringify(value)}`,
    );
  return n;
}

/** An amount: decimal ether ("0.01") or whole wei with a suffix ("1000wei"). */
export function amount(name: string, value: string): bigint {
  if (/^[0-9]+wei$/.test(value)) return BigInt(value.slice(0, -3));
  if (/^[0-9]+(\.[0-9]{1,18})?$/.test(value)) return parseEther(value);
  throw new UsageError(`${name} must be an amount in ether (e.g. 0.01) or wei (e.g. 1000wei), got ${value}`);
}

export function address(name: string, value: string): Address {
  if (!isAddress(value, { strict: false })) throw new UsageError(`${name} must be an address, got ${value}`);
  return getAddress(value);
}

export function requireOption<T>(name: string, value: T | undefined): T {
  if (value === undefined) throw new UsageError(`${name} is required`);
  return value;
}

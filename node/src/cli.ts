/**
 * `infernet-node` command line. Exit codes: 0 ok, 1 runtime failure (or what a failing component asks for),
 * 2 bad usage, 78 (EX_CONFIG) bad configuration — with one line naming the key on stderr.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError } from "./config/errors.ts";
import { redactConfig } from "./config/redact.ts";
import type { Config } from "./config/schema.ts";
import { createLogger, type Logger } from "./log.ts";
import { StartupError, startNode, type StartNodeOptions } from "./node.ts";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_CONFIG = 78;

export const USAGE = `Usage: infernet-node <command> [options]

Commands:
  start --config <file>          run the node until SIGINT or SIGTERM, then shut down gracefully
  config check --config <file>   validate the configuration and print it resolved (secrets redacted)
  keys create --config <file> [--name <text>] [--rate-limit <n>]
                                 create a REST API key; prints it once (only its hash is stored)
  keys list --config <file>      list API keys (ids, names, limits; never the keys)
  keys revoke <id> --config <file>
                                 revoke an API key at once
  help                           show this text

Options:
  -c, --config <file>   configuration file (JSON); INFERNET__<PATH> environment variables override its keys,
                        e.g. INFERNET__CHAIN__RPC_URL=http://127.0.0.1:8545 sets chain.rpcUrl
  -h, --help            show this text
  -v, --version         print the version
  --name <text>         keys create: a name to tell the key by
  --rate-limit <n>      keys create: requests per api.rateLimit.windowMs for this key (default api.rateLimit.max)
  --json                keys: machine-readable output

Exit codes: 0 ok, 1 failure, 2 bad usage, 78 bad configuration (the offending key is named on stderr).
Configuration reference: docs/operator.md.
`;

export interface CliIo {
  /** Command output (config check, help, version). */
  stdout: (text: string) => void;
  /** Errors and, for `start`, the JSON log lines. */
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

export interface CliOptions {
  io?: Partial<CliIo>;
  /** Passed to startNode (tests inject components). */
  node?: Omit<StartNodeOptions, "logger">;
}

class UsageError extends Error {}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

interface Parsed {
  command: string[];
  config: string | undefined;
  help: boolean;
  version: boolean;
  name: string | undefined;
  rateLimit: string | undefined;
  json: boolean;
}

function parse(argv: string[]): Parsed {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: "string", short: "c" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
        name: { type: "string" },
        "rate-limit": { type: "string" },
        json: { type: "boolean" },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return {
    command: positionals,
    config: values.config,
    help: values.help === true,
    version: values.version === true,
    name: values.name,
    rateLimit: values["rate-limit"],
    json: values.json === true,
  };
}

/** Runs the CLI; resolves with the exit code. `start` resolves only once the node has stopped. */
export async function main(argv: string[], options: CliOptions = {}): Promise<number> {
  const io: CliIo = {
    stdout: options.io?.stdout ?? ((t) => void process.stdout.write(t)),
    stderr: options.io?.stderr ?? ((t) => void process.stderr.write(t)),
    env: options.io?.env ?? process.env,
  };
  let args: Parsed;
  try {
    args = parse(argv);
    if (args.help || args.command[0] === "help") {
      io.stdout(USAGE);
      return EXIT_OK;
    }
    if (args.version) {
      io.stdout(`${version()}\n`);
      return EXIT_OK;
    }
    const [first, second, ...rest] = args.command;
    if (first === "start" && second === undefined) return await start(requireConfig(args), io, options);
    if (first === "config" && second === "check" && rest.length === 0)
      return await check(requireConfig(args), io);
    if (first === "keys") return await keys(requireConfig(args), args, io);
    if (first === undefined) throw new UsageError("missing command");
    throw new UsageError(`unknown command: ${args.command.join(" ")}`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`infernet-node: ${err.message}\nRun 'infernet-node --help' for usage.\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
}

function requireConfig(args: Parsed): string {
  if (args.config === undefined || args.config === "") throw new UsageError("--config <file> is required");
  return args.config;
}

async function load(path: string, io: CliIo, all: boolean): Promise<Config | number> {
  try {
    // Loaded on demand: help and usage errors stay fast (the schema pulls in zod).
    const { loadConfig } = await import("./config/load.ts");
    return await loadConfig({ path, env: io.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`${(all ? err.lines() : [err.message]).join("\n")}\n`);
      return EXIT_CONFIG;
    }
    io.stderr(`infernet-node: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }
}

async function check(path: string, io: CliIo): Promise<number> {
  const config = await load(path, io, true);
  if (typeof config === "number") return config;
  io.stdout(`${JSON.stringify(redactConfig(config), null, 2)}\n`);
  return EXIT_OK;
}

async function keys(path: string, args: Parsed, io: CliIo): Promise<number> {
  const config = await load(path, io, false);
  if (typeof config === "number") return config;
  const { runKeysCommand, KeysUsageError } = await import("./api/keys-cli.ts");
  try {
    return runKeysCommand(
      {
        action: args.command[1] ?? "",
        args: args.command.slice(2),
        name: args.name,
        rateLimit: args.rateLimit,
        json: args.json,
      },
      config,
      io,
    );
  } catch (err) {
    if (err instanceof KeysUsageError) throw new UsageError(err.message);
    throw err;
  }
}

async function start(path: string, io: CliIo, options: CliOptions): Promise<number> {
  const config = await load(path, io, false);
  if (typeof config === "number") return config;
  const logger: Logger = createLogger({ level: config.log.level, write: io.stderr });
  let handle;
  try {
    handle = await startNode(config, { ...options.node, logger });
  } catch (err) {
    if (err instanceof StartupError) return err.exitCode;
    logger.fatal({ err }, "node failed to start");
    return EXIT_FAILURE;
  }
  const started = handle;
  let crashed = false;
  const onCrash = (err: unknown): void => {
    crashed = true;
    logger.fatal({ err }, "unexpected error; shutting down");
    void started.stop("crash");
  };
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);
  try {
    const result = await handle.done;
    return crashed && result.exitCode === 0 ? EXIT_FAILURE : result.exitCode;
  } finally {
    process.off("uncaughtException", onCrash);
    process.off("unhandledRejection", onCrash);
  }
}

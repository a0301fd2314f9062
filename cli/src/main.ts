/**
 * `infernet`: the command line for users and operators (docs/cli.md). Exit codes: 0 ok, 1 failure (a reverted
 * transaction, a failed job, an unreachable chain or node), 2 bad usage, 3 timed out; a delegated command
 * (devnet, node, keys) exits with its own code.
 */
import { InfernetClientError, InvalidDeploymentFileError, NodeApiError } from "@infernet/sdk";
import type { Command } from "./command.ts";
import { deploy, devnet, keys, node } from "./commands/setup.ts";
import { containerRegister, register, stake, unbond } from "./commands/operator.ts";
import { jobCancel, jobStatus, jobSubmit, jobVerify, jobWatch } from "./commands/job.ts";
import { walletBalance, walletFund, walletWithdraw } from "./commands/wallet.ts";
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, type CliIo } from "./io.ts";

export { EXIT_FAILURE, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE, type CliIo } from "./io.ts";

export const COMMANDS: readonly Command[] = [
  devnet,
  deploy,
  node,
  keys,
  containerRegister,
  register,
  stake,
  unbond,
  jobSubmit,
  jobStatus,
  jobWatch,
  jobVerify,
  jobCancel,
  walletFund,
  walletWithdraw,
  walletBalance,
];

export const USAGE = `Usage: infernet <command> [options]

Set up:
${list(["devnet", "deploy", "node", "keys"])}
Operators:
${list(["container register", "register", "stake", "unbond"])}
Users:
${list(["job submit", "job status", "job watch", "job verify", "job cancel", "wallet fund", "wallet withdraw", "wallet balance"])}
Run 'infernet <command> --help' for a command's options. Chain commands read the addresses from
deployments/<network>.json (--network, default localhost) and sign with --key-file, --dev-account or
INFERNET_PRIVATE_KEY.

Exit codes: 0 ok, 1 failure, 2 bad usage, 3 timed out.
`;

function list(names: string[]): string {
  return names
    .map((n) => COMMANDS.find((c) => c.name === n)!)
    .map((c) => `  ${c.name.padEnd(18)} ${c.summary}\n`)
    .join("");
}

/** The command named by the first one or two words of `argv`, and the arguments after it. */
export function resolveCommand(argv: string[]): { command: Command; args: string[] } | undefined {
  const two = COMMANDS.find((c) => c.name === `${argv[0]} ${argv[1]}`);
  if (two) return { command: two, args: argv.slice(2) };
  const one = COMMANDS.find((c) => c.name === argv[0]);
  if (one) return { command: one, args: argv.slice(1) };
  return undefined;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[], options: { io?: Partial<CliIo> } = {}): Promise<number> {
  const io: CliIo = {
    stdout: options.io?.stdout ?? ((t) => void process.stdout.write(t)),
    stderr: options.io?.stderr ?? ((t) => void process.stderr.write(t)),
    env: options.io?.env ?? process.env,
    interactive: options.io?.interactive ?? process.stderr.isTTY === true,
    cwd: options.io?.cwd ?? process.cwd(),
  };
  const first = argv[0];
  if (first === undefined || first === "help" || first === "--help" || first === "-h") {
    if (first === "help" && argv.length > 1) return main([...argv.slice(1), "--help"], options);
    io.stdout(USAGE);
    return first === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const resolved = resolveCommand(argv);
  try {
    if (!resolved) {
      const group = COMMANDS.filter((c) => c.name.startsWith(`${first} `));
      if (group.length > 0) {
        const sub = argv[1];
        if (sub === undefined || sub === "--help" || sub === "-h") {
          io.stdout(
            `Usage: infernet ${first} <command>\n\n${group.map((c) => `  ${c.name.padEnd(18)} ${c.summary}\n`).join("")}`,
          );
          return sub === undefined ? EXIT_USAGE : EXIT_OK;
        }
        throw new UsageError(`unknown command: ${first} ${sub}`);
      }
      throw new UsageError(`unknown command: ${first}`);
    }
    const { command, args } = resolved;
    if (!command.delegatesHelp && (args.includes("--help") || args.includes("-h"))) {
      io.stdout(command.usage);
      return EXIT_OK;
    }
    return await command.run(args, io);
  } catch (err) {
    const name = resolved ? `infernet ${resolved.command.name}` : "infernet";
    if (err instanceof UsageError) {
      io.stderr(`${name}: ${err.message}\nRun '${name} --help' for usage.\n`);
      return EXIT_USAGE;
    }
    if (err instanceof CliError) {
      io.stderr(`${name}: ${err.message}\n`);
      return err.exitCode;
    }
    if (
      err instanceof InfernetClientError ||
      err instanceof InvalidDeploymentFileError ||
      err instanceof NodeApiError
    ) {
      io.stderr(`${name}: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    const e = err as Error;
    io.stderr(
      `${name}: ${e?.name === "HttpRequestError" ? e.message.split("\n")[0] : (e?.stack ?? String(err))}\n`,
    );
    return EXIT_FAILURE;
  }
}

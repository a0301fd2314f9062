// The shape of a subcommand and the delegation to child processes (infernet-node, the devnet script).
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXIT_FAILURE, type CliIo } from "./io.ts";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface Command {
  /** One or two words: "deploy", "job submit". */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The full `--help` text. */
  usage: string;
  /** Runs with the arguments after the name; resolves with the exit code. */
  run(args: string[], io: CliIo): Promise<number>;
  /** Passes `--help` through to a delegate instead of printing `usage`. */
  delegatesHelp?: boolean;
}

/**
 * Runs `node <script> <args>` with this process's Node binary, its output forwarded to `io`, SIGINT/SIGTERM passed
 * on while it runs; resolves with its exit code (128 + signal number when it was killed by one).
 */
export function runChild(
  script: string,
  args: string[],
  io: CliIo,
  env: NodeJS.ProcessEnv = io.env,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: io.cwd,
      env,
      stdio: ["inherit", "pipe", "pipe"],
    });
    child.stdout.on("data", (d: Buffer) => io.stdout(d.toString()));
    child.stderr.on("data", (d: Buffer) => io.stderr(d.toString()));
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const onInt = forward("SIGINT");
    const onTerm = forward("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    const done = (code: number) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      resolve(code);
    };
    child.once("error", (err) => {
      io.stderr(`infernet: cannot run ${script}: ${err.message}\n`);
      done(EXIT_FAILURE);
    });
    child.once("close", (code, signal) => {
      if (code !== null) done(code);
      else done(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 9));
    });
  });
}

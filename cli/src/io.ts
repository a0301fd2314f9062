// Output plumbing of the `infernet` CLI: where text goes, JSON with bigints, a progress indicator on long work, and
// the errors that map to exit codes.
import { WaitTimeoutError } from "@infernet/sdk";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_TIMEOUT = 3;

export interface CliIo {
  /** Command results (ids, JSON). */
  stdout: (text: string) => void;
  /** Progress, notes and errors. */
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (a spinner is drawn only then). */
  interactive: boolean;
  /** Working directory (deployment files are found relative to it). */
  cwd: string;
}

/** A mistake in the command line: printed with a hint to `--help`, exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** A failure the CLI explains itself (no stack), exit 1 unless `exitCode` says otherwise. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: number;
  constructor(message: string, exitCode = EXIT_FAILURE) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

export interface Progress {
  /** Replaces the text after the spinner. */
  update(text: string): void;
  /** Ends the indicator with a final line. */
  done(text?: string): void;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * A progress indicator on stderr: a spinner with the elapsed time on a terminal, otherwise one line when the work
 * starts and one when it ends (so logs and CI output stay readable).
 */
export function progress(io: CliIo, label: string): Progress {
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  let text = label;
  if (!io.interactive) {
    io.stderr(`${label}…\n`);
    return {
      update(t) {
        if (t !== text) io.stderr(`  ${t}\n`);
        text = t;
      },
      done(t) {
        io.stderr(`${t ?? label}: done (${elapsed()})\n`);
      },
    };
  }
  let frame = 0;
  const draw = () => io.stderr(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${text} (${elapsed()})`);
  const timer = setInterval(draw, 100);
  timer.unref();
  draw();
  return {
    update(t) {
      text = t;
      draw();
    },
    done(t) {
      clearInterval(timer);
      io.stderr(`\r\x1b[2K✔ ${t ?? label} (${elapsed()})\n`);
    },
  };
}

/** Runs `work` under a progress indicator (which ends either way). */
export async function withProgress<T>(
  io: CliIo,
  label: string,
  work: (p: Progress) => Promise<T>,
): Promise<T> {
  const p = progress(io, label);
  try {
    const value = await work(p);
    p.done();
    return value;
  } catch (err) {
    p.done(`${label}: failed`);
    if (err instanceof WaitTimeoutError) throw new CliError(err.message, EXIT_TIMEOUT);
    throw err;
  }
}

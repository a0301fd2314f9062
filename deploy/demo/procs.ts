/**
 * Every child process the demo starts, so that all of them stop however the demo ends: normally (each is stopped
 * by its owner), on Ctrl-C / SIGTERM (`stopAll`: SIGTERM, then SIGKILL after a grace period; nodes get time to stop
 * their diffusion containers), or on a crash (`exit` hook: SIGKILL to whatever is left).
 */
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";

const children = new Set<ChildProcess>();
/** Scratch directories to delete when the demo is interrupted (a finished or failed run handles its own). */
export const scratchDirs = new Set<string>();

process.on("exit", () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** Registers `child` until it exits. */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/**
 * SIGTERM to every tracked process, SIGKILL to those still running after `graceMs`; resolves when all exited and
 * the scratch directories are gone.
 */
export async function stopAll(graceMs = 10_000): Promise<void> {
  const running = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
  await Promise.all(
    running.map(
      (child) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
          child.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill("SIGTERM");
        }),
    ),
  );
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
  scratchDirs.clear();
}

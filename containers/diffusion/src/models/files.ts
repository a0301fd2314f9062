import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** A model directory in memory: relative path → contents. */
export type ModelFiles = ReadonlyMap<string, Uint8Array>;

/**
 * JSON with two-space indentation and arrays of numbers on one line, which is also how prettier prints it (so the
 * built model directories pass `prettier --check`).
 */
export function jsonFile(value: unknown): Uint8Array {
  const text = JSON.stringify(value, null, 2).replace(
    /\[\n\s*(-?[\d.e+-]+(?:,\n\s*-?[\d.e+-]+)*)\n\s*\]/g,
    (_m, body: string) => `[${body.split(/,\n\s*/).join(", ")}]`,
  );
  return new TextEncoder().encode(`${text}\n`);
}

export function textFile(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

async function sameContents(path: string, bytes: Uint8Array): Promise<boolean> {
  try {
    return Buffer.from(bytes).equals(await readFile(path));
  } catch {
    return false;
  }
}

/**
 * Writes `files` under `dir`, skipping files whose contents are already there. Each file is written to a temporary
 * name and renamed into place, so a concurrent reader sees the old or the new file, never half of one.
 */
export async function writeModelFiles(dir: string, files: ModelFiles): Promise<string> {
  for (const [rel, bytes] of files) {
    const path = join(dir, rel);
    if (await sameContents(path, bytes)) continue;
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  }
  return dir;
}

// Where the video goes: a content-addressed GIF, `<output dir>/<sha256 of the GIF bytes>.gif`, written once (a
// file that is already there has those bytes by construction), and the URI the chain gets:
// `<DIFFUSION_OUTPUT_URI_BASE><sha256>.gif`, by default `file://<output dir>/<sha256>.gif`.
import { createHash, randomBytes } from "node:crypto";
import { access, mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Hex } from "viem";

export interface StoredOutput {
  /** sha256 of the GIF bytes, 0x-hex. */
  sha256: Hex;
  file: string;
  uri: string;
}

export const OUTPUT_NAME = /^(0x[0-9a-f]{64})\.gif$/;

export function sha256(bytes: Uint8Array): Hex {
  return `0x${createHash("sha256").update(bytes).digest("hex")}`;
}

export async function storeGif(gif: Uint8Array, dir: string, uriBase: string): Promise<StoredOutput> {
  const digest = sha256(gif);
  const file = path.join(dir, `${digest}.gif`);
  const uri = `${uriBase}${digest}.gif`;
  try {
    await access(file);
    return { sha256: digest, file, uri };
  } catch {
    // not there yet
  }
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(tmp, gif);
  await rename(tmp, file);
  return { sha256: digest, file, uri };
}

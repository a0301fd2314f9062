import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** The files of a diffusers ONNX export that the pipeline reads, relative to the model directory. */
export const LAYOUT = Object.freeze({
  modelIndex: "model_index.json",
  vocab: "tokenizer/vocab.json",
  merges: "tokenizer/merges.txt",
  tokenizerDir: "tokenizer",
  textEncoder: "text_encoder/model.onnx",
  unet: "unet/model.onnx",
  unetConfig: "unet/config.json",
  vaeDecoder: "vae_decoder/model.onnx",
  vaeConfig: "vae_decoder/config.json",
  scheduler: "scheduler/scheduler_config.json",
});

/** Files that define the model's numbers (configs included, `model_index.json` excluded), in digest order. */
export const DIGESTED_FILES: readonly string[] = [
  LAYOUT.vocab,
  LAYOUT.merges,
  LAYOUT.textEncoder,
  LAYOUT.unet,
  LAYOUT.unetConfig,
  LAYOUT.vaeDecoder,
  LAYOUT.vaeConfig,
  LAYOUT.scheduler,
];

/**
 * A digest of a model directory: `sha256` over the lines `"<path> <sha256 hex>\n"` of `DIGESTED_FILES` (a missing
 * optional `unet/config.json` or `vae_decoder/config.json` is hashed as `"<path> -\n"`). Weights stored beside a model (external data) are not covered.
 */
export async function modelDirectoryDigest(dir: string): Promise<`0x${string}`> {
  const manifest = createHash("sha256");
  for (const path of DIGESTED_FILES) {
    let line: string;
    try {
      line = `${path} ${createHash("sha256")
        .update(await readFile(join(dir, path)))
        .digest("hex")}\n`;
    } catch (err) {
      const optional = path === LAYOUT.unetConfig || path === LAYOUT.vaeConfig;
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || !optional) throw err;
      line = `${path} -\n`;
    }
    manifest.update(line);
  }
  return `0x${manifest.digest("hex")}`;
}

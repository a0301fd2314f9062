import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { TokenizerError } from "./errors.ts";

/** CLIP's context length: every prompt becomes exactly this many token ids. */
export const CONTEXT_LENGTH = 77;
export const BOS_TOKEN = "<|startoftext|>";
export const EOS_TOKEN = "<|endoftext|>";
/** Marks the last symbol of a word in CLIP's BPE vocabulary. */
export const WORD_END = "</w>";

/** A CLIP byte-level BPE tokenizer (the algorithm of openai/CLIP and transformers' `CLIPTokenizer`). */
export interface ClipTokenizer {
  readonly vocab: ReadonlyMap<string, number>;
  /** Merge rank of a symbol pair keyed `"a b"`; lower merges first. */
  readonly ranks: ReadonlyMap<string, number>;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  /** Id of symbols missing from the vocabulary (CLIP: the end-of-text token). */
  readonly unkId: number;
  readonly contextLength: number;
  /** BPE results per word (memoised; same result either way). */
  readonly cache: Map<string, readonly string[]>;
}

let byteMap: readonly string[] | undefined;

/**
 * GPT-2/CLIP `bytes_to_unicode`: printable Latin-1 bytes map to themselves, the other 68 to U+0100 onwards in byte
 * order, so every byte is a visible character (space → "Ġ", U+0120).
 */
export function bytesToUnicode(): readonly string[] {
  if (byteMap !== undefined) return byteMap;
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(printable(b) ? b : 256 + n++));
  byteMap = out;
  return out;
}

export interface TokenizerSpec {
  /** `vocab.json`: symbol → id. */
  vocab: Record<string, number>;
  /** `merges.txt` contents (a `#version` header line is skipped). */
  merges: string;
  /** Padding token (default `<|endoftext|>` as in SD 1.x; SD 2.x pads with "!"). */
  padToken?: string;
  contextLength?: number;
}

/** Builds a tokenizer from vocabulary and merges (as read from `vocab.json` and `merges.txt`). */
export function createTokenizer(spec: TokenizerSpec): ClipTokenizer {
  const vocab = new Map<string, number>();
  for (const [symbol, id] of Object.entries(spec.vocab)) {
    if (!Number.isSafeInteger(id) || id < 0)
      throw new TokenizerError(`vocab id of ${JSON.stringify(symbol)} is ${id}`);
    vocab.set(symbol, id);
  }
  const ranks = new Map<string, number>();
  for (const line of spec.merges.split("\n")) {
    const l = line.replace(/\r$/, "");
    if (l === "" || l.startsWith("#version")) continue;
    const parts = l.split(" ");
    if (parts.length !== 2) throw new TokenizerError(`merges line ${JSON.stringify(l)} is not two symbols`);
    if (!ranks.has(l)) ranks.set(l, ranks.size);
  }
  const id = (token: string) => {
    const v = vocab.get(token);
    if (v === undefined) throw new TokenizerError(`vocabulary has no ${token}`);
    return v;
  };
  const contextLength = spec.contextLength ?? CONTEXT_LENGTH;
  if (!Number.isSafeInteger(contextLength) || contextLength < 2) {
    throw new TokenizerError(`context length must be at least 2, got ${contextLength}`);
  }
  return {
    vocab,
    ranks,
    bosId: id(BOS_TOKEN),
    eosId: id(EOS_TOKEN),
    padId: id(spec.padToken ?? EOS_TOKEN),
    unkId: id(EOS_TOKEN),
    contextLength,
    cache: new Map(),
  };
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as unknown;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new TokenizerError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

function tokenContent(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "object" && v !== null && typeof (v as { content?: unknown }).content === "string") {
    return (v as { content: string }).content;
  }
  return undefined;
}

/**
 * Reads a tokenizer directory of a diffusers export: `vocab.json`, `merges.txt`, and the pad token from
 * `special_tokens_map.json` or `tokenizer_config.json` when present.
 */
export async function loadTokenizer(dir: string): Promise<ClipTokenizer> {
  const vocab = await readJson(join(dir, "vocab.json"));
  if (typeof vocab !== "object" || vocab === null || Array.isArray(vocab)) {
    throw new TokenizerError(`${join(dir, "vocab.json")} is missing or not an object`);
  }
  let merges: string;
  try {
    merges = await readFile(join(dir, "merges.txt"), "utf8");
  } catch (err) {
    throw new TokenizerError(`cannot read ${join(dir, "merges.txt")}: ${(err as Error).message}`);
  }
  const special = (await readJson(join(dir, "special_tokens_map.json"))) as
    Record<string, unknown> | undefined;
  const config = (await readJson(join(dir, "tokenizer_config.json"))) as Record<string, unknown> | undefined;
  const padToken = tokenContent(special?.pad_token) ?? tokenContent(config?.pad_token);
  const maxLength = config?.model_max_length;
  const contextLength = typeof maxLength === "number" && maxLength <= 4096 ? maxLength : CONTEXT_LENGTH;
  return createTokenizer({ vocab: vocab as Record<string, number>, merges, padToken, contextLength });
}

// CLIP's pre-tokenisation pattern: special tokens, English contractions, letter runs, single digits, other runs.
const PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;

/** Text normalisation before splitting: NFC, whitespace runs → one space, trimmed, lower-cased. */
export function normalizeText(text: string): string {
  return text.normalize("NFC").replace(/\s+/gu, " ").trim().toLowerCase();
}

/** Splits normalised text into CLIP's pre-tokens. */
export function pretokenize(text: string): string[] {
  return normalizeText(text).match(PATTERN) ?? [];
}

/** Byte-level BPE of one pre-token: its UTF-8 bytes as visible characters, `</w>` on the last, merged by rank. */
export function bpe(tok: ClipTokenizer, word: string): readonly string[] {
  const cached = tok.cache.get(word);
  if (cached !== undefined) return cached;
  const map = bytesToUnicode();
  const chars = [...new TextEncoder().encode(word)].map((b) => map[b]!);
  if (chars.length === 0) return [];
  let symbols = [...chars.slice(0, -1), chars[chars.length - 1]! + WORD_END];
  while (symbols.length > 1) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i < symbols.length - 1; i++) {
      const r = tok.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        best = i;
      }
    }
    if (best < 0) break;
    // Merge every occurrence of the best pair, left to right (as the reference implementation does).
    const a = symbols[best]!;
    const b = symbols[best + 1]!;
    const merged: string[] = [];
    for (let i = 0; i < symbols.length; i++) {
      if (i < symbols.length - 1 && symbols[i] === a && symbols[i + 1] === b) {
        merged.push(a + b);
        i++;
      } else {
        merged.push(symbols[i]!);
      }
    }
    symbols = merged;
  }
  tok.cache.set(word, symbols);
  return symbols;
}

/** The token ids of `text` without start/end tokens or padding. */
export function tokenize(tok: ClipTokenizer, text: string): number[] {
  const ids: number[] = [];
  for (const word of pretokenize(text)) {
    if (word === BOS_TOKEN || word === EOS_TOKEN) {
      ids.push(word === BOS_TOKEN ? tok.bosId : tok.eosId);
      continue;
    }
    for (const symbol of bpe(tok, word)) ids.push(tok.vocab.get(symbol) ?? tok.unkId);
  }
  return ids;
}

/**
 * The model input of a prompt: `[BOS, …ids truncated to contextLength − 2…, EOS, pad…]`, exactly `contextLength`
 * ids (77 for CLIP).
 */
export function encodePrompt(tok: ClipTokenizer, text: string): Int32Array {
  const body = tokenize(tok, text).slice(0, tok.contextLength - 2);
  const out = new Int32Array(tok.contextLength).fill(tok.padId);
  out[0] = tok.bosId;
  out.set(body, 1);
  out[body.length + 1] = tok.eosId;
  return out;
}

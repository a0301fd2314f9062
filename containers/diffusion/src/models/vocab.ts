import { TokenizerError } from "../errors.ts";
import { BOS_TOKEN, EOS_TOKEN, WORD_END, bpe, bytesToUnicode, createTokenizer } from "../tokenizer.ts";

/** `vocab.json` and `merges.txt` contents of a CLIP-format BPE vocabulary. */
export interface BpeVocabulary {
  vocab: Record<string, number>;
  merges: string;
}

/**
 * A small CLIP-format vocabulary in which each of `words` is one token: the 256 byte symbols, the same with
 * `</w>`, one symbol per merge, then `<|startoftext|>` and `<|endoftext|>` last (as in CLIP). Merges build every
 * word left to right; any word that the rank order would split is fixed by appending the merge it lacks.
 */
export function buildWordVocabulary(words: readonly string[]): BpeVocabulary {
  const base = bytesToUnicode();
  const merges: string[] = [];
  const seen = new Set<string>();
  const addMerge = (a: string, b: string) => {
    const key = `${a} ${b}`;
    if (!seen.has(key)) {
      seen.add(key);
      merges.push(key);
    }
  };
  const unique = [...new Set(words)];
  for (const w of unique) {
    const chars = [...new TextEncoder().encode(w)].map((b) => base[b]!);
    let prefix = chars[0]!;
    for (let i = 1; i < chars.length; i++) {
      const c = i === chars.length - 1 ? chars[i]! + WORD_END : chars[i]!;
      addMerge(prefix, c);
      prefix += c;
    }
  }
  const files = (): BpeVocabulary => {
    const symbols = [...base, ...base.map((s) => s + WORD_END), ...merges.map((m) => m.replace(" ", ""))];
    const vocab: Record<string, number> = {};
    for (const s of [...symbols, BOS_TOKEN, EOS_TOKEN])
      if (!(s in vocab)) vocab[s] = Object.keys(vocab).length;
    return { vocab, merges: `#version: 0.2\n${merges.join("\n")}\n` };
  };
  for (let round = 0; round < 64; round++) {
    const tok = createTokenizer(files());
    let fixed = false;
    for (const w of unique) {
      const parts = bpe(tok, w);
      if (parts.length > 1) {
        addMerge(parts[0]!, parts[1]!);
        fixed = true;
      }
    }
    if (!fixed) return files();
  }
  throw new TokenizerError("could not make every word a single token");
}

// The CLIP byte-level BPE tokenizer: byte mapping, merge order, special tokens, padding and truncation to 77, the
// word vocabularies the project's models ship.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  BOS_TOKEN,
  EOS_TOKEN,
  TokenizerError,
  bpe,
  buildWordVocabulary,
  bytesToUnicode,
  createTokenizer,
  encodePrompt,
  loadTokenizer,
  pretokenize,
  tokenize,
} from "@infernet/diffusion";

/** A hand-made vocabulary: bytes a, b, d, e, l, o, r, w (+ </w> forms), a few merges, specials. */
function tinyTokenizer(padToken?: string) {
  const symbols = ["a", "b", "d", "e", "l", "o", "r", "w", "é"];
  const vocab: Record<string, number> = {};
  for (const s of symbols) vocab[s] = Object.keys(vocab).length;
  for (const s of symbols) vocab[`${s}</w>`] = Object.keys(vocab).length;
  for (const s of ["lo", "low</w>", "er</w>", "low", "lower</w>", "Ã", "©</w>", "Ã©</w>", "!"]) {
    vocab[s] = Object.keys(vocab).length;
  }
  vocab[BOS_TOKEN] = Object.keys(vocab).length;
  vocab[EOS_TOKEN] = Object.keys(vocab).length;
  // Ranks: "l o" first, then "e r</w>", "lo w</w>", "lo w", "low er</w>", "Ã ©</w>".
  const merges = "#version: 0.2\nl o\ne r</w>\nlo w</w>\nlo w\nlow er</w>\nÃ ©</w>\n";
  return { tok: createTokenizer({ vocab, merges, padToken }), vocab };
}

describe("diffusion tokenizer: byte mapping and BPE", () => {
  it("maps all 256 bytes to distinct visible characters like CLIP's bytes_to_unicode", () => {
    const m = bytesToUnicode();
    assert.equal(m.length, 256);
    assert.equal(new Set(m).size, 256);
    assert.equal(m[0x61], "a");
    assert.equal(m[0x21], "!");
    assert.equal(m[0x20], "Ġ"); // U+0120
    assert.equal(m[0x00], "Ā"); // U+0100
    assert.equal(m[0xad], "Ń"); // soft hyphen is not printable: U+0143
  });

  it("merges by rank, lowest first, with </w> on the last symbol", () => {
    const { tok, vocab } = tinyTokenizer();
    assert.deepEqual(bpe(tok, "lower"), ["lower</w>"]);
    assert.deepEqual(bpe(tok, "low"), ["low</w>"]);
    // "lowe": l o w e</w> → lo w e</w> → low e</w> (no merge makes e</w> join) → two symbols.
    assert.deepEqual(bpe(tok, "lowe"), ["low", "e</w>"]);
    assert.deepEqual(bpe(tok, "ba"), ["b", "a</w>"]);
    assert.deepEqual(tokenize(tok, "lower low"), [vocab["lower</w>"], vocab["low</w>"]]);
  });

  it("encodes non-ASCII text through its UTF-8 bytes", () => {
    const { tok, vocab } = tinyTokenizer();
    // é is bytes c3 a9 → "Ã" "©" → merged "Ã©</w>".
    assert.deepEqual(bpe(tok, "é"), ["Ã©</w>"]);
    assert.deepEqual(tokenize(tok, "é"), [vocab["Ã©</w>"]]);
  });

  it("splits like CLIP: lower-case, whitespace runs, contractions, digits one by one, punctuation runs", () => {
    assert.deepEqual(pretokenize("  A  Dog's   toy!!  42 "), ["a", "dog", "'s", "toy", "!!", "4", "2"]);
    assert.deepEqual(pretokenize("<|startoftext|>hi<|endoftext|>"), [BOS_TOKEN, "hi", EOS_TOKEN]);
    assert.deepEqual(pretokenize(""), []);
  });
});

describe("diffusion tokenizer: model input", () => {
  it("is BOS, the ids, EOS, then padding: exactly 77 ids", () => {
    const { tok, vocab } = tinyTokenizer();
    const ids = encodePrompt(tok, "Lower LOW");
    assert.equal(ids.length, 77);
    assert.deepEqual(
      [...ids.slice(0, 4)],
      [vocab[BOS_TOKEN], vocab["lower</w>"], vocab["low</w>"], vocab[EOS_TOKEN]],
    );
    assert.ok(
      ids.slice(4).every((v) => v === vocab[EOS_TOKEN]),
      "SD 1.x pads with <|endoftext|>",
    );
    const empty = encodePrompt(tok, "");
    assert.deepEqual([...empty.slice(0, 2)], [vocab[BOS_TOKEN], vocab[EOS_TOKEN]]);
  });

  it("pads with the configured pad token and truncates to 75 ids between BOS and EOS", () => {
    const { tok, vocab } = tinyTokenizer("!");
    const ids = encodePrompt(tok, "low");
    assert.equal(ids[3], vocab["!"]);
    const long = encodePrompt(tok, Array.from({ length: 100 }, () => "low").join(" "));
    assert.equal(long.length, 77);
    assert.equal(long[0], vocab[BOS_TOKEN]);
    assert.equal(long[75], vocab["low</w>"]);
    assert.equal(long[76], vocab[EOS_TOKEN]);
  });

  it("maps symbols missing from the vocabulary to <|endoftext|>", () => {
    const { tok, vocab } = tinyTokenizer();
    assert.deepEqual(tokenize(tok, "z"), [vocab[EOS_TOKEN]]);
  });

  it("rejects vocabularies without the special tokens and malformed merges", () => {
    assert.throws(() => createTokenizer({ vocab: { a: 0 }, merges: "" }), TokenizerError);
    const { vocab } = tinyTokenizer();
    assert.throws(() => createTokenizer({ vocab, merges: "a b c\n" }), TokenizerError);
    assert.throws(() => createTokenizer({ vocab, merges: "", padToken: "<pad>" }), TokenizerError);
  });
});

describe("diffusion tokenizer: files", () => {
  it("reads vocab.json, merges.txt and the pad token of special_tokens_map.json", async () => {
    const dir = await mkdtemp(join(tmpdir(), "infernet-tok-"));
    try {
      const words = ["red", "circle", "moving", "right", "reed"];
      const { vocab, merges } = buildWordVocabulary(words);
      await writeFile(join(dir, "vocab.json"), JSON.stringify(vocab));
      await writeFile(join(dir, "merges.txt"), merges);
      await writeFile(join(dir, "special_tokens_map.json"), JSON.stringify({ pad_token: { content: "!" } }));
      const tok = await loadTokenizer(dir);
      assert.equal(tok.padId, vocab["!"]);
      // Every word of a built vocabulary is one token.
      for (const w of words) assert.deepEqual(bpe(tok, w), [`${w}</w>`], w);
      const ids = encodePrompt(tok, "A red circle moving right");
      assert.deepEqual(
        [...ids.slice(1, 6)],
        [vocab["a</w>"], vocab["red</w>"], vocab["circle</w>"], vocab["moving</w>"], vocab["right</w>"]],
      );
      await rm(join(dir, "merges.txt"));
      await assert.rejects(loadTokenizer(dir), TokenizerError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

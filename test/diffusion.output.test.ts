// Output encoders: GIF89a (decoded back by an independent LZW decoder here), PNG (chunks, CRCs, inflate round trip),
// optional MP4 (skipped without ffmpeg).
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { crc32, inflateSync } from "node:zlib";
import { initialLatent } from "@infernet/sdk";
import {
  FrameFormatError,
  encodeGif,
  encodeMp4,
  encodePng,
  findFfmpeg,
  gifPalette,
  lzwEncode,
  paletteIndex,
  toByte,
  writeOutputs,
  type Frame,
} from "@infernet/diffusion";

/** GIF LZW decoding (the textbook algorithm, written independently of the encoder). */
function lzwDecode(data: Uint8Array, minCodeSize: number): number[] {
  const clear = 1 << minCodeSize;
  const end = clear + 1;
  let size = minCodeSize + 1;
  let dict: number[][] = [];
  const reset = () => {
    dict = [];
    for (let i = 0; i < clear; i++) dict.push([i]);
    dict.push([], []);
    size = minCodeSize + 1;
  };
  reset();
  const out: number[] = [];
  let bitPos = 0;
  let prev: number[] | undefined;
  for (;;) {
    if (bitPos + size > data.length * 8) throw new Error("LZW data ran out before the end code");
    let code = 0;
    for (let b = 0; b < size; b++, bitPos++) {
      code |= ((data[bitPos >> 3]! >> (bitPos & 7)) & 1) << b;
    }
    if (code === clear) {
      reset();
      prev = undefined;
      continue;
    }
    if (code === end) return out;
    let entry: number[];
    if (code < dict.length) entry = dict[code]!;
    else if (code === dict.length && prev !== undefined) entry = [...prev, prev[0]!];
    else throw new Error(`bad LZW code ${code} (table ${dict.length})`);
    out.push(...entry);
    if (prev !== undefined && dict.length < 4096) dict.push([...prev, entry[0]!]);
    if (dict.length === 1 << size && size < 12) size++;
    prev = entry;
  }
}

interface DecodedGif {
  width: number;
  height: number;
  palette: Uint8Array;
  loops: number | undefined;
  frames: { delay: number; indices: number[] }[];
}

function decodeGif(b: Uint8Array): DecodedGif {
  const ascii = (at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));
  assert.equal(ascii(0, 6), "GIF89a");
  const u16 = (at: number) => b[at]! | (b[at + 1]! << 8);
  const width = u16(6);
  const height = u16(8);
  const packed = b[10]!;
  assert.ok(packed & 0x80, "global colour table present");
  const gctSize = 2 << (packed & 7);
  const palette = b.subarray(13, 13 + 3 * gctSize);
  let at = 13 + 3 * gctSize;
  let loops: number | undefined;
  let delay = 0;
  const frames: DecodedGif["frames"] = [];
  for (;;) {
    const tag = b[at++];
    if (tag === 0x3b) break;
    if (tag === 0x21) {
      const label = b[at++];
      const blocks: Uint8Array[] = [];
      for (let n = b[at++]!; n !== 0; n = b[at++]!) {
        blocks.push(b.subarray(at, at + n));
        at += n;
      }
      if (label === 0xf9) delay = blocks[0]![1]! | (blocks[0]![2]! << 8);
      if (label === 0xff && String.fromCharCode(...blocks[0]!) === "NETSCAPE2.0")
        loops = blocks[1]![1]! | (blocks[1]![2]! << 8);
      continue;
    }
    assert.equal(tag, 0x2c, `image descriptor at ${at - 1}`);
    assert.equal(u16(at + 4), width);
    assert.equal(u16(at + 6), height);
    assert.equal(b[at + 8]! & 0x80, 0, "no local colour table");
    at += 9;
    const minCode = b[at++]!;
    const chunks: number[] = [];
    for (let n = b[at++]!; n !== 0; n = b[at++]!) {
      assert.ok(n <= 255);
      chunks.push(...b.subarray(at, at + n));
      at += n;
    }
    frames.push({ delay, indices: lzwDecode(Uint8Array.from(chunks), minCode) });
  }
  assert.equal(at, b.length, "nothing after the trailer");
  return { width, height, palette, loops, frames };
}

function noiseFrames(count: number, width: number, height: number): Frame[] {
  return Array.from({ length: count }, (_, f) => {
    const v = initialLatent(`0x${(f + 1).toString(16).padStart(64, "0")}`, width * height * 3, "float32");
    return { width, height, rgb: Uint8Array.from(v, (x) => toByte(x / 3)) };
  });
}

describe("diffusion output: GIF", () => {
  it("LZW round trip on random, constant and table-overflowing data", () => {
    const random = Uint8Array.from(
      initialLatent(`0x${"55".repeat(32)}`, 20_000, "float32"),
      (x) => (x * 40 + 128) & 0xff,
    );
    const runs = new Uint8Array(50_000).map((_, i) => Math.floor(i / 700) % 3);
    for (const data of [
      random,
      runs,
      new Uint8Array(0),
      Uint8Array.of(7),
      new Uint8Array(70_000).fill(255),
    ]) {
      assert.deepEqual(lzwDecode(lzwEncode(data), 8), [...data]);
    }
  });

  it("encodes frames that decode back to the palette indices of their pixels", () => {
    const frames = noiseFrames(5, 37, 23);
    const gif = encodeGif(frames, { delayCs: 7, loops: 0 });
    const d = decodeGif(gif);
    assert.equal(d.width, 37);
    assert.equal(d.height, 23);
    assert.equal(d.loops, 0);
    assert.equal(d.frames.length, 5);
    assert.deepEqual(d.palette, gifPalette());
    for (const [f, frame] of d.frames.entries()) {
      assert.equal(frame.delay, 7);
      assert.equal(frame.indices.length, 37 * 23);
      const rgb = frames[f]!.rgb;
      for (let i = 0; i < frame.indices.length; i++) {
        const k = frame.indices[i]!;
        assert.equal(k, paletteIndex(rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!));
        // Nearest palette level per channel: within half a step (25.5) of the source.
        for (let c = 0; c < 3; c++) assert.ok(Math.abs(d.palette[3 * k + c]! - rgb[3 * i + c]!) <= 25.5);
      }
    }
    assert.deepEqual(encodeGif(frames, { delayCs: 7 }), gif, "deterministic bytes");
  });

  it("maps pure colours to exact palette entries", () => {
    const p = gifPalette();
    for (const [r, g, b] of [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [255, 255, 0],
      [0, 0, 0],
      [255, 255, 255],
      [102, 153, 51],
    ] as const) {
      const k = paletteIndex(r, g, b);
      assert.deepEqual([p[3 * k], p[3 * k + 1], p[3 * k + 2]], [r, g, b]);
    }
  });

  it("rejects empty, mixed-size and short frames", () => {
    assert.throws(() => encodeGif([]), FrameFormatError);
    const [a] = noiseFrames(1, 4, 4);
    assert.throws(() => encodeGif([a!, { width: 5, height: 4, rgb: new Uint8Array(60) }]), FrameFormatError);
    assert.throws(() => encodeGif([{ width: 4, height: 4, rgb: new Uint8Array(47) }]), FrameFormatError);
    assert.throws(() => encodeGif([a!], { delayCs: 70_000 }), FrameFormatError);
  });
});

describe("diffusion output: PNG", () => {
  it("writes signature, IHDR, IDAT and IEND with valid CRCs; the pixels inflate back", () => {
    const [frame] = noiseFrames(1, 19, 11);
    const png = encodePng(frame!);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
    const chunks: { type: string; data: Uint8Array }[] = [];
    for (let at = 8; at < png.length;) {
      const len = view.getUint32(at);
      const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
      const data = png.subarray(at + 8, at + 8 + len);
      assert.equal(view.getUint32(at + 8 + len), crc32(png.subarray(at + 4, at + 8 + len)), `${type} CRC`);
      chunks.push({ type, data });
      at += 12 + len;
    }
    assert.deepEqual(
      chunks.map((c) => c.type),
      ["IHDR", "IDAT", "IEND"],
    );
    const ihdr = new DataView(chunks[0]!.data.buffer, chunks[0]!.data.byteOffset, 13);
    assert.equal(ihdr.getUint32(0), 19);
    assert.equal(ihdr.getUint32(4), 11);
    assert.deepEqual([...chunks[0]!.data.subarray(8)], [8, 2, 0, 0, 0]);
    const raw = inflateSync(chunks[1]!.data);
    assert.equal(raw.length, 11 * (1 + 19 * 3));
    for (let y = 0; y < 11; y++) {
      assert.equal(raw[y * 58], 0, "filter None");
      assert.deepEqual(
        raw.subarray(y * 58 + 1, (y + 1) * 58),
        Buffer.from(frame!.rgb.subarray(y * 57, (y + 1) * 57)),
      );
    }
  });
});

describe("diffusion output: files and MP4", () => {
  it("finds no ffmpeg on an empty PATH, and MP4 is then skipped without error", async () => {
    assert.equal(findFfmpeg(""), undefined);
    assert.equal(findFfmpeg("/nonexistent-dir"), undefined);
    const dir = await mkdtemp(join(tmpdir(), "infernet-out-"));
    try {
      const frames = noiseFrames(3, 8, 6);
      const missing = join(dir, "x.mp4");
      const path = process.env.PATH;
      process.env.PATH = dir; // an empty directory: no ffmpeg
      try {
        assert.equal(await encodeMp4({ frames, file: missing, fps: 5 }), false);
        assert.equal((await writeOutputs({ frames, dir, stem: "none", fps: 5 })).mp4, undefined);
      } finally {
        process.env.PATH = path;
      }
      await assert.rejects(stat(missing), { code: "ENOENT" });
      const written = await writeOutputs({ frames, dir, stem: "clip", fps: 5, mp4: false });
      assert.equal(written.mp4, undefined);
      assert.equal(written.pngs.length, 3);
      const gif = decodeGif(new Uint8Array(await readFile(written.gif)));
      assert.equal(gif.frames.length, 3);
      assert.equal(gif.frames[0]!.delay, 20);
      assert.deepEqual(new Uint8Array(await readFile(written.pngs[2]!)), encodePng(frames[2]!));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it(
    "encodes an MP4 when ffmpeg is on PATH",
    { skip: findFfmpeg() === undefined && "no ffmpeg on PATH" },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "infernet-mp4-"));
      try {
        const file = join(dir, "clip.mp4");
        assert.equal(await encodeMp4({ frames: noiseFrames(4, 15, 9), file }), true);
        const head = (await readFile(file)).subarray(4, 8).toString("latin1");
        assert.equal(head, "ftyp");
        assert.ok((await stat(file)).size > 100);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});

// A GIF decoder (GIF87a/89a, global and local colour tables, LZW, interlacing, frame offsets; no transparency
// compositing beyond "keep the previous pixel"), so a validator can score the video it was actually delivered (the
// stored GIF) and tests can check what the service returns. Written from the GIF89a specification, independently
// of the encoder in src/output/gif.ts.
import { FrameFormatError } from "../errors.ts";
import type { Frame } from "../output/frame.ts";

export interface DecodedGif {
  width: number;
  height: number;
  /** Composited RGB frames, one per image descriptor. */
  frames: Frame[];
  /** Per-frame delay in 1/100 s (0 when no graphic control extension). */
  delaysCs: number[];
  /** NETSCAPE2.0 loop count (0 = forever); undefined without the extension. */
  loops: number | undefined;
}

function lzwDecode(data: Uint8Array, minCodeSize: number, pixels: number): Uint8Array {
  if (minCodeSize < 2 || minCodeSize > 11)
    throw new FrameFormatError(`GIF: bad LZW minimum code size ${minCodeSize}`);
  const clear = 1 << minCodeSize;
  const end = clear + 1;
  // The table as (prefix code, last byte, length) triples; strings are unrolled backwards on output.
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const length = new Int32Array(4096);
  for (let i = 0; i < clear; i++) {
    prefix[i] = -1;
    suffix[i] = i;
    length[i] = 1;
  }
  let next = clear + 2;
  let size = minCodeSize + 1;
  const out = new Uint8Array(pixels);
  let at = 0;
  let prev = -1;
  let bit = 0;
  const totalBits = data.length * 8;
  const first = (code: number) => {
    while (prefix[code]! >= 0) code = prefix[code]!;
    return suffix[code]!;
  };
  const emit = (code: number) => {
    const n = length[code]!;
    let c = code;
    for (let k = n - 1; k >= 0; k--) {
      if (at + k < pixels) out[at + k] = suffix[c]!;
      c = prefix[c]!;
    }
    at += n;
  };
  while (bit + size <= totalBits) {
    let code = 0;
    for (let b = 0; b < size; b++, bit++) code |= ((data[bit >> 3]! >> (bit & 7)) & 1) << b;
    if (code === clear) {
      next = clear + 2;
      size = minCodeSize + 1;
      prev = -1;
      continue;
    }
    if (code === end) break;
    if (prev < 0) {
      if (code >= clear) throw new FrameFormatError(`GIF: LZW starts with code ${code}`);
      emit(code);
      prev = code;
      continue;
    }
    let k: number;
    if (code < next) k = first(code);
    else if (code === next) k = first(prev);
    else throw new FrameFormatError(`GIF: bad LZW code ${code} (table size ${next})`);
    if (next < 4096) {
      prefix[next] = prev;
      suffix[next] = k;
      length[next] = length[prev]! + 1;
      next++;
      if (next === 1 << size && size < 12) size++;
    }
    emit(code);
    prev = code;
  }
  if (at < pixels) throw new FrameFormatError(`GIF: image data has ${at} of ${pixels} pixels`);
  return out;
}

export function decodeGif(bytes: Uint8Array): DecodedGif {
  const b = bytes;
  const need = (at: number, n: number) => {
    if (at + n > b.length) throw new FrameFormatError("GIF: truncated");
  };
  need(0, 13);
  const sig = String.fromCharCode(...b.subarray(0, 6));
  if (sig !== "GIF89a" && sig !== "GIF87a")
    throw new FrameFormatError(`GIF: bad signature ${JSON.stringify(sig)}`);
  const u16 = (at: number) => b[at]! | (b[at + 1]! << 8);
  const width = u16(6);
  const height = u16(8);
  if (width < 1 || height < 1) throw new FrameFormatError(`GIF: empty screen ${width}×${height}`);
  const packed = b[10]!;
  let at = 13;
  let global: Uint8Array | undefined;
  if (packed & 0x80) {
    const n = 3 * (2 << (packed & 7));
    need(at, n);
    global = b.subarray(at, at + n);
    at += n;
  }
  const canvas = new Uint8Array(width * height * 3);
  const frames: Frame[] = [];
  const delaysCs: number[] = [];
  let loops: number | undefined;
  let delay = 0;
  let transparent = -1;
  for (;;) {
    need(at, 1);
    const tag = b[at++];
    if (tag === 0x3b) break;
    if (tag === 0x21) {
      need(at, 1);
      const label = b[at++];
      const blocks: Uint8Array[] = [];
      for (;;) {
        need(at, 1);
        const n = b[at++]!;
        if (n === 0) break;
        need(at, n);
        blocks.push(b.subarray(at, at + n));
        at += n;
      }
      const g = blocks[0];
      if (label === 0xf9 && g && g.length >= 4) {
        delay = g[1]! | (g[2]! << 8);
        transparent = g[0]! & 1 ? g[3]! : -1;
      }
      if (label === 0xff && g && String.fromCharCode(...g) === "NETSCAPE2.0" && blocks[1]) {
        loops = blocks[1][1]! | (blocks[1][2]! << 8);
      }
      continue;
    }
    if (tag !== 0x2c)
      throw new FrameFormatError(`GIF: unexpected block 0x${(tag ?? 0).toString(16)} at ${at - 1}`);
    need(at, 9);
    const left = u16(at);
    const top = u16(at + 2);
    const w = u16(at + 4);
    const h = u16(at + 6);
    const flags = b[at + 8]!;
    at += 9;
    let table = global;
    if (flags & 0x80) {
      const n = 3 * (2 << (flags & 7));
      need(at, n);
      table = b.subarray(at, at + n);
      at += n;
    }
    if (!table) throw new FrameFormatError("GIF: an image without a colour table");
    need(at, 1);
    const minCode = b[at++]!;
    const data: number[] = [];
    for (;;) {
      need(at, 1);
      const n = b[at++]!;
      if (n === 0) break;
      need(at, n);
      for (let i = 0; i < n; i++) data.push(b[at + i]!);
      at += n;
    }
    const indices = lzwDecode(Uint8Array.from(data), minCode, w * h);
    const rows = interlacedRows(h, (flags & 0x40) !== 0);
    for (let r = 0; r < h; r++) {
      const y = top + rows[r]!;
      if (y >= height) continue;
      for (let x = 0; x < w; x++) {
        if (left + x >= width) continue;
        const idx = indices[r * w + x]!;
        if (idx === transparent) continue;
        const p = 3 * (y * width + left + x);
        canvas[p] = table[3 * idx] ?? 0;
        canvas[p + 1] = table[3 * idx + 1] ?? 0;
        canvas[p + 2] = table[3 * idx + 2] ?? 0;
      }
    }
    frames.push({ width, height, rgb: canvas.slice() });
    delaysCs.push(delay);
    delay = 0;
    transparent = -1;
  }
  if (frames.length === 0) throw new FrameFormatError("GIF: no image");
  return { width, height, frames, delaysCs, loops };
}

/** Row r of the stored image is row rows[r] of the picture (the four interlace passes, or the identity). */
function interlacedRows(h: number, interlaced: boolean): number[] {
  if (!interlaced) return Array.from({ length: h }, (_, i) => i);
  const rows: number[] = [];
  for (const [start, step] of [
    [0, 8],
    [4, 8],
    [2, 4],
    [1, 2],
  ] as const) {
    for (let y = start; y < h; y += step) rows.push(y);
  }
  return rows;
}

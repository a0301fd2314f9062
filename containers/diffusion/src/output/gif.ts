import { FrameFormatError } from "../errors.ts";
import { checkFrames, type Frame } from "./frame.ts";

/** Levels per channel of the palette cube: 6 × 6 × 6 = 216 colours (0, 51, …, 255), the rest of 256 black. */
const LEVELS = 6;
const STEP = 51;

/** The global palette: 256 RGB triples, entry `36r + 6g + b` = `(51r, 51g, 51b)`, entries 216…255 black. */
export function gifPalette(): Uint8Array {
  const p = new Uint8Array(256 * 3);
  for (let i = 0; i < LEVELS ** 3; i++) {
    p[3 * i] = Math.floor(i / 36) * STEP;
    p[3 * i + 1] = (Math.floor(i / 6) % 6) * STEP;
    p[3 * i + 2] = (i % 6) * STEP;
  }
  return p;
}

/** Palette index of a pixel: each channel rounded to the nearest of 6 levels (`⌊(v + 25)/51⌋`), no dithering. */
export function paletteIndex(r: number, g: number, b: number): number {
  return 36 * Math.floor((r + 25) / STEP) + 6 * Math.floor((g + 25) / STEP) + Math.floor((b + 25) / STEP);
}

/** Packs variable-width codes LSB-first into bytes (GIF bit order). */
class BitWriter {
  bytes: number[] = [];
  private acc = 0;
  private bits = 0;
  write(code: number, width: number): void {
    this.acc |= code << this.bits;
    this.bits += width;
    while (this.bits >= 8) {
      this.bytes.push(this.acc & 0xff);
      this.acc >>>= 8;
      this.bits -= 8;
    }
  }
  flush(): void {
    if (this.bits > 0) this.bytes.push(this.acc & 0xff);
    this.acc = 0;
    this.bits = 0;
  }
}

/**
 * GIF LZW of 8-bit indices (minimum code size 8): clear code 256, end code 257, codes from 9 bits up to 12; the
 * width grows after the code `2^width − 1` is assigned, and at 4096 entries a clear code restarts the table.
 */
export function lzwEncode(indices: Uint8Array): Uint8Array {
  const CLEAR = 256;
  const END = 257;
  const out = new BitWriter();
  let table = new Map<number, number>(); // key: prefix code · 256 + byte
  let next = 258;
  let width = 9;
  out.write(CLEAR, width);
  if (indices.length === 0) {
    out.write(END, width);
    out.flush();
    return Uint8Array.from(out.bytes);
  }
  let prefix = indices[0]!;
  for (let i = 1; i < indices.length; i++) {
    const k = indices[i]!;
    const key = prefix * 256 + k;
    const found = table.get(key);
    if (found !== undefined) {
      prefix = found;
      continue;
    }
    out.write(prefix, width);
    if (next < 4096) {
      table.set(key, next++);
      if (next > 1 << width && width < 12) width++;
    } else {
      out.write(CLEAR, width);
      table = new Map();
      next = 258;
      width = 9;
    }
    prefix = k;
  }
  out.write(prefix, width);
  out.write(END, width);
  out.flush();
  return Uint8Array.from(out.bytes);
}

export interface GifOptions {
  /** Delay per frame in hundredths of a second (default 10, i.e. 10 fps). */
  delayCs?: number;
  /** Loop count of the NETSCAPE2.0 extension; 0 loops forever (default). */
  loops?: number;
}

/**
 * An animated GIF89a: one global 256-colour palette (`gifPalette`), a NETSCAPE2.0 loop extension, then per frame a
 * graphic control extension (delay, no transparency) and a full-size image with LZW data in ≤ 255-byte sub-blocks.
 */
export function encodeGif(frames: readonly Frame[], options: GifOptions = {}): Uint8Array {
  const { width, height } = checkFrames(frames);
  if (width > 0xffff || height > 0xffff)
    throw new FrameFormatError(`${width}×${height} is too large for GIF`);
  const delay = options.delayCs ?? 10;
  const loops = options.loops ?? 0;
  for (const [name, v] of [
    ["delayCs", delay],
    ["loops", loops],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0 || v > 0xffff)
      throw new FrameFormatError(`${name} must be a u16, got ${v}`);
  }
  const out: number[] = [];
  const u16 = (v: number) => out.push(v & 0xff, v >>> 8);
  const ascii = (s: string) => out.push(...Array.from(s, (c) => c.charCodeAt(0)));
  ascii("GIF89a");
  u16(width);
  u16(height);
  out.push(0xf7, 0, 0); // global colour table of 2^(7+1) entries, 8-bit colour resolution; background 0; aspect 0
  out.push(...gifPalette());
  out.push(0x21, 0xff, 11);
  ascii("NETSCAPE2.0");
  out.push(3, 1);
  u16(loops);
  out.push(0);
  const pixels = new Uint8Array(width * height);
  for (const frame of frames) {
    out.push(0x21, 0xf9, 4, 0x04); // graphic control: disposal 1 (leave in place), no transparency
    u16(delay);
    out.push(0, 0);
    out.push(0x2c);
    u16(0);
    u16(0);
    u16(width);
    u16(height);
    out.push(0); // no local colour table, not interlaced
    for (let i = 0; i < pixels.length; i++) {
      pixels[i] = paletteIndex(frame.rgb[3 * i]!, frame.rgb[3 * i + 1]!, frame.rgb[3 * i + 2]!);
    }
    const data = lzwEncode(pixels);
    out.push(8);
    for (let at = 0; at < data.length; at += 255) {
      const block = data.subarray(at, Math.min(at + 255, data.length));
      out.push(block.length);
      for (const b of block) out.push(b);
    }
    out.push(0);
  }
  out.push(0x3b);
  return Uint8Array.from(out);
}

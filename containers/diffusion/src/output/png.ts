import { crc32, deflateSync } from "node:zlib";
import { checkFrames, type Frame } from "./frame.ts";

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  const typed = out.subarray(4, 8 + data.length);
  for (let i = 0; i < 4; i++) typed[i] = type.charCodeAt(i);
  typed.set(data, 4);
  view.setUint32(8 + data.length, crc32(typed)); // CRC over type and data
  return out;
}

/**
 * One frame as an 8-bit RGB PNG (colour type 2, no interlace): every row with filter 0 (None), the image data one
 * zlib stream (deflate level 9) in one IDAT chunk. Same frame and zlib → same bytes.
 */
export function encodePng(frame: Frame): Uint8Array {
  const { width, height } = checkFrames([frame]);
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // bit depth 8, RGB, deflate, adaptive filtering, no interlace
  const stride = width * 3;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++)
    raw.set(frame.rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const idat = new Uint8Array(deflateSync(raw, { level: 9 }));
  const parts = [SIGNATURE, chunk("IHDR", ihdr), chunk("IDAT", idat), chunk("IEND", new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

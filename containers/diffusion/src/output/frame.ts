import { FrameFormatError } from "../errors.ts";

/** One RGB frame: `width × height` pixels, row-major, 3 bytes (R, G, B) per pixel. */
export interface Frame {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** A pixel value in [−1, 1] as a byte: `round(clamp(v/2 + 0.5, 0, 1) · 255)` (diffusers' post-processing). */
export function toByte(v: number): number {
  const x = v / 2 + 0.5;
  return Math.round((x < 0 ? 0 : x > 1 ? 1 : x) * 255);
}

/** Frames from planar `[3, H, W]` images in [−1, 1], `count` of them back to back in `planes`. */
export function framesFromPlanes(
  planes: Float32Array,
  count: number,
  height: number,
  width: number,
): Frame[] {
  const plane = height * width;
  if (planes.length !== count * 3 * plane) {
    throw new FrameFormatError(`${planes.length} values is not ${count} × 3 × ${height} × ${width}`);
  }
  const frames: Frame[] = [];
  for (let f = 0; f < count; f++) {
    const rgb = new Uint8Array(plane * 3);
    const base = f * 3 * plane;
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) rgb[3 * i + c] = toByte(planes[base + c * plane + i]!);
    }
    frames.push({ width, height, rgb });
  }
  return frames;
}

/** Throws `FrameFormatError` unless there is at least one frame and all have one size and `w·h·3` bytes. */
export function checkFrames(frames: readonly Frame[]): { width: number; height: number } {
  const first = frames[0];
  if (first === undefined) throw new FrameFormatError("no frames");
  const { width, height } = first;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) {
    throw new FrameFormatError(`frame size ${width}×${height} is not positive`);
  }
  for (const [i, f] of frames.entries()) {
    if (f.width !== width || f.height !== height) {
      throw new FrameFormatError(`frame ${i} is ${f.width}×${f.height}, frame 0 is ${width}×${height}`);
    }
    if (f.rgb.length !== width * height * 3) {
      throw new FrameFormatError(`frame ${i} has ${f.rgb.length} bytes, expected ${width * height * 3}`);
    }
  }
  return { width, height };
}

/** The frames' RGB bytes back to back (raw `rgb24` video). */
export function rawVideo(frames: readonly Frame[]): Uint8Array {
  checkFrames(frames);
  const out = new Uint8Array(frames.reduce((n, f) => n + f.rgb.length, 0));
  let at = 0;
  for (const f of frames) {
    out.set(f.rgb, at);
    at += f.rgb.length;
  }
  return out;
}

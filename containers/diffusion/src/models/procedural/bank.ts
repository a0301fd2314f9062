/**
 * The procedural clip bank: every combination of a shape, a colour and a motion, rendered as an 8-frame latent
 * video of 4 × 16 × 16. Channels 0–2 are the colour (−1 background, the colour's RGB in [−1, 1] inside the shape,
 * blended by pixel coverage); channel 3 is the coverage itself (−1 … 1).
 */

export const SHAPES = ["circle", "square", "triangle", "diamond"] as const;
export const MOTIONS = ["left", "right", "up", "down", "grow", "shrink"] as const;
/** RGB in [−1, 1]. */
export const COLOURS = {
  red: [1, -1, -1],
  green: [-1, 1, -1],
  blue: [-1, -1, 1],
  yellow: [1, 1, -1],
  purple: [0, -1, 1],
  white: [1, 1, 1],
} as const satisfies Record<string, readonly [number, number, number]>;

export type Shape = (typeof SHAPES)[number];
export type Motion = (typeof MOTIONS)[number];
export type Colour = keyof typeof COLOURS;
export const COLOUR_NAMES = Object.keys(COLOURS) as Colour[];

/** Latent video geometry: `[C, F, H, W]` per clip (the UNet's `sample` is `[B, C, F, H, W]`). */
export const LATENT = Object.freeze({ channels: 4, frames: 8, height: 16, width: 16 });
/** Pixels per latent pixel of the decoder (64 × 64 frames). */
export const PIXEL_FACTOR = 4;
export const CLIP_SIZE = LATENT.channels * LATENT.frames * LATENT.height * LATENT.width;

export interface ClipSpec {
  shape: Shape;
  colour: Colour;
  motion: Motion;
}

/** All clips, shape-major, then colour, then motion (clip i of the UNet's bank). */
export function bankClips(): ClipSpec[] {
  const out: ClipSpec[] = [];
  for (const shape of SHAPES)
    for (const colour of COLOUR_NAMES) for (const motion of MOTIONS) out.push({ shape, colour, motion });
  return out;
}

/** Centre (x, y) and size r in latent pixels at frame progress u ∈ [0, 1]; y grows downwards. */
export function placement(motion: Motion, u: number): { cx: number; cy: number; r: number } {
  const mid = LATENT.width / 2;
  switch (motion) {
    case "right":
      return { cx: 4 + 8 * u, cy: mid, r: 3 };
    case "left":
      return { cx: 12 - 8 * u, cy: mid, r: 3 };
    case "down":
      return { cx: mid, cy: 4 + 8 * u, r: 3 };
    case "up":
      return { cx: mid, cy: 12 - 8 * u, r: 3 };
    case "grow":
      return { cx: mid, cy: mid, r: 1.75 + 3.5 * u };
    case "shrink":
      return { cx: mid, cy: mid, r: 5.25 - 3.5 * u };
  }
}

/** Whether offset (dx, dy) from the centre lies inside the shape of size r. */
export function inside(shape: Shape, dx: number, dy: number, r: number): boolean {
  switch (shape) {
    case "circle":
      return dx * dx + dy * dy <= r * r;
    case "square":
      return Math.abs(dx) <= 0.85 * r && Math.abs(dy) <= 0.85 * r;
    case "triangle": // apex up
      return dy >= -r && dy <= 0.8 * r && Math.abs(dx) <= 0.6 * (dy + r);
    case "diamond":
      return Math.abs(dx) + Math.abs(dy) <= 1.15 * r;
  }
}

const SUPERSAMPLE = 4;

/** A clip's latent `[C, F, H, W]` in C order (float32; coverage from 4 × 4 samples per pixel). */
export function renderClip(c: ClipSpec): Float32Array {
  const { channels, frames, height, width } = LATENT;
  const out = new Float32Array(CLIP_SIZE);
  const colour = COLOURS[c.colour];
  for (let f = 0; f < frames; f++) {
    const { cx, cy, r } = placement(c.motion, f / (frames - 1));
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let hits = 0;
        for (let sy = 0; sy < SUPERSAMPLE; sy++) {
          for (let sx = 0; sx < SUPERSAMPLE; sx++) {
            const px = x + (sx + 0.5) / SUPERSAMPLE;
            const py = y + (sy + 0.5) / SUPERSAMPLE;
            if (inside(c.shape, px - cx, py - cy, r)) hits++;
          }
        }
        const cov = hits / (SUPERSAMPLE * SUPERSAMPLE);
        const at = (ch: number) => ((ch * frames + f) * height + y) * width + x;
        for (let ch = 0; ch < 3; ch++) out[at(ch)] = -1 + cov * (colour[ch]! + 1);
        out[at(channels - 1)] = -1 + 2 * cov;
      }
    }
  }
  return out;
}

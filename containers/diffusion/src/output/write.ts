import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Frame } from "./frame.ts";
import { encodeGif } from "./gif.ts";
import { encodeMp4 } from "./mp4.ts";
import { encodePng } from "./png.ts";

export interface WriteOutputsParams {
  frames: readonly Frame[];
  dir: string;
  /** File name stem (default "output"): `<stem>.gif`, `<stem>-000.png` …, `<stem>.mp4`. */
  stem?: string;
  fps?: number;
  /** Try MP4 when ffmpeg is on PATH (default true). */
  mp4?: boolean;
}

export interface WrittenOutputs {
  gif: string;
  pngs: string[];
  /** Absent when no ffmpeg was found (or `mp4` was false). */
  mp4: string | undefined;
}

/** Writes the animated GIF, one PNG per frame and, when ffmpeg exists, an MP4. */
export async function writeOutputs(p: WriteOutputsParams): Promise<WrittenOutputs> {
  const stem = p.stem ?? "output";
  const fps = p.fps ?? 10;
  await mkdir(p.dir, { recursive: true });
  const gif = join(p.dir, `${stem}.gif`);
  await writeFile(gif, encodeGif(p.frames, { delayCs: Math.max(1, Math.round(100 / fps)) }));
  const pngs: string[] = [];
  for (const [i, frame] of p.frames.entries()) {
    const file = join(p.dir, `${stem}-${String(i).padStart(3, "0")}.png`);
    await writeFile(file, encodePng(frame));
    pngs.push(file);
  }
  const mp4File = join(p.dir, `${stem}.mp4`);
  const mp4 =
    p.mp4 !== false && (await encodeMp4({ frames: p.frames, file: mp4File, fps })) ? mp4File : undefined;
  return { gif, pngs, mp4 };
}

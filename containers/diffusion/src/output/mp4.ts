import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { DiffusionError } from "../errors.ts";
import { checkFrames, rawVideo, type Frame } from "./frame.ts";

/** The path of `ffmpeg` on `PATH` (default `process.env.PATH`), or undefined when there is none. */
export function findFfmpeg(path: string = process.env.PATH ?? ""): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, "ffmpeg");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface Mp4Params {
  frames: readonly Frame[];
  /** Output file. */
  file: string;
  fps?: number;
  /** `ffmpeg` binary (default: found on PATH). */
  ffmpeg?: string;
}

/**
 * Encodes the frames as H.264 MP4 (yuv420p, even size by padding) with `ffmpeg`, piping raw rgb24 to its stdin.
 * Optional: resolves false, writing nothing, when no ffmpeg is available. MP4 bytes depend on the ffmpeg build and
 * are never hashed by the protocol.
 */
export async function encodeMp4(p: Mp4Params): Promise<boolean> {
  const ffmpeg = p.ffmpeg ?? findFfmpeg();
  if (ffmpeg === undefined) return false;
  const { width, height } = checkFrames(p.frames);
  const args = [
    ["-hide_banner", "-loglevel", "error", "-y"],
    ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", `${width}x${height}`, "-r", String(p.fps ?? 10), "-i", "-"],
    [
      "-vf",
      "pad=ceil(iw/2)*2:ceil(ih/2)*2",
      "-c:v",
      "libx264",
      "-pix_fmt",
      "yuv420p",
      "-movflags",
      "+faststart",
    ],
    [p.file],
  ].flat();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new DiffusionError(`ffmpeg exited with ${code}: ${stderr.trim()}`)),
    );
    child.stdin.on("error", reject);
    child.stdin.end(rawVideo(p.frames));
  });
  return true;
}

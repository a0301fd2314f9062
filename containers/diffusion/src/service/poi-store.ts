// What the service keeps of a Proof-of-Inference job until the node drops it: the commitment (to answer
// /poi/reveal) and the trajectory (every z_i and ε_i, to answer /poi/tensors), keyed by jobId.
//
// Bounded: trajectories take (2T + 1) · |z| · 4 bytes. At most `memoryBytes` of them stay in memory; with a
// directory, every job is also written there at once (write-through, so a restart keeps it) and the oldest leave
// memory first, read back from disk on demand; at most `diskBytes` stay on disk. Space is made only by dropping
// jobs whose TTL has passed (their reveal, verdict and dispute windows are long over), oldest first: a job the node
// may still have to reveal is never dropped to make room, the new job is refused instead (503, the node retries).
//
//   <dir>/<jobId>/meta.json     StoredJob (below)
//   <dir>/<jobId>/tensors.bin   z_0, ε_0, z_1, ε_1, …, z_{T−1}, ε_{T−1}, z_T: raw little-endian float32, each |z|
import { mkdir, open, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { commitJob, type JobCommitment, type StepRecord } from "@infernet/sdk";
import type { Hex } from "viem";
import type { JobParams, Trajectory } from "../pipeline.ts";

/** Everything about a committed job except its tensors (JSON; `meta.json` on disk). */
export interface StoredJob {
  jobId: Hex;
  node: Hex;
  job: JobParams;
  inputsHash: Hex;
  modelHash: Hex;
  schedulerHash: Hex;
  paramsHash: Hex;
  outputHash: Hex;
  /** sha256 of the decoded video (raw RGB frames), the on-chain `raw_output`. */
  videoSha256: Hex;
  /** The storage URI, the on-chain `processed_output`. */
  uri: string;
  dims: number[];
  timesteps: number[];
  steps: StepRecord[];
  finalLatentDigest: Hex;
  /** ms since the epoch. */
  createdAt: number;
}

export interface StepTensors {
  latent: Float32Array;
  /** Absent for step T (only z_T). */
  noise: Float32Array | undefined;
}

interface Entry {
  meta: StoredJob;
  commitment: JobCommitment | undefined;
  trajectory: Trajectory | undefined;
  bytes: number;
  onDisk: boolean;
}

export interface PoiStoreOptions {
  dir: string | undefined;
  memoryBytes: number;
  diskBytes: number;
  ttlMs: number;
  now?: () => number;
}

/** The store is full of jobs that are not yet expired. */
export class PoiStoreFullError extends Error {
  override readonly name = "PoiStoreFullError";
  readonly status = 503;
}

/** The job is already kept for another node. */
export class PoiConflictError extends Error {
  override readonly name = "PoiConflictError";
  readonly status = 409;
}

export function trajectoryBytes(elements: number, steps: number): number {
  return elements * 4 * (2 * steps + 1);
}

const f32Bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

export class PoiStore {
  readonly #opts: PoiStoreOptions;
  readonly #now: () => number;
  /** Insertion order = age order (oldest first). */
  readonly #entries = new Map<string, Entry>();

  constructor(opts: PoiStoreOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Loads the jobs kept in the directory (after a restart). Unreadable entries are skipped. */
  async init(): Promise<number> {
    const dir = this.#opts.dir;
    if (!dir) return 0;
    await mkdir(dir, { recursive: true });
    const loaded: StoredJob[] = [];
    for (const name of await readdir(dir)) {
      if (!/^0x[0-9a-f]{64}$/.test(name)) continue;
      try {
        loaded.push(JSON.parse(await readFile(path.join(dir, name, "meta.json"), "utf8")) as StoredJob);
      } catch {
        // A job whose write did not finish: meta.json is renamed into place last, so it is simply absent.
      }
    }
    loaded.sort((a, b) => a.createdAt - b.createdAt);
    for (const meta of loaded) {
      const n = meta.dims.reduce((a, b) => a * b, 1);
      this.#entries.set(meta.jobId, {
        meta,
        commitment: undefined,
        trajectory: undefined,
        bytes: trajectoryBytes(n, meta.steps.length),
        onDisk: true,
      });
    }
    return loaded.length;
  }

  get size(): number {
    return this.#entries.size;
  }

  usage(): { jobs: number; memoryBytes: number; diskBytes: number } {
    let memoryBytes = 0;
    let diskBytes = 0;
    for (const e of this.#entries.values()) {
      if (e.trajectory) memoryBytes += e.bytes;
      if (e.onDisk) diskBytes += e.bytes;
    }
    return { jobs: this.#entries.size, memoryBytes, diskBytes };
  }

  #expired(e: Entry): boolean {
    return this.#now() - e.meta.createdAt >= this.#opts.ttlMs;
  }

  /** Whether a job of `bytes` fits once expired jobs are dropped (it drops them as needed). */
  async makeRoom(bytes: number, replacing?: string): Promise<boolean> {
    const limit = this.#opts.dir ? this.#opts.diskBytes : this.#opts.memoryBytes;
    if (bytes > limit) return false;
    const used = () => {
      let total = 0;
      for (const [k, e] of this.#entries) if (k !== replacing) total += e.bytes;
      return total;
    };
    for (const [k, e] of [...this.#entries]) {
      if (used() + bytes <= limit) break;
      if (k !== replacing && this.#expired(e)) await this.delete(k);
    }
    return used() + bytes <= limit;
  }

  /** Keeps a committed job (write-through to disk when a directory is set). */
  async put(meta: StoredJob, trajectory: Trajectory): Promise<JobCommitment> {
    const existing = this.#entries.get(meta.jobId);
    if (existing && existing.meta.node !== meta.node) {
      throw new PoiConflictError(
        `job ${meta.jobId} is already kept for node ${existing.meta.node}; drop it first (DELETE /poi/jobs/…)`,
      );
    }
    const n = meta.dims.reduce((a, b) => a * b, 1);
    const bytes = trajectoryBytes(n, meta.steps.length);
    if (!(await this.makeRoom(bytes, meta.jobId))) {
      throw new PoiStoreFullError(
        `busy: the Proof-of-Inference store is full (${this.#entries.size} unexpired jobs); try again later`,
      );
    }
    const commitment = commitmentOf(meta);
    const dir = this.#opts.dir;
    if (dir) await writeJob(path.join(dir, meta.jobId), meta, trajectory);
    this.#entries.delete(meta.jobId);
    this.#entries.set(meta.jobId, { meta, commitment, trajectory, bytes, onDisk: dir !== undefined });
    this.#trimMemory();
    return commitment;
  }

  /** Memory over its bound: the oldest trajectories that are also on disk leave memory. */
  #trimMemory(): void {
    let inMemory = 0;
    for (const e of this.#entries.values()) if (e.trajectory) inMemory += e.bytes;
    for (const e of this.#entries.values()) {
      if (inMemory <= this.#opts.memoryBytes) break;
      if (e.trajectory && e.onDisk) {
        e.trajectory = undefined;
        inMemory -= e.bytes;
      }
    }
  }

  meta(jobId: string): StoredJob | undefined {
    return this.#entries.get(jobId.toLowerCase())?.meta;
  }

  commitment(jobId: string): JobCommitment | undefined {
    const e = this.#entries.get(jobId.toLowerCase());
    if (!e) return undefined;
    e.commitment ??= commitmentOf(e.meta);
    return e.commitment;
  }

  /** z_step and ε_step (step < T), or z_T alone (step = T); undefined for an unknown job. */
  async tensors(jobId: string, step: number): Promise<StepTensors | undefined> {
    const e = this.#entries.get(jobId.toLowerCase());
    if (!e) return undefined;
    const T = e.meta.steps.length;
    if (e.trajectory) {
      return { latent: e.trajectory.latents[step]!, noise: step < T ? e.trajectory.noise[step] : undefined };
    }
    const n = e.meta.dims.reduce((a, b) => a * b, 1);
    const count = step < T ? 2 : 1;
    const buf = new Float32Array(n * count);
    const fh = await open(path.join(this.#opts.dir!, e.meta.jobId, "tensors.bin"), "r");
    try {
      const { bytesRead } = await fh.read(f32Bytes(buf), 0, buf.byteLength, 2 * step * n * 4);
      if (bytesRead !== buf.byteLength) throw new Error(`tensors.bin of ${e.meta.jobId} is truncated`);
    } finally {
      await fh.close();
    }
    return { latent: buf.subarray(0, n), noise: step < T ? buf.subarray(n, 2 * n) : undefined };
  }

  async delete(jobId: string): Promise<boolean> {
    const key = jobId.toLowerCase();
    const e = this.#entries.get(key);
    if (!e) return false;
    this.#entries.delete(key);
    if (e.onDisk && this.#opts.dir)
      await rm(path.join(this.#opts.dir, key), { recursive: true, force: true });
    return true;
  }
}

export function commitmentOf(meta: StoredJob): JobCommitment {
  return commitJob({
    jobId: meta.jobId,
    node: meta.node,
    steps: meta.steps,
    finalLatentDigest: meta.finalLatentDigest,
    outputHash: meta.outputHash,
    paramsHash: meta.paramsHash,
  });
}

async function writeJob(dir: string, meta: StoredJob, t: Trajectory): Promise<void> {
  await mkdir(dir, { recursive: true });
  const T = t.noise.length;
  const fh = await open(path.join(dir, "tensors.bin"), "w");
  try {
    for (let i = 0; i < T; i++) {
      await fh.write(f32Bytes(t.latents[i]!));
      await fh.write(f32Bytes(t.noise[i]!));
    }
    await fh.write(f32Bytes(t.latents[T]!));
  } finally {
    await fh.close();
  }
  // meta.json last, by rename: a job without it was not completely written and is ignored at init.
  const tmp = path.join(dir, "meta.json.tmp");
  await writeFile(tmp, JSON.stringify(meta));
  await rename(tmp, path.join(dir, "meta.json"));
}

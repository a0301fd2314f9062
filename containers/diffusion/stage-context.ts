// Stages the Docker build context of the diffusion service, for an offline build (CI, air-gapped hosts):
//
//   Dockerfile
//   containers/diffusion/package.json, containers/diffusion/src/…   the service and the pipeline modules it loads
//   containers/onnx/package.json, containers/onnx/src/…             the parts shared with the onnx service
//   containers/diffusion/models/procedural/…                          the procedural model, built here (baked in)
//   node_modules/onnxruntime-node, onnxruntime-common                 staged by containers/onnx/stage-context.ts
//   node_modules/@infernet/sdk/dist/…, viem, ox, @noble/…, …          only the files the service loads
//
// "Only the files the service loads": a child Node process imports the service's modules with a resolve hook that
// records every file (module.registerHooks), and those files are copied with the package.json files that govern
// them (module type, exports); workspace packages (@infernet/sdk) go under node_modules/ as npm would put them.
// onnx-proto (the model builder) is not staged: the image gets the model prebuilt.
//
//   node containers/diffusion/stage-context.ts <outDir> [--arch x64|arm64]
//   DOCKER_BUILDKIT=0 docker build --build-arg BASE_IMAGE=local/node:22 -t infernet/diffusion <outDir>
import { execFileSync } from "node:child_process";
import { cp, mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { stageContext as stageOnnxContext } from "../onnx/stage-context.ts";
import { writeModelFiles } from "./src/models/files.ts";
import { buildProceduralModel } from "./src/models/procedural/build.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..");
/** The service's modules, imported by the trace (server.ts itself starts listening, so it is copied, not run). */
const ENTRY_MODULES = ["src/service/http.ts", "src/service/config.ts", "src/service/service.ts"];
const ENTRY_FILES = ["src/service/server.ts"];
/** Where the image's default model lives (the Dockerfile sets DIFFUSION_MODEL_DIR to it). */
export const BAKED_MODEL_DIR = "containers/diffusion/models/procedural";
/** Staged from containers/onnx's staging (native binding for one architecture), not from the trace. */
const ORT_PACKAGES = ["onnxruntime-node", "onnxruntime-common"];

export interface StageOptions {
  /** Where the context goes: a folder that does not exist yet, or an empty one. */
  outDir: string;
  /** CPU architecture of onnxruntime's native binding, default this machine's (x64 or arm64). */
  arch?: "x64" | "arm64";
}

export interface StagedContext {
  dir: string;
  /** Every file in the context, relative to `dir` (what dockerode's buildImage takes as `src`). */
  files: string[];
  /** Their total size. */
  bytes: number;
}

async function listFiles(dir: string, base = dir): Promise<Array<{ rel: string; size: number }>> {
  const out: Array<{ rel: string; size: number }> = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(full, base)));
    else if (e.isFile()) out.push({ rel: path.relative(base, full), size: (await stat(full)).size });
  }
  return out;
}

/** Every file the service's modules load (absolute, real paths), recorded by a resolve hook in a child process. */
export function traceServiceFiles(): string[] {
  const hook = `
    import { registerHooks } from "node:module";
    const seen = new Set();
    registerHooks({
      resolve(specifier, context, next) {
        const r = next(specifier, context);
        if (r.url.startsWith("file:")) seen.add(r.url);
        return r;
      },
    });
    for (const m of ${JSON.stringify(ENTRY_MODULES.map((m) => pathToFileURL(path.join(HERE, m)).href))}) {
      seen.add(m);
      await import(m);
    }
    process.stdout.write(JSON.stringify([...seen]));
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", hook], {
    cwd: ROOT,
    env: { ...process.env, ORT_DISABLE_TELEMETRY: "1" },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return (JSON.parse(out) as string[]).map((u) => fileURLToPath(u));
}

interface PackageRoot {
  dir: string;
  name: string;
}

async function packageRootOf(file: string): Promise<PackageRoot> {
  let dir = path.dirname(file);
  for (;;) {
    const pj = path.join(dir, "package.json");
    if (existsSync(pj)) {
      const name = (JSON.parse(await readFile(pj, "utf8")) as { name?: unknown }).name;
      if (typeof name === "string" && name !== "") return { dir, name };
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json with a name above ${file}`);
    dir = up;
  }
}

/** Where a traced file goes in the context (relative), or undefined to leave it out. */
async function placeOf(file: string): Promise<{ rel: string; pkg: PackageRoot } | undefined> {
  const pkg = await packageRootOf(file);
  if (ORT_PACKAGES.includes(pkg.name)) return undefined;
  const rel = path.relative(ROOT, file);
  if (rel.startsWith("..")) throw new Error(`traced file ${file} is outside the repository`);
  // In node_modules already, or one of the two containers: the same place. Another workspace package (the sdk):
  // under node_modules/<name>/, where npm links it.
  if (rel.split(path.sep).includes("node_modules") || rel.startsWith(`containers${path.sep}`))
    return { rel, pkg };
  return { rel: path.join("node_modules", pkg.name, path.relative(pkg.dir, file)), pkg };
}

export async function stageContext(opts: StageOptions): Promise<StagedContext> {
  const dir = path.resolve(opts.outDir);
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) throw new Error(`${dir} is not empty: stage into a new folder`);

  // onnxruntime: the onnx service's staging knows which files of the native package to take. Staged inside the
  // context (then moved) so that the move never crosses filesystems.
  const ortTmp = path.join(dir, ".onnx-staging");
  try {
    await stageOnnxContext({ outDir: ortTmp, ...(opts.arch ? { arch: opts.arch } : {}) });
    await mkdir(path.join(dir, "node_modules"), { recursive: true });
    for (const name of ORT_PACKAGES) {
      await rename(path.join(ortTmp, "vendor", "node_modules", name), path.join(dir, "node_modules", name));
    }
  } finally {
    await rm(ortTmp, { recursive: true, force: true });
  }

  // The service and its JavaScript dependencies, file by file.
  const traced = [...traceServiceFiles(), ...ENTRY_FILES.map((f) => path.join(HERE, f))];
  const copies = new Map<string, string>(); // context-relative → source
  for (const file of traced) {
    const place = await placeOf(file);
    if (!place) continue;
    copies.set(place.rel, file);
    // Every package.json from the file's folder up to its package root: they decide module type and exports.
    const destRoot = path.join(path.dirname(place.rel), path.relative(path.dirname(file), place.pkg.dir));
    for (let d = path.dirname(file); ; d = path.dirname(d)) {
      const pj = path.join(d, "package.json");
      if (existsSync(pj))
        copies.set(path.join(destRoot, path.relative(place.pkg.dir, d), "package.json"), pj);
      if (d === place.pkg.dir || d === path.dirname(d)) break;
    }
  }
  for (const [rel, src] of copies) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await cp(src, path.join(dir, rel), { dereference: true });
  }

  // The procedural model, built in memory (deterministic bytes) and baked into the image.
  await writeModelFiles(path.join(dir, BAKED_MODEL_DIR), buildProceduralModel());
  await cp(path.join(HERE, "Dockerfile"), path.join(dir, "Dockerfile"));

  const files = await listFiles(dir);
  return { dir, files: files.map((f) => f.rel), bytes: files.reduce((a, f) => a + f.size, 0) };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const archAt = args.indexOf("--arch");
  const arch = archAt >= 0 ? args.splice(archAt, 2)[1] : undefined;
  if (args.length !== 1 || (arch !== undefined && arch !== "x64" && arch !== "arm64")) {
    console.error("usage: node containers/diffusion/stage-context.ts <outDir> [--arch x64|arm64]");
    process.exit(2);
  }
  const ctx = await stageContext({ outDir: args[0] as string, ...(arch ? { arch } : {}) });
  console.log(`staged ${ctx.files.length} files (${(ctx.bytes / 1e6).toFixed(1)} MB) in ${ctx.dir}; now:`);
  console.log(
    `  DOCKER_BUILDKIT=0 docker build --build-arg BASE_IMAGE=local/node:22 -t infernet/diffusion ${ctx.dir}`,
  );
}

// Stages an offline Docker build context for containers/onnx: the Dockerfile, package.json and src/, plus
// vendor/node_modules with onnxruntime-node (its JavaScript and the Linux native binding for one architecture)
// and onnxruntime-common, copied from this workspace's node_modules. The Dockerfile sees vendor/ and uses it
// instead of running `npm install`, so the image builds with no network (CI, air-gapped hosts).
//
//   node containers/onnx/stage-context.ts <outDir> [--arch x64|arm64]
//   DOCKER_BUILDKIT=0 docker build --build-arg BASE_IMAGE=local/node:22 -t infernet/onnx <outDir>
//
// onnxruntime-node's other dependencies (adm-zip, global-agent) serve only its install script, which does not run
// here; the CUDA provider libraries come along only if that script downloaded them into node_modules.
import { cp, mkdir, readdir, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface StageOptions {
  /** Where the context goes: a folder that does not exist yet, or an empty one. */
  outDir: string;
  /** CPU architecture of the image's native binding, default this machine's (x64 or arm64). */
  arch?: "x64" | "arm64";
}

export interface StagedContext {
  dir: string;
  /** Every file in the context, relative to `dir` (what dockerode's buildImage takes as `src`). */
  files: string[];
  /** Their total size. */
  bytes: number;
}

/** A package's folder, resolved the way Node resolves it from `from` (a file path). */
function packageDir(name: string, from: string): string {
  let dir = path.dirname(createRequire(from).resolve(name));
  while (path.basename(dir) !== name || path.basename(path.dirname(dir)) !== "node_modules") {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the folder of package ${name} (resolved from ${from})`);
    dir = up;
  }
  return dir;
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

export async function stageContext(opts: StageOptions): Promise<StagedContext> {
  const arch = opts.arch ?? (process.arch === "arm64" ? "arm64" : "x64");
  const dir = path.resolve(opts.outDir);
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) throw new Error(`${dir} is not empty: stage into a new folder`);

  for (const f of ["Dockerfile", "package.json", "src"]) {
    await cp(path.join(HERE, f), path.join(dir, f), { recursive: true });
  }
  const ortNode = packageDir("onnxruntime-node", path.join(HERE, "package.json"));
  const ortCommon = packageDir("onnxruntime-common", path.join(ortNode, "package.json"));
  const vendor = path.join(dir, "vendor", "node_modules");
  const bin = path.join("bin", "napi-v6", "linux", arch);
  for (const part of ["package.json", "dist", bin]) {
    await cp(path.join(ortNode, part), path.join(vendor, "onnxruntime-node", part), {
      recursive: true,
      dereference: true,
    });
  }
  await cp(ortCommon, path.join(vendor, "onnxruntime-common"), { recursive: true, dereference: true });

  const files = await listFiles(dir);
  return { dir, files: files.map((f) => f.rel), bytes: files.reduce((a, f) => a + f.size, 0) };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const archAt = args.indexOf("--arch");
  const arch = archAt >= 0 ? args.splice(archAt, 2)[1] : undefined;
  if (args.length !== 1 || (arch !== undefined && arch !== "x64" && arch !== "arm64")) {
    console.error("usage: node containers/onnx/stage-context.ts <outDir> [--arch x64|arm64]");
    process.exit(2);
  }
  const ctx = await stageContext({ outDir: args[0] as string, ...(arch ? { arch } : {}) });
  console.log(`staged ${ctx.files.length} files (${(ctx.bytes / 1e6).toFixed(1)} MB) in ${ctx.dir}; now:`);
  console.log(
    `  DOCKER_BUILDKIT=0 docker build --build-arg BASE_IMAGE=local/node:22 -t infernet/onnx ${ctx.dir}`,
  );
}

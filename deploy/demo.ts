/**
 * `npm run demo` (`node deploy/demo.ts`): one video through the whole InferNet Proof-of-Inference protocol on a
 * local dev chain, with two real nodes, in under two minutes on a laptop CPU. docs/demo.md describes every stage.
 *
 *   node deploy/demo.ts [--prompt "…"] [--cheat skip-steps] [--steps N] [--out DIR] [--summary-json FILE] [--keep]
 *
 * Exit status: 0 when the protocol ran to its end (honest: verdict pass and payment; --cheat: verdict fail, slash and
 * refund), 1 otherwise (with the reason and the nodes' last log lines), 2 for bad arguments.
 *
 * This file only parses the arguments and makes sure the contracts and the sdk are built (a fresh clone after
 * `npm install` has neither); the demo itself (deploy/demo/run.ts) is imported afterwards, since it loads both.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { hardhatCommand } from "./hardhat-bin.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const CHEATS = ["skip-steps"] as const;
const USAGE = `usage: node deploy/demo.ts [options]

  --prompt TEXT         what the video shows (default "a red circle moving right")
  --cheat skip-steps    the providers' diffusion containers cheat (UNet on step 0 only): watch it get caught
  --steps N             denoising steps T, 2..64 (default 12)
  --out DIR             where the GIF is written (default out/)
  --summary-json FILE   also write the summary as JSON
  --keep                keep the nodes' working directory (keys, stores, outputs)
  -h, --help            this text`;

class UsageError extends Error {
  override readonly name = "UsageError";
}

interface Args {
  prompt: string;
  cheat: string | undefined;
  steps: number;
  outDir: string;
  summaryJson: string | undefined;
  keep: boolean;
}

function parse(argv: string[]): Args | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        prompt: { type: "string" },
        cheat: { type: "string" },
        steps: { type: "string" },
        out: { type: "string" },
        "summary-json": { type: "string" },
        keep: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return "help";
  const prompt = values.prompt ?? "a red circle moving right";
  if (prompt.trim() === "") throw new UsageError("--prompt must not be empty");
  if (Buffer.byteLength(prompt) > 1024) throw new UsageError("--prompt is limited to 1024 bytes");
  if (values.cheat !== undefined && !(CHEATS as readonly string[]).includes(values.cheat))
    throw new UsageError(`--cheat must be one of: ${CHEATS.join(", ")}`);
  const steps = values.steps === undefined ? 12 : Number(values.steps);
  // T ≥ 2: with one step, step 0 is all there is and skipping nothing cannot be caught.
  if (!Number.isSafeInteger(steps) || steps < 2 || steps > 64)
    throw new UsageError("--steps must be an integer in 2..64");
  return {
    prompt,
    cheat: values.cheat,
    steps,
    outDir: resolve(values.out ?? join(ROOT, "out")),
    summaryJson: values["summary-json"] ? resolve(values["summary-json"]) : undefined,
    keep: values.keep ?? false,
  };
}

/** Artifacts the demo deploys from, and the sources they must not be older than. */
const NEEDED = [
  ["registry/ContainerRegistry.sol", "ContainerRegistry"],
  ["registry/NodeRegistry.sol", "NodeRegistry"],
  ["core/Coordinator.sol", "Coordinator"],
  ["poi/ProofOfInference.sol", "ProofOfInference"],
  ["poi/TrustModel.sol", "TrustModel"],
  ["randomness/BlockhashRandomness.sol", "BlockhashRandomness"],
  ["examples/VideoNFT.sol", "VideoNFT"],
] as const;

function contractsStale(): boolean {
  return NEEDED.some(([source, name]) => {
    const artifact = join(ROOT, "artifacts", "contracts", source, `${name}.json`);
    if (!existsSync(artifact)) return true;
    return statSync(artifact).mtimeMs < statSync(join(ROOT, "contracts", source)).mtimeMs;
  });
}

/** The build step running now, if any (stopped with the demo on a signal). */
let building: ChildProcess | undefined;

async function run(what: string, command: string, args: string[]): Promise<void> {
  console.log(`${what} …`);
  const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  building = child;
  const code = await new Promise<number | string | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (c, signal) => resolve(c ?? signal));
  }).finally(() => (building = undefined));
  if (code !== 0) throw new Error(`${what} failed (exit ${code})`);
}

/** Builds what a fresh clone lacks: the contract artifacts (hardhat build) and the sdk's dist/ (tsc). */
async function ensureBuilt(): Promise<void> {
  if (contractsStale()) {
    await run("compiling the contracts (first run: one to two minutes)", process.execPath, [
      ...hardhatCommand(),
      "build",
      "--quiet",
    ]);
  }
  if (!existsSync(join(ROOT, "sdk", "dist", "index.js"))) {
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    await run("building the sdk", process.execPath, [tsc, "-p", join(ROOT, "sdk", "tsconfig.build.json")]);
  }
}

async function main(): Promise<number> {
  let args: Args | "help";
  try {
    args = parse(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args === "help") {
    console.log(USAGE);
    return 0;
  }
  // From here on a signal stops every process the demo started (the build, the chain, the nodes), then exits 1.
  let stopping = false;
  let stopDemo: () => Promise<void> = async () => {};
  let closeUi = () => {};
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    closeUi();
    console.error(`\n${signal}: stopping every process the demo started …`);
    building?.kill("SIGTERM");
    void stopDemo().finally(() => process.exit(1));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    await ensureBuilt();
  } catch (err) {
    console.error(`demo failed: ${(err as Error).message}`);
    return 1;
  }
  const { runDemo, STAGES } = await import("./demo/run.ts");
  const { formatSummary } = await import("./demo/summary.ts");
  const { Progress } = await import("./demo/progress.ts");
  const { stopAll } = await import("./demo/procs.ts");
  const ui = new Progress({ total: STAGES + 1 });
  stopDemo = stopAll;
  closeUi = () => ui.close(true);

  ui.print(
    `InferNet demo: "${args.prompt}"` +
      (args.cheat ? ` — CHEATING provider (DIFFUSION_CHEAT=${args.cheat})` : " — honest provider"),
  );
  try {
    const summary = await runDemo({
      prompt: args.prompt,
      ...(args.cheat ? { cheat: args.cheat } : {}),
      steps: args.steps,
      outDir: args.outDir,
      keep: args.keep,
      root: ROOT,
      ui,
    });
    ui.close();
    ui.print(formatSummary(summary));
    if (args.summaryJson) {
      mkdirSync(dirname(args.summaryJson), { recursive: true });
      writeFileSync(args.summaryJson, `${JSON.stringify(summary, null, 2)}\n`);
    }
    // The protocol must have come out the way this run was set up for.
    const expected = args.cheat ? "slashed" : "paid";
    if (summary.settlement !== expected) {
      console.error(`demo failed: expected the job to be ${expected}, it was ${summary.settlement}`);
      return 1;
    }
    return 0;
  } catch (err) {
    ui.close(true);
    console.error(`\ndemo failed: ${(err as Error).message}`);
    return 1;
  }
}

process.exit(await main());

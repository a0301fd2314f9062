// The node's CLI (spawned as `node node/bin/infernet-node.ts`), its lifecycle host and its logger.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { main } from "../node/src/cli.ts";
import { loadConfig } from "../node/src/config/load.ts";
import type { Config } from "../node/src/config/schema.ts";
import { createLogger, type Logger } from "../node/src/log.ts";
import { StartupError, startNode, type Component } from "../node/src/node.ts";

const BIN = "node/bin/infernet-node.ts";
const KEY = `0x${"cd".repeat(32)}`;

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function validConfig(): Record<string, unknown> {
  return {
    chain: {
      rpcUrl: "http://127.0.0.1:8545",
      contracts: {
        coordinator: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
        nodeRegistry: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
        proofOfInference: "0x0165878A594ca255338adfa4d48449f69242Eb8F",
      },
      wallet: { keyFile: "node.key" },
    },
    queue: { redis: { password: "hunter2" } },
  };
}

async function writeConfig(config: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "infernet-cli-"));
  dirs.push(dir);
  await writeFile(join(dir, "node.key"), KEY);
  const path = join(dir, "node.json");
  await writeFile(path, JSON.stringify(config));
  return path;
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Spawns the bin; `whenStderr` is called on every stderr chunk with the stderr so far and the child. */
function run(
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    whenStderr?: (stderr: string, kill: (s: NodeJS.Signals) => void) => void;
  } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("INFERNET__")));
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      options.whenStderr?.(stderr, (s) => child.kill(s));
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("infernet-node CLI", () => {
  it("--help exits 0 with usage on stdout", async () => {
    const r = await run(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: infernet-node <command>/);
    assert.match(r.stdout, /start --config <file>/);
    assert.match(r.stdout, /config check --config <file>/);
    assert.equal((await run(["start", "--help"])).code, 0);
  });

  it("bad usage exits 2", async () => {
    const cases = [[], ["launch"], ["start"], ["start", "--config"], ["start", "--bogus", "x"], ["config"]];
    const runs = await Promise.all(cases.map((args) => run(args)));
    runs.forEach((r, i) => {
      assert.equal(r.code, 2, `${cases[i]?.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^infernet-node: .*\nRun 'infernet-node --help' for usage\.\n$/);
    });
  });

  it("bad config: exit 78 and one stderr line naming the key", async () => {
    const config = validConfig();
    delete (config.chain as Record<string, unknown>).rpcUrl;
    const noKey = validConfig();
    (noKey.chain as { wallet: { keyFile: string } }).wallet.keyFile = "missing.key";
    const [r, unknown, env, k] = await Promise.all([
      run(["start", "--config", await writeConfig(config)]),
      run(["start", "-c", await writeConfig({ ...validConfig(), extra: 1 })]),
      run(["start", "--config", await writeConfig(validConfig())], {
        env: { INFERNET__QUEUE__CONCURRENCY: "many" },
      }),
      run(["start", "--config", await writeConfig(noKey)]),
    ]);
    assert.equal(r.code, 78);
    assert.equal(r.stderr, "config: chain.rpcUrl: required\n");
    assert.equal(unknown.code, 78);
    assert.equal(unknown.stderr, "config: extra: unknown key\n");
    assert.equal(env.code, 78);
    assert.equal(
      env.stderr,
      "config: queue.concurrency: expected number, got string (from INFERNET__QUEUE__CONCURRENCY)\n",
    );
    assert.equal(k.code, 78);
    assert.match(k.stderr, /^config: chain\.wallet\.keyFile: cannot read .*missing\.key \(ENOENT\)\n$/);
  });

  it("config check prints the resolved config with secrets redacted", async () => {
    const path = await writeConfig(validConfig());
    const r = await run(["config", "check", "--config", path]);
    assert.equal(r.code, 0, r.stderr);
    const printed = JSON.parse(r.stdout) as Config;
    assert.equal(printed.queue.redis.password, "[redacted]");
    assert.equal(printed.chain.wallet.keyFile, join(path, "..", "node.key"));
    assert.equal(printed.queue.concurrency, 2);
    assert.ok(!r.stdout.includes("hunter2"));
    assert.ok(!r.stdout.includes(KEY.slice(2)));

    const bad = await run(["config", "check", "--config", await writeConfig({ roles: [], chains: 1 })]);
    assert.equal(bad.code, 78);
    const lines = bad.stderr.trim().split("\n");
    assert.ok(lines.includes("config: roles: must have at least 1 items"), bad.stderr);
    assert.ok(lines.includes("config: chains: unknown key"), bad.stderr);
    assert.ok(lines.includes("config: chain: required"), bad.stderr);
  });

  // Lifecycle only: the validator role has no components yet, so nothing needs a chain or containers here (the
  // provider role is exercised end to end in node.e2e.test.ts).
  it("start runs until SIGTERM, then shuts down and exits 0", async () => {
    const path = await writeConfig({ ...validConfig(), roles: ["validator"] });
    let signalled = false;
    const r = await run(["start", "--config", path], {
      whenStderr: (stderr, kill) => {
        if (!signalled && stderr.includes('"msg":"node started"')) {
          signalled = true;
          setTimeout(() => kill("SIGTERM"), 200); // still running after a while: it waits for the signal
        }
      },
    });
    assert.ok(signalled, r.stderr);
    assert.equal(r.code, 0, r.stderr);
    // The validator role without models starts no component here; it says so once (warn).
    const all = jsonLines(r.stderr);
    assert.equal(all.filter((l) => l.level === "warn" && /judges no jobs/.test(String(l.msg))).length, 1);
    const records = all.filter((l) => l.level !== "warn");
    const msgs = records.map((l) => l.msg);
    assert.deepEqual(msgs, [
      "node starting",
      "node started",
      "shutdown requested",
      "shutting down",
      "node stopped",
    ]);
    for (const l of records) {
      assert.equal(typeof l.time, "string");
      assert.equal(l.level, "info");
    }
    assert.equal(records.find((l) => l.msg === "shutdown requested")?.signal, "SIGTERM");
    assert.equal(r.stdout, "");
  });

  it("start honours log.level and SIGINT", async () => {
    const path = await writeConfig({ ...validConfig(), roles: ["validator"], log: { level: "warn" } });
    let signalled = false;
    const r = await run(["start", "--config", path], {
      env: { INFERNET__LOG__LEVEL: "info" },
      whenStderr: (stderr, kill) => {
        if (!signalled && stderr.includes('"msg":"node started"')) {
          signalled = true;
          kill("SIGINT");
        }
      },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(jsonLines(r.stderr).some((l) => l.msg === "node stopped" && l.reason === "SIGINT"));
  });

  it("main() can be called in-process", async () => {
    let out = "";
    assert.equal(await main(["--version"], { io: { stdout: (t) => (out += t) } }), 0);
    assert.match(out, /^\d+\.\d+\.\d+\n$/);
  });
});

/** A logger that collects records. */
function collector(level: Logger["level"] = "trace"): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const logger = createLogger({
    level,
    write: (line) => records.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { logger, records };
}

async function testConfig(): Promise<Config> {
  return loadConfig({ path: await writeConfig(validConfig()), env: {} });
}

describe("node lifecycle host", () => {
  function component(name: string, events: string[], behaviour: Partial<Component> = {}): Component {
    return {
      name,
      start: behaviour.start ?? (() => void events.push(`start ${name}`)),
      stop: behaviour.stop ?? (async () => void events.push(`stop ${name}`)),
    };
  }

  it("starts components in order and stops them in reverse", async () => {
    const config = await testConfig();
    const events: string[] = [];
    const { logger, records } = collector();
    const handle = await startNode(config, {
      logger,
      signals: [],
      components: ["store", "chain", "queue"].map((n) => component(n, events)),
    });
    assert.deepEqual(events, ["start store", "start chain", "start queue"]);
    const result = await handle.stop();
    assert.deepEqual(result, { reason: "stop()", exitCode: 0 });
    assert.deepEqual(events.slice(3), ["stop queue", "stop chain", "stop store"]);
    assert.deepEqual(await handle.done, result);
    assert.deepEqual(await handle.stop(), result, "stop is idempotent");
    const msgs = records.map(
      (r) => `${String(r.msg)}${r.target === undefined ? "" : ` ${String(r.target)}`}`,
    );
    assert.deepEqual(msgs, [
      "node starting",
      "starting component store",
      "component started store",
      "starting component chain",
      "component started chain",
      "starting component queue",
      "component started queue",
      "node started",
      "shutting down",
      "stopping component queue",
      "component stopped queue",
      "stopping component chain",
      "component stopped chain",
      "stopping component store",
      "component stopped store",
      "node stopped",
    ]);
  });

  it("a component that fails to start: the started ones are stopped, StartupError carries its exit code", async () => {
    const config = await testConfig();
    const events: string[] = [];
    const { logger, records } = collector();
    const failure = Object.assign(new Error("docker engine unreachable"), { exitCode: 69 });
    await assert.rejects(
      startNode(config, {
        logger,
        signals: [],
        components: [
          component("store", events),
          component("runtime", events, {
            start: () => {
              throw failure;
            },
          }),
          component("api", events),
        ],
      }),
      (err: unknown) => {
        assert.ok(err instanceof StartupError);
        assert.equal(err.component, "runtime");
        assert.equal(err.exitCode, 69);
        assert.match(err.message, /runtime: docker engine unreachable/);
        return true;
      },
    );
    assert.deepEqual(events, ["start store", "stop store"]);
    const failed = records.find((r) => r.msg === "component failed to start");
    assert.equal((failed?.err as { message?: string }).message, "docker engine unreachable");
  });

  it("a stop that hangs or throws does not block the others; exit code 1", async () => {
    const config = await testConfig();
    const events: string[] = [];
    const { logger, records } = collector();
    const handle = await startNode(config, {
      logger,
      signals: [],
      shutdownTimeoutMs: 200,
      components: [
        component("store", events),
        component("hangs", events, { stop: () => new Promise(() => {}) }),
        component("throws", events, {
          stop: () => {
            throw new Error("boom");
          },
        }),
      ],
    });
    const t0 = Date.now();
    const result = await handle.stop("test");
    assert.ok(Date.now() - t0 < 2000);
    assert.deepEqual(result, { reason: "test", exitCode: 1 });
    assert.ok(events.includes("stop store"), "the component after the hung one was still stopped");
    assert.ok(records.some((r) => r.msg === "component failed to stop" && r.target === "throws"));
    assert.ok(records.some((r) => r.msg === "component did not stop within the shutdown timeout"));
  });
});

describe("node logger", () => {
  it("writes JSON lines with time, level, msg, bindings and fields; filters by level", () => {
    const { logger, records } = collector("info");
    logger.debug("hidden");
    logger.info("plain");
    logger.warn({ block: 12n, nested: { a: [1] } }, "with fields");
    const child = logger.child({ component: "chain" }).child({ rpc: "x" });
    child.error(new Error("bad"), "failed");
    child.info({ component: "override" }, "field wins");
    assert.deepEqual(
      records.map((r) => [r.level, r.msg]),
      [
        ["info", "plain"],
        ["warn", "with fields"],
        ["error", "failed"],
        ["info", "field wins"],
      ],
    );
    assert.equal(records[1]?.block, "12");
    assert.deepEqual(records[1]?.nested, { a: [1] });
    assert.equal(records[2]?.component, "chain");
    assert.equal(records[2]?.rpc, "x");
    assert.equal((records[2]?.err as { message: string; type: string }).message, "bad");
    assert.equal((records[2]?.err as { type: string }).type, "Error");
    assert.equal(records[3]?.component, "override");
    assert.ok(!Number.isNaN(Date.parse(String(records[0]?.time))));
  });

  it("level changes follow into children; silent writes nothing; cycles do not throw", () => {
    const { logger, records } = collector("warn");
    const child = logger.child({ c: 1 });
    child.info("no");
    logger.level = "debug";
    assert.ok(child.isLevelEnabled("debug"));
    child.debug("yes");
    logger.level = "silent";
    child.fatal("no");
    assert.deepEqual(
      records.map((r) => r.msg),
      ["yes"],
    );
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    logger.level = "info";
    logger.info({ cyclic }, "cycle");
    assert.deepEqual(records.at(-1)?.cyclic, { a: 1, self: "[Circular]" });
  });
});

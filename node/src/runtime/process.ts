// A container served by a local process (for hosts without Docker): same contract, same socket-or-port choice.
//   network "none" (default): the process gets INFERNET_SOCKET=<private temp dir>/service.sock
//   network "host" / "bridge": it gets PORT=<port> and HOST=127.0.0.1 and is reached on 127.0.0.1:<port>
// The process runs in its own process group; stop() sends SIGTERM to the group, then SIGKILL after the grace
// period. Its environment is the config's env on top of a short allow-list of the node's (PATH, HOME, locale,
// temp dir, CUDA/NVIDIA device selection), so the node's secrets do not leak into workloads.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ContainerOutput, ContainerRequest } from "./contract.ts";
import {
  callService,
  errorMessage,
  isConnectionError,
  probe,
  sleep,
  waitReady,
  type Endpoint,
} from "./http.ts";
import {
  ContainerCallError,
  ContainerCrashedError,
  ContainerTimeoutError,
  type CallOptions,
  type ContainerRuntime,
  type RuntimeContainerConfig,
  type RuntimeOptions,
} from "./types.ts";
import { LogRing, splitCommand } from "./util.ts";

const INHERITED_ENV = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "LANGUAGE",
  "LC_ALL",
  "LC_CTYPE",
  "TZ",
  "TMPDIR",
  "TEMP",
  "TMP",
  "SYSTEMROOT",
  "LD_LIBRARY_PATH",
  "CUDA_VISIBLE_DEVICES",
  "NVIDIA_VISIBLE_DEVICES",
];

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with the terminating NUL). */
const MAX_SOCKET_PATH = 107;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ProcessRuntime implements ContainerRuntime {
  readonly id: string;
  readonly #config: RuntimeContainerConfig;
  readonly #opts: RuntimeOptions;
  readonly #logs: LogRing;
  #child: ChildProcess | undefined;
  #exit: Exit | undefined;
  #exited: Promise<Exit> | undefined;
  #closed: Promise<void> | undefined;
  #sockDir: string | undefined;
  #endpoint: Endpoint | undefined;
  #starting: Promise<void> | undefined;
  #killOnExit: (() => void) | undefined;
  #stopRequested = false;

  constructor(config: RuntimeContainerConfig, opts: RuntimeOptions = {}) {
    if (!config.command || splitCommand(config.command).length === 0) {
      throw new Error(`container ${config.id}: runtime "process" needs a command`);
    }
    this.id = config.id;
    this.#config = config;
    this.#opts = opts;
    this.#logs = new LogRing(256 * 1024);
  }

  /** The process id while it runs. */
  get pid(): number | undefined {
    return this.#exit ? undefined : this.#child?.pid;
  }

  /** Where the node reaches the service: `unix:<path>` or `http://127.0.0.1:<port>`. */
  get endpoint(): Endpoint | undefined {
    return this.#endpoint;
  }

  start(): Promise<void> {
    if (this.#starting) return this.#starting;
    if (this.#child && !this.#exit) return Promise.resolve();
    this.#starting = this.#start().finally(() => (this.#starting = undefined));
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#stopRequested = false;
    if (this.#child) await this.#teardown(); // the remains of a crashed run
    const cfg = this.#config;
    const argv = splitCommand(cfg.command ?? []);
    // "node …" runs on the node's own Node (22, with type stripping) whatever PATH holds.
    const cmd = argv[0] === "node" ? process.execPath : (argv[0] as string);
    const env: Record<string, string> = {};
    for (const k of INHERITED_ENV) {
      const v = process.env[k];
      if (v !== undefined) env[k] = v;
    }
    Object.assign(env, cfg.env);

    const network = cfg.network ?? "none";
    if (network === "none") {
      this.#sockDir = await mkdtemp(path.join(this.#opts.socketDir ?? os.tmpdir(), "infernet-proc-"));
      const socketPath = path.join(this.#sockDir, "service.sock");
      if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
        await this.#cleanupDir();
        throw new Error(
          `container ${this.id}: socket path ${socketPath} is too long; set a shorter socketDir`,
        );
      }
      env.INFERNET_SOCKET = socketPath;
      this.#endpoint = { socketPath };
    } else {
      const port = cfg.port ?? 3000;
      env.PORT = String(port);
      env.HOST ??= "127.0.0.1";
      this.#endpoint = { host: "127.0.0.1", port };
    }

    this.#exit = undefined;
    const child = spawn(cmd, argv.slice(1), {
      cwd: this.#opts.cwd ?? process.cwd(),
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.#child = child;
    child.stdout?.on("data", (c: Buffer) => this.#logs.push(c));
    child.stderr?.on("data", (c: Buffer) => this.#logs.push(c));
    this.#exited = new Promise<Exit>((resolve) => {
      child.once("exit", (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
      child.once("error", (e) => {
        // spawn failed (e.g. ENOENT): there is no process and "exit" does not follow.
        this.#logs.push(`[infernet] could not start ${cmd}: ${errorMessage(e)}\n`);
        if (!this.#exit) {
          this.#exit = { code: null, signal: null };
          resolve(this.#exit);
        }
      });
    });
    this.#closed = new Promise<void>((resolve) => {
      child.once("close", () => resolve());
      child.once("error", () => resolve());
    });
    // If the node itself exits without stop(), do not leave the workload running.
    this.#killOnExit = () => {
      if (child.pid && !this.#exit) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    };
    process.once("exit", this.#killOnExit);

    const ep = this.#endpoint;
    try {
      await waitReady(
        this.id,
        this.#opts.startTimeoutMs ?? 60_000,
        () => probe(ep),
        async () => {
          if (this.#stopRequested) throw new Error(`container ${this.id}: stopped while starting`);
          if (this.#exit) throw await this.#crashError();
        },
        () => this.logs(),
      );
    } catch (e) {
      await this.#teardown();
      throw e;
    }
  }

  async #crashError(): Promise<ContainerCrashedError> {
    // Let the last output arrive (stdio closes just after "exit").
    await Promise.race([this.#closed, sleep(200)]);
    const exit = this.#exit ?? { code: null, signal: null };
    return new ContainerCrashedError(this.id, exit.code, exit.signal, this.#logs.text());
  }

  async call(request: ContainerRequest, options: CallOptions = {}): Promise<ContainerOutput> {
    if (!this.#child || !this.#endpoint) {
      throw new ContainerCallError(this.id, "not started (call start() first)");
    }
    if (this.#exit) throw await this.#crashError();
    const timeoutMs = options.timeoutMs ?? this.#config.timeoutMs ?? 180_000;
    try {
      return await callService(this.id, this.#endpoint, request, { timeoutMs, signal: options.signal });
    } catch (e) {
      if (e instanceof ContainerTimeoutError) {
        throw new ContainerTimeoutError(this.id, "call", e.timeoutMs, this.#logs.text());
      }
      if (!isConnectionError(e) && !/socket hang up/i.test(errorMessage(e))) throw e;
      // The connection broke: did the process die?
      const exit = await Promise.race([this.#exited, sleep(1000).then(() => undefined)]);
      if (exit) throw await this.#crashError();
      throw new ContainerCallError(this.id, `connection failed: ${errorMessage(e)}`, undefined, "", {
        cause: e,
      });
    }
  }

  async logs(): Promise<string> {
    return this.#logs.text();
  }

  async stop(): Promise<void> {
    if (this.#starting) {
      this.#stopRequested = true;
      await this.#starting.catch(() => undefined);
    }
    await this.#teardown();
  }

  async #teardown(): Promise<void> {
    const child = this.#child;
    if (child?.pid && !this.#exit) {
      const graceMs = (this.#opts.stopGraceSeconds ?? 5) * 1000;
      const signalGroup = (sig: NodeJS.Signals) => {
        try {
          process.kill(-(child.pid as number), sig);
        } catch {
          try {
            child.kill(sig);
          } catch {
            // already gone
          }
        }
      };
      signalGroup("SIGTERM");
      const exited = await Promise.race([this.#exited, sleep(graceMs).then(() => undefined)]);
      if (!exited) {
        signalGroup("SIGKILL");
        await Promise.race([this.#exited, sleep(2000)]);
      }
      // The last output lands just after the exit.
      await Promise.race([this.#closed, sleep(500)]);
    }
    if (child?.pid) {
      // Whatever the workload left behind in its process group.
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // none left
      }
    }
    this.#child = undefined;
    this.#endpoint = undefined;
    if (this.#killOnExit) {
      process.removeListener("exit", this.#killOnExit);
      this.#killOnExit = undefined;
    }
    await this.#cleanupDir();
  }

  async #cleanupDir(): Promise<void> {
    if (this.#sockDir) {
      await rm(this.#sockDir, { recursive: true, force: true });
      this.#sockDir = undefined;
    }
  }
}

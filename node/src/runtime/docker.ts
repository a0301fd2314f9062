// Containers through the Docker engine (dockerode).
//
// Isolation by default: no network, read-only root with a tmpfs /tmp, no capabilities, no-new-privileges,
// memory/CPU/pids limits, docker-init as PID 1. With network "none" the node cannot reach a TCP port inside the
// container, so the runtime bind-mounts a fresh private host directory at /run/infernet and sets
// INFERNET_SOCKET=/run/infernet/service.sock; the node speaks HTTP over that unix socket. Ritual's containers
// (TCP port 3000 only) need network "host" (reached on 127.0.0.1:<port>) or "bridge" (<container IP>:<port>).
// The socket directory must be a path the engine sees as the node does (a local engine; a node inside a
// container needs socketDir on a volume shared with the host at the same path).
import Docker from "dockerode";
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
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
  DockerUnavailableError,
  GpuUnavailableError,
  ImagePullError,
  type CallOptions,
  type ContainerRuntime,
  type RegistryAuth,
  type RuntimeContainerConfig,
  type RuntimeOptions,
} from "./types.ts";
import { demuxDockerLogs, sanitizeName, splitCommand } from "./util.ts";

/** Label on every container this runtime makes; value "true". */
export const MANAGED_LABEL = "org.infernet.managed";
/** Label carrying the config's container id. */
export const CONTAINER_ID_LABEL = "org.infernet.container-id";
/** Where the socket directory is mounted inside the container, and the socket in it. */
export const SOCKET_MOUNT = "/run/infernet";
export const SOCKET_PATH = `${SOCKET_MOUNT}/service.sock`;

export function defaultDockerHost(): string {
  return process.env.DOCKER_HOST || "unix:///var/run/docker.sock";
}

/** A dockerode client for `dockerHost` (unix://, tcp://, http(s)://); the environment's settings when omitted. */
export function dockerClient(dockerHost?: string): Docker {
  if (!dockerHost) return new Docker();
  if (dockerHost.startsWith("unix://")) return new Docker({ socketPath: dockerHost.slice("unix://".length) });
  if (dockerHost.startsWith("npipe://"))
    return new Docker({ socketPath: dockerHost.slice("npipe://".length) });
  const u = new URL(dockerHost.replace(/^tcp:/, "http:"));
  return new Docker({
    host: u.hostname,
    port: u.port ? Number(u.port) : u.protocol === "https:" ? 2376 : 2375,
    protocol: u.protocol === "https:" ? "https" : "http",
  });
}

const ENGINE_DOWN_CODES = new Set([
  "ENOENT",
  "ECONNREFUSED",
  "EACCES",
  "EPERM",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNRESET",
]);

function isEngineDown(e: unknown): boolean {
  const err = e as { code?: unknown; name?: unknown } | null;
  return (
    (typeof err?.code === "string" && ENGINE_DOWN_CODES.has(err.code)) ||
    err?.name === "TimeoutError" ||
    err?.name === "AbortError"
  );
}

/** The engine's own message from a dockerode error ("(HTTP code 500) server error - …" → "…"). */
function engineMessage(e: unknown): string {
  const json = (e as { json?: { message?: unknown } } | null)?.json;
  if (json && typeof json.message === "string") return json.message;
  return errorMessage(e);
}

function isGpuError(e: unknown): boolean {
  return /could not select device driver|nvidia-container-cli|nvidia-container-runtime|unknown or invalid runtime name: nvidia/i.test(
    engineMessage(e),
  );
}

function statusCode(e: unknown): number | undefined {
  const s = (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === "number" ? s : undefined;
}

/**
 * Checks that the engine answers; resolves with its version, throws DockerUnavailableError otherwise.
 * `containerId` names the container that needs it (for the message).
 */
export async function checkDocker(
  containerId: string,
  dockerHost: string = defaultDockerHost(),
  timeoutMs = 5000,
  docker?: Docker,
): Promise<{ version: string; apiVersion: string }> {
  const client = docker ?? dockerClient(dockerHost);
  try {
    // dockerode's ping takes {abortSignal}; its type definitions do not say so.
    const ping = client.ping.bind(client) as unknown as (opts: {
      abortSignal: AbortSignal;
    }) => Promise<unknown>;
    await ping({ abortSignal: AbortSignal.timeout(timeoutMs) });
    const v = (await client.version()) as { Version?: string; ApiVersion?: string };
    return { version: v.Version ?? "?", apiVersion: v.ApiVersion ?? "?" };
  } catch (e) {
    throw new DockerUnavailableError(containerId, dockerHost, e);
  }
}

/** Removes every container carrying all of `labels` (plus the managed label), e.g. after a crash of the node. */
export async function removeContainers(
  labels: Record<string, string>,
  docker: Docker = dockerClient(),
): Promise<number> {
  const filters = {
    label: [`${MANAGED_LABEL}=true`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)],
  };
  const list = await docker.listContainers({ all: true, filters });
  await Promise.all(
    list.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
  return list.length;
}

/** Reads a pull/build progress stream to its end; rejects on an `error` line. */
export function followStream(stream: NodeJS.ReadableStream): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const out: Array<Record<string, unknown>> = [];
    let buf = "";
    let failed = false;
    const line = (l: string) => {
      const t = l.trim();
      if (!t) return;
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(t) as Record<string, unknown>;
      } catch {
        obj = { stream: t };
      }
      out.push(obj);
      if (!failed && obj.error != null) {
        failed = true;
        const detail = obj.errorDetail as { message?: string } | undefined;
        reject(new Error(detail?.message ?? String(obj.error)));
      }
    };
    stream.on("data", (c: Buffer | string) => {
      buf += c.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        line(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    stream.on("end", () => {
      line(buf);
      if (!failed) resolve(out);
    });
    stream.on("error", (e: Error) => {
      if (!failed) {
        failed = true;
        reject(e);
      }
    });
  });
}

function resolveBind(bind: string, cwd: string): string {
  const i = bind.indexOf(":");
  if (i <= 0) return bind;
  const host = bind.slice(0, i);
  if (host.startsWith(".") || host.startsWith("~")) {
    const abs = host.startsWith("~") ? path.join(os.homedir(), host.slice(1)) : path.resolve(cwd, host);
    return `${abs}${bind.slice(i)}`;
  }
  return bind;
}

interface Exit {
  code: number | null;
  error?: string;
}

export class DockerRuntime implements ContainerRuntime {
  readonly id: string;
  readonly #config: RuntimeContainerConfig;
  readonly #opts: RuntimeOptions;
  readonly #docker: Docker;
  readonly dockerHost: string;
  #container: Docker.Container | undefined;
  #exit: Exit | undefined;
  #exited: Promise<Exit> | undefined;
  #waitAbort: AbortController | undefined;
  #sockParent: string | undefined;
  #endpoint: Endpoint | undefined;
  #lastLogs = "";
  #starting: Promise<void> | undefined;
  #startAbort: AbortController | undefined;

  constructor(config: RuntimeContainerConfig, opts: RuntimeOptions = {}, docker?: Docker) {
    if (!config.image) throw new Error(`container ${config.id}: runtime "docker" needs an image`);
    this.id = config.id;
    this.#config = config;
    this.#opts = opts;
    this.dockerHost = opts.dockerHost ?? defaultDockerHost();
    this.#docker = docker ?? dockerClient(opts.dockerHost);
  }

  /** The engine's id of the running container. */
  get containerId(): string | undefined {
    return this.#container?.id;
  }

  get endpoint(): Endpoint | undefined {
    return this.#endpoint;
  }

  start(): Promise<void> {
    if (this.#starting) return this.#starting;
    if (this.#container && !this.#exit) return Promise.resolve();
    this.#starting = this.#start().finally(() => (this.#starting = undefined));
    return this.#starting;
  }

  async #start(): Promise<void> {
    // stop() during start() aborts this: the pull, the readiness wait, and between the steps.
    const abort = new AbortController();
    this.#startAbort = abort;
    const checkStopped = () => {
      if (abort.signal.aborted) throw new Error(`container ${this.id}: stopped while starting`);
    };
    try {
      if (this.#container) await this.#teardown();
      await checkDocker(this.id, this.dockerHost, 5000, this.#docker);
      checkStopped();
      const image = this.#config.image as string;
      await this.#ensureImage(image, this.#opts.registryAuth, abort.signal);
      checkStopped();
      try {
        await this.#create(image);
        checkStopped();
        await this.#run(checkStopped);
      } catch (e) {
        if (this.#container) this.#lastLogs = await this.logs().catch(() => this.#lastLogs);
        await this.#teardown().catch(() => undefined);
        throw e;
      }
    } finally {
      if (this.#startAbort === abort) this.#startAbort = undefined;
    }
  }

  async #ensureImage(image: string, auth: RegistryAuth | undefined, stopSignal: AbortSignal): Promise<void> {
    try {
      await this.#docker.getImage(image).inspect();
      return;
    } catch (e) {
      if (isEngineDown(e)) throw new DockerUnavailableError(this.id, this.dockerHost, e);
      if (statusCode(e) !== 404) throw e;
    }
    const timeoutMs = this.#opts.pullTimeoutMs ?? 10 * 60_000;
    try {
      const stream = (await this.#docker.pull(image, {
        ...(auth ? { authconfig: auth } : {}),
        abortSignal: AbortSignal.any([AbortSignal.timeout(timeoutMs), stopSignal]),
      })) as NodeJS.ReadableStream;
      await followStream(stream);
      await this.#docker.getImage(image).inspect();
    } catch (e) {
      if (isEngineDown(e) && !(e as { name?: string }).name?.match(/Timeout|Abort/)) {
        throw new DockerUnavailableError(this.id, this.dockerHost, e);
      }
      if (stopSignal.aborted) throw new Error(`container ${this.id}: stopped while pulling ${image}`);
      const why =
        (e as { name?: string }).name === "TimeoutError" || (e as { name?: string }).name === "AbortError"
          ? new Error(`no result within ${timeoutMs} ms`)
          : new Error(engineMessage(e));
      throw new ImagePullError(this.id, image, why);
    }
  }

  async #create(image: string): Promise<void> {
    const cfg = this.#config;
    const network = cfg.network ?? "none";
    const cwd = this.#opts.cwd ?? process.cwd();
    const env: Record<string, string> = { ...cfg.env };
    const binds = (cfg.volumes ?? []).map((b) => resolveBind(b, cwd));
    if (network === "none") {
      // A private parent (0700) so other host users cannot reach the socket; the mounted directory itself is
      // world-writable so that the container's (non-root, unknown) user can create the socket in it.
      const base = this.#opts.socketDir ?? os.tmpdir();
      await mkdir(base, { recursive: true });
      this.#sockParent = await mkdtemp(path.join(base, "infernet-docker-"));
      const dir = path.join(this.#sockParent, "run");
      await mkdir(dir);
      await chmod(dir, 0o777);
      const socketPath = path.join(dir, "service.sock");
      if (Buffer.byteLength(socketPath) > 107) {
        throw new Error(
          `container ${this.id}: socket path ${socketPath} is too long; set a shorter socketDir`,
        );
      }
      binds.push(`${dir}:${SOCKET_MOUNT}`);
      env.INFERNET_SOCKET = SOCKET_PATH;
      this.#endpoint = { socketPath };
    } else {
      env.PORT ??= String(cfg.port ?? 3000);
    }
    const hostConfig: Docker.HostConfig = {
      NetworkMode: network,
      ReadonlyRootfs: cfg.readOnly ?? true,
      Tmpfs: { "/tmp": "rw,nosuid,nodev,size=64m" },
      Binds: binds,
      SecurityOpt: ["no-new-privileges"],
      CapDrop: ["ALL"],
      PidsLimit: cfg.pidsLimit ?? 1024,
      Init: true,
    };
    if (cfg.memoryMb) {
      hostConfig.Memory = Math.round(cfg.memoryMb * 1024 * 1024);
      hostConfig.MemorySwap = hostConfig.Memory; // no swap on top
    }
    if (cfg.cpus) hostConfig.NanoCpus = Math.round(cfg.cpus * 1e9);
    if (cfg.gpu) hostConfig.DeviceRequests = [{ Driver: "nvidia", Count: -1, Capabilities: [["gpu"]] }];
    const options: Docker.ContainerCreateOptions = {
      name: `infernet-${sanitizeName(this.id)}-${randomBytes(4).toString("hex")}`,
      Image: image,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: { ...this.#opts.labels, [MANAGED_LABEL]: "true", [CONTAINER_ID_LABEL]: this.id },
      HostConfig: hostConfig,
      Tty: false,
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      OpenStdin: false,
    };
    if (cfg.command !== undefined) options.Cmd = splitCommand(cfg.command);
    try {
      this.#container = await this.#docker.createContainer(options);
    } catch (e) {
      if (isEngineDown(e)) throw new DockerUnavailableError(this.id, this.dockerHost, e);
      if (cfg.gpu && isGpuError(e)) throw new GpuUnavailableError(this.id, new Error(engineMessage(e)));
      throw new Error(`container ${this.id}: docker create failed: ${engineMessage(e)}`, { cause: e });
    }
  }

  async #run(checkStopped: () => void): Promise<void> {
    const container = this.#container as Docker.Container;
    const cfg = this.#config;
    this.#exit = undefined;
    try {
      await container.start();
    } catch (e) {
      if (isEngineDown(e)) throw new DockerUnavailableError(this.id, this.dockerHost, e);
      if (cfg.gpu && isGpuError(e)) throw new GpuUnavailableError(this.id, new Error(engineMessage(e)));
      throw new Error(`container ${this.id}: docker start failed: ${engineMessage(e)}`, { cause: e });
    }
    // Learn about the exit as soon as it happens (a long-poll on the engine).
    const abort = new AbortController();
    this.#waitAbort = abort;
    this.#exited = container
      .wait({ abortSignal: abort.signal } as object)
      .then(
        (r: { StatusCode?: number; Error?: { Message?: string } | null }) =>
          ({
            code: typeof r?.StatusCode === "number" ? r.StatusCode : null,
            ...(r?.Error?.Message ? { error: r.Error.Message } : {}),
          }) as Exit,
      )
      .catch(async () => {
        // The wait was cut (engine restart, our stop()): ask directly.
        const info = await container.inspect().catch(() => undefined);
        return { code: info ? info.State.ExitCode : null } as Exit;
      })
      .then((exit) => {
        if (!abort.signal.aborted) this.#exit = exit;
        return exit;
      });

    if (cfg.network === "bridge") {
      const info = await container.inspect();
      const ip =
        info.NetworkSettings.Networks?.bridge?.IPAddress ||
        (info.NetworkSettings as { IPAddress?: string }).IPAddress;
      if (!ip) throw new Error(`container ${this.id}: no IP address on the bridge network`);
      this.#endpoint = { host: ip, port: cfg.port ?? 3000 };
    } else if (cfg.network === "host") {
      this.#endpoint = { host: "127.0.0.1", port: cfg.port ?? 3000 };
    }
    const ep = this.#endpoint as Endpoint;
    await waitReady(
      this.id,
      this.#opts.startTimeoutMs ?? 60_000,
      () => probe(ep),
      async () => {
        checkStopped();
        if (this.#exit) throw await this.#crashError();
      },
      () => this.logs(),
    );
  }

  async #crashError(): Promise<ContainerCrashedError> {
    let text = await this.logs().catch(() => this.#lastLogs);
    const exit = this.#exit ?? { code: null };
    const note = (line: string) =>
      (text += `${text.endsWith("\n") || !text ? "" : "\n"}[infernet] ${line}\n`);
    if (exit.error) note(`engine: ${exit.error}`);
    const oomKilled = async () =>
      (await this.#container
        ?.inspect()
        .then((i) => i.State.OOMKilled)
        .catch(() => false)) ?? false;
    let oom = await oomKilled();
    // The engine may record the OOM event a moment after the exit.
    for (let i = 0; !oom && exit.code === 137 && i < 10; i++) {
      await sleep(50);
      oom = await oomKilled();
    }
    if (oom) {
      note(`killed for running out of memory (limit ${this.#config.memoryMb ?? "?"} MiB: raise memoryMb)`);
    }
    const signal = exit.code === 137 ? "SIGKILL" : null;
    return new ContainerCrashedError(this.id, exit.code, signal, text);
  }

  async call(request: ContainerRequest, options: CallOptions = {}): Promise<ContainerOutput> {
    if (!this.#container || !this.#endpoint) {
      throw new ContainerCallError(this.id, "not started (call start() first)");
    }
    if (this.#exit) throw await this.#crashError();
    const timeoutMs = options.timeoutMs ?? this.#config.timeoutMs ?? 180_000;
    try {
      return await callService(this.id, this.#endpoint, request, { timeoutMs, signal: options.signal });
    } catch (e) {
      if (e instanceof ContainerTimeoutError) {
        throw new ContainerTimeoutError(this.id, "call", e.timeoutMs, await this.logs().catch(() => ""));
      }
      if (!isConnectionError(e) && !/socket hang up/i.test(errorMessage(e))) throw e;
      // The connection broke: did the container exit?
      const exit = await Promise.race([this.#exited, sleep(2000).then(() => undefined)]);
      if (exit && this.#exit) throw await this.#crashError();
      throw new ContainerCallError(this.id, `connection failed: ${errorMessage(e)}`, undefined, "", {
        cause: e,
      });
    }
  }

  /** The container's last log lines (stdout and stderr interleaved); after stop(), the ones kept at failure. */
  async logs(): Promise<string> {
    if (!this.#container) return this.#lastLogs;
    try {
      const buf = await this.#container.logs({
        stdout: true,
        stderr: true,
        follow: false,
        tail: this.#opts.logTailLines ?? 200,
      });
      this.#lastLogs = demuxDockerLogs(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf)));
    } catch {
      // The container is gone: keep what we had.
    }
    return this.#lastLogs;
  }

  async stop(): Promise<void> {
    if (this.#starting) {
      this.#startAbort?.abort();
      await this.#starting.catch(() => undefined);
    }
    await this.#teardown();
  }

  async #teardown(): Promise<void> {
    const container = this.#container;
    this.#container = undefined;
    this.#endpoint = undefined;
    this.#waitAbort?.abort();
    this.#waitAbort = undefined;
    if (container) {
      if (!this.#exit) {
        await container.stop({ t: this.#opts.stopGraceSeconds ?? 5 }).catch(() => undefined);
      }
      await container.remove({ force: true, v: true }).catch((e: unknown) => {
        if (statusCode(e) !== 404 && !isEngineDown(e)) throw e;
      });
    }
    if (this.#sockParent) {
      await rm(this.#sockParent, { recursive: true, force: true });
      this.#sockParent = undefined;
    }
  }
}

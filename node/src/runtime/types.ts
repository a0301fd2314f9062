// One interface for every way of running a container (Docker, a local process, an external URL), and the
// errors they raise. Every error carries `code` (stable, for logs and job records), `containerId` and
// `retryable` (whether trying the same job again after stop()/start() can help).
import type { ContainerOutput, ContainerRequest } from "./contract.ts";
import type { Endpoint } from "./http.ts";

export interface CallOptions {
  /** Limit for this call (connect + compute + reply); defaults to the container's timeoutMs. */
  timeoutMs?: number;
  /** Aborts the call; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface ContainerRuntime {
  /** The container id from the config (the name used in pipelines "A,B,C"). */
  readonly id: string;
  /** Starts the container (or checks the service) and resolves once it answers HTTP. Restartable after stop(). */
  start(): Promise<void>;
  /** Where the service answers once started (other routes than /service_output, e.g. a workload's PoI routes). */
  readonly endpoint?: Endpoint | undefined;
  /** POST /service_output; resolves with the validated reply. */
  call(request: ContainerRequest, options?: CallOptions): Promise<ContainerOutput>;
  /** stdout + stderr collected so far (the last lines); "" where there are none (external services). */
  logs(): Promise<string>;
  /** Stops and removes the container / kills the process; idempotent. */
  stop(): Promise<void>;
}

export abstract class RuntimeError extends Error {
  abstract readonly code: string;
  abstract readonly retryable: boolean;
  readonly containerId: string;
  constructor(containerId: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.containerId = containerId;
  }
}

function lastLines(logs: string, n: number): string {
  const lines = logs.trimEnd().split("\n");
  return lines.slice(-n).join("\n");
}

/** The container (or process) exited: before it became ready, or while serving a call. */
export class ContainerCrashedError extends RuntimeError {
  override readonly name = "ContainerCrashedError";
  readonly code = "CONTAINER_CRASHED";
  readonly retryable = true;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** The last log lines (stdout + stderr). */
  readonly logs: string;
  constructor(containerId: string, exitCode: number | null, signal: string | null, logs: string) {
    const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode ?? "?"}`;
    const tail = logs.trim() ? `; last log lines:\n${lastLines(logs, 20)}` : " (no log output)";
    super(containerId, `container ${containerId} ${how}${tail}`);
    this.exitCode = exitCode;
    this.signal = signal;
    this.logs = logs;
  }
}

/** The container did not become ready (phase "start") or did not answer a call (phase "call") in time. */
export class ContainerTimeoutError extends RuntimeError {
  override readonly name = "ContainerTimeoutError";
  readonly code = "CONTAINER_TIMEOUT";
  readonly retryable = true;
  readonly timeoutMs: number;
  readonly phase: "start" | "call";
  readonly logs: string;
  constructor(containerId: string, phase: "start" | "call", timeoutMs: number, logs = "") {
    const what = phase === "start" ? "did not become ready" : "did not answer";
    const tail = logs.trim() ? `; last log lines:\n${lastLines(logs, 20)}` : "";
    super(containerId, `container ${containerId} ${what} within ${timeoutMs} ms${tail}`);
    this.timeoutMs = timeoutMs;
    this.phase = phase;
    this.logs = logs;
  }
}

/** The Docker engine does not answer at `dockerHost`. */
export class DockerUnavailableError extends RuntimeError {
  override readonly name = "DockerUnavailableError";
  readonly code = "DOCKER_UNAVAILABLE";
  readonly retryable = false;
  readonly dockerHost: string;
  constructor(containerId: string, dockerHost: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      containerId,
      `Docker engine not reachable at DOCKER_HOST=${dockerHost} (${why}) — needed by container ${containerId}. ` +
        `Start the engine (on a dev/CI machine: npm run services), point DOCKER_HOST at a running one, ` +
        `or give this container runtime "process" or "external".`,
      { cause },
    );
    this.dockerHost = dockerHost;
  }
}

/** The container asks for GPUs but the engine has no NVIDIA runtime. */
export class GpuUnavailableError extends RuntimeError {
  override readonly name = "GpuUnavailableError";
  readonly code = "GPU_UNAVAILABLE";
  readonly retryable = false;
  constructor(containerId: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      containerId,
      `container ${containerId} asks for GPUs, but this host has no NVIDIA runtime; ` +
        `set gpu: false or install nvidia-container-toolkit (engine said: ${why})`,
      { cause },
    );
  }
}

/** The image is not present locally and could not be pulled. */
export class ImagePullError extends RuntimeError {
  override readonly name = "ImagePullError";
  readonly code = "IMAGE_UNAVAILABLE";
  readonly retryable = false;
  readonly image: string;
  constructor(containerId: string, image: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      containerId,
      `image ${image} (container ${containerId}) is not present locally and pulling it failed: ${why}. ` +
        `Build or load the image on this host, or check the registry address, credentials and network access.`,
      { cause },
    );
    this.image = image;
  }
}

/**
 * The container answered with an error (HTTP status >= 400, or a reply whose `code` is not 200), or the
 * connection to a running container failed.
 */
export class ContainerCallError extends RuntimeError {
  override readonly name = "ContainerCallError";
  readonly code = "CONTAINER_CALL_FAILED";
  readonly retryable: boolean;
  /** HTTP status, or the reply's `code`; undefined for connection failures. */
  readonly status: number | string | undefined;
  readonly body: string;
  constructor(
    containerId: string,
    message: string,
    status?: number | string,
    body = "",
    options?: { cause?: unknown },
  ) {
    super(containerId, `container ${containerId}: ${message}`, options);
    this.status = status;
    this.body = body.length > 2000 ? `${body.slice(0, 2000)}…` : body;
    // 4xx: the request itself is wrong; trying it again will not help.
    this.retryable = !(typeof status === "number" && status >= 400 && status < 500);
  }
}

/** A pipeline names a container that is not configured. */
export class UnknownContainerError extends Error {
  override readonly name = "UnknownContainerError";
  readonly code = "UNKNOWN_CONTAINER";
  readonly retryable = false;
  readonly containerId: string;
  constructor(containerId: string) {
    super(`container ${containerId} is not configured on this node`);
    this.containerId = containerId;
  }
}

/**
 * The part of a container's config the runtimes read (names match the node's config schema; that schema
 * supplies the defaults, the runtimes fall back to the ones noted here).
 */
export interface RuntimeContainerConfig {
  id: string;
  runtime: "docker" | "process" | "external";
  /** docker: the image (used locally when present, else pulled). */
  image?: string;
  /** docker: overrides the image's CMD; process: what to run. A string is split like a shell would (no shell runs). */
  command?: string | readonly string[];
  env?: Readonly<Record<string, string>>;
  /** docker: binds "host:container[:ro]" (a relative host path is resolved against the working directory). */
  volumes?: readonly string[];
  /**
   * docker: "none" (default; the node talks HTTP over a unix socket the runtime mounts at /run/infernet),
   * "host" (127.0.0.1:port), "bridge" (container IP:port). process: "none" → unix socket, else 127.0.0.1:port.
   */
  network?: "none" | "host" | "bridge";
  /** docker: read-only root filesystem (default true; /tmp is a tmpfs). */
  readOnly?: boolean;
  memoryMb?: number;
  cpus?: number;
  /** docker: default 1024. */
  pidsLimit?: number;
  /** docker: request every NVIDIA GPU. */
  gpu?: boolean;
  /** TCP port the service listens on (inside the container), default 3000. */
  port?: number;
  /** external: base URL; POST <url>/service_output. */
  url?: string;
  /** external: sent as "Authorization: Bearer <bearer>". */
  bearer?: string;
  /** Default limit for one call, default 180 000 ms (Ritual's). */
  timeoutMs?: number;
}

export interface RegistryAuth {
  username: string;
  password: string;
  /** e.g. "https://index.docker.io/v1/" or "ghcr.io" */
  serveraddress?: string;
  email?: string;
}

/** Node-level settings shared by the runtimes (none of them is required). */
export interface RuntimeOptions {
  /** docker: engine address, default $DOCKER_HOST or unix:///var/run/docker.sock. */
  dockerHost?: string;
  /** docker: registry credentials for pulls. */
  registryAuth?: RegistryAuth;
  /** docker: extra labels on every container made (e.g. to find and clean them up). */
  labels?: Readonly<Record<string, string>>;
  /** docker: limit for pulling a missing image, default 10 min. */
  pullTimeoutMs?: number;
  /** docker/process: seconds between SIGTERM and SIGKILL on stop(), default 5. */
  stopGraceSeconds?: number;
  /** docker/process: where the per-container socket directories go, default os.tmpdir(). */
  socketDir?: string;
  /** process: working directory (and base for relative volume paths in docker), default process.cwd(). */
  cwd?: string;
  /** Readiness limit for start(), default 60 000 ms. */
  startTimeoutMs?: number;
  /** How much log output to keep / fetch, default 200 lines (docker) or 256 KiB (process). */
  logTailLines?: number;
}

/**
 * The node's configuration: one JSON file, validated by this schema (unknown keys are rejected everywhere), with
 * defaults filled in. `loadConfig` (load.ts) reads the file, applies `INFERNET__…` environment overrides, validates,
 * resolves relative paths against the file's directory and checks the wallet key. docs/operator.md
 * ("Configuration reference") documents every key; keep the two in step.
 */
import { z } from "zod";

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** A URL whose scheme is one of `protocols` (without the colon). */
function url(protocols: readonly string[]) {
  const wanted = protocols.map((p) => `${p}://`).join(", ");
  return z.string().check((ctx) => {
    let parsed: URL | undefined;
    try {
      parsed = new URL(ctx.value);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || !protocols.includes(parsed.protocol.slice(0, -1))) {
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: `expected a URL starting with ${wanted}, got ${JSON.stringify(ctx.value)}`,
      });
    }
  });
}

const address = z.string().regex(ADDRESS, { message: "expected a 0x-prefixed 20-byte hex address" });
const nonEmpty = z.string().min(1);
const port = z.int().min(0).max(65535);
const positiveInt = z.int().min(1);
const nonNegativeInt = z.int().min(0);

/** What this process does. One binary runs either role or both. */
export const ROLES = ["provider", "validator"] as const;
export type Role = (typeof ROLES)[number];

/** Log levels, most to least verbose; `silent` logs nothing. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Contract addresses, given explicitly instead of a deployment file. */
export const contractsSchema = z.strictObject({
  /** Coordinator: subscriptions, escrow, assignment, delivery. */
  coordinator: address,
  /** NodeRegistry: node registration, stake, bonds. */
  nodeRegistry: address,
  /** ProofOfInference: commit/challenge/reveal, validators, disputes. */
  proofOfInference: address,
  /** ContainerRegistry (optional: only needed to read container metadata). */
  containerRegistry: address.optional(),
  /** TrustModel (optional). */
  trustModel: address.optional(),
  /** Randomness source (optional). */
  randomness: address.optional(),
});
export type Contracts = z.output<typeof contractsSchema>;

/** The account the node signs transactions with, and its fee policy. */
export const walletSchema = z
  .strictObject({
    /** Path to a file holding the private key as `0x` + 64 hex digits (relative to the config file). */
    keyFile: nonEmpty.optional(),
    /** Name of an environment variable holding the private key (`0x` + 64 hex digits). */
    privateKeyEnv: z
      .string()
      .regex(ENV_NAME, { message: "expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*)" })
      .optional(),
    /** Cap on maxFeePerGas, in gwei: the node never bids more, and waits rather than overpays. */
    maxFeePerGasGwei: z.number().positive().default(200),
    /** maxPriorityFeePerGas (tip), in gwei; never more than maxFeePerGasGwei. */
    maxPriorityFeePerGasGwei: z.number().min(0).default(2),
    /** A transaction not mined after this long (milliseconds) is replaced with higher fees (same nonce). */
    replaceAfterMs: positiveInt.default(30_000),
  })
  .check((ctx) => {
    const w = ctx.value;
    if (w.keyFile === undefined && w.privateKeyEnv === undefined) {
      ctx.issues.push({
        code: "custom",
        input: w,
        path: ["keyFile"],
        message: "required (or chain.wallet.privateKeyEnv)",
      });
    } else if (w.keyFile !== undefined && w.privateKeyEnv !== undefined) {
      ctx.issues.push({
        code: "custom",
        input: w,
        path: ["privateKeyEnv"],
        message: "set either chain.wallet.keyFile or chain.wallet.privateKeyEnv, not both",
      });
    }
    if (w.maxPriorityFeePerGasGwei > w.maxFeePerGasGwei) {
      ctx.issues.push({
        code: "custom",
        input: w,
        path: ["maxPriorityFeePerGasGwei"],
        message: `must not exceed chain.wallet.maxFeePerGasGwei (${w.maxFeePerGasGwei})`,
      });
    }
  });
export type WalletConfig = z.output<typeof walletSchema>;

export const chainSchema = z
  .strictObject({
    /** JSON-RPC endpoint: http://, https://, ws:// or wss://. Required. */
    rpcUrl: url(["http", "https", "ws", "wss"]),
    /** Optional WebSocket endpoint for log subscriptions (ws:// or wss://); without it the node polls getLogs. */
    wsUrl: url(["ws", "wss"]).optional(),
    /** Expected chain id; start-up refuses an endpoint or deployment file on another chain. */
    chainId: positiveInt.optional(),
    /** Path to a deployments/<network>.json written by `npm run deploy` (relative to the config file). */
    deployment: nonEmpty.optional(),
    /** Contract addresses, instead of `deployment`. */
    contracts: contractsSchema.optional(),
    /** Blocks an event must be buried under before the node acts on it (0 = act on the head). */
    confirmations: nonNegativeInt.default(1),
    /** How often the node polls for new blocks and logs, in milliseconds. */
    pollIntervalMs: positiveInt.default(500),
    /** Maximum block range of one eth_getLogs call (backfill is split into ranges of this size). */
    logRangeBlocks: positiveInt.default(2000),
    /** Block to start from when the store has no checkpoint (default: the deployment file's blockNumber). */
    startBlock: nonNegativeInt.optional(),
    /** Signing account and fee policy. Required. */
    wallet: walletSchema,
  })
  .check((ctx) => {
    const c = ctx.value;
    if (c.deployment === undefined && c.contracts === undefined) {
      ctx.issues.push({
        code: "custom",
        input: c,
        path: ["deployment"],
        message: "required (or chain.contracts)",
      });
    } else if (c.deployment !== undefined && c.contracts !== undefined) {
      ctx.issues.push({
        code: "custom",
        input: c,
        path: ["contracts"],
        message: "set either chain.deployment or chain.contracts, not both",
      });
    }
  });
export type ChainConfig = z.output<typeof chainSchema>;

export const storeSchema = z.strictObject({
  /** SQLite database file (relative to the config file); created with its directory if missing. */
  path: nonEmpty.default("./data/node.sqlite"),
});

export const redisSchema = z.strictObject({
  /** Redis host. */
  host: nonEmpty.default("127.0.0.1"),
  /** Redis port. */
  port: port.default(6379),
  /** Redis password (AUTH). Secret: redacted by `config check`. */
  password: z.string().optional(),
  /** Redis logical database number. */
  db: nonNegativeInt.optional(),
  /** Key prefix for the BullMQ queues, so several deployments can share one Redis. */
  prefix: nonEmpty.default("infernet"),
});

export const queueSchema = z.strictObject({
  /** `embedded`: in-process, persisted in the store. `bullmq`: Redis, shared by several node processes. */
  backend: z.enum(["embedded", "bullmq"]).default("embedded"),
  /** Jobs run at the same time by this process. */
  concurrency: positiveInt.default(2),
  /** Tries per job (first run included) before it is marked failed. */
  attempts: positiveInt.default(3),
  /** Delay before the first retry, in milliseconds; doubles on each further retry. */
  backoffMs: nonNegativeInt.default(1000),
  /**
   * Times a job may be taken back from a worker that died while running it (a killed or crashed node) before it is
   * failed as a job that kills its worker. On-chain jobs reconcile with the chain, so re-running them is safe.
   */
  maxStalls: positiveInt.default(10),
  /** Redis connection, used when backend is `bullmq`. */
  redis: redisSchema.prefault({}),
});

export const registryAuthSchema = z.strictObject({
  /** Registry user name. */
  username: nonEmpty,
  /** Registry password or token. Secret: redacted by `config check`. */
  password: z.string(),
  /** Registry address, e.g. `https://index.docker.io/v1/` or `ghcr.io`. */
  serveraddress: nonEmpty,
});

export const dockerSchema = z
  .strictObject({
    /** Docker engine Unix socket (default: DOCKER_HOST, else /var/run/docker.sock). */
    socketPath: nonEmpty.optional(),
    /** Docker engine over TCP instead of the socket: tcp://, http:// or https:// URL with port. */
    host: url(["tcp", "http", "https"]).optional(),
    /** Credentials for pulling private images. */
    registryAuth: registryAuthSchema.optional(),
  })
  .check((ctx) => {
    if (ctx.value.socketPath !== undefined && ctx.value.host !== undefined) {
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        path: ["host"],
        message: "set either docker.socketPath or docker.host, not both",
      });
    }
  });

export const buildSchema = z.strictObject({
  /** Build context directory (relative to the config file). */
  context: nonEmpty,
  /** Dockerfile path inside the context (default: Dockerfile). */
  dockerfile: nonEmpty.optional(),
  /** Build arguments (--build-arg). */
  args: z.record(z.string(), z.string()).optional(),
});

/** host:container[:ro|:rw] — host is an absolute path, a ./relative path (to the config file) or a volume name. */
const VOLUME = /^[^:]+:\/[^:]*(:(ro|rw))?$/;

export const containerSchema = z
  .strictObject({
    /** Container name; keccak256(id) is the on-chain container id subscriptions refer to. */
    id: nonEmpty,
    /** `docker`: an image run by the Docker engine; `process`: a local command; `external`: a URL. */
    runtime: z.enum(["docker", "process", "external"]),
    /** Docker image reference (docker; required). */
    image: nonEmpty.optional(),
    /** Build the image from a local context when it is not present (docker). */
    build: buildSchema.optional(),
    /** Command and arguments: the process to run (process; required) or the image's CMD override (docker). */
    command: z.array(z.string()).min(1).optional(),
    /** Working directory of the process (process; default: the config file's directory). */
    cwd: nonEmpty.optional(),
    /** Environment variables passed to the container or process. */
    env: z.record(z.string(), z.string()).optional(),
    /** Bind mounts / volumes, `host:container[:ro]` (docker). */
    volumes: z.array(z.string().regex(VOLUME, { message: "expected host:/container/path[:ro]" })).optional(),
    /** Container network: `none` (no network access), `host` or `bridge` (docker). */
    network: z.enum(["none", "host", "bridge"]).default("none"),
    /** Read-only root filesystem (docker). */
    readOnly: z.boolean().default(true),
    /** Memory limit, in MiB (docker). */
    memoryMb: positiveInt.default(1024),
    /** CPU limit, in CPUs (fractions allowed, docker). */
    cpus: z.number().positive().default(1),
    /** Maximum number of processes in the container (docker). */
    pidsLimit: positiveInt.default(256),
    /** Pass all NVIDIA GPUs to the container (docker; needs the NVIDIA container runtime). */
    gpu: z.boolean().default(false),
    /** Port the service listens on inside the container, or on 127.0.0.1 for `process`. */
    port: port.default(3000),
    /** Service base URL (external; required), http:// or https://. */
    url: url(["http", "https"]).optional(),
    /** Bearer token sent to the external service. Secret: redacted by `config check`. */
    bearer: nonEmpty.optional(),
    /** Time limit of one call to the container, in milliseconds. */
    timeoutMs: positiveInt.default(60_000),
    /** Only serve subscriptions whose owner is one of these addresses (default: anyone). */
    allowedAddresses: z.array(address).optional(),
    /**
     * Only accept delegated (EIP-712) subscriptions for this container signed by one of these addresses, the owner
     * contract's delegated signer (`getSigner()`); the owner must also pass `allowedAddresses`. Default: any signer.
     */
    allowedDelegateAddresses: z.array(address).optional(),
    /**
     * Payments accepted: token address → minimum amount in the token's smallest unit (wei), as a decimal string.
     * The zero address is the native coin. Default: any payment, including none.
     */
    acceptedPayments: z.record(z.string(), z.string()).optional(),
  })
  .check((ctx) => {
    const c = ctx.value;
    const push = (path: PropertyKey[], message: string) =>
      ctx.issues.push({ code: "custom", input: c, path, message });
    const onlyFor = (key: keyof typeof c, runtime: string) => {
      if (c[key] !== undefined)
        push([key], `only valid with runtime "${runtime}" (runtime is "${c.runtime}")`);
    };
    if (c.runtime === "docker" && c.image === undefined) push(["image"], 'required with runtime "docker"');
    if (c.runtime === "process" && c.command === undefined)
      push(["command"], 'required with runtime "process"');
    if (c.runtime === "external" && c.url === undefined) push(["url"], 'required with runtime "external"');
    if (c.runtime !== "docker") {
      onlyFor("image", "docker");
      onlyFor("build", "docker");
      onlyFor("volumes", "docker");
    }
    if (c.runtime !== "process") onlyFor("cwd", "process");
    if (c.runtime !== "external") {
      onlyFor("url", "external");
      onlyFor("bearer", "external");
    }
    if (c.runtime === "external" && c.command !== undefined) {
      push(["command"], 'only valid with runtime "docker" or "process" (runtime is "external")');
    }
    for (const [token, amount] of Object.entries(c.acceptedPayments ?? {})) {
      if (!ADDRESS.test(token)) push(["acceptedPayments", token], "expected a token address as key");
      else if (!DECIMAL.test(amount)) {
        push(
          ["acceptedPayments", token],
          `expected a decimal integer string (wei), got ${JSON.stringify(amount)}`,
        );
      }
    }
  });
export type ContainerConfig = z.output<typeof containerSchema>;

export const serverSchema = z.strictObject({
  /** REST API port (0 picks a free port). */
  port: port.default(4000),
  /** REST API listen address. */
  host: nonEmpty.default("127.0.0.1"),
});

export const apiRateLimitSchema = z.strictObject({
  /** Requests allowed per window, per API key (per client IP for requests without a key). */
  max: positiveInt.default(600),
  /** Window length, in milliseconds. */
  windowMs: positiveInt.default(60_000),
});

export const apiSchema = z.strictObject({
  /**
   * Run the REST API (on `server.host`:`server.port`) and the off-chain job engine behind it. Off by default, so a
   * node only opens a port when asked to.
   */
  enabled: z.boolean().default(false),
  /** `/api/*` routes need an API key (`infernet-node keys create`). When false, requests without one share an anonymous owner. */
  requireKey: z.boolean().default(true),
  /** Largest request body accepted, in bytes (larger: 413). */
  bodyLimitBytes: positiveInt.default(1_048_576),
  /** Per-key rate limit (a key created with its own limit overrides `max`). */
  rateLimit: apiRateLimitSchema.prefault({}),
  /** Most jobs in one `POST /api/jobs/batch`. */
  batchMaxJobs: positiveInt.max(10_000).default(100),
  /** Time between keepalive comments on a Server-Sent Events stream, in milliseconds. */
  sseKeepaliveMs: positiveInt.default(15_000),
  /** Chain lag (blocks between the chain head and the watcher's checkpoint) above which `/health` reports the chain unhealthy. */
  maxChainLagBlocks: nonNegativeInt.default(100),
  /** Accept EIP-712 delegated subscriptions on `POST /api/subscriptions/delegated`. */
  delegatedSubscriptions: z.boolean().default(true),
  /** Origins allowed to call the API from a browser (CORS). Empty: no CORS headers (off). */
  corsOrigins: z.array(nonEmpty).default(() => []),
});
export type ApiConfig = z.output<typeof apiSchema>;

export const logSchema = z.strictObject({
  /** Minimum level written: trace, debug, info, warn, error, fatal or silent. */
  level: z.enum(LOG_LEVELS).default("info"),
});

export const validatorSchema = z.strictObject({
  /**
   * Model directories (diffusers ONNX layout) by container id: the validator judges jobs of these containers (and of
   * pipelines ending in them) with the pipeline loaded from the directory. Without any, the role judges nothing.
   */
  models: z.record(nonEmpty, nonEmpty).default(() => ({})),
  /** Share of judged jobs whose final latent is decoded and checked against the committed output (0..1). */
  outputCheckProbability: z.number().min(0).max(1).default(0.25),
  /** How far back to look for assignments missed while the node was down, in blocks. */
  lookbackBlocks: positiveInt.default(10_000),
  /** Relative L2 bands of the noise check; default: the calibrated ones (`npm run calibrate`). */
  bands: z
    .strictObject({ pass: z.number().positive(), fail: z.number().positive() })
    .refine((b) => b.pass < b.fail, { message: "pass must be below fail" })
    .optional(),
  /** The pinned runtime profile: graph optimisation level and threads must match what providers ran. */
  graphOptimizationLevel: z.enum(["disabled", "basic", "extended", "all"]).default("all"),
  intraOpNumThreads: positiveInt.default(1),
});
export type ValidatorConfig = z.output<typeof validatorSchema>;

export const configSchema = z
  .strictObject({
    /** What this process does: `provider` (runs jobs), `validator` (re-checks proofs), or both. */
    roles: z
      .array(z.enum(ROLES))
      .min(1)
      .default((): Role[] => ["provider"]),
    /** Chain connection, contracts and wallet. Required. */
    chain: chainSchema,
    /** Local persistent state. */
    store: storeSchema.prefault({}),
    /** Job queue. */
    queue: queueSchema.prefault({}),
    /** Docker engine connection (used by `docker` containers). */
    docker: dockerSchema.prefault({}),
    /** Containers this node serves. */
    containers: z.array(containerSchema).default(() => []),
    /** REST API listen address. */
    server: serverSchema.prefault({}),
    /** REST API and off-chain jobs. */
    api: apiSchema.prefault({}),
    /** The validator role: models to re-execute with, bands, runtime profile. */
    validator: validatorSchema.prefault({}),
    /** Logging. */
    log: logSchema.prefault({}),
  })
  .check((ctx) => {
    const { roles, containers } = ctx.value;
    if (new Set(roles).size !== roles.length) {
      ctx.issues.push({ code: "custom", input: roles, path: ["roles"], message: "duplicate role" });
    }
    const seen = new Set<string>();
    containers.forEach((c, i) => {
      if (seen.has(c.id)) {
        ctx.issues.push({
          code: "custom",
          input: c.id,
          path: ["containers", i, "id"],
          message: `duplicate container id ${JSON.stringify(c.id)}`,
        });
      }
      seen.add(c.id);
    });
  });

/** The configuration as written (defaults optional). */
export type ConfigInput = z.input<typeof configSchema>;
/** The configuration after validation and defaults, before load-time resolution. */
export type ParsedConfig = z.output<typeof configSchema>;

/**
 * The configuration `loadConfig` returns: every default filled, every path absolute, and `chain.contracts` always
 * set (read from `chain.deployment` when that was given).
 */
export type Config = Omit<ParsedConfig, "chain"> & {
  chain: Omit<ChainConfig, "contracts"> & { contracts: Contracts };
};

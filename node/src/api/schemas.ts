// TypeBox schemas of every route's input and output. Fastify validates requests with them (bodies strictly: no type
// coercion, no unknown keys; query strings and path parameters converted from strings) and serialises replies with
// them; @fastify/swagger turns them into the OpenAPI document (GET /openapi.json, docs/api.md).
import { Type, type Static, type TSchema } from "typebox";

// ---- shared pieces ----

export const ErrorReply = Type.Object(
  {
    statusCode: Type.Integer({ description: "HTTP status code" }),
    error: Type.String({ description: "HTTP status text" }),
    message: Type.String({ description: "What was wrong, for a human" }),
    code: Type.Optional(Type.String({ description: "Stable machine-readable reason, where there is one" })),
  },
  { title: "Error", description: "Every 4xx and 5xx reply" },
);
export type ErrorReply = Static<typeof ErrorReply>;

/** The error replies a route may give, for its `response` schema. */
export function errors(...codes: number[]): Record<number, TSchema> {
  return Object.fromEntries(codes.map((c) => [c, ErrorReply]));
}

const Address = Type.String({ pattern: "^0x[0-9a-fA-F]{40}$", description: "0x-prefixed 20-byte address" });
const Bytes32 = Type.String({ pattern: "^0x[0-9a-fA-F]{64}$", description: "0x-prefixed 32-byte hex" });
const HexBytes = (description: string, maxLength = 262_144) =>
  Type.String({ pattern: "^0x([0-9a-fA-F]{2})*$", maxLength, description });
const Uint = (bits: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: 2 ** bits - 1, description });
const IsoTime = Type.String({ format: "date-time", description: "ISO 8601 time" });

export const IdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 128, description: "Id returned when it was created" }) },
  { additionalProperties: false },
);

// ---- node ----

const Check = Type.Object({
  ok: Type.Boolean(),
  ms: Type.Number({ description: "How long the check took, ms" }),
  error: Type.Optional(Type.String()),
  detail: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

export const HealthReply = Type.Object(
  {
    status: Type.Union([Type.Literal("ok"), Type.Literal("unhealthy")]),
    failing: Type.Array(Type.String(), { description: "Names of the checks that failed" }),
    checks: Type.Object({
      store: Check,
      chain: Check,
      queue: Check,
      runtimes: Check,
    }),
  },
  { title: "Health" },
);
export type HealthReply = Static<typeof HealthReply>;

export const InfoReply = Type.Object(
  {
    version: Type.String(),
    roles: Type.Array(Type.String()),
    node: Type.Union([Address, Type.Null()], { description: "The node's signing address" }),
    containers: Type.Array(Type.String(), { description: "Container ids this node serves" }),
    chain: Type.Union([
      Type.Object({
        id: Type.Integer(),
        coordinator: Address,
      }),
      Type.Null(),
    ]),
    queue: Type.Object({
      backend: Type.String(),
      depth: Type.Union([Type.Integer(), Type.Null()], { description: "Off-chain jobs waiting or running" }),
      onchain_depth: Type.Union([Type.Integer(), Type.Null()], {
        description: "On-chain jobs waiting or running",
      }),
    }),
    pending: Type.Object({
      offchain: Type.Integer(),
      onchain: Type.Integer(),
    }),
  },
  { title: "Info" },
);
export type InfoReply = Static<typeof InfoReply>;

export const ResourcesQuery = Type.Object(
  {
    container: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: "Only this container" }),
    ),
  },
  { additionalProperties: false },
);

export const ContainerResources = Type.Object({
  id: Type.String(),
  runtime: Type.String({ description: "docker, process, external (or inline, in tests)" }),
  image: Type.Union([Type.String(), Type.Null()]),
  external: Type.Boolean({ description: "Served by a URL outside this host" }),
  gpu: Type.Boolean(),
  memory_mb: Type.Union([Type.Integer(), Type.Null()]),
  cpus: Type.Union([Type.Number(), Type.Null()]),
  network: Type.Union([Type.String(), Type.Null()]),
  timeout_ms: Type.Union([Type.Integer(), Type.Null()]),
  accepted_payments: Type.Record(Type.String(), Type.String()),
  allowed_addresses: Type.Union([Type.Array(Type.String()), Type.Null()]),
  allowed_delegate_addresses: Type.Union([Type.Array(Type.String()), Type.Null()]),
});

export const ResourcesReply = Type.Object(
  {
    hardware: Type.Object({
      cpus: Type.Integer(),
      cpu_model: Type.String(),
      memory_mb: Type.Integer(),
      platform: Type.String(),
      arch: Type.String(),
      gpu_containers: Type.Integer({ description: "Containers configured with the host's GPUs" }),
    }),
    containers: Type.Record(Type.String(), ContainerResources, {
      description: "Container id → what it runs on (as Ritual's /resources: a map by container id)",
    }),
  },
  { title: "Resources" },
);
export type ResourcesReply = Static<typeof ResourcesReply>;

// ---- off-chain jobs ----

export const JobRequest = Type.Object(
  {
    containers: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
      minItems: 1,
      maxItems: 16,
      description:
        "The pipeline, in order: containers[0] gets `data`, each next container the previous one's JSON output; " +
        "the last one's output is the job's result",
    }),
    data: Type.Unknown({ description: "Input of the first container: any JSON value (usually an object)" }),
    requires_proof: Type.Optional(Type.Boolean({ description: "Passed to the containers (default false)" })),
  },
  { additionalProperties: false, title: "JobRequest" },
);
export type JobRequest = Static<typeof JobRequest>;

export const JobStatus = Type.Union(
  [Type.Literal("queued"), Type.Literal("running"), Type.Literal("success"), Type.Literal("failed")],
  { description: "queued (waiting, or waiting for a retry), running, success, failed" },
);

export const Job = Type.Object(
  {
    id: Type.String(),
    status: JobStatus,
    containers: Type.Array(Type.String()),
    requires_proof: Type.Boolean(),
    result: Type.Union([Type.Object({ container: Type.String(), output: Type.Unknown() }), Type.Null()], {
      description: "The last container's output, once status is success",
    }),
    error: Type.Union(
      [
        Type.Object({ container: Type.Union([Type.String(), Type.Null()]), message: Type.String() }),
        Type.Null(),
      ],
      { description: "Why the job (or its last attempt) failed" },
    ),
    progress: Type.Union(
      [Type.Object({ step: Type.Integer(), steps: Type.Integer(), container: Type.String() }), Type.Null()],
      { description: "The last finished step of the pipeline" },
    ),
    attempts: Type.Integer({ description: "Runs so far (1 for the first)" }),
    created_at: IsoTime,
    updated_at: IsoTime,
  },
  { title: "Job" },
);

export const JobCreated = Type.Object(
  { id: Type.String({ description: "The job's id" }) },
  { title: "JobCreated" },
);

export const BatchRequest = Type.Array(JobRequest, {
  minItems: 1,
  description: "Jobs to create (at most api.batchMaxJobs)",
});
export type BatchRequest = Static<typeof BatchRequest>;

export const BatchReply = Type.Array(Type.Union([JobCreated, Type.Object({ error: Type.String() })]), {
  description: "One entry per requested job, in order: {id} or {error}",
});

export const JobListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: "Page size (default 50)" })),
    cursor: Type.Optional(
      Type.String({ pattern: "^[1-9][0-9]{0,15}$", description: "`next_cursor` of the previous page" }),
    ),
    offset: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 10_000_000,
        description: "Skip this many jobs (instead of a cursor)",
      }),
    ),
    status: Type.Optional(JobStatus),
  },
  { additionalProperties: false },
);
export type JobListQuery = Static<typeof JobListQuery>;

export const JobListReply = Type.Object(
  {
    jobs: Type.Array(Job, { description: "Newest first" }),
    next_cursor: Type.Union([Type.String(), Type.Null()], {
      description: "Pass as `cursor` for the next page; null on the last page",
    }),
    total: Type.Integer({ description: "Jobs matching the query on all pages" }),
  },
  { title: "JobList" },
);

export const EventStream = Type.String({
  description:
    "text/event-stream. Events: `state` {status, attempt?, error?}, `progress` {step, steps, container, ms}, " +
    "`retrying` {reason, delayMs}, then `result` (the Job) as the last event; `: keepalive` comments in between",
});

// ---- delegated subscriptions ----

export const SubscriptionParams = Type.Object(
  {
    containerId: Bytes32,
    activeAt: Uint(32, "Unix seconds interval 1 starts; 0 = the creation block's time"),
    period: Uint(32, "Seconds between intervals; 0 = one-shot"),
    frequency: Uint(32, "Number of intervals (>= 1)"),
    redundancy: Uint(16, "Nodes per interval (>= 1)"),
    callbackGasLimit: Uint(32, "Gas for the consumer's callback"),
    lazy: Type.Boolean(),
    paymentToken: Address,
    paymentAmount: Type.String({
      pattern: "^(0|[1-9][0-9]{0,28})$",
      description: "Payment per node per interval, smallest unit, decimal string (uint96)",
    }),
    verifier: Address,
    inputs: HexBytes("Inline inputs (0x = ask the owner's getContainerInputs)"),
  },
  { additionalProperties: false, title: "SubscriptionParams" },
);

export const DelegatedRequest = Type.Object(
  {
    owner: Type.String({
      pattern: "^0x[0-9a-fA-F]{40}$",
      description: "The consumer contract that will own the subscription (implements getSigner())",
    }),
    nonce: Uint(32, "Owner-chosen nonce: one subscription per (owner, nonce)"),
    expiry: Uint(32, "Unix seconds after which the signature is refused"),
    subscription: SubscriptionParams,
    signature: HexBytes("EIP-712 signature of DelegatedSubscription by the owner's signer", 4096),
  },
  { additionalProperties: false, title: "DelegatedSubscriptionRequest" },
);
export type DelegatedRequest = Static<typeof DelegatedRequest>;

export const DelegatedReply = Type.Object(
  {
    id: Type.String(),
    status: Type.Union(
      [Type.Literal("pending"), Type.Literal("sending"), Type.Literal("created"), Type.Literal("failed")],
      { description: "pending/sending: accepted, transaction not mined yet; created: on-chain; failed" },
    ),
    owner: Address,
    nonce: Type.Integer(),
    signer: Address,
    container: Type.String({ description: "The container id (name) on this node" }),
    subscription_id: Type.Union([Type.String(), Type.Null()], { description: "On-chain id, once created" }),
    tx_hash: Type.Union([Type.String(), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    created_at: IsoTime,
    updated_at: IsoTime,
  },
  { title: "DelegatedSubscription" },
);
export type DelegatedReply = Static<typeof DelegatedReply>;

export const OpenApiReply = Type.Object({}, { additionalProperties: true, title: "OpenAPI document" });
export const MetricsReply = Type.String({ description: "Prometheus text exposition format 0.0.4" });

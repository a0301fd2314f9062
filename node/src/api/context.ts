// What the API's routes work with, assembled by server.ts's caller (the API component, or a test).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawServerDefault } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { Address, PublicClient } from "viem";
import type { ApiConfig, ContainerConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { NodeMetrics } from "../metrics.ts";
import type { OffchainJobs } from "../offchain/jobs.ts";
import type { ContainerRuntime } from "../runtime/types.ts";
import type { Store } from "../store/sqlite.ts";
import type { DelegatedSubscriptions } from "./delegated.ts";
import type { TensorSource } from "../poi/serve.ts";
import { UnauthorizedError } from "./errors.ts";
import type { HealthReply } from "./schemas.ts";
import type { Principal } from "./keys.ts";
import type { SseStream } from "./sse.ts";

export type ApiApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** A queue as the API reports it. */
export interface QueueInfo {
  readonly backend: string;
  readonly name: string;
  depth(): Promise<number>;
}

/** The container settings /resources shows (the config's, where the container comes from the config). */
export type ContainerInfo = Pick<ContainerConfig, "id" | "runtime"> &
  Partial<
    Pick<
      ContainerConfig,
      | "image"
      | "gpu"
      | "memoryMb"
      | "cpus"
      | "network"
      | "timeoutMs"
      | "acceptedPayments"
      | "allowedAddresses"
      | "allowedDelegateAddresses"
    >
  >;

export interface ApiContext {
  api: ApiConfig;
  version: string;
  roles: readonly string[];
  store: Store;
  jobs: OffchainJobs;
  runtimes: ReadonlyMap<string, ContainerRuntime>;
  /** Configured containers (for /resources and the allowlists); runtimes without an entry show as "inline". */
  containers: readonly ContainerInfo[];
  queues: { offchain: QueueInfo; onchain?: QueueInfo | undefined };
  chain?:
    | {
        publicClient: PublicClient;
        chainId: number;
        coordinator: Address;
      }
    | undefined;
  /** The node's signing address, when it has a wallet. */
  node?: Address | undefined;
  delegated?: DelegatedSubscriptions | undefined;
  /** Step tensors of committed PoI jobs, for their validators (provider role with a ProofOfInference). */
  poi?: TensorSource | undefined;
  health: () => Promise<HealthReply>;
  metrics: NodeMetrics;
  logger: Logger;
  /** Open event streams (ended when the server closes). */
  sseStreams: Set<SseStream>;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The API key the request presented (null on public routes without one). */
    principal: Principal | null;
  }
}

/** The caller of an /api route (set by the auth hook). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnauthorizedError("an API key is required", "missing_key");
  return request.principal;
}

// Container runtimes: createRuntime() picks the implementation from the config's `runtime`, runPipeline() chains
// containers "A,B,C" the way Ritual's node does.
import { hopRequest, parsePipeline, type ContainerOutput, type ContainerRequest } from "./contract.ts";
import { DockerRuntime } from "./docker.ts";
import { ExternalRuntime } from "./external.ts";
import { ProcessRuntime } from "./process.ts";
import {
  UnknownContainerError,
  type CallOptions,
  type ContainerRuntime,
  type RuntimeContainerConfig,
  type RuntimeOptions,
} from "./types.ts";

export * from "./contract.ts";
export * from "./types.ts";
export {
  CONTAINER_ID_LABEL,
  DockerRuntime,
  MANAGED_LABEL,
  checkDocker,
  defaultDockerHost,
  dockerClient,
  followStream,
  removeContainers,
} from "./docker.ts";
export { ProcessRuntime } from "./process.ts";
export { ExternalRuntime } from "./external.ts";

export function createRuntime(
  config: RuntimeContainerConfig,
  options: RuntimeOptions = {},
): ContainerRuntime {
  switch (config.runtime) {
    case "docker":
      return new DockerRuntime(config, options);
    case "process":
      return new ProcessRuntime(config, options);
    case "external":
      return new ExternalRuntime(config, options);
    default:
      throw new Error(
        `container ${(config as { id?: string }).id ?? "?"}: unknown runtime "${String((config as { runtime?: unknown }).runtime)}" (use docker, process or external)`,
      );
  }
}

export interface PipelineHop {
  id: string;
  request: ContainerRequest;
  output: ContainerOutput;
  ms: number;
}

export interface PipelineResult {
  /** The last hop's reply (for an on-chain destination: the five fields; see encodeOnchainReply). */
  output: ContainerOutput;
  hops: PipelineHop[];
}

type RuntimeSet = ReadonlyMap<string, ContainerRuntime> | Readonly<Record<string, ContainerRuntime>>;

function lookup(runtimes: RuntimeSet, id: string): ContainerRuntime {
  const rt =
    runtimes instanceof Map
      ? runtimes.get(id)
      : Object.hasOwn(runtimes, id)
        ? (runtimes as Record<string, ContainerRuntime>)[id]
        : undefined;
  if (!rt) throw new UnknownContainerError(id);
  return rt;
}

/**
 * Runs the containers `ids` ("A,B,C" or a list) in order: the first hop gets the job's source and data, the last
 * the job's destination, the others off-chain → off-chain, and each hop's JSON reply is the next hop's data.
 * `options.timeoutMs` applies to each hop; the signal to all. The first failing hop's error is thrown as it is
 * (it names its container).
 */
export async function runPipeline(
  runtimes: RuntimeSet,
  ids: string | readonly string[],
  request: ContainerRequest,
  options: CallOptions = {},
): Promise<PipelineResult> {
  const list = parsePipeline(ids);
  const chain = list.map((id) => lookup(runtimes, id));
  const hops: PipelineHop[] = [];
  let previous: unknown = undefined;
  for (let i = 0; i < chain.length; i++) {
    const rt = chain[i] as ContainerRuntime;
    const hopReq = hopRequest(request, i, chain.length, previous);
    const t0 = performance.now();
    const output = await rt.call(hopReq, options);
    hops.push({ id: rt.id, request: hopReq, output, ms: performance.now() - t0 });
    previous = output;
  }
  return { output: (hops[hops.length - 1] as PipelineHop).output, hops };
}

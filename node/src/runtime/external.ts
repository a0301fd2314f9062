// A service that is already running somewhere (started by someone else): POST <url>/service_output, with
// "Authorization: Bearer <bearer>" when a token is configured. start() waits until it answers; stop() does nothing.
import type { ContainerOutput, ContainerRequest } from "./contract.ts";
import {
  callService,
  describeEndpoint,
  endpointFromUrl,
  errorMessage,
  probe,
  waitReady,
  type Endpoint,
} from "./http.ts";
import {
  ContainerCallError,
  type CallOptions,
  type ContainerRuntime,
  type RuntimeContainerConfig,
  type RuntimeOptions,
} from "./types.ts";

export class ExternalRuntime implements ContainerRuntime {
  readonly id: string;
  readonly #config: RuntimeContainerConfig;
  readonly #opts: RuntimeOptions;
  readonly #endpoint: Endpoint;

  constructor(config: RuntimeContainerConfig, opts: RuntimeOptions = {}) {
    if (!config.url) throw new Error(`container ${config.id}: runtime "external" needs a url`);
    this.id = config.id;
    this.#config = config;
    this.#opts = opts;
    this.#endpoint = endpointFromUrl(
      config.url,
      config.bearer ? { authorization: `Bearer ${config.bearer}` } : undefined,
    );
  }

  get endpoint(): Endpoint {
    return this.#endpoint;
  }

  async start(): Promise<void> {
    const ep = this.#endpoint;
    await waitReady(
      this.id,
      this.#opts.startTimeoutMs ?? 60_000,
      () => probe(ep),
      async () => {},
      async () => "",
    );
  }

  async call(request: ContainerRequest, options: CallOptions = {}): Promise<ContainerOutput> {
    const timeoutMs = options.timeoutMs ?? this.#config.timeoutMs ?? 180_000;
    try {
      return await callService(this.id, this.#endpoint, request, { timeoutMs, signal: options.signal });
    } catch (e) {
      if (e instanceof Error && "retryable" in e) throw e;
      if (options.signal?.aborted && e === options.signal.reason) throw e;
      throw new ContainerCallError(
        this.id,
        `request to ${describeEndpoint(this.#endpoint)} failed: ${errorMessage(e)}`,
        undefined,
        "",
        { cause: e },
      );
    }
  }

  async logs(): Promise<string> {
    return "";
  }

  async stop(): Promise<void> {}
}

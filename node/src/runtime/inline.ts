// A container answered by a function in the node's own process: no HTTP, no process. For benchmarks and tests of
// what sits around the runtimes (queue, API); not a config runtime kind. Replies are validated like any container's.
import { replyErrorCode, validateReply, type ContainerOutput, type ContainerRequest } from "./contract.ts";
import { ContainerCallError, type CallOptions, type ContainerRuntime } from "./types.ts";

export type InlineHandler = (request: ContainerRequest) => ContainerOutput | Promise<ContainerOutput>;

/** The hello container's off-chain answer: `{echo: data}`. */
export const echoHandler: InlineHandler = (request) => ({ echo: request.data });

export class InlineRuntime implements ContainerRuntime {
  readonly id: string;
  readonly #handler: InlineHandler;
  #started = false;

  constructor(id: string, handler: InlineHandler = echoHandler) {
    this.id = id;
    this.#handler = handler;
  }

  async start(): Promise<void> {
    this.#started = true;
  }

  async call(request: ContainerRequest, options: CallOptions = {}): Promise<ContainerOutput> {
    if (!this.#started) throw new ContainerCallError(this.id, "not started (call start() first)");
    if (options.signal?.aborted) throw options.signal.reason;
    const reply = validateReply(this.id, request.destination, await this.#handler(request));
    const code = replyErrorCode(reply);
    if (code !== undefined)
      throw new ContainerCallError(this.id, `replied with code ${code}`, code, JSON.stringify(reply));
    return reply;
  }

  /** Whether it is started (the API's health check asks). */
  async health(): Promise<boolean> {
    return this.#started;
  }

  async logs(): Promise<string> {
    return "";
  }

  async stop(): Promise<void> {
    this.#started = false;
  }
}

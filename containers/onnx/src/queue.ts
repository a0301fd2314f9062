// Inference runs one request at a time, in arrival order. onnxruntime-node runs a session on the JavaScript thread
// (the call blocks it until the run ends), so two runs could not overlap anyway; the queue makes the order
// explicit and bounds how many requests wait (the rest get 503 and the node retries them). Parallelism comes from
// the session's own threads (intraOpNumThreads) and from running more replicas.
import { QueueFullError } from "./errors.ts";

export class SerialQueue {
  readonly maxQueue: number;
  #tail: Promise<unknown> = Promise.resolve();
  #waiting = 0;
  #running = false;

  /** `maxQueue`: how many requests may wait while one runs. */
  constructor(maxQueue: number) {
    this.maxQueue = maxQueue;
  }

  /** Requests waiting plus the one running. */
  get size(): number {
    return this.#waiting + (this.#running ? 1 : 0);
  }

  /** Runs `fn` after everything queued before it; throws QueueFullError at once when the queue is full. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running && this.#waiting >= this.maxQueue) throw new QueueFullError(this.maxQueue);
    this.#waiting++;
    const next = this.#tail.then(async () => {
      this.#waiting--;
      this.#running = true;
      try {
        return await fn();
      } finally {
        this.#running = false;
      }
    });
    this.#tail = next.catch(() => undefined);
    return next;
  }
}

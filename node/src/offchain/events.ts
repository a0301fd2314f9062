// In-process pub/sub of off-chain job events, per job id: what the SSE route streams. Events are not persisted: a
// subscriber reads the job's current state from the store first, then follows the events. Listener errors are
// swallowed (one broken stream must not break the job or the other streams).

/** API job status: queued (waiting, or waiting to be retried), running, success, failed. */
export type OffchainStatus = "queued" | "running" | "success" | "failed";

export type JobEvent =
  /** The job changed status; `attempt` counts runs (1 for the first). */
  | { type: "state"; status: OffchainStatus; attempt?: number; error?: string }
  /** One step (container) of the pipeline finished. `ms` is the step's own duration. */
  | { type: "progress"; step: number; steps: number; container: string; ms: number }
  /** The attempt failed and the job runs again after `delayMs`. */
  | { type: "retrying"; reason: string; delayMs: number }
  /** The job is over (success or failed): the last event of a job. */
  | { type: "done"; status: "success" | "failed" };

export type JobEventListener = (event: JobEvent) => void;

export class JobEventHub {
  readonly #listeners = new Map<string, Set<JobEventListener>>();

  /** Follows job `id`; returns the unsubscribe function. */
  subscribe(id: string, listener: JobEventListener): () => void {
    let set = this.#listeners.get(id);
    if (!set) this.#listeners.set(id, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#listeners.get(id) === set) this.#listeners.delete(id);
    };
  }

  emit(id: string, event: JobEvent): void {
    const set = this.#listeners.get(id);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch {
        // a subscriber's problem, not the job's
      }
    }
  }

  /** Jobs with at least one subscriber (tests, metrics). */
  get size(): number {
    return this.#listeners.size;
  }
}

// What components share at run time. A component that owns a part (the provider owns the store, the runtimes, the
// chain clients, the sender and its queue) puts it here when it has started; components started after it (the REST
// API) use it instead of opening a second one. Parts are only valid between their owner's start and stop.
import type { Address, LocalAccount } from "viem";
import type { ChainClients } from "./chain/client.ts";
import type { TransactionSender } from "./chain/sender.ts";
import type { ChainWatcher } from "./chain/watcher.ts";
import type { JobQueue } from "./jobs/queue.ts";
import type { ContainerRuntime } from "./runtime/types.ts";
import type { Store } from "./store/sqlite.ts";
import type { PoiFollowUp } from "./poi/followup.ts";
import type { TensorSource } from "./poi/serve.ts";

export interface NodeParts {
  store?: Store;
  /** Started runtimes by container id. */
  runtimes?: ReadonlyMap<string, ContainerRuntime>;
  clients?: ChainClients;
  sender?: TransactionSender;
  /** The node's signing address, and its account (validators sign tensor requests with it). */
  node?: Address;
  account?: LocalAccount;
  /** The provider's on-chain job queue (its depth is reported by /info, /health and /metrics). */
  queue?: Pick<JobQueue, "backend" | "name" | "depth">;
  watcher?: ChainWatcher;
  /** The provider's follow-up of committed Proof-of-Inference jobs and the tensors it serves to validators. */
  poiFollowUp?: PoiFollowUp;
  poi?: TensorSource;
}

// Worker thread for test/node.store.test.ts: opens the store file on its own connection, waits at the start
// barrier, then tries to move every job delivering → delivered, reporting the ids it won.
import { parentPort, workerData } from "node:worker_threads";
import { Store } from "../../node/src/store/sqlite.ts";

const { path, ids, barrier, name } = workerData as {
  path: string;
  ids: string[];
  barrier: SharedArrayBuffer;
  name: string;
};
const store = new Store(path, { busyTimeoutMs: 10_000 });
const gate = new Int32Array(barrier);
Atomics.add(gate, 1, 1);
Atomics.wait(gate, 0, 0);
const won: string[] = [];
for (const id of ids) {
  if (store.transition(id, ["delivering"], "delivered", { meta: { winner: name } })) won.push(id);
}
store.close();
parentPort!.postMessage(won);

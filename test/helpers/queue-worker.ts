// Child-process worker for test/node.queue.test.ts: opens the queue described by argv[2] (a QueueConfig as JSON)
// and processes it, telling the parent over IPC: "ready" once its worker runs, { done: id } per job handled,
// { started: id } when a job starts. A job with data.hang never finishes (the parent kills this process).
// On the message "close" it closes the queue and exits.
import { createQueue, type QueueConfig } from "../../node/src/jobs/index.ts";

interface Data {
  n: number;
  sleepMs?: number;
  hang?: boolean;
}

const config = JSON.parse(process.argv[2]!) as QueueConfig & { concurrency?: number };
const queue = createQueue<Data, { by: string; n: number }>(config);
queue.on("error", () => {});
queue.process(
  async (job) => {
    process.send!({ started: job.id, attempt: job.attempt });
    if (job.data.hang) await new Promise(() => {});
    if (job.data.sleepMs) await new Promise((r) => setTimeout(r, job.data.sleepMs));
    process.send!({ done: job.id });
    return { by: "child", n: job.data.n };
  },
  { concurrency: config.concurrency ?? 2 },
);
process.on("message", (msg) => {
  if (msg === "close") void queue.close().then(() => process.exit(0));
});
// Give a BullMQ worker a moment to connect before saying ready (the embedded one is ready at once).
setTimeout(() => process.send!("ready"), config.backend === "bullmq" ? 300 : 0);

// The diffusion container: `node containers/diffusion/src/service/server.ts` (configuration: config.ts; routes:
// http.ts). Listens on the unix socket $INFERNET_SOCKET when set (the InferNet node's default), else on HOST:PORT
// (default 0.0.0.0:3000, as Ritual's node expects), then loads the model: /health answers 503 until it is loaded.
// Jobs run one at a time (onnxruntime-node runs a session on the JavaScript thread). SIGTERM/SIGINT: stop
// accepting, answer what is in flight, exit 0 (at most 5 s later).
import { rmSync } from "node:fs";
import { describeCheat } from "./cheat.ts";
import { loadConfig, type ServiceConfig } from "./config.ts";
import { createServer } from "./http.ts";
import { DiffusionService } from "./service.ts";

const log = (line: string) => console.log(`diffusion: ${line}`);

let config: ServiceConfig;
try {
  config = loadConfig();
} catch (e) {
  console.error(`diffusion: ${(e as Error).message}`);
  process.exit(1);
}

if (config.cheat) {
  // DEMO/TEST ONLY (cheat.ts): loud, so that nobody runs a cheating service by accident.
  console.error(
    `diffusion: WARNING: DIFFUSION_CHEAT is set: generating DISHONESTLY (${describeCheat(config.cheat)}); ` +
      "Proof-of-Inference will fail these jobs and slash the node. Demo/test use only.",
  );
}

let service: DiffusionService | undefined;
const server = createServer({ config, service: () => service, log });

const socketPath = process.env.INFERNET_SOCKET;
if (socketPath) {
  rmSync(socketPath, { force: true }); // a stale socket from an earlier run
  // The node may run as another user than this container: let it connect.
  server.listen({ path: socketPath, readableAll: true, writableAll: true }, () => {
    log(`listening on unix:${socketPath}`);
  });
} else {
  const port = Number(process.env.PORT ?? 3000);
  const host = process.env.HOST ?? "0.0.0.0";
  server.listen(port, host, () => log(`listening on http://${host}:${port}`));
}

const t0 = performance.now();
DiffusionService.create(config).then(
  (s) => {
    service = s;
    const h = s.health() as { profile_key: string; poi: { jobs: number } };
    log(
      `loaded ${s.pipeline.dir} (model ${s.modelHash}) in ${(performance.now() - t0).toFixed(0)} ms; ` +
        `${h.profile_key}; outputs in ${config.outputDir}; PoI store ${config.poiDir ?? "(memory)"} with ` +
        `${h.poi.jobs} job(s)`,
    );
  },
  (e: unknown) => {
    console.error(`diffusion: cannot load the model: ${(e as Error).message}`);
    process.exit(1);
  },
);

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  log(`${signal}, shutting down`);
  server.close(() => {
    Promise.resolve(service?.close()).finally(() => process.exit(0));
  });
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

// onnx: a generic ONNX inference service (onnxruntime-node) behind the InferNet / Ritual container contract.
//
//   POST /service_output  {source, destination, data, requires_proof}
//     data: {"inputs": {<name>: {dtype, dims, data}}} (hex of its UTF-8 JSON when the source is on-chain)
//     destination 1/2: {outputs, output_digest, input_digest, model_sha256}; destination 0: the five hex fields
//     with raw_output = SHA-256 of the canonical output bytes (see service.ts, digest.ts)
//     a request that does not fit the model: 400 {"code": "400", "error": <why>}; queue full: 503
//   GET /health → 503 {"status": "loading"} while the model loads, then 200 {"status": "ok", model, inputs, …}
//
// Config: ONNX_CONFIG (JSON file) and/or ONNX_MODEL (see config.ts). Listens on the unix socket INFERNET_SOCKET
// when set (the InferNet node's default), else on HOST:PORT (default 0.0.0.0:3000, as Ritual's node expects).
// Requests run one at a time (queue.ts). SIGTERM/SIGINT: stop accepting, answer what is in flight, exit 0 (at most 5 s later).
import http from "node:http";
import { rmSync } from "node:fs";
import { loadConfig, type ServiceConfig } from "./config.ts";
import { BadRequestError, statusOf } from "./errors.ts";
import { OnnxModel } from "./model.ts";
import { SerialQueue } from "./queue.ts";
import { parseRequest } from "./request.ts";
import { OnnxService } from "./service.ts";
import { readBody, send, sendError } from "./http-io.ts";

const log = (line: string) => console.log(`onnx: ${line}`);

let config: ServiceConfig;
try {
  config = loadConfig();
} catch (e) {
  console.error(`onnx: ${(e as Error).message}`);
  process.exit(1);
}

const queue = new SerialQueue(config.maxQueue);
let model: OnnxModel | undefined;
let service: OnnxService | undefined;

async function serviceOutput(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const body = await readBody(req, res, config.maxBodyBytes);
  if (body === null) return;
  const t0 = performance.now();
  const request = parseRequest(body);
  if (!service) {
    sendError(res, 503, "the model is still loading");
    return;
  }
  const reply = await service.serve(request);
  if (reply.kind === "json") send(res, 200, reply.body);
  else {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(reply.text);
  }
  log(`destination ${request.destination}: 200 in ${(performance.now() - t0).toFixed(1)} ms`);
}

const server = http.createServer((req, res) => {
  const url = (req.url ?? "/").split("?")[0];
  if (req.method === "GET" && (url === "/health" || url === "/")) {
    if (!model) {
      send(res, 503, { status: "loading" });
      return;
    }
    send(res, 200, {
      status: "ok",
      model_sha256: model.sha256,
      onnxruntime: model.ortVersion,
      inputs: model.inputs,
      outputs: model.outputs,
      session: config.session,
      queued: queue.size,
    });
    return;
  }
  if (url !== "/service_output") {
    sendError(res, 404, `no route ${req.method} ${url}`);
    return;
  }
  if (req.method !== "POST") {
    sendError(res, 405, "use POST");
    return;
  }
  serviceOutput(req, res).catch((e: unknown) => {
    const status = statusOf(e);
    const message = e instanceof Error ? e.message : String(e);
    log(`${status}: ${message}`);
    if (!(e instanceof BadRequestError) && status >= 500 && e instanceof Error && e.stack)
      console.error(e.stack);
    if (!res.headersSent) sendError(res, status, message);
  });
});

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

// Load after listening, so that /health can say "loading" (503) rather than refuse connections.
const t0 = performance.now();
OnnxModel.load(config).then(
  (m) => {
    model = m;
    service = new OnnxService(m, queue);
    const inputs = m.inputs.map((s) => `${s.name} ${s.dtype} [${s.shape.map((d) => d ?? "?").join(", ")}]`);
    log(
      `loaded ${config.model} (sha256 ${m.sha256}) in ${(performance.now() - t0).toFixed(0)} ms; ` +
        `onnxruntime ${m.ortVersion}, ${config.session.executionProvider}, ` +
        `${config.session.intraOpNumThreads} intra-op thread(s); inputs ${inputs.join("; ")}; ` +
        `outputs ${m.outputs.join(", ")}`,
    );
  },
  (e: unknown) => {
    console.error(`onnx: ${(e as Error).message}`);
    process.exit(1);
  },
);

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  log(`${signal}, shutting down`);
  // close() calls back once every connection has ended, i.e. once the requests in flight have been answered.
  server.close(() => {
    Promise.resolve(model?.dispose()).finally(() => process.exit(0));
  });
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

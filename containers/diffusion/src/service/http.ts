// HTTP routes of the diffusion service (README.md has the formats):
//
//   GET    /health                      503 {"status":"loading"} until the model is loaded, then 200 (model, profile…)
//   POST   /service_output              the container contract (docs/containers.md); destination 2 streams NDJSON
//   POST   /poi/reveal                  {jobId, randomness, k} → the sdk's revealJob result
//   GET    /poi/tensors/:jobId/:step    z_step and ε_step (z_T for step T): JSON with base64, or ?format=raw
//   GET    /poi/jobs/:jobId             what is kept about a job (params, hashes, digests, root, proof)
//   DELETE /poi/jobs/:jobId             drops a settled job
//   GET    /outputs/<sha256>.gif        a stored output
//
// Errors: {"code": "<status>", "error": "<reason>"}; 400 bad request, 404 unknown job/route, 409 a job kept for
// another node, 413 body too large, 503 queue or PoI store full / still loading, 500 a failure worth retrying.
import http from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { BadRequestError } from "../../../onnx/src/errors.ts";
import { parseRequest } from "../../../onnx/src/request.ts";
import type { ServiceConfig } from "./config.ts";
import { OUTPUT_NAME } from "./outputs.ts";
import { NotFoundError, statusOf, type DiffusionService } from "./service.ts";
import { readBody, send, sendError } from "../../../onnx/src/http-io.ts";

export type Log = (line: string) => void;

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new BadRequestError("the request body is not JSON");
  }
}

export interface ServerParams {
  config: ServiceConfig;
  /** Undefined while the model loads. */
  service: () => DiffusionService | undefined;
  log: Log;
}

export function createServer(p: ServerParams): http.Server {
  const { config, log } = p;

  async function serviceOutput(svc: DiffusionService, req: http.IncomingMessage, res: http.ServerResponse) {
    const body = await readBody(req, res, config.maxBodyBytes);
    if (body === null) return;
    const t0 = performance.now();
    const request = parseRequest(body);
    // Stream: headers go out with the first progress line, so a request refused before it runs (400, 503) gets
    // its status like any other; a failure after that is the stream's last line, {"event":"error", …}.
    if (request.destination === 2) res.on("error", () => undefined); // a client gone mid-stream is not a crash
    const progress =
      request.destination === 2
        ? (line: object) => {
            if (!res.headersSent) res.writeHead(200, { "content-type": "application/x-ndjson" });
            res.write(`${JSON.stringify(line)}\n`);
          }
        : undefined;
    try {
      const reply = await svc.serve(request, progress);
      if (reply.kind === "stream") {
        progress?.({ event: "result", ...reply.last });
        res.end();
      } else {
        send(res, 200, reply.body);
      }
    } catch (e) {
      if (!res.headersSent) throw e;
      const status = statusOf(e);
      res.end(`${JSON.stringify({ event: "error", code: String(status), error: (e as Error).message })}\n`);
      log(`destination 2: failed mid-stream: ${(e as Error).message}`);
      return;
    }
    log(
      `destination ${request.destination}${request.requires_proof ? " (proof)" : ""}: 200 in ` +
        `${(performance.now() - t0).toFixed(1)} ms`,
    );
  }

  async function route(svc: DiffusionService, req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? "/", "http://service");
    const parts = url.pathname.split("/").filter((s) => s !== "");
    const method = req.method ?? "GET";
    const only = (m: string) => {
      if (method !== m) {
        sendError(res, 405, `use ${m}`);
        return false;
      }
      return true;
    };
    if (url.pathname === "/service_output") {
      if (only("POST")) await serviceOutput(svc, req, res);
      return;
    }
    if (parts[0] === "poi" && parts[1] === "reveal" && parts.length === 2) {
      if (!only("POST")) return;
      const body = await readBody(req, res, config.maxBodyBytes);
      if (body === null) return;
      send(res, 200, svc.reveal(parseJson(body)));
      return;
    }
    if (parts[0] === "poi" && parts[1] === "tensors" && parts.length === 4) {
      if (!only("GET")) return;
      const t = await svc.tensors(parts[2]!, parts[3]!);
      if (url.searchParams.get("format") === "raw") {
        const latent = Buffer.from(t.latent.data, "base64");
        const noise = t.noise ? Buffer.from(t.noise.data, "base64") : Buffer.alloc(0);
        res.writeHead(200, {
          "content-type": "application/octet-stream",
          "content-length": latent.length + noise.length,
          "x-infernet-dims": JSON.stringify(t.dims),
          "x-infernet-timestep": String(t.timestep),
          "x-infernet-latent-sha256": t.latent.sha256,
          "x-infernet-noise-sha256": t.noise?.sha256 ?? "",
        });
        res.end(Buffer.concat([latent, noise]));
      } else {
        send(res, 200, t);
      }
      return;
    }
    if (parts[0] === "poi" && parts[1] === "jobs" && parts.length === 3) {
      if (method === "GET") send(res, 200, svc.job(parts[2]!));
      else if (method === "DELETE") {
        await svc.drop(parts[2]!);
        send(res, 200, { jobId: parts[2]!.toLowerCase(), deleted: true });
      } else sendError(res, 405, "use GET or DELETE");
      return;
    }
    if (parts[0] === "outputs" && parts.length === 2) {
      if (!only("GET")) return;
      const m = OUTPUT_NAME.exec(parts[1]!);
      if (!m) throw new NotFoundError(`no output ${parts[1]}`);
      let gif: Buffer;
      try {
        gif = await readFile(path.join(config.outputDir, parts[1]!));
      } catch {
        throw new NotFoundError(`no output ${parts[1]}`);
      }
      res.writeHead(200, { "content-type": "image/gif", "content-length": gif.length });
      res.end(gif);
      return;
    }
    throw new NotFoundError(`no route ${method} ${url.pathname}`);
  }

  return http.createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    const svc = p.service();
    if (req.method === "GET" && (url === "/health" || url === "/")) {
      if (!svc) send(res, 503, { status: "loading" });
      else send(res, 200, svc.health());
      return;
    }
    if (!svc) {
      sendError(res, 503, "the model is still loading");
      return;
    }
    route(svc, req, res).catch((e: unknown) => {
      const status = statusOf(e);
      const message = e instanceof Error ? e.message : String(e);
      log(`${status}: ${message}`);
      if (status >= 500 && status !== 503 && e instanceof Error && e.stack) console.error(e.stack);
      if (!res.headersSent) sendError(res, status, message);
      else res.end();
    });
  });
}

// hello: the smallest service that follows the InferNet container contract (compatible with Ritual's Infernet).
//
//   POST /service_output  {source, destination, data, requires_proof}
//     destination 0 (on-chain):  {raw_input, processed_input, raw_output, processed_output, proof}, hex without 0x:
//                                every field but the proof is the input bytes (proof is "")
//     destination 1 (off-chain): {"echo": data}
//     destination 2 (stream):    {"echo": data} as JSON text, sent in chunks
//   The input bytes are `data` decoded from hex when the source is on-chain (0), else the UTF-8 of its JSON.
//   GET /health → {"status": "ok"}
//
// Listens on the unix socket INFERNET_SOCKET when set (the InferNet node's default: containers without a network),
// else on HOST:PORT (default 0.0.0.0:3000, as Ritual's node expects). HELLO_DELAY_MS delays every reply (for
// tests and benchmarks of a workload of known length). SIGTERM/SIGINT: stop accepting, finish what is in flight,
// exit 0. Node 22.18+ runs this file as it is (type stripping); no dependencies.
import http from "node:http";
import { rmSync } from "node:fs";

const MAX_BODY = 64 * 1024 * 1024;
const delayMs = Number(process.env.HELLO_DELAY_MS ?? 0) || 0;

interface Request {
  source: 0 | 1;
  destination: 0 | 1 | 2;
  data: unknown;
  requires_proof?: boolean;
}

class BadRequest extends Error {}

function parseRequest(body: string): Request {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new BadRequest("body is not JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new BadRequest("body must be a JSON object");
  const r = v as Record<string, unknown>;
  if (r.source !== 0 && r.source !== 1) throw new BadRequest("source must be 0 (on-chain) or 1 (off-chain)");
  if (r.destination !== 0 && r.destination !== 1 && r.destination !== 2) {
    throw new BadRequest("destination must be 0 (on-chain), 1 (off-chain) or 2 (stream)");
  }
  return {
    source: r.source,
    destination: r.destination,
    data: r.data,
    requires_proof: r.requires_proof === true,
  };
}

/** The job's input bytes as hex (no 0x). */
function inputHex(req: Request): string {
  if (req.source === 0) {
    if (typeof req.data !== "string") throw new BadRequest("on-chain data must be a hex string");
    const hex = req.data.replace(/^0x/i, "");
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new BadRequest("on-chain data must be hex of whole bytes");
    return hex.toLowerCase();
  }
  return Buffer.from(JSON.stringify(req.data ?? null), "utf8").toString("hex");
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function serviceOutput(req: Request, res: http.ServerResponse): Promise<void> {
  const hex = inputHex(req);
  if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
  if (req.destination === 0) {
    send(res, 200, {
      raw_input: hex,
      processed_input: hex,
      raw_output: hex,
      processed_output: hex,
      proof: "",
    });
  } else if (req.destination === 1) {
    send(res, 200, { echo: req.data });
  } else {
    const text = JSON.stringify({ echo: req.data });
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    const mid = Math.floor(text.length / 2);
    res.write(text.slice(0, mid));
    res.end(text.slice(mid));
  }
}

const server = http.createServer((req, res) => {
  const url = (req.url ?? "/").split("?")[0];
  if (req.method === "GET" && (url === "/health" || url === "/")) {
    send(res, 200, { status: "ok" });
    return;
  }
  if (url !== "/service_output") {
    send(res, 404, { error: `no route ${req.method} ${url}` });
    return;
  }
  if (req.method !== "POST") {
    send(res, 405, { error: "use POST" });
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("data", (c: Buffer) => {
    size += c.length;
    if (size > MAX_BODY) {
      send(res, 413, { error: "body too large" });
      req.destroy();
      return;
    }
    chunks.push(c);
  });
  req.on("end", () => {
    if (res.headersSent) return;
    Promise.resolve()
      .then(() => serviceOutput(parseRequest(Buffer.concat(chunks).toString("utf8")), res))
      .catch((e: unknown) => {
        if (res.headersSent) return;
        if (e instanceof BadRequest) send(res, 400, { error: e.message });
        else send(res, 500, { error: e instanceof Error ? e.message : String(e) });
      });
  });
});

const socketPath = process.env.INFERNET_SOCKET;
if (socketPath) {
  rmSync(socketPath, { force: true }); // a stale socket from an earlier run
  // The node may run as another user than this container: let it connect.
  server.listen({ path: socketPath, readableAll: true, writableAll: true }, () => {
    console.log(`hello: listening on unix:${socketPath}`);
  });
} else {
  const port = Number(process.env.PORT ?? 3000);
  const host = process.env.HOST ?? "0.0.0.0";
  server.listen(port, host, () => console.log(`hello: listening on http://${host}:${port}`));
}

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  console.log(`hello: ${signal}, shutting down`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

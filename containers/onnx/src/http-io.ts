// JSON replies and bounded request bodies for the container services (onnx, diffusion): one implementation.
import type http from "node:http";

export function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** The error reply of the container contract: `{code: "<status>", error: "<reason>"}`. */
export function sendError(res: http.ServerResponse, status: number, message: string): void {
  send(res, status, { code: String(status), error: message });
}

/** The request body as text; null (after a 413 reply) when it is larger than `maxBytes`. */
export function readBody(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  maxBytes: number,
): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        sendError(res, 413, `the request body is larger than ${maxBytes} bytes`);
        req.destroy();
        resolve(null);
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(res.headersSent ? null : Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

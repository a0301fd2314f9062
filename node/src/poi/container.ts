/**
 * The node's side of a workload's Proof-of-Inference routes (containers/diffusion README): the container that
 * generated a job keeps its trajectory; the node asks it for the reveal, proxies step tensors to validators, and
 * drops the job once it is settled. Errors name the container and the route.
 */
import type { Hex } from "viem";
import type { Reveal } from "@infernet/sdk";
import { httpRequest, type HttpResponse } from "../runtime/http.ts";
import type { ContainerRuntime } from "../runtime/types.ts";

export class PoiContainerError extends Error {
  readonly status: number | undefined;
  constructor(container: string, route: string, reason: string, status?: number) {
    super(`container ${container}: ${route}: ${reason}`);
    this.name = "PoiContainerError";
    this.status = status;
  }
}

async function call(
  runtime: ContainerRuntime,
  method: "GET" | "POST" | "DELETE",
  route: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<HttpResponse> {
  const ep = runtime.endpoint;
  if (!ep) throw new PoiContainerError(runtime.id, route, "the runtime has no HTTP endpoint (not started?)");
  const res = await httpRequest(ep, method, route, body === undefined ? undefined : JSON.stringify(body), {
    timeoutMs,
  });
  if (res.status >= 400) {
    let reason = res.body.toString("utf8").slice(0, 500);
    try {
      reason = (JSON.parse(reason) as { error?: string }).error ?? reason;
    } catch {
      // not JSON: keep the text
    }
    throw new PoiContainerError(runtime.id, route, `HTTP ${res.status}: ${reason}`, res.status);
  }
  return res;
}

/** `POST /poi/reveal`: the openings for the challenge `randomness` at audit depth `k`. */
export async function requestReveal(
  runtime: ContainerRuntime,
  poiJobId: Hex,
  randomness: Hex,
  k: number,
): Promise<Reveal> {
  const res = await call(runtime, "POST", "/poi/reveal", { jobId: poiJobId, randomness, k });
  return JSON.parse(res.body.toString("utf8")) as Reveal;
}

/** `GET /poi/tensors/:jobId/:step` as JSON (z_step, ε_step with their sha256, base64 float32 LE). */
export async function stepTensors(
  runtime: ContainerRuntime,
  poiJobId: Hex,
  step: number,
): Promise<HttpResponse> {
  return call(runtime, "GET", `/poi/tensors/${poiJobId}/${step}`);
}

/** `DELETE /poi/jobs/:jobId` once the job is settled; a job the container no longer has is fine. */
export async function dropJob(runtime: ContainerRuntime, poiJobId: Hex): Promise<void> {
  try {
    await call(runtime, "DELETE", `/poi/jobs/${poiJobId}`);
  } catch (err) {
    if (err instanceof PoiContainerError && err.status === 404) return;
    throw err;
  }
}

// Proof-of-Inference tensors for validators: GET /poi/jobs/:key/tensors/:step. Not under /api (validators hold no
// API key of this node): each request is signed by the validator (x-infernet-* headers, see poi/tensor-auth.ts) and
// served only to the job's assigned validator or a committee member.
import { Type } from "typebox";
import type { Hex } from "viem";
import type { ApiApp, ApiContext } from "../context.ts";
import { ApiError, NotFoundError } from "../errors.ts";
import { errors } from "../schemas.ts";
import { TensorAuthError } from "../../poi/tensor-auth.ts";
import { TensorNotFoundError } from "../../poi/serve.ts";

const TensorParams = Type.Object(
  {
    key: Type.String({ pattern: "^0x[0-9a-fA-F]{64}$", description: "ProofOfInference.jobKey(ref)" }),
    step: Type.String({
      pattern: "^[0-9]{1,5}$",
      description: "Leaf index: a step 0 ≤ i < T, or T (z_T only)",
    }),
  },
  { additionalProperties: false },
);

const Tensor = Type.Object({
  sha256: Type.String({
    description: "sha256 of the raw little-endian float32 bytes (the committed digest)",
  }),
  data: Type.String({ description: "base64 of the raw little-endian float32 bytes" }),
});

const TensorReply = Type.Object(
  {
    jobId: Type.String(),
    step: Type.Integer(),
    T: Type.Integer(),
    timestep: Type.Union([Type.Integer(), Type.Null()]),
    dims: Type.Array(Type.Integer()),
    dtype: Type.Literal("float32"),
    latent: Tensor,
    noise: Type.Union([Tensor, Type.Null()]),
  },
  { description: "z_step and ε_step of a committed job (z_T alone for step T)" },
);

export function poiRoutes(app: ApiApp, ctx: ApiContext): void {
  app.get(
    "/poi/jobs/:key/tensors/:step",
    {
      schema: {
        operationId: "getPoiTensors",
        tags: ["poi"],
        summary: "A committed job's step tensors, for its validators",
        description:
          "Signed by the validator: x-infernet-validator, x-infernet-expires (unix seconds, at most 600 s ahead) " +
          "and x-infernet-signature (EIP-191 over the message of poi/tensor-auth.ts: chain, job key, step, " +
          "validator, expiry). 401 bad or expired signature, 403 the signer is not the job's validator or a " +
          "committee member, 404 a job this node does not follow (or no PoI on this node).",
        params: TensorParams,
        response: { 200: TensorReply, ...errors(400, 401, 403, 404, 429, 503) },
      },
    },
    async (request) => {
      if (!ctx.poi) throw new NotFoundError("this node serves no Proof-of-Inference jobs");
      try {
        return (await ctx.poi.tensors({
          key: request.params.key as Hex,
          step: Number(request.params.step),
          headers: request.headers,
        })) as never;
      } catch (err) {
        if (err instanceof TensorAuthError) throw new ApiError(err.status, err.message, "tensor_auth");
        if (err instanceof TensorNotFoundError) throw new NotFoundError(err.message);
        throw err;
      }
    },
  );
}

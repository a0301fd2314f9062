// EIP-712 delegated subscriptions: submitted here, verified before anything else (see ../delegated.ts), then sent
// on-chain by the node; their state is readable by the API key that submitted them.
import { principalOf, type ApiApp, type ApiContext } from "../context.ts";
import { ApiError, NotFoundError } from "../errors.ts";
import { DelegatedReply, DelegatedRequest, IdParams, errors } from "../schemas.ts";

const SECURITY: { [scheme: string]: string[] }[] = [{ bearerAuth: [] }, { apiKeyHeader: [] }];

export function subscriptionRoutes(app: ApiApp, ctx: ApiContext): void {
  const service = () => {
    if (!ctx.delegated) {
      throw new ApiError(
        404,
        "delegated subscriptions are not enabled on this node (api.delegatedSubscriptions)",
        "not_enabled",
      );
    }
    return ctx.delegated;
  };

  app.post(
    "/api/subscriptions/delegated",
    {
      schema: {
        operationId: "createDelegatedSubscription",
        tags: ["subscriptions"],
        summary: "Submit an EIP-712 delegated subscription",
        description:
          "Verified before any work: the expiry (chain time), the container (one this node serves), the " +
          "signature (recovered over the Coordinator's EIP-712 domain) against the owner contract's getSigner() " +
          "(or its ERC-1271 isValidSignature), the container's allowedAddresses / allowedDelegateAddresses, and " +
          "an eth_call of createSubscriptionDelegated. Refusals: 400 (malformed, expired, unknown container, " +
          "owner not a delegator, refused by the contract), 401 (signature not by the owner's signer), 403 " +
          "(allowlist), 409 ((owner, nonce) submitted by another key). Accepted: 202 and the node sends it " +
          "(status pending → sending → created | failed); 200 when this (owner, nonce) was already submitted by " +
          "the caller or already exists on-chain.",
        security: SECURITY,
        body: DelegatedRequest,
        response: {
          200: DelegatedReply,
          202: DelegatedReply,
          ...errors(400, 401, 403, 404, 409, 413, 415, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const { record, created } = await service().submit(principalOf(request).id, request.body);
      return reply.status(created && record.status !== "created" ? 202 : 200).send(record);
    },
  );

  app.get(
    "/api/subscriptions/delegated/:id",
    {
      schema: {
        operationId: "getDelegatedSubscription",
        tags: ["subscriptions"],
        summary: "A submitted delegated subscription's state",
        security: SECURITY,
        params: IdParams,
        response: { 200: DelegatedReply, ...errors(400, 401, 404, 429, 503) },
      },
    },
    async (request) => {
      const record = service().get(request.params.id, principalOf(request).id);
      if (!record) throw new NotFoundError(`no delegated subscription ${JSON.stringify(request.params.id)}`);
      return record;
    },
  );
}

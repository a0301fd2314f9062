// Signed tensor requests (validator → provider): who may read a committed job's step tensors.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";
import {
  MAX_TENSOR_AUTH_TTL_S,
  TENSOR_AUTH_HEADERS,
  TensorAuthError,
  signTensorRequest,
  verifyTensorRequest,
} from "../node/src/poi/tensor-auth.ts";

const key: Hex = `0x${"ab".repeat(32)}`;
const validator = privateKeyToAccount(generatePrivateKey());
const stranger = privateKeyToAccount(generatePrivateKey());
const NOW = 1_800_000_000;

async function refusal(p: Promise<unknown>): Promise<TensorAuthError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof TensorAuthError, `expected a TensorAuthError, got ${String(err)}`);
  return err;
}

describe("signed tensor requests", () => {
  const verify = (
    headers: Record<string, string>,
    over: { step?: number; chainId?: number; nowS?: number } = {},
  ) =>
    verifyTensorRequest({
      headers,
      chainId: over.chainId ?? 31337,
      key,
      step: over.step ?? 4,
      nowS: over.nowS ?? NOW,
      allowed: (signer) => signer === validator.address,
    });

  it("accepts the job's validator and returns the signer", async () => {
    const headers = await signTensorRequest(validator, { chainId: 31337, key, step: 4, nowS: NOW });
    assert.equal(await verify(headers), validator.address);
  });

  it("refuses missing headers, another step or chain, expiry, far expiry, a forged name, and non-validators", async () => {
    const good = await signTensorRequest(validator, { chainId: 31337, key, step: 4, nowS: NOW });
    assert.equal((await refusal(verify({}))).status, 401);
    assert.equal((await refusal(verify(good, { step: 5 }))).status, 401, "signature bound to the step");
    assert.equal((await refusal(verify(good, { chainId: 1 }))).status, 401, "bound to the chain");
    assert.match((await refusal(verify(good, { nowS: NOW + 1_000 }))).message, /expired/);
    const far = await signTensorRequest(validator, {
      chainId: 31337,
      key,
      step: 4,
      nowS: NOW,
      ttlS: MAX_TENSOR_AUTH_TTL_S + 60,
    });
    assert.equal((await refusal(verify(far))).status, 400);
    // A stranger's signature presented under the validator's name.
    const forged = {
      ...(await signTensorRequest(stranger, { chainId: 31337, key, step: 4, nowS: NOW })),
      [TENSOR_AUTH_HEADERS.validator]: validator.address,
    };
    assert.match((await refusal(verify(forged))).message, /not the named validator's/);
    // A stranger signing for itself: a valid signature, but not a validator of the job.
    const own = await signTensorRequest(stranger, { chainId: 31337, key, step: 4, nowS: NOW });
    assert.equal((await refusal(verify(own))).status, 403);
    assert.equal(
      (await refusal(verify({ ...good, [TENSOR_AUTH_HEADERS.signature]: "0x1234" }))).status,
      400,
      "malformed signature",
    );
  });
});

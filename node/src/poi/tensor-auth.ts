/**
 * Authentication of tensor requests from validators to a provider (docs/protocol.md §8): the validator signs a short
 * EIP-191 message naming the chain, the job key, the step and an expiry; the provider recovers the signer and
 * serves only the job's assigned validator (or a committee member). Signatures expire so a leaked header is useless
 * after a few minutes; the message binds the chain id so it cannot be replayed on another deployment.
 */
import { recoverMessageAddress, type Address, type Hex, type LocalAccount } from "viem";

export const TENSOR_AUTH_HEADERS = {
  validator: "x-infernet-validator",
  expires: "x-infernet-expires",
  signature: "x-infernet-signature",
} as const;

/** Longest validity a provider accepts, seconds. */
export const MAX_TENSOR_AUTH_TTL_S = 600;

export interface TensorRequest {
  chainId: number;
  /** `ProofOfInference.jobKey(ref)`. */
  key: Hex;
  step: number;
  validator: Address;
  /** Unix seconds after which the signature is refused. */
  expires: number;
}

export class TensorAuthError extends Error {
  readonly status: number;
  constructor(reason: string, status = 401) {
    super(`tensor request refused: ${reason}`);
    this.name = "TensorAuthError";
    this.status = status;
  }
}

export function tensorRequestMessage(r: TensorRequest): string {
  return [
    "InferNet tensor request",
    `chain: ${r.chainId}`,
    `job: ${r.key.toLowerCase()}`,
    `step: ${r.step}`,
    `validator: ${r.validator.toLowerCase()}`,
    `expires: ${r.expires}`,
  ].join("\n");
}

/** Headers a validator sends with `GET …/tensors/:step`. */
export async function signTensorRequest(
  account: LocalAccount,
  r: Omit<TensorRequest, "validator" | "expires"> & { ttlS?: number; nowS?: number },
): Promise<Record<string, string>> {
  const expires = Math.floor(r.nowS ?? Date.now() / 1000) + (r.ttlS ?? 120);
  const request: TensorRequest = {
    chainId: r.chainId,
    key: r.key,
    step: r.step,
    validator: account.address,
    expires,
  };
  const signature = await account.signMessage({ message: tensorRequestMessage(request) });
  return {
    [TENSOR_AUTH_HEADERS.validator]: account.address,
    [TENSOR_AUTH_HEADERS.expires]: String(expires),
    [TENSOR_AUTH_HEADERS.signature]: signature,
  };
}

/**
 * Checks the headers of a tensor request and returns the signer. `allowed` decides whether that signer may read the
 * job (the assigned validator, a committee member); it runs only after the signature is verified.
 */
export async function verifyTensorRequest(p: {
  headers: Record<string, string | string[] | undefined>;
  chainId: number;
  key: Hex;
  step: number;
  nowS?: number;
  allowed: (signer: Address) => Promise<boolean> | boolean;
}): Promise<Address> {
  const one = (name: string) => {
    const v = p.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const validator = one(TENSOR_AUTH_HEADERS.validator);
  const expiresRaw = one(TENSOR_AUTH_HEADERS.expires);
  const signature = one(TENSOR_AUTH_HEADERS.signature);
  if (!validator || !expiresRaw || !signature)
    throw new TensorAuthError(`missing ${Object.values(TENSOR_AUTH_HEADERS).join(" / ")} headers`);
  if (!/^0x[0-9a-fA-F]{40}$/.test(validator)) throw new TensorAuthError("validator is not an address", 400);
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature))
    throw new TensorAuthError("signature is not 65 bytes of hex", 400);
  if (!/^[0-9]{1,12}$/.test(expiresRaw)) throw new TensorAuthError("expires is not unix seconds", 400);
  const expires = Number(expiresRaw);
  const now = Math.floor(p.nowS ?? Date.now() / 1000);
  if (expires < now) throw new TensorAuthError("signature expired");
  if (expires > now + MAX_TENSOR_AUTH_TTL_S)
    throw new TensorAuthError(`expiry more than ${MAX_TENSOR_AUTH_TTL_S} s ahead`, 400);
  const message = tensorRequestMessage({
    chainId: p.chainId,
    key: p.key,
    step: p.step,
    validator: validator as Address,
    expires,
  });
  let signer: Address;
  try {
    signer = await recoverMessageAddress({ message, signature: signature as Hex });
  } catch {
    throw new TensorAuthError("signature does not recover");
  }
  if (signer.toLowerCase() !== validator.toLowerCase())
    throw new TensorAuthError("signature is not the named validator's");
  if (!(await p.allowed(signer))) throw new TensorAuthError("signer is not a validator of this job", 403);
  return signer;
}

// Per-container allowlists (as Ritual's `allowed_addresses` / `allowed_delegate_addresses`), as one pure function
// the API (delegated subscriptions) and the provider (on-chain subscriptions) both call:
//   allowedAddresses          subscription owners served; unset = anyone
//   allowedDelegateAddresses  signers accepted for delegated subscriptions; unset = any signer (the owner's
//                             getSigner() is still required, by the contract and by the API's check)
// Comparisons ignore address case.

export interface AllowlistRules {
  allowedAddresses?: readonly string[] | undefined;
  allowedDelegateAddresses?: readonly string[] | undefined;
}

export interface SubscriptionParties {
  /** The subscription's owner (the consumer contract). */
  owner: string;
  /** The EIP-712 signer of a delegated subscription; absent for on-chain subscriptions. */
  signer?: string | undefined;
}

export type AllowDecision =
  | { allowed: true }
  | { allowed: false; rule: "allowedAddresses" | "allowedDelegateAddresses"; reason: string };

function contains(list: readonly string[], address: string): boolean {
  const a = address.toLowerCase();
  return list.some((x) => x.toLowerCase() === a);
}

/** Whether a container may serve a subscription owned by `owner` (and signed by `signer`, when delegated). */
export function checkAllowlist(
  container: { id: string } & AllowlistRules,
  parties: SubscriptionParties,
): AllowDecision {
  const owners = container.allowedAddresses;
  if (owners !== undefined && !contains(owners, parties.owner)) {
    return {
      allowed: false,
      rule: "allowedAddresses",
      reason: `owner ${parties.owner} is not in the allowedAddresses of container ${container.id}`,
    };
  }
  const delegates = container.allowedDelegateAddresses;
  if (parties.signer !== undefined && delegates !== undefined && !contains(delegates, parties.signer)) {
    return {
      allowed: false,
      rule: "allowedDelegateAddresses",
      reason: `signer ${parties.signer} is not in the allowedDelegateAddresses of container ${container.id}`,
    };
  }
  return { allowed: true };
}

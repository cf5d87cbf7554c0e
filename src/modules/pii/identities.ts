import type { Executor } from '../../db/database.ts';
import { sha256Hex } from '../../lib/crypto.ts';
import { piiRepo } from './repo.ts';

export type IdentityKind = 'phone' | 'id_number' | 'payout_account';

export interface SharedIdentity {
  kind: IdentityKind;
  /**
   * An opaque name of the shared value (a hash of its blind index, not the index itself), stable
   * while the master key is: a risk event can say "the same ID number" twice without either
   * naming it or being able to look it up.
   */
  group: string;
  /** Two or more distributors of the tenant, in id order. */
  distributor_ids: string[];
}

/**
 * Distributors of a tenant that share one identity: a phone, a resident ID number or a payout
 * account, compared by their HMAC blind indexes, so nothing is decrypted. This is what the risk
 * rule "one identity behind several distributors" reads.
 *
 * - `distributorId`: only the groups this distributor is in (a check at registration, on a new
 *   payout account, or when reviewing one distributor);
 * - `kinds`: which identities to compare (all three by default).
 *
 * Erased distributors have no indexes left and never appear. Payout accounts count while not
 * disabled. During a key rotation, rows not yet rewritten carry the old key's index and may
 * not group with rewritten ones until `fenxiao pii rotate-key` has finished.
 */
export async function distributorsSharingIdentity(
  ex: Executor,
  tenantId: string,
  options: { distributorId?: string; kinds?: readonly IdentityKind[] } = {},
): Promise<SharedIdentity[]> {
  const kinds = options.kinds ?? ['phone', 'id_number', 'payout_account'];
  const only = options.distributorId;
  const out: SharedIdentity[] = [];
  for (const kind of kinds) {
    const rows = await piiRepo.sharedIdentityGroups(ex, tenantId, kind, only);
    for (const r of rows) out.push({ kind, group: groupName(kind, r.bidx), distributor_ids: r.ids });
  }
  return out;
}

function groupName(kind: IdentityKind, bidx: string): string {
  // A second hash so the risk event never carries a usable lookup key.
  return `${kind}:${sha256Hex(`${kind}\u001f${bidx}`).slice(0, 16)}`;
}

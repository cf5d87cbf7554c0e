import type { Db } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { KeyRing } from '../../lib/crypto.ts';
import { createPersonalFields, type Contact } from './fields.ts';
import { distributorsRepo } from '../distributors/repo.ts';
import { idNumberProblem, normalizeIdNumber } from './idnumber.ts';

/**
 * The one-time move of personal data that older versions kept in plaintext in the application
 * profile (real name, WeChat id, email, address, and an ID number if one was put there) into the
 * encrypted columns of migration 2026_11_25_0500_pii. The key lives in the application, so this
 * runs in it: at boot before the server serves, and from `fenxiao migrate` and `pii rotate-key`.
 *
 * Safe to run any number of times and from several processes at once: it takes only the rows
 * whose profile still holds one of those keys (a partial index finds them, so once done the pass
 * is one empty index probe), locks them (SKIP LOCKED: another process takes the rest), writes
 * the ciphertexts and deletes the plaintext keys in the same UPDATE. A value already in an
 * encrypted column (set later through the API) wins over the stale plaintext one.
 */

export async function encryptLegacyProfiles(db: Db, keyring: KeyRing, options: { batchSize?: number } = {}): Promise<{ moved: number; skipped: string[] }> {
  const batchSize = options.batchSize ?? 200;
  const personal = createPersonalFields(keyring);
  let moved = 0;
  const skipped: string[] = [];
  let after = '';
  for (;;) {
    const rows = await inTransaction(db, async (tx) => {
      const batch = await distributorsRepo.lockLegacyProfiles(tx, after, batchSize);
      for (const r of batch) {
        const p = r.profile as Record<string, unknown>;
        const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);
        let contact: Contact;
        try {
          contact = r.contact_enc ? (JSON.parse(keyring.decrypt(r.contact_enc)) as Contact) : {};
        } catch {
          // Its key is not in the ring: leave the row for a run that has the key, lose nothing.
          skipped.push(r.id);
          continue;
        }
        const legacyIdText = str(p.id_number);
        const legacyId = legacyIdText ? normalizeIdNumber(legacyIdText) : null;
        const set = {
          ...(r.real_name_enc === null && str(p.real_name) ? personal.realName(str(p.real_name)) : {}),
          // An invalid legacy number is still personal data: encrypted all the same, never indexed.
          ...(r.id_number_enc === null && legacyId
            ? { id_number_enc: keyring.encrypt(legacyId), id_number_bidx: idNumberProblem(legacyId) ? null : keyring.blindIndex(legacyId) }
            : {}),
          ...personal.contact(null, {
            wechat: contact.wechat ?? str(p.wechat),
            email: contact.email ?? str(p.email),
            address: contact.address ?? str(p.address),
          }),
        };
        await distributorsRepo.encryptLegacyProfile(tx, r.id, set);
        moved++;
      }
      return batch;
    });
    const last = rows.at(-1);
    if (!last) break;
    after = last.id;
  }
  return { moved, skipped };
}

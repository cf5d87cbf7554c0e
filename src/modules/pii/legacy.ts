import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { KeyRing } from '../../lib/crypto.ts';
import { createPersonalFields, PROFILE_PERSONAL_KEYS, type Contact } from './fields.ts';
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
/** `array['real_name', …]`, as the partial index distributors_profile_plaintext names them. */
const PERSONAL_KEYS_SQL = sql.raw(`array[${PROFILE_PERSONAL_KEYS.map((k) => `'${k}'`).join(', ')}]`);

export async function encryptLegacyProfiles(db: Db, keyring: KeyRing, options: { batchSize?: number } = {}): Promise<{ moved: number; skipped: string[] }> {
  const batchSize = options.batchSize ?? 200;
  const personal = createPersonalFields(keyring);
  let moved = 0;
  const skipped: string[] = [];
  let after = '';
  for (;;) {
    const rows = await inTransaction(db, async (tx) => {
      const batch = await tx
        .selectFrom('distributors')
        .select(['id', 'profile', 'real_name_enc', 'id_number_enc', 'id_number_bidx', 'contact_enc'])
        .where(sql<boolean>`profile ?| ${PERSONAL_KEYS_SQL}`)
        .where('id', '>', after)
        .orderBy('id')
        .limit(batchSize)
        .forUpdate()
        .skipLocked()
        .execute();
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
        const legacyId = str(p.id_number) ? normalizeIdNumber(str(p.id_number)!) : null;
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
        await tx
          .updateTable('distributors')
          .set({ ...set, profile: sql`profile - ${PERSONAL_KEYS_SQL}` })
          .where('id', '=', r.id)
          .execute();
        moved++;
      }
      return batch;
    });
    if (rows.length === 0) break;
    after = rows[rows.length - 1]!.id;
  }
  return { moved, skipped };
}

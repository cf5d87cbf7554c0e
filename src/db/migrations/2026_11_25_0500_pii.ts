import { sql, type Kysely } from 'kysely';

/**
 * Personal data (PIPL) at rest: the real name, the resident ID number and the contact fields
 * (WeChat id, email, address) leave the plaintext application profile for AES-256-GCM columns,
 * with an HMAC blind index of the ID number beside the phone's; erasure as a terminal status.
 *
 * The key lives in the application, not in the database, so this migration cannot encrypt what
 * is already in `profile`: it leaves those values where they are, and the pii module's boot pass
 * (encryptLegacyProfiles, run before a server serves and by `fenxiao migrate`) moves them row by
 * row into the new columns and deletes them from `profile`. The partial index below holds exactly
 * the rows that still carry plaintext, so that pass costs one empty index probe once it is done.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
alter table distributors add column real_name_enc text;
alter table distributors add column id_number_enc text;
alter table distributors add column id_number_bidx text;
-- {"wechat","email","address"} as one ciphertext: shown and erased together, never searched.
alter table distributors add column contact_enc text;
alter table distributors add column erased_at timestamptz;

alter table distributors drop constraint distributors_status_check;
alter table distributors add constraint distributors_status_check
  check (status in ('pending', 'active', 'suspended', 'rejected', 'erased'));

-- Lookups and duplicate detection by ID number, as distributors_phone does for phones.
create index distributors_id_number on distributors (tenant_id, id_number_bidx) where id_number_bidx is not null;

-- Rows whose application profile still holds personal data in plaintext (see above).
create index distributors_profile_plaintext on distributors (id)
  where profile ?| array['real_name', 'id_number', 'wechat', 'email', 'address'];

-- Erasure destroys a payout account's details and identity index but keeps the row: withdrawals
-- reference it, and the ledger stays whole.
alter table payout_accounts alter column details_enc drop not null;
alter table payout_accounts alter column identity_bidx drop not null;
`.execute(db);
}

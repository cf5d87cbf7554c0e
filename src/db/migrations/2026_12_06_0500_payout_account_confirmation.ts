import { sql, type Kysely } from 'kysely';

/**
 * Who added a payout account, and who confirmed it. An account a console user adds for a
 * distributor waits for the distributor's confirmation (or a second person's) before money can go
 * to it, and is never a channel's default until then (issue 14: one finance user could add an
 * account to any distributor and pay its balance there). Accounts that existed before were paid to
 * as they were: the upgrade confirms them, naming itself as the confirmer.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
alter table payout_accounts
  add column added_by_type text,
  add column added_by_id text,
  add column confirmed_at timestamptz,
  add column confirmed_by_type text,
  add column confirmed_by_id text;
update payout_accounts set confirmed_at = created_at, confirmed_by_type = 'migration';
alter table payout_accounts add constraint payout_accounts_default_confirmed check (not is_default or confirmed_at is not null);
`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
alter table payout_accounts drop constraint if exists payout_accounts_default_confirmed;
alter table payout_accounts drop column added_by_type, drop column added_by_id, drop column confirmed_at, drop column confirmed_by_type, drop column confirmed_by_id;
`.execute(db);
}

import { sql, type Kysely } from 'kysely';

/**
 * Issue 14, the portal's front door.
 *
 * - portal_applications: an application from the portal waits here until the applicant enters the
 *   code texted to the phone it names; only then is a distributor made. The answer to an
 *   application is the same whether the phone is known or not, so it tells nobody which numbers
 *   belong to distributors. What the applicant typed (personal data) is encrypted; the code is
 *   kept as a hash; attempts are counted before a code is compared.
 * - portal_credentials.self_registered / linked_at: an account the public form created was never
 *   vouched for by the merchant, so a login token (the merchant's word for its own user id) does
 *   not adopt it until the merchant links it. Accounts the form made before this migration (a
 *   credential written with the distributor, as the form did) are marked too.
 * - The login lockout moved to the rate limiter, per (login name, address): admin_users' and
 *   portal_credentials' failed_logins and locked_until, a lost update under concurrent guesses,
 *   are dropped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
create table portal_applications (
  id text primary key,
  tenant_id text not null references tenants(id),
  phone_bidx text not null,
  payload_enc text not null,
  password_hash text not null,
  code_hash text not null,
  attempts integer not null default 0,
  expires_at timestamptz not null,
  consumed_at timestamptz,
  created_at timestamptz not null default now()
);
create index portal_applications_expiry on portal_applications (expires_at);
-- While one application of a phone turns into a distributor, a second one of the same phone
-- cannot: its claim collides here (rows are pruned a day after they expire).
create unique index portal_applications_consumed_phone on portal_applications (tenant_id, phone_bidx) where consumed_at is not null;

alter table portal_credentials add column self_registered boolean not null default false;
alter table portal_credentials add column linked_at timestamptz;
update portal_credentials c set self_registered = true
  from distributors d
  where d.id = c.distributor_id and d.tenant_id = c.tenant_id and d.source = 'application'
    and (d.external_id like 'portal-%' or c.created_at <= d.created_at + interval '60 seconds');

alter table admin_users drop column failed_logins;
alter table admin_users drop column locked_until;
alter table portal_credentials drop column failed_logins;
alter table portal_credentials drop column locked_until;
`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
drop table portal_applications;
alter table portal_credentials drop column self_registered;
alter table portal_credentials drop column linked_at;
alter table admin_users add column failed_logins integer not null default 0;
alter table admin_users add column locked_until timestamptz;
alter table portal_credentials add column failed_logins integer not null default 0;
alter table portal_credentials add column locked_until timestamptz;
`.execute(db);
}

import { sql, type Kysely } from 'kysely';

/**
 * Issue 17 item 5, automatic application review.
 *
 * - phone_verifications: a one-time code texted to an applicant's phone for the merchant's own
 *   forms (POST /v1/phone-verifications); the code is kept as a hash, attempts are counted before
 *   a code is compared, and a verified phone vouches for one application (consumed_by). The
 *   Idempotency-Key of the send is unique per tenant: a retried send answers the first
 *   verification and texts nothing again.
 * - application_reviews: the decision the program's review rules took on an application, each
 *   check with its outcome and why, and the rules it was taken under; one per distributor.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
create table phone_verifications (
  tenant_id text not null references tenants(id),
  id text not null,
  phone_bidx text not null,
  code_hash text not null,
  attempts integer not null default 0,
  expires_at timestamptz not null,
  verified_at timestamptz,
  consumed_at timestamptz,
  consumed_by text,
  idempotency_key text,
  created_at timestamptz not null,
  primary key (tenant_id, id)
);
create unique index phone_verifications_idempotency on phone_verifications (tenant_id, idempotency_key) where idempotency_key is not null;
create index phone_verifications_expiry on phone_verifications (expires_at);

create table application_reviews (
  tenant_id text not null references tenants(id),
  distributor_id text not null references distributors(id),
  outcome text not null check (outcome in ('approved', 'referred', 'rejected')),
  checks jsonb not null,
  rules jsonb not null,
  decided_at timestamptz not null,
  primary key (tenant_id, distributor_id)
);
`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table application_reviews; drop table phone_verifications;`.execute(db);
}

import { sql, type Kysely } from 'kysely';

/**
 * Identity documents encrypted at rest (issue 14, item 7): each document's bytes are sealed with a
 * data key of its own (AES-256-GCM), kept here wrapped under the master key (`v1.<kid>.…`, the
 * key ring's format, so `fenxiao pii rotate-key` re-wraps it). Null: a document an earlier
 * version stored in plaintext; documents_plaintext finds those for the pass that encrypts them
 * (an empty index probe once done). documents_tenant sums a tenant's documents for its quota.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table documents add column if not exists data_key_enc text`.execute(db);
  await sql`create index if not exists documents_plaintext on documents (id) where data_key_enc is null`.execute(db);
  await sql`create index if not exists documents_tenant on documents (tenant_id) include (size_bytes)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists documents_tenant`.execute(db);
  await sql`drop index if exists documents_plaintext`.execute(db);
  await sql`alter table documents drop column if exists data_key_enc`.execute(db);
}

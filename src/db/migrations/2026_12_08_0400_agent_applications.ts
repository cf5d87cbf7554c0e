import { sql, type Kysely } from 'kysely';

/**
 * Agent applications (issue 10, item 2): a distributor asks for one territory of one rank, with a
 * note and documents it uploaded (the encrypted documents of distributor applications, by id);
 * the merchant approves (an agent is appointed in the same transaction) or rejects with a reason.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
create table agent_applications (
  id text primary key,
  tenant_id text not null references tenants(id),
  distributor_id text not null references distributors(id),
  rank text not null check (rank in ('province', 'city', 'district')),
  region_code text not null check (region_code ~ '^[0-9]{6}$'),
  note text not null default '',
  document_ids text[] not null default '{}',
  status text not null check (status in ('pending', 'approved', 'rejected')),
  reason text,
  agent_id text references agents(id),
  reviewed_by text,
  reviewed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- At most one open application per distributor: two submits racing, one is refused (23505).
create unique index agent_applications_open on agent_applications (tenant_id, distributor_id) where status = 'pending';
create index agent_applications_tenant on agent_applications (tenant_id, id);
`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists agent_applications`.execute(db);
}

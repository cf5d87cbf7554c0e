import { sql, type Kysely } from 'kysely';

/**
 * Proposed changes to a program's money controls (freeze days, review threshold, settlement,
 * withdrawal limits) by someone who may not make them: they wait here until a second person with
 * program:money confirms or rejects them (issue 14: an operator raised the automatic-approval
 * limits and took money out with no finance user involved).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
create table program_proposals (
  id text primary key,
  tenant_id text not null references tenants(id),
  status text not null check (status in ('pending', 'confirmed', 'rejected')),
  -- [{field, from, to}]: each money control it changes, from what was in force when proposed.
  changes jsonb not null,
  proposed_by_type text not null,
  proposed_by_id text,
  created_at timestamptz not null,
  decided_by_type text,
  decided_by_id text,
  decided_at timestamptz,
  reason text
);
-- The console lists a tenant's pending proposals, newest first.
create index program_proposals_tenant on program_proposals (tenant_id, status, id desc);
`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists program_proposals`.execute(db);
}

import { sql, type Kysely } from 'kysely';

/**
 * Background jobs (exports, settlement runs started from the console): one row each, written by
 * the process that runs the job (its progress at most every half second, and a heartbeat), read
 * by whichever process answers the status request. A queued or running row whose updated_at has
 * gone stale belongs to a process that died: it reads as failed. Rows are deleted an hour after
 * they finish, with their files.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
create table jobs (
  id text primary key,
  tenant_id text not null references tenants(id),
  kind text not null,
  status text not null check (status in ('queued', 'running', 'done', 'failed', 'cancelled')),
  done bigint not null default 0,
  total bigint,
  params jsonb not null default '{}',
  result jsonb,
  error jsonb,
  created_by text,
  created_at timestamptz not null,
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz not null
);
-- The active jobs of a tenant (an export's per-tenant limit), and the finished ones to sweep.
create index jobs_tenant_active on jobs (tenant_id, kind) where status in ('queued', 'running');
create index jobs_finished on jobs (kind, finished_at) where finished_at is not null;
`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table jobs`.execute(db);
}

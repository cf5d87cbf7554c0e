import { sql, type Kysely } from 'kysely';

/**
 * Incremental ledger verification. Postings are append-only and their ids (an identity) only
 * grow, so a verified tenant keeps a checkpoint: the last posting id it verified, each account's
 * balance and posting count at that id, and the last result (mode, breaks, when, how long). An
 * incremental pass checks the postings after the checkpoint and carries the balances from it; a
 * full pass (on demand, and weekly from the scheduler) checks everything and sets it afresh.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
create table ledger_checkpoints (
  tenant_id text primary key references tenants(id),
  -- The last posting id verified (every posting up to it was committed when it was taken); null before the first clean pass.
  posting_id bigint,
  checkpoint_at timestamptz,
  last_mode text check (last_mode in ('full', 'incremental')),
  last_ok boolean,
  last_report jsonb,
  last_started_at timestamptz,
  last_finished_at timestamptz,
  last_duration_ms integer,
  -- When the last full pass finished, and when a process claimed the weekly one (so one process runs it).
  last_full_at timestamptz,
  full_claimed_at timestamptz,
  -- The last background verification started from the console (the page shows it while it runs).
  job_id text
);
create table ledger_checkpoint_balances (
  account_id text primary key references accounts(id),
  tenant_id text not null references tenants(id),
  balance bigint not null,
  version bigint not null
);
create index ledger_checkpoint_balances_tenant on ledger_checkpoint_balances (tenant_id);
-- The postings of a tenant after a checkpoint.
create index postings_tenant_id on postings (tenant_id, id);
`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index postings_tenant_id; drop table ledger_checkpoint_balances; drop table ledger_checkpoints`.execute(db);
}

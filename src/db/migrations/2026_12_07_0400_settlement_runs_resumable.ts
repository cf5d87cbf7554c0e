import { sql, type Kysely } from 'kysely';

/**
 * Settlement runs become durable objects worked in batches (issue 13): each batch of distributors
 * settles in its own transaction and moves the run's cursor in that transaction, so a run a
 * process abandoned (its lease ran out) is picked up by another process from where it stopped.
 * Runs written before this were one transaction each and are all finished: they read as done.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
alter table settlement_runs
  add column status text not null default 'done' check (status in ('running', 'done')),
  add column phase text not null default 'settle' check (phase in ('make_available', 'settle')),
  -- What the run settles with, fixed when it starts: a settings change mid-run does not split it.
  add column review_threshold_fen bigint,
  add column threshold_fen bigint,
  -- The last distributor settled (batches go in distributor id order), and how far of how many.
  add column settled_through text,
  add column done integer not null default 0,
  add column total integer,
  -- Who works the run now, until when; a run whose lease ran out may be taken over.
  add column owner text,
  add column lease_until timestamptz,
  -- The background job reporting the run, if one was started for it, and who asked for it (the
  -- run's audit entry names them whichever process finishes it).
  add column job_id text,
  add column requested_by jsonb,
  add column request_id text;
-- One run under way per tenant.
create unique index settlement_runs_running on settlement_runs (tenant_id) where status = 'running';
-- No distributor has two statements of one run, whatever a retried or resumed batch does.
create unique index statements_run_distributor on statements (tenant_id, run_id, distributor_id);
`.execute(db);
}

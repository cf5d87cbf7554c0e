import { sql, type Kysely } from 'kysely';

/** Settlement runs and statements, payout accounts, withdrawals and their payouts. */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
create table settlement_runs (
  id text primary key,
  tenant_id text not null references tenants(id),
  as_of timestamptz not null,
  trigger text not null,
  statements integer not null default 0,
  lines integer not null default 0,
  amount_fen bigint not null default 0,
  made_available integer not null default 0,
  started_at timestamptz not null,
  finished_at timestamptz
);
create index settlement_runs_tenant on settlement_runs (tenant_id, as_of desc);

create table statements (
  id text primary key,
  tenant_id text not null references tenants(id),
  distributor_id text not null references distributors(id),
  run_id text not null references settlement_runs(id),
  period_end timestamptz not null,
  amount_fen bigint not null check (amount_fen >= 0),
  line_count integer not null,
  debt_offset_fen bigint not null default 0,
  status text not null check (status in ('pending_review', 'approved', 'rejected')),
  reviewed_by text,
  review_reason text,
  created_at timestamptz not null default now(),
  approved_at timestamptz,
  rejected_at timestamptz
);
create index statements_tenant on statements (tenant_id, status, id);
create index statements_distributor on statements (distributor_id, id);
create index statements_run on statements (run_id);
alter table commissions add constraint commissions_statement_fk foreign key (statement_id) references statements(id);
create index commissions_statement on commissions (statement_id) where statement_id is not null;
-- Settlement finds each beneficiary's unsettled available lines.
create index commissions_settle on commissions (tenant_id, beneficiary_id, id) where status = 'available' and statement_id is null;

-- Where a distributor is paid: encrypted details, a masked text to show, a blind index to spot
-- one account behind several distributors.
create table payout_accounts (
  id text primary key,
  tenant_id text not null references tenants(id),
  distributor_id text not null references distributors(id),
  channel text not null check (channel in ('alipay', 'wechat', 'bank')),
  details_enc text not null,
  display text not null,
  identity_bidx text not null,
  is_default boolean not null default true,
  created_at timestamptz not null default now(),
  disabled_at timestamptz
);
create index payout_accounts_distributor on payout_accounts (distributor_id, channel) where disabled_at is null;
create index payout_accounts_identity on payout_accounts (tenant_id, identity_bidx);

create table withdrawals (
  id text primary key,
  tenant_id text not null references tenants(id),
  distributor_id text not null references distributors(id),
  amount_fen bigint not null check (amount_fen > 0),
  fee_fen bigint not null check (fee_fen >= 0 and fee_fen <= amount_fen),
  channel text not null check (channel in ('manual', 'alipay', 'wechat', 'bank')),
  payout_account_id text references payout_accounts(id),
  status text not null check (status in ('pending_review', 'approved', 'paid', 'failed', 'rejected')),
  status_reason text,
  reference text,
  requested_by_type text not null,
  requested_by_id text,
  reviewed_by text,
  local_day date not null,
  created_at timestamptz not null default now(),
  approved_at timestamptz,
  paid_at timestamptz,
  failed_at timestamptz,
  rejected_at timestamptz,
  updated_at timestamptz not null default now()
);
create index withdrawals_tenant on withdrawals (tenant_id, status, id);
create index withdrawals_distributor on withdrawals (distributor_id, local_day);

-- One payout per withdrawal, ever: a withdrawal is never paid twice. out_no is the provider's
-- idempotency key (out_bill_no / out_biz_no) and is never reused for anything else.
create table payouts (
  id text primary key,
  tenant_id text not null references tenants(id),
  withdrawal_id text not null unique references withdrawals(id),
  channel text not null,
  out_no text not null unique,
  amount_fen bigint not null check (amount_fen >= 0),
  state text not null check (state in ('created', 'submitted', 'processing', 'wait_user_confirm', 'unknown', 'succeeded', 'failed', 'cancelled')),
  provider_ref text,
  package_info text,
  fail_code text,
  fail_reason text,
  attempts integer not null default 0,
  lease_until timestamptz,
  next_attempt_at timestamptz not null,
  last_queried_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz
);
create index payouts_due on payouts (next_attempt_at) where state in ('created', 'processing', 'wait_user_confirm', 'unknown');
create index payouts_tenant on payouts (tenant_id, state);

create table payout_events (
  id bigint generated always as identity primary key,
  tenant_id text not null references tenants(id),
  payout_id text not null references payouts(id),
  source text not null,
  outcome text not null,
  detail jsonb not null default '{}',
  at timestamptz not null default now()
);
create index payout_events_payout on payout_events (payout_id, id);

-- Exactly one terminal journal per payout, one request journal per withdrawal.
create unique index journal_entries_payout_final on journal_entries (ref_id) where ref_type = 'payout' and kind in ('payout_success', 'payout_fail');
create unique index journal_entries_withdrawal_request on journal_entries (ref_id) where ref_type = 'withdrawal' and kind = 'withdraw_request';
`.execute(db);
}

import { sql, type Kysely } from 'kysely';

/**
 * Deposit refunds through the payout path (issue 17 item 3). A refund of an admission deposit is a
 * row of its own (`deposit_refunds`: asked for, approved by a second person, paid or failed) with
 * one payout, like a withdrawal: `payouts.kind` says which a payout pays, and exactly one of
 * `withdrawal_id` and `deposit_refund_id` names it. While a refund is open its amount sits in the
 * distributor's `deposit_refunding` ledger account and in `distributors.deposit_refunding_fen`;
 * at most one refund of a distributor is open at a time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
create table deposit_refunds (
  id text not null,
  tenant_id text not null references tenants(id),
  distributor_id text not null,
  amount_fen bigint not null check (amount_fen > 0),
  channel text not null,
  payout_account_id text,
  status text not null check (status in ('pending_review', 'approved', 'paid', 'failed', 'rejected')),
  reason text not null,
  status_reason text,
  reference text,
  requested_by_type text not null,
  requested_by_id text,
  reviewed_by text,
  created_at timestamptz not null default now(),
  approved_at timestamptz,
  paid_at timestamptz,
  failed_at timestamptz,
  rejected_at timestamptz,
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id)
);
create index deposit_refunds_distributor on deposit_refunds (tenant_id, distributor_id, id);
create unique index deposit_refunds_open on deposit_refunds (tenant_id, distributor_id) where status in ('pending_review', 'approved');

alter table distributors add column deposit_refunding_fen bigint not null default 0 check (deposit_refunding_fen >= 0);

alter table payouts add column kind text not null default 'withdrawal' check (kind in ('withdrawal', 'deposit_refund'));
alter table payouts alter column withdrawal_id drop not null;
alter table payouts add column deposit_refund_id text;
alter table payouts add constraint payouts_subject_check check (
  (kind = 'withdrawal' and withdrawal_id is not null and deposit_refund_id is null)
  or (kind = 'deposit_refund' and deposit_refund_id is not null and withdrawal_id is null));
alter table payouts add constraint payouts_deposit_refund_id_key unique (tenant_id, deposit_refund_id);
alter table payouts add constraint payouts_deposit_refund_id_fkey foreign key (tenant_id, deposit_refund_id) references deposit_refunds (tenant_id, id);
`.execute(db);
}

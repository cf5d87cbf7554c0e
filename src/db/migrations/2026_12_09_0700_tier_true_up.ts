import { sql, type Kysely } from 'kysely';

/**
 * Month-end tier true-up (issue 17 item 2). An adjustment is a commission line of its own
 * (`kind = 'adjustment'`) beside the tier line it raises (`adjusts`): same order line, level and
 * beneficiary, the final bracket's rate, the line's base and units, and as amount only the
 * difference. It has its own status and postings like any line (accrued into pending), so the
 * ledger's line and expense checks hold unchanged; verify checks that a line plus its adjustment
 * stays within the final bracket's share. One adjustment per line; one true-up per beneficiary
 * and month (`tier_true_ups`), so a job run twice, or on two processes, writes each once.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
alter table commissions add column adjusts text;
alter table commissions drop constraint commissions_kind_check;
alter table commissions add constraint commissions_kind_check check (kind in ('commission', 'clawback', 'adjustment'));
alter table commissions drop constraint commissions_check;
alter table commissions add constraint commissions_check check (
  (kind = 'commission' and amount_fen >= 0 and amount_fen <= original_amount_fen and adjusts is null)
  or (kind = 'clawback' and amount_fen < 0 and adjusts is null)
  or (kind = 'adjustment' and amount_fen >= 0 and amount_fen <= original_amount_fen and adjusts is not null and rate_source = 'tier'));
create unique index commissions_adjustment_unique on commissions (tenant_id, adjusts) where kind = 'adjustment';

create table tier_true_ups (
  tenant_id text not null references tenants(id),
  distributor_id text not null,
  month date not null,
  final_sales_fen bigint not null,
  lines integer not null,
  adjusted_fen bigint not null,
  created_at timestamptz not null default now(),
  primary key (tenant_id, distributor_id, month)
);
`.execute(db);
}

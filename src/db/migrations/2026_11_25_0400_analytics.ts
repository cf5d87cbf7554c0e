import { sql, type Kysely } from 'kysely';

/**
 * Analytics rollups, kept in the same transaction as the events that move them (orders paid and
 * refunded, every ledger journal, distributors created, bindings, visits), so the dashboard reads
 * a few hundred rows instead of scanning orders.
 *
 * Tenant-wide counters would be one hot row per tenant and day that every order of the tenant
 * queues on. Instead each logical row is spread over slots: a writer takes the lowest slot no
 * other transaction holds (FOR UPDATE SKIP LOCKED) and adds into it, opening another slot only
 * when every existing one is busy; readers sum the slots. Under low load everything lands in one
 * slot; under N concurrent writers a day grows to about N slots, never more than 64.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
-- Per tenant and local day (the program's time zone). Order figures are by the day the order was
-- paid (a later refund lowers that day), the ledger_* columns are every journal's postings by the
-- day they were written: summed over all days they are the balances of each account purpose.
create table analytics_daily (
  tenant_id text not null references tenants(id),
  day date not null,
  slot smallint not null check (slot between 0 and 63),
  orders integer not null default 0,
  gross_sales_fen bigint not null default 0,
  refunded_fen bigint not null default 0,
  refunds integer not null default 0,
  -- net of reversals and clawbacks, on the orders paid that day
  commission_fen bigint not null default 0,
  commission_reversed_fen bigint not null default 0,
  new_distributors integer not null default 0,
  new_bindings integer not null default 0,
  visits integer not null default 0,
  -- how many distributors have this day as the day of their latest order (a histogram kept as
  -- deltas: +1 on the new day, -1 on the old), so "active in the last 30 days" sums 30 days
  last_order_distributors integer not null default 0,
  ledger_pending_fen bigint not null default 0,
  ledger_available_fen bigint not null default 0,
  ledger_withdrawable_fen bigint not null default 0,
  ledger_withdrawing_fen bigint not null default 0,
  ledger_withdrawn_fen bigint not null default 0,
  ledger_clearing_fen bigint not null default 0,
  ledger_fee_income_fen bigint not null default 0,
  ledger_expense_fen bigint not null default 0,
  made_available_fen bigint not null default 0,
  settled_fen bigint not null default 0,
  primary key (tenant_id, day, slot)
) with (fillfactor = 50);

-- Breakdowns by the seller's grade and region (GB/T 2260, kept at city level: the first four
-- digits and 00; '' when unknown) as they were when each event happened, so every figure lands in
-- exactly one segment and the segments sum to the totals. Monthly rows answer long ranges, daily
-- rows the part-months at their ends.
create table analytics_segment_daily (
  tenant_id text not null references tenants(id),
  day date not null,
  grade_code text not null,
  region_code text not null,
  slot smallint not null check (slot between 0 and 63),
  orders integer not null default 0,
  gross_sales_fen bigint not null default 0,
  refunded_fen bigint not null default 0,
  commission_fen bigint not null default 0,
  new_distributors integer not null default 0,
  primary key (tenant_id, day, grade_code, region_code, slot)
) with (fillfactor = 50);

create table analytics_segment_monthly (
  tenant_id text not null references tenants(id),
  month date not null,
  grade_code text not null,
  region_code text not null,
  slot smallint not null check (slot between 0 and 63),
  orders integer not null default 0,
  gross_sales_fen bigint not null default 0,
  refunded_fen bigint not null default 0,
  commission_fen bigint not null default 0,
  new_distributors integer not null default 0,
  primary key (tenant_id, month, grade_code, region_code, slot)
) with (fillfactor = 50);

-- Per distributor: its own sales (as seller, net of refunds) and the commission it earned (net),
-- by the day the order was paid. No slots: a distributor's rows are written by orders that
-- already lock its ledger accounts (or its monthly sales row), so they add no queue of their own.
-- The (tenant, period, metric desc) indexes give each period's ranking in order, which the top-N
-- query reads a little of at a time (threshold algorithm) instead of summing every distributor.
create table analytics_distributor_daily (
  distributor_id text not null references distributors(id),
  day date not null,
  tenant_id text not null references tenants(id),
  orders integer not null default 0,
  sales_fen bigint not null default 0,
  commission_fen bigint not null default 0,
  -- covering: the top-N query sums a distributor's rows over a range from the index alone
  primary key (distributor_id, day) include (orders, sales_fen, commission_fen)
);
create index analytics_distributor_daily_sales on analytics_distributor_daily (tenant_id, day, sales_fen desc, distributor_id);
create index analytics_distributor_daily_commission on analytics_distributor_daily (tenant_id, day, commission_fen desc, distributor_id);

create table analytics_distributor_monthly (
  distributor_id text not null references distributors(id),
  month date not null,
  tenant_id text not null references tenants(id),
  orders integer not null default 0,
  sales_fen bigint not null default 0,
  commission_fen bigint not null default 0,
  primary key (distributor_id, month) include (orders, sales_fen, commission_fen)
);
create index analytics_distributor_monthly_sales on analytics_distributor_monthly (tenant_id, month, sales_fen desc, distributor_id);
create index analytics_distributor_monthly_commission on analytics_distributor_monthly (tenant_id, month, commission_fen desc, distributor_id);

-- Each seller's latest order day; prev_order_day is what last_order_day was before the latest
-- move, which the order that moved it reads back (RETURNING) to shift the histogram above.
create table analytics_distributor_activity (
  distributor_id text primary key references distributors(id),
  tenant_id text not null references tenants(id),
  last_order_day date not null,
  prev_order_day date
) with (fillfactor = 70);
`.execute(db);
}

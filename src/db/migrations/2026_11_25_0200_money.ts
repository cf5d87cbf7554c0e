import { sql, type Kysely } from 'kysely';

/**
 * Orders, commission lines, rule versions, the double-entry ledger and the running totals the
 * calculator needs (monthly sales for tiers, daily commission for caps).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
-- Every change to the rules (program levels and rates, grades, SKU overrides) is a new version.
-- An order is computed with the version in force when it was paid, so a commission line can
-- always say which rules made it.
create table rule_versions (
  tenant_id text not null references tenants(id),
  version integer not null,
  effective_from timestamptz not null,
  snapshot jsonb not null,
  reason text not null,
  created_at timestamptz not null default now(),
  primary key (tenant_id, version)
);
create index rule_versions_effective on rule_versions (tenant_id, effective_from desc, version desc);

create table sku_rules (
  tenant_id text not null references tenants(id),
  sku text not null,
  rates jsonb not null,
  updated_at timestamptz not null default now(),
  primary key (tenant_id, sku)
);

create table orders (
  id text primary key,
  tenant_id text not null references tenants(id),
  external_id text not null,
  request_hash text not null,
  buyer_external_id text not null,
  invite_code text,
  status text not null check (status in ('paid', 'shipped', 'received', 'completed', 'cancelled', 'refunded')),
  seller_id text references distributors(id),
  -- The seller and its uplines as they were when the order was paid: chain[1] is the seller,
  -- chain[k+1] its k-th upline. Later relation moves never change a paid order.
  chain text[] not null default '{}',
  rule_version integer not null,
  attribution text not null,
  region_code text,
  paid_fen bigint not null check (paid_fen >= 0),
  refunded_fen bigint not null default 0 check (refunded_fen >= 0 and refunded_fen <= paid_fen),
  shipping_fen bigint not null default 0 check (shipping_fen >= 0),
  tax_fen bigint not null default 0 check (tax_fen >= 0),
  paid_at timestamptz not null,
  shipped_at timestamptz,
  received_at timestamptz,
  completed_at timestamptz,
  cancelled_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index orders_external on orders (tenant_id, external_id);
create index orders_seller on orders (seller_id, paid_at) where seller_id is not null;
create index orders_buyer on orders (tenant_id, buyer_external_id, paid_at);
create index orders_tenant_paid on orders (tenant_id, paid_at);
-- The auto-receipt job and the settlement run look for orders by state and date.
create index orders_shipped_open on orders (tenant_id, shipped_at) where status = 'shipped';
create index orders_received_open on orders (tenant_id, received_at) where status = 'received';

create table order_items (
  id text primary key,
  tenant_id text not null references tenants(id),
  order_id text not null references orders(id),
  position integer not null,
  sku text not null,
  quantity integer not null check (quantity >= 1),
  unit_price_fen bigint not null check (unit_price_fen >= 0),
  paid_fen bigint not null check (paid_fen >= 0),
  refunded_fen bigint not null default 0 check (refunded_fen >= 0 and refunded_fen <= paid_fen),
  refunded_quantity integer not null default 0 check (refunded_quantity >= 0 and refunded_quantity <= quantity),
  unique (order_id, position)
);

create table order_events (
  id text primary key,
  tenant_id text not null references tenants(id),
  order_id text not null references orders(id),
  type text not null,
  at timestamptz not null,
  refund_fen bigint,
  details jsonb not null default '{}',
  actor_type text not null,
  actor_id text,
  request_id text,
  created_at timestamptz not null default now()
);
create index order_events_order on order_events (order_id, created_at);

create table commissions (
  id text primary key,
  tenant_id text not null references tenants(id),
  order_id text not null references orders(id),
  order_item_id text references order_items(id),
  beneficiary_id text not null references distributors(id),
  level integer not null check (level between 0 and 3),
  kind text not null default 'commission' check (kind in ('commission', 'clawback')),
  clawback_of text references commissions(id),
  rule_version integer not null,
  rate_source text not null check (rate_source in ('sku', 'grade', 'default', 'tier', 'clawback')),
  rate_kind text not null check (rate_kind in ('percent', 'fixed')),
  rate_bp integer not null,
  fixed_fen integer not null default 0,
  beneficiary_grade text not null,
  units integer not null default 0,
  base_fen bigint not null,
  original_base_fen bigint not null,
  amount_fen bigint not null,
  original_amount_fen bigint not null,
  capped_fen bigint not null default 0,
  status text not null check (status in ('pending', 'available', 'settled', 'reversed')),
  held boolean not null default false,
  statement_id text,
  available_at timestamptz,
  settled_at timestamptz,
  reversed_at timestamptz,
  created_at timestamptz not null default now(),
  check ((kind = 'commission' and amount_fen >= 0 and amount_fen <= original_amount_fen) or (kind = 'clawback' and amount_fen < 0))
);
create index commissions_order on commissions (order_id);
create index commissions_beneficiary on commissions (beneficiary_id, created_at);
create index commissions_available on commissions (tenant_id, beneficiary_id) where status = 'available';
-- One accrual per order line, beneficiary level; one clawback per refund of a line is keyed by
-- the event (clawback rows reference the event in their id seed, see ledger notes).
create unique index commissions_accrual_unique on commissions (order_item_id, level) where kind = 'commission';

-- Running totals the rules need: a beneficiary's sales this month (tiers, grade upgrades,
-- analytics) and commission per day (caps). Kept as events happen, never by scanning orders.
create table sales_monthly (
  tenant_id text not null references tenants(id),
  distributor_id text not null references distributors(id),
  month date not null,
  sales_fen bigint not null default 0,
  order_count integer not null default 0,
  refunded_fen bigint not null default 0,
  settled_sales_fen bigint not null default 0,
  primary key (distributor_id, month)
);
create index sales_monthly_tenant on sales_monthly (tenant_id, month);

create table commission_daily (
  tenant_id text not null references tenants(id),
  distributor_id text not null references distributors(id),
  day date not null,
  amount_fen bigint not null default 0,
  primary key (distributor_id, day)
);

create table grade_changes (
  id text primary key,
  tenant_id text not null references tenants(id),
  distributor_id text not null references distributors(id),
  from_grade text not null,
  to_grade text not null,
  reason text not null,
  actor_type text not null,
  actor_id text,
  at timestamptz not null default now()
);
create index grade_changes_distributor on grade_changes (distributor_id, at);

-- ------------------------------------------------------------------------------ the ledger
-- Amounts are signed: a credit is positive, a debit negative, so every journal sums to zero.
-- Distributor accounts (pending, available, withdrawable, withdrawing, withdrawn) keep a cached
-- balance updated in the same transaction as their postings; the merchant's accounts
-- (commission_expense, payout_clearing, fee_income) are touched by every order, so they keep
-- none (no hot row to queue on) and their balance is the sum of their postings.
create table accounts (
  id text primary key,
  tenant_id text not null references tenants(id),
  owner_type text not null check (owner_type in ('distributor', 'tenant')),
  owner_id text not null,
  purpose text not null,
  cached boolean not null,
  -- may_go_negative: only a distributor's withdrawable (a clawback after settlement).
  bounded boolean not null,
  balance bigint not null default 0,
  version bigint not null default 0,
  created_at timestamptz not null default now(),
  check (not bounded or balance >= 0),
  check (cached or (balance = 0 and version = 0))
);
create unique index accounts_owner on accounts (tenant_id, owner_id, purpose);

create table journal_entries (
  id text primary key,
  tenant_id text not null references tenants(id),
  kind text not null,
  ref_type text not null,
  ref_id text not null,
  memo text,
  created_at timestamptz not null default now()
);
create index journal_entries_ref on journal_entries (tenant_id, ref_type, ref_id);
create index journal_entries_tenant on journal_entries (tenant_id, id);

create table postings (
  id bigint generated always as identity primary key,
  journal_id text not null references journal_entries(id),
  tenant_id text not null,
  account_id text not null references accounts(id),
  amount bigint not null check (amount <> 0),
  -- The distributor this fen belongs to (also on merchant-side legs, e.g. a payout in flight).
  party_id text,
  commission_id text references commissions(id),
  -- Cached accounts only: the balance right after this posting (a self-checking audit trail).
  balance_after bigint,
  created_at timestamptz not null default now()
);
create index postings_journal on postings (journal_id);
create index postings_account on postings (account_id, id);
create index postings_commission on postings (commission_id) where commission_id is not null;
create index postings_party on postings (party_id, account_id) where party_id is not null;

create trigger postings_append_only before update or delete on postings
  for each row execute function fenxiao_refuse_change();
create trigger journal_entries_append_only before update or delete on journal_entries
  for each row execute function fenxiao_refuse_change();

-- Every journal balances. Journals are written one statement each; this checks each statement's
-- journals against all of their postings, so a leg added later would be caught too.
create function fenxiao_check_balanced() returns trigger language plpgsql as $$
declare
  bad text;
begin
  select n.journal_id into bad
    from (select distinct journal_id from new_postings) n
   where (select sum(p.amount) from postings p where p.journal_id = n.journal_id) <> 0
   limit 1;
  if bad is not null then
    raise exception 'journal % does not balance', bad using errcode = '23514';
  end if;
  return null;
end $$;
create trigger postings_balanced after insert on postings
  referencing new table as new_postings
  for each statement execute function fenxiao_check_balanced();
`.execute(db);
}

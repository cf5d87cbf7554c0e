import { sql, type Kysely } from 'kysely';

/**
 * Regional agents (区域代理): the agent program, agents holding territories (GB/T 2260 codes),
 * price lists per rank, purchase orders, stock kept as purchase lots and an append-only movement
 * ledger, buybacks; territory and price-difference commission lines; orders served from an
 * agent's stock.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
create table agent_programs (
  tenant_id text primary key references tenants(id),
  enabled boolean not null default false,
  province_bp integer not null default 0 check (province_bp between 0 and 10000),
  city_bp integer not null default 0 check (city_bp between 0 and 10000),
  district_bp integer not null default 0 check (district_bp between 0 and 10000),
  -- The direct-selling rules' 30-day return of unsold goods: never shorter.
  buyback_days integer not null default 30 check (buyback_days between 30 and 3650),
  updated_at timestamptz not null default now()
);

create table agents (
  id text primary key,
  tenant_id text not null references tenants(id),
  distributor_id text not null references distributors(id),
  rank text not null check (rank in ('province', 'city', 'district')),
  region_code text not null check (region_code ~ '^[0-9]{6}$'),
  status text not null check (status in ('active', 'suspended', 'ended')),
  status_reason text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- One active agent per territory; suspended and ended agents stay as history.
create unique index agents_active_territory on agents (tenant_id, region_code) where status = 'active';
create index agents_distributor on agents (tenant_id, distributor_id);
create index agents_tenant on agents (tenant_id, id);

-- Appointments, suspensions, reinstatements and transfers, each with its reason: never rewritten.
create table agent_events (
  id text primary key,
  tenant_id text not null references tenants(id),
  agent_id text not null references agents(id),
  type text not null check (type in ('appointed', 'suspended', 'reinstated', 'ended', 'transferred')),
  reason text,
  details jsonb not null default '{}',
  actor_type text not null,
  actor_id text,
  request_id text,
  at timestamptz not null default now()
);
create index agent_events_agent on agent_events (agent_id, at);

create table agent_prices (
  tenant_id text not null references tenants(id),
  sku text not null,
  retail_fen bigint not null check (retail_fen >= 0),
  province_fen bigint not null check (province_fen >= 0),
  city_fen bigint not null,
  district_fen bigint not null,
  updated_at timestamptz not null default now(),
  primary key (tenant_id, sku),
  check (province_fen <= city_fen and city_fen <= district_fen and district_fen <= retail_fen)
);

create table agent_purchase_orders (
  id text primary key,
  tenant_id text not null references tenants(id),
  agent_id text not null references agents(id),
  status text not null check (status in ('pending_payment', 'paid')),
  amount_fen bigint not null check (amount_fen >= 0),
  items jsonb not null,
  reference text,
  created_at timestamptz not null default now(),
  paid_at timestamptz
);
create index agent_purchase_orders_agent on agent_purchase_orders (tenant_id, agent_id, created_at);

-- A paid purchase order's units of one SKU: what they cost and how many are still held. remaining
-- is the movements' running total (ledger verify proves it); the check keeps stock from going below 0.
create table agent_stock_lots (
  id text primary key,
  tenant_id text not null references tenants(id),
  agent_id text not null references agents(id),
  sku text not null,
  purchase_order_id text references agent_purchase_orders(id),
  unit_cost_fen bigint not null check (unit_cost_fen >= 0),
  quantity integer not null check (quantity > 0),
  remaining integer not null check (remaining >= 0 and remaining <= quantity),
  acquired_at timestamptz not null
);
create index agent_stock_lots_fifo on agent_stock_lots (agent_id, sku, acquired_at, id);

create table agent_stock_returns (
  id text primary key,
  tenant_id text not null references tenants(id),
  agent_id text not null references agents(id),
  amount_fen bigint not null check (amount_fen >= 0),
  items jsonb not null,
  created_at timestamptz not null default now()
);

-- Every change of an agent's stock, append-only: purchase, sale, refund_return, buyback, correction.
create table agent_stock_movements (
  id bigint generated always as identity primary key,
  tenant_id text not null references tenants(id),
  agent_id text not null references agents(id),
  sku text not null,
  lot_id text not null references agent_stock_lots(id),
  kind text not null check (kind in ('purchase', 'sale', 'refund_return', 'buyback', 'correction')),
  quantity integer not null check (quantity <> 0),
  unit_cost_fen bigint not null,
  ref_type text not null,
  ref_id text not null,
  order_item_id text references order_items(id),
  reason text,
  created_at timestamptz not null default now()
);
create index agent_stock_movements_agent on agent_stock_movements (tenant_id, agent_id, id);
create index agent_stock_movements_lot on agent_stock_movements (lot_id);
create index agent_stock_movements_item on agent_stock_movements (order_item_id) where order_item_id is not null;
create trigger agent_stock_movements_append_only before update or delete on agent_stock_movements
  for each row execute function fenxiao_refuse_change();

-- Orders served from an agent's stock.
alter table orders add column fulfilled_by text references agents(id);

-- Territory and price-difference lines are commission lines (level 0) that live like every other;
-- a territory line says its rank. Several level-0 lines of one order line may now exist: the
-- seller's, one per territory rank, and the price difference.
alter table commissions add column territory_rank text check (territory_rank in ('province', 'city', 'district'));
alter table commissions drop constraint commissions_rate_source_check;
alter table commissions add constraint commissions_rate_source_check
  check (rate_source in ('sku', 'grade', 'default', 'tier', 'clawback', 'territory', 'price_difference'));
drop index commissions_accrual_unique;
create unique index commissions_accrual_unique on commissions
  (order_item_id, level, (case rate_source when 'territory' then 'territory:' || territory_rank when 'price_difference' then 'price_difference' else '' end))
  where kind = 'commission';
`.execute(db);
}

import { sql, type Kysely } from 'kysely';

/**
 * Rule releases (issue 11): changes with an effective time (scheduled or back-dated), recorded
 * one by one so that the rules in force at a moment are the starting rules with every change
 * effective by then applied in order; each rule version keeps the whole state it stands for; and
 * pilots (灰度): a set of changes run for a cohort of sellers, whose lines carry the pilot's id.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
alter table rule_versions add column state jsonb;
-- true: written from recorded changes (its state is whole); false: written before they were recorded.
alter table rule_versions add column recorded boolean not null default false;
-- The earliest version taking effect after the one the programs and grades tables hold.
alter table programs add column next_change_at timestamptz;

create table rule_changes (
  id text primary key,
  tenant_id text not null references tenants(id),
  seq bigint not null,
  kind text not null check (kind in ('program', 'grade', 'sku_rule', 'pilot')),
  target text,
  -- {program?: {dotted path: value}, grades?: {code: grade}, sku?: {sku: rates | null}}: what it sets.
  patch jsonb not null,
  effective_from timestamptz not null,
  reason text,
  status text not null check (status in ('active', 'cancelled')),
  created_at timestamptz not null,
  created_by_type text not null,
  created_by_id text,
  cancelled_at timestamptz,
  unique (tenant_id, seq)
);
create index rule_changes_effective on rule_changes (tenant_id, effective_from, seq);

create table pilots (
  id text primary key,
  tenant_id text not null references tenants(id),
  name text not null,
  status text not null check (status in ('running', 'promoted', 'stopped')),
  cohort jsonb not null,
  changes jsonb not null,
  started_at timestamptz not null,
  ends_at timestamptz,
  ended_at timestamptz,
  promoted_change_id text,
  created_by_type text not null,
  created_by_id text,
  created_at timestamptz not null
);
create index pilots_tenant on pilots (tenant_id, created_at desc);

alter table orders add column pilot_id text;
alter table commissions add column pilot_id text;
create index orders_pilot on orders (tenant_id, pilot_id, paid_at) where pilot_id is not null;

-- The newest version of each tenant gets the whole state it stands for, from the tables.
update rule_versions rv set state = jsonb_build_object(
    'program', p.settings,
    'grades', coalesce((select jsonb_object_agg(g.code, jsonb_build_object('name', g.name, 'rank', g.rank, 'sales_bp', g.sales_bp,
                         'override_bp', to_jsonb(g.override_bp), 'settings', g.settings)) from grades g where g.tenant_id = rv.tenant_id), '{}'::jsonb),
    'sku', coalesce((select jsonb_object_agg(s.sku, s.rates) from sku_rules s where s.tenant_id = rv.tenant_id), '{}'::jsonb))
  from programs p
 where p.tenant_id = rv.tenant_id
   and rv.version = (select max(version) from rule_versions x where x.tenant_id = rv.tenant_id);
`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
drop index if exists orders_pilot;
alter table commissions drop column if exists pilot_id;
alter table orders drop column if exists pilot_id;
drop table if exists pilots;
drop table if exists rule_changes;
alter table programs drop column if exists next_change_at;
alter table rule_versions drop column if exists recorded;
alter table rule_versions drop column if exists state;
`.execute(db);
}

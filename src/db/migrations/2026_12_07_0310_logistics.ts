import { sql, type Kysely } from 'kysely';

/**
 * Logistics: an order's carrier and tracking number (a carrier's tracking push finds the order
 * by them), and each tenant's secret for signed tracking pushes (generic HMAC, Kuaidi100's salt).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
alter table orders add column tracking_carrier text, add column tracking_number text;
create index orders_tracking on orders (tenant_id, tracking_number) where tracking_number is not null;
create table logistics_secrets (
  tenant_id text primary key references tenants(id),
  secret_enc text not null,
  hint text not null,
  previous_secret_enc text,
  previous_valid_until timestamptz,
  created_at timestamptz not null
);
`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table logistics_secrets; drop index orders_tracking; alter table orders drop column tracking_carrier, drop column tracking_number`.execute(db);
}

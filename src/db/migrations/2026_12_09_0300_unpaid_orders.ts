import { sql, type Kysely } from 'kysely';

/**
 * Unpaid orders (待付款): an order may arrive `pending_payment` and later be paid (its commission
 * computed then) or `closed` unpaid. An unpaid order has no paid_at: every reader that counts
 * sales or orders by paid_at (rollups, the simulator, pilots' reports, the risk rules) leaves it
 * out without knowing of it. `core_hash` is the hash of the order's body without `status` and
 * `paid_at`: the unpaid and the paid arrival of one order share it (the paid arrival turns the
 * order paid, a replay of either is answered with the order as it stands).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
alter table orders drop constraint orders_status_check;
alter table orders add constraint orders_status_check
  check (status in ('pending_payment', 'paid', 'shipped', 'received', 'completed', 'cancelled', 'refunded', 'closed'));
alter table orders alter column paid_at drop not null;
alter table orders add constraint orders_paid_at_when_paid check ((paid_at is null) = (status in ('pending_payment', 'closed')));
alter table orders add column core_hash text;
alter table orders add column closed_at timestamptz;
-- The funnel and the dashboard count unpaid orders by when they were placed.
create index orders_unpaid on orders (tenant_id, created_at) where paid_at is null;
create index orders_unpaid_seller on orders (seller_id, created_at) where paid_at is null and seller_id is not null;
`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
drop index if exists orders_unpaid_seller;
drop index if exists orders_unpaid;
alter table orders drop constraint orders_paid_at_when_paid;
delete from order_events where order_id in (select id from orders where paid_at is null);
delete from order_items where order_id in (select id from orders where paid_at is null);
delete from orders where paid_at is null;
alter table orders alter column paid_at set not null;
alter table orders drop column core_hash, drop column closed_at;
alter table orders drop constraint orders_status_check;
alter table orders add constraint orders_status_check check (status in ('paid', 'shipped', 'received', 'completed', 'cancelled', 'refunded'));
`.execute(db);
}

import { sql, type Insertable, type Selectable } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { CommissionsTable, OrderItemsTable, OrdersTable, OrderStatus } from '../../db/schema.ts';

export type OrderRow = Selectable<OrdersTable>;
export type OrderItemRow = Selectable<OrderItemsTable>;
export type CommissionRow = Selectable<CommissionsTable>;

export const ordersRepo = {
  async findByExternal(db: Executor, tenantId: string, externalId: string) {
    return db.selectFrom('orders').selectAll().where('tenant_id', '=', tenantId).where('external_id', '=', externalId).executeTakeFirst();
  },

  async lockByExternal(db: Executor, tenantId: string, externalId: string) {
    return db.selectFrom('orders').selectAll().where('tenant_id', '=', tenantId).where('external_id', '=', externalId).forUpdate().executeTakeFirst();
  },

  /** Inserts unless the external id exists; answers false when a concurrent or earlier copy won. */
  async insertIfNew(db: Executor, order: Insertable<OrdersTable>): Promise<boolean> {
    const r = await db.insertInto('orders').values(order)
      .onConflict((oc) => oc.columns(['tenant_id', 'external_id']).doNothing())
      .returning('id').executeTakeFirst();
    return r !== undefined;
  },

  async insertItems(db: Executor, items: Insertable<OrderItemsTable>[]) {
    await db.insertInto('order_items').values(items).execute();
  },

  async insertCommissions(db: Executor, lines: Insertable<CommissionsTable>[]) {
    if (lines.length > 0) await db.insertInto('commissions').values(lines).execute();
  },

  async items(db: Executor, orderId: string) {
    return db.selectFrom('order_items').selectAll().where('order_id', '=', orderId).orderBy('position').execute();
  },

  async commissions(db: Executor, orderId: string) {
    return db.selectFrom('commissions').selectAll().where('order_id', '=', orderId).orderBy('level').orderBy('created_at').orderBy('id').execute();
  },

  async lockCommissions(db: Executor, orderId: string) {
    return db.selectFrom('commissions').selectAll().where('order_id', '=', orderId).orderBy('id').forUpdate().execute();
  },

  async updateStatus(db: Executor, id: string, from: OrderStatus[], set: Partial<{ status: OrderStatus; shipped_at: Date; received_at: Date; completed_at: Date; cancelled_at: Date; refunded_fen: number; updated_at: Date }>) {
    const r = await db.updateTable('orders').set(set).where('id', '=', id).where('status', 'in', from).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  async updateItemRefunds(db: Executor, changes: { id: string; fen: number; quantity: number }[]) {
    if (changes.length === 0) return;
    const values = sql.join(changes.map((c) => sql`(${c.id}::text, ${c.fen}::bigint, ${c.quantity}::int)`));
    await sql`update order_items i set refunded_fen = i.refunded_fen + v.fen, refunded_quantity = i.refunded_quantity + v.qty
      from (values ${values}) as v(id, fen, qty) where i.id = v.id`.execute(db);
  },

  async list(db: Executor, tenantId: string, f: { status?: OrderStatus; sellerId?: string; buyer?: string; from?: Date; to?: Date; beforeId?: string; limit: number }) {
    let q = db.selectFrom('orders').selectAll().where('tenant_id', '=', tenantId);
    if (f.status) q = q.where('status', '=', f.status);
    if (f.sellerId) q = q.where('seller_id', '=', f.sellerId);
    if (f.buyer) q = q.where('buyer_external_id', '=', f.buyer);
    if (f.from) q = q.where('paid_at', '>=', f.from);
    if (f.to) q = q.where('paid_at', '<', f.to);
    if (f.beforeId) q = q.where('id', '<', f.beforeId);
    return q.orderBy('id', 'desc').limit(f.limit).execute();
  },

  async addSales(db: Executor, tenantId: string, distributorId: string, month: string, salesFen: number, orders: number, refundedFen: number) {
    await sql`insert into sales_monthly (tenant_id, distributor_id, month, sales_fen, order_count, refunded_fen)
      values (${tenantId}, ${distributorId}, ${month}::date, ${salesFen}, ${orders}, ${refundedFen})
      on conflict (distributor_id, month) do update
        set sales_fen = sales_monthly.sales_fen + excluded.sales_fen,
            order_count = sales_monthly.order_count + excluded.order_count,
            refunded_fen = sales_monthly.refunded_fen + excluded.refunded_fen`.execute(db);
  },

  async addSettledSales(db: Executor, tenantId: string, distributorId: string, month: string, fen: number) {
    await sql`insert into sales_monthly (tenant_id, distributor_id, month, settled_sales_fen)
      values (${tenantId}, ${distributorId}, ${month}::date, ${fen})
      on conflict (distributor_id, month) do update set settled_sales_fen = sales_monthly.settled_sales_fen + excluded.settled_sales_fen`.execute(db);
  },

  async monthlySales(db: Executor, ids: string[], month: string): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const rows = await sql<{ distributor_id: string; sales_fen: number }>`
      select distributor_id, sales_fen from sales_monthly where distributor_id = any(${ids}::text[]) and month = ${month}::date`.execute(db);
    return new Map(rows.rows.map((r) => [r.distributor_id, r.sales_fen]));
  },

  async lifetimeSales(db: Executor, distributorId: string): Promise<{ sales_fen: number; settled_sales_fen: number }> {
    const r = await sql<{ sales_fen: number | null; settled_sales_fen: number | null }>`
      select sum(sales_fen)::bigint as sales_fen, sum(settled_sales_fen)::bigint as settled_sales_fen from sales_monthly where distributor_id = ${distributorId}`.execute(db);
    return { sales_fen: Number(r.rows[0]?.sales_fen ?? 0), settled_sales_fen: Number(r.rows[0]?.settled_sales_fen ?? 0) };
  },

  /** Locks each beneficiary's commission total for the day (per-day caps), in id order. */
  async lockDaily(db: Executor, tenantId: string, ids: string[], day: string): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const sorted = [...new Set(ids)].sort();
    await sql`insert into commission_daily (tenant_id, distributor_id, day)
      select ${tenantId}, unnest(${sorted}::text[]), ${day}::date on conflict do nothing`.execute(db);
    const rows = await sql<{ distributor_id: string; amount_fen: number }>`
      select distributor_id, amount_fen from commission_daily where distributor_id = any(${sorted}::text[]) and day = ${day}::date order by distributor_id for update`.execute(db);
    return new Map(rows.rows.map((r) => [r.distributor_id, r.amount_fen]));
  },

  async addDaily(db: Executor, amounts: Map<string, number>, day: string) {
    const entries = [...amounts.entries()].filter(([, a]) => a !== 0);
    if (entries.length === 0) return;
    const values = sql.join(entries.map(([id, a]) => sql`(${id}::text, ${a}::bigint)`));
    await sql`update commission_daily d set amount_fen = d.amount_fen + v.a from (values ${values}) as v(id, a)
      where d.distributor_id = v.id and d.day = ${day}::date`.execute(db);
  },
};

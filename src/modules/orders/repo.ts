import { sql, type Insertable, type Selectable } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { CommissionsTable, OrderEventsTable, OrderItemsTable, OrdersTable, OrderStatus } from '../../db/schema.ts';

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

  /** The orders of these external ids that exist already. */
  async findManyByExternal(db: Executor, tenantId: string, externalIds: string[]) {
    if (externalIds.length === 0) return [];
    return db.selectFrom('orders').selectAll().where('tenant_id', '=', tenantId).where('external_id', 'in', externalIds).execute();
  },

  /**
   * Inserts orders whose external ids are new; answers how many went in (fewer means a concurrent
   * copy of one of them committed first, or is about to: the unique index waited for it).
   */
  async insertManyIfNew(db: Executor, orders: Insertable<OrdersTable>[]): Promise<number> {
    if (orders.length === 0) return 0;
    const r = await db.insertInto('orders').values(orders)
      .onConflict((oc) => oc.columns(['tenant_id', 'external_id']).doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n);
  },

  async insertEvents(db: Executor, events: Insertable<OrderEventsTable>[]) {
    if (events.length > 0) await db.insertInto('order_events').values(events).execute();
  },

  /** Adds sales to (distributor, month) rows, in distributor id order. */
  async addSalesMany(db: Executor, tenantId: string, rows: { distributorId: string; month: string; salesFen: number; orders: number }[]) {
    if (rows.length === 0) return;
    const sorted = [...rows].sort((a, b) => (a.distributorId < b.distributorId ? -1 : a.distributorId > b.distributorId ? 1 : a.month < b.month ? -1 : 1));
    await sql`insert into sales_monthly (tenant_id, distributor_id, month, sales_fen, order_count, refunded_fen)
      select ${tenantId}, v.id, v.month, v.sales, v.orders, 0
        from unnest(${sorted.map((r) => r.distributorId)}::text[], ${sorted.map((r) => r.month)}::date[], ${sorted.map((r) => r.salesFen)}::bigint[], ${sorted.map((r) => r.orders)}::int[])
          with ordinality as v(id, month, sales, orders, n)
       order by v.n
      on conflict (distributor_id, month) do update
        set sales_fen = sales_monthly.sales_fen + excluded.sales_fen, order_count = sales_monthly.order_count + excluded.order_count`.execute(db);
  },

  /** Sales per (distributor, month) of these distributors and months. */
  async monthlySalesMany(db: Executor, ids: string[], months: string[]): Promise<Map<string, number>> {
    if (ids.length === 0 || months.length === 0) return new Map();
    const rows = await sql<{ distributor_id: string; month: string; sales_fen: number }>`
      select distributor_id, month::text as month, sales_fen from sales_monthly
       where distributor_id = any(${ids}::text[]) and month = any(${months}::date[])`.execute(db);
    return new Map(rows.rows.map((r) => [`${r.distributor_id}|${r.month}`, r.sales_fen]));
  },

  /** Lifetime sales of each of these distributors (grade upgrades). */
  async lifetimeSalesMany(db: Executor, ids: string[]): Promise<Map<string, { sales_fen: number; settled_sales_fen: number }>> {
    if (ids.length === 0) return new Map();
    const r = await sql<{ distributor_id: string; sales_fen: number | null; settled_sales_fen: number | null }>`
      select distributor_id, sum(sales_fen)::bigint as sales_fen, sum(settled_sales_fen)::bigint as settled_sales_fen
        from sales_monthly where distributor_id = any(${ids}::text[]) group by distributor_id`.execute(db);
    return new Map(r.rows.map((x) => [x.distributor_id, { sales_fen: Number(x.sales_fen ?? 0), settled_sales_fen: Number(x.settled_sales_fen ?? 0) }]));
  },

  /**
   * Locks each (beneficiary, day) commission total of these (per-day caps, surges), creating the
   * missing ones, in (id, day) order; answers them by `id|day`.
   */
  async lockDailyMany(db: Executor, tenantId: string, pairs: { id: string; day: string }[]): Promise<Map<string, number>> {
    if (pairs.length === 0) return new Map();
    const keys = [...new Map(pairs.map((p) => [`${p.id}|${p.day}`, p])).values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
    const ids = keys.map((k) => k.id);
    const days = keys.map((k) => k.day);
    await sql`insert into commission_daily (tenant_id, distributor_id, day)
      select ${tenantId}, v.id, v.day from unnest(${ids}::text[], ${days}::date[]) with ordinality as v(id, day, n) order by v.n
      on conflict do nothing`.execute(db);
    const rows = await sql<{ distributor_id: string; day: string; amount_fen: number }>`
      select d.distributor_id, d.day::text as day, d.amount_fen from commission_daily d
        join unnest(${ids}::text[], ${days}::date[]) as v(id, day) on d.distributor_id = v.id and d.day = v.day
       order by d.distributor_id, d.day for update of d`.execute(db);
    return new Map(rows.rows.map((r) => [`${r.distributor_id}|${r.day}`, r.amount_fen]));
  },

  /** Commission per (beneficiary, day) over a range of days, unlocked (the surge rule's history). */
  async dailyBetween(db: Executor, ids: string[], from: string, to: string): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const rows = await sql<{ distributor_id: string; day: string; amount_fen: number }>`
      select distributor_id, day::text as day, amount_fen from commission_daily
       where distributor_id = any(${ids}::text[]) and day >= ${from}::date and day <= ${to}::date`.execute(db);
    return new Map(rows.rows.map((r) => [`${r.distributor_id}|${r.day}`, r.amount_fen]));
  },

  /** Adds to locked (beneficiary, day) totals. */
  async addDailyMany(db: Executor, rows: { id: string; day: string; amount: number }[]) {
    const live = rows.filter((r) => r.amount !== 0);
    if (live.length === 0) return;
    await sql`update commission_daily d set amount_fen = d.amount_fen + v.a
      from unnest(${live.map((r) => r.id)}::text[], ${live.map((r) => r.day)}::date[], ${live.map((r) => r.amount)}::bigint[]) as v(id, day, a)
      where d.distributor_id = v.id and d.day = v.day`.execute(db);
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

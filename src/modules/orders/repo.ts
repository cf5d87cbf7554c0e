import { sql, type Insertable, type RawBuilder, type Selectable } from 'kysely';
import { columnsOf, selectOf, unnestRows, type UnnestColumn } from '../../db/unnest.ts';
import type { Executor } from '../../db/database.ts';
import type { CommissionsTable, OrderEventsTable, OrderItemsTable, OrdersTable, OrderStatus } from '../../db/schema.ts';

export type OrderRow = Selectable<OrdersTable>;
export type OrderItemRow = Selectable<OrderItemsTable>;
export type CommissionRow = Selectable<CommissionsTable>;

type NewOrder = Insertable<OrdersTable>;
type NewItem = Insertable<OrderItemsTable>;
type NewLine = Insertable<CommissionsTable>;
type NewEvent = Insertable<OrderEventsTable>;

const ORDER_COLUMNS: UnnestColumn<NewOrder>[] = [
  { name: 'id', type: 'text', value: (o) => o.id }, { name: 'tenant_id', type: 'text', value: (o) => o.tenant_id },
  { name: 'external_id', type: 'text', value: (o) => o.external_id }, { name: 'request_hash', type: 'text', value: (o) => o.request_hash },
  { name: 'buyer_external_id', type: 'text', value: (o) => o.buyer_external_id }, { name: 'invite_code', type: 'text', value: (o) => o.invite_code },
  { name: 'status', type: 'text', value: (o) => o.status }, { name: 'seller_id', type: 'text', value: (o) => o.seller_id },
  { name: 'chain', type: 'text[]', value: (o) => o.chain ?? [] }, { name: 'rule_version', type: 'integer', value: (o) => o.rule_version },
  { name: 'attribution', type: 'text', value: (o) => o.attribution }, { name: 'region_code', type: 'text', value: (o) => o.region_code },
  { name: 'paid_fen', type: 'bigint', value: (o) => o.paid_fen }, { name: 'shipping_fen', type: 'bigint', value: (o) => o.shipping_fen ?? 0 },
  { name: 'tax_fen', type: 'bigint', value: (o) => o.tax_fen ?? 0 }, { name: 'paid_at', type: 'timestamptz', value: (o) => o.paid_at },
  { name: 'created_at', type: 'timestamptz', value: (o) => o.created_at }, { name: 'updated_at', type: 'timestamptz', value: (o) => o.updated_at },
  { name: 'device_bidx', type: 'text', value: (o) => o.device_bidx }, { name: 'client_ip', type: 'text', value: (o) => o.client_ip },
];
const ITEM_COLUMNS: UnnestColumn<NewItem>[] = [
  { name: 'id', type: 'text', value: (i) => i.id }, { name: 'tenant_id', type: 'text', value: (i) => i.tenant_id },
  { name: 'order_id', type: 'text', value: (i) => i.order_id }, { name: 'position', type: 'integer', value: (i) => i.position },
  { name: 'sku', type: 'text', value: (i) => i.sku }, { name: 'quantity', type: 'integer', value: (i) => i.quantity },
  { name: 'unit_price_fen', type: 'bigint', value: (i) => i.unit_price_fen }, { name: 'paid_fen', type: 'bigint', value: (i) => i.paid_fen },
];
const LINE_COLUMNS: UnnestColumn<NewLine>[] = [
  { name: 'id', type: 'text', value: (c) => c.id }, { name: 'tenant_id', type: 'text', value: (c) => c.tenant_id },
  { name: 'order_id', type: 'text', value: (c) => c.order_id }, { name: 'order_item_id', type: 'text', value: (c) => c.order_item_id },
  { name: 'beneficiary_id', type: 'text', value: (c) => c.beneficiary_id }, { name: 'level', type: 'integer', value: (c) => c.level },
  { name: 'kind', type: 'text', value: (c) => c.kind ?? 'commission' }, { name: 'rule_version', type: 'integer', value: (c) => c.rule_version },
  { name: 'rate_source', type: 'text', value: (c) => c.rate_source }, { name: 'rate_kind', type: 'text', value: (c) => c.rate_kind },
  { name: 'rate_bp', type: 'integer', value: (c) => c.rate_bp }, { name: 'fixed_fen', type: 'integer', value: (c) => c.fixed_fen ?? 0 },
  { name: 'beneficiary_grade', type: 'text', value: (c) => c.beneficiary_grade }, { name: 'units', type: 'integer', value: (c) => c.units ?? 0 },
  { name: 'base_fen', type: 'bigint', value: (c) => c.base_fen }, { name: 'original_base_fen', type: 'bigint', value: (c) => c.original_base_fen },
  { name: 'amount_fen', type: 'bigint', value: (c) => c.amount_fen }, { name: 'original_amount_fen', type: 'bigint', value: (c) => c.original_amount_fen },
  { name: 'capped_fen', type: 'bigint', value: (c) => c.capped_fen ?? 0 }, { name: 'status', type: 'text', value: (c) => c.status },
  { name: 'held', type: 'boolean', value: (c) => c.held ?? false }, { name: 'created_at', type: 'timestamptz', value: (c) => c.created_at },
];
const EVENT_COLUMNS: UnnestColumn<NewEvent>[] = [
  { name: 'id', type: 'text', value: (e) => e.id }, { name: 'tenant_id', type: 'text', value: (e) => e.tenant_id },
  { name: 'order_id', type: 'text', value: (e) => e.order_id }, { name: 'type', type: 'text', value: (e) => e.type },
  { name: 'at', type: 'timestamptz', value: (e) => e.at }, { name: 'refund_fen', type: 'bigint', value: (e) => e.refund_fen },
  { name: 'details', type: 'jsonb', value: (e) => e.details }, { name: 'actor_type', type: 'text', value: (e) => e.actor_type },
  { name: 'actor_id', type: 'text', value: (e) => e.actor_id }, { name: 'request_id', type: 'text', value: (e) => e.request_id },
];

/** INSERT … SELECT of many rows from one array per column, in the rows' order; `where` filters them. */
function insertRows<R>(table: string, columns: UnnestColumn<R>[], rows: readonly R[], tail: RawBuilder<unknown> = sql``, where: RawBuilder<unknown> = sql`true`) {
  return sql`insert into ${sql.table(table)} (${columnsOf(columns)})
    select ${selectOf(columns, 'v')} from ${unnestRows(columns, rows, 'v')} where ${where} order by v.n ${tail}`;
}

export const ordersRepo = {
  /**
   * A batch's new orders with their items, lines and paid events, as common table expressions of
   * one statement: `orders_new` answers the ids that went in (an order a concurrent copy beat is
   * left out, and so are its items, lines and event). The caller puts them in a WITH.
   */
  batchInsertCtes(b: { orders: NewOrder[]; items: NewItem[]; lines: NewLine[]; events: NewEvent[] }): RawBuilder<unknown>[] {
    const mine = sql`v.order_id in (select id from orders_new)`;
    return [
      sql`orders_new as (${insertRows('orders', ORDER_COLUMNS, b.orders, sql`on conflict (tenant_id, external_id) do nothing returning id`)})`,
      sql`items_new as (${insertRows('order_items', ITEM_COLUMNS, b.items, sql`returning 1`, mine)})`,
      sql`lines_new as (${insertRows('commissions', LINE_COLUMNS, b.lines, sql`returning 1`, mine)})`,
      sql`events_new as (${insertRows('order_events', EVENT_COLUMNS, b.events, sql`returning 1`, mine)})`,
    ];
  },

  /**
   * Sales added to (distributor, month) rows, in distributor id order, as a WITH entry
   * `sales_added`, run after the WITH entry `after` (data-modifying CTEs otherwise run in no
   * promised order, and the order rows are locked in is what keeps transactions from deadlocking).
   */
  salesCte(tenantId: string, rows: { distributorId: string; month: string; salesFen: number; orders: number }[], after: string): RawBuilder<unknown> {
    const sorted = [...rows].sort((a, b) => (a.distributorId < b.distributorId ? -1 : a.distributorId > b.distributorId ? 1 : a.month < b.month ? -1 : 1));
    return sql`sales_added as (insert into sales_monthly (tenant_id, distributor_id, month, sales_fen, order_count, refunded_fen)
      select ${tenantId}, v.id, v.month, v.sales, v.orders, 0
        from unnest(${sorted.map((r) => r.distributorId)}::text[], ${sorted.map((r) => r.month)}::date[], ${sorted.map((r) => r.salesFen)}::bigint[], ${sorted.map((r) => r.orders)}::int[])
          with ordinality as v(id, month, sales, orders, n)
       where (select count(*) from ${sql.raw(after)}) >= 0
       order by v.n
      on conflict (distributor_id, month) do update
        set sales_fen = sales_monthly.sales_fen + excluded.sales_fen, order_count = sales_monthly.order_count + excluded.order_count
      returning 1)`;
  },

  /** Additions to locked (beneficiary, day) totals, as a WITH entry `daily_added`, run after `after`. */
  dailyCte(rows: { id: string; day: string; amount: number }[], after: string): RawBuilder<unknown> {
    const live = rows.filter((r) => r.amount !== 0);
    return sql`daily_added as (update commission_daily d set amount_fen = d.amount_fen + v.a
      from unnest(${live.map((r) => r.id)}::text[], ${live.map((r) => r.day)}::date[], ${live.map((r) => r.amount)}::bigint[]) as v(id, day, a)
      where d.distributor_id = v.id and d.day = v.day and (select count(*) from ${sql.raw(after)}) >= 0 returning 1)`;
  },

  /** The external ids (and request hashes) of these that exist already, as a scalar subquery (JSON). */
  existingSql(tenantId: string, externalIds: string[]): RawBuilder<{ external_id: string; request_hash: string }[] | null> {
    return sql`(select json_agg(json_build_object('external_id', external_id, 'request_hash', request_hash)) from orders
      where tenant_id = ${tenantId} and external_id = any(${externalIds}::text[]))`;
  },

  async findByExternal(db: Executor, tenantId: string, externalId: string) {
    return db.selectFrom('orders').selectAll().where('tenant_id', '=', tenantId).where('external_id', '=', externalId).executeTakeFirst();
  },

  async lockByExternal(db: Executor, tenantId: string, externalId: string) {
    return db.selectFrom('orders').selectAll().where('tenant_id', '=', tenantId).where('external_id', '=', externalId).forUpdate().executeTakeFirst();
  },


  /** The orders of these external ids that exist already. */
  async findManyByExternal(db: Executor, tenantId: string, externalIds: string[]) {
    if (externalIds.length === 0) return [];
    return db.selectFrom('orders').selectAll().where('tenant_id', '=', tenantId).where('external_id', 'in', externalIds).execute();
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

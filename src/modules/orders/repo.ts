import { sql, type Insertable, type RawBuilder, type Selectable } from 'kysely';
import { ident } from '../../db/ident.ts';
import { columnsOf, selectOf, unnestRows, type UnnestColumn } from '../../db/unnest.ts';
import type { Executor } from '../../db/database.ts';
import { idempotencyRepo } from '../idempotency/repo.ts';
import type { MovedDay } from '../analytics/recorder.ts';
import type { CommissionsTable, OrderEventsTable, OrderItemsTable, OrdersTable, OrderStatus } from '../../db/schema.ts';

export type OrderRow = Selectable<OrdersTable>;
export type OrderItemRow = Selectable<OrderItemsTable>;
export type CommissionRow = Selectable<CommissionsTable>;

type NewOrder = Insertable<OrdersTable>;
type NewItem = Insertable<OrderItemsTable>;
type NewLine = Insertable<CommissionsTable>;
type NewEvent = Insertable<OrderEventsTable>;

const ORDER_COLUMNS: UnnestColumn<NewOrder>[] = [
  { name: 'id', type: 'text', value: (o) => o.id },
  { name: 'tenant_id', type: 'text', value: (o) => o.tenant_id },
  { name: 'external_id', type: 'text', value: (o) => o.external_id },
  { name: 'request_hash', type: 'text', value: (o) => o.request_hash },
  { name: 'buyer_external_id', type: 'text', value: (o) => o.buyer_external_id },
  { name: 'invite_code', type: 'text', value: (o) => o.invite_code },
  { name: 'status', type: 'text', value: (o) => o.status },
  { name: 'seller_id', type: 'text', value: (o) => o.seller_id },
  { name: 'chain', type: 'text[]', value: (o) => o.chain ?? [] },
  { name: 'rule_version', type: 'integer', value: (o) => o.rule_version },
  { name: 'attribution', type: 'text', value: (o) => o.attribution },
  { name: 'region_code', type: 'text', value: (o) => o.region_code },
  { name: 'fulfilled_by', type: 'text', value: (o) => o.fulfilled_by ?? null },
  { name: 'paid_fen', type: 'bigint', value: (o) => o.paid_fen },
  { name: 'shipping_fen', type: 'bigint', value: (o) => o.shipping_fen ?? 0 },
  { name: 'tax_fen', type: 'bigint', value: (o) => o.tax_fen ?? 0 },
  { name: 'paid_at', type: 'timestamptz', value: (o) => o.paid_at },
  { name: 'created_at', type: 'timestamptz', value: (o) => o.created_at },
  { name: 'updated_at', type: 'timestamptz', value: (o) => o.updated_at },
  { name: 'device_bidx', type: 'text', value: (o) => o.device_bidx },
  { name: 'client_ip', type: 'text', value: (o) => o.client_ip },
  { name: 'pilot_id', type: 'text', value: (o) => o.pilot_id ?? null },
  { name: 'core_hash', type: 'text', value: (o) => o.core_hash ?? null },
];
/** What the payment of an unpaid order sets (`paidCte`): the rest it kept from its unpaid arrival. */
const PAID_COLUMNS: UnnestColumn<NewOrder>[] = [
  { name: 'id', type: 'text', value: (o) => o.id },
  { name: 'request_hash', type: 'text', value: (o) => o.request_hash },
  { name: 'seller_id', type: 'text', value: (o) => o.seller_id },
  { name: 'chain', type: 'text[]', value: (o) => o.chain ?? [] },
  { name: 'rule_version', type: 'integer', value: (o) => o.rule_version },
  { name: 'pilot_id', type: 'text', value: (o) => o.pilot_id ?? null },
  { name: 'attribution', type: 'text', value: (o) => o.attribution },
  { name: 'fulfilled_by', type: 'text', value: (o) => o.fulfilled_by ?? null },
  { name: 'paid_at', type: 'timestamptz', value: (o) => o.paid_at },
  { name: 'updated_at', type: 'timestamptz', value: (o) => o.updated_at },
];
const ITEM_COLUMNS: UnnestColumn<NewItem>[] = [
  { name: 'id', type: 'text', value: (i) => i.id },
  { name: 'tenant_id', type: 'text', value: (i) => i.tenant_id },
  { name: 'order_id', type: 'text', value: (i) => i.order_id },
  { name: 'position', type: 'integer', value: (i) => i.position },
  { name: 'sku', type: 'text', value: (i) => i.sku },
  { name: 'quantity', type: 'integer', value: (i) => i.quantity },
  { name: 'unit_price_fen', type: 'bigint', value: (i) => i.unit_price_fen },
  { name: 'paid_fen', type: 'bigint', value: (i) => i.paid_fen },
];
const LINE_COLUMNS: UnnestColumn<NewLine>[] = [
  { name: 'id', type: 'text', value: (c) => c.id },
  { name: 'tenant_id', type: 'text', value: (c) => c.tenant_id },
  { name: 'order_id', type: 'text', value: (c) => c.order_id },
  { name: 'order_item_id', type: 'text', value: (c) => c.order_item_id },
  { name: 'beneficiary_id', type: 'text', value: (c) => c.beneficiary_id },
  { name: 'level', type: 'integer', value: (c) => c.level },
  { name: 'kind', type: 'text', value: (c) => c.kind ?? 'commission' },
  { name: 'rule_version', type: 'integer', value: (c) => c.rule_version },
  { name: 'rate_source', type: 'text', value: (c) => c.rate_source },
  { name: 'rate_kind', type: 'text', value: (c) => c.rate_kind },
  { name: 'rate_bp', type: 'integer', value: (c) => c.rate_bp },
  { name: 'fixed_fen', type: 'integer', value: (c) => c.fixed_fen ?? 0 },
  { name: 'beneficiary_grade', type: 'text', value: (c) => c.beneficiary_grade },
  { name: 'units', type: 'integer', value: (c) => c.units ?? 0 },
  { name: 'base_fen', type: 'bigint', value: (c) => c.base_fen },
  { name: 'original_base_fen', type: 'bigint', value: (c) => c.original_base_fen },
  { name: 'amount_fen', type: 'bigint', value: (c) => c.amount_fen },
  { name: 'original_amount_fen', type: 'bigint', value: (c) => c.original_amount_fen },
  { name: 'capped_fen', type: 'bigint', value: (c) => c.capped_fen ?? 0 },
  { name: 'status', type: 'text', value: (c) => c.status },
  { name: 'held', type: 'boolean', value: (c) => c.held ?? false },
  { name: 'territory_rank', type: 'text', value: (c) => c.territory_rank ?? null },
  { name: 'created_at', type: 'timestamptz', value: (c) => c.created_at },
  { name: 'pilot_id', type: 'text', value: (c) => c.pilot_id ?? null },
];
const EVENT_COLUMNS: UnnestColumn<NewEvent>[] = [
  { name: 'id', type: 'text', value: (e) => e.id },
  { name: 'tenant_id', type: 'text', value: (e) => e.tenant_id },
  { name: 'order_id', type: 'text', value: (e) => e.order_id },
  { name: 'type', type: 'text', value: (e) => e.type },
  { name: 'at', type: 'timestamptz', value: (e) => e.at },
  { name: 'refund_fen', type: 'bigint', value: (e) => e.refund_fen },
  { name: 'details', type: 'jsonb', value: (e) => e.details },
  { name: 'actor_type', type: 'text', value: (e) => e.actor_type },
  { name: 'actor_id', type: 'text', value: (e) => e.actor_id },
  { name: 'request_id', type: 'text', value: (e) => e.request_id },
];

const CLAWBACK_COLUMNS: UnnestColumn<NewLine>[] = [
  ...LINE_COLUMNS.filter((c) => c.name !== 'capped_fen' && c.name !== 'held' && c.name !== 'territory_rank'),
  { name: 'clawback_of', type: 'text', value: (c) => c.clawback_of },
  { name: 'settled_at', type: 'timestamptz', value: (c) => c.settled_at },
];

/** A commission row as to_json wrote it (timestamps as text). */
type CommissionJson = Omit<CommissionRow, 'created_at' | 'available_at' | 'settled_at' | 'reversed_at'> &
  Record<'created_at' | 'available_at' | 'settled_at' | 'reversed_at', string | null>;

function commissionOfJson(c: CommissionJson): CommissionRow {
  const date = (v: string | null) => (v === null ? null : new Date(v));
  return {
    ...c,
    created_at: new Date(known(c.created_at ?? undefined, "a commission line's created_at")),
    available_at: date(c.available_at),
    settled_at: date(c.settled_at),
    reversed_at: date(c.reversed_at),
  };
}

/** INSERT … SELECT of many rows from one array per column, in the rows' order; `where` filters them. */
function insertRows<R>(
  table: string,
  columns: UnnestColumn<R>[],
  rows: readonly R[],
  tail: RawBuilder<unknown> = sql``,
  where: RawBuilder<unknown> = sql`true`,
) {
  return sql`insert into ${ident(table)} (${columnsOf(columns)})
    select ${selectOf(columns, 'v')} from ${unnestRows(columns, rows, 'v')} where ${where} order by v.n ${tail}`;
}

/**
 * A value the code knows is there (an index within its array, a key just put in a map, the one
 * row a `select … as x` answers): answered, or a clear error instead of a TypeError further on.
 */
export function known<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is missing`);
  return value;
}

/** The one row a statement of CTEs answers (`select … as x`): always there, or the statement failed. */
function onlyRow<T>(rows: T[], what: string): T {
  return known(rows[0], `the row of ${what}`);
}

export const ordersRepo = {
  /**
   * A batch's new orders with their items, lines and paid events, as common table expressions of
   * one statement: `orders_new` answers the ids that went in (an order a concurrent copy beat is
   * left out, and so are its items, lines and event). The caller puts them in a WITH. With `paid`,
   * `orders_paid` answers the unpaid orders the batch paid (their items were written when they
   * arrived unpaid; their lines and paid events go in as a new order's do).
   *
   * `lines_new` writes commission lines, the commissions module's table (src/modules/commissions
   * owns its writes): the one exception, with the refund's `refund_lines` and `refund_clawbacks`
   * below, so that a batch of orders and a refund stay one statement per step, whatever their size.
   */
  batchInsertCtes(b: { orders: NewOrder[]; items: NewItem[]; lines: NewLine[]; events: NewEvent[]; paid?: NewOrder[] | undefined }): RawBuilder<unknown>[] {
    const paying = b.paid !== undefined && b.paid.length > 0;
    const mine = paying ? sql`v.order_id in (select id from orders_new union all select id from orders_paid)` : sql`v.order_id in (select id from orders_new)`;
    return [
      sql`orders_new as (${insertRows('orders', ORDER_COLUMNS, b.orders, sql`on conflict (tenant_id, external_id) do nothing returning id`)})`,
      // Unpaid orders paid by this batch: compare-and-set on pending_payment, so one closed (or
      // paid by another process) meanwhile is left out, and the batch starts over.
      ...(paying
        ? [
            sql`orders_paid as (update orders t set status = 'paid', request_hash = v.request_hash, seller_id = v.seller_id,
                  chain = coalesce(array(select jsonb_array_elements_text(v.chain::jsonb)), '{}')::text[], rule_version = v.rule_version,
                  pilot_id = v.pilot_id, attribution = v.attribution, fulfilled_by = v.fulfilled_by, paid_at = v.paid_at, updated_at = v.updated_at
                from ${unnestRows(PAID_COLUMNS, b.paid ?? [], 'v')}
               where t.id = v.id and t.status = 'pending_payment' returning t.id)`,
          ]
        : []),
      sql`items_new as (${insertRows('order_items', ITEM_COLUMNS, b.items, sql`returning 1`, mine)})`,
      sql`lines_new as (${insertRows('commissions', LINE_COLUMNS, b.lines, sql`returning 1`, mine)})`,
      sql`events_new as (${insertRows('order_events', EVENT_COLUMNS, b.events, sql`returning 1`, mine)})`,
    ];
  },

  /**
   * Statement one of a batch of orders (batch.ts): the new orders with their items, lines and
   * events (`batchInsertCtes`) and the customers, as one WITH; answers how many orders went in.
   */
  async batchInsert(tx: Executor, ctes: RawBuilder<unknown>[], paying = false): Promise<number> {
    const r = await sql<{ orders: number }>`
        with ${sql.join(ctes)}
        select (select count(*) from orders_new)::int ${paying ? sql`+ (select count(*) from orders_paid)::int` : sql``} as orders`.execute(tx);
    return onlyRow(r.rows, 'batch insert').orders;
  },

  /** The WITH entry statement two starts its chain from when the batch posts no journal. */
  noneCte: sql`orders_none as (select 1)` as RawBuilder<unknown>,

  /**
   * Statement two of a batch of orders: the journals, monthly sales, daily totals, the
   * distributors' rollup rows and the tenant's slot rows (in that order, as chained by `after`);
   * answers `moved` and `found` as the analytics plan selects them.
   */
  async batchShared(
    tx: Executor,
    ctes: RawBuilder<unknown>[],
    selects: { moved: RawBuilder<unknown>; found: RawBuilder<unknown> },
  ): Promise<{ moved: MovedDay[] | null; found: number[] | null }> {
    const r = await sql<{ moved: MovedDay[] | null; found: number[] | null }>`
        with ${sql.join(ctes)} select ${selects.moved} as moved, ${selects.found} as found`.execute(tx);
    return onlyRow(r.rows, 'batch shared rows');
  },

  /** A savepoint in the caller's transaction (an event of a batch runs under its own). */
  async savepoint(tx: Executor, name: string): Promise<void> {
    await sql`savepoint ${sql.raw(name)}`.execute(tx);
  },

  async rollbackToSavepoint(tx: Executor, name: string): Promise<void> {
    await sql`rollback to savepoint ${sql.raw(name)}`.execute(tx);
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

  /**
   * Locks the orders of these external ids in id order (a batch of events takes its orders' rows
   * first, as one event always has, and in one order, so batches sharing orders queue on them).
   */
  async lockManyByExternal(db: Executor, tenantId: string, externalIds: string[]): Promise<OrderRow[]> {
    if (externalIds.length === 0) return [];
    return db.selectFrom('orders').selectAll().where('tenant_id', '=', tenantId).where('external_id', 'in', externalIds).orderBy('id').forUpdate().execute();
  },

  /**
   * What a batch of events reads once its orders are locked, in one round trip: the answers kept
   * under these Idempotency-Keys, the tenant's newest rule version (`version`, a scalar subquery)
   * and the orders' items (by position) and lines (by level, creation, id, as `commissions` reads
   * them). A separate statement from the lock on purpose: a statement that waited for a row lock
   * still reads everything else as it stood when it started, and would miss the key and the
   * refund the transaction it waited for had just committed.
   */
  async eventBatchRead(
    db: Executor,
    tenantId: string,
    orderIds: string[],
    keys: { scope: string; key: string }[],
    version: RawBuilder<number | null>,
  ): Promise<{
    version: number | null;
    keys: { scope: string; key: string; request_hash: string; response_body: unknown }[];
    items: OrderItemRow[];
    lines: CommissionRow[];
  }> {
    const r = await sql<{
      version: number | null;
      keys: { scope: string; key: string; request_hash: string; response_body: unknown }[] | null;
      items: OrderItemRow[] | null;
      lines: CommissionJson[] | null;
    }>`
      select ${version} as version,
        ${idempotencyRepo.keptSql(tenantId, keys)} as keys,
        (select json_agg(i order by i.order_id, i.position) from order_items i where i.order_id = any(${orderIds}::text[])) as items,
        (select json_agg(c order by c.order_id, c.level, c.created_at, c.id) from commissions c where c.order_id = any(${orderIds}::text[])) as lines`.execute(
      db,
    );
    const row = onlyRow(r.rows, 'a read of orders');
    return { version: row.version, keys: row.keys ?? [], items: row.items ?? [], lines: (row.lines ?? []).map(commissionOfJson) };
  },

  /**
   * Locks what refunds of these orders will lock, in the order every transaction takes them: the
   * buyers' customer rows (by external id), the orders' lines (by id), then the ledger accounts
   * those lines' money sits in (by id). A batch of refunds then takes nothing later that another
   * transaction could hold while waiting for something the batch already has: refund by refund,
   * the second would lock its buyer after the first's accounts.
   */
  async lockForRefunds(db: Executor, tenantId: string, buyers: string[], orderIds: string[]): Promise<void> {
    await sql`
      with buyers as materialized (
        select external_id from customers where tenant_id = ${tenantId} and external_id = any(${buyers}::text[]) order by external_id for update
      ), lines as materialized (
        select id, beneficiary_id, status from commissions
         where order_id = any(${orderIds}::text[]) and (select count(*) from buyers) >= 0 order by id for update
      ), owed as (
        select distinct beneficiary_id as owner_id, case status when 'settled' then 'withdrawable' else status end as purpose
          from lines where status <> 'reversed'
      ), locked as materialized (
        select a.id from accounts a join owed o on a.owner_id = o.owner_id and a.purpose = o.purpose
         where a.tenant_id = ${tenantId} and a.cached order by a.id for no key update
      )
      select count(*) from locked`.execute(db);
  },

  /**
   * The first statement of a refund: the buyer's purchases and the order lines' refunded amounts
   * go down and up, then the order's commission lines are locked (id order) and answered, with the
   * seller's grade when the order was paid and its region (the rollups' segment). In that order: a customer's row is what
   * every transaction on a buyer takes before its lines and accounts (an order takes the buyer
   * and then its chain's accounts; the other way round deadlocked a refund against an order).
   */
  async refundBegin(
    db: Executor,
    tenantId: string,
    r: { buyer: string; total: number; items: { id: string; fen: number; quantity: number }[]; orderId: string; sellerId: string | null },
  ): Promise<{ lines: CommissionRow[]; segment: { grade_code: string; region_code: string | null } | null }> {
    const q = await sql<{ lines: CommissionJson[] | null; segment: { grade_code: string; region_code: string | null } | null }>`
      with buyer as (
        update customers set purchases_fen = purchases_fen - ${r.total} where tenant_id = ${tenantId} and external_id = ${r.buyer} returning 1
      ), items as (
        update order_items i set refunded_fen = i.refunded_fen + v.fen, refunded_quantity = i.refunded_quantity + v.qty
          from unnest(${r.items.map((i) => i.id)}::text[], ${r.items.map((i) => i.fen)}::bigint[], ${r.items.map((i) => i.quantity)}::int[]) as v(id, fen, qty)
         where i.id = v.id and (select count(*) from buyer) >= 0
        returning 1
      ), locked as materialized (
        select * from commissions where order_id = ${r.orderId} and (select count(*) from items) >= 0 order by id for update
      )
      select (select json_agg(l order by l.id) from locked l) as lines,
             -- The grade the order was paid at (its seller's sales line), so a refund after a grade change
             -- leaves the rollups where the sale was counted; the seller's grade now when it has no line.
             (select json_build_object('grade_code', coalesce(
                       (select l.beneficiary_grade from locked l where l.beneficiary_id = d.id and l.kind = 'commission' and l.level = 0 limit 1), d.grade_code),
                     'region_code', d.region_code)
                from distributors d where d.tenant_id = ${tenantId} and d.id = ${r.sellerId}) as segment`.execute(db);
    const row = onlyRow(q.rows, "a refund's first statement");
    return { lines: (row.lines ?? []).map(commissionOfJson), segment: row.segment };
  },

  /**
   * New figures of commission lines, as a WITH entry `refund_lines` answering the lines changed: a
   * write of the commissions table inside the refund's one statement (the exception named at
   * batchInsertCtes).
   */
  lineChangesCte(
    changes: { id: string; base_fen: number; units: number; amount_fen: number; status: string; reversed_at: Date | null }[],
  ): RawBuilder<unknown> {
    return sql`refund_lines as (update commissions c set base_fen = v.base, units = v.units, amount_fen = v.amount, status = v.status, reversed_at = v.reversed_at
      from unnest(${changes.map((c) => c.id)}::text[], ${changes.map((c) => c.base_fen)}::bigint[], ${changes.map((c) => c.units)}::int[],
                  ${changes.map((c) => c.amount_fen)}::bigint[], ${changes.map((c) => c.status)}::text[], ${changes.map((c) => c.reversed_at)}::timestamptz[])
        as v(id, base, units, amount, status, reversed_at)
      where c.id = v.id returning c.*)`;
  },

  /** Clawback lines, as a WITH entry `refund_clawbacks` answering them. */
  clawbacksCte(lines: NewLine[]): RawBuilder<unknown> {
    return sql`refund_clawbacks as (${insertRows('commissions', CLAWBACK_COLUMNS, lines, sql`returning *`)})`;
  },

  /** A refund taken off the seller's sales of the order's month, as a WITH entry `refund_sales`, run after `after`. */
  refundSalesCte(tenantId: string, sellerId: string, month: string, fen: number, after: string): RawBuilder<unknown> {
    return sql`refund_sales as (insert into sales_monthly (tenant_id, distributor_id, month, sales_fen, order_count, refunded_fen)
      select ${tenantId}, ${sellerId}, ${month}::date, ${-fen}, 0, ${fen} where (select count(*) from ${sql.raw(after)}) >= 0
      on conflict (distributor_id, month) do update
        set sales_fen = sales_monthly.sales_fen + excluded.sales_fen, refunded_fen = sales_monthly.refunded_fen + excluded.refunded_fen
      returning 1)`;
  },

  /**
   * Additions to beneficiaries' totals of one day (per-day caps), made where missing, in id order,
   * as a WITH entry `refund_daily`, run after `after`.
   */
  refundDailyCte(tenantId: string, day: string, amounts: Map<string, number>, after: string): RawBuilder<unknown> {
    const live = [...amounts.entries()].filter(([, a]) => a !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return sql`refund_daily as (insert into commission_daily as d (tenant_id, distributor_id, day, amount_fen)
      select ${tenantId}, v.id, ${day}::date, v.a from unnest(${live.map(([id]) => id)}::text[], ${live.map(([, a]) => a)}::bigint[]) with ordinality as v(id, a, n)
       where (select count(*) from ${sql.raw(after)}) >= 0 order by v.n
      on conflict (distributor_id, day) do update set amount_fen = d.amount_fen + excluded.amount_fen
      returning 1)`;
  },

  /**
   * The order row as a refund left it, written whole, as a WITH entry `refund_order`: with it go
   * the statuses and times that earlier events of the batch left in memory.
   */
  orderStateCte(o: OrderRow): RawBuilder<unknown> {
    return sql`refund_order as (update orders set status = ${o.status}, refunded_fen = ${o.refunded_fen}, shipped_at = ${o.shipped_at}, received_at = ${o.received_at},
      cancelled_at = ${o.cancelled_at}, updated_at = ${o.updated_at} where id = ${o.id} returning 1)`;
  },

  /**
   * Runs a refund's second statement (`ctes`, refund_lines and refund_clawbacks among them) and
   * answers the order's lines as they then stand, as `commissions` reads them, and `extra`.
   */
  async refundWrite(
    db: Executor,
    orderId: string,
    ctes: RawBuilder<unknown>[],
    extra: RawBuilder<unknown> | null,
  ): Promise<{ lines: CommissionRow[]; extra: unknown }> {
    // The main query sees the lines as they were before this statement: the changed ones come
    // from what refund_lines and refund_clawbacks answered.
    const r = await sql<{ lines: CommissionJson[] | null; extra: unknown }>`
      with ${sql.join(ctes)}
      select (select json_agg(x order by x.level, x.created_at, x.id) from (
                select * from refund_lines
                union all select * from refund_clawbacks
                union all select * from commissions c where c.order_id = ${orderId} and not exists (select 1 from refund_lines l where l.id = c.id)) x) as lines,
             ${extra ?? sql`null`} as extra`.execute(db);
    const row = onlyRow(r.rows, 'a read of orders');
    return { lines: (row.lines ?? []).map(commissionOfJson), extra: row.extra };
  },

  /**
   * What a batch of events writes at its end, in one statement: the orders' new statuses and
   * times, the events, and the answers kept under Idempotency-Keys.
   */
  async eventBatchWrite(
    db: Executor,
    tenantId: string,
    w: { orders: OrderRow[]; events: NewEvent[]; keys: { scope: string; key: string; request_hash: string; response_body: string }[] },
    /** Other modules' WITH entries written in the same statement (the events for webhook endpoints). */
    extra: RawBuilder<unknown>[] = [],
  ): Promise<void> {
    if (w.orders.length === 0 && w.events.length === 0 && w.keys.length === 0) return;
    const o = w.orders;
    await sql`
      with states as (
        update orders t set status = v.status, shipped_at = v.shipped_at, received_at = v.received_at, cancelled_at = v.cancelled_at,
                            closed_at = v.closed_at, updated_at = v.updated_at
          from unnest(${o.map((x) => x.id)}::text[], ${o.map((x) => x.status)}::text[], ${o.map((x) => x.shipped_at)}::timestamptz[],
                      ${o.map((x) => x.received_at)}::timestamptz[], ${o.map((x) => x.cancelled_at)}::timestamptz[],
                      ${o.map((x) => x.closed_at)}::timestamptz[], ${o.map((x) => x.updated_at)}::timestamptz[])
            as v(id, status, shipped_at, received_at, cancelled_at, closed_at, updated_at)
         where t.id = v.id returning 1
      ), events as (${insertRows('order_events', EVENT_COLUMNS, w.events, sql`returning 1`)}),
      keys as (${idempotencyRepo.insertManySql(tenantId, w.keys)})${extra.length > 0 ? sql`, ${sql.join(extra)}` : sql``}
      select (select count(*) from states) + (select count(*) from events) + (select count(*) from keys) as n`.execute(db);
  },

  /**
   * Receipt of up to `limit` orders of a tenant shipped at or before `cutoff` that the buyer never
   * confirmed, in one statement: each received `days` after it was shipped, with its event; answers
   * the orders as they now stand. SKIP LOCKED: several workers share the due orders, and an order
   * whose event is being applied is left for the next pass.
   */
  async autoReceive(
    db: Executor,
    tenantId: string,
    a: { cutoff: Date; days: number; now: Date; limit: number; eventIds: string[]; actorType: string; actorId: string | null },
  ): Promise<OrderRow[]> {
    const r = await sql<OrderRow>`
      with due as (
        select id from orders where tenant_id = ${tenantId} and status = 'shipped' and shipped_at <= ${a.cutoff}
         order by shipped_at, id limit ${a.limit} for update skip locked
      ), received as (
        update orders o set status = 'received', received_at = o.shipped_at + ${a.days * 86_400} * interval '1 second', updated_at = ${a.now}
          from due where o.id = due.id
        returning o.*
      ), events as (
        insert into order_events (id, tenant_id, order_id, type, at, refund_fen, details, actor_type, actor_id, request_id)
        select (${a.eventIds}::text[])[(row_number() over (order by r.shipped_at, r.id))::int], ${tenantId}, r.id, 'received', r.received_at, null, '{}'::jsonb,
               ${a.actorType}, ${a.actorId}, null
          from received r
        returning 1
      )
      select * from received order by shipped_at, id`.execute(db);
    return r.rows;
  },

  /** The items of these orders, each order's in position order. */
  async itemsOfOrders(db: Executor, orderIds: string[]) {
    if (orderIds.length === 0) return [];
    return db.selectFrom('order_items').selectAll().where('order_id', 'in', orderIds).orderBy('order_id').orderBy('position').execute();
  },

  /** The carrier and tracking number of an order (logistics pushes find it by them); answers the row, or undefined. */
  async setTracking(db: Executor, tenantId: string, externalId: string, carrier: string, trackingNumber: string, now: Date) {
    return db
      .updateTable('orders')
      .set({ tracking_carrier: carrier, tracking_number: trackingNumber, updated_at: now })
      .where('tenant_id', '=', tenantId)
      .where('external_id', '=', externalId)
      .returningAll()
      .executeTakeFirst();
  },

  /**
   * The logistics of those of `externalIds` that `beneficiaryId` earns from: an order of the
   * tenant with a commission line of the beneficiary's own (a clawback counts). Both the order and
   * the line are filtered by tenant, so a distributor never sees another tenant's or another
   * distributor's order by naming it. No buyer data is selected.
   */
  async logisticsEarnedBy(db: Executor, tenantId: string, beneficiaryId: string, externalIds: readonly string[]) {
    if (externalIds.length === 0) return [];
    return db
      .selectFrom('orders')
      .select(['external_id', 'status', 'paid_at', 'shipped_at', 'received_at', 'tracking_carrier', 'tracking_number'])
      .where('orders.tenant_id', '=', tenantId)
      .where('orders.external_id', 'in', externalIds)
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom('commissions')
            .select('commissions.id')
            .where('commissions.tenant_id', '=', tenantId)
            .whereRef('commissions.order_id', '=', 'orders.id')
            .where('commissions.beneficiary_id', '=', beneficiaryId),
        ),
      )
      .orderBy('orders.external_id')
      .execute();
  },

  /** The newest order of a tenant with this tracking number. */
  async findByTracking(db: Executor, tenantId: string, trackingNumber: string) {
    return db
      .selectFrom('orders')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('tracking_number', '=', trackingNumber)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
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
    const keys = [...new Map(pairs.map((p) => [`${p.id}|${p.day}`, p])).values()].sort((a, b) =>
      a.id < b.id ? -1 : a.id > b.id ? 1 : a.day < b.day ? -1 : a.day > b.day ? 1 : 0,
    );
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

  async items(db: Executor, orderId: string) {
    return db.selectFrom('order_items').selectAll().where('order_id', '=', orderId).orderBy('position').execute();
  },

  async commissions(db: Executor, orderId: string) {
    return db.selectFrom('commissions').selectAll().where('order_id', '=', orderId).orderBy('level').orderBy('created_at').orderBy('id').execute();
  },

  /** The lines of these orders, each order's as `commissions` reads them. */
  async commissionsOfOrders(db: Executor, orderIds: string[]) {
    if (orderIds.length === 0) return [];
    return db
      .selectFrom('commissions')
      .selectAll()
      .where('order_id', 'in', orderIds)
      .orderBy('order_id')
      .orderBy('level')
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  },

  async list(
    db: Executor,
    tenantId: string,
    f: { status?: OrderStatus; sellerId?: string; buyer?: string; from?: Date; to?: Date; beforeId?: string; limit: number },
  ) {
    let q = db.selectFrom('orders').selectAll().where('tenant_id', '=', tenantId);
    if (f.status) q = q.where('status', '=', f.status);
    if (f.sellerId) q = q.where('seller_id', '=', f.sellerId);
    if (f.buyer) q = q.where('buyer_external_id', '=', f.buyer);
    if (f.from) q = q.where('paid_at', '>=', f.from);
    if (f.to) q = q.where('paid_at', '<', f.to);
    if (f.beforeId) q = q.where('id', '<', f.beforeId);
    return q.orderBy('id', 'desc').limit(f.limit).execute();
  },

  async addSettledSales(db: Executor, tenantId: string, distributorId: string, month: string, fen: number) {
    await sql`insert into sales_monthly (tenant_id, distributor_id, month, settled_sales_fen)
      values (${tenantId}, ${distributorId}, ${month}::date, ${fen})
      on conflict (distributor_id, month) do update set settled_sales_fen = sales_monthly.settled_sales_fen + excluded.settled_sales_fen`.execute(db);
  },

  async lifetimeSales(db: Executor, distributorId: string): Promise<{ sales_fen: number; settled_sales_fen: number }> {
    const r = await sql<{ sales_fen: number | null; settled_sales_fen: number | null }>`
      select sum(sales_fen)::bigint as sales_fen, sum(settled_sales_fen)::bigint as settled_sales_fen from sales_monthly where distributor_id = ${distributorId}`.execute(
      db,
    );
    return { sales_fen: Number(r.rows[0]?.sales_fen ?? 0), settled_sales_fen: Number(r.rows[0]?.settled_sales_fen ?? 0) };
  },

  // ——— the orders a settlement run makes final (commissions.makeAvailable) ———

  /** Received orders past the cutoff, oldest first, skipping those another worker holds. */
  async dueOrdersForUpdate(ex: Executor, tenantId: string, cutoff: Date, limit: number) {
    return ex
      .selectFrom('orders')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('status', '=', 'received')
      .where('received_at', '<=', cutoff)
      .orderBy('received_at')
      .orderBy('id')
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
  },

  async completeOrders(ex: Executor, ids: string[], completedAt: Date, now: Date): Promise<void> {
    await ex
      .updateTable('orders')
      .set({ status: 'completed', completed_at: completedAt, updated_at: now })
      .where('id', 'in', ids)
      .where('status', '=', 'received')
      .execute();
  },
};

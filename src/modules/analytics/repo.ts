import { sql, type RawBuilder } from 'kysely';
import { ident } from '../../db/ident.ts';
import { RetryTransaction, type Executor } from '../../db/database.ts';
import type { RangeParts } from './periods.ts';
import type { Metric } from './schema.ts';

/** Each metric of GET /v1/analytics/timeseries as an expression of a daily row `t`. */
const SERIES_EXPR: Record<Metric, RawBuilder<unknown>> = {
  sales_fen: sql`t.gross_sales_fen - t.refunded_fen`,
  gross_sales_fen: sql`t.gross_sales_fen`,
  refunded_fen: sql`t.refunded_fen`,
  orders: sql`t.orders`,
  refunds: sql`t.refunds`,
  commission_fen: sql`t.commission_fen`,
  commission_reversed_fen: sql`t.commission_reversed_fen`,
  new_distributors: sql`t.new_distributors`,
  new_bindings: sql`t.new_bindings`,
  visits: sql`t.visits`,
  settled_fen: sql`t.settled_fen`,
  withdrawn_fen: sql`t.ledger_withdrawn_fen`,
};

/** Tables whose rows are spread over slots (see the analytics migration). */
export type SlotTable = 'analytics_daily' | 'analytics_breakdown_daily' | 'analytics_breakdown_monthly';

/** The levels a breakdown is read at, each its own rows (see the analytics_breakdowns migration). */
export type BreakdownLevel = 'grade' | 'province' | 'city';

export const DAILY_COUNTERS = [
  'orders',
  'gross_sales_fen',
  'refunded_fen',
  'refunds',
  'commission_fen',
  'commission_reversed_fen',
  'new_distributors',
  'new_bindings',
  'visits',
  'last_order_distributors',
  'ledger_pending_fen',
  'ledger_available_fen',
  'ledger_withdrawable_fen',
  'ledger_withdrawing_fen',
  'ledger_withdrawn_fen',
  'ledger_clearing_fen',
  'ledger_fee_income_fen',
  'ledger_expense_fen',
  'made_available_fen',
  'settled_fen',
] as const;
export type DailyCounter = (typeof DAILY_COUNTERS)[number];

export const BREAKDOWN_COUNTERS = ['orders', 'gross_sales_fen', 'refunded_fen', 'commission_fen', 'new_distributors'] as const;
export type BreakdownCounter = (typeof BREAKDOWN_COUNTERS)[number];

/** New slots are drawn from 0..SLOTS-1 when every existing slot of a row is held by others. */
const SLOTS = 64;

/** Tries at a free slot before a transaction gives up and starts over (about 0.4 s of pauses). */
const SLOT_ATTEMPTS = 25;

export interface DistributorDelta {
  id: string;
  orders: number;
  sales: number;
  commission: number;
}

type Key = Record<string, string | RawBuilder<unknown>>;

const eq = (alias: string, key: Key): RawBuilder<unknown> =>
  sql.join(
    Object.entries(key).map(([k, v]) => sql`${ident(`${alias}.${k}`)} = ${v}`),
    sql` and `,
  );

/**
 * UPDATE of the lowest slot of one logical row that no other transaction holds (SKIP LOCKED: it
 * never waits), adding `deltas`; RETURNING one row when it found one.
 */
function slotUpdate(table: SlotTable, key: Key, deltas: Partial<Record<string, number>>): RawBuilder<unknown> {
  const t = ident(table);
  const entries = Object.entries(deltas).filter((e): e is [string, number] => e[1] !== undefined && e[1] !== 0);
  return sql`
    update ${t} as t set ${sql.join(entries.map(([c, v]) => sql`${ident(c)} = ${ident(`t.${c}`)} + ${v}`))}
     where ${eq('t', key)}
       and t.slot = (select s.slot from ${t} as s where ${eq('s', key)} order by s.slot limit 1 for update skip locked)
    returning t.slot`;
}

/** One logical row's deltas, for addToSlots. */
export interface SlotDelta {
  table: SlotTable;
  key: Record<string, string>;
  deltas: Partial<Record<string, number>>;
}

/** Each slot table's key (besides the slot) with its columns' types, and its counters. */
const SLOT_SHAPE: Record<SlotTable, { key: readonly (readonly [string, 'text' | 'date'])[]; counters: readonly string[] }> = {
  analytics_daily: {
    key: [
      ['tenant_id', 'text'],
      ['day', 'date'],
    ],
    counters: DAILY_COUNTERS,
  },
  analytics_breakdown_daily: {
    key: [
      ['tenant_id', 'text'],
      ['level', 'text'],
      ['day', 'date'],
      ['code', 'text'],
    ],
    counters: BREAKDOWN_COUNTERS,
  },
  analytics_breakdown_monthly: {
    key: [
      ['tenant_id', 'text'],
      ['level', 'text'],
      ['month', 'date'],
      ['code', 'text'],
    ],
    counters: BREAKDOWN_COUNTERS,
  },
};

/** The indexes of the updates that found a slot, from slotUpdateCtes' `found`. */
export function slotsFound(found: readonly number[] | null): Set<number> {
  return new Set((found ?? []).map(Number));
}

/** The slot tables in the order a statement updates them. */
const SLOT_TABLES: readonly SlotTable[] = ['analytics_daily', 'analytics_breakdown_daily', 'analytics_breakdown_monthly'];

export interface DistributorDayDelta extends DistributorDelta {
  day: string;
  month: string;
}

export const analyticsRepo = {
  /**
   * Adds `deltas` to one logical row: into the lowest slot no other transaction holds, else into
   * a new slot. Exact under any concurrency (every add is an UPDATE of a row this transaction
   * locked) and it does not wait on other writers: a binding adds to the day's row early in an
   * order's transaction, so a wait here could close a cycle with an order holding the accounts.
   * When every slot stays busy it pauses and tries again, and in the end starts the transaction
   * over (RetryTransaction); it never waits on a row or a lock.
   */
  async addToSlot(
    ex: Executor,
    table: SlotTable,
    key: Record<string, string>,
    deltas: Partial<Record<string, number>>,
    opts: { skipFirstUpdate?: boolean } = {},
  ): Promise<void> {
    const entries = Object.entries(deltas).filter((e): e is [string, number] => e[1] !== undefined && e[1] !== 0);
    if (entries.length === 0) return;
    const t = ident(table);
    const keyCols = Object.keys(key);
    const cols = sql.join([...keyCols, 'slot', ...entries.map(([c]) => c)].map((c) => ident(c)));
    // An insert must never wait, or it can close a cycle with another transaction (deadlock). It
    // would wait on a row of the same slot that another transaction is inserting or updating (not
    // yet committed). So a new slot is only ever one no visible row has (an existing row may be
    // mid-update), and whoever inserts a slot row holds a transaction-scoped advisory lock on that
    // slot first, taken without waiting: two transactions never insert the same slot at once.
    const lockPrefix = `analytics|${table}|${keyCols.map((k) => key[k]).join('|')}|`;
    const keyValues = sql.join(keyCols.map((k) => sql`${key[k]}`));
    const deltaValues = sql.join(entries.map(([, v]) => sql`${v}`));
    // The free slots are listed first (materialized, in slot order) and only then tried one by
    // one until one locks: a try-lock in the same WHERE as the listing would be pushed down to
    // the slot series and taken on every slot before the sort and the limit, so one opener held
    // all 64 and every other transaction found none free.
    const openFreeSlot = () =>
      sql<{ slot: number }>`
      with free as materialized (
        select g.s from generate_series(0, ${SLOTS - 1}) as g(s)
         where not exists (select 1 from ${t} as e where ${eq('e', key)} and e.slot = g.s)
         order by g.s)
      insert into ${t} (${cols})
      select ${keyValues}, x.s, ${deltaValues} from (
        select f.s from free as f where pg_try_advisory_xact_lock(hashtextextended(${lockPrefix} || f.s::text, 0)) limit 1) as x
      on conflict do nothing returning slot`.execute(ex);
    // Never wait for a row or a lock here: this runs late in transactions that hold other rows
    // and locks, and a wait could close a cycle. Every slot busy is brief (each holder commits
    // soon), so try again after a short pause; after a long run of busy slots, start the whole
    // transaction over (it releases what it holds).
    for (let attempt = 0; attempt < SLOT_ATTEMPTS; attempt++) {
      if (attempt > 0) await sql`select pg_sleep(${Math.min(attempt, 10) * 0.002 + Math.random() * 0.002})`.execute(ex);
      if (attempt > 0 || !opts.skipFirstUpdate) {
        const updated = await slotUpdate(table, key, deltas).execute(ex);
        if (updated.rows.length > 0) return;
      }
      if ((await openFreeSlot()).rows.length > 0) return;
    }
    throw new RetryTransaction(`every slot of ${table} ${keyCols.map((k) => key[k]).join('|')} stayed busy`);
  },

  /**
   * What a batch of orders adds to distributors, as common table expressions of the batch's
   * statement (which runs while other orders of the team wait, so it saves them round trips):
   * their daily and monthly rows, in (distributor, day) order, then the sellers' latest order
   * days, in id order, all after the WITH entry `after` (the ledger's: accounts are locked
   * before rollup rows everywhere). `moved` (a scalar subquery, JSON) answers each seller whose
   * latest order day moved, with the day it moved from.
   */
  distributorOrdersCtes(
    tenantId: string,
    rows: DistributorDayDelta[],
    sellers: { id: string; day: string }[],
    after: string,
  ): { ctes: RawBuilder<unknown>[]; moved: RawBuilder<{ id: string; day: string; prev: string | null }[] | null> } {
    const byMonth = new Map<string, DistributorDayDelta>();
    for (const r of rows) {
      const k = `${r.id}|${r.month}`;
      const m = byMonth.get(k);
      if (m) {
        m.orders += r.orders;
        m.sales += r.sales;
        m.commission += r.commission;
      } else byMonth.set(k, { ...r });
    }
    const months = [...byMonth.values()];
    return {
      ctes: [
        sql`analytics_days as (
          insert into analytics_distributor_daily as t (distributor_id, day, tenant_id, orders, sales_fen, commission_fen)
          select v.id, v.day, ${tenantId}, v.orders, v.sales, v.commission
            from unnest(${rows.map((x) => x.id)}::text[], ${rows.map((x) => x.day)}::date[], ${rows.map((x) => x.orders)}::int[],
                        ${rows.map((x) => x.sales)}::bigint[], ${rows.map((x) => x.commission)}::bigint[]) with ordinality as v(id, day, orders, sales, commission, n)
           where (select count(*) from ${sql.raw(after)}) >= 0
           order by v.n
          on conflict (distributor_id, day) do update
            set orders = t.orders + excluded.orders, sales_fen = t.sales_fen + excluded.sales_fen, commission_fen = t.commission_fen + excluded.commission_fen
          returning 1)`,
        sql`analytics_months as (
          insert into analytics_distributor_monthly as t (distributor_id, month, tenant_id, orders, sales_fen, commission_fen)
          select m.id, m.month, ${tenantId}, m.orders, m.sales, m.commission
            from unnest(${months.map((x) => x.id)}::text[], ${months.map((x) => x.month)}::date[], ${months.map((x) => x.orders)}::int[],
                        ${months.map((x) => x.sales)}::bigint[], ${months.map((x) => x.commission)}::bigint[]) with ordinality as m(id, month, orders, sales, commission, n)
           where (select count(*) from analytics_days) >= 0
           order by m.n
          on conflict (distributor_id, month) do update
            set orders = t.orders + excluded.orders, sales_fen = t.sales_fen + excluded.sales_fen, commission_fen = t.commission_fen + excluded.commission_fen
          returning 1)`,
        sql`analytics_latest as (
          insert into analytics_distributor_activity as a (distributor_id, tenant_id, last_order_day)
          select s.id, ${tenantId}, s.day from unnest(${sellers.map((x) => x.id)}::text[], ${sellers.map((x) => x.day)}::date[]) with ordinality as s(id, day, n)
           where (select count(*) from analytics_months) >= 0
           order by s.n
          on conflict (distributor_id) do update set prev_order_day = a.last_order_day, last_order_day = excluded.last_order_day
            where a.last_order_day < excluded.last_order_day
          returning distributor_id, last_order_day, prev_order_day)`,
      ],
      moved: sql`(select json_agg(json_build_object('id', distributor_id, 'day', last_order_day::text, 'prev', prev_order_day::text)) from analytics_latest)`,
    };
  },

  /**
   * Adds to many logical slot rows, each into its lowest slot no other transaction holds (SKIP
   * LOCKED: it never waits), as common table expressions of the caller's statement: two per
   * table whatever the number of rows (the rows travel as arrays, every counter of the table
   * with 0 where it does not move), so the statement's text is one of a few and stays prepared.
   * `found` (a scalar subquery, JSON) answers the indexes in `updates` that found a slot; the
   * caller opens a slot (addToSlot) for the others. With `latestMoves`, each day row of
   * analytics_daily also moves by the sellers whose latest order day moved to it (+1) or from it
   * (−1), as the statement's `analytics_latest` entry (distributorOrdersCtes) answers them.
   */
  slotUpdateCtes(updates: readonly SlotDelta[], opts: { latestMoves?: boolean } = {}): { ctes: RawBuilder<unknown>[]; found: RawBuilder<number[] | null> } {
    // A row twice would pick the same slot twice, and an UPDATE moves a row once: one delta lost.
    const keys = new Set(updates.map((u) => `${u.table}|${Object.values(u.key).join('|')}`));
    if (keys.size !== updates.length) throw new Error('slotUpdateCtes takes each logical row once');
    const ctes: RawBuilder<unknown>[] = [];
    const sets: RawBuilder<unknown>[] = [];
    for (const table of SLOT_TABLES) {
      const rows = [...updates.entries()].filter(([, u]) => u.table === table);
      if (rows.length === 0) continue;
      const { key, counters } = SLOT_SHAPE[table];
      const t = ident(table);
      const pick = ident(`slot_pick_${table}`);
      const set = ident(`slot_set_${table}`);
      const arrays = [
        ...key.map(([c, type]) => sql`${rows.map(([, u]) => u.key[c] ?? null)}::${sql.raw(type)}[]`),
        ...counters.map((c) => sql`${rows.map(([, u]) => u.deltas[c] ?? 0)}::bigint[]`),
        sql`${rows.map(([i]) => i)}::int[]`,
      ];
      const names = sql.join([...key.map(([c]) => ident(c)), ...counters.map((c) => ident(c)), sql`i`]);
      const match = (a: string, b: string) =>
        sql.join(
          key.map(([c]) => sql`${ident(`${a}.${c}`)} = ${ident(`${b}.${c}`)}`),
          sql` and `,
        );
      const moves = (c: string) =>
        opts.latestMoves && table === 'analytics_daily' && c === 'last_order_distributors'
          ? sql` + (select count(*) from analytics_latest m where m.last_order_day = v.day) - (select count(*) from analytics_latest m where m.prev_order_day = v.day)`
          : sql``;
      ctes.push(
        sql`${pick} as materialized (
          select v.*, (select s.slot from ${t} as s where ${match('s', 'v')} order by s.slot limit 1 for update skip locked) as slot
            from unnest(${sql.join(arrays)}) as v(${names}))`,
        sql`${set} as (
          update ${t} as t set ${sql.join(counters.map((c) => sql`${ident(c)} = ${ident(`t.${c}`)} + v.${ident(c)}${moves(c)}`))}
            from ${pick} as v
           where v.slot is not null and ${match('t', 'v')} and t.slot = v.slot
          returning v.i)`,
      );
      sets.push(sql`select i from ${set}`);
    }
    return { ctes, found: sets.length > 0 ? sql`(select coalesce(json_agg(f.i), '[]'::json) from (${sql.join(sets, sql` union all `)}) as f)` : sql`null` };
  },

  /**
   * Adds to many logical slot rows in one statement (slotUpdateCtes), then opens a slot for each
   * that found none free (addToSlot).
   */
  async addToSlots(ex: Executor, updates: SlotDelta[]): Promise<void> {
    if (updates.length === 0) return;
    const plan = analyticsRepo.slotUpdateCtes(updates);
    const r = await sql<{ found: number[] | null }>`with ${sql.join(plan.ctes)} select ${plan.found} as found`.execute(ex);
    const found = slotsFound(r.rows[0]?.found ?? null);
    for (const [i, u] of updates.entries()) {
      if (found.has(i)) continue;
      await analyticsRepo.addToSlot(ex, u.table, u.key, u.deltas, { skipFirstUpdate: true });
    }
  },

  /**
   * Adds to distributors' daily and monthly rows, in distributor id order (concurrent writers of
   * overlapping sets lock them in the same order).
   */
  async addToDistributors(ex: Executor, tenantId: string, day: string, month: string, rows: DistributorDelta[]): Promise<void> {
    const live = rows.filter((r) => r.orders !== 0 || r.sales !== 0 || r.commission !== 0).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (live.length === 0) return;
    const ids = live.map((r) => r.id);
    const orders = live.map((r) => r.orders);
    const sales = live.map((r) => r.sales);
    const commission = live.map((r) => r.commission);
    await sql`
      with v as (
        select * from unnest(${ids}::text[], ${orders}::int[], ${sales}::bigint[], ${commission}::bigint[]) with ordinality as v(id, orders, sales, commission, n)
      ), d as (
        insert into analytics_distributor_daily as t (distributor_id, day, tenant_id, orders, sales_fen, commission_fen)
        select v.id, ${day}::date, ${tenantId}, v.orders, v.sales, v.commission from v order by v.n
        on conflict (distributor_id, day) do update
          set orders = t.orders + excluded.orders, sales_fen = t.sales_fen + excluded.sales_fen, commission_fen = t.commission_fen + excluded.commission_fen
        returning 1
      )
      insert into analytics_distributor_monthly as t (distributor_id, month, tenant_id, orders, sales_fen, commission_fen)
      select v.id, ${month}::date, ${tenantId}, v.orders, v.sales, v.commission from v where (select count(*) from d) >= 0 order by v.n
      on conflict (distributor_id, month) do update
        set orders = t.orders + excluded.orders, sales_fen = t.sales_fen + excluded.sales_fen, commission_fen = t.commission_fen + excluded.commission_fen`.execute(
      ex,
    );
  },

  /** Commission lines with their beneficiary and their order's payment and seller. */
  async linesOf(ex: Executor, tenantId: string, ids: string[]) {
    return ex
      .selectFrom('commissions as c')
      .innerJoin('orders as o', 'o.id', 'c.order_id')
      .select(['c.id', 'c.beneficiary_id', 'o.paid_at', 'o.seller_id'])
      .where('c.tenant_id', '=', tenantId)
      .where('c.id', 'in', ids)
      .execute();
  },

  async segmentOf(ex: Executor, tenantId: string, distributorId: string): Promise<{ grade_code: string; region_code: string | null } | undefined> {
    return ex
      .selectFrom('distributors')
      .select(['grade_code', 'region_code'])
      .where('tenant_id', '=', tenantId)
      .where('id', '=', distributorId)
      .executeTakeFirst();
  },

  // ------------------------------------------------------------------------------- reading

  /**
   * One pass over the tenant's daily rows: the period's sums, the all-time ledger sums (the
   * balances), distributors up to `to`, and the latest-order histogram from `activeFrom` on.
   */
  async kpiSums(ex: Executor, tenantId: string, from: string, to: string, activeFrom: string) {
    const inRange = sql`t.day between ${from}::date and ${to}::date`;
    const r = await sql<Record<string, number | null>>`
      select
        sum(t.orders) filter (where ${inRange})::bigint as orders,
        sum(t.gross_sales_fen) filter (where ${inRange})::bigint as gross_sales_fen,
        sum(t.refunded_fen) filter (where ${inRange})::bigint as refunded_fen,
        sum(t.refunds) filter (where ${inRange})::bigint as refunds,
        sum(t.commission_fen) filter (where ${inRange})::bigint as commission_fen,
        sum(t.commission_reversed_fen) filter (where ${inRange})::bigint as commission_reversed_fen,
        sum(t.new_distributors) filter (where ${inRange})::bigint as new_distributors,
        sum(t.new_distributors) filter (where t.day <= ${to}::date)::bigint as distributors,
        sum(t.new_bindings) filter (where ${inRange})::bigint as new_bindings,
        sum(t.visits) filter (where ${inRange})::bigint as visits,
        sum(t.ledger_withdrawn_fen) filter (where ${inRange})::bigint as withdrawn_fen,
        sum(t.ledger_fee_income_fen) filter (where ${inRange})::bigint as withdrawal_fee_fen,
        sum(t.settled_fen) filter (where ${inRange})::bigint as settled_fen,
        sum(t.made_available_fen) filter (where ${inRange})::bigint as made_available_fen,
        sum(t.last_order_distributors) filter (where t.day >= ${activeFrom}::date)::bigint as active_distributors,
        sum(t.ledger_pending_fen)::bigint as pending_fen,
        sum(t.ledger_available_fen)::bigint as available_fen,
        sum(t.ledger_withdrawable_fen)::bigint as withdrawable_fen,
        sum(t.ledger_withdrawing_fen)::bigint as withdrawing_fen,
        sum(t.ledger_clearing_fen)::bigint as in_flight_fen,
        sum(t.ledger_withdrawn_fen)::bigint as withdrawn_total_fen,
        sum(t.ledger_expense_fen)::bigint as expense_fen
      from analytics_daily t where t.tenant_id = ${tenantId}`.execute(ex);
    const row = r.rows[0] ?? {};
    const n = (k: string) => Number(row[k] ?? 0);
    return {
      orders: n('orders'),
      gross_sales_fen: n('gross_sales_fen'),
      refunded_fen: n('refunded_fen'),
      refunds: n('refunds'),
      commission_fen: n('commission_fen'),
      commission_reversed_fen: n('commission_reversed_fen'),
      new_distributors: n('new_distributors'),
      distributors: n('distributors'),
      new_bindings: n('new_bindings'),
      visits: n('visits'),
      withdrawn_fen: n('withdrawn_fen'),
      withdrawal_fee_fen: n('withdrawal_fee_fen'),
      settled_fen: n('settled_fen'),
      made_available_fen: n('made_available_fen'),
      active_distributors: n('active_distributors'),
      pending_fen: n('pending_fen'),
      available_fen: n('available_fen'),
      withdrawable_fen: n('withdrawable_fen'),
      withdrawing_fen: n('withdrawing_fen'),
      in_flight_fen: n('in_flight_fen'),
      withdrawn_total_fen: n('withdrawn_total_fen'),
      expense_fen: n('expense_fen'),
    };
  },

  /** Per period, the sum of one column expression of the daily rows. */
  async series(ex: Executor, tenantId: string, metric: Metric, from: string, to: string, trunc: 'day' | 'week' | 'month'): Promise<Map<string, number>> {
    const expr = SERIES_EXPR[metric];
    const period = trunc === 'day' ? sql`t.day` : sql`date_trunc(${trunc}, t.day)::date`;
    const r = await sql<{ period: string; value: number | null }>`
      select (${period})::text as period, sum(${expr})::bigint as value
        from analytics_daily t
       where t.tenant_id = ${tenantId} and t.day between ${from}::date and ${to}::date
       group by 1`.execute(ex);
    return new Map(r.rows.map((x) => [x.period, Number(x.value ?? 0)]));
  },

  /**
   * One level's sums over whole months and loose days, by code: the monthly and daily rows of
   * that level only (one index range each), a few rows per code and period.
   */
  async breakdown(ex: Executor, tenantId: string, parts: RangeParts, level: BreakdownLevel) {
    const days = parts.dayRuns.length
      ? sql.join(
          parts.dayRuns.map(([a, b]) => sql`day between ${a}::date and ${b}::date`),
          sql` or `,
        )
      : sql`false`;
    const months = parts.monthSpan ? sql`month between ${parts.monthSpan[0]}::date and ${parts.monthSpan[1]}::date` : sql`false`;
    const r = await sql<{ key: string; orders: number; gross_sales_fen: number; refunded_fen: number; commission_fen: number; new_distributors: number }>`
      select code as key, sum(orders)::bigint as orders, sum(gross_sales_fen)::bigint as gross_sales_fen, sum(refunded_fen)::bigint as refunded_fen,
             sum(commission_fen)::bigint as commission_fen, sum(new_distributors)::bigint as new_distributors
        from (
          select code, orders, gross_sales_fen, refunded_fen, commission_fen, new_distributors
            from analytics_breakdown_monthly where tenant_id = ${tenantId} and level = ${level} and (${months})
          union all
          select code, orders, gross_sales_fen, refunded_fen, commission_fen, new_distributors
            from analytics_breakdown_daily where tenant_id = ${tenantId} and level = ${level} and (${days})
        ) s
       group by code`.execute(ex);
    return r.rows.map((x) => ({
      key: x.key,
      orders: Number(x.orders),
      gross_sales_fen: Number(x.gross_sales_fen),
      refunded_fen: Number(x.refunded_fen),
      commission_fen: Number(x.commission_fen),
      new_distributors: Number(x.new_distributors),
    }));
  },

  /**
   * The first `depth` entries of each period's ranking by `metric`, all periods in one statement
   * (each a short index range on (tenant, period, metric desc)).
   */
  async rankings(ex: Executor, tenantId: string, metric: 'sales_fen' | 'commission_fen', months: string[], days: string[], depth: number) {
    const m = ident(metric);
    const r = await sql<{ list: string; distributor_id: string; value: number }>`
      select 'm' || l.k::text as list, x.distributor_id, x.value
        from unnest(${months}::date[]) as l(k)
        cross join lateral (
          select distributor_id, ${m} as value from analytics_distributor_monthly
           where tenant_id = ${tenantId} and month = l.k and ${m} > 0 order by ${m} desc, distributor_id limit ${depth}
        ) x
      union all
      select 'd' || l.k::text as list, x.distributor_id, x.value
        from unnest(${days}::date[]) as l(k)
        cross join lateral (
          select distributor_id, ${m} as value from analytics_distributor_daily
           where tenant_id = ${tenantId} and day = l.k and ${m} > 0 order by ${m} desc, distributor_id limit ${depth}
        ) x`.execute(ex);
    return r.rows.map((x) => ({ list: x.list, distributor_id: x.distributor_id, value: Number(x.value) }));
  },

  /**
   * Exact totals over the range for the given distributors: per distributor, one index range of
   * its monthly rows and one of its daily rows per run of loose days.
   */
  async totalsFor(ex: Executor, ids: string[], parts: RangeParts) {
    if (ids.length === 0) return [];
    const pieces: RawBuilder<unknown>[] = [];
    if (parts.monthSpan) {
      pieces.push(sql`select sum(orders) as orders, sum(sales_fen) as sales_fen, sum(commission_fen) as commission_fen from analytics_distributor_monthly
        where distributor_id = v.id and month between ${parts.monthSpan[0]}::date and ${parts.monthSpan[1]}::date`);
    }
    for (const [a, b] of parts.dayRuns) {
      pieces.push(sql`select sum(orders) as orders, sum(sales_fen) as sales_fen, sum(commission_fen) as commission_fen from analytics_distributor_daily
        where distributor_id = v.id and day between ${a}::date and ${b}::date`);
    }
    if (pieces.length === 0) return [];
    const r = await sql<{ distributor_id: string; orders: number | null; sales_fen: number | null; commission_fen: number | null }>`
      select v.id as distributor_id, sum(p.orders)::bigint as orders, sum(p.sales_fen)::bigint as sales_fen, sum(p.commission_fen)::bigint as commission_fen
        from unnest(${ids}::text[]) as v(id)
        cross join lateral (${sql.join(pieces, sql` union all `)}) p
       group by v.id`.execute(ex);
    return r.rows.map((x) => ({
      distributor_id: x.distributor_id,
      orders: Number(x.orders ?? 0),
      sales_fen: Number(x.sales_fen ?? 0),
      commission_fen: Number(x.commission_fen ?? 0),
    }));
  },

  /** The same for every distributor of the tenant (the fallback when rankings are flat). */
  async totalsAll(ex: Executor, tenantId: string, metric: 'sales_fen' | 'commission_fen', parts: RangeParts, limit: number) {
    const m = ident(metric);
    const days = parts.dayRuns.length
      ? sql.join(
          parts.dayRuns.map(([a, b]) => sql`day between ${a}::date and ${b}::date`),
          sql` or `,
        )
      : sql`false`;
    const months = parts.monthSpan ? sql`month between ${parts.monthSpan[0]}::date and ${parts.monthSpan[1]}::date` : sql`false`;
    const r = await sql<{ distributor_id: string; orders: number; sales_fen: number; commission_fen: number }>`
      select distributor_id, sum(orders)::bigint as orders, sum(sales_fen)::bigint as sales_fen, sum(commission_fen)::bigint as commission_fen
        from (
          select distributor_id, orders, sales_fen, commission_fen from analytics_distributor_monthly where tenant_id = ${tenantId} and (${months})
          union all
          select distributor_id, orders, sales_fen, commission_fen from analytics_distributor_daily where tenant_id = ${tenantId} and (${days})
        ) s
       group by distributor_id having sum(${m}) > 0
       order by sum(${m}) desc, distributor_id limit ${limit}`.execute(ex);
    return r.rows.map((x) => ({
      distributor_id: x.distributor_id,
      orders: Number(x.orders),
      sales_fen: Number(x.sales_fen),
      commission_fen: Number(x.commission_fen),
    }));
  },

  /** One distributor's daily rows in [from, to]. */
  async distributorDays(ex: Executor, distributorId: string, from: string, to: string) {
    const r = await sql<{ day: string; orders: number; sales_fen: number; commission_fen: number }>`
      select day::text as day, orders, sales_fen, commission_fen from analytics_distributor_daily
       where distributor_id = ${distributorId} and day between ${from}::date and ${to}::date order by day`.execute(ex);
    return r.rows.map((x) => ({ day: x.day, orders: Number(x.orders), sales_fen: Number(x.sales_fen), commission_fen: Number(x.commission_fen) }));
  },

  /** The funnel's counts for one distributor between two instants, from the base tables' per-distributor indexes. */
  async funnelCounts(ex: Executor, tenantId: string, distributorId: string, start: Date, end: Date) {
    const [visits, bindings, orders, unpaid] = await Promise.all([
      sql<{ visits: number; visitors: number }>`
        select count(*)::bigint as visits, count(distinct visitor_id)::bigint as visitors from visits
         where distributor_id = ${distributorId} and tenant_id = ${tenantId} and at >= ${start} and at < ${end}`.execute(ex),
      sql<{ bindings: number }>`
        select count(*)::bigint as bindings from binding_events
         where to_distributor_id = ${distributorId} and tenant_id = ${tenantId} and kind in ('bind', 'rebind') and at >= ${start} and at < ${end}`.execute(ex),
      sql<{ orders: number; buyers: number; sales_fen: number | null }>`
        select count(*)::bigint as orders, count(distinct buyer_external_id)::bigint as buyers, sum(paid_fen - refunded_fen)::bigint as sales_fen from orders
         where seller_id = ${distributorId} and tenant_id = ${tenantId} and paid_at >= ${start} and paid_at < ${end}`.execute(ex),
      // Unpaid orders (no paid_at) placed in the range, by the seller they would be credited to.
      sql<{ pending: number; closed: number }>`
        select count(*) filter (where status = 'pending_payment')::bigint as pending, count(*) filter (where status = 'closed')::bigint as closed from orders
         where seller_id = ${distributorId} and tenant_id = ${tenantId} and paid_at is null and created_at >= ${start} and created_at < ${end}`.execute(ex),
    ]);
    return {
      pending_payment_orders: Number(unpaid.rows[0]?.pending ?? 0),
      closed_orders: Number(unpaid.rows[0]?.closed ?? 0),
      visits: Number(visits.rows[0]?.visits ?? 0),
      unique_visitors: Number(visits.rows[0]?.visitors ?? 0),
      bindings: Number(bindings.rows[0]?.bindings ?? 0),
      orders: Number(orders.rows[0]?.orders ?? 0),
      buyers: Number(orders.rows[0]?.buyers ?? 0),
      sales_fen: Number(orders.rows[0]?.sales_fen ?? 0),
    };
  },

  /** The tenant's unpaid orders placed between two instants: still awaiting payment, and closed unpaid (not in any rollup: they have no paid_at). */
  async unpaidCounts(ex: Executor, tenantId: string, start: Date, end: Date) {
    const r = await sql<{ pending: number; closed: number }>`
      select count(*) filter (where status = 'pending_payment')::bigint as pending, count(*) filter (where status = 'closed')::bigint as closed from orders
       where tenant_id = ${tenantId} and paid_at is null and created_at >= ${start} and created_at < ${end}`.execute(ex);
    return { pending_payment_orders: Number(r.rows[0]?.pending ?? 0), closed_orders: Number(r.rows[0]?.closed ?? 0) };
  },

  // ——— what the reports name (other modules' rows, read) ———

  async distributorExists(ex: Executor, tenantId: string, distributorId: string) {
    return ex.selectFrom('distributors').select('id').where('tenant_id', '=', tenantId).where('id', '=', distributorId).executeTakeFirst();
  },

  async distributorsInfo(ex: Executor, tenantId: string, ids: string[]) {
    return ex
      .selectFrom('distributors')
      .select(['id', 'external_id', 'name', 'grade_code', 'region_code'])
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', ids)
      .execute();
  },

  async gradeNames(ex: Executor, tenantId: string) {
    return ex.selectFrom('grades').select(['code', 'name']).where('tenant_id', '=', tenantId).execute();
  },
};

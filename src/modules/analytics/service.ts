import { regionName } from '../../lib/regions.ts';
import type { Db } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { invalid, notFound } from '../../core/errors.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import { localDate } from '../../core/time.ts';
import type { Ledger } from '../ledger/service.ts';
import type { ProgramService } from '../program/service.ts';
import { analyticsRepo } from './repo.ts';
import { addDays, daysBetween, parseDay, periodOf, periodsBetween, rangeParts, rateBp, startOfLocalDay, type Interval } from './periods.ts';
import type { KpisView, Metric } from './schema.ts';
import { round, thresholdReached } from './topk.ts';

/** The longest range any analytics query takes, and the most points a series answers. */
export const MAX_RANGE_DAYS = 3660;
export const MAX_POINTS = 1100;
/** Top-N reads each period's ranking this deep at first, then four times deeper each round. */
const FIRST_DEPTH = 40;
/** Beyond this many ranking rows in one round, summing every distributor is cheaper. */
const MAX_RANKING_ROWS = 250_000;

interface Range {
  from: string;
  to: string;
  timezone: string;
  today: string;
}

/**
 * The dashboard and portal figures, read from the rollups the recorder keeps: a KPI or a series
 * reads the tenant's daily rows (a few per day), a breakdown its level's monthly and daily rows, top-N a little
 * of each period's ranking, never the orders.
 */
export function createAnalyticsService(deps: { db: Db; clock: Clock; program: ProgramService; ledger: Ledger }) {
  const { db, clock, program, ledger } = deps;

  async function rangeOf(tenantId: string, q: { from?: string | undefined; to?: string | undefined }): Promise<Range> {
    const timezone = (await program.read(db, tenantId)).timezone;
    const today = localDate(clock.now(), timezone);
    const to = q.to === undefined ? today : parseDay(q.to);
    if (to === null) throw invalid({ en: 'to is not a calendar date (YYYY-MM-DD)', zh: 'to 不是有效的日期（YYYY-MM-DD）' });
    const from = q.from === undefined ? addDays(to, -29) : parseDay(q.from);
    if (from === null) throw invalid({ en: 'from is not a calendar date (YYYY-MM-DD)', zh: 'from 不是有效的日期（YYYY-MM-DD）' });
    if (from > to) throw invalid({ en: 'from is after to', zh: 'from 晚于 to' });
    if (daysBetween(from, to) >= MAX_RANGE_DAYS)
      throw invalid({ en: `a range covers at most ${MAX_RANGE_DAYS} days`, zh: `时间范围至多 ${MAX_RANGE_DAYS} 天` });
    return { from, to, timezone, today };
  }

  const rangeView = (r: Range) => ({ from: r.from, to: r.to, timezone: r.timezone });

  function tenantReader(actor: Actor): string {
    requirePermission(actor.principal, 'read');
    return tenantOf(actor.principal);
  }

  async function funnelOf(tenantId: string, distributorId: string, r: Range) {
    const exists = await analyticsRepo.distributorExists(db, tenantId, distributorId);
    if (!exists) throw notFound('distributor');
    const start = startOfLocalDay(r.from, r.timezone);
    const end = startOfLocalDay(addDays(r.to, 1), r.timezone);
    const [c, days] = await Promise.all([
      analyticsRepo.funnelCounts(db, tenantId, distributorId, start, end),
      analyticsRepo.distributorDays(db, distributorId, r.from, r.to),
    ]);
    return {
      range: rangeView(r),
      distributor_id: distributorId,
      ...c,
      commission_fen: days.reduce((s, d) => s + d.commission_fen, 0),
      visit_to_binding_bp: rateBp(c.bindings, c.unique_visitors),
      binding_to_order_bp: rateBp(c.buyers, c.bindings),
      visit_to_order_bp: rateBp(c.buyers, c.unique_visitors),
    };
  }

  /**
   * Top-k distributors by sales or commission over the range, exactly: the threshold algorithm
   * over the rankings of the range's whole months and loose days, reading each a little deeper
   * every round until nobody unread can overtake the k-th best.
   */
  async function topOf(tenantId: string, metric: 'sales_fen' | 'commission_fen', r: Range, k: number) {
    const parts = rangeParts(r.from, r.to);
    const lists = parts.months.length + parts.days.length;
    type Totals = { distributor_id: string; orders: number; sales_fen: number; commission_fen: number };
    const order = (a: Totals, b: Totals) => b[metric] - a[metric] || (a.distributor_id < b.distributor_id ? -1 : a.distributor_id > b.distributor_id ? 1 : 0);
    const known = new Map<string, Totals>();
    let best: Totals[] | undefined;
    for (let depth = Math.max(FIRST_DEPTH, 4 * k); depth * lists <= MAX_RANKING_ROWS; depth *= 4) {
      const rows = await analyticsRepo.rankings(db, tenantId, metric, parts.months, parts.days, depth);
      const { threshold, exhausted, contenders } = round(rows, depth, k);
      // Exact totals of the contenders only, each looked up once across rounds.
      const fresh = contenders.filter((id) => !known.has(id));
      for (const t of await analyticsRepo.totalsFor(db, fresh, parts)) known.set(t.distributor_id, t);
      const totals = contenders
        .map((id) => known.get(id))
        .filter((t): t is Totals => t !== undefined && t[metric] > 0)
        .sort(order);
      if (
        thresholdReached(
          totals.map((t) => t[metric]),
          k,
          threshold,
          exhausted,
        )
      ) {
        best = totals.slice(0, k);
        break;
      }
    }
    best ??= await analyticsRepo.totalsAll(db, tenantId, metric, parts, k);
    const ids = best.map((b) => b.distributor_id);
    const info = ids.length ? await analyticsRepo.distributorsInfo(db, tenantId, ids) : [];
    const byId = new Map(info.map((d) => [d.id, d]));
    return best.map((b, i) => {
      const d = byId.get(b.distributor_id);
      return {
        rank: i + 1,
        distributor_id: b.distributor_id,
        external_id: d?.external_id ?? '',
        name: d?.name ?? '',
        grade: d?.grade_code ?? '',
        region_code: d?.region_code ?? null,
        region_name: regionName(d?.region_code),
        orders: b.orders,
        sales_fen: b.sales_fen,
        commission_fen: b.commission_fen,
      };
    });
  }

  return {
    async kpis(actor: Actor, q: { from?: string | undefined; to?: string | undefined }): Promise<KpisView> {
      const tenantId = tenantReader(actor);
      const r = await rangeOf(tenantId, q);
      // Active distributors are a figure of now, like the balances: sold in the 30 days up to today
      // (the latest-order histogram answers that with a month of daily rows, whatever the range).
      const activeFrom = addDays(r.today, -29);
      const [s, unpaid] = await Promise.all([
        analyticsRepo.kpiSums(db, tenantId, r.from, r.to, activeFrom),
        analyticsRepo.unpaidCounts(db, tenantId, startOfLocalDay(r.from, r.timezone), startOfLocalDay(addDays(r.to, 1), r.timezone)),
      ]);
      return {
        range: rangeView(r),
        sales_fen: s.gross_sales_fen - s.refunded_fen,
        gross_sales_fen: s.gross_sales_fen,
        refunded_fen: s.refunded_fen,
        orders: s.orders,
        ...unpaid,
        refunds: s.refunds,
        commission_fen: s.commission_fen,
        commission_reversed_fen: s.commission_reversed_fen,
        distributors: s.distributors,
        new_distributors: s.new_distributors,
        active_distributors: s.active_distributors,
        active_window: { from: activeFrom, to: r.today },
        new_bindings: s.new_bindings,
        visits: s.visits,
        settled_fen: s.settled_fen,
        withdrawn_fen: s.withdrawn_fen,
        withdrawal_fee_fen: s.withdrawal_fee_fen,
        balances: {
          pending_fen: s.pending_fen,
          available_fen: s.available_fen,
          withdrawable_fen: s.withdrawable_fen,
          withdrawing_fen: s.withdrawing_fen + s.in_flight_fen,
          withdrawn_fen: s.withdrawn_total_fen,
          commission_expense_fen: -s.expense_fen,
        },
      };
    },

    async timeseries(actor: Actor, q: { from?: string | undefined; to?: string | undefined; metric: Metric; interval?: Interval | undefined }) {
      const tenantId = tenantReader(actor);
      const r = await rangeOf(tenantId, q);
      const interval = q.interval ?? 'day';
      const periods = periodsBetween(r.from, r.to, interval);
      if (periods.length > MAX_POINTS)
        throw invalid({
          en: `at most ${MAX_POINTS} points: choose a longer interval or a shorter range`,
          zh: `至多 ${MAX_POINTS} 个数据点：请选择更长的间隔或更短的时间范围`,
        });
      const values = await analyticsRepo.series(db, tenantId, q.metric, r.from, r.to, interval);
      const points = periods.map((period) => ({ period, value: values.get(period) ?? 0 }));
      return { range: rangeView(r), metric: q.metric, interval, total: points.reduce((s, p) => s + p.value, 0), points };
    },

    async breakdown(actor: Actor, q: { from?: string | undefined; to?: string | undefined; by: 'grade' | 'region'; level?: 'province' | 'city' | undefined }) {
      const tenantId = tenantReader(actor);
      const r = await rangeOf(tenantId, q);
      const level = q.by === 'region' ? (q.level ?? 'province') : null;
      const rows = await analyticsRepo.breakdown(db, tenantId, rangeParts(r.from, r.to), q.by === 'grade' ? 'grade' : (level ?? 'province'));
      const names = new Map<string, string>();
      if (q.by === 'grade') {
        for (const g of await analyticsRepo.gradeNames(db, tenantId)) names.set(g.code, g.name);
      } else {
        // Province and city names from GB/T 2260 (src/lib/regions.ts); a municipality's city reads as the municipality.
        for (const x of rows) if (x.key !== '') names.set(x.key, regionName(x.key) ?? x.key);
      }
      const items = rows
        .map((x) => ({
          key: x.key === '' ? null : x.key,
          name: x.key === '' ? null : (names.get(x.key) ?? null),
          orders: x.orders,
          gross_sales_fen: x.gross_sales_fen,
          refunded_fen: x.refunded_fen,
          sales_fen: x.gross_sales_fen - x.refunded_fen,
          commission_fen: x.commission_fen,
          new_distributors: x.new_distributors,
        }))
        .sort((a, b) => b.sales_fen - a.sales_fen || b.new_distributors - a.new_distributors || String(a.key).localeCompare(String(b.key)));
      const totals = { orders: 0, gross_sales_fen: 0, refunded_fen: 0, sales_fen: 0, commission_fen: 0, new_distributors: 0 };
      for (const i of items) for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += i[k];
      return { range: rangeView(r), by: q.by, level, items, totals };
    },

    async top(
      actor: Actor,
      q: { from?: string | undefined; to?: string | undefined; metric?: 'sales' | 'commission' | undefined; limit?: number | undefined },
    ) {
      const tenantId = tenantReader(actor);
      const r = await rangeOf(tenantId, q);
      const metric = q.metric ?? 'sales';
      return { range: rangeView(r), metric, items: await topOf(tenantId, metric === 'sales' ? 'sales_fen' : 'commission_fen', r, q.limit ?? 10) };
    },

    async funnel(actor: Actor, q: { from?: string | undefined; to?: string | undefined; distributor_id: string }) {
      const tenantId = tenantReader(actor);
      return funnelOf(tenantId, q.distributor_id, await rangeOf(tenantId, q));
    },

    /** The logged-in distributor's own funnel. */
    async myFunnel(actor: Actor, q: { from?: string | undefined; to?: string | undefined }) {
      const p = actor.principal;
      if (p.kind !== 'distributor') throw notFound('distributor');
      return funnelOf(p.tenantId, p.distributorId, await rangeOf(p.tenantId, q));
    },

    /** The logged-in distributor's earnings: period figures by day, week or month, and balances now. */
    async myEarnings(actor: Actor, q: { from?: string | undefined; to?: string | undefined; interval?: Interval | undefined }) {
      const p = actor.principal;
      if (p.kind !== 'distributor') throw notFound('distributor');
      const r = await rangeOf(p.tenantId, q);
      const interval = q.interval ?? 'day';
      const periods = periodsBetween(r.from, r.to, interval);
      if (periods.length > MAX_POINTS)
        throw invalid({
          en: `at most ${MAX_POINTS} points: choose a longer interval or a shorter range`,
          zh: `至多 ${MAX_POINTS} 个数据点：请选择更长的间隔或更短的时间范围`,
        });
      const [days, b] = await Promise.all([analyticsRepo.distributorDays(db, p.distributorId, r.from, r.to), ledger.balances(db, p.tenantId, p.distributorId)]);
      const byPeriod = new Map(periods.map((period) => [period, { period, orders: 0, sales_fen: 0, commission_fen: 0 }]));
      for (const d of days) {
        const x = byPeriod.get(periodOf(d.day, interval));
        if (!x) throw new Error(`day ${d.day} falls outside the periods of its own range`);
        x.orders += d.orders;
        x.sales_fen += d.sales_fen;
        x.commission_fen += d.commission_fen;
      }
      const points = [...byPeriod.values()];
      return {
        range: rangeView(r),
        orders: points.reduce((s, x) => s + x.orders, 0),
        sales_fen: points.reduce((s, x) => s + x.sales_fen, 0),
        commission_fen: points.reduce((s, x) => s + x.commission_fen, 0),
        balances: {
          pending_fen: b.pending,
          available_fen: b.available,
          withdrawable_fen: b.withdrawable,
          withdrawing_fen: b.withdrawing + b.in_flight,
          withdrawn_fen: b.withdrawn,
        },
        points,
      };
    },
  };
}

export type AnalyticsService = ReturnType<typeof createAnalyticsService>;

import type { RawBuilder } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { Clock } from '../../core/context.ts';
import { localDate, paidMoment } from '../../core/time.ts';
import type { ProgramService } from '../program/service.ts';
import {
  analyticsRepo,
  type DailyCounter,
  type DistributorDayDelta,
  type BreakdownCounter,
  type BreakdownLevel,
  type DistributorDelta,
  type SlotDelta,
  type SlotTable,
  slotsFound,
} from './repo.ts';
import { cityOf, monthOf, provinceOf } from './periods.ts';

/** What happened, as the service where it happened tells it; each is recorded in its transaction. */
export type AnalyticsEvent =
  | { type: 'distributor_created'; tenantId: string; distributorId: string }
  | { type: 'bound'; tenantId: string; bindings: readonly { distributorId: string; at: Date }[] }
  | { type: 'visit'; tenantId: string; distributorId: string; at: Date; timezone?: string | undefined };

/** A leg as the ledger wrote it, with its journal's kind. */
export interface PostedLeg {
  kind: string;
  owner: string;
  purpose: string;
  amount: number;
  commissionId?: string | null | undefined;
}

/** A batch of orders, in the order they were paid in; each seller as it stood when its order was. */
export interface PaidOrder {
  paidAt: Date;
  paidFen: number;
  seller: { id: string; grade_code: string; region_code: string | null } | null;
  lines: readonly { beneficiary_id: string; amount_fen: number }[];
}

/**
 * What a batch of orders adds to the rollups, as WITH entries of one of the batch's statements
 * (`ctes`, run after the WITH entry named `after`): the distributors' rows, the sellers' latest
 * order days, then the tenant's days and the sellers' breakdown rows (slot rows, which never
 * wait). A day's count of distributors by latest order day moves in the same statement, by the
 * latest days that moved (computed there, so no slot row is updated twice). The statement selects
 * `moved` (whose latest day moved, and from which day) and `found` (which slot rows found a
 * slot); `finish`, given both, opens a slot for the slot rows that found none and moves the days
 * the batch has no row of (a latest day moved from a day no order of the batch was paid on).
 */
export interface OrdersPaidPlan {
  ctes: RawBuilder<unknown>[];
  moved: RawBuilder<unknown>;
  found: RawBuilder<unknown>;
  finish(ex: Executor, moved: readonly MovedDay[] | null, found: number[] | null): Promise<void>;
}

/** A seller whose latest order day moved, from `prev` (null: its first order). */
export interface MovedDay {
  id: string;
  day: string;
  prev: string | null;
}

/**
 * What a refund of an order adds to the rollups, as parts of the refund's own statement: the
 * distributors' rows (`ctes`, run after the WITH entry named `after`) and the tenant's day and the
 * seller's breakdown rows (slot rows, which never wait), with `found` saying which slot rows found a
 * slot; `finish`, run after that statement, adds the refund journal's legs to today's ledger
 * columns, then opens a slot for the slot rows that found none.
 */
export interface OrderRefundedPlan {
  ctes: RawBuilder<unknown>[];
  /** null when there is no slot row (a refund of 0 fen). */
  found: RawBuilder<unknown> | null;
  finish(ex: Executor, found: number[] | null): Promise<void>;
}

export interface AnalyticsRecorder {
  record(ex: Executor, event: AnalyticsEvent): Promise<void>;
  /**
   * A refund of `refundFen` of an order paid at `paidAt`: the same sums as record() of its
   * order_event, from what its journal took from each distributor (`taken`, negative) and the
   * seller's segment as it stands, so nothing is read back; and the refund journal's legs
   * (`journal`), as `posted` counts a journal. The one call the refund path makes. A refund of 0 fen (a cancellation that only
   * gives back units) adds only its journal.
   */
  planOrderRefunded(
    tenantId: string,
    timezone: string,
    e: {
      paidAt: Date;
      sellerId: string | null;
      segment: { grade_code: string; region_code: string | null } | null;
      refundFen: number;
      taken: ReadonlyMap<string, number>;
      journal: readonly PostedLeg[];
    },
    after: string,
  ): OrderRefundedPlan;
  /** A batch of orders and the customers its invite codes bound (see OrdersPaidPlan). */
  planOrdersPaid(tenantId: string, timezone: string, orders: readonly PaidOrder[], bindings: readonly Date[], after: string): OrdersPaidPlan;
  /**
   * The legs of a journal posted outside the order path (settlement, withdrawals, commissions made
   * available, risk reversals), told by the module that posted it right after, in the journal's
   * transaction (ledger's postedLegs). The order path tells its own: planOrdersPaid and
   * planOrderRefunded.
   */
  posted(ex: Executor, tenantId: string, legs: readonly PostedLeg[]): Promise<void>;
}

const LEDGER_COLUMN: Record<string, DailyCounter> = {
  pending: 'ledger_pending_fen',
  available: 'ledger_available_fen',
  withdrawable: 'ledger_withdrawable_fen',
  withdrawing: 'ledger_withdrawing_fen',
  withdrawn: 'ledger_withdrawn_fen',
  payout_clearing: 'ledger_clearing_fen',
  fee_income: 'ledger_fee_income_fen',
  commission_expense: 'ledger_expense_fen',
};

type Segment = { grade_code: string; region_code: string | null } | null;

/**
 * The breakdown rows a seller's figures land in: its grade, province and city ('' when unknown),
 * each on the day and in the month, as many rows as a breakdown reads at each level.
 */
function breakdownRows(tenantId: string, day: string, segment: Segment): { table: SlotTable; key: Record<string, string> }[] {
  const city = cityOf(segment?.region_code);
  const codes: [BreakdownLevel, string][] = [
    ['grade', segment?.grade_code ?? ''],
    ['province', provinceOf(city)],
    ['city', city],
  ];
  const month = monthOf(day);
  return codes.flatMap(([level, code]): { table: SlotTable; key: Record<string, string> }[] => [
    { table: 'analytics_breakdown_daily', key: { tenant_id: tenantId, level, day, code } },
    { table: 'analytics_breakdown_monthly', key: { tenant_id: tenantId, level, month, code } },
  ]);
}

/** How long a tenant's time zone is remembered: a change takes at most this long to reach the day of events. */
const TZ_TTL_MS = 60_000;

/**
 * Keeps the analytics rollups as events happen. Every write lands in the caller's transaction,
 * after the event's own rows and locks, and in one fixed order (distributor rows by id, then the
 * seller's activity row, then slot rows, which never wait), so it adds no deadlock to the paths
 * it rides on.
 */
export function createAnalyticsRecorder(deps: { clock: Clock; program: ProgramService }): AnalyticsRecorder {
  const { clock, program } = deps;
  const zones = new Map<string, { tz: string; until: number }>();

  async function timezoneOf(ex: Executor, tenantId: string): Promise<string> {
    const now = Date.now();
    const hit = zones.get(tenantId);
    if (hit && hit.until > now) return hit.tz;
    const tz = (await program.read(ex, tenantId)).timezone;
    zones.set(tenantId, { tz, until: now + TZ_TTL_MS });
    return tz;
  }

  async function addDaily(ex: Executor, tenantId: string, day: string, deltas: Partial<Record<DailyCounter, number>>) {
    await analyticsRepo.addToSlot(ex, 'analytics_daily', { tenant_id: tenantId, day }, deltas);
  }

  async function addBreakdown(ex: Executor, tenantId: string, day: string, segment: Segment, deltas: Partial<Record<BreakdownCounter, number>>) {
    await analyticsRepo.addToSlots(
      ex,
      breakdownRows(tenantId, day, segment).map((r) => ({ ...r, deltas })),
    );
  }

  /**
   * A batch of orders: the same sums as recording the orders one by one. A seller whose latest
   * order day moved twice in the batch moved once, from where it was to the last.
   */
  function planOrdersPaid(tenantId: string, timezone: string, orders: readonly PaidOrder[], bindings: readonly Date[], after: string): OrdersPaidPlan {
    const perDistributorDay = new Map<string, DistributorDayDelta>();
    const latest = new Map<string, string>();
    const slots = new Map<string, SlotDelta>();
    const slot = (table: SlotTable, key: Record<string, string>) => {
      const k = `${table}|${Object.values(key).join('|')}`;
      let x = slots.get(k);
      if (!x) slots.set(k, (x = { table, key, deltas: {} }));
      return x.deltas;
    };
    const add = (d: Partial<Record<string, number>>, col: string, v: number) => {
      d[col] = (d[col] ?? 0) + v;
    };
    for (const o of orders) {
      const day = localDate(o.paidAt, timezone);
      const month = monthOf(day);
      const commission = o.lines.reduce((s, l) => s + l.amount_fen, 0);
      const at = (id: string) => {
        const k = `${id}|${day}`;
        let d = perDistributorDay.get(k);
        if (!d) perDistributorDay.set(k, (d = { id, day, month, orders: 0, sales: 0, commission: 0 }));
        return d;
      };
      if (o.seller) {
        const s = at(o.seller.id);
        s.orders += 1;
        s.sales += o.paidFen;
        if ((latest.get(o.seller.id) ?? '') < day) latest.set(o.seller.id, day);
      }
      for (const l of o.lines) at(l.beneficiary_id).commission += l.amount_fen;
      const daily = slot('analytics_daily', { tenant_id: tenantId, day });
      add(daily, 'orders', 1);
      add(daily, 'gross_sales_fen', o.paidFen);
      add(daily, 'commission_fen', commission);
      add(daily, 'ledger_pending_fen', commission);
      add(daily, 'ledger_expense_fen', -commission);
      for (const d of breakdownRows(tenantId, day, o.seller).map((r) => slot(r.table, r.key))) {
        add(d, 'orders', 1);
        add(d, 'gross_sales_fen', o.paidFen);
        add(d, 'commission_fen', commission);
      }
    }
    for (const b of bindings) add(slot('analytics_daily', { tenant_id: tenantId, day: localDate(b, timezone) }), 'new_bindings', 1);
    const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    const rows = [...perDistributorDay.values()].sort((a, b) => byId(a, b) || (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
    const sellers = [...latest.entries()].map(([id, day]) => ({ id, day })).sort(byId);
    const { ctes, moved } = analyticsRepo.distributorOrdersCtes(tenantId, rows, sellers, after);
    // Each day row of the batch also moves by the sellers whose latest order day moved to it
    // (+1) or from it (−1), counted in the statement from its latest-day entry.
    const updates = [...slots.values()];
    const days = new Set(updates.filter((u) => u.table === 'analytics_daily').map((u) => u.key.day));
    const found = analyticsRepo.slotUpdateCtes(updates, { latestMoves: true });
    return {
      ctes: [...ctes, ...found.ctes],
      moved,
      found: found.found,
      async finish(ex, movedRows, flags) {
        const done = slotsFound(flags);
        // What the statement added to each day row, in numbers: the same count, from its answer.
        const moves = new Map<string, number>();
        for (const m of movedRows ?? []) {
          moves.set(m.day, (moves.get(m.day) ?? 0) + 1);
          if (m.prev !== null) moves.set(m.prev, (moves.get(m.prev) ?? 0) - 1);
        }
        for (const [i, u] of updates.entries()) {
          if (done.has(i)) continue;
          const deltas = u.table === 'analytics_daily' ? { ...u.deltas, last_order_distributors: moves.get(u.key.day ?? '') ?? 0 } : u.deltas;
          await analyticsRepo.addToSlot(ex, u.table, u.key, deltas, { skipFirstUpdate: true });
        }
        const elsewhere = [...moves].filter(([day, n]) => n !== 0 && !days.has(day));
        if (elsewhere.length > 0)
          await analyticsRepo.addToSlots(
            ex,
            elsewhere.map(([day, n]) => ({ table: 'analytics_daily', key: { tenant_id: tenantId, day }, deltas: { last_order_distributors: n } })),
          );
      },
    };
  }

  /**
   * A journal outside the order path that changed commission lines' amounts (a confirmed risk
   * event reverses held lines): the lines' beneficiaries, days and segments move with it.
   */
  async function linesChanged(ex: Executor, tenantId: string, byLine: Map<string, number>) {
    const lines = await analyticsRepo.linesOf(ex, tenantId, [...byLine.keys()]);
    const tz = await timezoneOf(ex, tenantId);
    type Group = { day: string; sellerId: string | null; fen: number };
    const groups = new Map<string, Group>();
    const perDistributorDay = new Map<string, { day: string; row: DistributorDelta }>();
    for (const l of lines) {
      const fen = byLine.get(l.id) ?? 0;
      const day = localDate(paidMoment({ id: l.id, paid_at: l.paid_at }), tz);
      const g = groups.get(`${day}|${l.seller_id ?? ''}`) ?? { day, sellerId: l.seller_id, fen: 0 };
      g.fen += fen;
      groups.set(`${day}|${l.seller_id ?? ''}`, g);
      const k = `${day}|${l.beneficiary_id}`;
      const d = perDistributorDay.get(k) ?? { day, row: { id: l.beneficiary_id, orders: 0, sales: 0, commission: 0 } };
      d.row.commission += fen;
      perDistributorDay.set(k, d);
    }
    for (const { day, row } of [...perDistributorDay.values()].sort((a, b) => (a.row.id < b.row.id ? -1 : a.row.id > b.row.id ? 1 : 0))) {
      await analyticsRepo.addToDistributors(ex, tenantId, day, monthOf(day), [row]);
    }
    for (const g of groups.values()) {
      await addDaily(ex, tenantId, g.day, { commission_fen: g.fen, commission_reversed_fen: -g.fen });
      const segment = g.sellerId ? ((await analyticsRepo.segmentOf(ex, tenantId, g.sellerId)) ?? null) : null;
      await addBreakdown(ex, tenantId, g.day, segment, { commission_fen: g.fen });
    }
  }

  async function journalPosted(ex: Executor, tenantId: string, legs: readonly PostedLeg[]): Promise<void> {
    const deltas: Partial<Record<DailyCounter, number>> = {};
    const add = (c: DailyCounter, v: number) => {
      deltas[c] = (deltas[c] ?? 0) + v;
    };
    // What each commission line's amount moved by (a line moving between accounts nets to 0).
    const byLine = new Map<string, number>();
    let any = false;
    for (const l of legs) {
      // An accrual is an order's own: planOrdersPaid counts its ledger columns in the batch's statement.
      if (l.kind === 'accrue') continue;
      any = true;
      const column = LEDGER_COLUMN[l.purpose];
      if (column) add(column, l.amount);
      if (l.kind === 'make_available' && l.purpose === 'available') add('made_available_fen', l.amount);
      if (l.kind === 'settle' && l.purpose === 'withdrawable') add('settled_fen', l.amount);
      // A refund's lines are counted by planOrderRefunded, from what its journal took.
      if (l.commissionId && l.owner !== 'tenant' && l.kind !== 'refund') byLine.set(l.commissionId, (byLine.get(l.commissionId) ?? 0) + l.amount);
    }
    if (!any) return;
    await addDaily(ex, tenantId, localDate(clock.now(), await timezoneOf(ex, tenantId)), deltas);
    for (const [id, fen] of byLine) if (fen === 0) byLine.delete(id);
    if (byLine.size > 0) await linesChanged(ex, tenantId, byLine);
  }

  function planOrderRefunded(
    tenantId: string,
    timezone: string,
    e: {
      paidAt: Date;
      sellerId: string | null;
      segment: { grade_code: string; region_code: string | null } | null;
      refundFen: number;
      taken: ReadonlyMap<string, number>;
      journal: readonly PostedLeg[];
    },
    after: string,
  ): OrderRefundedPlan {
    const journal = async (ex: Executor) => {
      if (e.journal.length > 0) await journalPosted(ex, tenantId, e.journal);
    };
    if (e.refundFen === 0) return { ctes: [], found: null, finish: journal };
    const day = localDate(e.paidAt, timezone);
    const month = monthOf(day);
    // As orderRefunded: each beneficiary loses what the journal took, the seller the refund.
    const reversed = -[...e.taken.values()].reduce((s, v) => s + v, 0);
    const rows = new Map<string, DistributorDayDelta>(
      [...e.taken.entries()].map(([id, amount]) => [id, { id, day, month, orders: 0, sales: 0, commission: amount }]),
    );
    if (e.sellerId) {
      const s = rows.get(e.sellerId) ?? { id: e.sellerId, day, month, orders: 0, sales: 0, commission: 0 };
      s.sales -= e.refundFen;
      rows.set(e.sellerId, s);
    }
    const live = [...rows.values()].filter((r) => r.sales !== 0 || r.commission !== 0).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const { ctes } = analyticsRepo.distributorOrdersCtes(tenantId, live, [], after);
    const updates: SlotDelta[] = [
      {
        table: 'analytics_daily',
        key: { tenant_id: tenantId, day },
        deltas: { refunded_fen: e.refundFen, refunds: 1, commission_fen: -reversed, commission_reversed_fen: reversed },
      },
      ...breakdownRows(tenantId, day, e.segment).map((r) => ({ ...r, deltas: { refunded_fen: e.refundFen, commission_fen: -reversed } })),
    ];
    const slots = analyticsRepo.slotUpdateCtes(updates);
    return {
      ctes: [...ctes, ...slots.ctes],
      found: slots.found,
      async finish(ex, flags) {
        await journal(ex);
        const done = slotsFound(flags);
        for (const [i, u] of updates.entries()) {
          if (done.has(i)) continue;
          await analyticsRepo.addToSlot(ex, u.table, u.key, u.deltas, { skipFirstUpdate: true });
        }
      },
    };
  }

  return {
    planOrdersPaid,
    planOrderRefunded,

    async record(ex, e) {
      switch (e.type) {
        case 'distributor_created': {
          const d = await analyticsRepo.segmentOf(ex, e.tenantId, e.distributorId);
          const day = localDate(clock.now(), await timezoneOf(ex, e.tenantId));
          await addDaily(ex, e.tenantId, day, { new_distributors: 1 });
          await addBreakdown(ex, e.tenantId, day, d ?? null, { new_distributors: 1 });
          return;
        }
        case 'bound': {
          const tz = await timezoneOf(ex, e.tenantId);
          const perDay = new Map<string, number>();
          for (const b of e.bindings) perDay.set(localDate(b.at, tz), (perDay.get(localDate(b.at, tz)) ?? 0) + 1);
          for (const [day, n] of perDay) await addDaily(ex, e.tenantId, day, { new_bindings: n });
          return;
        }
        case 'visit':
          return addDaily(ex, e.tenantId, localDate(e.at, e.timezone ?? (await timezoneOf(ex, e.tenantId))), { visits: 1 });
        default: {
          const never: never = e;
          throw new Error(`unknown analytics event ${String((never as { type?: unknown }).type)}`);
        }
      }
    },

    posted: journalPosted,
  };
}

import { MESSAGES } from '../../core/error-text.ts';
import type { Db, Executor } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, invalid } from '../../core/errors.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import { localDate, paidMoment } from '../../core/time.ts';
import { addDays, addMonths, daysBetween, monthOf, parseDay, startOfLocalDay } from '../analytics/periods.ts';
import {
  chainOf,
  compactFixed,
  computeOrderCommissions,
  paidUnits,
  type Beneficiary,
  type FixedRates,
  type GradeRules,
  type RulesSnapshot,
  type Tier,
} from '../commissions/calculator.ts';
import { trueUpAdjustments, type TrueUpLine } from '../commissions/trueup.ts';
import { normalizeInviteCode } from '../../lib/invite-code.ts';
import { BindingReplay } from './binding-replay.ts';
import type { ProgramSettings } from '../program/schema.ts';
import type { SkuRates } from './schema.ts';
import { rulesRepo } from './repo.ts';

/** A proposed change to the rules in force, as the simulator takes it: only what changes. */
export interface RuleChanges {
  levels?: number | undefined;
  default_rates?: ({ sales_bp?: number | null | undefined; override_bp?: (number | null)[] | undefined } & FixedRates) | undefined;
  caps?: { per_order_fen?: number | undefined; per_day_fen?: number | undefined } | undefined;
  grades?: Record<string, { sales_bp?: number | undefined; override_bp?: number[] | undefined; tiers?: Tier[] | undefined } & FixedRates> | undefined;
  /** A SKU's new rates by level, or null to remove its override. */
  sku?: Record<string, SkuRates | null> | undefined;
  /** A proposed binding policy: attribution of the period's orders is replayed under it and under today's. */
  binding?: Partial<ProgramSettings['binding']> | undefined;
  /** The month-end tier true-up proposed on or off (program `tier_true_up`). */
  tier_true_up?: boolean | undefined;
}

export interface SimulationInput {
  /** First day replayed (YYYY-MM-DD, the tenant's time zone); default 30 days before `to`. */
  from?: string | undefined;
  /** Day after the last one replayed; default tomorrow (today included). */
  to?: string | undefined;
  changes: RuleChanges;
}

interface Figures {
  current_fen: number;
  proposed_fen: number;
}

/** Orders replayed per simulation at most: a bigger period is refused, to split. */
export const MAX_SIMULATED_ORDERS = 1_000_000;
const MAX_DAYS = 366;
const PAGE = 2000;

/** The rules in force with the changes laid over them (a new object; the snapshot is shared). */
export function applyChanges(base: RulesSnapshot, changes: RuleChanges): RulesSnapshot {
  const grades: Record<string, GradeRules> = { ...base.grades };
  for (const [code, g] of Object.entries(changes.grades ?? {})) {
    const was = grades[code];
    if (!was) throw invalid({ en: `no grade ${code}: the simulator changes rates of existing grades`, zh: `没有等级 ${code}：模拟器只修改现有等级的比例` });
    const { sales_fixed_fen: _s, override_fixed_fen: _o, fixed_per: _p, ...rest } = was;
    grades[code] = {
      ...rest,
      ...(g.sales_bp !== undefined ? { sales_bp: g.sales_bp } : {}),
      ...(g.override_bp !== undefined ? { override_bp: g.override_bp } : {}),
      ...(g.tiers !== undefined ? { tiers: g.tiers } : {}),
      // Fixed amounts: those given replace the grade's (null clears one).
      ...compactFixed({
        sales_fixed_fen: g.sales_fixed_fen !== undefined ? g.sales_fixed_fen : was.sales_fixed_fen,
        override_fixed_fen: g.override_fixed_fen ?? was.override_fixed_fen,
        fixed_per: g.fixed_per ?? was.fixed_per,
      }),
    };
  }
  const sku = new Map(Object.entries(base.sku));
  for (const [code, rates] of Object.entries(changes.sku ?? {})) {
    if (rates === null) sku.delete(code);
    else sku.set(code, rates);
  }
  return {
    ...base,
    levels: changes.levels ?? base.levels,
    default_rates: {
      sales_bp: changes.default_rates?.sales_bp !== undefined ? changes.default_rates.sales_bp : base.default_rates.sales_bp,
      override_bp: changes.default_rates?.override_bp ?? base.default_rates.override_bp,
      // The program's fixed amounts are kept unless the changes give others.
      ...compactFixed({
        sales_fixed_fen: changes.default_rates?.sales_fixed_fen !== undefined ? changes.default_rates.sales_fixed_fen : base.default_rates.sales_fixed_fen,
        override_fixed_fen: changes.default_rates?.override_fixed_fen ?? base.default_rates.override_fixed_fen,
        fixed_per: changes.default_rates?.fixed_per ?? base.default_rates.fixed_per,
      }),
    },
    caps: { ...base.caps, ...Object.fromEntries(Object.entries(changes.caps ?? {}).filter(([, v]) => v !== undefined)) },
    grades,
    sku: Object.fromEntries(sku),
  };
}

/** A simulated tier line waiting for its month's true-up, with what the figures need. */
interface PendingTierLine extends TrueUpLine {
  grade: string;
}

/**
 * Running state of one rule set through the replay: tiers read monthly sales, the per-day cap
 * daily earnings; with the true-up on, each beneficiary's tier lines of the whole months, by
 * month, beneficiary and grade, until their month is over.
 */
class Replay {
  readonly monthly = new Map<string, number>();
  readonly daily = new Map<string, number>();
  readonly tierLines = new Map<string, Map<string, PendingTierLine[]>>();
  trueUpFen = 0;
  constructor(
    readonly rules: RulesSnapshot,
    readonly trueUp: boolean,
  ) {}
}

/**
 * The rule simulator: replays the orders paid in a period, each with the chain it was paid with
 * (frozen on the order) and its items as paid, under the rules in force today and under the
 * proposed change, and says what the change would have cost, in total, by level, by grade and for
 * the distributors it moves most. Nothing is written. Beneficiaries keep the grade recorded on
 * the order's lines (today's grade where the order has no line of theirs); per-day caps and
 * monthly tiers run over the replayed orders, with the month's sales before `from` counted in.
 * Refunds after payment are not replayed: the figures are commissions as computed at payment.
 */
export function createRuleSimulator(deps: {
  db: Db;
  clock: Clock;
  program: { read(ex: Executor, tenantId: string): Promise<ProgramSettings> };
  rules: { versionAt(ex: Executor, tenantId: string, at: Date): Promise<RulesSnapshot> };
}) {
  const { db, program, rules } = deps;

  return {
    async simulate(actor: Actor, input: SimulationInput) {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      const settings = await program.read(db, tenantId);
      const tz = settings.timezone;
      const to = input.to ?? addDays(localDate(deps.clock.now(), tz), 1);
      const from = input.from ?? addDays(to, -30);
      if (!parseDay(from) || !parseDay(to)) throw invalid({ en: 'from and to must be calendar dates', zh: 'from 和 to 须为有效的日期' });
      const days = daysBetween(from, to);
      if (days <= 0) throw invalid({ en: 'to must be after from', zh: 'to 须晚于 from' });
      if (days > MAX_DAYS) throw invalid({ en: `a simulation covers at most ${MAX_DAYS} days`, zh: `一次模拟至多覆盖 ${MAX_DAYS} 天` });
      if (input.changes.levels !== undefined && input.changes.levels > 3) {
        throw new AppError('compliance_violation', MESSAGES.atMostThreeLevels());
      }
      const current = await rules.versionAt(db, tenantId, deps.clock.now());
      const proposed = applyChanges(current, input.changes);
      const fromAt = startOfLocalDay(from, tz);
      const toAt = startOfLocalDay(to, tz);

      const count = await rulesRepo.countPaidBetween(db, tenantId, fromAt, toAt);
      if (count > MAX_SIMULATED_ORDERS)
        throw new AppError('limit_exceeded', {
          en: `the period holds ${count} orders; simulate at most ${MAX_SIMULATED_ORDERS} at once (a shorter period)`,
          zh: `该期间有 ${count} 笔订单；一次至多模拟 ${MAX_SIMULATED_ORDERS} 笔（请缩短期间）`,
        });

      // Own sales of the month of `from` before it, for monthly tiers.
      const monthStart = startOfLocalDay(`${monthOf(from)}`, tz);
      const before = monthStart < fromAt ? await rulesRepo.salesBetween(db, tenantId, monthStart, fromAt) : [];
      // The month-end true-up, where the rules have it: for the whole months of the period that are
      // over now (a true-up runs once its month has ended), as the tier-true-up job would.
      const nowDay = localDate(deps.clock.now(), tz);
      const trueUpMonths = new Set<string>();
      for (let m = monthOf(from) === from ? from : addMonths(monthOf(from), 1); addMonths(m, 1) <= to && addMonths(m, 1) <= nowDay; m = addMonths(m, 1))
        trueUpMonths.add(m);
      const replays = [new Replay(current, settings.tier_true_up), new Replay(proposed, input.changes.tier_true_up ?? settings.tier_true_up)];
      for (const r of replays) for (const b of before) r.monthly.set(`${b.seller_id}|${monthOf(from)}`, Number(b.s));

      // A proposed binding policy: attribution replayed under today's policy and under it, from
      // the bindings as they stood when the period began (binding-replay.ts).
      const proposedBinding = input.changes.binding ? { ...settings.binding, ...dropUndefined(input.changes.binding) } : null;
      const bindingReplays = proposedBinding ? [new BindingReplay(settings.binding), new BindingReplay(proposedBinding)] : null;
      const shift = { orders: 0, paid_fen: 0, current_fen: 0, proposed_fen: 0, unattributed_current: 0, unattributed_proposed: 0 };
      let eventCursor: { at: Date; id: string } | null = null;
      const ancestorsOf = new Map<string, string[]>();

      const totals = { orders: 0, paid_fen: 0, refunded_fen: 0, actual_fen: 0 };
      const sum: Figures = { current_fen: 0, proposed_fen: 0 };
      const byLevel = new Map<number, Figures>();
      const byGrade = new Map<string, Figures>();
      const byDistributor = new Map<string, Figures>();
      const add = <K>(m: Map<K, Figures>, k: K, which: 0 | 1, fen: number) => {
        const f = m.get(k) ?? { current_fen: 0, proposed_fen: 0 };
        if (which === 0) f.current_fen += fen;
        else f.proposed_fen += fen;
        m.set(k, f);
      };
      const gradeOf = new Map<string, { grade: string; active: boolean }>();

      /**
       * The true-up of the months before `upTo` (all with null) of one replay: each beneficiary's
       * tier lines of a month repriced at the bracket its simulated sales of the whole month reached
       * (commissions/trueup.ts, as the job does per grade), added to the figures.
       */
      const trueUp = (r: Replay, which: 0 | 1, upTo: string | null) => {
        for (const [month, groups] of r.tierLines) {
          if (upTo !== null && month >= upTo) continue;
          for (const [key, group] of groups) {
            const beneficiary = key.slice(0, key.indexOf('|'));
            const first = group[0];
            if (!first) continue;
            const tiers = r.rules.grades[first.grade]?.tiers ?? [];
            for (const a of trueUpAdjustments(tiers, r.monthly.get(`${beneficiary}|${month}`) ?? 0, group)) {
              r.trueUpFen += a.adjustmentFen;
              if (which === 0) sum.current_fen += a.adjustmentFen;
              else sum.proposed_fen += a.adjustmentFen;
              add(byLevel, a.level, which, a.adjustmentFen);
              add(byGrade, first.grade, which, a.adjustmentFen);
              add(byDistributor, beneficiary, which, a.adjustmentFen);
            }
          }
          r.tierLines.delete(month);
        }
      };

      /** The page's orders replayed under each policy, with the binding events up to its last order: order id → seller per policy. */
      async function replayPage(
        page: { id: string; seller_id: string | null; paid_at: Date; buyer_external_id: string; invite_code: string | null }[],
        replaying: BindingReplay[],
      ): Promise<Map<string, (string | null)[]>> {
        const last = page.at(-1);
        if (!last) return new Map();
        const events = await rulesRepo.bindingEventsUpTo(db, tenantId, fromAt, last.paid_at, eventCursor);
        const lastEvent = events.at(-1);
        if (lastEvent) eventCursor = { at: lastEvent.at, id: lastEvent.id };
        const codes = [
          ...new Set(page.map((o) => (o.invite_code === null ? null : normalizeInviteCode(o.invite_code))).filter((c): c is string => c !== null)),
        ];
        const buyers = [...new Set(page.map((o) => o.buyer_external_id))];
        const found = await rulesRepo.distributorsByExternalOrCode(db, tenantId, buyers, codes);
        const buyerIsDistributor = new Set(found.map((d) => d.external_id));
        const byCode = new Map(found.filter((d) => d.status === 'active').map((d) => [d.invite_code, d.id]));
        const seeds = [...new Set([...buyers, ...events.map((e) => e.customer_external_id)])].filter((c) => !replaying[0]?.known(c));
        if (seeds.length > 0) {
          const before = await rulesRepo.bindingsBefore(db, tenantId, seeds, fromAt);
          const lastOrder = new Map(before.orders.map((o) => [o.buyer_external_id, new Date(o.last)]));
          const bound = new Map(before.events.map((e) => [e.customer_external_id, e]));
          for (const c of seeds) {
            const e = bound.get(c);
            const seed = {
              distributorId: e?.to_distributor_id ?? null,
              boundAt: e?.to_distributor_id ? new Date(e.at) : null,
              lastOrderAt: lastOrder.get(c) ?? null,
              tentative: null,
            };
            for (const r of replaying) r.seed(c, seed);
          }
        }
        const out = new Map<string, (string | null)[]>();
        let k = 0;
        for (const o of page) {
          for (; k < events.length && known(events[k]).at.getTime() <= o.paid_at.getTime(); k++) {
            const e = known(events[k]);
            for (const r of replaying) r.event({ customer: e.customer_external_id, kind: e.kind, to: e.to_distributor_id, at: new Date(e.at) });
          }
          // A distributor's own orders follow the tree (its referrer, or itself): no binding policy moves them.
          if (buyerIsDistributor.has(o.buyer_external_id)) {
            out.set(
              o.id,
              replaying.map(() => o.seller_id),
            );
            continue;
          }
          const code = o.invite_code === null ? null : normalizeInviteCode(o.invite_code);
          const invite = code === null ? null : (byCode.get(code) ?? null);
          out.set(
            o.id,
            replaying.map((r) => r.order(o.buyer_external_id, invite, o.paid_at)),
          );
        }
        return out;
      }

      let cursor: { paid_at: Date; id: string } | null = null;
      for (;;) {
        const page = await rulesRepo.paidPage(db, tenantId, fromAt, toAt, cursor, PAGE);
        const last = page.at(-1);
        if (!last) break;
        cursor = { paid_at: paidMoment(last), id: last.id };
        const ids = page.map((o) => o.id);
        const items = await rulesRepo.itemsOfOrders(db, ids);
        const lines = await rulesRepo.linesOfOrders(db, ids);
        const unknown = [...new Set(page.flatMap((o) => o.chain))].filter((id) => !gradeOf.has(id));
        if (unknown.length > 0) {
          for (const d of await rulesRepo.distributorGrades(db, tenantId, unknown)) {
            gradeOf.set(d.id, { grade: d.grade_code, active: d.status === 'active' });
          }
        }
        // Each order's seller under each binding policy (the seller it was paid to, without one).
        const sellersOf = bindingReplays
          ? await replayPage(
              page.map((o) => ({ ...o, paid_at: paidMoment(o) })),
              bindingReplays,
            )
          : null;
        if (sellersOf) {
          const unknownSellers = [...new Set([...sellersOf.values()].flat())].filter((id): id is string => id !== null && !ancestorsOf.has(id));
          for (const d of unknownSellers.length ? await rulesRepo.distributorAncestors(db, tenantId, unknownSellers) : []) {
            ancestorsOf.set(d.id, d.ancestors);
            if (!gradeOf.has(d.id)) gradeOf.set(d.id, { grade: d.grade_code, active: d.status === 'active' });
          }
          const more = [...new Set([...ancestorsOf.values()].flat())].filter((id) => !gradeOf.has(id));
          for (const d of more.length ? await rulesRepo.distributorGrades(db, tenantId, more) : [])
            gradeOf.set(d.id, { grade: d.grade_code, active: d.status === 'active' });
        }
        const itemsOf = new Map<string, typeof items>();
        for (const i of items) {
          let of = itemsOf.get(i.order_id);
          if (!of) itemsOf.set(i.order_id, (of = []));
          of.push(i);
        }
        const recorded = new Map<string, string>();
        for (const l of lines) {
          recorded.set(`${l.order_id}|${l.beneficiary_id}`, l.beneficiary_grade);
          totals.actual_fen += l.original_amount_fen;
        }

        for (const o of page) {
          totals.orders += 1;
          totals.paid_fen += o.paid_fen;
          totals.refunded_fen += o.refunded_fen;
          const day = localDate(paidMoment(o), tz);
          const month = monthOf(day);
          const orderItems = (itemsOf.get(o.id) ?? []).map((i) => ({ id: i.id, sku: i.sku, quantity: i.quantity, paid_fen: i.paid_fen }));
          const unitsOf = (itemId: string) => {
            const item = orderItems.find((i) => i.id === itemId);
            return item ? paidUnits(item.quantity, item.paid_fen, item.paid_fen) : 0;
          };
          const sellers = sellersOf?.get(o.id);
          const chainFor = (which: number): string[] => {
            const seller = sellers ? (sellers[which] ?? null) : o.seller_id;
            if (seller === o.seller_id) return o.chain;
            return chainOf(seller, seller === null ? [] : (ancestorsOf.get(seller) ?? []), current.levels);
          };
          const paidBy: [number, number] = [0, 0];
          replays.forEach((r, which) => {
            // Months before this order's are over in the replay: their true-up is known.
            if (r.trueUp && r.tierLines.size > 0) trueUp(r, which as 0 | 1, month);
            const chain: Beneficiary[] = chainFor(which).map((id, level) => {
              const grade = recorded.get(`${o.id}|${id}`);
              const now = gradeOf.get(id);
              return {
                id,
                level,
                grade: grade ?? now?.grade ?? 'default',
                active: grade !== undefined || (now?.active ?? false),
                monthly_sales_fen: r.monthly.get(`${id}|${month}`) ?? 0,
                earned_today_fen: r.daily.get(`${id}|${day}`) ?? 0,
              };
            });
            for (const l of computeOrderCommissions(orderItems, chain, r.rules)) {
              const w = which as 0 | 1;
              paidBy[w] += l.amountFen;
              if (w === 0) sum.current_fen += l.amountFen;
              else sum.proposed_fen += l.amountFen;
              add(byLevel, l.level, w, l.amountFen);
              add(byGrade, l.grade, w, l.amountFen);
              add(byDistributor, l.beneficiaryId, w, l.amountFen);
              r.daily.set(`${l.beneficiaryId}|${day}`, (r.daily.get(`${l.beneficiaryId}|${day}`) ?? 0) + l.amountFen);
              if (r.trueUp && l.source === 'tier' && trueUpMonths.has(month)) {
                let groups = r.tierLines.get(month);
                if (!groups) r.tierLines.set(month, (groups = new Map()));
                const key = `${l.beneficiaryId}|${l.grade}`;
                let group = groups.get(key);
                if (!group) groups.set(key, (group = []));
                group.push({
                  id: String(group.length),
                  grade: l.grade,
                  level: l.level,
                  rateKind: l.rateKind,
                  rateBp: l.rateBp,
                  fixedFen: l.fixedFen,
                  // Units still paid for, as the job reads them: a percentage line's final bracket may pay per unit.
                  units: l.rateKind === 'fixed' ? l.units : unitsOf(l.itemId),
                  baseFen: l.baseFen,
                  amountFen: l.amountFen,
                  adjustedFen: 0,
                  cappedFen: l.uncappedFen - l.amountFen,
                });
              }
            }
            const seller = sellers ? (sellers[which] ?? null) : o.seller_id;
            if (seller) r.monthly.set(`${seller}|${month}`, (r.monthly.get(`${seller}|${month}`) ?? 0) + o.paid_fen);
          });
          if (sellers) {
            if (sellers[0] === null) shift.unattributed_current += 1;
            if (sellers[1] === null) shift.unattributed_proposed += 1;
            if (sellers[0] !== sellers[1]) {
              shift.orders += 1;
              shift.paid_fen += o.paid_fen;
              shift.current_fen += paidBy[0];
              shift.proposed_fen += paidBy[1];
            }
          }
        }
        if (page.length < PAGE) break;
      }
      replays.forEach((r, which) => {
        if (r.trueUp) trueUp(r, which as 0 | 1, null);
      });

      const moved = [...byDistributor.entries()].map(([id, f]) => ({ id, ...f, delta_fen: f.proposed_fen - f.current_fen })).filter((d) => d.delta_fen !== 0);
      const top = moved.sort((a, b) => Math.abs(b.delta_fen) - Math.abs(a.delta_fen) || (a.id < b.id ? -1 : 1)).slice(0, 10);
      const names =
        top.length === 0
          ? []
          : await rulesRepo.distributorNames(
              db,
              tenantId,
              top.map((d) => d.id),
            );
      const nameOf = new Map(names.map((n) => [n.id, n.name]));
      const rate = (fen: number) => (totals.paid_fen > 0 ? Number((BigInt(fen) * 10_000n) / BigInt(totals.paid_fen)) : 0);
      return {
        from,
        to,
        timezone: tz,
        rule_version: current.version,
        orders: totals.orders,
        paid_fen: totals.paid_fen,
        refunded_fen: totals.refunded_fen,
        actual_fen: totals.actual_fen,
        current_fen: sum.current_fen,
        proposed_fen: sum.proposed_fen,
        delta_fen: sum.proposed_fen - sum.current_fen,
        current_rate_bp: rate(sum.current_fen),
        proposed_rate_bp: rate(sum.proposed_fen),
        by_level: [...byLevel.entries()].sort((a, b) => a[0] - b[0]).map(([level, f]) => ({ level, ...f, delta_fen: f.proposed_fen - f.current_fen })),
        by_grade: [...byGrade.entries()]
          .sort((a, b) => (a[0] < b[0] ? -1 : 1))
          .map(([grade, f]) => ({ grade, ...f, delta_fen: f.proposed_fen - f.current_fen })),
        true_up: {
          months: [...trueUpMonths].map((m) => m.slice(0, 7)),
          current: replays[0]?.trueUp ?? false,
          proposed: replays[1]?.trueUp ?? false,
          current_fen: replays[0]?.trueUpFen ?? 0,
          proposed_fen: replays[1]?.trueUpFen ?? 0,
          delta_fen: (replays[1]?.trueUpFen ?? 0) - (replays[0]?.trueUpFen ?? 0),
        },
        distributors_gaining: moved.filter((d) => d.delta_fen > 0).length,
        distributors_losing: moved.filter((d) => d.delta_fen < 0).length,
        ...(proposedBinding
          ? {
              binding: {
                current: settings.binding,
                proposed: proposedBinding,
                orders_moved: shift.orders,
                moved_paid_fen: shift.paid_fen,
                moved_current_fen: shift.current_fen,
                moved_proposed_fen: shift.proposed_fen,
                orders_without_seller_current: shift.unattributed_current,
                orders_without_seller_proposed: shift.unattributed_proposed,
              },
            }
          : {}),
        top_changes: top.map((d) => ({
          distributor_id: d.id,
          name: nameOf.get(d.id) ?? '',
          current_fen: d.current_fen,
          proposed_fen: d.proposed_fen,
          delta_fen: d.delta_fen,
        })),
      };
    },
  };
}

export type RuleSimulator = ReturnType<typeof createRuleSimulator>;

function known<T>(x: T | undefined): T {
  if (x === undefined) throw new Error('an index out of range in the binding replay');
  return x;
}

function dropUndefined<T extends object>(o: T): { [K in keyof T]-?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]-?: Exclude<T[K], undefined> };
}

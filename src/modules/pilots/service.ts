import type { Selectable } from 'kysely';
import type { Db, Executor, Tx } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { PilotsTable } from '../../db/schema.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { conflict, invalid, invalidState, notFound } from '../../core/errors.ts';
import { actorOf, can, requirePermission, tenantOf } from '../../core/principal.ts';
import { newId } from '../../core/ids.ts';
import type { AuditService } from '../audit/service.ts';
import type { RulesSnapshot } from '../commissions/calculator.ts';
import { complianceCheck, mergeSettings, type GradeSettings } from '../program/service.ts';
import { programLeaves } from '../program/leaves.ts';
import { programRepo } from '../program/repo.ts';
import type { DeepPartial, ProgramSettings } from '../program/schema.ts';
import type { RuleTimeline } from '../rules/changes.ts';
import type { GradeState } from '../rules/timeline.ts';
import {
  cohortIsEmpty,
  cohortsOverlap,
  differenceInterval,
  pilotFor,
  sellerInCohort,
  gradeFixed,
  withPilot,
  type Cohort,
  type PilotChanges,
  type PilotGradeChange,
  type RunningPilot,
} from './cohort.ts';
import { pilotsRepo } from './repo.ts';
import type { Pilot, PilotBody, PilotReport } from './schema.ts';
import { zhStatus } from '../../core/error-text.ts';

/** What the order batch asks of the pilots: the rules an order is computed with, and the pilot if any. */
export type PilotAt = (
  rules: RulesSnapshot,
  seller: { id: string; grade_code: string } | null,
  regionCode: string | null,
  paidAt: Date,
  now: Date,
) => { snapshot: RulesSnapshot; pilotId: string | null };

export interface OrderPathPilots {
  /** The running pilots of a tenant as of its newest rule version (every start, stop and promotion writes one); undefined when none. */
  forBatch(ex: Executor, tenantId: string, version: number | null): Promise<PilotAt | undefined>;
}

type PilotRow = Selectable<PilotsTable>;

function changesOf(row: PilotRow): PilotChanges {
  return row.changes as PilotChanges;
}

function statusAt(row: PilotRow, now: Date): Pilot['status'] {
  if (row.status === 'running' && row.ends_at && row.ends_at.getTime() <= now.getTime()) return 'stopped';
  return row.status;
}

export function pilotView(row: PilotRow, now: Date): Pilot {
  const changes = changesOf(row);
  return {
    id: row.id,
    name: row.name,
    status: statusAt(row, now),
    cohort: row.cohort as Cohort,
    ...(changes.program ? { program: changes.program } : {}),
    ...(changes.grades ? { grades: changes.grades } : {}),
    started_at: row.started_at.toISOString(),
    ends_at: row.ends_at?.toISOString() ?? null,
    ended_at:
      row.ended_at?.toISOString() ?? (row.status === 'running' && row.ends_at && row.ends_at.getTime() <= now.getTime() ? row.ends_at.toISOString() : null),
    promoted_change_id: row.promoted_change_id,
    created_by: { type: row.created_by_type, id: row.created_by_id },
  };
}

/** A grade's settings once a pilot's change of it is promoted: tiers replaced when given, fixed amounts as PUT /v1/grades/{code} keeps them. */
function promotedSettings(settings: Record<string, unknown>, g: PilotGradeChange): Record<string, unknown> {
  const { sales_fixed_fen: _s, override_fixed_fen: _o, fixed_per: _p, ...rest } = settings as GradeSettings & Record<string, unknown>;
  return { ...rest, ...(g.tiers ? { tiers: g.tiers } : {}), ...gradeFixed(settings as GradeSettings, g) };
}

const num = (v: string | number | null | undefined) => Number(v ?? 0);

/**
 * Pilots (灰度发布): a named set of rule changes run for a cohort of sellers while everyone else
 * stays on the rules in force; compared against the rest; promoted (its changes become the rules
 * for everyone from now on, a new version naming it) or stopped. Every step audited.
 */
export function createPilotsService(deps: { db: Db; clock: Clock; audit: AuditService; timeline: RuleTimeline }) {
  const { db, clock, audit, timeline } = deps;
  const cache = new Map<string, { version: number | null; pilots: RunningPilot[] }>();

  /** Running pilots whose end time has passed are stopped (at that time), audited. */
  async function endExpired(tx: Executor, actor: Actor, tenantId: string): Promise<void> {
    const now = clock.now();
    for (const r of await pilotsRepo.running(tx, tenantId)) {
      if (!r.ends_at || r.ends_at.getTime() > now.getTime()) continue;
      await pilotsRepo.end(tx, r.id, 'stopped', r.ends_at, null);
      await audit.record(tx, actor, {
        action: 'pilot.end',
        targetType: 'pilot',
        targetId: r.id,
        before: { status: 'running' },
        after: { status: 'stopped', ended_at: r.ends_at.toISOString() },
        reason: 'its end time passed',
      });
    }
  }

  async function validate(tx: Tx, tenantId: string, body: PilotBody): Promise<{ changes: PilotChanges }> {
    if (cohortIsEmpty(body.cohort))
      throw invalid({
        en: 'the cohort is empty: list distributors, grades or regions, or give a percent above 0',
        zh: '灰度范围为空：请列出分销员、等级或地区，或给出大于 0 的百分比',
      });
    const ids = body.cohort.distributor_ids ?? [];
    const found = new Set((await pilotsRepo.existingDistributors(tx, tenantId, ids)).map((r) => r.id));
    const unknown = ids.filter((id) => !found.has(id));
    if (unknown.length > 0)
      throw invalid({
        en: `unknown distributor(s) in the cohort: ${unknown.slice(0, 10).join(', ')}`,
        zh: `灰度范围中有未知的分销员：${unknown.slice(0, 10).join('、')}`,
      });
    const state = await timeline.stateNow(tx, tenantId);
    const unknownGrades = (body.cohort.grades ?? []).filter((g) => !state.grades[g]);
    if (unknownGrades.length > 0)
      throw invalid({ en: `unknown grade(s) in the cohort: ${unknownGrades.join(', ')}`, zh: `灰度范围中有未知的等级：${unknownGrades.join('、')}` });
    const changes: PilotChanges = {
      ...(body.program && Object.keys(body.program).length > 0 ? { program: body.program } : {}),
      ...(body.grades && Object.keys(body.grades).length > 0 ? { grades: body.grades } : {}),
    };
    if (!changes.program && !changes.grades) throw invalid({ en: 'a pilot needs changes: program or grades', zh: '灰度方案须包含变更：program 或 grades' });
    for (const [code, g] of Object.entries(changes.grades ?? {})) {
      if (!state.grades[code]) throw invalid({ en: `unknown grade ${code} in the changes`, zh: `变更中有未知的等级 ${code}` });
      if (Object.keys(g).length === 0) throw invalid({ en: `the changes of grade ${code} are empty`, zh: `等级 ${code} 的变更为空` });
    }
    // The pilot's rules obey every rule the program does, refused now rather than when it runs.
    const merged = mergeSettings<ProgramSettings>(state.program, (changes.program ?? {}) as DeepPartial<ProgramSettings>);
    complianceCheck(
      merged,
      Object.entries(state.grades).map(([code, g]) => ({ code, upgrade: (g.settings as GradeSettings).upgrade ?? null })),
    );
    return { changes };
  }

  /** Pilots past their end time are stopped first, in a transaction of their own (kept when what follows is refused). */
  async function settleExpired(actor: Actor, tenantId: string): Promise<void> {
    const now = clock.now();
    const due = (await pilotsRepo.running(db, tenantId)).some((r) => r.ends_at && r.ends_at.getTime() <= now.getTime());
    if (due) await inTransaction(db, (tx) => endExpired(tx, actor, tenantId));
  }

  async function locked(tx: Tx, actor: Actor, id: string): Promise<PilotRow> {
    const tenantId = tenantOf(actor.principal);
    const row = await pilotsRepo.findForUpdate(tx, tenantId, id);
    if (!row) throw notFound('pilot');
    return row;
  }

  async function written(tx: Executor, tenantId: string, id: string): Promise<PilotRow> {
    const row = await pilotsRepo.find(tx, tenantId, id);
    if (!row) throw new Error(`pilot ${id} vanished within its own transaction`);
    return row;
  }

  const orderPath: OrderPathPilots = {
    async forBatch(ex, tenantId, version) {
      let entry = cache.get(tenantId);
      if (!entry || entry.version !== version) {
        const rows = await pilotsRepo.running(ex, tenantId);
        entry = {
          version,
          pilots: rows.map((r) => ({
            id: r.id,
            cohort: r.cohort as Cohort,
            changes: changesOf(r),
            started_at: r.started_at,
            ends_at: r.ends_at,
            created_at: r.created_at,
          })),
        };
        if (cache.size > 10_000) cache.clear();
        cache.set(tenantId, entry);
      }
      const pilots = entry.pilots;
      if (pilots.length === 0) return undefined;
      const piloted = new Map<string, RulesSnapshot>();
      return (rules, seller, regionCode, paidAt, now) => {
        const p = pilotFor(tenantId, pilots, seller, regionCode, paidAt, now);
        if (!p) return { snapshot: rules, pilotId: null };
        const key = `${rules.version}:${p.id}`;
        let s = piloted.get(key);
        if (!s) piloted.set(key, (s = withPilot(rules, p.changes)));
        return { snapshot: s, pilotId: p.id };
      };
    },
  };

  return {
    orderPath,

    /** POST /v1/pilots: starts now. 400 on an empty or unknown cohort or no changes; 422 on a compliance breach; 409 when a seller is already in a running pilot. */
    async create(actor: Actor, body: PilotBody): Promise<Pilot> {
      requirePermission(actor.principal, 'program:write');
      const tenantId = tenantOf(actor.principal);
      const now = clock.now();
      const endsAt = body.ends_at === undefined ? null : new Date(body.ends_at);
      if (endsAt && endsAt.getTime() <= now.getTime()) throw invalid({ en: 'ends_at must be later than now', zh: 'ends_at 须晚于当前时间' });
      return inTransaction(db, async (tx) => {
        // Pilots of a tenant start one at a time (the program row, as every rule writer).
        await programRepo.findForUpdate(tx, tenantId);
        await endExpired(tx, actor, tenantId);
        const { changes } = await validate(tx, tenantId, body);
        const running = await pilotsRepo.running(tx, tenantId);
        if (running.length > 0) {
          const distributors = await pilotsRepo.distributorGrades(tx, tenantId);
          for (const r of running) {
            const why = cohortsOverlap(tenantId, body.cohort, r.cohort as Cohort, distributors);
            if (why)
              throw conflict({
                en: `a seller may be in one running pilot only: ${why.en} of pilot ${r.id} (${r.name})`,
                zh: `一个卖家同时只能参加一个进行中的灰度方案：与灰度方案 ${r.id}（${r.name}）重叠，${why.zh}`,
              });
          }
        }
        const id = newId('plt');
        const { actorType, actorId } = actorOf(actor.principal);
        await pilotsRepo.insert(tx, {
          id,
          tenant_id: tenantId,
          name: body.name,
          cohort: body.cohort,
          changes,
          started_at: now,
          ends_at: endsAt,
          created_by_type: actorType,
          created_by_id: actorId,
          created_at: now,
        });
        // A version at now marks it in the history, and tells every process's order path.
        await timeline.mark(tx, tenantId, `pilot.start ${id} (${body.name})`);
        const view = pilotView(await written(tx, tenantId, id), now);
        await audit.record(tx, actor, { action: 'pilot.create', targetType: 'pilot', targetId: id, after: view });
        return view;
      });
    },

    async list(actor: Actor, limit: number): Promise<Pilot[]> {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      if (can(actor.principal, 'program:write')) await settleExpired(actor, tenantId);
      const now = clock.now();
      return (await pilotsRepo.list(db, tenantId, limit)).map((r) => pilotView(r, now));
    },

    async get(actor: Actor, id: string): Promise<Pilot> {
      requirePermission(actor.principal, 'read');
      if (can(actor.principal, 'program:write')) await settleExpired(actor, tenantOf(actor.principal));
      const row = await pilotsRepo.find(db, tenantOf(actor.principal), id);
      if (!row) throw notFound('pilot');
      return pilotView(row, clock.now());
    },

    /** POST /v1/pilots/{id}/promote: its changes become the rules for everyone from now on (a new version whose reason names it). */
    async promote(actor: Actor, id: string): Promise<Pilot> {
      requirePermission(actor.principal, 'program:write');
      const tenantId = tenantOf(actor.principal);
      await settleExpired(actor, tenantId);
      return inTransaction(db, async (tx) => {
        const row = await locked(tx, actor, id);
        if (row.status !== 'running')
          throw invalidState({ en: `a ${row.status} pilot cannot be promoted`, zh: `状态为${zhStatus(row.status)}的灰度方案不能转正` });
        const now = clock.now();
        const state = await timeline.stateNow(tx, tenantId);
        const changes = changesOf(row);
        const programPatch = changes.program
          ? programLeaves(state.program, changes.program, mergeSettings<ProgramSettings>(state.program, changes.program as DeepPartial<ProgramSettings>))
          : {};
        const grades: Record<string, GradeState> = {};
        for (const [code, g] of Object.entries(changes.grades ?? {})) {
          const cur = state.grades[code];
          if (!cur) throw invalidState({ en: `grade ${code} no longer exists`, zh: `等级 ${code} 已不存在` });
          grades[code] = {
            name: g.name ?? cur.name,
            rank: g.rank ?? cur.rank,
            sales_bp: g.sales_bp ?? cur.sales_bp,
            override_bp: g.override_bp ? [...g.override_bp] : [...cur.override_bp],
            settings: promotedSettings(cur.settings, g),
          };
        }
        const { change } = await timeline.record(tx, actor, tenantId, {
          kind: 'pilot',
          target: id,
          patch: { program: programPatch, grades },
          effectiveFrom: now,
          reason: `promoted from pilot ${id} (${row.name})`,
          label: `pilot.promote ${id}`,
        });
        await pilotsRepo.end(tx, id, 'promoted', now, change.id);
        const view = pilotView(await written(tx, tenantId, id), now);
        await audit.record(tx, actor, { action: 'pilot.promote', targetType: 'pilot', targetId: id, before: pilotView(row, now), after: view });
        return view;
      });
    },

    /** POST /v1/pilots/{id}/stop: it ends, nothing changes. */
    async stop(actor: Actor, id: string): Promise<Pilot> {
      requirePermission(actor.principal, 'program:write');
      const tenantId = tenantOf(actor.principal);
      await settleExpired(actor, tenantId);
      return inTransaction(db, async (tx) => {
        const row = await locked(tx, actor, id);
        if (row.status !== 'running')
          throw invalidState({ en: `a ${row.status} pilot cannot be stopped`, zh: `状态为${zhStatus(row.status)}的灰度方案不能停止` });
        const now = clock.now();
        await pilotsRepo.end(tx, id, 'stopped', now, null);
        // A version at now marks it in the history, and tells every process's order path.
        await timeline.mark(tx, tenantId, `pilot.stop ${id} (${row.name})`);
        const view = pilotView(await written(tx, tenantId, id), now);
        await audit.record(tx, actor, { action: 'pilot.stop', targetType: 'pilot', targetId: id, before: pilotView(row, now), after: view });
        return view;
      });
    },

    /** GET /v1/pilots/{id}/report: the orders paid while it ran, its own against the rest. */
    async report(actor: Actor, id: string): Promise<PilotReport> {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      const row = await pilotsRepo.find(db, tenantId, id);
      if (!row) throw notFound('pilot');
      const from = row.started_at;
      const to = row.ended_at ?? row.ends_at ?? null;
      const groups = await pilotsRepo.reportGroups(db, tenantId, id, from, to);
      const daily = await pilotsRepo.reportDaily(db, tenantId, id, from, to);
      const bindings = await pilotsRepo.bindingsTo(db, tenantId, from, to);
      const distributors = new Map((await pilotsRepo.distributorGrades(db, tenantId)).map((d) => [d.id, d]));
      const cohort = row.cohort as Cohort;
      let pilotBindings = 0;
      let controlBindings = 0;
      for (const b of bindings) {
        const d = b.to_distributor_id ? distributors.get(b.to_distributor_id) : undefined;
        if (!d) continue;
        if (sellerInCohort(tenantId, cohort, d)) pilotBindings += num(b.n);
        else controlBindings += num(b.n);
      }
      const group = (inPilot: boolean) => {
        const g = groups.find((x) => x.in_pilot === inPilot);
        const sales = num(g?.sales_fen);
        const commission = num(g?.commission_fen);
        const refunded = num(g?.refunded_fen);
        const sellers = num(g?.sellers);
        return {
          figures: {
            orders: num(g?.orders),
            sales_fen: sales,
            commission_fen: commission,
            commission_rate_bp: sales > 0 ? Math.floor((commission * 10000) / sales) : 0,
            active_distributors: sellers,
            sales_per_active_distributor_fen: sellers > 0 ? Math.floor(sales / sellers) : 0,
            new_bindings: inPilot ? pilotBindings : controlBindings,
            refunded_fen: refunded,
            refund_rate_bp: sales > 0 ? Math.floor((refunded * 10000) / sales) : 0,
          },
          rate: { n: num(g?.rate_n), mean: (g?.rate_mean ?? 0) * 10000, variance: (g?.rate_var ?? 0) * 1e8 },
          refund: { n: num(g?.rate_n), mean: (g?.refund_mean ?? 0) * 10000, variance: (g?.refund_var ?? 0) * 1e8 },
        };
      };
      const p = group(true);
      const c = group(false);
      const round = (i: { difference: number; low: number; high: number } | null) =>
        i && { difference: Math.round(i.difference * 100) / 100, low: Math.round(i.low * 100) / 100, high: Math.round(i.high * 100) / 100 };
      const days = new Map<
        string,
        { day: string; pilot_sales_fen: number; pilot_commission_fen: number; control_sales_fen: number; control_commission_fen: number }
      >();
      for (const d of daily) {
        const e = days.get(d.day) ?? { day: d.day, pilot_sales_fen: 0, pilot_commission_fen: 0, control_sales_fen: 0, control_commission_fen: 0 };
        if (d.in_pilot) {
          e.pilot_sales_fen += num(d.sales_fen);
          e.pilot_commission_fen += num(d.commission_fen);
        } else {
          e.control_sales_fen += num(d.sales_fen);
          e.control_commission_fen += num(d.commission_fen);
        }
        days.set(d.day, e);
      }
      return {
        pilot: p.figures,
        control: c.figures,
        from: from.toISOString(),
        to: to?.toISOString() ?? null,
        comparison: {
          commission_rate_bp: { difference: p.figures.commission_rate_bp - c.figures.commission_rate_bp, interval: round(differenceInterval(p.rate, c.rate)) },
          refund_rate_bp: { difference: p.figures.refund_rate_bp - c.figures.refund_rate_bp, interval: round(differenceInterval(p.refund, c.refund)) },
          sales_per_active_distributor_fen: { difference: p.figures.sales_per_active_distributor_fen - c.figures.sales_per_active_distributor_fen },
        },
        daily: [...days.values()],
      };
    },
  };
}

export type PilotsService = ReturnType<typeof createPilotsService>;

import { isDeepStrictEqual } from 'node:util';
import type { Db, Executor, Tx } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { invalid, invalidState, notFound } from '../../core/errors.ts';
export { parseEffectiveFrom } from '../program/timing.ts';
import { actorOf, requirePermission, tenantOf } from '../../core/principal.ts';
import { newId } from '../../core/ids.ts';
import type { AuditService } from '../audit/service.ts';
import { programRepo } from '../program/repo.ts';
import { complianceCheck, normalizeSettings, type GradeSettings } from '../program/service.ts';
import type { RulesSnapshot } from '../commissions/calculator.ts';
import { rulesRepo } from './repo.ts';
import type { SkuRates } from './schema.ts';
import {
  applyPatch,
  patchIsEmpty,
  rebuild,
  sameState,
  snapshotOf,
  stateFromSnapshot,
  versionAt,
  type GradeState,
  type RulesPatch,
  type RulesState,
  type TimelineVersion,
} from './timeline.ts';

export interface RuleChangeInput {
  kind: 'program' | 'grade' | 'sku_rule' | 'pilot';
  target: string | null;
  patch: RulesPatch;
  effectiveFrom: Date;
  reason: string | null;
  /** What the version written for it says (program.update, grade.put gold, …). */
  label: string;
}

export interface RuleChangeView {
  id: string;
  kind: 'program' | 'grade' | 'sku_rule' | 'pilot';
  target: string | null;
  patch: RulesPatch;
  effective_from: string;
  reason: string | null;
  status: 'active' | 'cancelled';
  /** scheduled: takes effect later; in_force: took effect (now or back-dated); cancelled. */
  timing: 'scheduled' | 'in_force' | 'cancelled';
  created_at: string;
  created_by: { type: string; id: string | null };
  cancelled_at: string | null;
}

/** A state read from the tables the program and rules modules keep (the rules as last materialised). */
async function stateFromTables(ex: Executor, tenantId: string): Promise<RulesState> {
  const program = await programRepo.find(ex, tenantId);
  if (!program) throw notFound('program');
  const grades = await programRepo.listGrades(ex, tenantId);
  const skus = await rulesRepo.skuRates(ex, tenantId);
  return {
    program: normalizeSettings(program.settings),
    grades: Object.fromEntries(
      grades.map((g) => [g.code, { name: g.name, rank: g.rank, sales_bp: g.sales_bp, override_bp: [...g.override_bp], settings: g.settings ?? {} }]),
    ),
    sku: Object.fromEntries(skus.map((s) => [s.sku, s.rates as SkuRates])),
  };
}

function normalizeState(raw: Record<string, unknown>): RulesState {
  const s = raw as unknown as RulesState;
  return { program: normalizeSettings(s.program as unknown as Record<string, unknown>), grades: s.grades ?? {}, sku: s.sku ?? {} };
}

function complianceOfState(state: RulesState): void {
  complianceCheck(
    state.program,
    Object.entries(state.grades).map(([code, g]) => ({ code, upgrade: (g.settings as GradeSettings).upgrade ?? null })),
  );
}

export function changeView(
  r: {
    id: string;
    kind: 'program' | 'grade' | 'sku_rule' | 'pilot';
    target: string | null;
    patch: unknown;
    effective_from: Date;
    reason: string | null;
    status: 'active' | 'cancelled';
    created_at: Date;
    created_by_type: string;
    created_by_id: string | null;
    cancelled_at: Date | null;
  },
  now: Date,
): RuleChangeView {
  return {
    id: r.id,
    kind: r.kind,
    target: r.target,
    patch: r.patch as RulesPatch,
    effective_from: r.effective_from.toISOString(),
    reason: r.reason,
    status: r.status,
    timing: r.status === 'cancelled' ? 'cancelled' : r.effective_from.getTime() > now.getTime() ? 'scheduled' : 'in_force',
    created_at: r.created_at.toISOString(),
    created_by: { type: r.created_by_type, id: r.created_by_id },
    cancelled_at: r.cancelled_at?.toISOString() ?? null,
  };
}

/**
 * The rules timeline of each tenant: every change recorded with its effective time, and rule
 * versions written from them so that the version in force at a moment (rules.pickVersion) holds
 * the starting rules with every change effective by then applied in order. The program, grades and
 * SKU rule tables hold the rules in force now ("materialised"); a scheduled change reaches them
 * when its time comes (catchUp), and until then readers that need it use stateNow.
 */
export function createRuleTimeline(deps: { db: Db; clock: Clock; audit: AuditService }) {
  const { db, clock, audit } = deps;

  async function loadVersions(ex: Executor, tenantId: string): Promise<TimelineVersion[]> {
    const rows = await rulesRepo.timelineVersions(ex, tenantId);
    // Versions written before whole states were kept: their snapshot over what the newest known state says of the rest.
    let known: RulesState | undefined;
    for (let i = rows.length - 1; i >= 0 && !known; i--) {
      const st = (rows[i] as (typeof rows)[number]).state;
      if (st) known = normalizeState(st);
    }
    known ??= await stateFromTables(ex, tenantId);
    const k = known;
    return rows.map((r) => ({
      version: r.version,
      effective_from: r.effective_from,
      state: r.state ? normalizeState(r.state) : stateFromSnapshot(r.snapshot as unknown as RulesSnapshot, k),
      legacy: !r.recorded,
    }));
  }

  async function writeVersion(tx: Executor, tenantId: string, at: Date, state: RulesState, reason: string): Promise<number> {
    const version = (await rulesRepo.lastVersion(tx, tenantId)) + 1;
    await rulesRepo.insertVersion(tx, {
      tenant_id: tenantId,
      version,
      effective_from: at,
      snapshot: snapshotOf(state, version),
      reason,
      state,
      recorded: true,
    });
    return version;
  }

  /** Writes the versions the timeline needs from `from` on (refusing any that breaks compliance), then the tables. */
  async function rebuildFrom(tx: Tx, tenantId: string, from: Date, label: string): Promise<number[]> {
    const versions = await loadVersions(tx, tenantId);
    const changes = (await rulesRepo.activeChangesFrom(tx, tenantId, from)).map((c) => ({
      id: c.id,
      seq: Number(c.seq),
      effective_from: c.effective_from,
      patch: c.patch as RulesPatch,
    }));
    const planned = rebuild(versions, changes, from);
    // Compliance is checked on every state the change leads to, up front, not when it takes effect.
    for (const p of planned) complianceOfState(p.state);
    const written: number[] = [];
    for (const p of planned) {
      const reason = p.effective_from.getTime() === from.getTime() ? label : `${label} (carried into the change at ${p.effective_from.toISOString()})`;
      written.push(await writeVersion(tx, tenantId, p.effective_from, p.state, reason));
    }
    await materialize(tx, tenantId);
    return written;
  }

  /** The tables take the state in force now; programs.next_change_at the next moment after now. */
  async function materialize(tx: Executor, tenantId: string): Promise<void> {
    const now = clock.now();
    const versions = await loadVersions(tx, tenantId);
    const inForce = versionAt(versions, now);
    if (!inForce) return;
    const tables = await stateFromTables(tx, tenantId);
    const target = inForce.state;
    if (!isDeepStrictEqual(tables.program, target.program)) await programRepo.update(tx, tenantId, target.program, now);
    for (const [code, g] of Object.entries(target.grades)) {
      if (!isDeepStrictEqual(tables.grades[code], g)) await programRepo.upsertGrade(tx, { tenant_id: tenantId, code, ...g }, now);
    }
    for (const sku of new Set([...Object.keys(tables.sku), ...Object.keys(target.sku)])) {
      const want = target.sku[sku];
      if (isDeepStrictEqual(tables.sku[sku], want)) continue;
      if (want === undefined) await rulesRepo.deleteSkuRule(tx, tenantId, sku);
      else await rulesRepo.upsertSkuRule(tx, tenantId, sku, want, now);
    }
    const next = versions.map((v) => v.effective_from.getTime()).filter((t) => t > now.getTime());
    await programRepo.setNextChange(tx, tenantId, next.length > 0 ? new Date(Math.min(...next)) : null);
  }

  const timeline = {
    /**
     * Records a change at its effective time (the caller's transaction, program row locked by
     * it or here) and writes the versions it leads to. Refuses (422) a change any resulting state
     * of which breaks compliance, whenever it would take effect.
     */
    async record(tx: Tx, actor: Actor, tenantId: string, change: RuleChangeInput): Promise<{ change: RuleChangeView; versions: number[] }> {
      if (patchIsEmpty(change.patch)) throw invalid({ en: 'the change changes nothing', zh: '此变更没有改变任何内容' });
      await programRepo.findForUpdate(tx, tenantId);
      const { actorType, actorId } = actorOf(actor.principal);
      const id = newId('rch');
      const now = clock.now();
      await rulesRepo.insertChange(tx, {
        id,
        tenant_id: tenantId,
        seq: (await rulesRepo.lastChangeSeq(tx, tenantId)) + 1,
        kind: change.kind,
        target: change.target,
        patch: change.patch,
        effective_from: change.effectiveFrom,
        reason: change.reason,
        created_at: now,
        created_by_type: actorType,
        created_by_id: actorId,
      });
      const versions = await rebuildFrom(tx, tenantId, change.effectiveFrom, change.reason ? `${change.label}: ${change.reason}` : change.label);
      const row = await rulesRepo.findChange(tx, tenantId, id);
      if (!row) throw new Error(`rule change ${id} vanished within its own transaction`);
      const view = changeView(row, now);
      if (change.effectiveFrom.getTime() !== now.getTime()) {
        await audit.record(tx, actor, {
          action: view.timing === 'scheduled' ? 'rule_change.schedule' : 'rule_change.backdate',
          targetType: 'rule_change',
          targetId: id,
          after: view,
          reason: change.reason,
        });
      }
      return { change: view, versions };
    },

    /** A version at now holding the rules in force now (marks a pilot's start or end in the history; refreshes caches). */
    async mark(tx: Tx, tenantId: string, reason: string): Promise<number> {
      await programRepo.findForUpdate(tx, tenantId);
      const versions = await loadVersions(tx, tenantId);
      const now = clock.now();
      const inForce = versionAt(versions, now);
      const state = inForce ? inForce.state : await stateFromTables(tx, tenantId);
      const version = await writeVersion(tx, tenantId, now, state, reason);
      // Later moments stand as they were: a version at now with the same state changes nothing after it.
      return version;
    },

    /** The first version of a new tenant: its starting rules, in force since the beginning of time. */
    async start(tx: Executor, tenantId: string): Promise<number> {
      const state = await stateFromTables(tx, tenantId);
      return writeVersion(tx, tenantId, clock.now(), state, 'tenant.create');
    },

    /** The rules in force now, whether or not a change that took effect since is in the tables yet. */
    async stateNow(ex: Executor, tenantId: string): Promise<RulesState> {
      const versions = await loadVersions(ex, tenantId);
      const v = versionAt(versions, clock.now());
      return v ? v.state : stateFromTables(ex, tenantId);
    },

    /** The state in force at `at`. */
    async stateAt(ex: Executor, tenantId: string, at: Date): Promise<RulesState> {
      const v = versionAt(await loadVersions(ex, tenantId), at);
      return v ? v.state : stateFromTables(ex, tenantId);
    },

    materialize,

    /** Brings the tables up to the rules in force now if a scheduled change has taken effect since (own transaction). */
    async catchUp(tenantId: string): Promise<void> {
      const row = await programRepo.find(db, tenantId);
      if (!row?.next_change_at || row.next_change_at.getTime() > clock.now().getTime()) return;
      await inTransaction(db, async (tx) => {
        const locked = await programRepo.findForUpdate(tx, tenantId);
        if (!locked?.next_change_at || locked.next_change_at.getTime() > clock.now().getTime()) return;
        await materialize(tx, tenantId);
      });
    },

    /** POST /v1/rule-changes/{id}/cancel: a scheduled change that has not taken effect, and every version it led to, undone. */
    async cancel(actor: Actor, id: string, reason: string | null): Promise<RuleChangeView> {
      requirePermission(actor.principal, 'program:write');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        await programRepo.findForUpdate(tx, tenantId);
        const row = await rulesRepo.findChange(tx, tenantId, id);
        if (!row) throw notFound('rule change');
        const now = clock.now();
        if (row.status === 'cancelled') throw invalidState({ en: 'this change is already cancelled', zh: '此变更已取消' });
        if (row.effective_from.getTime() <= now.getTime())
          throw invalidState({ en: 'this change has taken effect: make a new change instead', zh: '此变更已生效：请另行创建新的变更' });
        await rulesRepo.cancelChange(tx, id, now);
        await rebuildFrom(tx, tenantId, row.effective_from, `cancel ${id}`);
        const after = await rulesRepo.findChange(tx, tenantId, id);
        if (!after) throw new Error(`rule change ${id} vanished within its own transaction`);
        const view = changeView(after, now);
        await audit.record(tx, actor, {
          action: 'rule_change.cancel',
          targetType: 'rule_change',
          targetId: id,
          before: changeView(row, now),
          after: view,
          reason,
        });
        return view;
      });
    },

    async list(actor: Actor, q: { scheduled?: boolean | undefined; status?: 'active' | 'cancelled' | undefined; limit: number }) {
      requirePermission(actor.principal, 'read');
      const now = clock.now();
      const rows = await rulesRepo.listChanges(db, tenantOf(actor.principal), {
        from: q.scheduled ? now : undefined,
        status: q.scheduled ? 'active' : q.status,
        limit: q.limit,
      });
      return rows.map((r) => changeView(r, now));
    },

    async get(actor: Actor, id: string): Promise<RuleChangeView> {
      requirePermission(actor.principal, 'read');
      const row = await rulesRepo.findChange(db, tenantOf(actor.principal), id);
      if (!row) throw notFound('rule change');
      return changeView(row, clock.now());
    },
  };
  return timeline;
}

export type RuleTimeline = ReturnType<typeof createRuleTimeline>;
export type { RulesState, RulesPatch, GradeState };
export { sameState, applyPatch };

import { MESSAGES, zhAction, zhStatus } from '../../core/error-text.ts';
import { isDeepStrictEqual } from 'node:util';
import type { Selectable } from 'kysely';
import type { Db, Executor, Tx } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { ProgramProposalsTable } from '../../db/schema.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, compliance, forbidden, invalid, invalidState, notFound } from '../../core/errors.ts';
import { complianceFindings, MAX_LEVELS, violations, type GradeForCompliance } from '../compliance/rules.ts';
import { actorOf, can, requirePermission, tenantOf } from '../../core/principal.ts';
import { newId } from '../../core/ids.ts';
import type { AuditService } from '../audit/service.ts';
import { moneyChanges, moneyValue, withMoneyValues, type MoneyChange } from './money-controls.ts';
import { compactFixed, fixedFields, type FixedRates } from '../commissions/calculator.ts';
import { programRepo } from './repo.ts';
import { programDiffLeaves, programLeaves } from './leaves.ts';
import {
  defaultProgramSettings,
  type DeepPartial,
  type Grade,
  type GradeBody,
  type ProgramAnswer,
  type ProgramProposal,
  type ProgramSettings,
} from './schema.ts';
import type { Static } from '@sinclair/typebox';
import type { RuleChange, TierSchema, UpgradeRule as UpgradeRuleSchema } from './schema.ts';

type Tier = Static<typeof TierSchema>;
type UpgradeRule = Static<typeof UpgradeRuleSchema>;

export { MAX_LEVELS } from '../compliance/rules.ts';

/** Merges a patch into the settings: nested objects field by field, anything else replaced. */
export function mergeSettings<T>(current: T, patch: DeepPartial<T> | undefined): T {
  if (patch === undefined) return current;
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch) || current === null || typeof current !== 'object') {
    return patch as T;
  }
  const out: Record<string, unknown> = { ...(current as Record<string, unknown>) };
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === undefined) continue;
    out[k] = mergeSettings((current as Record<string, unknown>)[k], v as DeepPartial<unknown>);
  }
  return out as T;
}

/** Settings stored by an older version gain the fields added since, with their defaults. */
export function normalizeSettings(stored: Record<string, unknown>): ProgramSettings {
  return mergeSettings<ProgramSettings>(defaultProgramSettings(), stored as DeepPartial<ProgramSettings>);
}

/** Refuses a program or grade change that breaks a compliance rule, naming every one it breaks. */
export function complianceCheck(settings: ProgramSettings, grades: GradeForCompliance[] = []): void {
  const found = violations(settings, grades);
  if (found.length === 0) return;
  // In Chinese, each broken rule by its title (the English detail names the setting).
  const titles = complianceFindings(settings, grades)
    .filter((f) => f.status === 'violation')
    .map((f) => f.title.zh);
  throw compliance({ en: found.join('; '), zh: `违反合规规则：${titles.join('；')}` });
}

export interface GradeSettings extends FixedRates {
  tiers?: Tier[] | undefined;
  upgrade?: UpgradeRule | null | undefined;
}

/** The contract's grade fields, plus tiers and the upgrade rule only where a grade has them. */
export function gradeView(g: { code: string; name: string; rank: number; sales_bp: number; override_bp: number[]; settings?: Record<string, unknown> }): Grade {
  const settings = (g.settings ?? {}) as GradeSettings;
  return {
    code: g.code,
    name: g.name,
    rank: g.rank,
    sales_bp: g.sales_bp,
    override_bp: [...g.override_bp],
    ...(settings.tiers && settings.tiers.length > 0 ? { tiers: settings.tiers } : {}),
    ...(settings.upgrade ? { upgrade: settings.upgrade } : {}),
    ...fixedFields(settings),
  };
}

export type RulesChangedHook = (tx: Executor, tenantId: string, reason: string) => Promise<void>;

/** A grade as the rules timeline keeps it. */
export interface GradeRowState {
  name: string;
  rank: number;
  sales_bp: number;
  override_bp: number[];
  settings: Record<string, unknown>;
}

/**
 * The rules timeline (rules/changes.ts), as the program module uses it: every change recorded with
 * its effective time; the rules in force now; the tables brought up to them.
 */
export interface ProgramTimeline {
  record(
    tx: Tx,
    actor: Actor,
    tenantId: string,
    change: {
      kind: 'program' | 'grade';
      target: string | null;
      patch: { program?: Record<string, unknown>; grades?: Record<string, GradeRowState> };
      effectiveFrom: Date;
      reason: string | null;
      label: string;
    },
  ): Promise<{ change: Static<typeof RuleChange>; versions: number[] }>;
  stateNow(ex: Executor, tenantId: string): Promise<{ program: ProgramSettings; grades: Record<string, GradeRowState> }>;
  materialize(tx: Executor, tenantId: string): Promise<void>;
}

/** When a change applies and why: without effective_from, from now on. */
export interface ChangeTiming {
  effectiveFrom?: Date | undefined;
  reason?: string | undefined;
}

export function proposalView(r: Selectable<ProgramProposalsTable>): ProgramProposal {
  return {
    id: r.id,
    status: r.status,
    changes: r.changes as ProgramProposal['changes'],
    proposed_by: { type: r.proposed_by_type, id: r.proposed_by_id },
    created_at: r.created_at.toISOString(),
    decided_by: r.decided_by_type ? { type: r.decided_by_type, id: r.decided_by_id } : null,
    decided_at: r.decided_at?.toISOString() ?? null,
    reason: r.reason,
  };
}

export function createProgramService(deps: {
  db: Db;
  clock: Clock;
  audit: AuditService;
  onRulesChanged?: RulesChangedHook[];
  /**
   * Checks of other modules on a change, in its transaction before it is written; throwing
   * refuses it (the referral module: landing_url on a verified domain).
   */
  validate?: ((tx: Executor, tenantId: string, before: ProgramSettings, after: ProgramSettings) => Promise<void>)[];
  /** The rules timeline: changes with effective times. Without it, changes apply at once (and onRulesChanged is told). */
  timeline?: ProgramTimeline;
}) {
  const { db, clock, audit } = deps;
  const hooks = deps.onRulesChanged ?? [];

  /** A scheduled change has taken effect and the tables do not hold it yet. */
  function due(row: { next_change_at: Date | null }): boolean {
    return !!deps.timeline && row.next_change_at !== null && row.next_change_at.getTime() <= clock.now().getTime();
  }

  async function read(ex: Executor, tenantId: string): Promise<ProgramSettings> {
    const row = await programRepo.find(ex, tenantId);
    if (!row) throw notFound('program');
    if (due(row) && deps.timeline) return (await deps.timeline.stateNow(ex, tenantId)).program;
    return normalizeSettings(row.settings);
  }

  /** The program row locked, the tables first brought up to the rules in force now. */
  async function lockedCurrent(tx: Tx, tenantId: string) {
    let row = await programRepo.findForUpdate(tx, tenantId);
    if (row && due(row) && deps.timeline) {
      await deps.timeline.materialize(tx, tenantId);
      row = await programRepo.findForUpdate(tx, tenantId);
    }
    return row;
  }

  /** The grades in force now (rows as the table holds them). */
  async function gradesNow(ex: Executor, tenantId: string) {
    const row = await programRepo.find(ex, tenantId);
    const rows = await programRepo.listGrades(ex, tenantId);
    if (!row || !due(row) || !deps.timeline) return rows;
    const state = await deps.timeline.stateNow(ex, tenantId);
    return Object.entries(state.grades)
      .map(([code, g]) => ({ code, ...g }))
      .sort((a, b) => a.rank - b.rank || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  }

  async function gradesForCompliance(tx: Executor, tenantId: string): Promise<GradeForCompliance[]> {
    return (await programRepo.listGrades(tx, tenantId)).map((g) => ({ code: g.code, upgrade: (g.settings as GradeSettings).upgrade ?? null }));
  }

  /** Writes the program, audited, and tells the rule versions (the caller holds the program row). */
  async function apply(tx: Tx, actor: Actor, tenantId: string, before: ProgramSettings, after: ProgramSettings, reason: string | null): Promise<void> {
    complianceCheck(after, await gradesForCompliance(tx, tenantId));
    for (const check of deps.validate ?? []) await check(tx, tenantId, before, after);
    await programRepo.update(tx, tenantId, after, clock.now());
    await audit.record(tx, actor, { action: 'program.update', targetType: 'program', targetId: tenantId, before, after, reason });
    if (deps.timeline) {
      const leaves = programDiffLeaves(before, after);
      if (Object.keys(leaves).length > 0) {
        await deps.timeline.record(tx, actor, tenantId, {
          kind: 'program',
          target: null,
          patch: { program: leaves },
          effectiveFrom: clock.now(),
          reason,
          label: reason ? `program.update (${reason})` : 'program.update',
        });
      }
    } else for (const hook of hooks) await hook(tx, tenantId, 'program.update');
  }

  /**
   * A change with an effective time: recorded in the rules timeline (scheduled when later than
   * now, back-dated when earlier), checked for compliance on every state it leads to. Answers the
   * program in force now, with the change.
   */
  async function changeAt(actor: Actor, patch: DeepPartial<ProgramSettings>, timing: Required<Pick<ChangeTiming, 'effectiveFrom'>> & ChangeTiming) {
    const tenantId = tenantOf(actor.principal);
    const timeline = deps.timeline;
    if (!timeline) throw new Error('changes with an effective time need the rules timeline');
    return inTransaction(db, async (tx) => {
      const row = await lockedCurrent(tx, tenantId);
      if (!row) throw notFound('program');
      const before = normalizeSettings(row.settings);
      const merged = mergeSettings<ProgramSettings>(before, patch);
      if (moneyChanges(before, merged).length > 0 && !can(actor.principal, 'program:money')) {
        throw forbidden({
          en: 'a change to the money controls with an effective time needs program:money (finance or the owner)',
          zh: '带生效时间的资金控制变更须有 program:money 权限（财务或所有者）',
        });
      }
      complianceCheck(merged, await gradesForCompliance(tx, tenantId));
      for (const check of deps.validate ?? []) await check(tx, tenantId, before, merged);
      const leaves = programLeaves(before, patch, merged);
      if (Object.keys(leaves).length === 0) throw invalid({ en: 'the change changes nothing', zh: '此变更没有改变任何内容' });
      const { change } = await timeline.record(tx, actor, tenantId, {
        kind: 'program',
        target: null,
        patch: { program: leaves },
        effectiveFrom: timing.effectiveFrom,
        reason: timing.reason ?? null,
        label: 'program.update',
      });
      return { ...(await read(tx, tenantId)), change } as ProgramAnswer;
    });
  }

  async function change(actor: Actor, patch: DeepPartial<ProgramSettings>): Promise<ProgramAnswer> {
    const tenantId = tenantOf(actor.principal);
    return inTransaction(db, async (tx) => {
      const row = await lockedCurrent(tx, tenantId);
      if (!row) throw notFound('program');
      const before = normalizeSettings(row.settings);
      const merged = mergeSettings<ProgramSettings>(before, patch);
      const money = moneyChanges(before, merged);
      if (money.length === 0 || can(actor.principal, 'program:money')) {
        await apply(tx, actor, tenantId, before, merged, null);
        return merged;
      }
      // The whole change must be valid, the proposed part included, before any of it is kept.
      complianceCheck(merged, await gradesForCompliance(tx, tenantId));
      const after = withMoneyValues(merged, money, 'from');
      if (!isDeepStrictEqual(before, after)) await apply(tx, actor, tenantId, before, after, null);
      const proposal = await propose(tx, actor, tenantId, money);
      return { ...after, pending_proposal: proposal };
    });
  }

  /** A pending proposal of these changes: the one already waiting with exactly them, else a new one (audited). */
  /** A proposal this transaction just wrote or locked: there, or something is badly wrong. */
  async function proposalWritten(tx: Tx, tenantId: string, id: string) {
    const p = await programRepo.findProposal(tx, tenantId, id);
    if (!p) throw new Error(`program proposal ${id} vanished within its own transaction`);
    return p;
  }

  async function propose(tx: Tx, actor: Actor, tenantId: string, changes: MoneyChange[]): Promise<ProgramProposal> {
    const same = (await programRepo.pendingProposals(tx, tenantId)).find((p) => isDeepStrictEqual(p.changes, changes));
    if (same) return proposalView(same);
    const { actorType, actorId } = actorOf(actor.principal);
    const id = newId('ppr');
    await programRepo.insertProposal(tx, { id, tenant_id: tenantId, changes, proposed_by_type: actorType, proposed_by_id: actorId, created_at: clock.now() });
    const view = proposalView(await proposalWritten(tx, tenantId, id));
    await audit.record(tx, actor, { action: 'program.propose', targetType: 'program_proposal', targetId: id, after: view });
    return view;
  }

  /** A pending proposal of the tenant, locked, that this caller may decide: not its proposer. */
  async function decidable(tx: Tx, actor: Actor, tenantId: string, id: string, what: 'confirm' | 'reject') {
    const p = await programRepo.findProposalForUpdate(tx, tenantId, id);
    if (!p) throw notFound('proposal');
    if (p.status !== 'pending')
      throw invalidState({ en: `a ${p.status} proposal cannot be ${what}ed`, zh: `状态为${zhStatus(p.status)}的变更提议不能${zhAction(what)}` });
    const { actorType, actorId } = actorOf(actor.principal);
    if (what === 'confirm' && actorType === p.proposed_by_type && actorId === p.proposed_by_id) {
      throw new AppError('second_person_required', {
        en: 'a change to the money controls is confirmed by a second person, not the one who proposed it',
        zh: '资金控制的变更须由提议人以外的另一人确认',
      });
    }
    return p;
  }

  return {
    /** New tenant: default program and the `default` grade (rank 0, every rate 0). */
    async initialize(tx: Executor, tenantId: string): Promise<void> {
      await programRepo.insert(tx, tenantId, defaultProgramSettings());
      await programRepo.upsertGrade(
        tx,
        { tenant_id: tenantId, code: 'default', name: 'default', rank: 0, sales_bp: 0, override_bp: [0, 0, 0], settings: {} },
        clock.now(),
      );
    },

    read,

    async get(actor: Actor): Promise<ProgramSettings> {
      requirePermission(actor.principal, 'read');
      return read(db, tenantOf(actor.principal));
    },

    /**
     * PUT /v1/program. A caller with program:money (finance, the owner, the API key) changes
     * anything; for anyone else (an operator) the rest applies and a change to a money control
     * becomes a pending proposal, answered as `pending_proposal`, that a second person with
     * program:money confirms or rejects. Never applied by the one who proposed it.
     */
    async update(actor: Actor, patch: DeepPartial<ProgramSettings>, timing: ChangeTiming = {}): Promise<ProgramAnswer> {
      requirePermission(actor.principal, 'program:write');
      if (timing.effectiveFrom) return changeAt(actor, patch, { ...timing, effectiveFrom: timing.effectiveFrom });
      return change(actor, patch);
    },

    /** PUT /v1/program/money-controls: finance sets the money controls directly (audited). */
    async updateMoneyControls(actor: Actor, patch: DeepPartial<ProgramSettings>): Promise<ProgramAnswer> {
      requirePermission(actor.principal, 'program:money');
      return change(actor, patch);
    },

    async listProposals(actor: Actor, q: { status?: 'pending' | 'confirmed' | 'rejected' | undefined; cursor?: string | undefined; limit: number }) {
      requirePermission(actor.principal, 'read');
      const rows = await programRepo.listProposals(db, tenantOf(actor.principal), { status: q.status, before: q.cursor, limit: q.limit + 1 });
      const page = rows.slice(0, q.limit);
      return { items: page.map(proposalView), next_cursor: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null };
    },

    /**
     * A second person applies a pending proposal. Refused when the money controls it changes no
     * longer hold what they held when it was proposed (the confirmer would not be confirming what
     * it reads), and to the user who proposed it.
     */
    async confirmProposal(actor: Actor, id: string): Promise<ProgramProposal> {
      requirePermission(actor.principal, 'program:money');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        // The program row first, as every writer of the program takes it.
        const row = await lockedCurrent(tx, tenantId);
        if (!row) throw notFound('program');
        const p = await decidable(tx, actor, tenantId, id, 'confirm');
        const before = normalizeSettings(row.settings);
        const changes = p.changes as MoneyChange[];
        const moved = changes.filter((c) => !isDeepStrictEqual(moneyValue(before, c.field), c.from)).map((c) => c.field);
        if (moved.length > 0)
          throw invalidState({
            en: `${moved.join(', ')} changed since this was proposed: reject it and propose again`,
            zh: `${moved.join('、')} 在提议之后已被修改：请驳回并重新提议`,
          });
        const after = withMoneyValues(before, changes, 'to');
        const { actorType, actorId } = actorOf(actor.principal);
        await programRepo.decideProposal(tx, id, {
          status: 'confirmed',
          decided_by_type: actorType,
          decided_by_id: actorId,
          decided_at: clock.now(),
          reason: null,
        });
        await apply(tx, actor, tenantId, before, after, `proposal ${id}`);
        const view = proposalView(await proposalWritten(tx, tenantId, id));
        await audit.record(tx, actor, {
          action: 'program.proposal_confirm',
          targetType: 'program_proposal',
          targetId: id,
          before: { status: 'pending' },
          after: view,
        });
        return view;
      });
    },

    async rejectProposal(actor: Actor, id: string, reason: string): Promise<ProgramProposal> {
      requirePermission(actor.principal, 'program:money');
      const tenantId = tenantOf(actor.principal);
      if (!reason.trim()) throw invalid(MESSAGES.reasonRequired());
      return inTransaction(db, async (tx) => {
        await decidable(tx, actor, tenantId, id, 'reject');
        const { actorType, actorId } = actorOf(actor.principal);
        await programRepo.decideProposal(tx, id, { status: 'rejected', decided_by_type: actorType, decided_by_id: actorId, decided_at: clock.now(), reason });
        const view = proposalView(await proposalWritten(tx, tenantId, id));
        await audit.record(tx, actor, {
          action: 'program.proposal_reject',
          targetType: 'program_proposal',
          targetId: id,
          before: { status: 'pending' },
          after: view,
          reason,
        });
        return view;
      });
    },

    async listGrades(actor: Actor): Promise<Grade[]> {
      requirePermission(actor.principal, 'read');
      return (await gradesNow(db, tenantOf(actor.principal))).map(gradeView);
    },

    async getGrade(actor: Actor, code: string): Promise<Grade> {
      requirePermission(actor.principal, 'read');
      const g = (await gradesNow(db, tenantOf(actor.principal))).find((r) => r.code === code);
      if (!g) throw notFound('grade');
      return gradeView(g);
    },

    async putGrade(actor: Actor, code: string, body: GradeBody, timing: ChangeTiming = {}): Promise<Grade & { change?: Static<typeof RuleChange> }> {
      requirePermission(actor.principal, 'program:write');
      const tenantId = tenantOf(actor.principal);
      if (body.override_bp.length > MAX_LEVELS) throw invalid({ en: 'override_bp holds at most 3 rates', zh: 'override_bp 至多包含 3 个比例' });
      return inTransaction(db, async (tx) => {
        const row = await lockedCurrent(tx, tenantId);
        const before = await programRepo.findGrade(tx, tenantId, code);
        // Stored as given; a missing level reads as rate 0 (see rateAt).
        const override = [...body.override_bp];
        // Tiers and the upgrade rule are kept when a body leaves them out, replaced when it has them.
        const previous = (before?.settings ?? {}) as GradeSettings;
        const settings: GradeSettings = {
          tiers: body.tiers ?? previous.tiers ?? [],
          upgrade: body.upgrade === undefined ? (previous.upgrade ?? null) : body.upgrade,
          // Fixed amounts, like tiers: kept when the body leaves them out (null clears one).
          ...compactFixed({
            sales_fixed_fen: body.sales_fixed_fen === undefined ? previous.sales_fixed_fen : body.sales_fixed_fen,
            override_fixed_fen: body.override_fixed_fen ?? previous.override_fixed_fen,
            fixed_per: body.fixed_per ?? previous.fixed_per,
          }),
        };
        // Upgrades on head count pay for recruiting: refused like any other compliance breach.
        const others = (await programRepo.listGrades(tx, tenantId))
          .filter((g) => g.code !== code)
          .map((g) => ({ code: g.code, upgrade: (g.settings as GradeSettings).upgrade ?? null }));
        if (!row) throw new Error(`tenant ${tenantId} has no program`);
        complianceCheck(normalizeSettings(row.settings), [...others, { code, upgrade: settings.upgrade ?? null }]);
        const grade: GradeRowState = {
          name: body.name,
          rank: body.rank,
          sales_bp: body.sales_bp,
          override_bp: override,
          settings: settings as Record<string, unknown>,
        };
        if (timing.effectiveFrom && deps.timeline) {
          // Dated: recorded in the timeline; the tables follow when (and if) it is in force now.
          const { change } = await deps.timeline.record(tx, actor, tenantId, {
            kind: 'grade',
            target: code,
            patch: { grades: { [code]: grade } },
            effectiveFrom: timing.effectiveFrom,
            reason: timing.reason ?? null,
            label: `grade.put ${code}`,
          });
          const now = await programRepo.findGrade(tx, tenantId, code);
          return { ...gradeView(now ?? { code, ...grade }), change };
        }
        await programRepo.upsertGrade(tx, { tenant_id: tenantId, code, ...grade }, clock.now());
        const written = await programRepo.findGrade(tx, tenantId, code);
        if (!written) throw new Error(`grade ${code} vanished within its own transaction`);
        const after = gradeView(written);
        await audit.record(tx, actor, {
          action: before ? 'grade.update' : 'grade.create',
          targetType: 'grade',
          targetId: code,
          before: before ? gradeView(before) : null,
          after,
        });
        if (deps.timeline) {
          const same =
            before &&
            before.name === grade.name &&
            before.rank === grade.rank &&
            before.sales_bp === grade.sales_bp &&
            isDeepStrictEqual(before.override_bp, grade.override_bp) &&
            isDeepStrictEqual(before.settings, grade.settings);
          if (!same) {
            await deps.timeline.record(tx, actor, tenantId, {
              kind: 'grade',
              target: code,
              patch: { grades: { [code]: grade } },
              effectiveFrom: clock.now(),
              reason: null,
              label: `grade.put ${code}`,
            });
          }
        } else for (const hook of hooks) await hook(tx, tenantId, 'grade.put');
        return after;
      });
    },
  };
}

export type ProgramService = ReturnType<typeof createProgramService>;

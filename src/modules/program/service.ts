import type { Db, Executor } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../app/context.ts';
import { compliance, invalid, notFound } from '../../app/errors.ts';
import { MAX_LEVELS, violations, type GradeForCompliance } from '../compliance/rules.ts';
import { requirePermission, tenantOf } from '../../app/principal.ts';
import type { AuditService } from '../audit/service.ts';
import { programRepo } from './repo.ts';
import { defaultProgramSettings, type DeepPartial, type Grade, type GradeBody, type ProgramSettings } from './schema.ts';
import type { Static } from '@sinclair/typebox';
import type { TierSchema, UpgradeRule as UpgradeRuleSchema } from './schema.ts';

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
  if (found.length > 0) throw compliance(found.join('; '));
}

export interface GradeSettings { tiers?: Tier[] | undefined; upgrade?: UpgradeRule | null | undefined }

/** The contract's grade fields, plus tiers and the upgrade rule only where a grade has them. */
export function gradeView(g: { code: string; name: string; rank: number; sales_bp: number; override_bp: number[]; settings?: Record<string, unknown> }): Grade {
  const settings = (g.settings ?? {}) as GradeSettings;
  return {
    code: g.code, name: g.name, rank: g.rank, sales_bp: g.sales_bp, override_bp: [...g.override_bp],
    ...(settings.tiers && settings.tiers.length > 0 ? { tiers: settings.tiers } : {}),
    ...(settings.upgrade ? { upgrade: settings.upgrade } : {}),
  };
}

export type RulesChangedHook = (tx: Executor, tenantId: string, reason: string) => Promise<void>;

export function createProgramService(deps: { db: Db; clock: Clock; audit: AuditService; onRulesChanged?: RulesChangedHook[] }) {
  const { db, clock, audit } = deps;
  const hooks = deps.onRulesChanged ?? [];

  async function read(ex: Executor, tenantId: string): Promise<ProgramSettings> {
    const row = await programRepo.find(ex, tenantId);
    if (!row) throw notFound('program');
    return normalizeSettings(row.settings);
  }

  return {
    /** New tenant: default program and the `default` grade (rank 0, every rate 0). */
    async initialize(tx: Executor, tenantId: string): Promise<void> {
      await programRepo.insert(tx, tenantId, defaultProgramSettings());
      await programRepo.upsertGrade(tx, { tenant_id: tenantId, code: 'default', name: 'default', rank: 0, sales_bp: 0, override_bp: [0, 0, 0], settings: {} }, clock.now());
    },

    read,

    async get(actor: Actor): Promise<ProgramSettings> {
      requirePermission(actor.principal, 'read');
      return read(db, tenantOf(actor.principal));
    },

    async update(actor: Actor, patch: DeepPartial<ProgramSettings>): Promise<ProgramSettings> {
      requirePermission(actor.principal, 'program:write');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        const row = await programRepo.findForUpdate(tx, tenantId);
        if (!row) throw notFound('program');
        const before = normalizeSettings(row.settings);
        const after = mergeSettings<ProgramSettings>(before, patch);
        complianceCheck(after, (await programRepo.listGrades(tx, tenantId)).map((g) => ({ code: g.code, upgrade: (g.settings as GradeSettings).upgrade ?? null })));
        await programRepo.update(tx, tenantId, after, clock.now());
        await audit.record(tx, actor, { action: 'program.update', targetType: 'program', targetId: tenantId, before, after });
        for (const hook of hooks) await hook(tx, tenantId, 'program.update');
        return after;
      });
    },

    async listGrades(actor: Actor): Promise<Grade[]> {
      requirePermission(actor.principal, 'read');
      return (await programRepo.listGrades(db, tenantOf(actor.principal))).map(gradeView);
    },

    async getGrade(actor: Actor, code: string): Promise<Grade> {
      requirePermission(actor.principal, 'read');
      const g = await programRepo.findGrade(db, tenantOf(actor.principal), code);
      if (!g) throw notFound('grade');
      return gradeView(g);
    },

    async putGrade(actor: Actor, code: string, body: GradeBody): Promise<Grade> {
      requirePermission(actor.principal, 'program:write');
      const tenantId = tenantOf(actor.principal);
      if (body.override_bp.length > MAX_LEVELS) throw invalid('override_bp holds at most 3 rates');
      return inTransaction(db, async (tx) => {
        const row = await programRepo.findForUpdate(tx, tenantId);
        const before = await programRepo.findGrade(tx, tenantId, code);
        // Stored as given; a missing level reads as rate 0 (see rateAt).
        const override = [...body.override_bp];
        // Tiers and the upgrade rule are kept when a body leaves them out, replaced when it has them.
        const previous = (before?.settings ?? {}) as GradeSettings;
        const settings: GradeSettings = {
          tiers: body.tiers ?? previous.tiers ?? [],
          upgrade: body.upgrade === undefined ? (previous.upgrade ?? null) : body.upgrade,
        };
        // Upgrades on head count pay for recruiting: refused like any other compliance breach.
        const others = (await programRepo.listGrades(tx, tenantId)).filter((g) => g.code !== code)
          .map((g) => ({ code: g.code, upgrade: (g.settings as GradeSettings).upgrade ?? null }));
        complianceCheck(normalizeSettings(row!.settings), [...others, { code, upgrade: settings.upgrade ?? null }]);
        await programRepo.upsertGrade(tx, {
          tenant_id: tenantId, code, name: body.name, rank: body.rank, sales_bp: body.sales_bp, override_bp: override,
          settings: settings as Record<string, unknown>,
        }, clock.now());
        const after = gradeView((await programRepo.findGrade(tx, tenantId, code))!);
        await audit.record(tx, actor, { action: before ? 'grade.update' : 'grade.create', targetType: 'grade', targetId: code, before: before ? gradeView(before) : null, after });
        for (const hook of hooks) await hook(tx, tenantId, 'grade.put');
        return after;
      });
    },
  };
}

export type ProgramService = ReturnType<typeof createProgramService>;

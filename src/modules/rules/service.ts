import type { RawBuilder } from 'kysely';
import type { Db, Executor } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { invalid, notFound } from '../../core/errors.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import type { AuditService } from '../audit/service.ts';
import { programRepo } from '../program/repo.ts';
import { normalizeSettings, type GradeSettings } from '../program/service.ts';
import { fixedFields, type RulesSnapshot } from '../commissions/calculator.ts';
import type { ProgramSettings } from '../program/schema.ts';
import type { SkuRates } from './schema.ts';
import { createRuleSimulator, type SimulationInput } from './simulator.ts';
import { rulesRepo } from './repo.ts';
import { createRuleTimeline } from './changes.ts';

export type { SkuRates };

/**
 * Rule versions. Whenever the program, a grade or a SKU override changes, the rules as a whole
 * are written down as a new version, in the same transaction. An order is computed with the
 * version in force when it was paid and its lines name that version, so a commission can always
 * explain itself however the rules have moved since.
 */
export interface VersionTime {
  version: number;
  effective_from: Date;
}

/**
 * The version in force at `at` among a tenant's versions (as versionsOf lists them): the newest to
 * take effect at or before it; before the first, the first (an order back-dated before the
 * program existed). Pure: a batch of orders reads the list once.
 */
export function pickVersion(versions: readonly VersionTime[], at: Date): number {
  let best: VersionTime | undefined;
  for (const v of versions) {
    if (v.effective_from.getTime() > at.getTime()) continue;
    if (
      !best ||
      v.effective_from.getTime() > best.effective_from.getTime() ||
      (v.effective_from.getTime() === best.effective_from.getTime() && v.version > best.version)
    )
      best = v;
  }
  if (best) return best.version;
  const first = versions.reduce<VersionTime | undefined>((m, v) => (!m || v.version < m.version ? v : m), undefined);
  if (!first) throw notFound('rule version');
  return first.version;
}

export function createRulesService(deps: {
  db: Db;
  clock: Clock;
  audit: AuditService;
  /** The program's settings (the simulator reads the time zone); the program service's read. */
  program: { read(ex: Executor, tenantId: string): Promise<ProgramSettings> };
}) {
  const { db, clock, audit } = deps;
  const snapshots = new Map<string, RulesSnapshot>();
  const timeline = createRuleTimeline({ db, clock, audit });

  async function buildSnapshot(ex: Executor, tenantId: string, version: number): Promise<RulesSnapshot> {
    const program = await programRepo.find(ex, tenantId);
    if (!program) throw notFound('program');
    const settings = normalizeSettings(program.settings);
    const grades = await programRepo.listGrades(ex, tenantId);
    const skus = await rulesRepo.skuRates(ex, tenantId);
    return {
      version,
      levels: settings.levels,
      self_purchase: settings.self_purchase,
      default_rates: { sales_bp: settings.default_rates.sales_bp, override_bp: settings.default_rates.override_bp, ...fixedFields(settings.default_rates) },
      grades: Object.fromEntries(
        grades.map((g) => {
          const gs = (g.settings ?? {}) as GradeSettings;
          // Only sales metrics can be stored (head-count upgrades are refused by compliance).
          const upgrade =
            gs.upgrade && (gs.upgrade.metric === 'sales_fen' || gs.upgrade.metric === 'settled_sales_fen')
              ? { metric: gs.upgrade.metric, min_fen: gs.upgrade.min_fen }
              : null;
          return [g.code, { rank: g.rank, sales_bp: g.sales_bp, override_bp: g.override_bp, tiers: gs.tiers ?? [], upgrade, ...fixedFields(gs) }];
        }),
      ),
      sku: Object.fromEntries(skus.map((s) => [s.sku, s.rates as SkuRates])),
      caps: { ...settings.caps },
    };
  }

  const service = {
    /** Writes the rules as they now stand as the next version (caller's transaction). */
    async bumpVersion(tx: Executor, tenantId: string, reason: string): Promise<number> {
      // Serialise version numbers per tenant on the program row.
      await programRepo.findForUpdate(tx, tenantId);
      const version = (await rulesRepo.lastVersion(tx, tenantId)) + 1;
      const snapshot = await buildSnapshot(tx, tenantId, version);
      await rulesRepo.insertVersion(tx, { tenant_id: tenantId, version, effective_from: clock.now(), snapshot, reason });
      return version;
    },

    /** The rules in force at `at`: the newest version that took effect at or before it. */
    async versionAt(ex: Executor, tenantId: string, at: Date): Promise<RulesSnapshot> {
      // An order paid before the first version (back-dated) uses the first.
      const version = await rulesRepo.versionNumberAt(ex, tenantId, at);
      if (version === undefined) throw notFound('rule version');
      return this.version(ex, tenantId, version);
    },

    /** Every version of a tenant's rules with when it took effect. */
    async versionsOf(ex: Executor, tenantId: string): Promise<VersionTime[]> {
      return rulesRepo.versionTimes(ex, tenantId);
    },

    pickVersion,

    /**
     * The tenant's newest version number, as a scalar subquery to read with other things in one
     * round trip. Every change of the program, a grade or a SKU rule writes a new version, so a
     * cache of the rules (and of the program) keyed by it is fresh while it is unchanged.
     */
    latestVersionSql(tenantId: string): RawBuilder<number | null> {
      return rulesRepo.latestVersionSql(tenantId);
    },

    async version(ex: Executor, tenantId: string, version: number): Promise<RulesSnapshot> {
      const key = `${tenantId}:${version}`;
      const cached = snapshots.get(key);
      if (cached) return cached;
      const row = await rulesRepo.snapshot(ex, tenantId, version);
      if (!row) throw notFound('rule version');
      const snapshot = row.snapshot as unknown as RulesSnapshot;
      if (snapshots.size > 10_000) snapshots.clear();
      snapshots.set(key, snapshot);
      return snapshot;
    },

    async listVersions(actor: Actor, limit: number) {
      requirePermission(actor.principal, 'read');
      const rows = await rulesRepo.listVersions(db, tenantOf(actor.principal), limit);
      return rows.map((r) => ({ version: r.version, effective_from: r.effective_from.toISOString(), reason: r.reason, snapshot: r.snapshot }));
    },

    async listSkuRules(actor: Actor) {
      requirePermission(actor.principal, 'read');
      // A scheduled change that has taken effect reaches the table first.
      await timeline.catchUp(tenantOf(actor.principal));
      const rows = await rulesRepo.listSkuRules(db, tenantOf(actor.principal));
      return rows.map((r) => ({ sku: r.sku, rates: r.rates as SkuRates, updated_at: r.updated_at.toISOString() }));
    },

    async putSkuRule(actor: Actor, sku: string, rates: SkuRates, effectiveFrom?: Date, reason?: string | null) {
      requirePermission(actor.principal, 'program:write');
      const tenantId = tenantOf(actor.principal);
      if (Object.keys(rates).length === 0) throw invalid({ en: 'give a rate for at least one level', zh: '请至少为一个层级给出比例' });
      return inTransaction(db, async (tx) => {
        const before = await rulesRepo.findSkuRule(tx, tenantId, sku);
        const { change, versions } = await timeline.record(tx, actor, tenantId, {
          kind: 'sku_rule',
          target: sku,
          patch: { sku: { [sku]: rates } },
          effectiveFrom: effectiveFrom ?? clock.now(),
          reason: reason ?? null,
          label: `sku_rule.put ${sku}`,
        });
        await audit.record(tx, actor, {
          action: 'sku_rule.put',
          targetType: 'sku_rule',
          targetId: sku,
          before: before?.rates ?? null,
          after: rates,
          reason: reason ?? null,
        });
        return { sku, rates, rule_version: versions.at(-1) ?? (await rulesRepo.lastVersion(tx, tenantId)), change };
      });
    },

    async deleteSkuRule(actor: Actor, sku: string) {
      requirePermission(actor.principal, 'program:write');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        const before = await rulesRepo.findSkuRule(tx, tenantId, sku);
        if (!before) throw notFound('sku rule');
        await timeline.record(tx, actor, tenantId, {
          kind: 'sku_rule',
          target: sku,
          patch: { sku: { [sku]: null } },
          effectiveFrom: clock.now(),
          reason: null,
          label: `sku_rule.delete ${sku}`,
        });
        await audit.record(tx, actor, { action: 'sku_rule.delete', targetType: 'sku_rule', targetId: sku, before: before.rates });
      });
    },

    /** Changes with their effective times: recorded, scheduled, back-dated, cancelled (see changes.ts). */
    timeline,
  };
  const simulator = createRuleSimulator({ db, clock, program: deps.program, rules: service });

  return {
    ...service,

    /** POST /v1/rules/simulate: what a rule change would have paid on the orders of a period (see simulator.ts). */
    simulate(actor: Actor, input: SimulationInput) {
      return simulator.simulate(actor, input);
    },
  };
}

export type RulesService = ReturnType<typeof createRulesService>;

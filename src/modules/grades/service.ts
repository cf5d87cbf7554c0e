import type { Db, Executor } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { notFound } from '../../core/errors.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import { newId } from '../../core/ids.ts';
import type { RulesSnapshot } from '../commissions/calculator.ts';
import { ordersRepo } from '../orders/repo.ts';
import { distributorsRepo } from '../distributors/repo.ts';
import { gradesRepo } from './repo.ts';

/**
 * The grade a distributor of grade `current` with these lifetime sales moves up to, if any: the
 * highest-ranked grade above its own whose sales rule it meets. Pure.
 */
export function upgradeFor(
  snapshot: RulesSnapshot,
  current: string,
  sales: { sales_fen: number; settled_sales_fen: number },
): { to: string; reason: string } | null {
  const currentRank = snapshot.grades[current]?.rank ?? 0;
  const met = Object.entries(snapshot.grades)
    .filter(([, g]) => g.upgrade && g.rank > currentRank && (g.upgrade.metric === 'sales_fen' ? sales.sales_fen : sales.settled_sales_fen) >= g.upgrade.min_fen)
    .sort(([, a], [, b]) => b.rank - a.rank);
  const best = met[0];
  if (!best) return null;
  const [code, grade] = best;
  const rule = grade.upgrade;
  if (!rule) throw new Error(`grade ${code} met an upgrade rule it does not have`);
  const value = rule.metric === 'sales_fen' ? sales.sales_fen : sales.settled_sales_fen;
  return { to: code, reason: `${rule.metric} ${value} ≥ ${rule.min_fen}` };
}

/**
 * Grade upgrades. A distributor moves up when its own sales reach a grade's threshold — never on
 * head count (that would pay for recruiting) — checked whenever its sales change. Upgrades are
 * automatic; nothing here ever moves a distributor down.
 */
export function createGradesService(deps: { db: Db; clock: Clock }) {
  const { db, clock } = deps;

  async function record(
    ex: Executor,
    e: { tenantId: string; distributorId: string; from: string; to: string; reason: string; actorType: string; actorId: string | null },
  ) {
    await gradesRepo.insertChanges(ex, {
      id: newId('evt'),
      tenant_id: e.tenantId,
      distributor_id: e.distributorId,
      from_grade: e.from,
      to_grade: e.to,
      reason: e.reason,
      actor_type: e.actorType,
      actor_id: e.actorId,
      at: clock.now(),
    });
  }

  return {
    record,

    /** Upgrades `distributorId` to the highest grade its sales now qualify for, if above its own. */
    async evaluate(tx: Executor, tenantId: string, distributorId: string, snapshot: RulesSnapshot): Promise<string | null> {
      if (!Object.values(snapshot.grades).some((g) => g.upgrade)) return null;
      const d = await distributorsRepo.findGrade(tx, distributorId);
      if (!d) return null;
      const up = upgradeFor(snapshot, d.grade_code, await ordersRepo.lifetimeSales(tx, distributorId));
      if (!up) return null;
      // Compare-and-set: two orders crossing the threshold at once upgrade it once.
      if (!(await distributorsRepo.setGradeIf(tx, distributorId, d.grade_code, up.to, clock.now()))) return null;
      await record(tx, { tenantId, distributorId, from: d.grade_code, to: up.to, reason: up.reason, actorType: 'system', actorId: 'grade-upgrade' });
      return up.to;
    },

    /**
     * Upgrades decided in memory by a batch of orders (upgradeFor, on sales it kept), in order:
     * each moves the grade from what it was to what it became and is written down.
     */
    async applyUpgrades(tx: Executor, tenantId: string, upgrades: { distributorId: string; from: string; to: string; reason: string }[]) {
      if (upgrades.length === 0) return;
      const now = clock.now();
      const last = new Map<string, { from: string; to: string }>();
      for (const u of upgrades) last.set(u.distributorId, { from: last.get(u.distributorId)?.from ?? u.from, to: u.to });
      // Compare-and-set, as evaluate: a grade someone changed meanwhile is left as they set it.
      const moved = new Set<string>();
      for (const [id, { from, to }] of [...last.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (await distributorsRepo.setGradeIf(tx, id, from, to, now)) moved.add(id);
      }
      const written = upgrades.filter((u) => moved.has(u.distributorId));
      if (written.length === 0) return;
      await gradesRepo.insertChanges(
        tx,
        written.map((u) => ({
          id: newId('evt'),
          tenant_id: tenantId,
          distributor_id: u.distributorId,
          from_grade: u.from,
          to_grade: u.to,
          reason: u.reason,
          actor_type: 'system',
          actor_id: 'grade-upgrade',
          at: now,
        })),
      );
    },

    async history(actor: Actor, distributorId: string) {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      if (!(await distributorsRepo.exists(db, tenantId, distributorId))) throw notFound('distributor');
      const rows = await gradesRepo.history(db, tenantId, distributorId);
      return rows.map((r) => ({
        from_grade: r.from_grade,
        to_grade: r.to_grade,
        reason: r.reason,
        actor_type: r.actor_type,
        actor_id: r.actor_id,
        at: r.at.toISOString(),
      }));
    },
  };
}

export type GradesService = ReturnType<typeof createGradesService>;

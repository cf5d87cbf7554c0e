import type { Db, Executor } from '../../db/database.ts';
import type { Actor, Clock } from '../../app/context.ts';
import { notFound } from '../../app/errors.ts';
import { requirePermission, tenantOf } from '../../app/principal.ts';
import { newId } from '../../lib/ids.ts';
import type { RulesSnapshot } from '../commissions/calculator.ts';
import { ordersRepo } from '../orders/repo.ts';

/**
 * Grade upgrades. A distributor moves up when its own sales reach a grade's threshold — never on
 * head count (that would pay for recruiting) — checked whenever its sales change. Upgrades are
 * automatic; nothing here ever moves a distributor down.
 */
export function createGradesService(deps: { db: Db; clock: Clock }) {
  const { db, clock } = deps;

  async function record(ex: Executor, e: { tenantId: string; distributorId: string; from: string; to: string; reason: string; actorType: string; actorId: string | null }) {
    await ex.insertInto('grade_changes').values({
      id: newId('evt'), tenant_id: e.tenantId, distributor_id: e.distributorId, from_grade: e.from, to_grade: e.to,
      reason: e.reason, actor_type: e.actorType, actor_id: e.actorId, at: clock.now(),
    }).execute();
  }

  return {
    record,

    /** Upgrades `distributorId` to the highest grade its sales now qualify for, if above its own. */
    async evaluate(tx: Executor, tenantId: string, distributorId: string, snapshot: RulesSnapshot): Promise<string | null> {
      const candidates = Object.entries(snapshot.grades).filter(([, g]) => g.upgrade);
      if (candidates.length === 0) return null;
      const d = await tx.selectFrom('distributors').select(['grade_code']).where('id', '=', distributorId).executeTakeFirst();
      if (!d) return null;
      const currentRank = snapshot.grades[d.grade_code]?.rank ?? 0;
      const higher = candidates.filter(([, g]) => g.rank > currentRank);
      if (higher.length === 0) return null;
      const sales = await ordersRepo.lifetimeSales(tx, distributorId);
      const met = higher
        .filter(([, g]) => (g.upgrade!.metric === 'sales_fen' ? sales.sales_fen : sales.settled_sales_fen) >= g.upgrade!.min_fen)
        .sort(([, a], [, b]) => b.rank - a.rank);
      const best = met[0];
      if (!best) return null;
      const [code, grade] = best;
      // Compare-and-set: two orders crossing the threshold at once upgrade it once.
      const r = await tx.updateTable('distributors').set({ grade_code: code, updated_at: clock.now() })
        .where('id', '=', distributorId).where('grade_code', '=', d.grade_code).executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return null;
      const value = grade.upgrade!.metric === 'sales_fen' ? sales.sales_fen : sales.settled_sales_fen;
      await record(tx, {
        tenantId, distributorId, from: d.grade_code, to: code,
        reason: `${grade.upgrade!.metric} ${value} ≥ ${grade.upgrade!.min_fen}`, actorType: 'system', actorId: 'grade-upgrade',
      });
      return code;
    },

    async history(actor: Actor, distributorId: string) {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      const exists = await db.selectFrom('distributors').select('id').where('tenant_id', '=', tenantId).where('id', '=', distributorId).executeTakeFirst();
      if (!exists) throw notFound('distributor');
      const rows = await db.selectFrom('grade_changes').selectAll().where('tenant_id', '=', tenantId).where('distributor_id', '=', distributorId).orderBy('at').orderBy('id').execute();
      return rows.map((r) => ({ from_grade: r.from_grade, to_grade: r.to_grade, reason: r.reason, actor_type: r.actor_type, actor_id: r.actor_id, at: r.at.toISOString() }));
    },
  };
}

export type GradesService = ReturnType<typeof createGradesService>;

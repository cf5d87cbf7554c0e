import type { Executor } from '../../db/database.ts';
import type { ProgramSettings } from './schema.ts';

export const programRepo = {
  async insert(db: Executor, tenantId: string, settings: ProgramSettings) {
    await db.insertInto('programs').values({ tenant_id: tenantId, settings: JSON.stringify(settings) }).execute();
  },
  async find(db: Executor, tenantId: string) {
    return db.selectFrom('programs').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  },
  /** Locks the program row: writers of program and grades serialise on it. */
  async findForUpdate(db: Executor, tenantId: string) {
    return db.selectFrom('programs').selectAll().where('tenant_id', '=', tenantId).forUpdate().executeTakeFirst();
  },
  async update(db: Executor, tenantId: string, settings: ProgramSettings, at: Date) {
    await db.updateTable('programs')
      .set((eb) => ({ settings: JSON.stringify(settings), version: eb('version', '+', 1), updated_at: at }))
      .where('tenant_id', '=', tenantId).execute();
  },
  async upsertGrade(db: Executor, g: { tenant_id: string; code: string; name: string; rank: number; sales_bp: number; override_bp: number[]; settings: Record<string, unknown> }, at: Date) {
    await db.insertInto('grades').values({ ...g, settings: JSON.stringify(g.settings) })
      .onConflict((oc) => oc.columns(['tenant_id', 'code']).doUpdateSet({
        name: g.name, rank: g.rank, sales_bp: g.sales_bp, override_bp: g.override_bp, settings: JSON.stringify(g.settings), updated_at: at,
      })).execute();
  },
  async findGrade(db: Executor, tenantId: string, code: string) {
    return db.selectFrom('grades').selectAll().where('tenant_id', '=', tenantId).where('code', '=', code).executeTakeFirst();
  },
  async listGrades(db: Executor, tenantId: string) {
    return db.selectFrom('grades').selectAll().where('tenant_id', '=', tenantId).orderBy('rank').orderBy('code').execute();
  },
  /** The grade new distributors get: the lowest rank (code breaks ties). */
  async lowestGrade(db: Executor, tenantId: string) {
    return db.selectFrom('grades').select('code').where('tenant_id', '=', tenantId).orderBy('rank').orderBy('code').limit(1).executeTakeFirst();
  },
};

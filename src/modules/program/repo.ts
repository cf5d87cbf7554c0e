import type { Executor } from '../../db/database.ts';
import type { ProposalChangeRow } from '../../db/schema.ts';
import type { ProgramSettings } from './schema.ts';

export const programRepo = {
  async insert(db: Executor, tenantId: string, settings: ProgramSettings) {
    await db
      .insertInto('programs')
      .values({ tenant_id: tenantId, settings: JSON.stringify(settings) })
      .execute();
  },
  async find(db: Executor, tenantId: string) {
    return db.selectFrom('programs').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  },
  /** Locks the program row: writers of program and grades serialise on it. */
  async findForUpdate(db: Executor, tenantId: string) {
    return db.selectFrom('programs').selectAll().where('tenant_id', '=', tenantId).forUpdate().executeTakeFirst();
  },
  async update(db: Executor, tenantId: string, settings: ProgramSettings, at: Date) {
    await db
      .updateTable('programs')
      .set((eb) => ({ settings: JSON.stringify(settings), version: eb('version', '+', 1), updated_at: at }))
      .where('tenant_id', '=', tenantId)
      .execute();
  },
  async upsertGrade(
    db: Executor,
    g: { tenant_id: string; code: string; name: string; rank: number; sales_bp: number; override_bp: number[]; settings: Record<string, unknown> },
    at: Date,
  ) {
    await db
      .insertInto('grades')
      .values({ ...g, settings: JSON.stringify(g.settings) })
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'code']).doUpdateSet({
          name: g.name,
          rank: g.rank,
          sales_bp: g.sales_bp,
          override_bp: g.override_bp,
          settings: JSON.stringify(g.settings),
          updated_at: at,
        }),
      )
      .execute();
  },
  async findGrade(db: Executor, tenantId: string, code: string) {
    return db.selectFrom('grades').selectAll().where('tenant_id', '=', tenantId).where('code', '=', code).executeTakeFirst();
  },
  async listGrades(db: Executor, tenantId: string) {
    return db.selectFrom('grades').selectAll().where('tenant_id', '=', tenantId).orderBy('rank').orderBy('code').execute();
  },
  async insertProposal(
    db: Executor,
    p: { id: string; tenant_id: string; changes: ProposalChangeRow[]; proposed_by_type: string; proposed_by_id: string | null; created_at: Date },
  ) {
    await db
      .insertInto('program_proposals')
      .values({ ...p, status: 'pending', changes: JSON.stringify(p.changes) })
      .execute();
  },
  async findProposal(db: Executor, tenantId: string, id: string) {
    return db.selectFrom('program_proposals').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  },
  async findProposalForUpdate(db: Executor, tenantId: string, id: string) {
    return db.selectFrom('program_proposals').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
  },
  async pendingProposals(db: Executor, tenantId: string) {
    return db.selectFrom('program_proposals').selectAll().where('tenant_id', '=', tenantId).where('status', '=', 'pending').orderBy('id').execute();
  },
  async listProposals(
    db: Executor,
    tenantId: string,
    q: { status?: 'pending' | 'confirmed' | 'rejected' | undefined; before?: string | undefined; limit: number },
  ) {
    let query = db.selectFrom('program_proposals').selectAll().where('tenant_id', '=', tenantId);
    if (q.status) query = query.where('status', '=', q.status);
    if (q.before) query = query.where('id', '<', q.before);
    return query.orderBy('id', 'desc').limit(q.limit).execute();
  },
  async decideProposal(
    db: Executor,
    id: string,
    d: { status: 'confirmed' | 'rejected'; decided_by_type: string; decided_by_id: string | null; decided_at: Date; reason: string | null },
  ) {
    await db.updateTable('program_proposals').set(d).where('id', '=', id).where('status', '=', 'pending').execute();
  },
  /** When the next scheduled rule version takes effect (null: none), as the rules timeline says. */
  async setNextChange(db: Executor, tenantId: string, at: Date | null) {
    await db.updateTable('programs').set({ next_change_at: at }).where('tenant_id', '=', tenantId).execute();
  },
  /** The grade new distributors get: the lowest rank (code breaks ties). */
  async lowestGrade(db: Executor, tenantId: string) {
    return db.selectFrom('grades').select('code').where('tenant_id', '=', tenantId).orderBy('rank').orderBy('code').limit(1).executeTakeFirst();
  },
};

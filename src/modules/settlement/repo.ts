import { sql } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { StatementStatus } from '../../db/schema.ts';

/** Statements and settlement runs: the settlement module's tables. */
export const settlementRepo = {
  /** The statements of one batch of a run, as one statement of arrays. */
  async insertStatements(
    ex: Executor,
    run: { tenantId: string; runId: string; periodEnd: Date; createdAt: Date; approvedAt: Date },
    statements: { id: string; distributorId: string; amount: number; lineCount: number; debtOffset: number; status: StatementStatus }[],
  ): Promise<void> {
    await sql`
        insert into statements (id, tenant_id, distributor_id, run_id, period_end, amount_fen, line_count, debt_offset_fen, status, created_at, approved_at)
        select v.id, ${run.tenantId}, v.distributor_id, ${run.runId}, ${run.periodEnd}::timestamptz, v.amount, v.n, v.debt, v.status, ${run.createdAt}::timestamptz,
               case when v.status = 'approved' then ${run.approvedAt}::timestamptz end
          from unnest(${statements.map((s) => s.id)}::text[], ${statements.map((s) => s.distributorId)}::text[], ${statements.map((s) => s.amount)}::bigint[],
                      ${statements.map((s) => s.lineCount)}::int[], ${statements.map((s) => s.debtOffset)}::bigint[],
                      ${statements.map((s) => s.status)}::text[]) as v(id, distributor_id, amount, n, debt, status)`.execute(ex);
  },

  async statementsByIds(ex: Executor, ids: string[]) {
    return ex.selectFrom('statements').selectAll().where('id', 'in', ids).orderBy('distributor_id').execute();
  },

  async findStatement(ex: Executor, tenantId: string, id: string) {
    return ex.selectFrom('statements').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  },

  async findStatementForUpdate(ex: Executor, tenantId: string, id: string) {
    return ex.selectFrom('statements').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
  },

  async statement(ex: Executor, id: string) {
    return ex.selectFrom('statements').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  },

  async approveStatement(
    ex: Executor,
    id: string,
    v: { amount_fen: number; line_count: number; debt_offset_fen: number; approved_at: Date; reviewed_by: string | null },
  ): Promise<void> {
    await ex
      .updateTable('statements')
      .set({ status: 'approved', ...v })
      .where('id', '=', id)
      .execute();
  },

  async rejectStatement(ex: Executor, id: string, v: { rejected_at: Date; reviewed_by: string | null; review_reason: string }): Promise<void> {
    await ex
      .updateTable('statements')
      .set({ status: 'rejected', ...v })
      .where('id', '=', id)
      .execute();
  },

  /** A page of statements, newest first, and one more to tell whether another page follows. */
  async page(
    ex: Executor,
    tenantId: string,
    q: { status?: string | undefined; distributor_id?: string | undefined; cursor?: string | undefined; limit: number },
  ) {
    let query = ex.selectFrom('statements').selectAll().where('tenant_id', '=', tenantId);
    if (q.distributor_id) query = query.where('distributor_id', '=', q.distributor_id);
    if (q.status) query = query.where('status', '=', q.status as 'approved');
    if (q.cursor) query = query.where('id', '<', q.cursor);
    return query
      .orderBy('id', 'desc')
      .limit(q.limit + 1)
      .execute();
  },

  /** Whether a run of this trigger already covered `asOf` (a scheduled cycle runs once per boundary). */
  async runCovers(ex: Executor, tenantId: string, trigger: string, asOf: Date): Promise<boolean> {
    const done = await ex
      .selectFrom('settlement_runs')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('trigger', '=', trigger)
      .where('as_of', '>=', asOf)
      .limit(1)
      .executeTakeFirst();
    return done !== undefined;
  },

  async insertRun(ex: Executor, run: { id: string; tenant_id: string; as_of: Date; trigger: string; started_at: Date }): Promise<void> {
    await ex.insertInto('settlement_runs').values(run).execute();
  },

  async deleteRun(ex: Executor, id: string): Promise<void> {
    await ex.deleteFrom('settlement_runs').where('id', '=', id).execute();
  },

  async finishRun(
    ex: Executor,
    id: string,
    v: { statements: number; lines: number; amount_fen: number; made_available: number; finished_at: Date },
  ): Promise<void> {
    await ex.updateTable('settlement_runs').set(v).where('id', '=', id).execute();
  },
};

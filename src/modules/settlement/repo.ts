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

  /** Statements by id (the ones a batch just made: the events for webhook endpoints carry them). */
  async statementsByIds(ex: Executor, ids: string[]) {
    if (ids.length === 0) return [];
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

  /** A run under way, its first phase ahead, worked by `owner` until `lease_until`. */
  async insertRun(
    ex: Executor,
    run: {
      id: string;
      tenant_id: string;
      as_of: Date;
      trigger: string;
      started_at: Date;
      review_threshold_fen: number;
      threshold_fen: number | null;
      owner: string;
      lease_until: Date;
      job_id: string | null;
      requested_by: string;
      request_id: string | null;
    },
  ): Promise<void> {
    await ex
      .insertInto('settlement_runs')
      .values({ ...run, status: 'running', phase: 'make_available' })
      .execute();
  },

  /** The tenant's run under way, if any (at most one: a unique index), locked. */
  async runningForUpdate(ex: Executor, tenantId: string) {
    return ex.selectFrom('settlement_runs').selectAll().where('tenant_id', '=', tenantId).where('status', '=', 'running').forUpdate().executeTakeFirst();
  },

  async run(ex: Executor, id: string) {
    return ex.selectFrom('settlement_runs').selectAll().where('id', '=', id).executeTakeFirst();
  },

  async runForUpdate(ex: Executor, id: string) {
    return ex.selectFrom('settlement_runs').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  },

  /** A run takes a new owner and lease (compare-and-set on the owner it was seen with): true when this caller got it. */
  async takeOver(ex: Executor, id: string, from: string | null, to: string, leaseUntil: Date): Promise<boolean> {
    const r = await ex
      .updateTable('settlement_runs')
      .set({ owner: to, lease_until: leaseUntil })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where((eb) => (from === null ? eb('owner', 'is', null) : eb('owner', '=', from)))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  /** The tenant's runs under way whose lease ran out by `at`: their process stopped (or gave the run up). */
  async abandoned(ex: Executor, tenantId: string, at: Date) {
    return ex
      .selectFrom('settlement_runs')
      .select(['id', 'owner'])
      .where('tenant_id', '=', tenantId)
      .where('status', '=', 'running')
      .where('lease_until', '<=', at)
      .execute();
  },

  /** A batch done: the run's counters and cursor move in the batch's transaction. */
  async advance(
    ex: Executor,
    id: string,
    v: {
      phase?: 'settle';
      total?: number;
      done?: number;
      made_available?: number;
      statements?: number;
      lines?: number;
      amount_fen?: number;
      lease_until: Date;
    },
  ): Promise<void> {
    await ex
      .updateTable('settlement_runs')
      .set((eb) => ({
        lease_until: v.lease_until,
        ...(v.phase ? { phase: v.phase } : {}),
        ...(v.total !== undefined ? { total: v.total } : {}),
        ...(v.done ? { done: eb('done', '+', v.done) } : {}),
        ...(v.made_available ? { made_available: eb('made_available', '+', v.made_available) } : {}),
        ...(v.statements ? { statements: eb('statements', '+', v.statements) } : {}),
        ...(v.lines ? { lines: eb('lines', '+', v.lines) } : {}),
        ...(v.amount_fen ? { amount_fen: eb('amount_fen', '+', v.amount_fen) } : {}),
      }))
      .where('id', '=', id)
      .execute();
  },

  /**
   * A batch done, if the run is still running and this owner's (compare-and-set): its counters
   * move, and the cursor only forward. Undefined when the run was taken over or ended.
   */
  async advanceOwned(
    ex: Executor,
    id: string,
    owner: string,
    v: { settled_through: string | null; done?: number; statements?: number; lines?: number; amount_fen?: number; lease_until: Date },
  ): Promise<{ done: number; total: number | null } | undefined> {
    return ex
      .updateTable('settlement_runs')
      .set((eb) => ({
        lease_until: v.lease_until,
        ...(v.settled_through !== null ? { settled_through: sql<string>`greatest(settled_through, ${v.settled_through}::text)` } : {}),
        ...(v.done ? { done: eb('done', '+', v.done) } : {}),
        ...(v.statements ? { statements: eb('statements', '+', v.statements) } : {}),
        ...(v.lines ? { lines: eb('lines', '+', v.lines) } : {}),
        ...(v.amount_fen ? { amount_fen: eb('amount_fen', '+', v.amount_fen) } : {}),
      }))
      .where('id', '=', id)
      .where('owner', '=', owner)
      .where('status', '=', 'running')
      .returning(['done', 'total'])
      .executeTakeFirst();
  },

  /** Which of these distributors already have their statement in the run. */
  async distributorsWithStatementIn(ex: Executor, tenantId: string, runId: string, distributorIds: string[]): Promise<string[]> {
    if (distributorIds.length === 0) return [];
    // One probe of the (tenant, run, distributor) index per distributor (the lateral subquery
    // forces it): as `= any(…)`, or as `exists`, the generic plan of a run thought to have two
    // statements read every statement of the run, batch after batch.
    const r = await sql<{ distributor_id: string }>`
      select d.distributor_id from unnest(${distributorIds}::text[]) as d(distributor_id)
       cross join lateral (select 1 from statements s
                            where s.tenant_id = ${tenantId} and s.run_id = ${runId} and s.distributor_id = d.distributor_id limit 1) as found`.execute(ex);
    return r.rows.map((x) => x.distributor_id);
  },

  /** The owner gives its lease back at once (it failed): the next run or scheduler pass picks the run up. */
  async releaseLease(ex: Executor, id: string, owner: string, at: Date): Promise<void> {
    await ex.updateTable('settlement_runs').set({ lease_until: at }).where('id', '=', id).where('owner', '=', owner).where('status', '=', 'running').execute();
  },

  async deleteRun(ex: Executor, id: string): Promise<void> {
    await ex.deleteFrom('settlement_runs').where('id', '=', id).execute();
  },

  async finishRun(ex: Executor, id: string, finishedAt: Date): Promise<void> {
    await ex.updateTable('settlement_runs').set({ status: 'done', finished_at: finishedAt, owner: null, lease_until: null }).where('id', '=', id).execute();
  },

  /** Every statement of a run, by distributor. */
  async statementsOfRun(ex: Executor, tenantId: string, runId: string) {
    return ex.selectFrom('statements').selectAll().where('tenant_id', '=', tenantId).where('run_id', '=', runId).orderBy('distributor_id').execute();
  },
};

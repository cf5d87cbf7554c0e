import { sql } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { JobsTable } from '../../db/schema.ts';

type Status = JobsTable['status'];

/** The jobs table: one row per background job, its progress and outcome. */
export const jobsRepo = {
  async insert(
    db: Executor,
    row: { id: string; tenant_id: string; kind: string; status: Status; total: number | null; params: string; created_by: string | null; at: Date },
  ) {
    return db
      .insertInto('jobs')
      .values({
        id: row.id,
        tenant_id: row.tenant_id,
        kind: row.kind,
        status: row.status,
        total: row.total,
        params: row.params,
        created_by: row.created_by,
        created_at: row.at,
        started_at: row.status === 'running' ? row.at : null,
        updated_at: row.at,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  },

  async get(db: Executor, tenantId: string, kind: string, id: string) {
    return db.selectFrom('jobs').selectAll().where('tenant_id', '=', tenantId).where('kind', '=', kind).where('id', '=', id).executeTakeFirst();
  },

  /** Queued or running jobs not heard of since `staleBefore` become failed (their process died); answers the rows changed. */
  async failStale(db: Executor, where: { tenantId: string; kind: string; id?: string }, staleBefore: Date, at: Date, error: string) {
    let q = db
      .updateTable('jobs')
      .set({ status: 'failed', error, finished_at: at, updated_at: at })
      .where('tenant_id', '=', where.tenantId)
      .where('kind', '=', where.kind)
      .where('status', 'in', ['queued', 'running'])
      .where('updated_at', '<', staleBefore);
    if (where.id !== undefined) q = q.where('id', '=', where.id);
    return q.returningAll().execute();
  },

  async countActive(db: Executor, tenantId: string, kind: string, staleBefore: Date): Promise<number> {
    const r = await db
      .selectFrom('jobs')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('tenant_id', '=', tenantId)
      .where('kind', '=', kind)
      .where('status', 'in', ['queued', 'running'])
      .where('updated_at', '>=', staleBefore)
      .executeTakeFirstOrThrow();
    return r.n;
  },

  /**
   * A job another process was running, picked up by this one: running again, its outcome cleared,
   * when it is still under way or was only failed for its process having stopped (`staleCode`).
   */
  async revive(db: Executor, id: string, at: Date, staleCode: string) {
    return db
      .updateTable('jobs')
      .set({ status: 'running', error: null, finished_at: null, updated_at: at })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('status', 'in', ['queued', 'running']), eb.and([eb('status', '=', 'failed'), eb(sql`error->>'code'`, '=', staleCode)])]))
      .returningAll()
      .executeTakeFirst();
  },

  async started(db: Executor, id: string, at: Date, total: number | null | undefined) {
    await db
      .updateTable('jobs')
      .set({ status: 'running', started_at: at, updated_at: at, ...(total !== undefined ? { total } : {}) })
      .where('id', '=', id)
      .where('status', '=', 'queued')
      .execute();
  },

  /** Progress and heartbeat of a job still under way (a finished row is left alone). */
  async progress(db: Executor, id: string, at: Date, p: { done?: number; total?: number | null }) {
    await db
      .updateTable('jobs')
      .set({ updated_at: at, ...(p.done !== undefined ? { done: p.done } : {}), ...(p.total !== undefined ? { total: p.total } : {}) })
      .where('id', '=', id)
      .where('status', 'in', ['queued', 'running'])
      .execute();
  },

  async finish(
    db: Executor,
    id: string,
    at: Date,
    f: { status: 'done' | 'failed' | 'cancelled'; result: string | null; error: string | null; done?: number; total?: number | null },
  ) {
    return db
      .updateTable('jobs')
      .set({
        status: f.status,
        result: f.result,
        error: f.error,
        finished_at: at,
        updated_at: at,
        ...(f.done !== undefined ? { done: f.done } : {}),
        ...(f.total !== undefined ? { total: f.total } : {}),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  },

  async finishedBefore(db: Executor, kind: string, before: Date) {
    return db.selectFrom('jobs').selectAll().where('kind', '=', kind).where('finished_at', '<=', before).orderBy('finished_at').limit(1000).execute();
  },

  async remove(db: Executor, ids: string[]) {
    if (ids.length > 0) await db.deleteFrom('jobs').where('id', 'in', ids).execute();
  },
};

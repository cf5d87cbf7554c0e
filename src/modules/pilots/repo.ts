import { sql } from 'kysely';
import type { Executor } from '../../db/database.ts';

/** The pilots table, and what a pilot's report reads of orders, lines and bindings. */
export const pilotsRepo = {
  async insert(
    db: Executor,
    p: {
      id: string;
      tenant_id: string;
      name: string;
      cohort: unknown;
      changes: unknown;
      started_at: Date;
      ends_at: Date | null;
      created_by_type: string;
      created_by_id: string | null;
      created_at: Date;
    },
  ) {
    await db
      .insertInto('pilots')
      .values({ ...p, status: 'running', cohort: JSON.stringify(p.cohort), changes: JSON.stringify(p.changes) })
      .execute();
  },

  async find(db: Executor, tenantId: string, id: string) {
    return db.selectFrom('pilots').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  },

  async findForUpdate(db: Executor, tenantId: string, id: string) {
    return db.selectFrom('pilots').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
  },

  async list(db: Executor, tenantId: string, limit: number) {
    return db.selectFrom('pilots').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  },

  async running(db: Executor, tenantId: string) {
    return db.selectFrom('pilots').selectAll().where('tenant_id', '=', tenantId).where('status', '=', 'running').orderBy('created_at').orderBy('id').execute();
  },

  async end(db: Executor, id: string, status: 'promoted' | 'stopped', at: Date, promotedChangeId: string | null) {
    await db
      .updateTable('pilots')
      .set({ status, ended_at: at, promoted_change_id: promotedChangeId })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .execute();
  },

  async existingDistributors(db: Executor, tenantId: string, ids: string[]) {
    if (ids.length === 0) return [];
    return db.selectFrom('distributors').select(['id']).where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
  },

  async distributorGrades(db: Executor, tenantId: string) {
    return db.selectFrom('distributors').select(['id', 'grade_code']).where('tenant_id', '=', tenantId).execute();
  },

  /** Per group (in the pilot or not), the orders with a seller paid in [from, to): counts, sums and per-order rate moments. */
  async reportGroups(db: Executor, tenantId: string, pilotId: string, from: Date, to: Date | null) {
    const r = await sql<{
      in_pilot: boolean;
      orders: string | number;
      sales_fen: string | number;
      commission_fen: string | number;
      refunded_fen: string | number;
      sellers: string | number;
      rate_n: string | number;
      rate_mean: number | null;
      rate_var: number | null;
      refund_mean: number | null;
      refund_var: number | null;
    }>`
      with o as (
        select coalesce(o.pilot_id = ${pilotId}, false) as in_pilot, o.seller_id, o.paid_fen, o.refunded_fen,
               coalesce((select sum(c.amount_fen) from commissions c where c.order_id = o.id), 0) as commission_fen
          from orders o
         where o.tenant_id = ${tenantId} and o.paid_at >= ${from} and (${to}::timestamptz is null or o.paid_at <= ${to}::timestamptz)
           and o.seller_id is not null and (o.pilot_id is null or o.pilot_id = ${pilotId})
      )
      select in_pilot, count(*) as orders, coalesce(sum(paid_fen), 0) as sales_fen, coalesce(sum(commission_fen), 0) as commission_fen,
             coalesce(sum(refunded_fen), 0) as refunded_fen, count(distinct seller_id) as sellers,
             count(*) filter (where paid_fen > 0) as rate_n,
             avg(commission_fen::float8 / paid_fen) filter (where paid_fen > 0) as rate_mean,
             var_samp(commission_fen::float8 / paid_fen) filter (where paid_fen > 0) as rate_var,
             avg(refunded_fen::float8 / paid_fen) filter (where paid_fen > 0) as refund_mean,
             var_samp(refunded_fen::float8 / paid_fen) filter (where paid_fen > 0) as refund_var
        from o group by in_pilot`.execute(db);
    return r.rows;
  },

  /** Per UTC day of payment and group: sales and commission (the chart). */
  async reportDaily(db: Executor, tenantId: string, pilotId: string, from: Date, to: Date | null) {
    const r = await sql<{ day: string; in_pilot: boolean; sales_fen: string | number; commission_fen: string | number }>`
      select to_char(o.paid_at at time zone 'UTC', 'YYYY-MM-DD') as day, coalesce(o.pilot_id = ${pilotId}, false) as in_pilot,
             sum(o.paid_fen) as sales_fen,
             sum(coalesce((select sum(c.amount_fen) from commissions c where c.order_id = o.id), 0)) as commission_fen
        from orders o
       where o.tenant_id = ${tenantId} and o.paid_at >= ${from} and (${to}::timestamptz is null or o.paid_at <= ${to}::timestamptz)
         and o.seller_id is not null and (o.pilot_id is null or o.pilot_id = ${pilotId})
       group by 1, 2 order by 1`.execute(db);
    return r.rows;
  },

  /** Customers bound in [from, to), by the distributor they were bound to. */
  async bindingsTo(db: Executor, tenantId: string, from: Date, to: Date | null) {
    let q = db
      .selectFrom('binding_events')
      .select(['to_distributor_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('tenant_id', '=', tenantId)
      .where('kind', 'in', ['bind', 'rebind'])
      .where('to_distributor_id', 'is not', null)
      .where('at', '>=', from);
    if (to) q = q.where('at', '<', to);
    return q.groupBy('to_distributor_id').execute();
  },
};

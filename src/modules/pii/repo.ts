import { sql } from 'kysely';
import type { Executor } from '../../db/database.ts';

/**
 * SQL of the pii module: what Fenxiao holds about one person (for the personal-data export) and
 * the erasure. One query per method, rows out, no rules.
 */
export const piiRepo = {
  async findForUpdate(db: Executor, tenantId: string, id: string) {
    return db.selectFrom('distributors').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
  },

  async payoutAccounts(db: Executor, tenantId: string, distributorId: string) {
    return db.selectFrom('payout_accounts').selectAll().where('tenant_id', '=', tenantId).where('distributor_id', '=', distributorId).orderBy('id').execute();
  },

  /** The person's own binding history, as a customer (who referred them, moves). */
  async bindingEvents(db: Executor, tenantId: string, externalId: string) {
    return db
      .selectFrom('binding_events')
      .select(['id', 'kind', 'from_distributor_id', 'to_distributor_id', 'source', 'reason', 'at'])
      .where('tenant_id', '=', tenantId)
      .where('customer_external_id', '=', externalId)
      .orderBy('at')
      .orderBy('id')
      .execute();
  },

  async ordersAsBuyer(db: Executor, tenantId: string, externalId: string) {
    return db
      .selectFrom('orders')
      .select(['id', 'external_id', 'status', 'paid_fen', 'refunded_fen', 'paid_at'])
      .where('tenant_id', '=', tenantId)
      .where('buyer_external_id', '=', externalId)
      .orderBy('paid_at')
      .orderBy('id')
      .execute();
  },

  async commissionsEarned(db: Executor, tenantId: string, distributorId: string) {
    return db
      .selectFrom('commissions')
      .select(['id', 'order_id', 'level', 'kind', 'base_fen', 'rate_bp', 'amount_fen', 'status', 'created_at', 'settled_at'])
      .where('tenant_id', '=', tenantId)
      .where('beneficiary_id', '=', distributorId)
      .orderBy('id')
      .execute();
  },

  async statements(db: Executor, tenantId: string, distributorId: string) {
    return db
      .selectFrom('statements')
      .select(['id', 'period_end', 'amount_fen', 'status', 'created_at', 'approved_at'])
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .orderBy('id')
      .execute();
  },

  async withdrawals(db: Executor, tenantId: string, distributorId: string) {
    return db
      .selectFrom('withdrawals')
      .select(['id', 'amount_fen', 'fee_fen', 'channel', 'status', 'created_at', 'paid_at'])
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .orderBy('id')
      .execute();
  },

  /**
   * Visits of the person's invite link, per local day: counts only. Who visited (IP, browser) is
   * the visitors' personal data, not the distributor's.
   */
  async visitsByDay(db: Executor, tenantId: string, distributorId: string, tz: string) {
    const r = await sql<{ day: string; visits: number | string; unique_visitors: number | string }>`
      select to_char(at at time zone ${tz}, 'YYYY-MM-DD') as day, count(*) as visits, count(distinct visitor_id) as unique_visitors
        from visits where tenant_id = ${tenantId} and distributor_id = ${distributorId}
       group by 1 order by 1`.execute(db);
    return r.rows.map((v) => ({ day: v.day, visits: Number(v.visits), unique_visitors: Number(v.unique_visitors) }));
  },

  async documents(db: Executor, tenantId: string, distributorId: string) {
    return db
      .selectFrom('documents')
      .select(['id', 'kind', 'filename', 'content_type', 'size_bytes', 'storage_key', 'created_at'])
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .orderBy('id')
      .execute();
  },

  async openWithdrawals(db: Executor, tenantId: string, distributorId: string): Promise<number> {
    const r = await db
      .selectFrom('withdrawals')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .where('status', 'in', ['pending_review', 'approved'])
      .executeTakeFirstOrThrow();
    return Number(r.n);
  },

  // ------------------------------------------------------------------------------- erasure

  /** The rows stay (withdrawals point at them); what identified the account goes. */
  async destroyPayoutAccounts(db: Executor, tenantId: string, distributorId: string, display: string, at: Date): Promise<number> {
    const r = await db
      .updateTable('payout_accounts')
      .set((eb) => ({ details_enc: null, identity_bidx: null, display, is_default: false, disabled_at: eb.fn.coalesce('disabled_at', eb.val(at)) }))
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  },

  /** Blind indexes of one kind that several distributors of the tenant hold (of `only`'s, when given), with their ids. */
  async sharedIdentityGroups(ex: Executor, tenantId: string, kind: 'phone' | 'id_number' | 'payout_account', only: string | undefined) {
    const q =
      kind === 'payout_account'
        ? sql<{ bidx: string; ids: string[] }>`
          select identity_bidx as bidx, array_agg(distinct distributor_id order by distributor_id) as ids
            from payout_accounts
           where tenant_id = ${tenantId} and identity_bidx is not null and disabled_at is null
             ${only ? sql`and identity_bidx in (select identity_bidx from payout_accounts where tenant_id = ${tenantId} and distributor_id = ${only} and disabled_at is null and identity_bidx is not null)` : sql``}
           group by identity_bidx
          having count(distinct distributor_id) > 1
           order by identity_bidx`
        : sql<{ bidx: string; ids: string[] }>`
          select ${sql.ref(`${kind}_bidx`)} as bidx, array_agg(id order by id) as ids
            from distributors
           where tenant_id = ${tenantId} and ${sql.ref(`${kind}_bidx`)} is not null
             ${only ? sql`and ${sql.ref(`${kind}_bidx`)} in (select ${sql.ref(`${kind}_bidx`)} from distributors where tenant_id = ${tenantId} and id = ${only})` : sql``}
           group by ${sql.ref(`${kind}_bidx`)}
          having count(*) > 1
           order by 1`;
    return (await q.execute(ex)).rows;
  },
};

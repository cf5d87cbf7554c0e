import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { CommissionStatus } from '../../db/schema.ts';

/**
 * The commissions table. The order path (src/modules/orders) writes the lines an order makes and
 * its refunds' clawbacks; every later change of a line — made final, held or released, put in a
 * statement, settled, reversed — is one of the writes below, whichever module asks for it.
 */
export const commissionsRepo = {
  // ——— writes ———

  /** pending → available, for the lines given that are still pending. */
  async makeAvailable(ex: Executor, ids: string[], at: Date): Promise<void> {
    await ex.updateTable('commissions').set({ status: 'available', available_at: at }).where('id', 'in', ids).where('status', '=', 'pending').execute();
  },

  /** Holds or releases lines (risk review, a person, a rejected statement). */
  async setHeld(ex: Executor, ids: string[], held: boolean): Promise<void> {
    await ex.updateTable('commissions').set({ held }).where('id', 'in', ids).execute();
  },

  /**
   * Holds a distributor's open commission lines not yet in a statement (a risk hold on the
   * distributor) and answers their ids, for the risk event that holds them.
   */
  async holdOpenLinesOf(ex: Executor, distributorId: string): Promise<string[]> {
    const lines = await ex
      .selectFrom('commissions')
      .select('id')
      .where('beneficiary_id', '=', distributorId)
      .where('status', 'in', ['pending', 'available'])
      .where('statement_id', 'is', null)
      .where('kind', '=', 'commission')
      .execute();
    if (lines.length === 0) return [];
    const ids = lines.map((l) => l.id);
    await ex.updateTable('commissions').set({ held: true }).where('id', 'in', ids).execute();
    return ids;
  },

  /** Fraud confirmed: the lines are reversed and no longer held. */
  async reverse(ex: Executor, ids: string[], at: Date): Promise<void> {
    await ex.updateTable('commissions').set({ amount_fen: 0, status: 'reversed', reversed_at: at, held: false }).where('id', 'in', ids).execute();
  },

  /**
   * Puts each line in its statement (the three arrays run in parallel); the lines of an approved
   * statement are settled as of `asOf` in the same statement, with `extra` WITH entries of other
   * modules (the settled lines' webhook events).
   */
  async assignToStatements(
    ex: Executor,
    lines: { ids: string[]; statementIds: string[]; settled: boolean[] },
    asOf: Date,
    extra: RawBuilder<unknown>[] = [],
  ): Promise<void> {
    await sql`
        ${extra.length > 0 ? sql`with ${sql.join(extra)}` : sql``}
        update commissions c
           set statement_id = v.sid,
               status = case when v.settled then 'settled' else c.status end,
               settled_at = case when v.settled then ${asOf}::timestamptz else null end
          from unnest(${lines.ids}::text[], ${lines.statementIds}::text[], ${lines.settled}::boolean[]) as v(id, sid, settled)
         where c.id = v.id`.execute(ex);
  },

  /** A reviewed statement approved: its lines are settled (with `extra` WITH entries, the lines' webhook events). */
  async settle(ex: Executor, ids: string[], at: Date, extra: RawBuilder<unknown>[] = []): Promise<void> {
    await sql`
        ${extra.length > 0 ? sql`with ${sql.join(extra)}` : sql``}
        update commissions set status = 'settled', settled_at = ${at}::timestamptz where id = any(${ids}::text[])`.execute(ex);
  },

  /** A statement rejected: its available lines leave it, held or not as the reviewer chose. */
  async releaseFromStatement(ex: Executor, statementId: string, held: boolean): Promise<void> {
    await ex.updateTable('commissions').set({ statement_id: null, held }).where('statement_id', '=', statementId).where('status', '=', 'available').execute();
  },

  // ——— reads ———

  async findForUpdate(ex: Executor, tenantId: string, id: string) {
    return ex.selectFrom('commissions').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
  },

  async find(ex: Executor, tenantId: string, id: string) {
    return ex.selectFrom('commissions').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  },

  /** The pending lines of these orders, locked in id order. */
  async pendingOfOrdersForUpdate(ex: Executor, orderIds: string[]) {
    return ex.selectFrom('commissions').selectAll().where('order_id', 'in', orderIds).where('status', '=', 'pending').orderBy('id').forUpdate().execute();
  },

  /** A distributor's lines with their order's external id and SKU, newest first, a page and one more. */
  async pageForBeneficiary(
    ex: Executor,
    tenantId: string,
    distributorId: string,
    q: { status?: CommissionStatus | undefined; cursor?: string | undefined; limit: number },
  ) {
    let query = ex
      .selectFrom('commissions as c')
      .innerJoin('orders as o', 'o.id', 'c.order_id')
      .leftJoin('order_items as i', 'i.id', 'c.order_item_id')
      .selectAll('c')
      .select(['o.external_id as order_external_id', 'i.sku as sku'])
      .where('c.tenant_id', '=', tenantId)
      .where('c.beneficiary_id', '=', distributorId);
    if (q.status) query = query.where('c.status', '=', q.status);
    if (q.cursor) query = query.where('c.id', '<', q.cursor);
    return query
      .orderBy('c.id', 'desc')
      .limit(q.limit + 1)
      .execute();
  },

  async distributorExists(ex: Executor, tenantId: string, distributorId: string): Promise<boolean> {
    return (
      (await ex.selectFrom('distributors').select('id').where('tenant_id', '=', tenantId).where('id', '=', distributorId).executeTakeFirst()) !== undefined
    );
  },

  /** What a line's explanation shows of its order, order line, chain and rule version. */
  async order(ex: Executor, id: string) {
    return ex.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst();
  },

  async orderItem(ex: Executor, id: string) {
    return ex.selectFrom('order_items').selectAll().where('id', '=', id).executeTakeFirst();
  },

  async distributorNames(ex: Executor, ids: string[]) {
    return ex
      .selectFrom('distributors')
      .select(['id', 'name'])
      .where('id', 'in', ids.length ? ids : ['-'])
      .execute();
  },

  async ruleVersion(ex: Executor, tenantId: string, version: number) {
    return ex
      .selectFrom('rule_versions')
      .select(['version', 'effective_from', 'reason'])
      .where('tenant_id', '=', tenantId)
      .where('version', '=', version)
      .executeTakeFirst();
  },

  async clawbacksOf(ex: Executor, id: string) {
    return ex.selectFrom('commissions').select(['id', 'amount_fen', 'created_at']).where('clawback_of', '=', id).orderBy('id').execute();
  },

  /**
   * Every journal posting of a line in the beneficiary's accounts: those naming the line, and its
   * share of its statement's settle journal (one journal per statement moves its lines together:
   * the line's share is its amount, on the same side as the journal's leg).
   */
  async postingsOf(ex: Executor, id: string) {
    const r = await sql<{ kind: string; purpose: string; amount: number; at: Date; journal_id: string }>`
        select kind, purpose, amount, at, journal_id from (
          select j.kind, a.purpose, p.amount, p.created_at as at, p.journal_id, p.id
            from postings p join accounts a on a.id = p.account_id join journal_entries j on j.id = p.journal_id
           where p.commission_id = ${id} and a.owner_type = 'distributor'
          union all
          select j.kind, a.purpose, sign(p.amount)::bigint * c.amount_fen, p.created_at, p.journal_id, p.id
            from commissions c
            join journal_entries j on j.tenant_id = c.tenant_id and j.ref_type = 'statement' and j.ref_id = c.statement_id and j.kind = 'settle'
            join postings p on p.journal_id = j.id and p.commission_id is null
            join accounts a on a.id = p.account_id and a.owner_id = c.beneficiary_id
           where c.id = ${id} and c.status = 'settled' and c.kind = 'commission') x
         order by id, amount`.execute(ex);
    return r.rows;
  },

  /**
   * The next `limit` beneficiaries after `after` (in id order) with settleable lines, those whose
   * lines add up to `threshold` when it is given: a settlement run's next batch.
   */
  async nextSettlementCandidates(ex: Executor, tenantId: string, after: string | null, threshold: number | null, limit: number): Promise<string[]> {
    const r = await sql<{ beneficiary_id: string }>`
      select beneficiary_id from commissions
       where tenant_id = ${tenantId} and status = 'available' and statement_id is null and not held and amount_fen > 0
         ${after !== null ? sql`and beneficiary_id > ${after}` : sql``}
       group by beneficiary_id
       ${threshold !== null ? sql`having sum(amount_fen) >= ${threshold}` : sql``}
       order by beneficiary_id
       limit ${limit}`.execute(ex);
    return r.rows.map((x) => x.beneficiary_id);
  },

  /** How many beneficiaries have settleable lines (a run's total, for its progress). */
  async countSettlementCandidates(ex: Executor, tenantId: string, threshold: number | null): Promise<number> {
    const r = await sql<{ n: number }>`
      select count(*)::int as n from (
        select beneficiary_id from commissions
         where tenant_id = ${tenantId} and status = 'available' and statement_id is null and not held and amount_fen > 0
         group by beneficiary_id
         ${threshold !== null ? sql`having sum(amount_fen) >= ${threshold}` : sql``}) c`.execute(ex);
    return r.rows[0]?.n ?? 0;
  },

  /** The settleable lines of these beneficiaries, locked in id order. */
  async settleableForUpdate(ex: Executor, tenantId: string, beneficiaryIds: string[]) {
    const lines = await sql<{ id: string; beneficiary_id: string; amount_fen: number }>`
        select id, beneficiary_id, amount_fen from commissions
         where tenant_id = ${tenantId} and beneficiary_id = any(${beneficiaryIds}::text[])
           and status = 'available' and statement_id is null and not held and amount_fen > 0
         order by id for update`.execute(ex);
    return lines.rows;
  },

  /** These lines whole, with their order's external id and SKU (what a line's webhook event carries), in id order. */
  async withOrderOf(ex: Executor, ids: string[]) {
    return ex
      .selectFrom('commissions as c')
      .innerJoin('orders as o', 'o.id', 'c.order_id')
      .leftJoin('order_items as i', 'i.id', 'c.order_item_id')
      .selectAll('c')
      .select(['o.external_id as order_external_id', 'i.sku as sku'])
      .where(sql<boolean>`c.id = any(${ids}::text[])`)
      .orderBy('c.id')
      .execute();
  },

  /** The available lines of a statement, locked in id order. */
  async availableOfStatementForUpdate(ex: Executor, statementId: string) {
    return ex
      .selectFrom('commissions')
      .select(['id', 'beneficiary_id', 'amount_fen'])
      .where('statement_id', '=', statementId)
      .where('status', '=', 'available')
      .orderBy('id')
      .forUpdate()
      .execute();
  },

  /** A statement's lines with their order's external id. */
  async linesOfStatement(ex: Executor, statementId: string) {
    return ex
      .selectFrom('commissions as c')
      .innerJoin('orders as o', 'o.id', 'c.order_id')
      .select(['c.id', 'c.level', 'c.amount_fen', 'c.base_fen', 'c.rate_bp', 'c.status', 'o.external_id as order_external_id'])
      .where('c.statement_id', '=', statementId)
      .orderBy('c.id')
      .execute();
  },
};

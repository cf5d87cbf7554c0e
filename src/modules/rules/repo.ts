import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../../db/database.ts';

/** The rules tables: rule_versions (the rules as a whole, one row per change) and sku_rules (SKU overrides). */
export const rulesRepo = {
  // ——— rule_versions ———

  async lastVersion(db: Executor, tenantId: string): Promise<number> {
    const last = await db
      .selectFrom('rule_versions')
      .select((eb) => eb.fn.max('version').as('v'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    return Number(last?.v ?? 0);
  },

  async insertVersion(db: Executor, v: { tenant_id: string; version: number; effective_from: Date; snapshot: unknown; reason: string }) {
    await db
      .insertInto('rule_versions')
      .values({ ...v, snapshot: JSON.stringify(v.snapshot) })
      .execute();
  },

  /** The newest version that took effect at or before `at`, else (a back-dated order) the first. */
  async versionNumberAt(db: Executor, tenantId: string, at: Date): Promise<number | undefined> {
    let row = await db
      .selectFrom('rule_versions')
      .select(['version'])
      .where('tenant_id', '=', tenantId)
      .where('effective_from', '<=', at)
      .orderBy('effective_from', 'desc')
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    row ??= await db.selectFrom('rule_versions').select(['version']).where('tenant_id', '=', tenantId).orderBy('version').limit(1).executeTakeFirst();
    return row?.version;
  },

  async versionTimes(db: Executor, tenantId: string) {
    return db.selectFrom('rule_versions').select(['version', 'effective_from']).where('tenant_id', '=', tenantId).orderBy('version').execute();
  },

  /** The tenant's newest version number as a scalar subquery, to read with other things in one round trip. */
  latestVersionSql(tenantId: string): RawBuilder<number | null> {
    return sql<number | null>`(select max(version) from rule_versions where tenant_id = ${tenantId})`;
  },

  async snapshot(db: Executor, tenantId: string, version: number) {
    return db.selectFrom('rule_versions').select(['snapshot']).where('tenant_id', '=', tenantId).where('version', '=', version).executeTakeFirst();
  },

  async listVersions(db: Executor, tenantId: string, limit: number) {
    return db.selectFrom('rule_versions').selectAll().where('tenant_id', '=', tenantId).orderBy('version', 'desc').limit(limit).execute();
  },

  // ——— sku_rules ———

  async skuRates(db: Executor, tenantId: string) {
    return db.selectFrom('sku_rules').select(['sku', 'rates']).where('tenant_id', '=', tenantId).execute();
  },

  async listSkuRules(db: Executor, tenantId: string) {
    return db.selectFrom('sku_rules').selectAll().where('tenant_id', '=', tenantId).orderBy('sku').execute();
  },

  async findSkuRule(db: Executor, tenantId: string, sku: string) {
    return db.selectFrom('sku_rules').selectAll().where('tenant_id', '=', tenantId).where('sku', '=', sku).executeTakeFirst();
  },

  async upsertSkuRule(db: Executor, tenantId: string, sku: string, rates: unknown, at: Date) {
    await db
      .insertInto('sku_rules')
      .values({ tenant_id: tenantId, sku, rates: JSON.stringify(rates), updated_at: at })
      .onConflict((oc) => oc.columns(['tenant_id', 'sku']).doUpdateSet({ rates: JSON.stringify(rates), updated_at: at }))
      .execute();
  },

  async deleteSkuRule(db: Executor, tenantId: string, sku: string) {
    await sql`delete from sku_rules where tenant_id = ${tenantId} and sku = ${sku}`.execute(db);
  },

  // ——— what the simulator reads (orders as paid, their items and lines, the chains' grades) ———

  async countPaidBetween(db: Executor, tenantId: string, from: Date, to: Date): Promise<number> {
    const count = await db
      .selectFrom('orders')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('paid_at', '>=', from)
      .where('paid_at', '<', to)
      .executeTakeFirstOrThrow();
    return Number(count.n);
  },

  /** Each seller's own sales paid in [from, to). */
  async salesBetween(db: Executor, tenantId: string, from: Date, to: Date) {
    return db
      .selectFrom('orders')
      .select(['seller_id', (eb) => eb.fn.sum<number>('paid_fen').as('s')])
      .where('tenant_id', '=', tenantId)
      .where('paid_at', '>=', from)
      .where('paid_at', '<', to)
      .where('seller_id', 'is not', null)
      .groupBy('seller_id')
      .execute();
  },

  /** A page of the orders paid in [from, to), in payment order, after `cursor`. */
  async paidPage(db: Executor, tenantId: string, from: Date, to: Date, cursor: { paid_at: Date; id: string } | null, limit: number) {
    let q = db
      .selectFrom('orders')
      .select(['id', 'seller_id', 'chain', 'paid_at', 'paid_fen', 'refunded_fen'])
      .where('tenant_id', '=', tenantId)
      .where('paid_at', '>=', from)
      .where('paid_at', '<', to);
    if (cursor) {
      const c = cursor;
      q = q.where((eb) => eb.or([eb('paid_at', '>', c.paid_at), eb.and([eb('paid_at', '=', c.paid_at), eb('id', '>', c.id)])]));
    }
    return q.orderBy('paid_at').orderBy('id').limit(limit).execute();
  },

  async itemsOfOrders(db: Executor, orderIds: string[]) {
    return db
      .selectFrom('order_items')
      .select(['id', 'order_id', 'sku', 'quantity', 'paid_fen'])
      .where('order_id', 'in', orderIds)
      .orderBy('order_id')
      .orderBy('position')
      .execute();
  },

  /** The commission lines (not clawbacks) of these orders, as they were computed. */
  async linesOfOrders(db: Executor, orderIds: string[]) {
    return db
      .selectFrom('commissions')
      .select(['order_id', 'beneficiary_id', 'beneficiary_grade', 'original_amount_fen'])
      .where('order_id', 'in', orderIds)
      .where('kind', '=', 'commission')
      .execute();
  },

  async distributorNames(db: Executor, tenantId: string, ids: string[]) {
    return db.selectFrom('distributors').select(['id', 'name']).where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
  },

  async distributorGrades(db: Executor, tenantId: string, ids: string[]) {
    return db.selectFrom('distributors').select(['id', 'grade_code', 'status']).where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
  },
};

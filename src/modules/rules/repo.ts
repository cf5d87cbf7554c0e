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

  async insertVersion(
    db: Executor,
    v: { tenant_id: string; version: number; effective_from: Date; snapshot: unknown; reason: string; state?: unknown; recorded?: boolean },
  ) {
    await db
      .insertInto('rule_versions')
      .values({ ...v, snapshot: JSON.stringify(v.snapshot), state: v.state === undefined ? null : JSON.stringify(v.state) })
      .execute();
  },

  /** Every version with the whole state it stands for (null before states were kept), oldest first. */
  async timelineVersions(db: Executor, tenantId: string) {
    return db
      .selectFrom('rule_versions')
      .select(['version', 'effective_from', 'snapshot', 'state', 'recorded', 'reason'])
      .where('tenant_id', '=', tenantId)
      .orderBy('version')
      .execute();
  },

  // ——— rule_changes ———

  async lastChangeSeq(db: Executor, tenantId: string): Promise<number> {
    const r = await db
      .selectFrom('rule_changes')
      .select((eb) => eb.fn.max('seq').as('s'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    return Number(r?.s ?? 0);
  },

  async insertChange(
    db: Executor,
    c: {
      id: string;
      tenant_id: string;
      seq: number;
      kind: 'program' | 'grade' | 'sku_rule' | 'pilot';
      target: string | null;
      patch: unknown;
      effective_from: Date;
      reason: string | null;
      created_at: Date;
      created_by_type: string;
      created_by_id: string | null;
    },
  ) {
    await db
      .insertInto('rule_changes')
      .values({ ...c, patch: JSON.stringify(c.patch), status: 'active' })
      .execute();
  },

  /** The active changes taking effect at or after `from`, in the order they apply. */
  async activeChangesFrom(db: Executor, tenantId: string, from: Date) {
    return db
      .selectFrom('rule_changes')
      .select(['id', 'seq', 'effective_from', 'patch'])
      .where('tenant_id', '=', tenantId)
      .where('status', '=', 'active')
      .where('effective_from', '>=', from)
      .orderBy('effective_from')
      .orderBy('seq')
      .execute();
  },

  async findChange(db: Executor, tenantId: string, id: string) {
    return db.selectFrom('rule_changes').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  },

  async cancelChange(db: Executor, id: string, at: Date) {
    await db.updateTable('rule_changes').set({ status: 'cancelled', cancelled_at: at }).where('id', '=', id).where('status', '=', 'active').execute();
  },

  async listChanges(db: Executor, tenantId: string, q: { from?: Date | undefined; status?: 'active' | 'cancelled' | undefined; limit: number }) {
    let query = db.selectFrom('rule_changes').selectAll().where('tenant_id', '=', tenantId);
    if (q.from) query = query.where('effective_from', '>', q.from);
    if (q.status) query = query.where('status', '=', q.status);
    return query.orderBy('effective_from', 'desc').orderBy('seq', 'desc').limit(q.limit).execute();
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
      .select(['id', 'seller_id', 'chain', 'paid_at', 'paid_fen', 'refunded_fen', 'buyer_external_id', 'invite_code'])
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
    return (
      db
        .selectFrom('commissions')
        .select(['order_id', 'beneficiary_id', 'beneficiary_grade', 'original_amount_fen'])
        .where('order_id', 'in', orderIds)
        // The lines credited at payment and the true-up's adjustments of them (clawbacks are refunds).
        .where('kind', 'in', ['commission', 'adjustment'])
        .execute()
    );
  },

  async distributorNames(db: Executor, tenantId: string, ids: string[]) {
    return db.selectFrom('distributors').select(['id', 'name']).where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
  },

  // ——— what the binding replay reads (rules/binding-replay.ts) ———

  /** The distributors among these buyers, and those these invite codes name. */
  async distributorsByExternalOrCode(db: Executor, tenantId: string, externalIds: string[], codes: string[]) {
    if (externalIds.length === 0 && codes.length === 0) return [];
    return db
      .selectFrom('distributors')
      .select(['id', 'external_id', 'invite_code', 'status'])
      .where('tenant_id', '=', tenantId)
      .where((eb) => eb.or([...(externalIds.length ? [eb('external_id', 'in', externalIds)] : []), ...(codes.length ? [eb('invite_code', 'in', codes)] : [])]))
      .execute();
  },

  /** Each customer's binding as it stood at `before`: its last binding event (claims waiting aside) and its last order before then. */
  async bindingsBefore(db: Executor, tenantId: string, customers: string[], before: Date) {
    const events = await sql<{ customer_external_id: string; to_distributor_id: string | null; at: Date }>`
      select distinct on (customer_external_id) customer_external_id, to_distributor_id, at from binding_events
      where tenant_id = ${tenantId} and customer_external_id = any(${customers}::text[]) and at < ${before} and kind <> 'tentative'
      order by customer_external_id, at desc, id desc`.execute(db);
    const orders = await sql<{ buyer_external_id: string; last: Date }>`
      select buyer_external_id, max(paid_at) as last from orders
      where tenant_id = ${tenantId} and buyer_external_id = any(${customers}::text[]) and paid_at < ${before} group by buyer_external_id`.execute(db);
    return { events: events.rows, orders: orders.rows };
  },

  /** Binding events from `from` up to `upTo` (inclusive), after `cursor`, in time order. */
  async bindingEventsUpTo(db: Executor, tenantId: string, from: Date, upTo: Date, cursor: { at: Date; id: string } | null) {
    let q = db
      .selectFrom('binding_events')
      .select(['id', 'customer_external_id', 'kind', 'to_distributor_id', 'at'])
      .where('tenant_id', '=', tenantId)
      .where('at', '>=', from)
      .where('at', '<=', upTo);
    if (cursor) {
      const c = cursor;
      q = q.where((eb) => eb.or([eb('at', '>', c.at), eb.and([eb('at', '=', c.at), eb('id', '>', c.id)])]));
    }
    return q.orderBy('at').orderBy('id').execute();
  },

  async distributorAncestors(db: Executor, tenantId: string, ids: string[]) {
    return db.selectFrom('distributors').select(['id', 'ancestors', 'grade_code', 'status']).where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
  },

  async distributorGrades(db: Executor, tenantId: string, ids: string[]) {
    return db.selectFrom('distributors').select(['id', 'grade_code', 'status']).where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
  },
};

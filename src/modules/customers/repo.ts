import type { Executor } from '../../db/database.ts';
import type { BindingEventsTable } from '../../db/schema.ts';
import { sql, type Insertable, type Selectable } from 'kysely';
import type { CustomersTable } from '../../db/schema.ts';

export type CustomerRow = Selectable<CustomersTable>;

export const customersRepo = {
  /** Creates the customer row if missing, then locks it: bindings of one customer serialise here. */
  async lockOrCreate(db: Executor, tenantId: string, externalId: string, at: Date) {
    await db.insertInto('customers').values({ tenant_id: tenantId, external_id: externalId, created_at: at })
      .onConflict((oc) => oc.columns(['tenant_id', 'external_id']).doNothing()).execute();
    return db.selectFrom('customers').selectAll()
      .where('tenant_id', '=', tenantId).where('external_id', '=', externalId)
      .forUpdate().executeTakeFirstOrThrow();
  },

  /**
   * The same for many customers at once: created where missing, then locked in external-id order
   * (two batches sharing buyers lock them in the same order, so they queue instead of deadlocking).
   */
  async lockOrCreateMany(db: Executor, tenantId: string, externalIds: string[], at: Date): Promise<CustomerRow[]> {
    const ids = [...new Set(externalIds)].sort();
    await sql`insert into customers (tenant_id, external_id, created_at)
      select ${tenantId}, e, ${at}::timestamptz from unnest(${ids}::text[]) as e
      on conflict (tenant_id, external_id) do nothing`.execute(db);
    const r = await sql<CustomerRow>`select * from customers where tenant_id = ${tenantId} and external_id = any(${ids}::text[])
      order by external_id for update`.execute(db);
    return r.rows;
  },

  /** Writes customers' rows as they now stand (rows this transaction has locked). */
  async saveMany(db: Executor, tenantId: string, rows: CustomerRow[]) {
    if (rows.length === 0) return;
    const col = <K extends keyof CustomerRow>(k: K) => rows.map((r) => r[k]);
    await sql`update customers c set distributor_id = v.distributor_id, bound_at = v.bound_at, binding_source = v.binding_source,
        tentative_distributor_id = v.tentative_distributor_id, tentative_at = v.tentative_at, last_order_at = v.last_order_at, purchases_fen = v.purchases_fen
      from unnest(${col('external_id')}::text[], ${col('distributor_id')}::text[], ${col('bound_at')}::timestamptz[], ${col('binding_source')}::text[],
                  ${col('tentative_distributor_id')}::text[], ${col('tentative_at')}::timestamptz[], ${col('last_order_at')}::timestamptz[], ${col('purchases_fen')}::bigint[])
        as v(external_id, distributor_id, bound_at, binding_source, tentative_distributor_id, tentative_at, last_order_at, purchases_fen)
      where c.tenant_id = ${tenantId} and c.external_id = v.external_id`.execute(db);
  },

  async insertEvents(db: Executor, events: Insertable<BindingEventsTable>[]) {
    if (events.length > 0) await db.insertInto('binding_events').values(events).execute();
  },

  async find(db: Executor, tenantId: string, externalId: string) {
    return db.selectFrom('customers').selectAll().where('tenant_id', '=', tenantId).where('external_id', '=', externalId).executeTakeFirst();
  },

  async setBinding(db: Executor, tenantId: string, externalId: string, set: { distributor_id: string | null; bound_at: Date | null; binding_source: string | null; tentative_distributor_id?: null; tentative_at?: null }) {
    await db.updateTable('customers').set(set).where('tenant_id', '=', tenantId).where('external_id', '=', externalId).execute();
  },

  async setTentative(db: Executor, tenantId: string, externalId: string, distributorId: string, at: Date) {
    await db.updateTable('customers').set({ tentative_distributor_id: distributorId, tentative_at: at })
      .where('tenant_id', '=', tenantId).where('external_id', '=', externalId).execute();
  },

  async insertEvent(db: Executor, e: Insertable<BindingEventsTable>) {
    await db.insertInto('binding_events').values(e).execute();
  },

  async events(db: Executor, tenantId: string, externalId: string) {
    return db.selectFrom('binding_events').selectAll()
      .where('tenant_id', '=', tenantId).where('customer_external_id', '=', externalId)
      .orderBy('at').orderBy('id').execute();
  },

  async listBoundTo(db: Executor, tenantId: string, distributorId: string, afterExternalId: string | undefined, limit: number) {
    let q = db.selectFrom('customers').selectAll().where('tenant_id', '=', tenantId).where('distributor_id', '=', distributorId);
    if (afterExternalId) q = q.where('external_id', '>', afterExternalId);
    return q.orderBy('external_id').limit(limit).execute();
  },
};

import type { Executor } from '../../db/database.ts';
import type { BindingEventsTable } from '../../db/schema.ts';
import type { Insertable } from 'kysely';

export const customersRepo = {
  /** Creates the customer row if missing, then locks it: bindings of one customer serialise here. */
  async lockOrCreate(db: Executor, tenantId: string, externalId: string, at: Date) {
    await db.insertInto('customers').values({ tenant_id: tenantId, external_id: externalId, created_at: at })
      .onConflict((oc) => oc.columns(['tenant_id', 'external_id']).doNothing()).execute();
    return db.selectFrom('customers').selectAll()
      .where('tenant_id', '=', tenantId).where('external_id', '=', externalId)
      .forUpdate().executeTakeFirstOrThrow();
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

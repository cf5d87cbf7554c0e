import { sql, type Insertable } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { IngestDeliveriesTable, IngestFormat, IngestOutcome } from '../../db/schema.ts';

export const ingestRepo = {
  /** The tenant's secret for a format, only while the tenant is active. */
  async findSecret(db: Executor, tenantId: string, format: IngestFormat) {
    return db
      .selectFrom('webhook_secrets')
      .innerJoin('tenants', 'tenants.id', 'webhook_secrets.tenant_id')
      .selectAll('webhook_secrets')
      .where('webhook_secrets.tenant_id', '=', tenantId)
      .where('webhook_secrets.format', '=', format)
      .where('tenants.status', '=', 'active')
      .executeTakeFirst();
  },

  async listSecrets(db: Executor, tenantId: string) {
    return db.selectFrom('webhook_secrets').selectAll().where('tenant_id', '=', tenantId).execute();
  },

  async upsertSecret(
    db: Executor,
    row: {
      id: string;
      tenant_id: string;
      format: IngestFormat;
      secret_enc: string;
      hint: string;
      created_at: Date;
      previous_secret_enc: string | null;
      previous_valid_until: Date | null;
    },
  ) {
    const { id: _id, tenant_id: _t, format: _f, ...set } = row;
    await db
      .insertInto('webhook_secrets')
      .values(row)
      .onConflict((oc) => oc.columns(['tenant_id', 'format']).doUpdateSet(set))
      .execute();
  },

  async tenantActive(db: Executor, tenantId: string): Promise<boolean> {
    const t = await db.selectFrom('tenants').select('status').where('id', '=', tenantId).executeTakeFirst();
    return t?.status === 'active';
  },

  async findDelivery(db: Executor, tenantId: string, format: IngestFormat, deliveryId: string) {
    return db
      .selectFrom('ingest_deliveries')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('format', '=', format)
      .where('delivery_id', '=', deliveryId)
      .executeTakeFirst();
  },

  async getDelivery(db: Executor, tenantId: string, id: string) {
    return db.selectFrom('ingest_deliveries').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  },

  /**
   * One row per delivery id: a redelivery adds an attempt and takes the latest outcome, except
   * that a delivery once applied stays `applied` (a concurrent twin that found it done says
   * `duplicate`).
   */
  async recordDelivery(db: Executor, row: Insertable<IngestDeliveriesTable>) {
    await db
      .insertInto('ingest_deliveries')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'format', 'delivery_id']).doUpdateSet({
          outcome: sql`case when ingest_deliveries.outcome = 'applied' and excluded.outcome = 'duplicate' then 'applied' else excluded.outcome end`,
          reason: sql`case when ingest_deliveries.outcome = 'applied' and excluded.outcome = 'duplicate' then ingest_deliveries.reason else excluded.reason end`,
          topic: sql`coalesce(excluded.topic, ingest_deliveries.topic)`,
          order_external_id: sql`coalesce(excluded.order_external_id, ingest_deliveries.order_external_id)`,
          payload_enc: sql`coalesce(excluded.payload_enc, ingest_deliveries.payload_enc)`,
          attempts: sql`ingest_deliveries.attempts + 1`,
          updated_at: sql`excluded.updated_at`,
        }),
      )
      .execute();
  },

  async countAttempt(db: Executor, id: string, at: Date) {
    await db
      .updateTable('ingest_deliveries')
      .set((eb) => ({ attempts: eb('attempts', '+', 1), updated_at: at }))
      .where('id', '=', id)
      .execute();
  },

  async updateOutcome(db: Executor, id: string, set: { outcome: IngestOutcome; reason: string | null; updated_at: Date }) {
    await db.updateTable('ingest_deliveries').set(set).where('id', '=', id).execute();
  },

  /**
   * Forgets the bodies (buyers' personal data) of a tenant's deliveries received before
   * `beforeId` (ids are time-ordered, so this walks the (tenant_id, id) index); events still
   * waiting for their order keep theirs.
   */
  async prunePayloads(db: Executor, tenantId: string, beforeId: string) {
    await db
      .updateTable('ingest_deliveries')
      .set({ payload_enc: null })
      .where('tenant_id', '=', tenantId)
      .where('id', '<', beforeId)
      .where('payload_enc', 'is not', null)
      .where('outcome', '<>', 'deferred')
      .execute();
  },

  /** Events that arrived before their order, oldest first. */
  async deferred(db: Executor, tenantId: string, format: IngestFormat, orderExternalId: string) {
    return db
      .selectFrom('ingest_deliveries')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('format', '=', format)
      .where('order_external_id', '=', orderExternalId)
      .where('outcome', '=', 'deferred')
      .orderBy('received_at')
      .orderBy('id')
      .execute();
  },

  async list(
    db: Executor,
    tenantId: string,
    q: { format?: IngestFormat; outcome?: IngestOutcome; orderExternalId?: string; beforeId?: string; limit: number },
  ) {
    let query = db.selectFrom('ingest_deliveries').selectAll().where('tenant_id', '=', tenantId);
    if (q.format) query = query.where('format', '=', q.format);
    if (q.outcome) query = query.where('outcome', '=', q.outcome);
    if (q.orderExternalId) query = query.where('order_external_id', '=', q.orderExternalId);
    if (q.beforeId) query = query.where('id', '<', q.beforeId);
    return query.orderBy('id', 'desc').limit(q.limit).execute();
  },
};

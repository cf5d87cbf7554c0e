import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { WebhookAttemptsTable, WebhookDeliveriesTable, WebhookEndpointsTable } from '../../db/schema.ts';

export type EndpointRow = Selectable<WebhookEndpointsTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;

/** A claimed delivery with what sending it needs. */
export interface ClaimedDelivery {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  event_id: string;
  attempts: number;
  created_at: Date;
  type: string;
  event_created_at: Date;
  data: unknown;
  url: string;
  secret_enc: string;
  previous_secret_enc: string | null;
  previous_valid_until: Date | null;
}

export const webhooksRepo = {
  async insertEndpoint(ex: Executor, row: Insertable<WebhookEndpointsTable>): Promise<EndpointRow> {
    return ex.insertInto('webhook_endpoints').values(row).returningAll().executeTakeFirstOrThrow();
  },

  async endpoint(ex: Executor, tenantId: string, id: string): Promise<EndpointRow | undefined> {
    return ex.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  },

  async endpointForUpdate(ex: Executor, tenantId: string, id: string): Promise<EndpointRow | undefined> {
    return ex.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
  },

  async endpoints(ex: Executor, tenantId: string): Promise<EndpointRow[]> {
    return ex.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId).orderBy('id').execute();
  },

  async updateEndpoint(ex: Executor, tenantId: string, id: string, set: Updateable<WebhookEndpointsTable>): Promise<EndpointRow> {
    return ex.updateTable('webhook_endpoints').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
  },

  /** Attempts at an endpoint's deliveries, newest first (ids are time-ordered). */
  async attempts(ex: Executor, tenantId: string, endpointId: string, q: { eventId?: string | undefined; beforeId?: string | undefined; limit: number }) {
    let query = ex
      .selectFrom('webhook_attempts as a')
      .innerJoin('webhook_deliveries as d', 'd.id', 'a.delivery_id')
      .innerJoin('webhook_events as e', 'e.id', 'a.event_id')
      .select([
        'a.id',
        'a.delivery_id',
        'a.event_id',
        'e.type as event_type',
        'a.attempt',
        'a.status',
        'a.http_status',
        'a.error',
        'a.duration_ms',
        'a.created_at',
        'd.status as delivery_status',
        'd.next_attempt_at',
      ])
      .where('a.tenant_id', '=', tenantId)
      .where('a.endpoint_id', '=', endpointId);
    if (q.eventId) query = query.where('a.event_id', '=', q.eventId);
    if (q.beforeId) query = query.where('a.id', '<', q.beforeId);
    return query.orderBy('a.id', 'desc').limit(q.limit).execute();
  },

  /** Tenants with a delivery due now and not leased (the worker's wake-up query). */
  async dueTenants(ex: Executor, now: Date, limit: number): Promise<string[]> {
    const rows = await ex
      .selectFrom('webhook_deliveries')
      .select('tenant_id')
      .distinct()
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .limit(limit)
      .execute();
    return rows.map((r) => r.tenant_id);
  },

  /**
   * Leases up to `limit` due deliveries of a tenant until `leaseUntil`, oldest event first, and
   * answers them with their event and endpoint. A delivery waits while an earlier delivery of
   * the same object to the same endpoint is pending (order per object), and while its endpoint
   * is disabled.
   */
  async claim(ex: Executor, tenantId: string, now: Date, leaseUntil: Date, limit: number): Promise<ClaimedDelivery[]> {
    const r = await sql<ClaimedDelivery>`
      with picked as (
        select d.id from webhook_deliveries d
        join webhook_endpoints ep on ep.id = d.endpoint_id and ep.enabled
        where d.tenant_id = ${tenantId} and d.status = 'pending' and d.next_attempt_at <= ${now}
          and (d.lease_until is null or d.lease_until < ${now})
          and not exists (select 1 from webhook_deliveries p
            where p.endpoint_id = d.endpoint_id and p.object_key = d.object_key and p.status = 'pending' and p.seq < d.seq)
        order by d.seq
        limit ${limit}
        for update of d skip locked),
      leased as (
        update webhook_deliveries d set lease_until = ${leaseUntil} from picked where d.id = picked.id
        returning d.id, d.tenant_id, d.endpoint_id, d.event_id, d.attempts, d.created_at, d.seq)
      select l.id, l.tenant_id, l.endpoint_id, l.event_id, l.attempts, l.created_at,
        e.type, e.created_at as event_created_at, e.data,
        ep.url, ep.secret_enc, ep.previous_secret_enc, ep.previous_valid_until
      from leased l join webhook_events e on e.id = l.event_id join webhook_endpoints ep on ep.id = l.endpoint_id
      order by l.seq`.execute(ex);
    return r.rows;
  },

  async insertAttempt(ex: Executor, row: Insertable<WebhookAttemptsTable>): Promise<void> {
    await ex.insertInto('webhook_attempts').values(row).execute();
  },

  /** The outcome of a leased delivery; false when the lease was lost meanwhile (nothing written). */
  async finishAttempt(ex: Executor, id: string, leaseUntil: Date, set: Updateable<WebhookDeliveriesTable>): Promise<boolean> {
    const r = await ex
      .updateTable('webhook_deliveries')
      .set(set)
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .where('lease_until', '=', leaseUntil)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  /** An endpoint answered: its failing streak ends. */
  async endpointSucceeded(ex: Executor, id: string): Promise<void> {
    await ex.updateTable('webhook_endpoints').set({ failing_since: null }).where('id', '=', id).where('failing_since', 'is not', null).execute();
  },

  /**
   * An endpoint failed: its streak starts now if none runs, and an endpoint failing since before
   * `disableBefore` is disabled with `reason`. Answers whether it was disabled by this call.
   */
  async endpointFailed(ex: Executor, id: string, now: Date, disableBefore: Date, reason: string): Promise<boolean> {
    const r = await sql<{ disabled: boolean }>`
      update webhook_endpoints set failing_since = coalesce(failing_since, ${now}),
        enabled = case when failing_since is not null and failing_since < ${disableBefore} then false else enabled end,
        disabled_reason = case when enabled and failing_since is not null and failing_since < ${disableBefore} then ${reason} else disabled_reason end,
        updated_at = case when enabled and failing_since is not null and failing_since < ${disableBefore} then ${now} else updated_at end
      where id = ${id}
      returning (enabled = false and disabled_reason = ${reason} and updated_at = ${now}) as disabled`.execute(ex);
    return r.rows[0]?.disabled === true;
  },

  /** Queues deliveries of an endpoint again (a replay): each goes out at the next pass, keeping its event id. */
  async replay(ex: Executor, tenantId: string, endpointId: string, filter: { eventId: string } | { from: Date; to: Date }, now: Date): Promise<number> {
    const where =
      'eventId' in filter ? sql`e.id = ${filter.eventId}` : sql`e.created_at >= ${filter.from} and e.created_at < ${filter.to} and e.type = any(ep.events)`;
    const r = await sql<{ n: number }>`
      with wanted as (
        select e.id, e.seq, e.object_key from webhook_events e join webhook_endpoints ep on ep.id = ${endpointId}
        where e.tenant_id = ${tenantId} and ${where}),
      upserted as (
        insert into webhook_deliveries (id, tenant_id, endpoint_id, event_id, seq, object_key, status, next_attempt_at, created_at)
        select 'whd_' || replace(gen_random_uuid()::text, '-', ''), ${tenantId}, ${endpointId}, w.id, w.seq, w.object_key, 'pending', ${now}, ${now} from wanted w
        on conflict (endpoint_id, event_id) do update set status = 'pending', next_attempt_at = ${now}, lease_until = null, created_at = ${now}, finished_at = null
        returning 1)
      select count(*)::int as n from upserted`.execute(ex);
    return r.rows[0]?.n ?? 0;
  },

  async insertTestEvent(ex: Executor, tenantId: string, endpointId: string, eventId: string, data: unknown, now: Date): Promise<void> {
    await sql`
      with ev as (insert into webhook_events (id, tenant_id, type, object_key, data, created_at)
        values (${eventId}, ${tenantId}, 'webhook.test', ${'endpoint:' + endpointId}, ${JSON.stringify(data)}::jsonb, ${now}) returning id, seq, object_key)
      insert into webhook_deliveries (id, tenant_id, endpoint_id, event_id, seq, object_key, status, next_attempt_at, created_at)
      select 'whd_' || replace(gen_random_uuid()::text, '-', ''), ${tenantId}, ${endpointId}, ev.id, ev.seq, ev.object_key, 'pending', ${now}, ${now} from ev`.execute(
      ex,
    );
  },

  /** Leases left by a process that is gone (the embedded database has one process: all of them at its start). */
  async releaseLeases(ex: Executor): Promise<void> {
    await ex.updateTable('webhook_deliveries').set({ lease_until: null }).where('status', '=', 'pending').where('lease_until', 'is not', null).execute();
  },
};

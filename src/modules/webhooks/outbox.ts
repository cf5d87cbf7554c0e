import { sql, type RawBuilder } from 'kysely';
import { ident } from '../../db/ident.ts';
import type { Executor } from '../../db/database.ts';
import type { Clock } from '../../core/context.ts';
import { newId } from '../../core/ids.ts';
import type { WebhookEventType } from './schema.ts';

/** One business event to record: what happened, to which object (deliveries of one object keep their order), and its payload. */
export interface OutboxEvent {
  type: WebhookEventType;
  /** The object the event is about, e.g. `order` and its id: an endpoint gets an object's events in the order they were recorded. */
  objectType: string;
  objectId: string;
  data: unknown;
}

/**
 * The outbox: how a module records an event in the transaction of what caused it. One statement
 * writes the events and, for each, one delivery per enabled endpoint of the tenant that
 * subscribes to its type; an event nobody subscribes to is not written at all (the check is part
 * of the statement, so it is never stale, and costs an index probe of the tenant's endpoints).
 * The deliveries' insert fires a trigger that NOTIFYs `fenxiao_webhooks` at commit, which wakes
 * the delivery worker; a rolled-back transaction leaves neither rows nor a notification.
 */
export function createOutbox(deps: { clock: Clock }) {
  const { clock } = deps;

  /** The WITH entries `<name>_events` and `<name>_deliveries`; `only` limits the events to objects a filter keeps (e.g. orders the batch really wrote). */
  function ctes(
    tenantId: string,
    events: readonly OutboxEvent[],
    options: { name?: string; only?: (objectId: RawBuilder<unknown>) => RawBuilder<unknown> } = {},
  ) {
    const name = options.name ?? 'outbox';
    const now = clock.now();
    const ids = events.map(() => newId('evt'));
    const objectId = ident('v.object_id');
    const keep = options.only ? options.only(objectId) : sql`true`;
    return [
      sql`${sql.raw(`${name}_events`)} as (
        insert into webhook_events (id, tenant_id, type, object_key, data, created_at)
        select v.id, ${tenantId}, v.type, v.object_type || ':' || v.object_id, v.data::jsonb, ${now}::timestamptz
        from unnest(${ids}::text[], ${events.map((e) => e.type)}::text[], ${events.map((e) => e.objectType)}::text[],
                    ${events.map((e) => e.objectId)}::text[], ${events.map((e) => JSON.stringify(e.data))}::text[])
          with ordinality as v(id, type, object_type, object_id, data, n)
        where ${keep} and exists (select 1 from webhook_endpoints e where e.tenant_id = ${tenantId} and e.enabled and v.type = any(e.events))
        order by v.n
        returning id, seq, type, object_key)`,
      sql`${sql.raw(`${name}_deliveries`)} as (
        insert into webhook_deliveries (id, tenant_id, endpoint_id, event_id, seq, object_key, status, next_attempt_at, created_at)
        select 'whd_' || replace(gen_random_uuid()::text, '-', ''), ${tenantId}, e.id, ev.id, ev.seq, ev.object_key, 'pending', ${now}::timestamptz, ${now}::timestamptz
        from ${sql.raw(`${name}_events`)} ev
        join webhook_endpoints e on e.tenant_id = ${tenantId} and e.enabled and ev.type = any(e.events)
        returning 1)`,
    ] as RawBuilder<unknown>[];
  }

  return {
    ctes,

    /** Records `events` in the caller's transaction (one statement). */
    async record(tx: Executor, tenantId: string, events: readonly OutboxEvent[]): Promise<void> {
      if (events.length === 0) return;
      await sql`with ${sql.join(ctes(tenantId, events))} select 1`.execute(tx);
    },

    /** Whether an enabled endpoint of the tenant wants `type` (one index probe): a caller skips reading what only the payload needs. */
    async wanted(ex: Executor, tenantId: string, type: WebhookEventType): Promise<boolean> {
      const r = await sql<{
        wanted: boolean;
      }>`select exists (select 1 from webhook_endpoints e where e.tenant_id = ${tenantId} and e.enabled and ${type} = any(e.events)) as wanted`.execute(ex);
      return r.rows[0]?.wanted === true;
    },

    /**
     * A scalar subquery answering the event types some enabled endpoint of the tenant subscribes
     * to (text[], null when none): the order path reads it with its first statement and builds no
     * payload for a batch nobody listens to.
     */
    subscribedSql(tenantId: string): RawBuilder<unknown> {
      return sql`(select array_agg(distinct t) from webhook_endpoints e, unnest(e.events) t where e.tenant_id = ${tenantId} and e.enabled)`;
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;

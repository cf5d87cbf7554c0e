import { isIP } from 'node:net';
import type { Db } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { invalid, notFound } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import { randomToken, type KeyRing } from '../../lib/crypto.ts';
import { addressRefusal } from '../../lib/net-guard.ts';
import type { ResolveHost } from '../../adapters/webhooks/http.ts';
import type { AuditService } from '../audit/service.ts';
import { webhooksRepo, type EndpointRow } from './repo.ts';
import { TEST_EVENT_TYPE, type AttemptView, type CreateEndpointBody, type EndpointCreated, type EndpointView, type UpdateEndpointBody } from './schema.ts';
import type { LocalText } from '../../core/error-text.ts';

const SECRET_PREFIX = 'whsec_';
const DEFAULT_GRACE_HOURS = 24;

export function endpointView(r: EndpointRow, now: Date): EndpointView {
  return {
    id: r.id,
    url: r.url,
    events: [...r.events],
    description: r.description,
    enabled: r.enabled,
    disabled_reason: r.disabled_reason,
    failing_since: r.failing_since?.toISOString() ?? null,
    secret_hint: r.secret_hint,
    previous_secret_valid_until: r.previous_secret_enc && r.previous_valid_until && r.previous_valid_until > now ? r.previous_valid_until.toISOString() : null,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

/**
 * Why `url` may not be an endpoint, or null. Only http and https; no credentials in it; and
 * (unless private targets are allowed) its host, an address or every address its name resolves
 * to, must be public (lib/net-guard.ts). The worker checks the addresses again at each delivery.
 */
export async function urlRefusal(url: string, opts: { allowPrivate: boolean; resolve: ResolveHost }): Promise<LocalText | null> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { en: 'url is not a valid URL', zh: 'url 不是有效的网址' };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { en: 'url must be http or https', zh: 'url 须为 http 或 https 地址' };
  if (u.username || u.password) return { en: 'url must not carry credentials', zh: 'url 不能包含凭据' };
  if (opts.allowPrivate) return null;
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  if (isIP(host)) {
    const why = addressRefusal(host);
    return why ? { en: `url points at a ${why} address`, zh: `url 指向${why}地址` } : null;
  }
  let addresses: { address: string }[];
  try {
    addresses = await opts.resolve(host);
  } catch {
    return { en: `url's host ${host} does not resolve`, zh: `无法解析 url 的主机 ${host}` };
  }
  if (addresses.length === 0) return { en: `url's host ${host} does not resolve`, zh: `无法解析 url 的主机 ${host}` };
  for (const a of addresses) {
    const why = addressRefusal(a.address);
    if (why) return { en: `url's host ${host} resolves to a ${why} address (${a.address})`, zh: `url 的主机 ${host} 解析到${why}地址（${a.address}）` };
  }
  return null;
}

/** Outbound webhook endpoints of a tenant: create, change, rotate, the deliveries' log, replay and a test send. */
export function createWebhooksService(deps: {
  db: Db;
  clock: Clock;
  keyring: KeyRing;
  audit: AuditService;
  resolve: ResolveHost;
  /** FENXIAO_WEBHOOKS_ALLOW_PRIVATE: loopback and private targets allowed (development, tests). */
  allowPrivate: boolean;
  /** Wakes the delivery worker of this process (a replay or a test send is due now). */
  nudge?: () => void;
}) {
  const { db, clock, keyring, audit } = deps;

  async function checkUrl(url: string) {
    const why = await urlRefusal(url, { allowPrivate: deps.allowPrivate, resolve: deps.resolve });
    if (why) throw invalid(why);
  }

  async function load(tenantId: string, id: string): Promise<EndpointRow> {
    const row = await webhooksRepo.endpoint(db, tenantId, id);
    if (!row) throw notFound('webhook endpoint');
    return row;
  }

  return {
    async create(actor: Actor, body: CreateEndpointBody): Promise<EndpointCreated> {
      requirePermission(actor.principal, 'keys:write');
      const tenantId = tenantOf(actor.principal);
      await checkUrl(body.url);
      const secret = SECRET_PREFIX + randomToken(24);
      const now = clock.now();
      const row = await inTransaction(db, async (tx) => {
        const r = await webhooksRepo.insertEndpoint(tx, {
          id: newId('whe'),
          tenant_id: tenantId,
          url: body.url,
          events: [...body.events],
          description: body.description ?? null,
          secret_enc: keyring.encrypt(secret),
          secret_hint: secret.slice(-4),
          enabled: true,
          created_at: now,
          updated_at: now,
        });
        await audit.record(tx, actor, {
          action: 'webhook_endpoint.create',
          targetType: 'webhook_endpoint',
          targetId: r.id,
          after: { url: r.url, events: r.events },
        });
        return r;
      });
      return { ...endpointView(row, now), secret };
    },

    async list(actor: Actor): Promise<{ items: EndpointView[]; next_cursor: null }> {
      requirePermission(actor.principal, 'read');
      const now = clock.now();
      return { items: (await webhooksRepo.endpoints(db, tenantOf(actor.principal))).map((r) => endpointView(r, now)), next_cursor: null };
    },

    async get(actor: Actor, id: string): Promise<EndpointView> {
      requirePermission(actor.principal, 'read');
      return endpointView(await load(tenantOf(actor.principal), id), clock.now());
    },

    async update(actor: Actor, id: string, body: UpdateEndpointBody): Promise<EndpointView> {
      requirePermission(actor.principal, 'keys:write');
      const tenantId = tenantOf(actor.principal);
      if (body.url !== undefined) await checkUrl(body.url);
      const now = clock.now();
      return inTransaction(db, async (tx) => {
        const before = await webhooksRepo.endpointForUpdate(tx, tenantId, id);
        if (!before) throw notFound('webhook endpoint');
        const after = await webhooksRepo.updateEndpoint(tx, tenantId, id, {
          ...(body.url !== undefined ? { url: body.url } : {}),
          ...(body.events !== undefined ? { events: [...body.events] } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          // Enabling again clears why it was disabled and starts a new failing streak.
          ...(body.enabled !== undefined
            ? { enabled: body.enabled, ...(body.enabled ? { disabled_reason: null, failing_since: null } : { disabled_reason: 'disabled by a person' }) }
            : {}),
          updated_at: now,
        });
        await audit.record(tx, actor, {
          action: 'webhook_endpoint.update',
          targetType: 'webhook_endpoint',
          targetId: id,
          before: { url: before.url, events: before.events, enabled: before.enabled },
          after: { url: after.url, events: after.events, enabled: after.enabled },
        });
        if (after.enabled && !before.enabled) deps.nudge?.();
        return endpointView(after, now);
      });
    },

    /** A new secret, shown once; the previous one keeps signing beside it for the grace period. */
    async rotate(actor: Actor, id: string, graceHours: number | undefined): Promise<EndpointCreated> {
      requirePermission(actor.principal, 'keys:write');
      const tenantId = tenantOf(actor.principal);
      const secret = SECRET_PREFIX + randomToken(24);
      const now = clock.now();
      const grace = (graceHours ?? DEFAULT_GRACE_HOURS) * 3_600_000;
      const row = await inTransaction(db, async (tx) => {
        const before = await webhooksRepo.endpointForUpdate(tx, tenantId, id);
        if (!before) throw notFound('webhook endpoint');
        const r = await webhooksRepo.updateEndpoint(tx, tenantId, id, {
          secret_enc: keyring.encrypt(secret),
          secret_hint: secret.slice(-4),
          previous_secret_enc: grace > 0 ? before.secret_enc : null,
          previous_valid_until: grace > 0 ? new Date(now.getTime() + grace) : null,
          updated_at: now,
        });
        await audit.record(tx, actor, {
          action: 'webhook_endpoint.rotate_secret',
          targetType: 'webhook_endpoint',
          targetId: id,
          after: { previous_valid_until: r.previous_valid_until?.toISOString() ?? null },
        });
        return r;
      });
      return { ...endpointView(row, now), secret };
    },

    async attempts(actor: Actor, id: string, q: { event_id?: string | undefined; cursor?: string | undefined; limit: number }) {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      await load(tenantId, id);
      const rows = await webhooksRepo.attempts(db, tenantId, id, { eventId: q.event_id, beforeId: q.cursor, limit: q.limit + 1 });
      const page = rows.slice(0, q.limit);
      const items: AttemptView[] = page.map((r) => ({
        id: r.id,
        delivery_id: r.delivery_id,
        event_id: r.event_id,
        event_type: r.event_type,
        attempt: r.attempt,
        status: r.status,
        http_status: r.http_status,
        error: r.error,
        duration_ms: r.duration_ms,
        delivery_status: r.delivery_status,
        next_attempt_at: r.delivery_status === 'pending' ? r.next_attempt_at.toISOString() : null,
        created_at: r.created_at.toISOString(),
      }));
      return { items, next_cursor: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null };
    },

    /** Sends one event (by id) or the events of a time range again to this endpoint, with their ids. */
    async replay(actor: Actor, id: string, filter: { eventId: string } | { from: Date; to: Date }): Promise<{ replayed: number }> {
      requirePermission(actor.principal, 'keys:write');
      const tenantId = tenantOf(actor.principal);
      if ('from' in filter && !(filter.from < filter.to)) throw invalid({ en: 'from must be before to', zh: 'from 须早于 to' });
      const replayed = await inTransaction(db, async (tx) => {
        const ep = await webhooksRepo.endpointForUpdate(tx, tenantId, id);
        if (!ep) throw notFound('webhook endpoint');
        const n = await webhooksRepo.replay(tx, tenantId, id, filter, clock.now());
        if ('eventId' in filter && n === 0) throw notFound('event');
        await audit.record(tx, actor, {
          action: 'webhook_endpoint.replay',
          targetType: 'webhook_endpoint',
          targetId: id,
          after: 'eventId' in filter ? { event_id: filter.eventId } : { from: filter.from.toISOString(), to: filter.to.toISOString(), deliveries: n },
        });
        return n;
      });
      deps.nudge?.();
      return { replayed };
    },

    /** A `webhook.test` event to this endpoint alone (whatever it subscribes to), delivered like any other. */
    async test(actor: Actor, id: string): Promise<{ event_id: string }> {
      requirePermission(actor.principal, 'keys:write');
      const tenantId = tenantOf(actor.principal);
      await load(tenantId, id);
      const eventId = newId('evt');
      const now = clock.now();
      await webhooksRepo.insertTestEvent(db, tenantId, id, eventId, { endpoint_id: id, message: 'a test event from Fenxiao', type: TEST_EVENT_TYPE }, now);
      deps.nudge?.();
      return { event_id: eventId };
    },
  };
}

export type WebhooksService = ReturnType<typeof createWebhooksService>;

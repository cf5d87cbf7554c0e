import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Db } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError } from '../../core/errors.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import { randomToken, type KeyRing } from '../../lib/crypto.ts';
import type { AuditService } from '../audit/service.ts';
import type { OrdersService } from '../orders/service.ts';
import type { OrderView, TrackingBody } from '../orders/schema.ts';
import { verifyGeneric } from '../ingest/signatures.ts';
import { kuaidi100Sign, parseGeneric, parseKuaidi100, PushFormatError, type TrackingPush } from './formats.ts';

const GRACE_MS = 24 * 3_600_000;
const TOLERANCE_SECONDS = 300;

export interface LogisticsSettings {
  configured: boolean;
  secret_hint: string | null;
  created_at: string | null;
  previous_valid_until: string | null;
  endpoints: { generic: string; kuaidi100: string };
}

export interface PushAnswer {
  outcome: 'applied' | 'duplicate' | 'ignored';
  order_external_id: string | null;
  message: string | null;
}

/**
 * Carriers' tracking pushes (generic, Kuaidi100) → the order's shipped and received events. A
 * push is verified with the tenant's logistics secret before anything is read from it; the order
 * is found by its tracking number; the event goes through the order path under the push's own
 * Idempotency-Key, so the same push twice (or two at once) moves the order once, and an event the
 * order has gone past (a replayed 'shipped' after 签收) changes nothing.
 */
export function createLogisticsService(deps: { db: Db; clock: Clock; keyring: KeyRing; audit: AuditService; orders: OrdersService; publicUrl: string }) {
  const { db, clock, keyring, audit, orders } = deps;

  async function secretsOf(tenantId: string): Promise<string[]> {
    const row = await db.selectFrom('logistics_secrets').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
    if (!row) return [];
    const out = [keyring.decrypt(row.secret_enc)];
    if (row.previous_secret_enc && row.previous_valid_until && row.previous_valid_until > clock.now()) out.push(keyring.decrypt(row.previous_secret_enc));
    return out;
  }

  async function apply(tenantId: string, push: TrackingPush, requestId: string): Promise<PushAnswer> {
    const externalId = await orders.externalIdByTracking(tenantId, push.trackingNumber);
    if (!externalId) return { outcome: 'ignored', order_external_id: null, message: 'no order has this tracking number' };
    if (!push.stage) return { outcome: 'ignored', order_external_id: externalId, message: 'this state moves no order' };
    const actor: Actor = { principal: { kind: 'system', tenantId, job: 'logistics' }, requestId };
    try {
      const r = await orders.eventOutcome(actor, externalId, { type: push.stage, ...(push.at ? { at: push.at } : {}) }, `logistics:${push.pushKey}`);
      return { outcome: r.replayed ? 'duplicate' : 'applied', order_external_id: externalId, message: null };
    } catch (err) {
      // The order is past this stage (received before, or a replayed 'shipped'): nothing to do.
      if (err instanceof AppError && (err.code === 'invalid_state' || err.code === 'conflict'))
        return { outcome: 'ignored', order_external_id: externalId, message: err.message };
      throw err;
    }
  }

  return {
    /** Whether the logistics secret is set (masked), and the URLs carriers push to: what the console shows. */
    async settings(actor: Actor): Promise<LogisticsSettings> {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      const row = await db.selectFrom('logistics_secrets').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
      const now = clock.now();
      return {
        configured: !!row,
        secret_hint: row ? `…${row.hint}` : null,
        created_at: row?.created_at.toISOString() ?? null,
        previous_valid_until:
          row?.previous_secret_enc && row.previous_valid_until && row.previous_valid_until > now ? row.previous_valid_until.toISOString() : null,
        endpoints: {
          generic: `${deps.publicUrl}/v1/logistics/${tenantId}/generic`,
          kuaidi100: `${deps.publicUrl}/v1/logistics/${tenantId}/kuaidi100`,
        },
      };
    },

    /** Creates or rotates the tenant's logistics secret (shown once); the previous one verifies for 24 hours. */
    async rotateSecret(actor: Actor): Promise<{ secret: string; previous_valid_until: string | null }> {
      requirePermission(actor.principal, 'keys:write');
      const tenantId = tenantOf(actor.principal);
      const secret = 'lgs_' + randomToken(24);
      const now = clock.now();
      const until = new Date(now.getTime() + GRACE_MS);
      let kept = false;
      await inTransaction(db, async (tx) => {
        const before = await tx.selectFrom('logistics_secrets').selectAll().where('tenant_id', '=', tenantId).forUpdate().executeTakeFirst();
        kept = !!before;
        const row = {
          tenant_id: tenantId,
          secret_enc: keyring.encrypt(secret),
          hint: secret.slice(-4),
          previous_secret_enc: before?.secret_enc ?? null,
          previous_valid_until: before ? until : null,
          created_at: now,
        };
        await tx
          .insertInto('logistics_secrets')
          .values(row)
          .onConflict((oc) => oc.column('tenant_id').doUpdateSet(row))
          .execute();
        await audit.record(tx, actor, {
          action: before ? 'logistics.secret.rotate' : 'logistics.secret.create',
          targetType: 'logistics_secret',
          targetId: tenantId,
        });
      });
      return { secret, previous_valid_until: kept ? until.toISOString() : null };
    },

    async setTracking(actor: Actor, externalId: string, body: TrackingBody): Promise<OrderView> {
      return orders.setTracking(actor, externalId, body);
    },

    /** A generic push: verified (HMAC over timestamp and body, 5 minutes' tolerance), then applied. */
    async receiveGeneric(input: { tenantId: string; headers: IncomingHttpHeaders; raw: Buffer; requestId: string }): Promise<PushAnswer> {
      const secrets = await secretsOf(input.tenantId);
      const header = (name: string) => {
        const v = input.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const verdict = verifyGeneric({
        timestamp: header('x-fenxiao-timestamp'),
        signature: header('x-fenxiao-signature'),
        raw: input.raw,
        secrets,
        nowMs: clock.now().getTime(),
        toleranceSeconds: TOLERANCE_SECONDS,
      });
      if (secrets.length === 0 || !verdict.ok)
        throw new AppError('unauthorized', {
          en: `tracking push refused: ${verdict.ok ? 'no logistics secret is set' : verdict.reason}`,
          zh: `物流推送被拒绝：${verdict.ok ? '未设置物流密钥' : verdict.zh}`,
        });
      let push: TrackingPush;
      try {
        push = parseGeneric(input.raw);
      } catch (err) {
        if (err instanceof PushFormatError) throw new AppError('invalid_request', err.text);
        throw err;
      }
      return apply(input.tenantId, push, input.requestId);
    },

    /** A Kuaidi100 push: `sign` checked against MD5(param + salt) for the tenant's secret as the salt, then applied. */
    async receiveKuaidi100(input: { tenantId: string; raw: Buffer; requestId: string }): Promise<PushAnswer> {
      let parsed: ReturnType<typeof parseKuaidi100>;
      try {
        parsed = parseKuaidi100(input.raw);
      } catch (err) {
        if (err instanceof PushFormatError)
          throw new AppError('unauthorized', { en: `tracking push refused: ${err.message}`, zh: `物流推送被拒绝：${err.text.zh}` });
        throw err;
      }
      const secrets = await secretsOf(input.tenantId);
      const given = Buffer.from(parsed.sign.toUpperCase(), 'utf8');
      const ok = secrets.some((s) => {
        const expected = Buffer.from(kuaidi100Sign(parsed.param, s), 'utf8');
        return expected.length === given.length && timingSafeEqual(expected, given);
      });
      if (!ok) throw new AppError('unauthorized', { en: 'tracking push refused: sign does not match', zh: '物流推送被拒绝：签名不匹配' });
      return apply(input.tenantId, parsed.push, input.requestId);
    },
  };
}

export type LogisticsService = ReturnType<typeof createLogisticsService>;

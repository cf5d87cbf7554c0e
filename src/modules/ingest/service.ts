import { createHash } from 'node:crypto';
import type { Insertable } from 'kysely';
import type { Db } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, invalid, notFound } from '../../core/errors.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import type { IngestDeliveriesTable, IngestFormat, IngestOutcome } from '../../db/schema.ts';
import { randomToken, type KeyRing } from '../../lib/crypto.ts';
import { ulid } from '../../core/ids.ts';
import { CallbackRejected, type PaymentNotification } from '../../adapters/payout/types.ts';
import type { AuditService } from '../audit/service.ts';
import type { Static } from '@sinclair/typebox';
import { PurchasePaymentCallback, type PurchaseOrderView } from '../agents/schema.ts';
import type { AgentsService } from '../agents/service.ts';
import type { OrdersService } from '../orders/service.ts';
import type { OrderView } from '../orders/schema.ts';
import { mapGeneric } from './formats/generic.ts';
import { parseJsonPreservingIds } from './formats/json.ts';
import { mapShopify } from './formats/shopify.ts';
import { MappingError, type Intent, type Mapped, type UnknownOrder } from './formats/types.ts';
import { validator } from './validate.ts';
import { mapWooCommerce } from './formats/woocommerce.ts';
import { ingestRepo } from './repo.ts';
import { INGEST_FORMATS, type DeliveryView, type RotateSecretBody, type WebhookAnswer, type WebhookSettingsView } from './schema.ts';
import { verifyBase64Body, verifyGeneric, verifyMessage, type Verdict } from './signatures.ts';

const checkPurchasePayment = validator(PurchasePaymentCallback, 'body');
/** How far the generic format's X-Fenxiao-Timestamp may be from our clock, either way. */
export const TIMESTAMP_TOLERANCE_SECONDS = 300;
/** After a rotation the previous secret still verifies this long, so deliveries in flight (and the platforms' retries) get through. */
export const PREVIOUS_SECRET_GRACE_MS = 24 * 3600 * 1000;
const SECRET_PREFIX = 'fxw_';
/** A delivery's body is kept this long for replay and support, then only its record. */
export const PAYLOAD_RETENTION_MS = 30 * 24 * 3600 * 1000;
const PRUNE_EVERY_MS = 3600 * 1000;
const PRINTABLE_ID = /^[\x21-\x7e]{1,128}$/;

export interface IngestLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

type Headers = Record<string, string | string[] | undefined>;

export type PaymentChannelName = 'wechat' | 'alipay';

/** What verifies a payment channel's own notification: the payout channels of the same merchant. */
export interface PaymentChannels {
  wechat?: { verifyPayment(headers: Headers, raw: Buffer): Promise<PaymentNotification> } | undefined;
  alipay?: { verifyPayment(raw: Buffer): Promise<PaymentNotification> } | undefined;
}

/** A channel notification's fate: acknowledged (paid, paid again, or nothing to pay), or refused with a status. */
export type ChannelPaymentAnswer = { ok: true } | { ok: false; status: ChannelRefusalStatus; reason: string };
export type ChannelRefusalStatus = 400 | 401 | 403 | 404 | 409 | 422;
const REFUSAL_STATUSES: readonly number[] = [400, 401, 403, 404, 409, 422] satisfies ChannelRefusalStatus[];
const refusalStatus = (status: number): ChannelRefusalStatus => (REFUSAL_STATUSES.includes(status) ? (status as ChannelRefusalStatus) : 400);

/** What one intent came to. */
interface Step {
  outcome: 'applied' | 'duplicate' | 'ignored' | 'deferred';
  reason?: string;
  createdOrder?: boolean;
}

/** What a delivery came to: an outcome for the record, and the error to answer when rejected. */
interface Processed {
  outcome: IngestOutcome;
  reason: string | null;
  topic: string | null;
  orderExternalId: string | null;
  createdOrder: boolean;
  error?: AppError;
}

const FINAL: readonly IngestOutcome[] = ['applied', 'duplicate', 'ignored'];
const RANK: Record<Step['outcome'], number> = { applied: 3, deferred: 2, duplicate: 1, ignored: 0 };

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

/** What changed in an order when an event applied: status, refunds, or a new date. */
function stateOf(o: OrderView): string {
  return [o.status, o.refunded_fen, o.shipped_at, o.received_at, o.completed_at, o.items.map((i) => `${i.refunded_fen}/${i.refunded_quantity}`).join(',')].join(
    '|',
  );
}

function mapPayload(format: IngestFormat, topic: string | null, payload: unknown): Mapped {
  switch (format) {
    case 'generic':
      return mapGeneric(payload);
    case 'shopify':
      return mapShopify(topic ?? '', payload);
    case 'woocommerce':
      return mapWooCommerce(topic ?? '', payload);
    default: {
      const never: never = format;
      throw new MappingError({ en: `unknown format ${String(never)}`, zh: `未知的格式 ${String(never)}` });
    }
  }
}

/**
 * Orders from merchants' systems by signed webhook (and the shared part of the RabbitMQ
 * consumer): verifies each delivery on its raw bytes with the tenant's secret for the format,
 * maps the platform's payload to orders and events, and carries them out through OrdersService,
 * exactly as POST /v1/orders and POST /v1/orders/{id}/events would, as a system principal of
 * the tenant. Every authenticated delivery is recorded for support and replay.
 */
export function createIngestService(deps: {
  db: Db;
  clock: Clock;
  keyring: KeyRing;
  audit: AuditService;
  orders: OrdersService;
  agents: AgentsService;
  publicUrl: string;
  /** The deployment's WeChat Pay merchant and Alipay app, when configured (the payout channels' keys). */
  paymentChannels?: PaymentChannels | undefined;
}) {
  const { db, clock, keyring, audit, orders, agents } = deps;
  const prunedAt = new Map<string, number>();

  /** At most hourly per tenant and process, on the tenant's own deliveries. */
  async function prunePayloads(tenantId: string, now: Date, log: IngestLog) {
    const last = prunedAt.get(tenantId);
    if (last !== undefined && now.getTime() - last < PRUNE_EVERY_MS) return;
    prunedAt.set(tenantId, now.getTime());
    const cutoff = `whd_${ulid(now.getTime() - PAYLOAD_RETENTION_MS).slice(0, 10)}`;
    await ingestRepo
      .prunePayloads(db, tenantId, cutoff)
      .catch((err: unknown) => log.warn({ err, tenant_id: tenantId }, 'could not prune old webhook payloads'));
  }

  const actorFor = (tenantId: string, job: string, requestId: string | null): Actor => ({ principal: { kind: 'system', tenantId, job }, requestId });

  const endpoint = (tenantId: string, format: IngestFormat) => `${deps.publicUrl}/v1/webhooks/${tenantId}/orders/${format}`;

  /** The secrets that verify now: the current one, and the previous one inside its grace period. */
  async function secretsOf(tenantId: string, format: IngestFormat, now: Date): Promise<string[]> {
    const row = await ingestRepo.findSecret(db, tenantId, format);
    if (!row) return [];
    const out = [keyring.decrypt(row.secret_enc)];
    if (row.previous_secret_enc && row.previous_valid_until && row.previous_valid_until > now) out.push(keyring.decrypt(row.previous_secret_enc));
    return out;
  }

  async function findOrder(actor: Actor, externalId: string): Promise<OrderView | null> {
    try {
      return await orders.get(actor, externalId);
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') return null;
      throw err;
    }
  }

  function unknownOrder(policy: UnknownOrder, externalId: string): Step {
    switch (policy) {
      case 'defer':
        return { outcome: 'deferred', reason: `order ${externalId} not known yet: applied when it arrives` };
      case 'ignore':
        return { outcome: 'ignored', reason: `order ${externalId} was never paid here` };
      case 'error':
        throw notFound('order');
      default: {
        const never: never = policy;
        throw new Error(`unknown policy ${String(never)}`);
      }
    }
  }

  /**
   * An event through OrdersService.event. From a shop platform, a state the order has moved past
   * (fulfilled after the buyer confirmed receipt) is ignored rather than refused, and a key
   * already used with another body means the platform's change was applied before (the keys
   * are the platform's own ids); from the generic format both are answered as the API would.
   */
  async function applyEvent(
    actor: Actor,
    shop: boolean,
    before: OrderView,
    externalId: string,
    body: Parameters<OrdersService['event']>[2],
    key: string | undefined,
  ): Promise<Step> {
    let answer: Awaited<ReturnType<OrdersService['eventOutcome']>>;
    try {
      answer = await orders.eventOutcome(actor, externalId, body, key);
    } catch (err) {
      if (shop && err instanceof AppError && err.code === 'invalid_state') return { outcome: 'ignored', reason: err.message };
      if (shop && err instanceof AppError && err.code === 'conflict') return { outcome: 'duplicate', reason: `${body.type} was applied before` };
      throw err;
    }
    // The event's own answer says what it did (no read-back): a kept answer replayed is a duplicate.
    return !answer.replayed && stateOf(answer.order) !== stateOf(before)
      ? { outcome: 'applied' }
      : { outcome: 'duplicate', reason: `${body.type} was applied before` };
  }

  async function execute(actor: Actor, format: IngestFormat, intent: Intent): Promise<Step> {
    const shop = format !== 'generic';
    switch (intent.kind) {
      case 'ignore':
        return { outcome: 'ignored', reason: intent.reason };
      case 'order': {
        // Orders are immutable once paid: a shop that sends the order again (WooCommerce on every
        // update) finds it recorded; later edits of its lines come as refunds.
        if (shop && (await findOrder(actor, intent.body.external_id))) return { outcome: 'duplicate', reason: 'order already recorded' };
        try {
          const r = await orders.create(actor, intent.body);
          return r.created ? { outcome: 'applied', createdOrder: true } : { outcome: 'duplicate', reason: 'order already recorded' };
        } catch (err) {
          if (shop && err instanceof AppError && err.code === 'conflict')
            return { outcome: 'duplicate', reason: 'order already recorded with other lines; later edits are not applied' };
          throw err;
        }
      }
      case 'event': {
        const before = await findOrder(actor, intent.orderExternalId);
        if (!before) return unknownOrder(intent.unknownOrder, intent.orderExternalId);
        return applyEvent(actor, shop, before, intent.orderExternalId, intent.body, intent.idempotencyKey);
      }
      case 'refund_amount': {
        const before = await findOrder(actor, intent.orderExternalId);
        if (!before) return unknownOrder(intent.unknownOrder, intent.orderExternalId);
        const remaining = before.paid_fen - before.refunded_fen;
        if (remaining <= 0) return { outcome: 'ignored', reason: 'nothing left to refund' };
        const fen = intent.refundFen === null ? remaining : Math.min(intent.refundFen, remaining);
        return applyEvent(
          actor,
          shop,
          before,
          intent.orderExternalId,
          {
            type: 'refunded',
            refund_fen: fen,
            ...(intent.at ? { at: intent.at } : {}),
            ...(intent.reason ? { reason: intent.reason } : {}),
          },
          intent.idempotencyKey,
        );
      }
      default: {
        const never: never = intent;
        throw new Error(`unknown intent ${JSON.stringify(never)}`);
      }
    }
  }

  /** Maps and applies one payload. Bad input becomes a rejected outcome, never an exception. */
  async function process(
    tenantId: string,
    format: IngestFormat,
    topic: string | null,
    text: string,
    requestId: string | null,
    log: IngestLog,
  ): Promise<Processed> {
    let mapped: Mapped;
    try {
      mapped = mapPayload(format, topic, parseJsonPreservingIds(text));
    } catch (err) {
      const text = err instanceof MappingError ? err.text : { en: 'the payload could not be read', zh: '无法读取推送内容' };
      if (!(err instanceof MappingError)) log.error({ err, tenant_id: tenantId, format, topic }, 'webhook payload mapping failed unexpectedly');
      return { outcome: 'rejected', reason: text.en, topic, orderExternalId: null, createdOrder: false, error: invalid(text) };
    }
    const actor = actorFor(tenantId, `webhook:${format}`, requestId);
    const steps: Step[] = [];
    try {
      for (const intent of mapped.intents) steps.push(await execute(actor, format, intent));
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      return {
        outcome: 'rejected',
        reason: `${err.code}: ${err.message}`,
        topic: mapped.topic,
        orderExternalId: mapped.orderExternalId,
        createdOrder: steps.some((s) => s.createdOrder),
        error: err,
      };
    }
    const best = steps.reduce<Step>((a, s) => (RANK[s.outcome] > RANK[a.outcome] ? s : a), { outcome: 'ignored' });
    const reasons = [...new Set([...steps.map((s) => s.reason), ...(mapped.notes ?? [])].filter((r): r is string => !!r))];
    return {
      outcome: best.outcome,
      reason: reasons.length ? reasons.join('; ').slice(0, 1000) : null,
      topic: mapped.topic,
      orderExternalId: mapped.orderExternalId,
      createdOrder: steps.some((s) => s.createdOrder),
    };
  }

  /** Events that waited for this order, in the order they came. */
  async function applyDeferred(tenantId: string, format: IngestFormat, orderExternalId: string, log: IngestLog): Promise<void> {
    for (const row of await ingestRepo.deferred(db, tenantId, format, orderExternalId)) {
      if (!row.payload_enc) continue;
      try {
        const r = await process(tenantId, format, row.topic, keyring.decrypt(row.payload_enc), null, log);
        await ingestRepo.updateOutcome(db, row.id, { outcome: r.outcome, reason: r.reason, updated_at: clock.now() });
        log.info({ tenant_id: tenantId, format, delivery: row.delivery_id, outcome: r.outcome }, 'deferred webhook delivery applied with its order');
      } catch (err) {
        log.error({ err, tenant_id: tenantId, format, delivery: row.delivery_id }, 'a deferred webhook delivery failed; it stays deferred');
      }
    }
  }

  function deliveryView(r: {
    id: string;
    format: IngestFormat;
    topic: string | null;
    delivery_id: string;
    outcome: IngestOutcome;
    reason: string | null;
    order_external_id: string | null;
    attempts: number;
    payload_enc: string | null;
    received_at: Date;
    updated_at: Date;
  }): DeliveryView {
    return {
      id: r.id,
      format: r.format,
      topic: r.topic,
      delivery_id: r.delivery_id,
      outcome: r.outcome,
      reason: r.reason,
      order_external_id: r.order_external_id,
      attempts: r.attempts,
      has_payload: r.payload_enc !== null,
      received_at: r.received_at.toISOString(),
      updated_at: r.updated_at.toISOString(),
    };
  }

  return {
    /**
     * A purchase order's payment, from the channel that collected it (or the merchant's payment
     * backend relaying it), signed as generic order webhooks are, with the tenant's generic secret:
     * 401 for a bad signature, 400 for a body that is not one or an amount that is not the order's,
     * 404 for an unknown order, 409 for one already paid under another reference; the same payment
     * again answers as the first time.
     */
    async purchasePayment(input: { tenantId: string; headers: Headers; raw: Buffer; requestId: string | null; log: IngestLog }): Promise<PurchaseOrderView> {
      const { tenantId, headers, raw, log } = input;
      const now = clock.now();
      const secrets = await secretsOf(tenantId, 'generic', now);
      const verdict: Verdict =
        secrets.length === 0
          ? { ok: false, reason: 'no generic secret (or no such active tenant)', zh: '没有通用 Webhook 密钥（或没有这个有效商户）' }
          : verifyGeneric({
              timestamp: header(headers, 'x-fenxiao-timestamp'),
              signature: header(headers, 'x-fenxiao-signature'),
              raw,
              secrets,
              nowMs: now.getTime(),
              toleranceSeconds: TIMESTAMP_TOLERANCE_SECONDS,
            });
      if (!verdict.ok) {
        log.warn({ tenant_id: tenantId, reason: verdict.reason }, 'purchase payment callback refused');
        throw new AppError('unauthorized', { en: 'invalid webhook signature', zh: 'Webhook 签名无效' });
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw invalid({ en: 'the body is not JSON', zh: '请求体不是 JSON' });
      }
      let payment: Static<typeof PurchasePaymentCallback>;
      try {
        payment = checkPurchasePayment(body);
      } catch (err) {
        // The rule broken, in both languages (core/validation-text.ts), as the HTTP layer says it.
        if (err instanceof MappingError) throw invalid(err.text);
        throw err;
      }
      return agents.payPurchaseOrder(actorFor(tenantId, 'purchase_payment_callback', input.requestId), payment.purchase_order_id, payment.reference, {
        amount_fen: payment.amount_fen,
      });
    },

    /**
     * A purchase order paid through WeChat Pay or Alipay, told by the channel's own notification
     * (out_trade_no = the purchase order id). Same effect as the generic callback: the first
     * payment marks it paid and adds the stock, the same payment again changes nothing, anything
     * else is refused with nothing written. A notification of a payment that did not complete is
     * acknowledged, so the channel stops sending it, and ignored.
     */
    async channelPurchasePayment(input: {
      tenantId: string;
      channel: PaymentChannelName;
      headers: Headers;
      raw: Buffer;
      requestId: string | null;
      log: IngestLog;
    }): Promise<ChannelPaymentAnswer> {
      const { tenantId, channel, log } = input;
      const context = { tenant_id: tenantId, channel };
      // The caller hears what it could know anyway; why a signature failed, or that a channel is
      // not configured here, goes to the log only.
      const refuse = (status: ChannelRefusalStatus, answer: string, reason: string): ChannelPaymentAnswer => {
        log.warn({ ...context, status, reason }, 'purchase payment notification refused');
        return { ok: false, status, reason: answer };
      };
      let notice: PaymentNotification;
      try {
        if (channel === 'wechat') {
          if (!deps.paymentChannels?.wechat) return refuse(404, 'not found', 'WeChat Pay is not configured on this deployment');
          notice = await deps.paymentChannels.wechat.verifyPayment(input.headers, input.raw);
        } else {
          if (!deps.paymentChannels?.alipay) return refuse(404, 'not found', 'Alipay is not configured on this deployment');
          notice = await deps.paymentChannels.alipay.verifyPayment(input.raw);
        }
      } catch (err) {
        if (err instanceof CallbackRejected) return refuse(401, 'the notification does not verify', err.message);
        throw err;
      }
      const about = { ...context, purchase_order_id: notice.outTradeNo, reference: notice.transactionId ?? null, state: notice.state };
      if (!notice.paid || notice.transactionId === undefined || notice.amountFen === undefined) {
        log.info(about, 'purchase payment notification acknowledged: no payment in it');
        return { ok: true };
      }
      try {
        const po = await agents.payPurchaseOrder(actorFor(tenantId, `purchase_payment:${channel}`, input.requestId), notice.outTradeNo, notice.transactionId, {
          amount_fen: notice.amountFen,
        });
        log.info({ ...about, amount_fen: notice.amountFen, paid_at: po.paid_at }, 'purchase payment notification accepted');
        return { ok: true };
      } catch (err) {
        if (!(err instanceof AppError) || err.status >= 500) throw err;
        log.warn(
          { ...about, amount_fen: notice.amountFen, status: err.status, reason: `${err.code}: ${err.message}` },
          'purchase payment notification refused',
        );
        return { ok: false, status: refusalStatus(err.status), reason: err.message };
      }
    },

    /**
     * One webhook delivery: 401 for a bad signature (nothing stored), 400 for a payload that
     * cannot be mapped, 2xx otherwise, the same answer again for a delivery already handled.
     */
    async receive(input: {
      tenantId: string;
      format: IngestFormat;
      headers: Headers;
      raw: Buffer;
      requestId: string | null;
      log: IngestLog;
    }): Promise<{ status: 200 | 202; answer: WebhookAnswer }> {
      const { tenantId, format, headers, raw, log } = input;
      const now = clock.now();
      // WooCommerce pings a new webhook's URL with an unsigned form body; answering 2xx lets the
      // merchant save it. Nothing is read or stored.
      if (format === 'woocommerce' && !header(headers, 'x-wc-webhook-signature') && /^webhook_id=\d{1,20}$/.test(raw.toString('latin1').trim())) {
        return { status: 200, answer: { delivery_id: 'ping', outcome: 'ignored', topic: 'ping', order_external_id: null, message: 'ping' } };
      }

      const secrets = await secretsOf(tenantId, format, now);
      let verdict: Verdict;
      let signatureId: string | undefined;
      if (secrets.length === 0) {
        verdict = { ok: false, reason: 'no secret for this format (or no such active tenant)', zh: '没有此格式的密钥（或没有这个有效商户）' };
      } else if (format === 'generic') {
        const signature = header(headers, 'x-fenxiao-signature');
        verdict = verifyGeneric({
          timestamp: header(headers, 'x-fenxiao-timestamp'),
          signature,
          raw,
          secrets,
          nowMs: now.getTime(),
          toleranceSeconds: TIMESTAMP_TOLERANCE_SECONDS,
        });
        signatureId = signature?.split(',')[0]?.trim().slice(3, 43).toLowerCase();
      } else if (format === 'shopify') {
        verdict = verifyBase64Body({ header: header(headers, 'x-shopify-hmac-sha256'), headerName: 'X-Shopify-Hmac-Sha256', raw, secrets });
      } else {
        verdict = verifyBase64Body({ header: header(headers, 'x-wc-webhook-signature'), headerName: 'X-WC-Webhook-Signature', raw, secrets });
      }
      if (!verdict.ok) {
        log.warn({ tenant_id: tenantId, format, reason: verdict.reason }, 'webhook refused');
        // One answer whatever the cause: a caller learns nothing about tenants or secrets.
        throw new AppError('unauthorized', { en: 'invalid webhook signature', zh: 'Webhook 签名无效' });
      }

      const given =
        format === 'generic'
          ? header(headers, 'x-fenxiao-delivery-id')
          : format === 'shopify'
            ? (header(headers, 'x-shopify-webhook-id') ?? header(headers, 'x-shopify-event-id'))
            : header(headers, 'x-wc-webhook-delivery-id');
      // Without an id of the platform's, the signature (generic: it covers the timestamp) or the
      // body's hash stands for the delivery: a replay of the same bytes is the same delivery.
      const deliveryId =
        given && PRINTABLE_ID.test(given)
          ? given
          : signatureId
            ? `sig:${signatureId}`
            : `sha256:${createHash('sha256').update(raw).digest('hex').slice(0, 40)}`;
      const topicHeader =
        format === 'shopify' ? header(headers, 'x-shopify-topic') : format === 'woocommerce' ? header(headers, 'x-wc-webhook-topic') : undefined;

      const prior = await ingestRepo.findDelivery(db, tenantId, format, deliveryId);
      if (prior && FINAL.includes(prior.outcome)) {
        await ingestRepo.countAttempt(db, prior.id, now);
        return {
          status: 200,
          answer: {
            delivery_id: deliveryId,
            outcome: 'duplicate',
            topic: prior.topic,
            order_external_id: prior.order_external_id,
            message: `already handled: ${prior.outcome}`,
          },
        };
      }

      const text = raw.toString('utf8');
      const row = (r: Pick<Processed, 'outcome' | 'reason' | 'topic' | 'orderExternalId'>): Insertable<IngestDeliveriesTable> => ({
        id: `whd_${ulid(now.getTime())}`,
        tenant_id: tenantId,
        format,
        topic: r.topic ?? topicHeader ?? null,
        delivery_id: deliveryId,
        outcome: r.outcome,
        reason: r.reason,
        order_external_id: r.orderExternalId,
        payload_enc: keyring.encrypt(text),
        received_at: now,
        updated_at: clock.now(),
      });

      let result: Processed;
      if ((format === 'shopify' || format === 'woocommerce') && !topicHeader) {
        const header = format === 'shopify' ? 'X-Shopify-Topic' : 'X-WC-Webhook-Topic';
        const reason = `missing ${header}`;
        result = {
          outcome: 'rejected',
          reason,
          topic: null,
          orderExternalId: null,
          createdOrder: false,
          error: invalid({ en: reason, zh: `缺少 ${header} 请求头` }),
        };
      } else {
        try {
          result = await process(tenantId, format, topicHeader ?? null, text, input.requestId, log);
        } catch (err) {
          await ingestRepo
            .recordDelivery(db, row({ outcome: 'failed', reason: 'internal error', topic: topicHeader ?? null, orderExternalId: null }))
            .catch(() => {});
          throw err;
        }
      }
      await ingestRepo.recordDelivery(db, row(result));
      log.info(
        {
          tenant_id: tenantId,
          format,
          topic: result.topic,
          delivery: deliveryId,
          outcome: result.outcome,
          reason: result.reason,
          order: result.orderExternalId,
        },
        'webhook delivery',
      );
      if (result.createdOrder && result.orderExternalId) await applyDeferred(tenantId, format, result.orderExternalId, log);
      await prunePayloads(tenantId, now, log);
      if (result.error) throw result.error;
      const outcome = result.outcome as WebhookAnswer['outcome'];
      return {
        status: outcome === 'deferred' ? 202 : 200,
        answer: { delivery_id: deliveryId, outcome, topic: result.topic, order_external_id: result.orderExternalId, message: result.reason },
      };
    },

    async settings(actor: Actor): Promise<WebhookSettingsView> {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      const now = clock.now();
      const rows = new Map((await ingestRepo.listSecrets(db, tenantId)).map((r) => [r.format, r]));
      return {
        formats: INGEST_FORMATS.map((format) => {
          const r = rows.get(format);
          return {
            format,
            configured: !!r,
            secret_hint: r ? `…${r.hint}` : null,
            created_at: r?.created_at.toISOString() ?? null,
            previous_valid_until:
              r?.previous_secret_enc && r.previous_valid_until && r.previous_valid_until > now ? r.previous_valid_until.toISOString() : null,
            endpoint: endpoint(tenantId, format),
          };
        }),
        timestamp_tolerance_seconds: TIMESTAMP_TOLERANCE_SECONDS,
      };
    },

    /**
     * Creates or rotates a format's signing secret, shown once. The previous one keeps verifying
     * for a day (the sender's side changes at its own pace) unless revoked now.
     */
    async rotateSecret(actor: Actor, body: RotateSecretBody) {
      requirePermission(actor.principal, 'keys:write');
      const tenantId = tenantOf(actor.principal);
      const secret = body.secret ?? SECRET_PREFIX + randomToken(32);
      const now = clock.now();
      const previousValidUntil = new Date(now.getTime() + PREVIOUS_SECRET_GRACE_MS);
      let keptPrevious = false;
      await inTransaction(db, async (tx) => {
        const before = (await ingestRepo.listSecrets(tx, tenantId)).find((r) => r.format === body.format);
        keptPrevious = !!before && body.revoke_previous !== true;
        await ingestRepo.upsertSecret(tx, {
          id: `whs_${ulid()}`,
          tenant_id: tenantId,
          format: body.format,
          secret_enc: keyring.encrypt(secret),
          hint: secret.slice(-4),
          created_at: now,
          previous_secret_enc: keptPrevious && before ? before.secret_enc : null,
          previous_valid_until: keptPrevious ? previousValidUntil : null,
        });
        await audit.record(tx, actor, {
          action: before ? 'webhooks.secret.rotate' : 'webhooks.secret.create',
          targetType: 'webhook_secret',
          targetId: body.format,
          before: before ? { created_at: before.created_at.toISOString() } : null,
          after: {
            created_at: now.toISOString(),
            provided: body.secret !== undefined,
            previous_valid_until: keptPrevious ? previousValidUntil.toISOString() : null,
          },
        });
      });
      return {
        format: body.format,
        secret,
        created_at: now.toISOString(),
        previous_valid_until: keptPrevious ? previousValidUntil.toISOString() : null,
        endpoint: endpoint(tenantId, body.format),
      };
    },

    async listDeliveries(
      actor: Actor,
      q: {
        format?: IngestFormat | undefined;
        outcome?: IngestOutcome | undefined;
        order_external_id?: string | undefined;
        cursor?: string | undefined;
        limit: number;
      },
    ) {
      requirePermission(actor.principal, 'read');
      const rows = await ingestRepo.list(db, tenantOf(actor.principal), {
        ...(q.format ? { format: q.format } : {}),
        ...(q.outcome ? { outcome: q.outcome } : {}),
        ...(q.order_external_id ? { orderExternalId: q.order_external_id } : {}),
        ...(q.cursor ? { beforeId: q.cursor } : {}),
        limit: q.limit + 1,
      });
      const page = rows.slice(0, q.limit);
      return { items: page.map(deliveryView), next_cursor: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null };
    },

    /**
     * Runs a recorded delivery again (after a mapping fix, or for an event whose order came by
     * another way). It was authenticated when received; effects stay idempotent.
     */
    async replay(actor: Actor, id: string, log: IngestLog): Promise<DeliveryView> {
      requirePermission(actor.principal, 'orders:write');
      const tenantId = tenantOf(actor.principal);
      const row = await ingestRepo.getDelivery(db, tenantId, id);
      if (!row) throw notFound('delivery');
      if (!row.payload_enc) throw invalid({ en: "this delivery's payload is no longer kept", zh: '该推送记录的内容已不再保存' });
      const r = await process(tenantId, row.format, row.topic, keyring.decrypt(row.payload_enc), actor.requestId, log);
      const now = clock.now();
      await ingestRepo.updateOutcome(db, row.id, { outcome: r.outcome, reason: r.reason, updated_at: now });
      await ingestRepo.countAttempt(db, row.id, now);
      if (r.createdOrder && r.orderExternalId) await applyDeferred(tenantId, row.format, r.orderExternalId, log);
      const replayed = await ingestRepo.getDelivery(db, tenantId, id);
      if (!replayed) throw new Error(`delivery ${id} vanished while it was replayed`);
      return deliveryView(replayed);
    },

    // ------------------------------------------------------------ shared with the queue consumer

    tenantActive: (tenantId: string) => ingestRepo.tenantActive(db, tenantId),

    /** RabbitMQ's signed mode: the message body's HMAC with the tenant's generic secret. */
    async verifyMessage(tenantId: string, raw: Buffer, signature: string | undefined): Promise<Verdict> {
      const secrets = await secretsOf(tenantId, 'generic', clock.now());
      if (secrets.length === 0)
        return { ok: false, reason: 'the tenant has no generic webhook secret to verify messages with', zh: '商户没有用于校验消息的通用 Webhook 密钥' };
      return verifyMessage({ signature, raw, secrets });
    },

    actorFor,
  };
}

export type IngestService = ReturnType<typeof createIngestService>;

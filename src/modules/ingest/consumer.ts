import { AppError, fromPgError, isDatabaseUnavailable, isRetryableTxError } from '../../core/errors.ts';
import type { BrokerMessage, Disposition, MessageHandler, OrderEventSource } from '../../adapters/broker/types.ts';
import type { OrdersService } from '../orders/service.ts';
import { MappingError } from './formats/types.ts';
import { EventMessage, OrderMessage, type QueueMessage } from './schema.ts';
import type { IngestLog, IngestService } from './service.ts';
import { validator } from './validate.ts';

const checkOrder = validator(OrderMessage, 'message');
const checkEvent = validator(EventMessage, 'message');
const PRINTABLE_ID = /^[\x21-\x7e]{1,128}$/;

/** Reads and checks a message: JSON, then exactly the schema of the API route it stands for. */
export function parseQueueMessage(content: Buffer): QueueMessage {
  let value: unknown;
  try {
    value = JSON.parse(content.toString('utf8'));
  } catch {
    throw new MappingError({ en: 'the message is not JSON', zh: '消息不是 JSON' });
  }
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  if (type === 'order') return checkOrder(value);
  if (type === 'event') return checkEvent(value);
  throw new MappingError({ en: 'message/type must be "order" or "event"', zh: 'message/type 须为 "order" 或 "event"' });
}

/**
 * The handler of order messages from RabbitMQ (or the in-process queue): the same schemas and
 * the same OrdersService calls as POST /v1/orders and POST /v1/orders/{id}/events, as a system
 * principal of the message's tenant.
 *
 * Exactly once, on top of at-least-once delivery: an order counts once by its external_id; an
 * event by its idempotency key: `idempotency_key`, else the AMQP message_id, else, for shipped,
 * received and cancelled (which happen once in an order's life), the event type itself. A
 * refund without a key is dead-lettered: a redelivery would refund twice.
 *
 * `signed`: when the broker is shared with parties that must not act for each other's tenants,
 * each message carries `x-fenxiao-signature: v1=<hex HMAC-SHA256 of the body>` under the tenant's
 * generic webhook secret; otherwise the broker's own permissions are the authentication.
 */
export function createOrderMessageHandler(deps: { orders: OrdersService; ingest: IngestService; signed: boolean; log: IngestLog }): MessageHandler {
  const { orders, ingest, log } = deps;
  const handle = async (m: BrokerMessage): Promise<Disposition> => {
    let msg: QueueMessage;
    try {
      msg = parseQueueMessage(m.content);
    } catch (err) {
      if (err instanceof MappingError) return { action: 'dead', reason: err.message };
      throw err;
    }
    if (!(await ingest.tenantActive(msg.tenant_id))) return { action: 'dead', reason: `no active tenant ${msg.tenant_id}` };
    if (deps.signed) {
      const verdict = await ingest.verifyMessage(msg.tenant_id, m.content, m.headers['x-fenxiao-signature']);
      if (!verdict.ok) return { action: 'dead', reason: `signature: ${verdict.reason}` };
    }
    const actor = ingest.actorFor(msg.tenant_id, 'queue', m.messageId && PRINTABLE_ID.test(m.messageId) ? m.messageId : null);
    try {
      if (msg.type === 'order') {
        const r = await orders.create(actor, msg.body);
        log.info(
          { tenant_id: msg.tenant_id, order: msg.body.external_id, created: r.created, attempt: m.attempt, redelivered: m.redelivered },
          'order message applied',
        );
        return { action: 'ack' };
      }
      const key =
        msg.idempotency_key ??
        (m.messageId && PRINTABLE_ID.test(m.messageId) ? m.messageId : undefined) ??
        (msg.body.type === 'refunded' ? undefined : `queue:${msg.body.type}`);
      if (key === undefined)
        return { action: 'dead', reason: 'a refunded event needs an idempotency_key (or an AMQP message_id): without one a redelivery would refund twice' };
      await orders.event(actor, msg.order_external_id, msg.body, key);
      log.info(
        { tenant_id: msg.tenant_id, order: msg.order_external_id, event: msg.body.type, attempt: m.attempt, redelivered: m.redelivered },
        'order event message applied',
      );
      return { action: 'ack' };
    } catch (err) {
      // The event's order may still be on its way (another message, another consumer): retry.
      if (err instanceof AppError && err.code === 'not_found')
        return { action: 'retry', reason: `order ${msg.type === 'event' ? msg.order_external_id : ''} not found (yet)` };
      if (err instanceof AppError && err.status < 500) return { action: 'dead', reason: `${err.code}: ${err.message}` };
      const pg = fromPgError(err);
      if (pg && !isRetryableTxError(err)) return { action: 'dead', reason: `${pg.code}: ${pg.message}` };
      // Anything else (a deadlock after the transaction's own retries): later, as an attempt.
      throw err;
    }
  };
  // The database away (a restart, a failover) is no fault of the message, wherever it struck (the
  // tenant lookup, the order's transaction, even its COMMIT, whose outcome is then unknown: the
  // redelivery counts once by the order's external_id or the event's key). Requeued for as long
  // as it lasts, never dead-lettered for it.
  return async (m: BrokerMessage): Promise<Disposition> => {
    try {
      return await handle(m);
    } catch (err) {
      if (isDatabaseUnavailable(err) || (err instanceof AppError && err.code === 'service_unavailable')) {
        return { action: 'requeue', reason: `the database is unavailable: ${err instanceof Error ? err.message : String(err)}` };
      }
      throw err;
    }
  };
}

/** The consumer a server runs: its source and handler, started and stopped with the process. */
export interface OrderConsumer {
  source: OrderEventSource;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createOrderConsumer(source: OrderEventSource, handler: MessageHandler): OrderConsumer {
  let started = false;
  return {
    source,
    async start() {
      if (started) return;
      started = true;
      await source.start(handler);
    },
    async stop() {
      started = false;
      await source.stop();
    },
  };
}

import type { CreateOrderBody } from '../../orders/schema.ts';
import { decimalToFen } from './money.ts';
import {
  clientIp,
  idString,
  inviteCodeOfUrl,
  isObject,
  isoTime,
  MappingError,
  optionalIdString,
  positiveInt,
  text,
  usableInviteCode,
  type Intent,
  type JsonObject,
  type Mapped,
} from './types.ts';

export const WOOCOMMERCE_TOPICS = ['order.created', 'order.updated'] as const;

const arr = (v: unknown): JsonObject[] => (Array.isArray(v) ? v.filter(isObject) : []);

/** A line's SKU, else its product (and variation): the same name every time the order is sent. */
export function wooLineSku(line: JsonObject): string {
  const sku = typeof line.sku === 'string' ? line.sku.trim() : '';
  if (sku !== '') return sku;
  const product = optionalIdString(line.product_id);
  const variation = optionalIdString(line.variation_id);
  if (product) return variation ? `product:${product}:${variation}` : `product:${product}`;
  return `line:${idString(line.id, 'line_items[].id')}`;
}

function metaValue(order: JsonObject, keys: string[]): string | undefined {
  const m = arr(order.meta_data).find((e) => typeof e.key === 'string' && keys.includes(e.key));
  return m && typeof m.value === 'string' && m.value.trim() !== '' ? m.value.trim() : undefined;
}

/**
 * The invite code: order meta `invite_code` (a checkout field or plugin writes it), else the
 * `invite_code` parameter of the landing page WooCommerce's order attribution recorded.
 */
function inviteCode(order: JsonObject, notes: string[]): string | undefined {
  return usableInviteCode(
    metaValue(order, ['invite_code', '_invite_code']) ?? inviteCodeOfUrl(metaValue(order, ['_wc_order_attribution_session_entry'])),
    notes,
  );
}

/**
 * The order as Fenxiao records it. A WooCommerce line's `total` is after its discounts (coupons
 * included) and before tax whatever the shop's tax display: it is what the line paid. The unit
 * price is `subtotal` (before discounts) over the quantity, rounded to the fen.
 */
export function wooOrder(order: JsonObject): { body: CreateOrderBody; notes: string[] } {
  const notes: string[] = [];
  const externalId = idString(order.id, 'id');
  const items = arr(order.line_items)
    .map((line, k) => ({ line, k }))
    .filter(({ line }) => line.quantity !== 0)
    .map(({ line, k }) => {
      const where = `line_items[${k}]`;
      const quantity = positiveInt(line.quantity, `${where}.quantity`);
      if (quantity < 1) throw new MappingError({ en: `${where}.quantity must be at least 1`, zh: `${where}.quantity 至少为 1` });
      const paid = decimalToFen(line.total, `${where}.total`);
      const subtotal = line.subtotal === undefined ? paid : decimalToFen(line.subtotal, `${where}.subtotal`);
      if (paid < 0 || subtotal < 0) throw new MappingError({ en: `${where} has a negative amount`, zh: `${where} 的金额为负数` });
      // Half up, in integers: (2 × subtotal + quantity) ÷ (2 × quantity).
      const unit = Math.floor((2 * subtotal + quantity) / (2 * quantity));
      return { sku: wooLineSku(line), quantity, unit_price_fen: unit, paid_fen: paid };
    });
  if (items.length === 0) throw new MappingError({ en: 'the order has no line items', zh: '订单没有商品行' });
  const customerId = optionalIdString(order.customer_id);
  const code = inviteCode(order, notes);
  const paidAt = isoTime(order.date_paid_gmt, true) ?? isoTime(order.date_created_gmt, true) ?? isoTime(order.date_paid) ?? isoTime(order.date_created);
  const ip = clientIp(order.customer_ip_address);
  const shipping = order.shipping_total === undefined ? 0 : decimalToFen(order.shipping_total, 'shipping_total');
  const tax = order.total_tax === undefined ? 0 : decimalToFen(order.total_tax, 'total_tax');
  const body: CreateOrderBody = {
    external_id: externalId,
    // customer_id 0 is a guest: each guest order is its own buyer, bound to no one.
    buyer_external_id: customerId ?? `woocommerce-guest:${externalId}`,
    items,
    shipping_fen: Math.max(0, shipping),
    tax_fen: Math.max(0, tax),
    ...(code ? { invite_code: code } : {}),
    ...(paidAt ? { paid_at: paidAt } : {}),
    ...(ip ? { client_ip: ip } : {}),
  };
  return { body, notes };
}

/**
 * Partial refunds: WooCommerce's order carries each refund's id and total only (shipping and tax
 * refunded included), so each new refund is applied by amount, capped at what the order still
 * has paid; its id keeps it from counting twice however often the order is sent again.
 */
function wooRefunds(order: JsonObject, orderExternalId: string): Intent[] {
  return arr(order.refunds).map((r, k): Intent => {
    const id = idString(r.id, `refunds[${k}].id`);
    const fen = Math.abs(decimalToFen(r.total, `refunds[${k}].total`));
    const reason = text(r.reason, 500);
    if (fen === 0) return { kind: 'ignore', reason: `refund ${id} is of 0` };
    return {
      kind: 'refund_amount',
      orderExternalId,
      refundFen: fen,
      idempotencyKey: `woocommerce:refund:${id}`,
      unknownOrder: 'ignore',
      ...(reason ? { reason } : {}),
    };
  });
}

/**
 * order.created and order.updated carry the whole order; what Fenxiao does follows its status:
 * processing → a paid order; completed → paid and shipped (the buyer's receipt starts the freeze
 * days; the auto-receipt job confirms it when the shop never does); refunded → whatever remains
 * refunded; cancelled → cancelled; pending, on-hold, failed and drafts → nothing yet. Refunds
 * listed on a processing or completed order are applied once each.
 */
export function mapWooCommerce(topic: string, payload: unknown): Mapped {
  if (!isObject(payload)) throw new MappingError({ en: 'body must be a JSON object', zh: '请求体须为 JSON 对象' });
  if (!(WOOCOMMERCE_TOPICS as readonly string[]).includes(topic)) {
    return {
      topic,
      orderExternalId: optionalIdString(payload.id) ?? null,
      intents: [{ kind: 'ignore', reason: `topic ${topic.slice(0, 64)} is not one Fenxiao acts on` }],
    };
  }
  const id = idString(payload.id, 'id');
  const status = typeof payload.status === 'string' ? payload.status : '';
  switch (status) {
    case 'processing': {
      const { body, notes } = wooOrder(payload);
      return { topic, orderExternalId: id, intents: [{ kind: 'order', body }, ...wooRefunds(payload, id)], notes };
    }
    case 'completed': {
      const { body, notes } = wooOrder(payload);
      const at = isoTime(payload.date_completed_gmt, true) ?? isoTime(payload.date_completed);
      return {
        topic,
        orderExternalId: id,
        notes,
        intents: [
          { kind: 'order', body },
          {
            kind: 'event',
            orderExternalId: id,
            idempotencyKey: 'woocommerce:completed',
            unknownOrder: 'ignore',
            body: { type: 'shipped', ...(at ? { at } : {}) },
          },
          ...wooRefunds(payload, id),
        ],
      };
    }
    case 'refunded':
      return {
        topic,
        orderExternalId: id,
        intents: [
          {
            kind: 'refund_amount',
            orderExternalId: id,
            refundFen: null,
            idempotencyKey: 'woocommerce:refunded',
            unknownOrder: 'ignore',
            reason: 'order refunded',
          },
        ],
      };
    case 'cancelled':
      return {
        topic,
        orderExternalId: id,
        intents: [{ kind: 'event', orderExternalId: id, idempotencyKey: 'woocommerce:cancelled', unknownOrder: 'ignore', body: { type: 'cancelled' } }],
      };
    default:
      return { topic, orderExternalId: id, intents: [{ kind: 'ignore', reason: `status ${status.slice(0, 32) || '(none)'}: not paid` }] };
  }
}

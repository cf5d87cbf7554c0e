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

/** The topics Fenxiao subscribes to; any other topic is answered 200 and ignored. */
export const SHOPIFY_TOPICS = ['orders/paid', 'orders/fulfilled', 'refunds/create', 'orders/cancelled'] as const;

const arr = (v: unknown): JsonObject[] => (Array.isArray(v) ? v.filter(isObject) : []);

/** An amount in the shop's currency: `<field>_set.shop_money.amount`, else the plain field. */
function shopMoney(o: JsonObject, field: string, label: string): number | undefined {
  const set = o[`${field}_set`];
  if (isObject(set) && isObject(set.shop_money) && set.shop_money.amount !== undefined) return decimalToFen(set.shop_money.amount, label);
  const plain = o[field];
  if (plain === undefined || plain === null || plain === '') return undefined;
  return decimalToFen(plain, label);
}

/**
 * A line's SKU; lines without one (common in Shopify) are named by their variant, so a refund
 * of the line (whose refund_line_items carry the same line_item) finds the same name.
 */
export function shopifyLineSku(line: JsonObject): string {
  const sku = typeof line.sku === 'string' ? line.sku.trim() : '';
  if (sku !== '') return sku;
  const variant = optionalIdString(line.variant_id);
  if (variant) return `variant:${variant}`;
  const product = optionalIdString(line.product_id);
  if (product) return `product:${product}`;
  return `line:${idString(line.id, 'line_items[].id')}`;
}

/**
 * What a line paid, in fen: price × quantity less its share of every discount
 * (discount_allocations, which include order-level discounts spread over the lines), less its
 * taxes when the shop's prices include tax. Shipping is on shipping_lines, never here.
 */
export function shopifyLinePaid(line: JsonObject, taxesIncluded: boolean, where: string): { unit: number; quantity: number; paid: number } {
  const quantity = positiveInt(line.quantity, `${where}.quantity`);
  const unit = shopMoney(line, 'price', `${where}.price`);
  if (unit === undefined || unit < 0) throw new MappingError({ en: `${where}.price is missing`, zh: `缺少 ${where}.price` });
  const allocations = Array.isArray(line.discount_allocations) ? arr(line.discount_allocations) : null;
  const discount =
    allocations !== null
      ? allocations.reduce((s, a, k) => s + (shopMoney(a, 'amount', `${where}.discount_allocations[${k}].amount`) ?? 0), 0)
      : (shopMoney(line, 'total_discount', `${where}.total_discount`) ?? 0);
  const tax = taxesIncluded ? arr(line.tax_lines).reduce((s, t, k) => s + (shopMoney(t, 'price', `${where}.tax_lines[${k}].price`) ?? 0), 0) : 0;
  const paid = unit * quantity - discount - tax;
  return { unit, quantity, paid: Math.max(0, paid) };
}

function inviteCode(order: JsonObject, notes: string[]): string | undefined {
  const attr = arr(order.note_attributes).find((a) => typeof a.name === 'string' && a.name.trim().toLowerCase() === 'invite_code');
  const fromAttr = attr && typeof attr.value === 'string' && attr.value.trim() !== '' ? attr.value.trim() : undefined;
  return usableInviteCode(fromAttr ?? inviteCodeOfUrl(order.landing_site), notes);
}

export function shopifyOrder(order: JsonObject): { body: CreateOrderBody; notes: string[] } {
  const notes: string[] = [];
  const externalId = idString(order.id, 'id');
  const taxesIncluded = order.taxes_included === true;
  const items = arr(order.line_items)
    .map((line, k) => ({ line, k }))
    .filter(({ line }) => line.quantity !== 0)
    .map(({ line, k }) => {
      const { unit, quantity, paid } = shopifyLinePaid(line, taxesIncluded, `line_items[${k}]`);
      return { sku: shopifyLineSku(line), quantity, unit_price_fen: unit, paid_fen: paid };
    });
  if (items.length === 0) throw new MappingError({ en: 'the order has no line items', zh: '订单没有商品行' });
  const customer = isObject(order.customer) ? optionalIdString(order.customer.id) : undefined;
  const shipping =
    shopMoney(order, 'total_shipping_price', 'total_shipping_price_set') ??
    arr(order.shipping_lines).reduce((s, l, k) => s + (shopMoney(l, 'price', `shipping_lines[${k}].price`) ?? 0), 0);
  const tax = shopMoney(order, 'total_tax', 'total_tax') ?? 0;
  const code = inviteCode(order, notes);
  const paidAt = isoTime(order.processed_at) ?? isoTime(order.created_at);
  const ip = clientIp(order.browser_ip) ?? (isObject(order.client_details) ? clientIp(order.client_details.browser_ip) : undefined);
  const body: CreateOrderBody = {
    external_id: externalId,
    // Guests have no customer id: each guest order is its own buyer, bound to no one.
    buyer_external_id: customer ?? `shopify-guest:${externalId}`,
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
 * A refund (refunds/create). With refund_line_items it is a refund of those lines and units, as
 * `items` of the refunded event: Fenxiao takes that share of each line's paid amount and
 * recomputes just those lines' commissions. Without (an amount refunded by hand) it is the
 * money returned by its refund transactions, less what went back as shipping, capped at what
 * the order still has paid.
 */
export function shopifyRefund(refund: JsonObject): { orderExternalId: string; intent: Intent } {
  const orderExternalId = idString(refund.order_id, 'order_id');
  const refundId = idString(refund.id, 'id');
  const key = `shopify:refund:${refundId}`;
  const at = isoTime(refund.processed_at) ?? isoTime(refund.created_at);
  const reason = text(refund.note, 500);
  const lines = arr(refund.refund_line_items).filter((r) => r.quantity !== 0);
  if (lines.length > 0) {
    const items = lines.map((r, k) => {
      const quantity = positiveInt(r.quantity, `refund_line_items[${k}].quantity`);
      if (quantity < 1) throw new MappingError({ en: `refund_line_items[${k}].quantity must be at least 1`, zh: `refund_line_items[${k}].quantity 至少为 1` });
      const line = isObject(r.line_item) ? r.line_item : null;
      if (!line) throw new MappingError({ en: `refund_line_items[${k}].line_item is missing`, zh: `缺少 refund_line_items[${k}].line_item` });
      return { sku: shopifyLineSku(line), quantity };
    });
    return {
      orderExternalId,
      intent: {
        kind: 'event',
        orderExternalId,
        idempotencyKey: key,
        unknownOrder: 'defer',
        body: { type: 'refunded', items, ...(at ? { at } : {}), ...(reason ? { reason } : {}) },
      },
    };
  }
  const returned = arr(refund.transactions)
    .filter((t) => t.kind === 'refund' && (t.status === undefined || t.status === 'success'))
    .reduce((s, t, k) => s + decimalToFen(t.amount, `transactions[${k}].amount`), 0);
  const shipping = arr(refund.order_adjustments)
    .filter((a) => a.kind === 'shipping_refund')
    .reduce(
      (s, a, k) =>
        s +
        Math.abs(shopMoney(a, 'amount', `order_adjustments[${k}].amount`) ?? 0) +
        Math.abs(shopMoney(a, 'tax_amount', `order_adjustments[${k}].tax_amount`) ?? 0),
      0,
    );
  const fen = returned - shipping;
  if (fen <= 0) return { orderExternalId, intent: { kind: 'ignore', reason: 'the refund returned no money for the goods (shipping only, or nothing)' } };
  return {
    orderExternalId,
    intent: {
      kind: 'refund_amount',
      orderExternalId,
      refundFen: fen,
      idempotencyKey: key,
      unknownOrder: 'defer',
      ...(at ? { at } : {}),
      ...(reason ? { reason } : {}),
    },
  };
}

/**
 * Shopify's webhook topics to intents. orders/paid records the order; orders/fulfilled is
 * `shipped`; refunds/create a refund; orders/cancelled `cancelled` (which refunds what remains).
 * Events for an order Fenxiao has not seen wait for it (Shopify delivers topics in no set order).
 */
export function mapShopify(topic: string, payload: unknown): Mapped {
  if (!isObject(payload)) throw new MappingError({ en: 'body must be a JSON object', zh: '请求体须为 JSON 对象' });
  switch (topic) {
    case 'orders/paid': {
      const { body, notes } = shopifyOrder(payload);
      return { topic, orderExternalId: body.external_id, intents: [{ kind: 'order', body }], notes };
    }
    case 'orders/fulfilled': {
      const id = idString(payload.id, 'id');
      const fulfillments = arr(payload.fulfillments);
      const at = isoTime(fulfillments[fulfillments.length - 1]?.created_at) ?? isoTime(payload.updated_at);
      return {
        topic,
        orderExternalId: id,
        intents: [
          { kind: 'event', orderExternalId: id, idempotencyKey: 'shopify:fulfilled', unknownOrder: 'defer', body: { type: 'shipped', ...(at ? { at } : {}) } },
        ],
      };
    }
    case 'refunds/create': {
      const { orderExternalId, intent } = shopifyRefund(payload);
      return { topic, orderExternalId, intents: [intent] };
    }
    case 'orders/cancelled': {
      const id = idString(payload.id, 'id');
      const at = isoTime(payload.cancelled_at);
      const reason = text(payload.cancel_reason, 500);
      return {
        topic,
        orderExternalId: id,
        intents: [
          {
            kind: 'event',
            orderExternalId: id,
            idempotencyKey: 'shopify:cancelled',
            unknownOrder: 'defer',
            body: { type: 'cancelled', ...(at ? { at } : {}), ...(reason ? { reason } : {}) },
          },
        ],
      };
    }
    default:
      return {
        topic,
        orderExternalId: optionalIdString(payload.id) ?? null,
        intents: [{ kind: 'ignore', reason: `topic ${topic.slice(0, 64)} is not one Fenxiao acts on` }],
      };
  }
}

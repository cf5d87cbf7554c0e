import { Type, type Static } from '@sinclair/typebox';
import { ExternalId, Fen, Nullable, SignedFen, Strict, Text, Timestamp } from '../../core/schema.ts';
import { InviteCodeInput, RegionCode } from '../distributors/schema.ts';

export const OrderItemInput = Strict({
  sku: Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
  quantity: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  unit_price_fen: Fen(),
  paid_fen: Fen({ description: 'what the buyer actually paid for this line: the commission base' }),
});

export const CreateOrderBody = Strict({
  external_id: ExternalId("the merchant's order id; the idempotency key"),
  buyer_external_id: ExternalId("the merchant's user id of the buyer"),
  invite_code: Type.Optional(InviteCodeInput),
  paid_at: Type.Optional(Timestamp()),
  status: Type.Optional(
    Type.Union([Type.Literal('paid'), Type.Literal('pending_payment')], {
      description:
        'pending_payment: the order is placed and awaits payment (待付款): no commission yet, no paid_at. It is paid by the same body again without status (or with status paid) and with the paid_at of the payment; it is closed unpaid by the event closed. Default: paid',
    }),
  ),
  items: Type.Array(OrderItemInput, { minItems: 1, maxItems: 500 }),
  shipping_fen: Type.Optional(Fen({ description: 'never part of the commission base' })),
  tax_fen: Type.Optional(Fen({ description: 'never part of the commission base' })),
  region_code: Type.Optional(RegionCode),
  fulfilled_by: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'an agent id: the order is served from its stock' })),
  client_ip: Type.Optional(Type.String({ minLength: 2, maxLength: 45, pattern: '^[0-9A-Fa-f:.]+$', description: "the buyer's IP, for risk rules" })),
  device_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$', description: "the buyer's device id, for risk rules" })),
});
export type CreateOrderBody = Static<typeof CreateOrderBody>;

export const CommissionLine = Strict({
  id: Type.String(),
  beneficiary_id: Type.String(),
  level: Type.Integer({ minimum: 0, maximum: 3 }),
  base_fen: SignedFen(),
  rate_bp: Type.Integer(),
  amount_fen: SignedFen(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('available'), Type.Literal('settled'), Type.Literal('reversed')]),
  kind: Type.Union(
    [Type.Literal('commission'), Type.Literal('clawback'), Type.Literal('territory'), Type.Literal('price_difference'), Type.Literal('adjustment')],
    {
      description:
        'adjustment: a month-end tier true-up raising a tier line to the bracket its beneficiary finally reached that month (program setting tier_true_up)',
    },
  ),
  rank: Type.Optional(
    Type.Union([Type.Literal('province'), Type.Literal('city'), Type.Literal('district')], { description: 'a territory line: its agent’s rank' }),
  ),
  order_external_id: Type.String(),
  sku: Nullable(Type.String()),
  rate_kind: Type.Union([Type.Literal('percent'), Type.Literal('fixed')]),
  fixed_fen: Type.Integer({ description: 'fixed rate: fen per unit' }),
  units: Type.Integer(),
  rate_source: Type.String(),
  rule_version: Type.Integer(),
  held: Type.Boolean(),
  clawback_of: Nullable(Type.String()),
  adjusts: Type.Optional(Type.String({ description: 'an adjustment line: the line it raises; absent on other lines' })),
  statement_id: Nullable(Type.String()),
  created_at: Timestamp(),
  pilot_id: Type.Optional(Type.String({ description: 'the pilot (灰度) whose changes this line was computed with; absent when none' })),
});
export type CommissionLine = Static<typeof CommissionLine>;

export const OrderItemView = Strict({
  position: Type.Integer(),
  sku: Type.String(),
  quantity: Type.Integer(),
  unit_price_fen: Type.Integer(),
  paid_fen: Type.Integer(),
  refunded_fen: Type.Integer(),
  refunded_quantity: Type.Integer(),
});

export const OrderView = Strict({
  id: Type.String(),
  external_id: Type.String(),
  status: Type.Union([
    Type.Literal('pending_payment'),
    Type.Literal('paid'),
    Type.Literal('shipped'),
    Type.Literal('received'),
    Type.Literal('completed'),
    Type.Literal('cancelled'),
    Type.Literal('refunded'),
    Type.Literal('closed'),
  ]),
  seller_id: Nullable(Type.String()),
  paid_fen: Type.Integer(),
  commissions: Type.Array(CommissionLine),
  buyer_external_id: Type.String(),
  refunded_fen: Type.Integer(),
  shipping_fen: Type.Integer(),
  tax_fen: Type.Integer(),
  chain: Type.Array(Type.String(), { description: 'the seller and its uplines, frozen when the order was paid' }),
  rule_version: Type.Integer(),
  attribution: Type.String({ description: 'how the seller was found' }),
  region_code: Type.Optional(Nullable(Type.String({ description: "the shipping address's GB/T 2260 code" }))),
  region_name: Type.Optional(Nullable(Type.String({ description: 'its name (广东省深圳市南山区)' }))),
  fulfilled_by: Type.Optional(Nullable(Type.String({ description: 'the agent whose stock served the order' }))),
  paid_at: Nullable(Timestamp('null while the order awaits payment, and when it was closed unpaid')),
  closed_at: Type.Optional(Nullable(Timestamp('when an unpaid order was closed (event closed)'))),
  shipped_at: Nullable(Timestamp()),
  received_at: Nullable(Timestamp()),
  completed_at: Nullable(Timestamp()),
  items: Type.Array(OrderItemView),
  tracking_carrier: Type.Optional(Nullable(Type.String({ description: 'the carrier of the tracking number (PUT /v1/orders/{external_id}/tracking)' }))),
  tracking_number: Type.Optional(Nullable(Type.String({ description: "the carrier's tracking number: its pushes move the order to shipped and received" }))),
});
export type OrderView = Static<typeof OrderView>;

export const TrackingBody = Strict({
  carrier: Text(40, { minLength: 1, description: 'the carrier code, e.g. shunfeng, zhongtong, yuantong (Kuaidi100 codes)' }),
  tracking_number: Text(64, { minLength: 4, pattern: '^[A-Za-z0-9-]+$', description: "the carrier's tracking number (运单号)" }),
});
export type TrackingBody = Static<typeof TrackingBody>;

export const OrderEventBody = Strict({
  type: Type.Union([Type.Literal('shipped'), Type.Literal('received'), Type.Literal('refunded'), Type.Literal('cancelled'), Type.Literal('closed')], {
    description: 'closed: an order awaiting payment (pending_payment) is closed unpaid; every other event needs a paid order',
  }),
  at: Type.Optional(Timestamp()),
  refund_fen: Type.Optional(Fen({ minimum: 1 })),
  items: Type.Optional(
    Type.Array(
      Strict({
        position: Type.Optional(Type.Integer({ minimum: 0, maximum: 499, description: "the line's index in the order's items" })),
        sku: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
        quantity: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
      }),
      { minItems: 1, maxItems: 500, description: 'refund by line and quantity instead of refund_fen' },
    ),
  ),
  reason: Type.Optional(Text(500)),
});
export type OrderEventBody = Static<typeof OrderEventBody>;

export const OrderListQuery = Strict({
  status: Type.Optional(
    Type.Union([
      Type.Literal('pending_payment'),
      Type.Literal('paid'),
      Type.Literal('shipped'),
      Type.Literal('received'),
      Type.Literal('completed'),
      Type.Literal('cancelled'),
      Type.Literal('refunded'),
      Type.Literal('closed'),
    ]),
  ),
  seller_id: Type.Optional(Type.String({ maxLength: 64 })),
  buyer_external_id: Type.Optional(Type.String({ maxLength: 128 })),
  from: Type.Optional(Timestamp()),
  to: Type.Optional(Timestamp()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
});

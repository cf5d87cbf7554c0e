import { regionFullName } from '../../lib/regions.ts';
import type { OrderStatus } from '../../db/schema.ts';
import type { CommissionRow, OrderItemRow, OrderRow } from './repo.ts';
import type { CommissionLine, OrderView } from './schema.ts';

/** Which account holds a line's money in each status. */
export function accountOfStatus(status: 'pending' | 'available' | 'settled'): 'pending' | 'available' | 'withdrawable' {
  return status === 'settled' ? 'withdrawable' : status;
}

/** The statuses an order may be in for each event. */
export const TRANSITIONS: Record<'shipped' | 'received' | 'cancelled' | 'refunded' | 'closed', OrderStatus[]> = {
  shipped: ['paid'],
  received: ['paid', 'shipped'],
  cancelled: ['paid', 'shipped'],
  refunded: ['paid', 'shipped', 'received', 'completed'],
  closed: ['pending_payment'],
};

/** A line's kind as the API names it: territory and price-difference lines are commission lines of agent mode. */
export function lineKind(c: {
  kind?: 'commission' | 'clawback' | 'adjustment' | undefined;
  rate_source: string;
  territory_rank?: 'province' | 'city' | 'district' | null | undefined;
}): { kind: CommissionLine['kind']; rank?: 'province' | 'city' | 'district' } {
  if (c.kind === 'clawback') return { kind: 'clawback' };
  if (c.kind === 'adjustment') return { kind: 'adjustment' };
  if (c.rate_source === 'territory' && c.territory_rank) return { kind: 'territory', rank: c.territory_rank };
  if (c.rate_source === 'price_difference') return { kind: 'price_difference' };
  return { kind: 'commission' };
}

export function commissionView(c: CommissionRow, orderExternalId: string, sku: string | null): CommissionLine {
  return {
    id: c.id,
    beneficiary_id: c.beneficiary_id,
    level: c.level,
    base_fen: c.base_fen,
    rate_bp: c.rate_bp,
    amount_fen: c.amount_fen,
    status: c.status,
    ...lineKind(c),
    order_external_id: orderExternalId,
    sku,
    rate_kind: c.rate_kind,
    fixed_fen: c.fixed_fen,
    units: c.units,
    rate_source: c.rate_source,
    rule_version: c.rule_version,
    held: c.held,
    clawback_of: c.clawback_of,
    ...(c.adjusts ? { adjusts: c.adjusts } : {}),
    statement_id: c.statement_id,
    created_at: c.created_at.toISOString(),
    ...(c.pilot_id ? { pilot_id: c.pilot_id } : {}),
  };
}

/**
 * The order as GET /v1/orders/{external_id} answers it, from its row, its items (by position) and
 * its lines (by level, creation, id). Every part is a new object, so an answer built from rows a
 * batch keeps changing stays as it was when it was built.
 */
export function orderViewOf(order: OrderRow, items: readonly OrderItemRow[], lines: readonly CommissionRow[]): OrderView {
  const skuOf = new Map(items.map((i) => [i.id, i.sku]));
  return {
    id: order.id,
    external_id: order.external_id,
    status: order.status,
    seller_id: order.seller_id,
    paid_fen: order.paid_fen,
    commissions: lines.map((c) => commissionView(c, order.external_id, c.order_item_id ? (skuOf.get(c.order_item_id) ?? null) : null)),
    buyer_external_id: order.buyer_external_id,
    refunded_fen: order.refunded_fen,
    shipping_fen: order.shipping_fen,
    tax_fen: order.tax_fen,
    chain: [...order.chain],
    rule_version: order.rule_version,
    attribution: order.attribution,
    region_code: order.region_code,
    region_name: regionFullName(order.region_code),
    fulfilled_by: order.fulfilled_by,
    paid_at: order.paid_at?.toISOString() ?? null,
    closed_at: order.closed_at?.toISOString() ?? null,
    shipped_at: order.shipped_at?.toISOString() ?? null,
    received_at: order.received_at?.toISOString() ?? null,
    completed_at: order.completed_at?.toISOString() ?? null,
    items: items.map((i) => ({
      position: i.position,
      sku: i.sku,
      quantity: i.quantity,
      unit_price_fen: i.unit_price_fen,
      paid_fen: i.paid_fen,
      refunded_fen: i.refunded_fen,
      refunded_quantity: i.refunded_quantity,
    })),
    tracking_carrier: order.tracking_carrier ?? null,
    tracking_number: order.tracking_number ?? null,
  };
}

import { describe, expect, it } from 'vitest';
import { decimalToFen } from './money.ts';
import { parseJsonPreservingIds } from './json.ts';
import { mapShopify } from './shopify.ts';
import { mapWooCommerce } from './woocommerce.ts';
import { mapGeneric } from './generic.ts';
import { MappingError } from './types.ts';
import {
  SHOPIFY_CUSTOMER_ID,
  SHOPIFY_ORDER_ID,
  shopifyAmountRefund,
  shopifyExpectedOrder,
  shopifyFulfilled,
  shopifyLineRefund,
  shopifyPaidOrder,
  wooExpectedOrder,
  wooOrder,
} from '../../../../test/support/webhooks.ts';

describe('decimal money to fen, by its digits', () => {
  it.each([
    ['19.90', 1990],
    ['19.9', 1990],
    ['0.01', 1],
    ['10', 1000],
    ['-5.00', -500],
    ['0.00', 0],
    ['-0.00', 0],
    ['1234567.89', 123456789],
    ['0.10', 10],
    ['4.35', 435],
    ['1.005', 101],
    ['1.004', 100],
    ['2.3449', 234],
    ['-1.005', -101],
    [19.9, 1990],
    [0.29, 29],
    [4.35, 435],
    [1.15, 115],
    [100, 10000],
  ] as const)('%s → %i', (input, fen) => {
    expect(decimalToFen(input, 'x')).toBe(fen);
  });

  it.each([['abc'], [''], ['1,00'], ['1e3'], ['$5'], [null], [undefined], [{}], [Number.NaN], [1e21], [1e-7], ['1.2.3'], [' ']])('%s is refused', (input) => {
    expect(() => decimalToFen(input, 'x')).toThrow(MappingError);
  });

  it('never goes through a float: 0.1 + 0.2 style values come out exact', () => {
    // 4.35 × 100 = 434.99999999999994 in floating point; by digits it is 435.
    expect(4.35 * 100).not.toBe(435);
    expect(decimalToFen('4.35', 'x')).toBe(435);
    expect(decimalToFen('1.15', 'x')).toBe(115);
  });
});

describe('JSON with ids beyond 2^53', () => {
  it('keeps big integers as their digits, leaves everything else to JSON.parse', () => {
    const v = parseJsonPreservingIds(
      '{"id":5678901234567890123,"n":-9007199254740993,"small":123,"f":1.5,"s":"9999999999999999999","a":[12345678901234567890],"e":1e300}',
    ) as Record<string, unknown>;
    expect(v).toEqual({
      id: '5678901234567890123',
      n: '-9007199254740993',
      small: 123,
      f: 1.5,
      s: '9999999999999999999',
      a: ['12345678901234567890'],
      e: 1e300,
    });
  });

  it('is not fooled by digits inside strings or escaped quotes', () => {
    const v = parseJsonPreservingIds('{"note":"a \\" 12345678901234567890 \\\\","id":12345678901234567890}') as Record<string, unknown>;
    expect(v).toEqual({ note: 'a " 12345678901234567890 \\', id: '12345678901234567890' });
  });

  it('refuses what is not JSON', () => {
    expect(() => parseJsonPreservingIds('{"a":')).toThrow(MappingError);
  });
});

describe('Shopify payloads', () => {
  it('orders/paid: paid price per line less discount allocations; tax, shipping out; ids exact', () => {
    const m = mapShopify('orders/paid', parseJsonPreservingIds(shopifyPaidOrder({ inviteCode: 'B-CODE' })));
    expect(m.orderExternalId).toBe(SHOPIFY_ORDER_ID);
    expect(m.intents).toEqual([{ kind: 'order', body: shopifyExpectedOrder(SHOPIFY_ORDER_ID, SHOPIFY_CUSTOMER_ID, 'B-CODE') }]);
  });

  it('takes the invite code from the landing page when no note attribute has one', () => {
    const m = mapShopify('orders/paid', parseJsonPreservingIds(shopifyPaidOrder({ landingSite: '/products/tee?utm_source=x&invite_code=LAND1' })));
    expect(m.intents[0]).toMatchObject({ kind: 'order', body: { invite_code: 'LAND1' } });
  });

  it('a guest order is its own buyer; a too-long invite code is left out with a note', () => {
    const m = mapShopify('orders/paid', parseJsonPreservingIds(shopifyPaidOrder({ customerId: null, inviteCode: 'X'.repeat(40) })));
    expect(m.intents[0]).toMatchObject({ kind: 'order', body: { buyer_external_id: `shopify-guest:${SHOPIFY_ORDER_ID}` } });
    expect((m.intents[0] as { body: object }).body).not.toHaveProperty('invite_code');
    expect(m.notes).toEqual(['invite code left out: not 1-32 printable characters']);
  });

  it("prices that include tax: the line's tax comes off its paid amount", () => {
    const m = mapShopify('orders/paid', parseJsonPreservingIds(shopifyPaidOrder({ taxesIncluded: true })));
    const items = (m.intents[0] as { body: { items: { paid_fen: number }[] } }).body.items;
    expect(items.map((i) => i.paid_fen)).toEqual([39800 - 3980 - 2149, 5990 - 599 - 324, 5970 - 301]);
  });

  it('refunds/create with lines: a refund of those units, keyed by the refund id', () => {
    const m = mapShopify('refunds/create', parseJsonPreservingIds(shopifyLineRefund()));
    expect(m).toEqual({
      topic: 'refunds/create',
      orderExternalId: SHOPIFY_ORDER_ID,
      intents: [
        {
          kind: 'event',
          orderExternalId: SHOPIFY_ORDER_ID,
          idempotencyKey: 'shopify:refund:929361464',
          unknownOrder: 'defer',
          body: { type: 'refunded', items: [{ sku: 'TEE-RED-M', quantity: 1 }], at: '2026-03-02T02:00:00.000Z', reason: '尺码不合适' },
        },
      ],
    });
  });

  it('refunds/create by amount: the transactions less the shipping refunded', () => {
    const m = mapShopify('refunds/create', parseJsonPreservingIds(shopifyAmountRefund()));
    expect(m.intents).toEqual([
      {
        kind: 'refund_amount',
        orderExternalId: SHOPIFY_ORDER_ID,
        refundFen: 3000,
        idempotencyKey: 'shopify:refund:929361999',
        unknownOrder: 'defer',
        at: '2026-03-03T02:00:00.000Z',
        reason: 'goodwill',
      },
    ]);
  });

  it('orders/fulfilled is shipped, orders/cancelled is cancelled; other topics are ignored', () => {
    expect(mapShopify('orders/fulfilled', parseJsonPreservingIds(shopifyFulfilled())).intents).toEqual([
      {
        kind: 'event',
        orderExternalId: SHOPIFY_ORDER_ID,
        idempotencyKey: 'shopify:fulfilled',
        unknownOrder: 'defer',
        body: { type: 'shipped', at: '2026-03-01T13:00:00.000Z' },
      },
    ]);
    expect(mapShopify('orders/cancelled', { id: 1, cancelled_at: '2026-03-01T00:00:00Z', cancel_reason: 'customer' }).intents).toEqual([
      {
        kind: 'event',
        orderExternalId: '1',
        idempotencyKey: 'shopify:cancelled',
        unknownOrder: 'defer',
        body: { type: 'cancelled', at: '2026-03-01T00:00:00.000Z', reason: 'customer' },
      },
    ]);
    expect(mapShopify('orders/updated', { id: 1 }).intents[0]!.kind).toBe('ignore');
  });

  it.each([
    ['not an object', []],
    ['no line items', { id: 1, line_items: [] }],
    ['a price that is not money', { id: 1, line_items: [{ id: 1, sku: 'a', quantity: 1, price: 'free' }] }],
    ['no id', { line_items: [{ id: 1, sku: 'a', quantity: 1, price: '1.00' }] }],
    ['a fractional quantity', { id: 1, line_items: [{ id: 1, sku: 'a', quantity: 1.5, price: '1.00' }] }],
  ])('orders/paid with %s cannot be mapped', (_what, payload) => {
    expect(() => mapShopify('orders/paid', payload)).toThrow(MappingError);
  });
});

describe('WooCommerce payloads', () => {
  it('processing: line totals are after coupons and before tax; meta invite_code', () => {
    const m = mapWooCommerce('order.created', wooOrder({ inviteCode: 'B-CODE' }));
    expect(m.intents).toEqual([{ kind: 'order', body: wooExpectedOrder('727', '26', 'B-CODE') }]);
  });

  it('refunds listed on the order become refunds by amount, once each by their id', () => {
    const m = mapWooCommerce('order.updated', wooOrder({ refunds: [{ id: 901, total: '-25.00' }] }));
    expect(m.intents.slice(1)).toEqual([
      { kind: 'refund_amount', orderExternalId: '727', refundFen: 2500, idempotencyKey: 'woocommerce:refund:901', unknownOrder: 'ignore' },
    ]);
  });

  it.each([
    ['completed', ['order', 'event']],
    ['refunded', ['refund_amount']],
    ['cancelled', ['event']],
    ['pending', ['ignore']],
    ['on-hold', ['ignore']],
    ['failed', ['ignore']],
  ])('status %s → %j', (status, kinds) => {
    expect(mapWooCommerce('order.updated', wooOrder({ status })).intents.map((i) => i.kind)).toEqual(kinds);
  });

  it('completed is shipped at date_completed_gmt; a guest is its own buyer', () => {
    const m = mapWooCommerce('order.updated', wooOrder({ status: 'completed', customerId: 0 }));
    expect(m.intents[0]).toMatchObject({ body: { buyer_external_id: 'woocommerce-guest:727' } });
    expect(m.intents[1]).toEqual({
      kind: 'event',
      orderExternalId: '727',
      idempotencyKey: 'woocommerce:completed',
      unknownOrder: 'ignore',
      body: { type: 'shipped', at: '2026-03-02T10:00:00.000Z' },
    });
  });

  it('a line whose total is not money cannot be mapped', () => {
    const o = wooOrder();
    (o.line_items[0] as Record<string, unknown>).total = 'NaN';
    expect(() => mapWooCommerce('order.created', o)).toThrow(MappingError);
  });
});

describe("the generic format is checked by the API's own schemas", () => {
  it('an order and an event pass; an unknown field or a wrong type does not', () => {
    const order = { external_id: 'o-1', buyer_external_id: 'u-1', items: [{ sku: 's', quantity: 1, unit_price_fen: 100, paid_fen: 100 }] };
    expect(mapGeneric({ type: 'order', body: order }).intents).toEqual([{ kind: 'order', body: order }]);
    expect(mapGeneric({ type: 'event', order_external_id: 'o-1', body: { type: 'shipped' }, idempotency_key: 'k1' }).intents).toEqual([
      { kind: 'event', orderExternalId: 'o-1', body: { type: 'shipped' }, idempotencyKey: 'k1', unknownOrder: 'error' },
    ]);
    expect(() => mapGeneric({ type: 'order', body: { ...order, extra: 1 } })).toThrow('body/body: unknown field "extra"');
    expect(() => mapGeneric({ type: 'order', body: { ...order, items: [{ ...order.items[0], paid_fen: '100' }] } })).toThrow(
      'body/body/items/0/paid_fen must be integer',
    );
    expect(() => mapGeneric({ type: 'order', body: { ...order, items: [{ ...order.items[0], quantity: 0 }] } })).toThrow(/quantity/);
    expect(() => mapGeneric({ type: 'refund' })).toThrow(MappingError);
  });
});

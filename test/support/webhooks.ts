/**
 * Webhook fixtures shaped like the platforms' own payloads (Shopify's REST order and refund
 * resources, WooCommerce's REST v3 order), and signers written from the platforms' documents,
 * independently of src/modules/ingest/signatures.ts.
 */
import { createHmac } from 'node:crypto';
import type { TestServer } from './server.ts';
import type { JsonBody } from './json.ts';

/** Shopify: base64 HMAC-SHA256 of the raw body, keyed with the app's secret. */
export function shopifySignature(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('base64');
}

/** WooCommerce: base64_encode(hash_hmac('sha256', $payload, $secret, true)). */
export function wooSignature(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('base64');
}

/** Fenxiao's generic format: hex HMAC-SHA256 of "<timestamp>.<raw body>". */
export function genericSignature(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

export async function postWebhook(t: TestServer, tenantId: string, format: string, body: string, headers: Record<string, string>) {
  const res = await t.app.inject({
    method: 'POST',
    url: `/v1/webhooks/${tenantId}/orders/${format}`,
    headers: { 'content-type': 'application/json', ...headers },
    payload: body,
  });
  let data: JsonBody;
  try {
    data = JSON.parse(res.body);
  } catch {
    data = res.body;
  }
  return Object.assign(res, { data });
}

export function sendShopify(t: TestServer, tenantId: string, secret: string, topic: string, payload: unknown, webhookId: string) {
  // Shopify's own serialisation: no spaces, and ids too big for a double written as numbers.
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return postWebhook(t, tenantId, 'shopify', body, {
    'x-shopify-topic': topic,
    'x-shopify-hmac-sha256': shopifySignature(secret, body),
    'x-shopify-shop-domain': 'fenxiao-test.myshopify.com',
    'x-shopify-api-version': '2025-01',
    'x-shopify-webhook-id': webhookId,
    'x-shopify-triggered-at': new Date().toISOString(),
  });
}

export function sendWoo(t: TestServer, tenantId: string, secret: string, topic: string, payload: unknown, deliveryId: string) {
  const body = JSON.stringify(payload);
  const [resource, event] = topic.split('.');
  return postWebhook(t, tenantId, 'woocommerce', body, {
    'x-wc-webhook-topic': topic,
    'x-wc-webhook-resource': resource!,
    'x-wc-webhook-event': event!,
    'x-wc-webhook-signature': wooSignature(secret, body),
    'x-wc-webhook-id': '12',
    'x-wc-webhook-delivery-id': deliveryId,
    'x-wc-webhook-source': 'https://shop.example.cn/',
    'user-agent': 'WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)',
  });
}

export function sendGeneric(t: TestServer, tenantId: string, secret: string, payload: unknown, opts: { timestamp?: number; deliveryId?: string } = {}) {
  const body = JSON.stringify(payload);
  const ts = opts.timestamp ?? Math.floor(t.clock.now().getTime() / 1000);
  return postWebhook(t, tenantId, 'generic', body, {
    'x-fenxiao-timestamp': String(ts),
    'x-fenxiao-signature': genericSignature(secret, ts, body),
    ...(opts.deliveryId ? { 'x-fenxiao-delivery-id': opts.deliveryId } : {}),
  });
}

/** An id beyond 2^53, as Shopify's documentation examples have them. */
export const SHOPIFY_ORDER_ID = '5678901234567890123';
export const SHOPIFY_CUSTOMER_ID = '8209829119461545081';

/**
 * orders/paid: three lines, a 10% discount code spread over two of them, a line without a SKU,
 * shipping and tax on top (taxes_included false), the invite code in a note attribute. As JSON
 * text, since the ids are integers a JavaScript number cannot hold.
 */
export function shopifyPaidOrder(
  opts: { orderId?: string; customerId?: string | null; inviteCode?: string; landingSite?: string; taxesIncluded?: boolean } = {},
): string {
  const orderId = opts.orderId ?? SHOPIFY_ORDER_ID;
  const order = {
    id: '__ORDER_ID__',
    admin_graphql_api_id: `gid://shopify/Order/${orderId}`,
    name: '#1042',
    order_number: 1042,
    email: 'li.lei@example.cn',
    currency: 'CNY',
    presentment_currency: 'CNY',
    created_at: '2026-03-01T20:11:03+08:00',
    processed_at: '2026-03-01T20:11:05+08:00',
    updated_at: '2026-03-01T20:11:06+08:00',
    financial_status: 'paid',
    fulfillment_status: null,
    confirmed: true,
    test: false,
    taxes_included: opts.taxesIncluded ?? false,
    browser_ip: '203.0.113.7',
    landing_site: opts.landingSite ?? '/products/tee?utm_source=wechat',
    referring_site: '',
    note: null,
    note_attributes: opts.inviteCode
      ? [
          { name: 'gift_wrap', value: 'no' },
          { name: 'invite_code', value: opts.inviteCode },
        ]
      : [{ name: 'gift_wrap', value: 'no' }],
    subtotal_price: '468.01',
    total_discounts: '45.79',
    total_line_items_price: '513.80',
    total_price: '510.75',
    total_tax: '27.74',
    total_shipping_price_set: { shop_money: { amount: '15.00', currency_code: 'CNY' }, presentment_money: { amount: '15.00', currency_code: 'CNY' } },
    total_tax_set: { shop_money: { amount: '27.74', currency_code: 'CNY' }, presentment_money: { amount: '27.74', currency_code: 'CNY' } },
    discount_codes: [{ code: 'SPRING10', amount: '45.79', type: 'percentage' }],
    discount_applications: [
      {
        type: 'discount_code',
        value: '10.0',
        value_type: 'percentage',
        allocation_method: 'across',
        target_selection: 'all',
        target_type: 'line_item',
        code: 'SPRING10',
      },
    ],
    customer: opts.customerId === null ? null : { id: '__CUSTOMER_ID__', email: 'li.lei@example.cn', first_name: 'Lei', last_name: 'Li', currency: 'CNY' },
    line_items: [
      {
        id: 15023981100001,
        variant_id: 44001,
        product_id: 8001,
        title: 'T 恤',
        variant_title: '红 / M',
        sku: 'TEE-RED-M',
        quantity: 2,
        current_quantity: 2,
        price: '199.00',
        price_set: { shop_money: { amount: '199.00', currency_code: 'CNY' }, presentment_money: { amount: '199.00', currency_code: 'CNY' } },
        total_discount: '0.00',
        requires_shipping: true,
        taxable: true,
        gift_card: false,
        discount_allocations: [
          {
            amount: '39.80',
            amount_set: { shop_money: { amount: '39.80', currency_code: 'CNY' }, presentment_money: { amount: '39.80', currency_code: 'CNY' } },
            discount_application_index: 0,
          },
        ],
        tax_lines: [
          {
            title: 'VAT',
            rate: 0.06,
            price: '21.49',
            price_set: { shop_money: { amount: '21.49', currency_code: 'CNY' }, presentment_money: { amount: '21.49', currency_code: 'CNY' } },
          },
        ],
      },
      {
        id: 15023981100002,
        variant_id: 44444,
        product_id: 8002,
        title: '帆布袋',
        variant_title: null,
        sku: '',
        quantity: 1,
        current_quantity: 1,
        price: '59.90',
        price_set: { shop_money: { amount: '59.90', currency_code: 'CNY' }, presentment_money: { amount: '59.90', currency_code: 'CNY' } },
        total_discount: '0.00',
        requires_shipping: true,
        taxable: true,
        gift_card: false,
        discount_allocations: [
          {
            amount: '5.99',
            amount_set: { shop_money: { amount: '5.99', currency_code: 'CNY' }, presentment_money: { amount: '5.99', currency_code: 'CNY' } },
            discount_application_index: 0,
          },
        ],
        tax_lines: [
          {
            title: 'VAT',
            rate: 0.06,
            price: '3.24',
            price_set: { shop_money: { amount: '3.24', currency_code: 'CNY' }, presentment_money: { amount: '3.24', currency_code: 'CNY' } },
          },
        ],
      },
      {
        id: 15023981100003,
        variant_id: 44003,
        product_id: 8003,
        title: '马克杯',
        variant_title: null,
        sku: 'MUG-01',
        quantity: 3,
        current_quantity: 3,
        price: '19.90',
        price_set: { shop_money: { amount: '19.90', currency_code: 'CNY' }, presentment_money: { amount: '19.90', currency_code: 'CNY' } },
        total_discount: '0.00',
        requires_shipping: true,
        taxable: true,
        gift_card: false,
        discount_allocations: [],
        tax_lines: [
          {
            title: 'VAT',
            rate: 0.06,
            price: '3.01',
            price_set: { shop_money: { amount: '3.01', currency_code: 'CNY' }, presentment_money: { amount: '3.01', currency_code: 'CNY' } },
          },
        ],
      },
    ],
    shipping_lines: [
      {
        id: 4101,
        title: '顺丰',
        code: 'SF',
        price: '15.00',
        price_set: { shop_money: { amount: '15.00', currency_code: 'CNY' }, presentment_money: { amount: '15.00', currency_code: 'CNY' } },
        discounted_price: '15.00',
      },
    ],
    fulfillments: [],
    refunds: [],
  };
  return JSON.stringify(order)
    .replace('"__ORDER_ID__"', orderId)
    .replace('"__CUSTOMER_ID__"', opts.customerId ?? SHOPIFY_CUSTOMER_ID);
}

/**
 * What the orders/paid payload above is, through POST /v1/orders: each line's price × quantity
 * less its discount allocations, tax and shipping out of the lines.
 */
export function shopifyExpectedOrder(externalId = SHOPIFY_ORDER_ID, buyer = SHOPIFY_CUSTOMER_ID, inviteCode?: string) {
  return {
    external_id: externalId,
    buyer_external_id: buyer,
    paid_at: '2026-03-01T12:11:05.000Z',
    items: [
      { sku: 'TEE-RED-M', quantity: 2, unit_price_fen: 19900, paid_fen: 39800 - 3980 },
      { sku: 'variant:44444', quantity: 1, unit_price_fen: 5990, paid_fen: 5990 - 599 },
      { sku: 'MUG-01', quantity: 3, unit_price_fen: 1990, paid_fen: 5970 },
    ],
    shipping_fen: 1500,
    tax_fen: 2774,
    client_ip: '203.0.113.7',
    ...(inviteCode ? { invite_code: inviteCode } : {}),
  };
}

/** refunds/create: one of the two T-shirts back, with shipping refunded too. */
export function shopifyLineRefund(orderId = SHOPIFY_ORDER_ID, refundId = '929361464'): string {
  const refund = {
    id: refundId,
    order_id: '__ORDER_ID__',
    created_at: '2026-03-02T10:00:00+08:00',
    processed_at: '2026-03-02T10:00:00+08:00',
    note: '尺码不合适',
    restock: true,
    user_id: 548380009,
    refund_line_items: [
      {
        id: 104689,
        quantity: 1,
        line_item_id: 15023981100001,
        location_id: 40642626,
        restock_type: 'return',
        subtotal: '179.10',
        total_tax: '10.75',
        subtotal_set: { shop_money: { amount: '179.10', currency_code: 'CNY' }, presentment_money: { amount: '179.10', currency_code: 'CNY' } },
        line_item: { id: 15023981100001, variant_id: 44001, product_id: 8001, sku: 'TEE-RED-M', quantity: 2, price: '199.00' },
      },
    ],
    transactions: [{ id: 179259969, order_id: '__ORDER_ID__', kind: 'refund', gateway: 'alipay', status: 'success', amount: '204.85', currency: 'CNY' }],
    order_adjustments: [
      { id: 3001, order_id: '__ORDER_ID__', refund_id: refundId, amount: '-15.00', tax_amount: '0.00', kind: 'shipping_refund', reason: 'Shipping refund' },
    ],
    duties: [],
  };
  return JSON.stringify(refund).replaceAll('"__ORDER_ID__"', orderId);
}

/** refunds/create without line items: 30 yuan returned by hand (goodwill), plus 5 of shipping. */
export function shopifyAmountRefund(orderId = SHOPIFY_ORDER_ID, refundId = '929361999'): string {
  return JSON.stringify({
    id: refundId,
    order_id: '__ORDER_ID__',
    created_at: '2026-03-03T10:00:00+08:00',
    note: 'goodwill',
    refund_line_items: [],
    transactions: [{ id: 179259970, kind: 'refund', status: 'success', amount: '35.00', currency: 'CNY' }],
    order_adjustments: [{ id: 3002, amount: '-5.00', tax_amount: '0.00', kind: 'shipping_refund', reason: 'Shipping refund' }],
  }).replaceAll('"__ORDER_ID__"', orderId);
}

export function shopifyFulfilled(orderId = SHOPIFY_ORDER_ID): string {
  return JSON.stringify({
    id: '__ORDER_ID__',
    name: '#1042',
    financial_status: 'paid',
    fulfillment_status: 'fulfilled',
    updated_at: '2026-03-01T21:00:00+08:00',
    fulfillments: [
      {
        id: 255858046,
        order_id: '__ORDER_ID__',
        status: 'success',
        created_at: '2026-03-01T21:00:00+08:00',
        tracking_company: '顺丰',
        tracking_number: 'SF1234567890',
      },
    ],
    line_items: [],
  }).replaceAll('"__ORDER_ID__"', orderId);
}

/**
 * A WooCommerce order (REST API v3, as order.created/order.updated deliver it): two lines, a
 * coupon, shipping and tax, prices entered without tax; the invite code in order meta.
 */
export function wooOrder(opts: { id?: number; status?: string; customerId?: number; inviteCode?: string; refunds?: { id: number; total: string }[] } = {}) {
  const id = opts.id ?? 727;
  return {
    id,
    parent_id: 0,
    number: String(id),
    order_key: 'wc_order_58d2d042d1d',
    created_via: 'checkout',
    version: '9.4.2',
    status: opts.status ?? 'processing',
    currency: 'CNY',
    date_created: '2026-03-01T20:28:02',
    date_created_gmt: '2026-03-01T12:28:02',
    date_modified: '2026-03-01T20:28:09',
    date_modified_gmt: '2026-03-01T12:28:09',
    discount_total: '24.00',
    discount_tax: '1.44',
    shipping_total: '10.00',
    shipping_tax: '0.00',
    cart_tax: '12.96',
    total: '238.96',
    total_tax: '12.96',
    prices_include_tax: false,
    customer_id: opts.customerId ?? 26,
    customer_ip_address: '198.51.100.23',
    customer_user_agent: 'Mozilla/5.0',
    customer_note: '',
    billing: { first_name: '磊', last_name: '李', city: '深圳', phone: '13800000000', email: 'li.lei@example.cn' },
    shipping: { first_name: '磊', last_name: '李', city: '深圳' },
    payment_method: 'alipay',
    payment_method_title: '支付宝',
    transaction_id: '2026022822001',
    date_paid: '2026-03-01T20:28:08',
    date_paid_gmt: '2026-03-01T12:28:08',
    date_completed: opts.status === 'completed' ? '2026-03-02T18:00:00' : null,
    date_completed_gmt: opts.status === 'completed' ? '2026-03-02T10:00:00' : null,
    cart_hash: '5a8c…',
    meta_data: [
      { id: 13106, key: '_wc_order_attribution_source_type', value: 'typein' },
      ...(opts.inviteCode ? [{ id: 13107, key: 'invite_code', value: opts.inviteCode }] : []),
    ],
    line_items: [
      {
        id: 315,
        name: '绿茶 250g',
        product_id: 93,
        variation_id: 0,
        quantity: 2,
        tax_class: '',
        subtotal: '120.00',
        subtotal_tax: '7.20',
        total: '108.00',
        total_tax: '6.48',
        taxes: [{ id: 75, total: '6.48', subtotal: '7.20' }],
        meta_data: [],
        sku: 'TEA-GREEN-250',
        price: 54,
      },
      {
        id: 316,
        name: '茶具套装',
        product_id: 22,
        variation_id: 23,
        quantity: 1,
        tax_class: '',
        subtotal: '120.00',
        subtotal_tax: '7.20',
        total: '108.00',
        total_tax: '6.48',
        taxes: [{ id: 75, total: '6.48', subtotal: '7.20' }],
        meta_data: [],
        sku: '',
        price: 108,
      },
    ],
    tax_lines: [{ id: 318, rate_code: 'CN-VAT-1', rate_id: 75, label: 'VAT', compound: false, tax_total: '12.96', shipping_tax_total: '0.00' }],
    shipping_lines: [{ id: 317, method_title: '顺丰', method_id: 'flat_rate', total: '10.00', total_tax: '0.00', taxes: [] }],
    fee_lines: [],
    coupon_lines: [{ id: 319, code: 'tea10', discount: '24.00', discount_tax: '1.44' }],
    refunds: (opts.refunds ?? []).map((r) => ({ id: r.id, reason: '', total: r.total })),
  };
}

export function wooExpectedOrder(id = '727', buyer = '26', inviteCode?: string) {
  return {
    external_id: id,
    buyer_external_id: buyer,
    paid_at: '2026-03-01T12:28:08.000Z',
    items: [
      { sku: 'TEA-GREEN-250', quantity: 2, unit_price_fen: 6000, paid_fen: 10800 },
      { sku: 'product:22:23', quantity: 1, unit_price_fen: 12000, paid_fen: 10800 },
    ],
    shipping_fen: 1000,
    tax_fen: 1296,
    client_ip: '198.51.100.23',
    ...(inviteCode ? { invite_code: inviteCode } : {}),
  };
}

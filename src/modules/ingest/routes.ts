import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { actor, moduleRoutes } from '../../core/route.ts';
import { ErrorRef, IdParams, List, errors } from '../../core/schema.ts';
import type { IngestService } from './service.ts';
import { PurchaseOrderView } from '../agents/schema.ts';
import {
  DeliveryListQuery,
  DeliveryView,
  RotateSecretBody,
  TenantParams,
  WebhookAnswer,
  WebhookParams,
  WebhookSecretView,
  WebhookSettingsView,
} from './schema.ts';

/** Platforms' order payloads run large (addresses, line properties); still bounded. */
const WEBHOOK_BODY_LIMIT = 5 * 1024 * 1024;

export const ingestRoutes = moduleRoutes<IngestService>((app, ingest) => {
  const tags = ['webhooks'];

  app.get(
    '/v1/webhooks/settings',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: "Each format's webhook URL and whether its signing secret is set (masked)",
        response: { 200: WebhookSettingsView, ...errors(403) },
      },
    },
    async (req) => ingest.settings(actor(req)),
  );

  app.post(
    '/v1/webhooks/secret',
    {
      config: { auth: 'tenant', permission: 'keys:write' },
      schema: {
        tags,
        summary: "Create or rotate a format's webhook signing secret (shown once)",
        description:
          "Without `secret` Fenxiao generates one (generic, WooCommerce: paste it into the platform). Shopify chooses its own: send the app's client secret, or the key shown under Settings → Notifications → Webhooks. The previous secret keeps verifying for 24 hours unless `revoke_previous`. See docs/integration.md.",
        body: RotateSecretBody,
        response: { 201: WebhookSecretView, ...errors(403) },
      },
    },
    async (req, reply) => reply.code(201).send(await ingest.rotateSecret(actor(req), req.body)),
  );

  app.get(
    '/v1/webhooks/deliveries',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'Webhook deliveries received, newest first, with their outcome',
        querystring: DeliveryListQuery,
        response: { 200: List(DeliveryView), ...errors(403) },
      },
    },
    async (req) => ingest.listDeliveries(actor(req), { ...req.query, limit: req.query.limit ?? 50 }),
  );

  app.post(
    '/v1/webhooks/deliveries/:id/replay',
    {
      config: { auth: 'tenant', permission: 'orders:write' },
      schema: { tags, summary: 'Run a recorded delivery again (idempotent)', params: IdParams, response: { 200: DeliveryView, ...errors(403, 404) } },
    },
    async (req) => ingest.replay(actor(req), req.params.id, req.log),
  );

  // The signature covers the body's exact bytes: in this scope every body is kept as a Buffer,
  // whatever its content type, and parsed only after it is verified.
  void app.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_req, body, done) => done(null, body));
    scope.post(
      '/v1/webhooks/:tenant_id/orders/:format',
      {
        config: { auth: 'public' },
        bodyLimit: WEBHOOK_BODY_LIMIT,
        schema: {
          tags,
          summary: "Orders and their events from a merchant's shop: generic, shopify or woocommerce (signed; no bearer token)",
          description:
            'generic: `X-Fenxiao-Timestamp` and `X-Fenxiao-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`; shopify: `X-Shopify-Hmac-Sha256` and `X-Shopify-Topic`; woocommerce: `X-WC-Webhook-Signature` and `X-WC-Webhook-Topic`. 200 applied, duplicate or ignored; 202 deferred (an event before its order); 401 bad signature; 400 a payload that cannot be mapped. See docs/integration.md.',
          params: WebhookParams,
          consumes: ['application/json'],
          response: { 200: WebhookAnswer, 202: WebhookAnswer, ...errors(404, 409, 413) },
        },
      },
      async (req, reply) => {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const { status, answer } = await ingest.receive({
          tenantId: req.params.tenant_id,
          format: req.params.format,
          headers: req.headers,
          raw,
          requestId: req.id,
          log: req.log,
        });
        return reply.code(status).send(answer);
      },
    );
    scope.post(
      '/v1/webhooks/:tenant_id/purchase-payments',
      {
        config: { auth: 'public' },
        bodyLimit: WEBHOOK_BODY_LIMIT,
        schema: {
          tags: [...tags, 'agents'],
          summary: 'A purchase order paid online: the payment channel’s (or the merchant’s payment backend’s) callback, signed like generic order webhooks',
          description:
            'Body `{"purchase_order_id","reference","amount_fen"}`; headers `X-Fenxiao-Timestamp` and `X-Fenxiao-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` under the generic secret. 200 the purchase order, paid (again for a retry of the same payment); 401 bad signature; 400 a body that is not one, or an amount other than the order’s; 404 unknown order; 409 paid already under another reference.',
          params: TenantParams,
          consumes: ['application/json'],
          response: { 200: PurchaseOrderView, ...errors(404, 409, 413) },
        },
      },
      async (req) =>
        ingest.purchasePayment({
          tenantId: req.params.tenant_id,
          headers: req.headers,
          raw: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
          requestId: req.id,
          log: req.log,
        }),
    );

    // The channels' own notifications answer in the channels' own terms: WeChat Pay reads the
    // status (2xx received; 4xx/5xx with {"code":"FAIL"} to be sent again), Alipay the text
    // (`success`, anything else to be sent again).
    // A request the framework refuses before the handler (a malformed tenant id, a body too large)
    // gets the usual error shape: a 4xx either way, which both channels read as "send again".
    const WechatFail = Type.Union([Type.Object({ code: Type.Literal('FAIL'), message: Type.String() }, { additionalProperties: false }), ErrorRef], {
      description: 'refused: WeChat Pay sends the notification again',
    });
    const AlipayFail = Type.Union([Type.Literal('failure'), ErrorRef], { description: 'refused: Alipay sends the notification again' });
    scope.post(
      '/v1/webhooks/:tenant_id/purchase-payments/wechat',
      {
        config: { auth: 'public' },
        bodyLimit: WEBHOOK_BODY_LIMIT,
        schema: {
          tags: [...tags, 'agents'],
          summary: 'A purchase order paid through WeChat Pay: the 支付成功通知 (TRANSACTION.SUCCESS) sent to the payment’s notify_url',
          description:
            'Set this URL as `notify_url` when the merchant’s WeChat Pay merchant (the one configured for payouts) collects an agent’s purchase, with `out_trade_no` = the purchase order id. Verified with the WeChat Pay platform key (`Wechatpay-Signature` over "timestamp\nnonce\nbody\n"), the resource decrypted with the APIv3 key; `transaction_id` becomes the reference, `amount.total` must equal the order’s amount. 204 received: paid, paid already by this payment, or a trade_state other than SUCCESS (nothing done). Refused with `{"code":"FAIL","message"}` and nothing written: 401 bad signature, 400 another amount, 404 unknown order (or WeChat Pay not configured), 409 paid under another reference. See docs/agents.md.',
          params: TenantParams,
          consumes: ['application/json'],
          response: {
            204: Type.Null({ description: 'received' }),
            400: WechatFail,
            401: WechatFail,
            403: WechatFail,
            404: WechatFail,
            409: WechatFail,
            413: ErrorRef,
            422: WechatFail,
            503: ErrorRef,
          },
        },
      },
      async (req, reply) => {
        const answer = await ingest.channelPurchasePayment({
          tenantId: req.params.tenant_id,
          channel: 'wechat',
          headers: req.headers,
          raw: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
          requestId: req.id,
          log: req.log,
        });
        if (answer.ok) return reply.code(204).send(null);
        return reply.code(answer.status).send({ code: 'FAIL', message: answer.reason });
      },
    );
    scope.post(
      '/v1/webhooks/:tenant_id/purchase-payments/alipay',
      {
        config: { auth: 'public' },
        bodyLimit: WEBHOOK_BODY_LIMIT,
        schema: {
          tags: [...tags, 'agents'],
          summary: 'A purchase order paid through Alipay: the trade’s 异步通知 sent to the payment’s notify_url',
          description:
            'Set this URL as `notify_url` when the merchant’s Alipay app (the one configured for payouts) collects an agent’s purchase, with `out_trade_no` = the purchase order id. Form-encoded, verified with Alipay’s public key (RSA2 over the sorted parameters but sign and sign_type); `trade_no` becomes the reference, `total_amount` (yuan) must equal the order’s amount. TRADE_SUCCESS and TRADE_FINISHED pay; other trade_status values are acknowledged and change nothing. Answers the text `success` (200), or `failure` with nothing written: 401 bad signature, 400 another amount, 404 unknown order (or Alipay not configured), 409 paid under another reference. See docs/agents.md.',
          params: TenantParams,
          consumes: ['application/x-www-form-urlencoded'],
          produces: ['text/plain'],
          response: {
            200: Type.Literal('success'),
            400: AlipayFail,
            401: AlipayFail,
            403: AlipayFail,
            404: AlipayFail,
            409: AlipayFail,
            413: ErrorRef,
            422: AlipayFail,
            503: ErrorRef,
          },
        },
      },
      async (req, reply) => {
        const answer = await ingest.channelPurchasePayment({
          tenantId: req.params.tenant_id,
          channel: 'alipay',
          headers: req.headers,
          raw: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
          requestId: req.id,
          log: req.log,
        });
        return reply
          .code(answer.ok ? 200 : answer.status)
          .type('text/plain; charset=utf-8')
          .send(answer.ok ? 'success' : 'failure');
      },
    );
  });
});

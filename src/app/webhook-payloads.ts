import { Type, type TObject, type TSchema } from '@sinclair/typebox';
import { Nullable, Strict, Timestamp } from '../core/schema.ts';
import { CommissionLine, OrderView } from '../modules/orders/schema.ts';
import { Distributor } from '../modules/distributors/schema.ts';
import { Statement } from '../modules/settlement/routes.ts';
import { Withdrawal } from '../modules/withdrawals/routes.ts';
import { RiskEvent } from '../modules/risk/routes.ts';
import { AgentView, ApplicationView, PurchaseOrderView, StockReturnView } from '../modules/agents/schema.ts';
import { TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES, WEBHOOK_PAYLOAD_VERSION, type WebhookEventType } from '../modules/webhooks/schema.ts';

/** What an order event adds to the order: the event itself. */
const OrderWithEvent = Strict({
  ...OrderView.properties,
  event: Strict({
    type: Type.Union([Type.Literal('shipped'), Type.Literal('received'), Type.Literal('refunded'), Type.Literal('cancelled'), Type.Literal('closed')]),
    at: Timestamp(),
    refund_fen: Nullable(Type.Integer({ description: 'refunded: the amount of this refund' })),
  }),
});

/** A commission line as in an order's `commissions`, with its order's Fenxiao id. */
const LineOfOrder = Strict({ ...CommissionLine.properties, order_id: Type.String({ description: "the order's Fenxiao id" }) });

/**
 * `data` of each event type, payload version WEBHOOK_PAYLOAD_VERSION: the API's own views, so a
 * payload is what a GET of its object answers. Keyed by every type the outbox accepts (the
 * compiler holds the emitters to WebhookEventType) and the test event.
 */
export const WEBHOOK_PAYLOADS: Record<WebhookEventType | typeof TEST_EVENT_TYPE, TObject> = {
  'order.credited': OrderView,
  'order.shipped': OrderWithEvent,
  'order.received': OrderWithEvent,
  'order.refunded': OrderWithEvent,
  'order.cancelled': OrderWithEvent,
  'order.closed': OrderWithEvent,
  'commission.available': LineOfOrder,
  'commission.settled': LineOfOrder,
  'commission.clawed_back': LineOfOrder,
  'commission.adjusted': LineOfOrder,
  'statement.approved': Statement,
  'statement.rejected': Statement,
  'withdrawal.requested': Withdrawal,
  'withdrawal.approved': Withdrawal,
  'withdrawal.rejected': Withdrawal,
  'withdrawal.paid': Withdrawal,
  'withdrawal.failed': Withdrawal,
  'distributor.applied': Distributor,
  'distributor.approved': Distributor,
  'distributor.suspended': Distributor,
  'risk_event.opened': RiskEvent,
  'agent.appointed': AgentView,
  'agent.suspended': AgentView,
  'agent.reinstated': AgentView,
  'agent.ended': AgentView,
  'agent_application.submitted': ApplicationView,
  'purchase_order.created': PurchaseOrderView,
  'purchase_order.paid': PurchaseOrderView,
  'stock_return.created': StockReturnView,
  [TEST_EVENT_TYPE]: Strict({ endpoint_id: Type.String(), message: Type.String(), type: Type.Literal(TEST_EVENT_TYPE) }),
};

/** The contract's envelope around one type's payload. */
export function webhookEnvelope(type: keyof typeof WEBHOOK_PAYLOADS): TSchema {
  return Strict(
    {
      id: Type.String({ description: 'the event id (also in Fenxiao-Event-Id): the same on every retry' }),
      type: Type.Literal(type),
      created_at: Timestamp(),
      data: WEBHOOK_PAYLOADS[type],
    },
    { title: `${type} (payload version ${WEBHOOK_PAYLOAD_VERSION})` },
  );
}

/**
 * The OpenAPI 3.1 `webhooks` object: one POST per event type, with the envelope and its `data`,
 * the headers, and the payload version (a change that is not purely additive gets a new one).
 */
export function openapiWebhooks(): Record<string, unknown> {
  const types = [...WEBHOOK_EVENT_TYPES, TEST_EVENT_TYPE] as const;
  return Object.fromEntries(
    types.map((type) => [
      type,
      {
        post: {
          summary: `${type}`,
          description: 'POSTed to each enabled endpoint subscribed to this type, at least once; answer 2xx within 10 s. See docs/integration.md.',
          'x-payload-version': WEBHOOK_PAYLOAD_VERSION,
          parameters: [
            { name: 'Fenxiao-Event-Id', in: 'header', required: true, schema: { type: 'string' } },
            {
              name: 'Fenxiao-Signature',
              in: 'header',
              required: true,
              description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" under the endpoint secret> (during a rotation, a v1 per secret)',
              schema: { type: 'string' },
            },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: JSON.parse(JSON.stringify(webhookEnvelope(type))) as unknown } } },
          responses: { '2XX': { description: 'received; anything else (or no answer within 10 s) is retried with the same event id' } },
        },
      },
    ]),
  );
}

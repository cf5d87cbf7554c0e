/* No imports: the console lists these too. */
/**
 * The events an endpoint may subscribe to. Each is written in the transaction of what caused it
 * (see outbox.ts); `data` of each is described in docs/integration.md and versioned by
 * `WEBHOOK_PAYLOAD_VERSION` (a change that is not purely additive gets a new version).
 */
export const WEBHOOK_EVENT_TYPES = [
  'order.credited',
  'order.shipped',
  'order.received',
  'order.refunded',
  'order.cancelled',
  'order.closed',
  'commission.available',
  'commission.settled',
  'commission.clawed_back',
  'commission.adjusted',
  'statement.approved',
  'statement.rejected',
  'withdrawal.requested',
  'withdrawal.approved',
  'withdrawal.rejected',
  'withdrawal.paid',
  'withdrawal.failed',
  'distributor.applied',
  'distributor.approved',
  'distributor.suspended',
  'risk_event.opened',
  'agent.appointed',
  'agent.suspended',
  'agent.reinstated',
  'agent.ended',
  'agent_application.submitted',
  'purchase_order.created',
  'purchase_order.paid',
  'stock_return.created',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

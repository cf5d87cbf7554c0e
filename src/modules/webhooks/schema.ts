import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Strict, Text, Timestamp } from '../../core/schema.ts';

import { WEBHOOK_EVENT_TYPES } from './events.ts';
export { WEBHOOK_EVENT_TYPES, type WebhookEventType } from './events.ts';
/** The test event of POST /v1/webhook-endpoints/{id}/test: sent to that endpoint only, whatever it subscribes to. */
export const TEST_EVENT_TYPE = 'webhook.test';
export const WEBHOOK_PAYLOAD_VERSION = '2026-12-07';

export const WebhookEventTypeSchema = Type.Union(
  WEBHOOK_EVENT_TYPES.map((t) => Type.Literal(t)),
  { description: 'an event type (docs/integration.md lists what each carries)' },
);

const Url = Type.String({
  minLength: 8,
  maxLength: 2048,
  description: 'http(s) URL; loopback and private addresses are refused (FENXIAO_WEBHOOKS_ALLOW_PRIVATE=1 allows them)',
});
const Events = Type.Array(WebhookEventTypeSchema, { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length, uniqueItems: true });

export const CreateEndpointBody = Strict({
  url: Url,
  events: Events,
  description: Type.Optional(Text(200)),
});
export type CreateEndpointBody = Static<typeof CreateEndpointBody>;

export const UpdateEndpointBody = Strict({
  url: Type.Optional(Url),
  events: Type.Optional(Events),
  description: Type.Optional(Nullable(Text(200))),
  enabled: Type.Optional(Type.Boolean({ description: 'false stops deliveries (they wait); true resumes them' })),
});
export type UpdateEndpointBody = Static<typeof UpdateEndpointBody>;

export const RotateEndpointSecretBody = Strict({
  grace_hours: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 168, description: 'how long the previous secret keeps signing beside the new one (default 24; 0 revokes it now)' }),
  ),
});
export type RotateEndpointSecretBody = Static<typeof RotateEndpointSecretBody>;

export const EndpointView = Strict({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: Nullable(Type.String()),
  enabled: Type.Boolean(),
  disabled_reason: Nullable(Type.String()),
  failing_since: Nullable(Timestamp('the first failed attempt since the last success')),
  secret_hint: Type.String({ description: 'the last 4 characters of the secret' }),
  previous_secret_valid_until: Nullable(Timestamp('until then the previous secret signs too')),
  created_at: Timestamp(),
  updated_at: Timestamp(),
});
export type EndpointView = Static<typeof EndpointView>;

export const EndpointCreated = Strict({
  ...EndpointView.properties,
  secret: Type.String({ minLength: 16, description: 'shown once: verify Fenxiao-Signature with it' }),
});
export type EndpointCreated = Static<typeof EndpointCreated>;

export const AttemptView = Strict({
  id: Type.String(),
  delivery_id: Type.String(),
  event_id: Type.String(),
  event_type: Type.String(),
  attempt: Type.Integer({ description: '1 for the first attempt at this delivery' }),
  status: Type.Union([Type.Literal('succeeded'), Type.Literal('failed')]),
  http_status: Nullable(Type.Integer({ description: "the answer's HTTP status; null when there was none (timeout, refused, unreachable)" })),
  error: Nullable(Type.String()),
  duration_ms: Type.Integer(),
  delivery_status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('dead')]),
  next_attempt_at: Nullable(Timestamp('when a pending delivery is tried again')),
  created_at: Timestamp(),
});
export type AttemptView = Static<typeof AttemptView>;

export const DeliveryParams = Strict({ id: Type.String({ minLength: 1, maxLength: 64 }), event_id: Type.String({ minLength: 1, maxLength: 64 }) });
export const AttemptsQuery = Strict({
  event_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
});

export const ReplayRangeBody = Strict({
  from: Timestamp('events created at or after'),
  to: Timestamp('events created before'),
});

export const ReplayAnswer = Strict({ replayed: Type.Integer({ description: 'deliveries queued again' }) });

/** What every delivery POSTs (the contract's envelope). */
export const WebhookEnvelope = Strict(
  {
    id: Type.String({ description: 'the event id (also in Fenxiao-Event-Id): the same on every retry' }),
    type: Type.String(),
    created_at: Timestamp(),
    data: Type.Record(Type.String(), Type.Unknown()),
  },
  { description: `payload version ${WEBHOOK_PAYLOAD_VERSION}` },
);

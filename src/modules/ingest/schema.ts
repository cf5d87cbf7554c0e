import { Type, type Static } from '@sinclair/typebox';
import { ExternalId, Nullable, Strict, Text, Timestamp } from '../../core/schema.ts';
import { CreateOrderBody, OrderEventBody } from '../orders/schema.ts';

export const INGEST_FORMATS = ['generic', 'shopify', 'woocommerce'] as const;
export const IngestFormatSchema = Type.Union([Type.Literal('generic'), Type.Literal('shopify'), Type.Literal('woocommerce')]);

export const IdempotencyKey = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[\\x21-\\x7e]+$',
  description: 'printable ASCII, as the Idempotency-Key header',
});

/**
 * The two things a merchant's system can send by the generic webhook or by RabbitMQ: an order,
 * exactly the body of POST /v1/orders, or an event, exactly the body of
 * POST /v1/orders/{external_id}/events. The queue adds tenant_id (the webhook's URL names it).
 */
export const OrderCommand = Strict({
  type: Type.Literal('order'),
  body: CreateOrderBody,
});
export const EventCommand = Strict({
  type: Type.Literal('event'),
  order_external_id: ExternalId("the order's external_id"),
  body: OrderEventBody,
  idempotency_key: Type.Optional(IdempotencyKey),
});
export type OrderCommand = Static<typeof OrderCommand>;
export type EventCommand = Static<typeof EventCommand>;

const TenantId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_]+$' });
export const TenantParams = Strict({ tenant_id: TenantId });
export const OrderMessage = Strict({ tenant_id: TenantId, ...OrderCommand.properties });
export const EventMessage = Strict({ tenant_id: TenantId, ...EventCommand.properties });
export type OrderMessage = Static<typeof OrderMessage>;
export type EventMessage = Static<typeof EventMessage>;
export type QueueMessage = OrderMessage | EventMessage;

// ------------------------------------------------------------------------------ HTTP shapes

export const WebhookParams = Strict({
  tenant_id: TenantId,
  format: IngestFormatSchema,
});

export const WebhookAnswer = Strict({
  delivery_id: Type.String(),
  outcome: Type.Union([Type.Literal('applied'), Type.Literal('duplicate'), Type.Literal('ignored'), Type.Literal('deferred')]),
  topic: Nullable(Type.String()),
  order_external_id: Nullable(Type.String()),
  message: Nullable(Type.String()),
});
export type WebhookAnswer = Static<typeof WebhookAnswer>;

export const RotateSecretBody = Strict({
  format: IngestFormatSchema,
  secret: Type.Optional(
    Type.String({
      minLength: 16,
      maxLength: 256,
      pattern: '^[\\x21-\\x7e]+$',
      description:
        "the secret the platform signs with, when it chooses it (Shopify: the app's client secret, or the key shown under Settings → Notifications → Webhooks); leave out to have Fenxiao generate one (generic, WooCommerce)",
    }),
  ),
  revoke_previous: Type.Optional(Type.Boolean({ description: 'stop accepting the previous secret now (it leaked) instead of after the grace period' })),
});
export type RotateSecretBody = Static<typeof RotateSecretBody>;

export const WebhookSecretView = Strict({
  format: IngestFormatSchema,
  secret: Type.String({ description: 'shown once; Fenxiao keeps it encrypted' }),
  created_at: Timestamp(),
  previous_valid_until: Nullable(Timestamp('until then the previous secret still verifies')),
  endpoint: Type.String(),
});

export const WebhookFormatSettings = Strict({
  format: IngestFormatSchema,
  configured: Type.Boolean(),
  secret_hint: Nullable(Type.String({ description: 'the secret masked but for its last four characters' })),
  created_at: Nullable(Timestamp()),
  previous_valid_until: Nullable(Timestamp()),
  endpoint: Type.String(),
});
export const WebhookSettingsView = Strict({
  formats: Type.Array(WebhookFormatSettings),
  timestamp_tolerance_seconds: Type.Integer({ description: "generic format: how far X-Fenxiao-Timestamp may be from Fenxiao's clock" }),
});
export type WebhookSettingsView = Static<typeof WebhookSettingsView>;

export const DeliveryView = Strict({
  id: Type.String(),
  format: IngestFormatSchema,
  topic: Nullable(Type.String()),
  delivery_id: Type.String(),
  outcome: Type.Union([
    Type.Literal('applied'),
    Type.Literal('duplicate'),
    Type.Literal('ignored'),
    Type.Literal('deferred'),
    Type.Literal('rejected'),
    Type.Literal('failed'),
  ]),
  reason: Nullable(Type.String()),
  order_external_id: Nullable(Type.String()),
  attempts: Type.Integer(),
  has_payload: Type.Boolean(),
  received_at: Timestamp(),
  updated_at: Timestamp(),
});
export type DeliveryView = Static<typeof DeliveryView>;

export const DeliveryListQuery = Strict({
  format: Type.Optional(IngestFormatSchema),
  outcome: Type.Optional(
    Type.Union([
      Type.Literal('applied'),
      Type.Literal('duplicate'),
      Type.Literal('ignored'),
      Type.Literal('deferred'),
      Type.Literal('rejected'),
      Type.Literal('failed'),
    ]),
  ),
  order_external_id: Type.Optional(Text(128, { minLength: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
});

import { Type } from '@sinclair/typebox';
import { actor, moduleRoutes } from '../../core/route.ts';
import { IdParams, List, OptionalBody, Strict, errors } from '../../core/schema.ts';
import type { WebhooksService } from './service.ts';
import {
  AttemptView,
  AttemptsQuery,
  CreateEndpointBody,
  DeliveryParams,
  EndpointCreated,
  EndpointView,
  ReplayAnswer,
  ReplayRangeBody,
  RotateEndpointSecretBody,
  UpdateEndpointBody,
} from './schema.ts';

export const webhooksRoutes = moduleRoutes<WebhooksService>((app, webhooks) => {
  const tags = ['outbound webhooks'];

  app.post(
    '/v1/webhook-endpoints',
    {
      config: { auth: 'tenant', permission: 'keys:write' },
      schema: {
        tags,
        summary: 'Add an endpoint that receives events (its signing secret is shown once)',
        description:
          'Each event is POSTed as `{"id","type","created_at","data"}` with `Fenxiao-Event-Id` and `Fenxiao-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`; retried on anything but 2xx (or no answer in 10 s) for 24 hours. See docs/integration.md.',
        body: CreateEndpointBody,
        response: { 201: EndpointCreated, ...errors(400, 403) },
      },
    },
    async (req, reply) => reply.code(201).send(await webhooks.create(actor(req), req.body)),
  );

  app.get(
    '/v1/webhook-endpoints',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: { tags, summary: "The tenant's endpoints", response: { 200: List(EndpointView), ...errors(403) } },
    },
    async (req) => webhooks.list(actor(req)),
  );

  app.get(
    '/v1/webhook-endpoints/:id',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: { tags, summary: 'An endpoint', params: IdParams, response: { 200: EndpointView, ...errors(403, 404) } },
    },
    async (req) => webhooks.get(actor(req), req.params.id),
  );

  app.patch(
    '/v1/webhook-endpoints/:id',
    {
      config: { auth: 'tenant', permission: 'keys:write' },
      schema: {
        tags,
        summary: 'Change the URL, the events, or enable/disable (deliveries wait while disabled)',
        params: IdParams,
        body: UpdateEndpointBody,
        response: { 200: EndpointView, ...errors(400, 403, 404) },
      },
    },
    async (req) => webhooks.update(actor(req), req.params.id, req.body),
  );

  app.post(
    '/v1/webhook-endpoints/:id/rotate-secret',
    {
      config: { auth: 'tenant', permission: 'keys:write' },
      schema: {
        tags,
        summary: 'A new signing secret (shown once); the previous one signs beside it during the grace period',
        params: IdParams,
        body: OptionalBody(RotateEndpointSecretBody),
        response: { 200: EndpointCreated, ...errors(400, 403, 404) },
      },
    },
    async (req) => webhooks.rotate(actor(req), req.params.id, req.body?.grace_hours),
  );

  app.post(
    '/v1/webhook-endpoints/:id/test',
    {
      config: { auth: 'tenant', permission: 'keys:write' },
      schema: {
        tags,
        summary: 'Send a webhook.test event to this endpoint (delivered and logged like any event)',
        params: IdParams,
        response: { 202: Strict({ event_id: Type.String() }), ...errors(403, 404) },
      },
    },
    async (req, reply) => reply.code(202).send(await webhooks.test(actor(req), req.params.id)),
  );

  app.get(
    '/v1/webhook-endpoints/:id/deliveries',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: "Attempts at this endpoint's deliveries, newest first: event, outcome, the answer's HTTP status",
        params: IdParams,
        querystring: AttemptsQuery,
        response: { 200: List(AttemptView), ...errors(400, 403, 404) },
      },
    },
    async (req) => webhooks.attempts(actor(req), req.params.id, { ...req.query, limit: req.query.limit ?? 50 }),
  );

  app.post(
    '/v1/webhook-endpoints/:id/events/:event_id/replay',
    {
      config: { auth: 'tenant', permission: 'keys:write' },
      schema: {
        tags,
        summary: 'Send one event to this endpoint again, with the same event id',
        params: DeliveryParams,
        response: { 202: ReplayAnswer, ...errors(403, 404) },
      },
    },
    async (req, reply) => reply.code(202).send(await webhooks.replay(actor(req), req.params.id, { eventId: req.params.event_id })),
  );

  app.post(
    '/v1/webhook-endpoints/:id/replay',
    {
      config: { auth: 'tenant', permission: 'keys:write' },
      schema: {
        tags,
        summary: 'Send again every event of a time range this endpoint subscribes to (same event ids, in their order)',
        params: IdParams,
        body: ReplayRangeBody,
        response: { 202: ReplayAnswer, ...errors(400, 403, 404) },
      },
    },
    async (req, reply) => reply.code(202).send(await webhooks.replay(actor(req), req.params.id, { from: new Date(req.body.from), to: new Date(req.body.to) })),
  );
});

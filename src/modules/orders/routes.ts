import { Type } from '@sinclair/typebox';
import { actor, idempotencyKeyOf, IdempotencyHeaders, moduleRoutes } from '../../core/route.ts';
import { ExternalId, List, Strict, Timestamp, errors } from '../../core/schema.ts';
import type { OrdersService } from './service.ts';
import { CreateOrderBody, OrderEventBody, OrderListQuery, OrderView } from './schema.ts';

export const ordersRoutes = moduleRoutes<OrdersService>((app, orders) => {
  const tags = ['orders'];

  app.post(
    '/v1/orders',
    {
      config: { auth: 'tenant', permission: 'orders:write' },
      schema: {
        tags,
        summary: 'Record a paid order and credit its commissions (idempotent on external_id)',
        description: 'The same external_id with the same body answers 200 with the order as it stands; with a different body, 409.',
        body: CreateOrderBody,
        response: { 201: OrderView, 200: OrderView, ...errors(403, 409) },
      },
    },
    async (req, reply) => {
      const { created, order } = await orders.create(actor(req), req.body);
      return reply.code(created ? 201 : 200).send(order);
    },
  );

  app.get(
    '/v1/orders',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: { tags, summary: 'Orders, newest first', querystring: OrderListQuery, response: { 200: List(OrderView), ...errors() } },
    },
    async (req) => orders.list(actor(req), { ...req.query, limit: req.query.limit ?? 50 }),
  );

  app.get(
    '/v1/orders/:external_id',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'An order with its commissions as they stand now',
        params: Strict({ external_id: ExternalId() }),
        response: { 200: OrderView, ...errors(404) },
      },
    },
    async (req) => orders.get(actor(req), req.params.external_id),
  );

  app.post(
    '/v1/orders/:external_id/events',
    {
      config: { auth: 'tenant', permission: 'orders:write' },
      schema: {
        tags,
        summary: 'shipped, received, refunded (refund_fen or items) or cancelled; Idempotency-Key honoured',
        params: Strict({ external_id: ExternalId() }),
        headers: IdempotencyHeaders,
        body: OrderEventBody,
        response: { 200: OrderView, ...errors(404, 409) },
      },
    },
    async (req) => {
      const key = idempotencyKeyOf(req);
      return orders.event(actor(req), req.params.external_id, req.body, key);
    },
  );

  app.post(
    '/v1/jobs/auto-receive',
    {
      config: { auth: 'tenant', permission: 'orders:write' },
      schema: {
        tags: ['jobs'],
        summary: 'Confirm receipt of orders shipped auto_receive_days ago (the scheduler runs this too)',
        body: Type.Union([Strict({ as_of: Type.Optional(Timestamp()) }), Type.Null()]),
        response: { 200: Strict({ received: Type.Integer() }), ...errors(403) },
      },
    },
    async (req) => orders.runAutoReceive(actor(req), req.body?.as_of ? new Date(req.body.as_of) : undefined),
  );
});

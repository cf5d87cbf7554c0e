import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { actor, moduleRoutes } from '../../core/route.ts';
import { Nullable, Strict, Timestamp, errors } from '../../core/schema.ts';
import { OrderView, TrackingBody } from '../orders/schema.ts';
import type { LogisticsService } from './service.ts';

const PushAnswer = Strict({
  outcome: Type.Union([Type.Literal('applied'), Type.Literal('duplicate'), Type.Literal('ignored')]),
  order_external_id: Nullable(Type.String()),
  message: Nullable(Type.String()),
});
const TenantParams = Strict({ tenant_id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_]+$' }) });
const PUSH_LIMIT = 256 * 1024;

export const logisticsRoutes = moduleRoutes<LogisticsService>((app, logistics) => {
  const tags = ['logistics'];

  app.get(
    '/v1/logistics/settings',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'Whether the logistics secret is set (masked) and the URLs carriers push tracking to',
        response: {
          200: Strict({
            configured: Type.Boolean(),
            secret_hint: Nullable(Type.String({ description: 'the secret masked but for its last four characters' })),
            created_at: Nullable(Timestamp()),
            previous_valid_until: Nullable(Timestamp('until then the previous secret still verifies')),
            endpoints: Strict({ generic: Type.String(), kuaidi100: Type.String() }),
          }),
          ...errors(403),
        },
      },
    },
    async (req) => logistics.settings(actor(req)),
  );

  app.post(
    '/v1/logistics/secret',
    {
      config: { auth: 'tenant', permission: 'keys:write' },
      schema: {
        tags,
        summary: 'Create or rotate the secret tracking pushes are signed with (shown once; the previous one verifies for 24 hours)',
        response: { 201: Strict({ secret: Type.String(), previous_valid_until: Nullable(Timestamp()) }), ...errors(403) },
      },
    },
    async (req, reply) => reply.code(201).send(await logistics.rotateSecret(actor(req))),
  );

  app.put(
    '/v1/orders/:external_id/tracking',
    {
      config: { auth: 'tenant', permission: 'orders:write' },
      schema: {
        tags,
        summary: "An order's carrier and tracking number (运单号): carriers' pushes for it move the order to shipped and received",
        params: Strict({ external_id: Type.String({ minLength: 1, maxLength: 128 }) }),
        body: TrackingBody,
        response: { 200: OrderView, ...errors(400, 403, 404) },
      },
    },
    async (req) => logistics.setTracking(actor(req), req.params.external_id, req.body),
  );

  // Signatures cover the exact bytes: bodies stay Buffers in this scope and are parsed once verified.
  void app.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: PUSH_LIMIT }, (_req, body, done) => done(null, body));
    scope.post(
      '/v1/logistics/:tenant_id/generic',
      {
        config: { auth: 'public' },
        bodyLimit: PUSH_LIMIT,
        schema: {
          tags,
          summary: 'A tracking push in the generic format (signed; no bearer token)',
          description:
            '`{"event_id","tracking_number","carrier"?,"status":"shipped"|"in_transit"|"delivering"|"signed"|…,"at"?}` with `X-Fenxiao-Timestamp` and `X-Fenxiao-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` under the logistics secret. See docs/integration.md.',
          params: TenantParams,
          consumes: ['application/json'],
          response: { 200: PushAnswer, ...errors(400, 401, 413) },
        },
      },
      async (req) =>
        logistics.receiveGeneric({
          tenantId: req.params.tenant_id,
          headers: req.headers,
          raw: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
          requestId: req.id,
        }),
    );
    scope.post(
      '/v1/logistics/:tenant_id/kuaidi100',
      {
        config: { auth: 'public' },
        bodyLimit: PUSH_LIMIT,
        schema: {
          tags,
          summary: "Kuaidi100's subscription push (快递100 订阅推送; form param + sign = MD5(param + salt), the logistics secret as the salt)",
          params: TenantParams,
          consumes: ['application/x-www-form-urlencoded'],
          response: { 200: Strict({ result: Type.Boolean(), returnCode: Type.String(), message: Type.String(), outcome: PushAnswer }), ...errors(401, 413) },
        },
      },
      async (req) => {
        const outcome = await logistics.receiveKuaidi100({
          tenantId: req.params.tenant_id,
          raw: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
          requestId: req.id,
        });
        // What Kuaidi100 expects back; anything else makes it push again.
        return { result: true, returnCode: '200', message: '成功', outcome };
      },
    );
  });
});

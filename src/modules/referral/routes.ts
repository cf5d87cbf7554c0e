import { Type } from '@sinclair/typebox';
import { randomBytes } from 'node:crypto';
import { actor, moduleRoutes } from '../../core/route.ts';
import { ExternalId, IdParams, List, Nullable, OptionalBody, PageQuery, Strict, Text, Timestamp, errors } from '../../core/schema.ts';
import type { ReferralService } from './service.ts';
import { InviteCodeInput } from '../distributors/schema.ts';

const Binding = Strict({
  customer_external_id: Type.String(),
  distributor_id: Type.String(),
  status: Type.Union([Type.Literal('bound'), Type.Literal('tentative')], {
    description: 'tentative: claimed, made final by the first order (bind_on first_order)',
  }),
  bound_at: Nullable(Timestamp()),
});

const BindingEvent = Strict({
  id: Type.String(),
  kind: Type.String(),
  from_distributor_id: Nullable(Type.String()),
  to_distributor_id: Nullable(Type.String()),
  source: Type.String(),
  reason: Nullable(Type.String()),
  actor_type: Type.String(),
  actor_id: Nullable(Type.String()),
  at: Timestamp(),
});

const Customer = Strict({
  customer_external_id: Type.String(),
  distributor_id: Nullable(Type.String()),
  bound_at: Nullable(Timestamp()),
  source: Nullable(Type.String()),
  tentative_distributor_id: Nullable(Type.String()),
  history: Type.Array(BindingEvent),
});

const VISITOR_COOKIE = 'fx_vid';

export const referralRoutes = moduleRoutes<ReferralService>((app, referral) => {
  app.post(
    '/v1/bindings',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags: ['bindings'],
        summary: 'Bind a customer to the distributor of an invite code',
        body: Strict({
          customer_external_id: ExternalId(),
          invite_code: InviteCodeInput,
          client_ip: Type.Optional(Type.String({ minLength: 2, maxLength: 45, pattern: '^[0-9A-Fa-f:.]+$' })),
          device_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' })),
        }),
        response: { 201: Binding, ...errors(403, 409, 422, 429) },
      },
    },
    async (req, reply) => reply.code(201).send(await referral.bind(actor(req), req.body)),
  );

  app.get(
    '/v1/customers/:external_id',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags: ['bindings'],
        summary: "A customer's binding and its history",
        params: Strict({ external_id: ExternalId() }),
        response: { 200: Customer, ...errors(404) },
      },
    },
    async (req) => referral.getCustomer(actor(req), req.params.external_id),
  );

  app.post(
    '/v1/customers/:external_id/move',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags: ['bindings'],
        summary: "Move a customer's binding (admin, with a reason, audited)",
        params: Strict({ external_id: ExternalId() }),
        body: Strict({ distributor_id: Nullable(Type.String({ minLength: 1, maxLength: 64 })), reason: Text(500, { minLength: 1 }) }),
        response: { 200: Customer, ...errors(403, 404, 409, 422) },
      },
    },
    async (req) => referral.moveCustomer(actor(req), req.params.external_id, req.body),
  );

  app.get(
    '/v1/risk-events',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags: ['risk'],
        summary: 'Risk events, newest first',
        querystring: Strict({
          ...PageQuery.properties,
          status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('released'), Type.Literal('confirmed'), Type.Literal('dismissed')])),
          kind: Type.Optional(Text(64)),
        }),
        response: {
          200: List(
            Strict({
              id: Type.String(),
              kind: Type.String(),
              severity: Type.String(),
              subject_type: Type.String(),
              subject_id: Nullable(Type.String()),
              details: Type.Record(Type.String(), Type.Unknown()),
              status: Type.String(),
              created_at: Timestamp(),
            }),
          ),
          ...errors(),
        },
      },
    },
    async (req) =>
      referral.listRiskEvents(actor(req), { status: req.query.status, kind: req.query.kind, cursor: req.query.cursor, limit: req.query.limit ?? 50 }),
  );

  // Where the invite links may land: domains the owner adds and proves by a DNS TXT record.
  const LandingDomain = Strict({
    id: Type.String(),
    domain: Type.String(),
    status: Type.Union([Type.Literal('pending'), Type.Literal('verified')]),
    verified_at: Nullable(Timestamp()),
    verification: Strict({
      type: Type.Literal('dns_txt'),
      name: Type.String({ description: 'the TXT record to publish' }),
      value: Type.String({ description: 'its value' }),
    }),
    created_at: Timestamp(),
  });
  const landingTags = ['landing'];
  app.get(
    '/v1/landing-domains',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags: landingTags,
        summary: 'The domains the landing page (landing_url) may be on',
        response: { 200: Strict({ items: Type.Array(LandingDomain), next_cursor: Type.Null() }), ...errors() },
      },
    },
    async (req) => ({ items: await referral.listLandingDomains(actor(req)), next_cursor: null }),
  );

  app.post(
    '/v1/landing-domains',
    {
      config: { auth: 'tenant', permission: 'keys:write' },
      schema: {
        tags: landingTags,
        summary: 'Add a domain for the landing page; answers the DNS TXT record that proves it is yours',
        body: Strict({ domain: Text(253, { minLength: 1, description: 'a host name, e.g. shop.example.com (its subdomains are covered too)' }) }),
        response: { 201: LandingDomain, ...errors(403, 409) },
      },
    },
    async (req, reply) => reply.code(201).send(await referral.addLandingDomain(actor(req), req.body.domain)),
  );

  app.post(
    '/v1/landing-domains/:id/verify',
    {
      config: { auth: 'tenant', permission: 'keys:write' },
      schema: {
        tags: landingTags,
        summary: 'Look the TXT record up and mark the domain verified (409 while it is not there)',
        params: IdParams,
        body: OptionalBody(Strict({})),
        response: { 200: LandingDomain, ...errors(403, 404, 409) },
      },
    },
    async (req) => referral.verifyLandingDomain(actor(req), req.params.id),
  );

  app.delete(
    '/v1/landing-domains/:id',
    {
      config: { auth: 'tenant', permission: 'keys:write' },
      schema: {
        tags: landingTags,
        summary: 'Remove a domain (409 while landing_url is on it)',
        params: IdParams,
        response: { 204: Type.Null(), ...errors(403, 404, 409) },
      },
    },
    async (req, reply) => {
      await referral.removeLandingDomain(actor(req), req.params.id);
      return reply.code(204).send(null);
    },
  );

  // The public invite link. A visitor cookie tells repeat visits from new ones for the funnel.
  app.get(
    '/i/:code',
    {
      config: { auth: 'public' },
      schema: { hide: true, params: Strict({ code: Type.String({ minLength: 1, maxLength: 32 }) }) },
    },
    async (req, reply) => {
      const cookieHeader = req.headers.cookie ?? '';
      const match = new RegExp(`(?:^|;\\s*)${VISITOR_COOKIE}=([A-Za-z0-9_-]{16,64})`).exec(cookieHeader);
      const visitorId = match?.[1] ?? randomBytes(16).toString('base64url');
      const referer = req.headers.referer ?? null;
      const result = await referral.visit(req.params.code, {
        visitorId,
        ip: req.ip ?? null,
        userAgent: req.headers['user-agent'] ?? null,
        referer,
      });
      if (!match)
        reply.header(
          'set-cookie',
          `${VISITOR_COOKIE}=${visitorId}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax${referral.secureCookies ? '; Secure' : ''}`,
        );
      return reply.header('cache-control', 'no-store').redirect(result.location, 302);
    },
  );
});

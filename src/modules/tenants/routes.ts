import { Type } from '@sinclair/typebox';
import { actor, moduleRoutes } from '../../core/route.ts';
import { IdParams, Nullable, Strict, Text, Timestamp, errors } from '../../core/schema.ts';
import type { TenantsService } from './service.ts';
import { API_KEY_SCOPES } from '../../core/principal.ts';
import { SLUG_PATTERN } from './slug.ts';

const Scope = Type.Union(
  API_KEY_SCOPES.map((s) => Type.Literal(s)),
  {
    description: 'what the key may do: full (everything an owner may), read (reads, as an auditor), orders (orders and their events only)',
  },
);
const ApiKey = Strict({
  id: Type.String(),
  name: Type.String(),
  scope: Scope,
  created_at: Timestamp(),
  revoked_at: Nullable(Timestamp()),
  last_used_at: Nullable(Timestamp()),
});
const NewApiKey = Strict({ ...ApiKey.properties, api_key: Type.String({ description: 'shown once; only its hash is stored' }) });

const Tenant = Strict({ id: Type.String(), name: Type.String(), status: Type.String(), created_at: Timestamp() });
const Slug = Type.String({
  pattern: SLUG_PATTERN,
  minLength: 3,
  maxLength: 32,
  description: 'the short name the console and portal sign in by (lower-case letters, digits, inner hyphens)',
});
const TenantWithSlug = Strict({ ...Tenant.properties, slug: Nullable(Slug) });

export const tenantsRoutes = moduleRoutes<TenantsService>((app, tenants) => {
  app.post(
    '/v1/tenants',
    {
      config: { auth: 'root' },
      schema: {
        tags: ['tenants'],
        summary: 'Create a tenant (platform root token)',
        body: Strict({ name: Text(128, { minLength: 1 }), slug: Type.Optional(Slug) }),
        response: { 201: Strict({ id: Type.String(), name: Type.String(), slug: Slug, api_key: Type.String() }), ...errors(403, 409) },
      },
    },
    async (req, reply) => reply.code(201).send(await tenants.create(actor(req), req.body)),
  );

  app.get(
    '/v1/tenants',
    {
      config: { auth: 'root' },
      schema: {
        tags: ['tenants'],
        summary: 'Every tenant with its status, oldest first (platform root token)',
        querystring: Strict({}),
        response: { 200: Strict({ items: Type.Array(Tenant), next_cursor: Type.Null() }), ...errors(403) },
      },
    },
    async (req) => ({ items: await tenants.list(actor(req)), next_cursor: null }),
  );

  app.post(
    '/v1/tenants/:id/suspend',
    {
      config: { auth: 'root' },
      schema: {
        tags: ['tenants'],
        summary: 'Suspend a tenant (platform root token): its keys and sessions stop, its sessions end, nobody of it signs in',
        params: IdParams,
        body: Strict({ reason: Text(500, { minLength: 1 }) }),
        response: { 200: Tenant, ...errors(404, 409) },
      },
    },
    async (req) => tenants.suspend(actor(req), req.params.id, req.body.reason),
  );

  app.post(
    '/v1/tenants/:id/reactivate',
    {
      config: { auth: 'root' },
      schema: {
        tags: ['tenants'],
        summary: 'Reactivate a suspended tenant (platform root token); sessions the suspension ended stay ended',
        params: IdParams,
        response: { 200: Tenant, ...errors(404, 409) },
      },
    },
    async (req) => tenants.reactivate(actor(req), req.params.id),
  );

  app.get(
    '/v1/tenant',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: { tags: ['tenants'], summary: 'The calling tenant', response: { 200: TenantWithSlug, ...errors() } },
    },
    async (req) => tenants.get(actor(req)),
  );

  // What a sign-in page may know of a merchant named in its URL (issue 16 item 3).
  app.get(
    '/v1/merchants/:ref',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['tenants'],
        summary: 'A merchant by its short name (slug) or id, for the sign-in pages: id, name and slug (404 when none is active)',
        security: [],
        params: Strict({ ref: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: Strict({ id: Type.String(), name: Type.String(), slug: Nullable(Type.String()) }), ...errors(404) },
      },
    },
    async (req) => tenants.publicMerchant(req.params.ref),
  );

  app.get(
    '/v1/api-keys',
    {
      config: { auth: 'tenant', permission: 'keys:write' },
      schema: {
        tags: ['tenants'],
        summary: 'API keys of the tenant',
        response: { 200: Strict({ items: Type.Array(ApiKey), next_cursor: Type.Null() }), ...errors(403) },
      },
    },
    async (req) => ({ items: await tenants.listKeys(actor(req)), next_cursor: null }),
  );

  app.post(
    '/v1/api-keys',
    {
      config: { auth: 'tenant', permission: 'keys:write' },
      schema: {
        tags: ['tenants'],
        summary: 'Create an API key, full (the default) or limited to reads or to orders',
        body: Strict({ name: Text(64, { minLength: 1 }), scope: Type.Optional(Scope) }),
        response: { 201: NewApiKey, ...errors(403, 409) },
      },
    },
    async (req, reply) => reply.code(201).send(await tenants.createKey(actor(req), req.body.name, req.body.scope ?? 'full')),
  );

  app.post(
    '/v1/api-keys/:id/rotate',
    {
      config: { auth: 'tenant', permission: 'keys:write' },
      schema: {
        tags: ['tenants'],
        summary: 'Replace a key with a new one; the old one stops working',
        params: IdParams,
        response: { 201: NewApiKey, ...errors(403, 404, 409) },
      },
    },
    async (req, reply) => reply.code(201).send(await tenants.rotateKey(actor(req), req.params.id)),
  );

  app.post(
    '/v1/api-keys/:id/revoke',
    {
      config: { auth: 'tenant', permission: 'keys:write' },
      schema: { tags: ['tenants'], summary: 'Revoke a key', params: IdParams, response: { 200: ApiKey, ...errors(403, 404, 409) } },
    },
    async (req) => tenants.revokeKey(actor(req), req.params.id),
  );
});

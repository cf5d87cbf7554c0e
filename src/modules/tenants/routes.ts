import { Type } from '@sinclair/typebox';
import { actor, type App } from '../../app/http.ts';
import { IdParams, Nullable, Strict, Text, Timestamp, errors } from '../../app/schema.ts';
import type { Services } from '../../app/services.ts';

const ApiKey = Strict({ id: Type.String(), name: Type.String(), created_at: Timestamp(), revoked_at: Nullable(Timestamp()), last_used_at: Nullable(Timestamp()) });
const NewApiKey = Strict({ ...ApiKey.properties, api_key: Type.String({ description: 'shown once; only its hash is stored' }) });

export function tenantsRoutes(app: App, s: Services) {
  app.post('/v1/tenants', {
    config: { auth: 'root' },
    schema: {
      tags: ['tenants'], summary: 'Create a tenant (platform root token)',
      body: Strict({ name: Text(128, { minLength: 1 }) }),
      response: { 201: Strict({ id: Type.String(), name: Type.String(), api_key: Type.String() }), ...errors(403) },
    },
  }, async (req, reply) => reply.code(201).send(await s.tenants.create(actor(req), req.body)));

  app.get('/v1/tenant', {
    config: { auth: 'tenant', permission: 'read' },
    schema: { tags: ['tenants'], summary: 'The calling tenant', response: { 200: Strict({ id: Type.String(), name: Type.String(), status: Type.String(), created_at: Timestamp() }), ...errors() } },
  }, async (req) => s.tenants.get(actor(req)));

  app.get('/v1/api-keys', {
    config: { auth: 'tenant', permission: 'keys:write' },
    schema: { tags: ['tenants'], summary: 'API keys of the tenant', response: { 200: Strict({ items: Type.Array(ApiKey), next_cursor: Type.Null() }), ...errors(403) } },
  }, async (req) => ({ items: await s.tenants.listKeys(actor(req)), next_cursor: null }));

  app.post('/v1/api-keys', {
    config: { auth: 'tenant', permission: 'keys:write' },
    schema: { tags: ['tenants'], summary: 'Create an API key', body: Strict({ name: Text(64, { minLength: 1 }) }), response: { 201: NewApiKey, ...errors(403) } },
  }, async (req, reply) => reply.code(201).send(await s.tenants.createKey(actor(req), req.body.name)));

  app.post('/v1/api-keys/:id/rotate', {
    config: { auth: 'tenant', permission: 'keys:write' },
    schema: { tags: ['tenants'], summary: 'Replace a key with a new one; the old one stops working', params: IdParams, response: { 201: NewApiKey, ...errors(403, 404, 409) } },
  }, async (req, reply) => reply.code(201).send(await s.tenants.rotateKey(actor(req), req.params.id)));

  app.post('/v1/api-keys/:id/revoke', {
    config: { auth: 'tenant', permission: 'keys:write' },
    schema: { tags: ['tenants'], summary: 'Revoke a key', params: IdParams, response: { 200: ApiKey, ...errors(403, 404, 409) } },
  }, async (req) => s.tenants.revokeKey(actor(req), req.params.id));
}

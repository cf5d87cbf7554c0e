import { Type } from '@sinclair/typebox';
import { actor, moduleRoutes } from '../../core/route.ts';
import { IdParams, Nullable, PageQuery, Strict, Text, Timestamp, errors, List } from '../../core/schema.ts';
import type { AdminService } from './service.ts';

const Role = Type.Union([Type.Literal('owner'), Type.Literal('operator'), Type.Literal('finance'), Type.Literal('auditor')]);
const AdminUser = Strict({ id: Type.String(), email: Type.String(), name: Type.String(), role: Role, disabled: Type.Boolean(), created_at: Timestamp() });
const Email = Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' });
const Password = Type.String({ minLength: 10, maxLength: 200 });

const AuditEntry = Strict({
  id: Type.String(),
  actor_type: Type.String(),
  actor_id: Nullable(Type.String()),
  action: Type.String(),
  target_type: Type.String(),
  target_id: Nullable(Type.String()),
  before: Type.Unknown(),
  after: Type.Unknown(),
  reason: Nullable(Type.String()),
  request_id: Nullable(Type.String()),
  at: Timestamp(),
});

const AnchorText = Type.String({ pattern: '^[0-9]{1,15}:[0-9a-f]{64}$', description: "<seq>:<hash> of an earlier head of this tenant's chain" });

export const adminRoutes = moduleRoutes<AdminService>((app, admin) => {
  app.post(
    '/v1/auth/login',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['auth'],
        summary:
          "Console login: a session token for an admin user. The merchant is named by tenant_id, or by tenant (its id or short name), or not at all when the email's password matches a user of one merchant only",
        body: Strict({
          tenant_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          tenant: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "the merchant's id or short name (slug)" })),
          email: Email,
          password: Type.String({ minLength: 1, maxLength: 200 }),
        }),
        response: {
          200: Strict({ token: Type.String(), expires_at: Timestamp(), tenant_id: Type.String(), tenant_slug: Nullable(Type.String()), user: AdminUser }),
          ...errors(429),
        },
      },
    },
    async (req) => admin.login(req.body, { ip: req.ip }),
  );

  app.post(
    '/v1/auth/logout',
    {
      config: { auth: 'tenant_or_distributor', permission: 'any' },
      schema: { tags: ['auth'], summary: 'End this session', response: { 204: Type.Null(), ...errors() } },
    },
    async (req, reply) => {
      await admin.logout(actor(req));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/admin-users',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags: ['admin users'],
        summary: 'Admin users of the tenant',
        response: { 200: Strict({ items: Type.Array(AdminUser), next_cursor: Type.Null() }), ...errors(403) },
      },
    },
    async (req) => ({ items: await admin.listUsers(actor(req)), next_cursor: null }),
  );

  app.post(
    '/v1/admin-users',
    {
      config: { auth: 'tenant', permission: 'users:write' },
      schema: {
        tags: ['admin users'],
        summary: 'Create an admin user',
        body: Strict({ email: Email, password: Password, role: Role, name: Type.Optional(Text(64)) }),
        response: { 201: AdminUser, ...errors(403, 409) },
      },
    },
    async (req, reply) => reply.code(201).send(await admin.createUser(actor(req), req.body)),
  );

  app.patch(
    '/v1/admin-users/:id',
    {
      config: { auth: 'tenant', permission: 'users:write' },
      schema: {
        tags: ['admin users'],
        summary: 'Change role, name, password, or disable',
        params: IdParams,
        body: Strict({ role: Type.Optional(Role), name: Type.Optional(Text(64)), disabled: Type.Optional(Type.Boolean()), password: Type.Optional(Password) }),
        response: { 200: AdminUser, ...errors(403, 404, 409) },
      },
    },
    async (req) => admin.updateUser(actor(req), req.params.id, req.body),
  );

  app.get(
    '/v1/audit-log/verify',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags: ['audit'],
        summary: "Walk the tenant's audit hash chain and name every edited or removed entry; give anchors kept from earlier heads to detect a rewritten chain",
        querystring: Strict({
          anchor: Type.Optional(Type.Union([AnchorText, Type.Array(AnchorText, { maxItems: 100 })])),
        }),
        response: {
          200: Strict({
            ok: Type.Boolean(),
            entries: Type.Integer(),
            breaks: Type.Array(Strict({ chain: Type.String(), seq: Nullable(Type.Integer()), audit_id: Nullable(Type.String()), problem: Type.String() })),
            heads: Type.Array(Strict({ chain: Type.String(), seq: Type.Integer(), hash: Type.String() }), {
              description: "the chain's last entry: keep it elsewhere and pass it back later as anchor=<seq>:<hash>",
            }),
          }),
          ...errors(403),
        },
      },
    },
    async (req) => {
      const raw = req.query.anchor === undefined ? [] : Array.isArray(req.query.anchor) ? req.query.anchor : [req.query.anchor];
      return admin.verifyAuditLog(actor(req), raw);
    },
  );

  app.get(
    '/v1/audit-log',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags: ['audit'],
        summary: 'Every admin write, newest first',
        querystring: Strict({
          ...PageQuery.properties,
          target_type: Type.Optional(Text(64)),
          target_id: Type.Optional(Text(128)),
          action: Type.Optional(Text(64)),
        }),
        response: { 200: List(AuditEntry), ...errors(403) },
      },
    },
    async (req) =>
      admin.listAuditLog(actor(req), {
        limit: req.query.limit ?? 50,
        ...(req.query.cursor ? { cursor: req.query.cursor } : {}),
        ...(req.query.target_type ? { targetType: req.query.target_type } : {}),
        ...(req.query.target_id ? { targetId: req.query.target_id } : {}),
        ...(req.query.action ? { action: req.query.action } : {}),
      }),
  );
});

import { Type } from '@sinclair/typebox';
import { actor, idempotencyKeyOf, IdempotencyHeaders, moduleRoutes } from '../../core/route.ts';
import { AppError } from '../../core/errors.ts';
import { IdParams, List, Nullable, OptionalBody, Strict, Timestamp, errors } from '../../core/schema.ts';
import type { DistributorsService } from './service.ts';
import {
  ApplicationBody,
  ApplicationReview,
  Conditions,
  ConditionsBody,
  Deposit,
  DepositBody,
  CreateDistributorBody,
  Distributor,
  DistributorListQuery,
  DocumentView,
  MoveBody,
  OptionalReasonBody,
  ReasonBody,
  TeamCounts,
  TeamMember,
  UpdateDistributorBody,
} from './schema.ts';

const UplineMember = Strict({
  level: Type.Integer(),
  id: Type.String(),
  external_id: Type.String(),
  name: Type.String(),
  status: Type.String(),
  grade: Type.String(),
  invite_code: Type.String(),
  joined_at: Timestamp(),
});

export const distributorsRoutes = moduleRoutes<DistributorsService>((app, distributors) => {
  const tags = ['distributors'];

  app.post(
    '/v1/distributors',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags,
        summary: 'Create a distributor (active, or pending under review admission)',
        body: CreateDistributorBody,
        response: { 201: Distributor, ...errors(403, 409, 422, 429) },
      },
    },
    async (req, reply) => reply.code(201).send(await distributors.create(actor(req), req.body)),
  );

  app.post(
    '/v1/applications',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags,
        summary: 'An application to become a distributor, with profile and consent',
        body: ApplicationBody,
        response: { 201: Distributor, ...errors(403, 409, 422, 429) },
      },
    },
    async (req, reply) => reply.code(201).send(await distributors.apply(actor(req), req.body)),
  );

  app.get(
    '/v1/distributors',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: { tags, summary: 'Search and filter distributors', querystring: DistributorListQuery, response: { 200: List(Distributor), ...errors() } },
    },
    async (req) => distributors.list(actor(req), { ...req.query, limit: req.query.limit ?? 50 }),
  );

  app.get(
    '/v1/distributors/:id',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: { tags, summary: 'One distributor', params: IdParams, response: { 200: Distributor, ...errors(404) } },
    },
    async (req) => distributors.get(actor(req), req.params.id),
  );

  app.get(
    '/v1/distributors/:id/review',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: "The automatic review of the distributor's application: each check and why (404: not reviewed automatically)",
        params: IdParams,
        response: { 200: ApplicationReview, ...errors(404) },
      },
    },
    async (req) => distributors.review(actor(req), req.params.id),
  );

  app.patch(
    '/v1/distributors/:id',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags,
        summary: 'Change name, phone, region or grade (audited)',
        params: IdParams,
        body: UpdateDistributorBody,
        response: { 200: Distributor, ...errors(403, 404) },
      },
    },
    async (req) => distributors.update(actor(req), req.params.id, req.body),
  );

  app.post(
    '/v1/distributors/:id/approve',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags,
        summary: 'Approve a pending distributor (admission conditions are checked)',
        params: IdParams,
        body: OptionalBody(OptionalReasonBody),
        response: { 200: Distributor, ...errors(403, 404, 409, 422) },
      },
    },
    async (req) => distributors.approve(actor(req), req.params.id),
  );

  app.post(
    '/v1/distributors/:id/reject',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags,
        summary: 'Reject a pending distributor, with a reason',
        params: IdParams,
        body: ReasonBody,
        response: { 200: Distributor, ...errors(403, 404, 409) },
      },
    },
    async (req) => distributors.reject(actor(req), req.params.id, req.body.reason),
  );

  app.post(
    '/v1/distributors/:id/suspend',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags,
        summary: 'Suspend an active distributor, with a reason',
        params: IdParams,
        body: ReasonBody,
        response: { 200: Distributor, ...errors(403, 404, 409) },
      },
    },
    async (req) => distributors.suspend(actor(req), req.params.id, req.body.reason),
  );

  app.post(
    '/v1/distributors/:id/reactivate',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags,
        summary: 'Lift a suspension',
        params: IdParams,
        body: OptionalBody(OptionalReasonBody),
        response: { 200: Distributor, ...errors(403, 404, 409) },
      },
    },
    async (req) => distributors.reactivate(actor(req), req.params.id, req.body?.reason),
  );

  app.get(
    '/v1/distributors/:id/conditions',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: { tags, summary: 'Admission conditions and what is met', params: IdParams, response: { 200: Conditions, ...errors(404) } },
    },
    async (req) => distributors.conditions(actor(req), req.params.id),
  );

  app.post(
    '/v1/distributors/:id/conditions',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags,
        summary: 'Record the deposit received and training completed',
        params: IdParams,
        body: ConditionsBody,
        response: { 200: Conditions, ...errors(403, 404) },
      },
    },
    async (req) => distributors.recordConditions(actor(req), req.params.id, req.body),
  );

  app.get(
    '/v1/distributors/:id/deposit',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'The admission deposit held for the distributor (its ledger account)',
        params: IdParams,
        response: { 200: Deposit, ...errors(404) },
      },
    },
    async (req) => distributors.deposit(actor(req), req.params.id),
  );

  app.post(
    '/v1/distributors/:id/deposit',
    {
      config: { auth: 'tenant', permission: 'finance:write' },
      schema: {
        tags,
        summary: 'Record a deposit received (finance; Idempotency-Key honoured): held on the ledger until refunded',
        headers: IdempotencyHeaders,
        params: IdParams,
        body: DepositBody,
        response: { 200: Deposit, ...errors(403, 404, 409) },
      },
    },
    async (req) => distributors.recordDeposit(actor(req), req.params.id, req.body, idempotencyKeyOf(req)),
  );

  app.post(
    '/v1/distributors/:id/move',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags,
        summary: 'Move a distributor and its team under another referrer (audited; paid orders keep their chain)',
        params: IdParams,
        body: MoveBody,
        response: { 200: Distributor, ...errors(403, 404, 409, 422) },
      },
    },
    async (req) => distributors.move(actor(req), req.params.id, req.body),
  );

  app.get(
    '/v1/distributors/:id/upline',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'The upline chain, nearest first',
        params: IdParams,
        response: { 200: Strict({ items: Type.Array(UplineMember), next_cursor: Type.Null() }), ...errors(404) },
      },
    },
    async (req) => ({ items: await distributors.upline(actor(req), req.params.id), next_cursor: null }),
  );

  app.get(
    '/v1/distributors/:id/downline',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'The team at one level (1..3), a page at a time',
        params: IdParams,
        querystring: Strict({
          level: Type.Optional(Type.Integer({ minimum: 1, maximum: 3, default: 1 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
          cursor: Type.Optional(Type.String({ maxLength: 64 })),
        }),
        response: { 200: List(TeamMember), ...errors(404) },
      },
    },
    async (req) => distributors.downline(actor(req), req.params.id, (req.query.level ?? 1) as 1 | 2 | 3, req.query.cursor, req.query.limit ?? 50),
  );

  app.get(
    '/v1/distributors/:id/team',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: { tags, summary: 'Team counts: direct, level 2, level 3 and everyone below', params: IdParams, response: { 200: TeamCounts, ...errors(404) } },
    },
    async (req) => distributors.team(actor(req), req.params.id),
  );

  app.get(
    '/v1/distributors/:id/profile',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'Profile: the distributor, its team counts, admission conditions and link visits',
        params: IdParams,
        response: {
          200: Strict({
            distributor: Distributor,
            team: TeamCounts,
            conditions: Conditions,
            visits: Strict({ visits: Type.Integer(), unique_visitors: Type.Integer() }),
          }),
          ...errors(404),
        },
      },
    },
    async (req) => distributors.profile(actor(req), req.params.id),
  );

  app.get(
    '/v1/distributors/:id/customers',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'Customers bound to this distributor',
        params: IdParams,
        querystring: Strict({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
          cursor: Type.Optional(Type.String({ maxLength: 128 })),
        }),
        response: {
          200: List(
            Strict({
              customer_external_id: Type.String(),
              distributor_id: Nullable(Type.String()),
              bound_at: Nullable(Timestamp()),
              source: Nullable(Type.String()),
              tentative_distributor_id: Nullable(Type.String()),
            }),
          ),
          ...errors(404),
        },
      },
    },
    async (req) => distributors.listCustomers(actor(req), req.params.id, req.query.cursor, req.query.limit ?? 50),
  );

  app.get(
    '/v1/distributors/:id/qrcode',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: {
        tags,
        summary: 'The invite link as a QR code (PNG or SVG)',
        params: IdParams,
        querystring: Strict({
          format: Type.Optional(Type.Union([Type.Literal('png'), Type.Literal('svg')], { default: 'png' })),
          size: Type.Optional(Type.Integer({ minimum: 64, maximum: 2048, default: 512 })),
        }),
        produces: ['image/png', 'image/svg+xml'],
      },
    },
    async (req, reply) => {
      const qr = await distributors.qrCode(actor(req), req.params.id, req.query.format ?? 'png', req.query.size ?? 512);
      return reply.type(qr.contentType).header('cache-control', 'private, max-age=3600').send(qr.body);
    },
  );

  app.get(
    '/v1/distributors/:id/documents',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: {
        tags,
        summary: 'Documents uploaded with the application',
        params: IdParams,
        response: { 200: Strict({ items: Type.Array(DocumentView), next_cursor: Type.Null() }), ...errors(404) },
      },
    },
    async (req) => ({ items: await distributors.listDocuments(actor(req), req.params.id), next_cursor: null }),
  );

  app.post(
    '/v1/distributors/:id/documents',
    {
      config: { auth: 'tenant_or_distributor', permission: 'distributors:write' },
      schema: {
        tags,
        summary: `Upload a document (multipart/form-data: field "kind", then the file). PNG, JPEG, WebP or PDF, told by its bytes (a claimed type that disagrees is refused, 415); at most ${distributors.documentLimits.maxBytes} bytes (413); a distributor holds at most ${distributors.documentLimits.perDistributor} (422 limit_exceeded). Stored encrypted`,
        params: IdParams,
        consumes: ['multipart/form-data'],
        response: { 201: DocumentView, ...errors(403, 404, 409, 413, 415, 422) },
      },
    },
    async (req, reply) => {
      if (!req.isMultipart())
        throw new AppError('unsupported_media_type', { en: 'send the document as multipart/form-data', zh: '请以 multipart/form-data 发送资料文件' });
      const maxBytes = distributors.documentLimits.maxBytes;
      let kind = 'document';
      for await (const part of req.parts({ limits: { fileSize: maxBytes, files: 1, fields: 5 } })) {
        if (part.type === 'field') {
          if (part.fieldname === 'kind' && typeof part.value === 'string' && /^[a-z_]{1,32}$/.test(part.value)) kind = part.value;
          else if (part.fieldname === 'kind')
            throw new AppError('invalid_request', { en: 'kind must be 1-32 lower-case letters or _', zh: 'kind 须为 1 到 32 个小写字母或下划线' });
          continue;
        }
        const data = await part.toBuffer();
        if (part.file.truncated)
          throw new AppError('payload_too_large', { en: `documents are at most ${maxBytes} bytes`, zh: `资料文件至多 ${maxBytes} 字节` });
        const doc = await distributors.uploadDocument(actor(req), req.params.id, {
          kind,
          filename: part.filename || 'upload',
          claimedType: part.mimetype ?? '',
          data,
        });
        return reply.code(201).send(doc);
      }
      throw new AppError('invalid_request', { en: 'no file in the upload', zh: '上传内容中没有文件' });
    },
  );

  app.delete(
    '/v1/documents/:id',
    {
      // A reviewer removes a wrong, unreadable or no longer needed scan; audited with the reason.
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags,
        summary: 'Delete a document (audited; the file and its key are destroyed)',
        params: IdParams,
        body: OptionalBody(OptionalReasonBody),
        response: { 204: Type.Null(), ...errors(403, 404) },
      },
    },
    async (req, reply) => {
      await distributors.deleteDocument(actor(req), req.params.id, req.body?.reason);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/documents/:id/content',
    {
      // Documents are personal data (ID card photos, licences): for those who review applications,
      // not for finance or auditors, and every read is in the audit log.
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: { tags, summary: 'The document itself (each read is audited)', params: IdParams },
    },
    async (req, reply) => {
      const doc = await distributors.readDocument(actor(req), req.params.id);
      return reply
        .type(doc.contentType)
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(doc.meta.filename)}`)
        .header('cache-control', 'private, no-store')
        .send(doc.data);
    },
  );
});

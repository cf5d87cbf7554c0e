import { actor, idempotencyKeyOf, IdempotencyHeaders, moduleRoutes } from '../../core/route.ts';
import { IdParams, List, errors } from '../../core/schema.ts';
import type { AgentApplications } from './applications.ts';
import { ApplicationBody, ApplicationDocumentParams, ApplicationListQuery, ApplicationView, ReasonBody } from './schema.ts';

export const agentApplicationsRoutes = moduleRoutes<AgentApplications>((app, applications) => {
  const tags = ['agents'];

  app.post(
    '/v1/agent-applications',
    {
      config: { auth: 'distributor' },
      schema: {
        tags,
        summary:
          'A distributor applies to be the agent of one territory of one rank, with a note and documents it uploaded (Idempotency-Key honoured); one open application per distributor, refused if already an agent or the territory has an active agent (409)',
        headers: IdempotencyHeaders,
        body: ApplicationBody,
        response: { 201: ApplicationView, ...errors(409) },
      },
    },
    async (req, reply) => {
      const key = idempotencyKeyOf(req);
      return reply.code(201).send(await applications.submit(actor(req), req.body, key));
    },
  );

  app.get(
    '/v1/agent-applications',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: {
        tags,
        summary: 'Agent applications, open ones first, then newest first (a distributor sees its own)',
        querystring: ApplicationListQuery,
        response: { 200: List(ApplicationView), ...errors() },
      },
    },
    async (req) => applications.list(actor(req), { ...req.query, limit: req.query.limit ?? 50 }),
  );

  app.get(
    '/v1/agent-applications/:id',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: {
        tags,
        summary: 'An agent application: status, and the reason of a rejection',
        params: IdParams,
        response: { 200: ApplicationView, ...errors(404) },
      },
    },
    async (req) => applications.get(actor(req), req.params.id),
  );

  app.get(
    '/v1/agent-applications/:id/documents/:document_id',
    {
      // Identity documents: for the merchant's reviewers and the applicant, each read audited.
      config: { auth: 'tenant_or_distributor', permission: 'distributors:write' },
      schema: { tags, summary: 'A document of the application (reviewers and the applicant; each read is audited)', params: ApplicationDocumentParams },
    },
    async (req, reply) => {
      const doc = await applications.document(actor(req), req.params.id, req.params.document_id);
      return reply
        .type(doc.contentType)
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(doc.meta.filename)}`)
        .header('cache-control', 'private, no-store')
        .send(doc.data);
    },
  );

  app.post(
    '/v1/agent-applications/:id/approve',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags,
        summary: 'Approve: the distributor is appointed agent of the territory in the same transaction (409 if the territory is taken meanwhile)',
        params: IdParams,
        response: { 200: ApplicationView, ...errors(403, 404, 409) },
      },
    },
    async (req) => applications.approve(actor(req), req.params.id),
  );

  app.post(
    '/v1/agent-applications/:id/reject',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags,
        summary: 'Reject, with a reason the applicant sees',
        params: IdParams,
        body: ReasonBody,
        response: { 200: ApplicationView, ...errors(403, 404, 409) },
      },
    },
    async (req) => applications.reject(actor(req), req.params.id, req.body.reason),
  );
});

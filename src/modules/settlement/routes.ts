import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { jobErrorIn } from '../../core/errors.ts';
import { actor, languageOf, moduleRoutes } from '../../core/route.ts';
import { IdParams, List, Nullable, PageQuery, Strict, Text, Timestamp, errors, OptionalBody } from '../../core/schema.ts';
import type { SettlementService } from './service.ts';

/** A statement as the API answers it (and statement.approved / statement.rejected carry it). */
export const Statement = Strict({
  id: Type.String(),
  distributor_id: Type.String(),
  amount_fen: Type.Integer(),
  status: Type.Union([Type.Literal('approved'), Type.Literal('pending_review'), Type.Literal('rejected')]),
  line_count: Type.Integer(),
  debt_offset_fen: Type.Integer({ description: 'of the amount, what paid off clawback debt' }),
  period_end: Timestamp(),
  run_id: Type.String(),
  review_reason: Nullable(Type.String()),
  created_at: Timestamp(),
  approved_at: Nullable(Timestamp()),
});

export const settlementRoutes = moduleRoutes<SettlementService>((app, settlement) => {
  const tags = ['settlement'];

  app.post(
    '/v1/settlements/run',
    {
      config: { auth: 'tenant', permission: 'finance:write' },
      schema: {
        tags,
        summary: "Make final what is past its freeze days, then settle each distributor's available commissions into a statement",
        body: Strict({ as_of: Timestamp() }),
        response: { 200: Strict({ run_id: Type.String(), made_available: Type.Integer(), statements: Type.Array(Statement) }), ...errors(403) },
      },
    },
    async (req) => settlement.runNow(actor(req), new Date(req.body.as_of)),
  );

  const Job = Strict(
    {
      id: Type.String(),
      status: Type.Union([Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')]),
      as_of: Timestamp(),
      done: Type.Integer({ minimum: 0, description: 'distributors settled so far' }),
      total: Nullable(Type.Integer({ minimum: 0, description: 'distributors the run found to settle; null until it has looked' })),
      started_at: Timestamp(),
      finished_at: Nullable(Timestamp()),
      result: Nullable(Strict({ run_id: Type.String(), made_available: Type.Integer(), statements: Type.Array(Statement) })),
      error: Nullable(Strict({ code: Type.String(), message: Type.String() })),
    },
    { title: 'SettlementJob' },
  );
  // A failed job's message in the reader's language (the job keeps both).
  const jobView = ({ tenantId: _tenant, ...job }: Awaited<ReturnType<SettlementService['getJob']>>, req: FastifyRequest) => ({
    ...job,
    error: jobErrorIn(job.error, languageOf(req)),
  });

  app.post(
    '/v1/settlements/jobs',
    {
      config: { auth: 'tenant', permission: 'finance:write' },
      schema: {
        tags,
        summary:
          'The same run as POST /v1/settlements/run, in the background: answers at once with a job to poll for its progress and result (kept an hour; any process answers it)',
        body: Strict({ as_of: Timestamp() }),
        response: { 202: Job, ...errors(403) },
      },
    },
    async (req, reply) => reply.code(202).send(jobView(await settlement.startJob(actor(req), new Date(req.body.as_of), req.log), req)),
  );

  app.get(
    '/v1/settlements/jobs/:id',
    {
      config: { auth: 'tenant', permission: 'finance:read' },
      schema: {
        tags,
        summary: 'A background settlement run: how far it has got, then its statements or why it failed',
        params: IdParams,
        response: { 200: Job, ...errors(404) },
      },
    },
    async (req) => jobView(await settlement.getJob(actor(req), req.params.id), req),
  );

  app.get(
    '/v1/statements',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: {
        tags,
        summary: 'Statements, newest first (a distributor sees its own)',
        querystring: Strict({
          ...PageQuery.properties,
          status: Type.Optional(Type.Union([Type.Literal('approved'), Type.Literal('pending_review'), Type.Literal('rejected')])),
          distributor_id: Type.Optional(Type.String({ maxLength: 64 })),
        }),
        response: { 200: List(Statement), ...errors() },
      },
    },
    async (req) => settlement.list(actor(req), { ...req.query, limit: req.query.limit ?? 50 }),
  );

  app.get(
    '/v1/statements/:id',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: {
        tags,
        summary: 'A statement with its lines',
        params: IdParams,
        response: {
          200: Strict({
            ...Statement.properties,
            lines: Type.Array(
              Strict({
                id: Type.String(),
                level: Type.Integer(),
                amount_fen: Type.Integer(),
                base_fen: Type.Integer(),
                rate_bp: Type.Integer(),
                status: Type.String(),
                order_external_id: Type.String(),
              }),
            ),
          }),
          ...errors(404),
        },
      },
    },
    async (req) => settlement.get(actor(req), req.params.id),
  );

  app.post(
    '/v1/statements/:id/approve',
    {
      config: { auth: 'tenant', permission: 'finance:approve' },
      schema: {
        tags,
        summary: 'Approve a statement under review: its amount moves to withdrawable',
        params: IdParams,
        body: OptionalBody(Strict({})),
        response: { 200: Statement, ...errors(403, 404, 409) },
      },
    },
    async (req) => settlement.approve(actor(req), req.params.id),
  );

  app.post(
    '/v1/statements/:id/reject',
    {
      config: { auth: 'tenant', permission: 'finance:approve' },
      schema: {
        tags,
        summary: 'Reject a statement with a reason; its lines go back to available, or are held',
        params: IdParams,
        body: Strict({
          reason: Text(500, { minLength: 1 }),
          lines: Type.Optional(Type.Union([Type.Literal('available'), Type.Literal('hold')], { default: 'available' })),
        }),
        response: { 200: Statement, ...errors(403, 404, 409) },
      },
    },
    async (req) => settlement.reject(actor(req), req.params.id, { reason: req.body.reason, lines: req.body.lines ?? 'available' }),
  );

  app.post(
    '/v1/commissions/:id/hold',
    {
      config: { auth: 'tenant', permission: 'risk:write' },
      schema: {
        tags: ['commissions'],
        summary: 'Hold a line: it is not settled until released',
        params: IdParams,
        body: Strict({ reason: Text(500, { minLength: 1 }) }),
        response: { 200: Strict({ id: Type.String(), held: Type.Boolean() }), ...errors(403, 404, 409) },
      },
    },
    async (req) => settlement.setCommissionHeld(actor(req), req.params.id, true, req.body.reason),
  );

  app.post(
    '/v1/commissions/:id/release',
    {
      config: { auth: 'tenant', permission: 'risk:write' },
      schema: {
        tags: ['commissions'],
        summary: 'Release a held line',
        params: IdParams,
        body: Strict({ reason: Text(500, { minLength: 1 }) }),
        response: { 200: Strict({ id: Type.String(), held: Type.Boolean() }), ...errors(403, 404, 409) },
      },
    },
    async (req) => settlement.setCommissionHeld(actor(req), req.params.id, false, req.body.reason),
  );
});

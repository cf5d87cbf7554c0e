import { Type } from '@sinclair/typebox';
import { actor, moduleRoutes } from '../../core/route.ts';
import { IdParams, List, Nullable, PageQuery, SignedFen, Strict, Timestamp, errors } from '../../core/schema.ts';
import type { CommissionsService } from './service.ts';
import { CommissionLine } from '../orders/schema.ts';

export const Balance = Strict({
  pending_fen: SignedFen(),
  available_fen: SignedFen(),
  withdrawable_fen: SignedFen('may be negative after a clawback'),
  withdrawing_fen: SignedFen(),
  withdrawn_fen: SignedFen(),
});

const Explained = Strict({
  ...CommissionLine.properties,
  original_base_fen: SignedFen(),
  original_amount_fen: SignedFen(),
  capped_fen: Type.Integer(),
  beneficiary_grade: Type.String(),
  adjusts: Type.Optional(Type.String({ description: 'an adjustment line (month-end tier true-up): the tier line it raises' })),
  explanation: Type.Object({}, { additionalProperties: true }),
  clawbacks: Type.Array(Strict({ id: Type.String(), amount_fen: SignedFen(), created_at: Timestamp() })),
  postings: Type.Array(Strict({ journal_id: Type.String(), kind: Type.String(), account: Type.String(), amount_fen: SignedFen(), at: Timestamp() })),
});

export const commissionsRoutes = moduleRoutes<CommissionsService>((app, commissions) => {
  const tags = ['commissions'];

  app.get(
    '/v1/distributors/:id/balance',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: {
        tags,
        summary: 'Pending, available, withdrawable, withdrawing and withdrawn, from the ledger',
        params: IdParams,
        response: { 200: Balance, ...errors(404) },
      },
    },
    async (req) => commissions.balance(actor(req), req.params.id),
  );

  app.get(
    '/v1/distributors/:id/commissions',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: {
        tags,
        summary: 'Commission lines of a beneficiary, newest first',
        params: IdParams,
        querystring: Strict({
          ...PageQuery.properties,
          status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('available'), Type.Literal('settled'), Type.Literal('reversed')])),
        }),
        response: { 200: List(CommissionLine), ...errors(404) },
      },
    },
    async (req) =>
      commissions.listForDistributor(actor(req), req.params.id, { status: req.query.status, cursor: req.query.cursor, limit: req.query.limit ?? 50 }),
  );

  app.get(
    '/v1/commissions/:id',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: {
        tags,
        summary: 'One line, explained: base, rate and its source, rule version, level, chain, postings',
        params: IdParams,
        response: { 200: Explained, ...errors(404) },
      },
    },
    async (req) => commissions.explain(actor(req), req.params.id),
  );

  app.get(
    '/v1/distributors/:id/grade-history',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags: ['distributors'],
        summary: 'Grade changes (automatic upgrades on sales, admin changes)',
        params: IdParams,
        response: {
          200: Strict({
            items: Type.Array(
              Strict({
                from_grade: Type.String(),
                to_grade: Type.String(),
                reason: Type.String(),
                actor_type: Type.String(),
                actor_id: Nullable(Type.String()),
                at: Timestamp(),
              }),
            ),
            next_cursor: Type.Null(),
          }),
          ...errors(404),
        },
      },
    },
    async (req) => ({ items: await commissions.gradeHistory(actor(req), req.params.id), next_cursor: null }),
  );
});

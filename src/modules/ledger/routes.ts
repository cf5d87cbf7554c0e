import { Type } from '@sinclair/typebox';
import { actor, moduleRoutes } from '../../core/route.ts';
import { Nullable, SignedFen, Strict, Text, Timestamp, errors } from '../../core/schema.ts';
import type { Ledger } from './service.ts';

export const ledgerRoutes = moduleRoutes<Ledger>((app, ledger) => {
  const tags = ['ledger'];

  app.get(
    '/v1/ledger/verify',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'Check every ledger invariant for this tenant and name each break',
        response: {
          200: Strict({
            ok: Type.Boolean(),
            tenant_id: Nullable(Type.String()),
            checked: Strict({ journals: Type.Integer(), postings: Type.Integer(), accounts: Type.Integer(), commissions: Type.Integer() }),
            breaks: Type.Array(Strict({ invariant: Type.String(), subject: Type.String(), detail: Type.String() })),
          }),
          ...errors(403),
        },
      },
    },
    async (req) => ledger.verify(actor(req)),
  );

  app.get(
    '/v1/journal-entries',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'Journal entries with their postings, by what caused them',
        querystring: Strict({ ref_id: Text(64, { minLength: 1 }) }),
        response: {
          200: Strict({
            items: Type.Array(
              Strict({
                id: Type.String(),
                kind: Type.String(),
                ref_type: Type.String(),
                ref_id: Type.String(),
                memo: Nullable(Type.String()),
                created_at: Timestamp(),
                postings: Type.Array(
                  Strict({
                    account_id: Type.String(),
                    owner_id: Type.String(),
                    purpose: Type.String(),
                    amount_fen: SignedFen(),
                    commission_id: Nullable(Type.String()),
                    balance_after: Nullable(SignedFen()),
                  }),
                ),
              }),
            ),
            next_cursor: Type.Null(),
          }),
          ...errors(403),
        },
      },
    },
    async (req) => ledger.journalEntries(actor(req), req.query.ref_id),
  );
});

import { Type } from '@sinclair/typebox';
import { actor, type App } from '../../core/route.ts';
import { Nullable, SignedFen, Strict, Text, Timestamp, errors } from '../../core/schema.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import type { Services } from '../../app/services.ts';
import { verifyLedger } from './verify.ts';

export function ledgerRoutes(app: App, s: Services) {
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
    async (req) => {
      const a = actor(req);
      requirePermission(a.principal, 'read');
      return verifyLedger(s.db, tenantOf(a.principal), s.ledgerChecks);
    },
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
    async (req) => {
      const a = actor(req);
      requirePermission(a.principal, 'read');
      const tenantId = tenantOf(a.principal);
      const journals = await s.db
        .selectFrom('journal_entries')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('ref_id', '=', req.query.ref_id)
        .orderBy('id')
        .execute();
      const postings =
        journals.length === 0
          ? []
          : await s.db
              .selectFrom('postings as p')
              .innerJoin('accounts as a', 'a.id', 'p.account_id')
              .select(['p.journal_id', 'p.account_id', 'a.owner_id', 'a.purpose', 'p.amount', 'p.commission_id', 'p.balance_after'])
              .where(
                'p.journal_id',
                'in',
                journals.map((j) => j.id),
              )
              .orderBy('p.id')
              .execute();
      return {
        items: journals.map((j) => ({
          id: j.id,
          kind: j.kind,
          ref_type: j.ref_type,
          ref_id: j.ref_id,
          memo: j.memo,
          created_at: j.created_at.toISOString(),
          postings: postings
            .filter((p) => p.journal_id === j.id)
            .map((p) => ({
              account_id: p.account_id,
              owner_id: p.owner_id,
              purpose: p.purpose,
              amount_fen: p.amount,
              commission_id: p.commission_id,
              balance_after: p.balance_after,
            })),
        })),
        next_cursor: null,
      };
    },
  );
}

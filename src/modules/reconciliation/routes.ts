import { actor, moduleRoutes } from '../../core/route.ts';
import { errors } from '../../core/schema.ts';
import { ReconciliationQuery, ReconciliationReport } from './schema.ts';
import type { ReconciliationService } from './service.ts';

export const reconciliationRoutes = moduleRoutes<ReconciliationService>((app, reconciliation) => {
  app.get(
    '/v1/reconciliation',
    {
      config: { auth: 'tenant', permission: 'finance:read' },
      schema: {
        tags: ['reconciliation'],
        summary: 'Every withdrawal of a period against the ledger and the payout channels: totals by channel and status, and each mismatch named',
        description:
          'The period is by withdrawal request time, [from, to). Totals and mismatches cover the whole period; `items` is a page of its withdrawals (`cursor` for the next). Everything is read in one REPEATABLE READ snapshot. finance, owner and auditor.',
        querystring: ReconciliationQuery,
        response: { 200: ReconciliationReport, ...errors(403) },
      },
    },
    async (req) => reconciliation.report(actor(req), { ...req.query, limit: req.query.limit ?? 100 }),
  );
});

import { Type } from '@sinclair/typebox';
import { actor, moduleRoutes } from '../../core/route.ts';
import { IdParams, Nullable, Strict, Text, Timestamp, errors } from '../../core/schema.ts';
import type { RiskService } from './service.ts';

const Decision = Strict({ id: Type.String(), status: Type.String(), lines: Type.Integer({ description: 'commission lines released or reversed' }) });

/** A risk event as the list answers it (and risk_event.opened carries it). */
export const RiskEvent = Strict({
  id: Type.String(),
  kind: Type.String(),
  severity: Type.String(),
  subject_type: Type.String(),
  subject_id: Nullable(Type.String()),
  details: Type.Record(Type.String(), Type.Unknown()),
  status: Type.String(),
  created_at: Timestamp(),
});

export const riskRoutes = moduleRoutes<RiskService>((app, risk) => {
  const tags = ['risk'];

  app.get(
    '/v1/risk-events/:id',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'A risk event with the commission lines it holds',
        params: IdParams,
        response: {
          200: Strict({
            ...RiskEvent.properties,
            review_note: Nullable(Type.String()),
            reviewed_at: Nullable(Timestamp()),
            lines: Type.Array(
              Strict({
                id: Type.String(),
                beneficiary_id: Type.String(),
                amount_fen: Type.Integer(),
                status: Type.String(),
                held: Type.Boolean(),
                order_id: Type.String(),
              }),
            ),
          }),
          ...errors(404),
        },
      },
    },
    async (req) => risk.get(actor(req), req.params.id),
  );

  for (const action of ['release', 'confirm', 'dismiss'] as const) {
    const summary = {
      release: 'Review: release what the event held',
      confirm: 'Review: confirm fraud; the held commissions are reversed with journal entries',
      dismiss: 'Review: dismiss a flag',
    }[action];
    app.post(
      `/v1/risk-events/:id/${action}`,
      {
        config: { auth: 'tenant', permission: 'risk:write' },
        schema: { tags, summary, params: IdParams, body: Strict({ note: Text(500, { minLength: 1 }) }), response: { 200: Decision, ...errors(403, 404, 409) } },
      },
      async (req) => risk.review(actor(req), (req.params as { id: string }).id, action, (req.body as { note: string }).note),
    );
  }

  app.post(
    '/v1/distributors/:id/risk-hold/lift',
    {
      config: { auth: 'tenant', permission: 'risk:write' },
      schema: {
        tags,
        summary:
          "Lift a distributor's risk hold that no open event keeps (after confirmed fraud was dealt with); its held lines no open event holds are released",
        params: IdParams,
        body: Strict({ note: Text(500, { minLength: 1 }) }),
        response: { 200: Strict({ distributor_id: Type.String(), risk_hold: Type.Boolean(), lines: Type.Integer({ minimum: 0 }) }), ...errors(403, 404, 409) },
      },
    },
    async (req) => risk.liftHold(actor(req), req.params.id, req.body.note),
  );
});

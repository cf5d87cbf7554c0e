import { Type } from '@sinclair/typebox';
import { actor, moduleRoutes } from '../../core/route.ts';
import { Strict, Timestamp, errors } from '../../core/schema.ts';
import type { ComplianceService } from './service.ts';

export const complianceRoutes = moduleRoutes<ComplianceService>((app, compliance) => {
  app.get(
    '/v1/compliance/report',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags: ['compliance'],
        summary: "The program's settings against each compliance rule, for the merchant's legal review",
        response: {
          200: Strict({
            tenant_id: Type.String(),
            generated_at: Timestamp(),
            compliant: Type.Boolean(),
            rules: Type.Array(
              Strict({
                rule: Type.String(),
                status: Type.Union([Type.Literal('compliant'), Type.Literal('violation'), Type.Literal('advisory')]),
                title: Strict({ zh: Type.String(), en: Type.String() }),
                setting: Type.Unknown(),
                detail: Type.String(),
              }),
            ),
          }),
          ...errors(403),
        },
      },
    },
    async (req) => compliance.report(actor(req)),
  );
});

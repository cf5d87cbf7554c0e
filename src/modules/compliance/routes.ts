import { Type } from '@sinclair/typebox';
import { actor, type App } from '../../core/route.ts';
import { Strict, Timestamp, errors } from '../../core/schema.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import type { Services } from '../../app/services.ts';
import { programRepo } from '../program/repo.ts';
import type { GradeSettings } from '../program/service.ts';
import { complianceFindings } from './rules.ts';

export function complianceRoutes(app: App, s: Services) {
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
    async (req) => {
      const a = actor(req);
      requirePermission(a.principal, 'read');
      const tenantId = tenantOf(a.principal);
      const settings = await s.program.read(s.db, tenantId);
      const grades = (await programRepo.listGrades(s.db, tenantId)).map((g) => ({ code: g.code, upgrade: (g.settings as GradeSettings).upgrade ?? null }));
      const rules = complianceFindings(settings, grades);
      return { tenant_id: tenantId, generated_at: s.clock.now().toISOString(), compliant: rules.every((r) => r.status !== 'violation'), rules };
    },
  );
}

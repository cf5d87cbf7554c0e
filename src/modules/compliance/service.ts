import type { Db } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import type { ProgramService } from '../program/service.ts';
import { complianceFindings, type Finding } from './rules.ts';

export interface ComplianceReport {
  tenant_id: string;
  generated_at: string;
  compliant: boolean;
  rules: Finding[];
}

/** The compliance report: the program's settings and grades, as the program module keeps them, against each rule of rules.ts. */
export function createComplianceService(deps: {
  db: Db;
  clock: Clock;
  program: ProgramService;
  /** Findings other modules state about their own settings (agent mode's buyback window). */
  moreFindings?: ((tenantId: string) => Promise<Finding[]>)[];
}) {
  const { db, clock, program } = deps;
  return {
    /** GET /v1/compliance/report. */
    async report(actor: Actor): Promise<ComplianceReport> {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      const settings = await program.read(db, tenantId);
      const grades = (await program.listGrades(actor)).map((g) => ({ code: g.code, upgrade: g.upgrade ?? null }));
      const rules = complianceFindings(settings, grades);
      for (const more of deps.moreFindings ?? []) rules.push(...(await more(tenantId)));
      return { tenant_id: tenantId, generated_at: clock.now().toISOString(), compliant: rules.every((r) => r.status !== 'violation'), rules };
    },
  };
}

export type ComplianceService = ReturnType<typeof createComplianceService>;

import type { Executor } from '../../db/database.ts';
import type { Clock } from '../../core/context.ts';
import type { ProgramService } from '../program/service.ts';
import type { ProgramSettings } from '../program/schema.ts';
import type { RulesService, VersionTime } from '../rules/service.ts';

/** A tenant's program and rule versions as they stood at one rule version number. */
export interface TenantContext {
  version: number;
  settings: ProgramSettings;
  versions: VersionTime[];
  /** When a scheduled version takes effect: the settings are read again from then on. */
  validUntil: number;
}

/**
 * Per tenant, the program and the rule versions as of the newest version number. Every change of
 * the program, a grade or a SKU rule writes a new version (rules.latestVersionSql), so what is
 * kept under a number is fresh while that number is the newest: a batch reads the number with
 * one of its statements and the rest only when it moved. Shared by batches of orders and of
 * order events.
 */
export function createTenantContexts(deps: { program: ProgramService; rules: RulesService; clock: Clock }) {
  const contexts = new Map<string, TenantContext>();
  return {
    /** The context at `version` (as latestVersionSql answered it in this transaction). */
    async at(ex: Executor, tenantId: string, version: number | null): Promise<TenantContext> {
      let context = contexts.get(tenantId);
      const now = deps.clock.now().getTime();
      if (!context || context.version !== version || now >= context.validUntil) {
        const versions = await deps.rules.versionsOf(ex, tenantId);
        const later = versions.map((v) => v.effective_from.getTime()).filter((t) => t > now);
        context = {
          version: version ?? 0,
          settings: await deps.program.read(ex, tenantId),
          versions,
          validUntil: later.length > 0 ? Math.min(...later) : Infinity,
        };
        if (contexts.size > 10_000) contexts.clear();
        contexts.set(tenantId, context);
      }
      return context;
    },
  };
}

export type TenantContexts = ReturnType<typeof createTenantContexts>;

import type { Db, Executor } from '../../db/database.ts';
import type { Actor, Clock } from '../../app/context.ts';
import { AppError } from '../../app/errors.ts';
import { requirePermission, tenantOf } from '../../app/principal.ts';
import type { RateLimiter } from '../../adapters/ratelimit/types.ts';
import { newId } from '../../lib/ids.ts';
import { riskRepo } from './repo.ts';

export interface RiskEventView {
  id: string; kind: string; severity: string; subject_type: string; subject_id: string | null;
  details: Record<string, unknown>; status: string; created_at: string;
}

export interface WindowLimit { limit: number; window_seconds: number }

export function createRiskService(deps: { db: Db; clock: Clock; limiter: RateLimiter }) {
  const { db, clock, limiter } = deps;

  async function record(ex: Executor, tenantId: string, e: { kind: string; severity?: 'flag' | 'hold' | 'block'; subjectType: string; subjectId: string | null; details: Record<string, unknown> }): Promise<string> {
    const id = newId('rsk');
    await riskRepo.insert(ex, { id, tenant_id: tenantId, kind: e.kind, severity: e.severity ?? 'flag', subject_type: e.subjectType, subject_id: e.subjectId, details: e.details });
    return id;
  }

  return {
    record,

    /**
     * Anti-cheat on registration and binding: the end user's IP and device id (which the
     * merchant's backend passes on) each get a sliding window. Over a limit: a risk event, then
     * 429 rate_limited; nothing else is written.
     */
    async enforceLimits(tenantId: string, scope: 'registration' | 'binding', subject: { ip?: string | undefined; deviceId?: string | undefined; subjectId?: string | undefined }, limits: { per_ip: WindowLimit | null; per_device: WindowLimit | null }): Promise<void> {
      const nowMs = clock.now().getTime();
      const checks: { dimension: 'ip' | 'device'; value: string; limit: WindowLimit }[] = [];
      if (subject.ip && limits.per_ip) checks.push({ dimension: 'ip', value: subject.ip, limit: limits.per_ip });
      if (subject.deviceId && limits.per_device) checks.push({ dimension: 'device', value: subject.deviceId, limit: limits.per_device });
      for (const c of checks) {
        const r = await limiter.hit(`${tenantId}:${scope}:${c.dimension}:${c.value}`, c.limit.limit, c.limit.window_seconds * 1000, nowMs);
        if (!r.allowed) {
          await record(db, tenantId, {
            kind: `${scope}_${c.dimension}_limit`,
            subjectType: c.dimension,
            subjectId: c.value,
            details: { scope, limit: c.limit.limit, window_seconds: c.limit.window_seconds, ...(subject.subjectId ? { attempted_for: subject.subjectId } : {}) },
          });
          throw new AppError('rate_limited', `too many ${scope === 'registration' ? 'registrations' : 'bindings'} from this ${c.dimension === 'ip' ? 'IP address' : 'device'}; try again later`, {
            retry_after_seconds: Math.ceil(r.retryAfterMs / 1000),
          });
        }
      }
    },

    async list(actor: Actor, opts: { status?: string | undefined; kind?: string | undefined; cursor?: string | undefined; limit: number }): Promise<{ items: RiskEventView[]; next_cursor: string | null }> {
      requirePermission(actor.principal, 'read');
      const rows = await riskRepo.list(db, tenantOf(actor.principal), {
        ...(opts.status ? { status: opts.status } : {}),
        ...(opts.kind ? { kind: opts.kind } : {}),
        ...(opts.cursor ? { beforeId: opts.cursor } : {}),
        limit: opts.limit + 1,
      });
      const page = rows.slice(0, opts.limit);
      return {
        items: page.map((r) => ({ id: r.id, kind: r.kind, severity: r.severity, subject_type: r.subject_type, subject_id: r.subject_id, details: r.details, status: r.status, created_at: r.created_at.toISOString() })),
        next_cursor: rows.length > opts.limit ? page[page.length - 1]!.id : null,
      };
    },
  };
}

export type RiskService = ReturnType<typeof createRiskService>;

import type { Executor } from '../../db/database.ts';

export interface AuditEntryInput {
  tenantId: string | null;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  before: unknown;
  after: unknown;
  reason: string | null;
  requestId: string | null;
}

export const auditRepo = {
  async insert(db: Executor, e: AuditEntryInput): Promise<void> {
    await db.insertInto('audit_log').values({
      tenant_id: e.tenantId,
      actor_type: e.actorType,
      actor_id: e.actorId,
      action: e.action,
      target_type: e.targetType,
      target_id: e.targetId,
      before: e.before === undefined || e.before === null ? null : JSON.stringify(e.before),
      after: e.after === undefined || e.after === null ? null : JSON.stringify(e.after),
      reason: e.reason,
      request_id: e.requestId,
    }).execute();
  },

  async list(db: Executor, tenantId: string, opts: { afterId?: number; limit: number; targetType?: string; targetId?: string; action?: string }) {
    let q = db.selectFrom('audit_log').selectAll().where('tenant_id', '=', tenantId);
    if (opts.afterId !== undefined) q = q.where('id', '<', opts.afterId);
    if (opts.targetType) q = q.where('target_type', '=', opts.targetType);
    if (opts.targetId) q = q.where('target_id', '=', opts.targetId);
    if (opts.action) q = q.where('action', '=', opts.action);
    return q.orderBy('id', 'desc').limit(opts.limit).execute();
  },
};

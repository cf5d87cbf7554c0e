import type { Executor } from '../../db/database.ts';

export const riskRepo = {
  async insert(
    db: Executor,
    e: {
      id: string;
      tenant_id: string;
      kind: string;
      severity: 'flag' | 'hold' | 'block';
      subject_type: string;
      subject_id: string | null;
      details: Record<string, unknown>;
    },
  ) {
    await db
      .insertInto('risk_events')
      .values({ ...e, details: JSON.stringify(e.details) })
      .execute();
  },
  async list(db: Executor, tenantId: string, opts: { status?: string; kind?: string; beforeId?: string; limit: number }) {
    let q = db.selectFrom('risk_events').selectAll().where('tenant_id', '=', tenantId);
    if (opts.status) q = q.where('status', '=', opts.status as 'open');
    if (opts.kind) q = q.where('kind', '=', opts.kind);
    if (opts.beforeId) q = q.where('id', '<', opts.beforeId);
    return q.orderBy('id', 'desc').limit(opts.limit).execute();
  },
};

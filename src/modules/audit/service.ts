import type { Db, Executor } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { actorOf, requirePermission, tenantOf } from '../../core/principal.ts';
import { auditRepo } from './repo.ts';

export interface AuditRecord {
  action: string;
  targetType: string;
  targetId: string | null;
  before?: unknown;
  after?: unknown;
  reason?: string | null;
  /** Platform actions (tenant creation) name the tenant they concern. */
  tenantId?: string;
}

export interface AuditService {
  /** Writes one entry in the caller's transaction, so the change and its record commit together. */
  record(tx: Executor, actor: Actor, entry: AuditRecord): Promise<void>;
  /** Walks the hash chains (one tenant's, or all) and names every break. */
  verify(db: Executor, tenantId: string | null, anchors?: AuditAnchor[]): Promise<AuditVerifyReport>;
  list(
    db: Executor,
    actor: Actor,
    query: { limit: number; cursor?: string; targetType?: string; targetId?: string; action?: string },
  ): Promise<{ items: AuditEntryView[]; next_cursor: string | null }>;
}

/**
 * A chain's head as it was once read and kept outside the database (a ticket, another system).
 * Whoever can write the database could rewrite a whole chain and its head consistently; an anchor
 * kept elsewhere still tells: the entry at `seq` must still carry `hash`.
 */
export interface AuditAnchor {
  chain: string;
  seq: number;
  hash: string;
}

export interface AuditVerifyReport {
  ok: boolean;
  entries: number;
  breaks: { chain: string; seq: number | null; audit_id: string | null; problem: string }[];
  /** Each chain's last entry: keep these elsewhere, and verify later against them as anchors. */
  heads: AuditAnchor[];
}

export interface AuditEntryView {
  id: string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  before: unknown;
  after: unknown;
  reason: string | null;
  request_id: string | null;
  at: string;
}

export function createAuditService(deps: { clock: Clock }): AuditService {
  return {
    async record(ex, actor, entry) {
      const { actorType, actorId } = actorOf(actor.principal);
      // The chain head must stay locked from reading it to writing the entry: outside a
      // transaction, open one.
      const write = (tx: Executor) =>
        auditRepo.insert(
          tx,
          {
            tenantId: entry.tenantId ?? (actor.principal.kind === 'root' ? null : actor.principal.tenantId),
            actorType,
            actorId,
            action: entry.action,
            targetType: entry.targetType,
            targetId: entry.targetId,
            before: entry.before ?? null,
            after: entry.after ?? null,
            reason: entry.reason ?? null,
            requestId: actor.requestId,
          },
          deps.clock.now(),
        );
      if ((ex as { isTransaction?: boolean }).isTransaction) await write(ex);
      else await (ex as Db).transaction().execute(write);
    },

    async verify(db, tenantId, anchors = []) {
      const breaks: AuditVerifyReport['breaks'] = await auditRepo.verify(db, tenantId);
      for (const anchor of anchors) {
        const entry = await auditRepo.entryAt(db, anchor.chain, anchor.seq);
        if (!entry) breaks.push({ chain: anchor.chain, seq: anchor.seq, audit_id: null, problem: 'the anchored entry is gone' });
        else if (entry.hash !== anchor.hash)
          breaks.push({
            chain: anchor.chain,
            seq: anchor.seq,
            audit_id: String(entry.id),
            problem: 'the anchored entry no longer has the anchored hash (the chain was rewritten)',
          });
      }
      const count = await auditRepo.count(db, tenantId);
      const heads = await auditRepo.heads(db, tenantId);
      return { ok: breaks.length === 0, entries: Number(count.n), breaks, heads: heads.map((h) => ({ chain: h.chain, seq: Number(h.seq), hash: h.hash })) };
    },

    async list(db, actor, query) {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      const afterId = query.cursor && /^\d+$/.test(query.cursor) ? Number(query.cursor) : undefined;
      const rows = await auditRepo.list(db, tenantId, {
        ...(afterId !== undefined ? { afterId } : {}),
        limit: query.limit + 1,
        ...(query.targetType ? { targetType: query.targetType } : {}),
        ...(query.targetId ? { targetId: query.targetId } : {}),
        ...(query.action ? { action: query.action } : {}),
      });
      const page = rows.slice(0, query.limit);
      return {
        items: page.map((r) => ({
          id: String(r.id),
          actor_type: r.actor_type,
          actor_id: r.actor_id,
          action: r.action,
          target_type: r.target_type,
          target_id: r.target_id,
          before: r.before,
          after: r.after,
          reason: r.reason,
          request_id: r.request_id,
          at: r.at.toISOString(),
        })),
        next_cursor: rows.length > query.limit ? lastCursor(page) : null,
      };
    },
  };
}

/** The cursor after a page that has more rows after it (so it is not empty). */
function lastCursor(page: { id: number | string | bigint }[]): string {
  const last = page.at(-1);
  if (!last) throw new Error('a page with more rows after it is not empty');
  return String(last.id);
}

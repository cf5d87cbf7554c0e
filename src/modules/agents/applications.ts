import type { Db, Tx } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { conflict, invalid, invalidState, notFound } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { actorOf, requirePermission, tenantOf } from '../../core/principal.ts';
import type { AgentRank } from '../../db/schema.ts';
import { isRegionOfRank, regionFullName, regionName } from '../../lib/regions.ts';
import { zhStatus } from '../../core/error-text.ts';
import type { AuditService } from '../audit/service.ts';
import type { Outbox } from '../webhooks/outbox.ts';
import { claimKey, requestHash } from '../idempotency/service.ts';
import { agentsRepo, type ApplicationRow } from './repo.ts';
import type { AgentView, ApplicationBody, ApplicationView } from './schema.ts';

/** What an application needs of a distributor's documents (distributors/documents.ts: encrypted, audited reads). */
export interface ApplicationDocuments {
  ownedBy(tenantId: string, distributorId: string): Promise<{ id: string; kind: string; filename: string; content_type: string; size_bytes: number }[]>;
  readOwnedBy(actor: Actor, tenantId: string, distributorId: string, docId: string): Promise<{ meta: { filename: string }; data: Buffer; contentType: string }>;
}

type Doc = Awaited<ReturnType<ApplicationDocuments['ownedBy']>>[number];

export function applicationView(a: ApplicationRow, docs: readonly Doc[]): ApplicationView {
  const byId = new Map(docs.map((d) => [d.id, d]));
  return {
    id: a.id,
    distributor_id: a.distributor_id,
    rank: a.rank,
    region_code: a.region_code,
    region_name: regionName(a.region_code) ?? a.region_code,
    region_full_name: regionFullName(a.region_code) ?? a.region_code,
    note: a.note,
    documents: a.document_ids.flatMap((id) => {
      const d = byId.get(id);
      return d ? [{ id: d.id, kind: d.kind, filename: d.filename, content_type: d.content_type, size_bytes: d.size_bytes }] : [];
    }),
    status: a.status,
    reason: a.reason,
    agent_id: a.agent_id,
    reviewed_at: a.reviewed_at?.toISOString() ?? null,
    created_at: a.created_at.toISOString(),
  };
}

/**
 * Agent applications (代理申请): a distributor asks for one territory of one rank with a note and
 * the documents it uploaded; the merchant approves, which appoints the agent through the same
 * code path as POST /v1/agents in the same transaction, or rejects with a reason. A distributor
 * sees only its own applications, and their documents; the documents are read through the
 * distributors module, encrypted at rest and each read audited.
 */
export function createAgentApplications(deps: {
  db: Db;
  clock: Clock;
  audit: AuditService;
  outbox: Pick<Outbox, 'record'>;
  documents: ApplicationDocuments;
  /** The appointment in the caller's transaction (agents service). */
  appointIn: (tx: Tx, actor: Actor, tenantId: string, body: { distributor_id: string; rank: AgentRank; region_code: string }) => Promise<AgentView>;
}) {
  const { db, clock, audit, outbox, documents } = deps;

  async function viewOf(a: ApplicationRow): Promise<ApplicationView> {
    return applicationView(a, a.document_ids.length ? await documents.ownedBy(a.tenant_id, a.distributor_id) : []);
  }

  /** The application, if the caller may see it: the merchant's staff with `permission`, or its applicant (404 for anyone else). */
  async function visible(actor: Actor, id: string, permission: 'read' | 'distributors:write'): Promise<ApplicationRow> {
    const p = actor.principal;
    if (p.kind !== 'distributor') requirePermission(p, permission);
    const tenantId = tenantOf(p);
    const a = await agentsRepo.findApplication(db, tenantId, id);
    if (!a || (p.kind === 'distributor' && a.distributor_id !== p.distributorId)) throw notFound('agent_application');
    return a;
  }

  /** Why the distributor cannot have the territory now, or nothing: already an agent, or the territory taken. */
  async function refuseTaken(ex: Db | Tx, tenantId: string, distributorId: string, regionCode: string): Promise<void> {
    const held = await agentsRepo.heldBy(ex, tenantId, distributorId);
    if (held.length > 0)
      throw conflict({
        en: `distributor ${distributorId} is already an agent (${held.map((h) => h.region_code).join(', ')})`,
        zh: `分销员 ${distributorId} 已是代理（${held.map((h) => h.region_code).join('、')}）`,
      });
    if (await agentsRepo.activeIn(ex, tenantId, regionCode))
      throw conflict({ en: `territory ${regionCode} already has an active agent`, zh: `区域 ${regionCode} 已有一个有效的代理` });
  }

  return {
    /** POST /v1/agent-applications: from the portal; one open application per distributor (409). */
    async submit(actor: Actor, body: ApplicationBody, idempotencyKey: string | undefined): Promise<ApplicationView> {
      const p = actor.principal;
      if (p.kind !== 'distributor') throw invalidState({ en: 'a distributor applies from the portal', zh: '代理申请须由分销员在门户中提交' });
      const tenantId = p.tenantId;
      const distributorId = p.distributorId;
      if (!isRegionOfRank(body.region_code, body.rank))
        throw invalid({
          en: `region_code ${body.region_code} is not a ${body.rank} code of GB/T 2260`,
          zh: `region_code ${body.region_code} 不是 GB/T 2260 中的${zhStatus(body.rank)}级代码`,
        });
      const own = await documents.ownedBy(tenantId, distributorId);
      const unknown = body.document_ids.filter((id) => !own.some((d) => d.id === id));
      if (unknown.length > 0)
        throw invalid({ en: `document_ids: no document ${unknown.join(', ')} of yours`, zh: `document_ids：您没有资料文件 ${unknown.join('、')}` });
      return inTransaction(db, async (tx) => {
        let claim: { save(status: number, body: unknown): Promise<void> } | null = null;
        if (idempotencyKey !== undefined) {
          const claimed = await claimKey<ApplicationView>(tx, tenantId, `agent_application:distributor:${distributorId}`, idempotencyKey, requestHash(body));
          if (claimed.replay) return claimed.answer;
          claim = claimed.claim;
        }
        const d = await agentsRepo.distributor(tx, tenantId, distributorId);
        if (!d || d.status !== 'active')
          throw invalidState({
            en: `distributor ${distributorId} is ${d?.status ?? 'unknown'}: only an active distributor can apply`,
            zh: `分销员 ${distributorId} 状态为${zhStatus(d?.status ?? 'unknown')}：只有正常状态的分销员才能申请`,
          });
        await refuseTaken(tx, tenantId, distributorId, body.region_code);
        const now = clock.now();
        let row: ApplicationRow;
        try {
          row = await agentsRepo.insertApplication(tx, {
            id: newId('aap'),
            tenant_id: tenantId,
            distributor_id: distributorId,
            rank: body.rank,
            region_code: body.region_code,
            note: body.note ?? '',
            document_ids: body.document_ids,
            status: 'pending',
            created_at: now,
            updated_at: now,
          });
        } catch (error) {
          // agent_applications_open: one pending application per distributor.
          if ((error as { code?: unknown }).code === '23505')
            throw conflict({ en: 'you already have an open agent application', zh: '您已有一份待审核的代理申请' });
          throw error;
        }
        const view = applicationView(row, own);
        await audit.record(tx, actor, {
          action: 'agent_application.submit',
          targetType: 'agent_application',
          targetId: row.id,
          after: { rank: row.rank, region_code: row.region_code, document_ids: row.document_ids },
        });
        await outbox.record(tx, tenantId, [{ type: 'agent_application.submitted', objectType: 'agent_application', objectId: row.id, data: view }]);
        await claim?.save(201, view);
        return view;
      });
    },

    async get(actor: Actor, id: string): Promise<ApplicationView> {
      return viewOf(await visible(actor, id, 'read'));
    },

    /** Open applications first, then newest first; a distributor sees its own. */
    async list(actor: Actor, q: { status?: string | undefined; distributor_id?: string | undefined; cursor?: string | undefined; limit: number }) {
      const p = actor.principal;
      if (p.kind !== 'distributor') requirePermission(p, 'read');
      const tenantId = tenantOf(p);
      const distributorId = p.kind === 'distributor' ? p.distributorId : q.distributor_id;
      // The cursor is the last row's place: p.<id> among the open, d.<id> among the decided.
      let after: { open: boolean; id: string } | undefined;
      if (q.cursor !== undefined) {
        const m = /^([pd])\.(.+)$/.exec(q.cursor);
        if (!m?.[2]) throw invalid({ en: 'cursor: not a cursor this list gave', zh: 'cursor：不是本列表返回的游标' });
        after = { open: m[1] === 'p', id: m[2] };
      }
      const rows = await agentsRepo.listApplications(db, tenantId, { status: q.status, distributorId, after, limit: q.limit + 1 });
      const page = rows.slice(0, q.limit);
      const docsOf = new Map<string, Doc[]>();
      for (const r of page)
        if (r.document_ids.length && !docsOf.has(r.distributor_id)) docsOf.set(r.distributor_id, await documents.ownedBy(tenantId, r.distributor_id));
      const last = page.at(-1);
      return {
        items: page.map((r) => applicationView(r, docsOf.get(r.distributor_id) ?? [])),
        next_cursor: rows.length > q.limit && last ? `${last.status === 'pending' ? 'p' : 'd'}.${last.id}` : null,
      };
    },

    /** A document of the application, for the merchant's reviewers and the applicant only; audited. */
    async document(actor: Actor, id: string, docId: string) {
      const a = await visible(actor, id, 'distributors:write');
      if (!a.document_ids.includes(docId)) throw notFound('document');
      return documents.readOwnedBy(actor, a.tenant_id, a.distributor_id, docId);
    },

    /**
     * Approves a pending application: the agent is appointed (the same checks as POST /v1/agents:
     * one active agent per territory, decided by its unique index when two approvals race) and the
     * application marked approved, in one transaction; either both or neither.
     */
    async approve(actor: Actor, id: string): Promise<ApplicationView> {
      requirePermission(actor.principal, 'distributors:write');
      const tenantId = tenantOf(actor.principal);
      const decided = await inTransaction(db, async (tx) => {
        const a = await agentsRepo.findApplicationForUpdate(tx, tenantId, id);
        if (!a) throw notFound('agent_application');
        if (a.status !== 'pending')
          throw invalidState({
            en: `the application is ${a.status}: only a pending one can be approved`,
            zh: `该申请状态为${zhStatus(a.status)}：只有待审核的申请才能批准`,
          });
        await refuseTaken(tx, tenantId, a.distributor_id, a.region_code);
        const agent = await deps.appointIn(tx, actor, tenantId, { distributor_id: a.distributor_id, rank: a.rank, region_code: a.region_code });
        const now = clock.now();
        const { actorId } = actorOf(actor.principal);
        if (!(await agentsRepo.decideApplication(tx, tenantId, id, { status: 'approved', reason: null, agent_id: agent.id, reviewed_by: actorId, at: now })))
          throw conflict({ en: 'the application was decided meanwhile', zh: '该申请已被他人处理' });
        await audit.record(tx, actor, {
          action: 'agent_application.approve',
          targetType: 'agent_application',
          targetId: id,
          before: { status: 'pending' },
          after: { status: 'approved', agent_id: agent.id },
        });
        return { ...a, status: 'approved' as const, agent_id: agent.id, reviewed_by: actorId, reviewed_at: now, updated_at: now };
      });
      // The documents' descriptions are read after the commit: the transaction holds the one
      // connection PGlite has.
      return viewOf(decided);
    },

    /** Rejects a pending application with a reason the applicant sees in the portal. */
    async reject(actor: Actor, id: string, reason: string): Promise<ApplicationView> {
      requirePermission(actor.principal, 'distributors:write');
      const tenantId = tenantOf(actor.principal);
      const decided = await inTransaction(db, async (tx) => {
        const a = await agentsRepo.findApplicationForUpdate(tx, tenantId, id);
        if (!a) throw notFound('agent_application');
        if (a.status !== 'pending')
          throw invalidState({
            en: `the application is ${a.status}: only a pending one can be rejected`,
            zh: `该申请状态为${zhStatus(a.status)}：只有待审核的申请才能驳回`,
          });
        const now = clock.now();
        const { actorId } = actorOf(actor.principal);
        if (!(await agentsRepo.decideApplication(tx, tenantId, id, { status: 'rejected', reason, agent_id: null, reviewed_by: actorId, at: now })))
          throw conflict({ en: 'the application was decided meanwhile', zh: '该申请已被他人处理' });
        await audit.record(tx, actor, {
          action: 'agent_application.reject',
          targetType: 'agent_application',
          targetId: id,
          before: { status: 'pending' },
          after: { status: 'rejected' },
          reason,
        });
        return { ...a, status: 'rejected' as const, reason, reviewed_by: actorId, reviewed_at: now, updated_at: now };
      });
      return viewOf(decided);
    },
  };
}

export type AgentApplications = ReturnType<typeof createAgentApplications>;

import { sql } from 'kysely';
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
  /**
   * Appends to the tenant's hash chain (platform entries have their own). The head row is
   * locked first, so concurrent writers of one chain take turns; the caller's transaction holds
   * it until commit. The hash is computed by the database function that verification uses.
   */
  async insert(db: Executor, e: AuditEntryInput, at: Date): Promise<void> {
    const chain = e.tenantId ?? '_platform';
    const head = await sql<{ seq: number; hash: string }>`
      insert into audit_heads (chain) values (${chain})
      on conflict (chain) do update set chain = excluded.chain
      returning seq, hash`.execute(db);
    const prev = head.rows[0];
    if (!prev) throw new Error(`audit chain ${chain}: the head row upsert returned nothing`);
    const seq = Number(prev.seq) + 1;
    const before = e.before === undefined || e.before === null ? null : JSON.stringify(e.before);
    const after = e.after === undefined || e.after === null ? null : JSON.stringify(e.after);
    await sql`
      with a as (
        insert into audit_log (tenant_id, actor_type, actor_id, action, target_type, target_id, before, after, reason, request_id, at, chain, seq, prev_hash, hash)
        values (${e.tenantId}, ${e.actorType}, ${e.actorId}, ${e.action}, ${e.targetType}, ${e.targetId}, ${before}::jsonb, ${after}::jsonb,
                ${e.reason}, ${e.requestId}, ${at}::timestamptz, ${chain}, ${seq}, ${prev.hash},
                fenxiao_audit_hash(${prev.hash}, ${chain}, ${seq}::bigint, ${e.actorType}, ${e.actorId}, ${e.action}, ${e.targetType}, ${e.targetId},
                                   ${before}::jsonb, ${after}::jsonb, ${e.reason}, ${e.requestId}, ${at}::timestamptz))
        returning hash
      )
      update audit_heads set seq = ${seq}, hash = (select hash from a) where chain = ${chain}`.execute(db);
  },

  /**
   * Every break in the chains: an entry whose hash no longer matches its fields (edited), a gap
   * in the sequence or a wrong link to the previous hash (removed or reordered), and a head that
   * does not match the last entry (removed from the end).
   */
  async verify(db: Executor, tenantId: string | null) {
    const scope = tenantId === null ? sql`true` : sql`a.chain = ${tenantId}`;
    const entries = await sql<{ chain: string; seq: number; id: number; problem: string }>`
      select chain, seq, id, problem from (
        select a.chain, a.seq, a.id,
          case
            when a.hash is null then 'entry has no hash'
            when a.hash <> fenxiao_audit_hash(a.prev_hash, a.chain, a.seq, a.actor_type, a.actor_id, a.action, a.target_type, a.target_id,
                                               a.before, a.after, a.reason, a.request_id, a.at) then 'entry was edited (hash does not match its fields)'
            when a.seq <> coalesce(lag(a.seq) over w, 0) + 1 then 'entries are missing before this one (sequence gap)'
            when a.prev_hash <> coalesce(lag(a.hash) over w, '') then 'link to the previous entry is broken'
          end as problem
        from audit_log a where ${scope}
        window w as (partition by a.chain order by a.seq)
      ) x where problem is not null order by chain, seq`.execute(db);
    const heads = await sql<{ chain: string; problem: string }>`
      select h.chain, 'the chain head says ' || h.seq || ' entries, the log has ' || coalesce(l.n, 0) || ' ending at ' || coalesce(l.last_seq, 0) as problem
        from audit_heads h
        left join (select chain, count(*) as n, max(seq) as last_seq,
                          (array_agg(hash order by seq desc))[1] as last_hash
                     from audit_log group by chain) l on l.chain = h.chain
       where ${tenantId === null ? sql`true` : sql`h.chain = ${tenantId}`}
         and (h.seq <> coalesce(l.last_seq, 0) or h.hash <> coalesce(l.last_hash, ''))`.execute(db);
    return [
      ...entries.rows.map((r) => ({ chain: r.chain, seq: Number(r.seq), audit_id: String(r.id), problem: r.problem })),
      ...heads.rows.map((r) => ({ chain: r.chain, seq: null, audit_id: null, problem: r.problem })),
    ];
  },

  /** The entry at a position of a chain (an anchor names it). */
  async entryAt(db: Executor, chain: string, seq: number) {
    return db.selectFrom('audit_log').select(['id', 'hash']).where('chain', '=', chain).where('seq', '=', seq).executeTakeFirst();
  },

  /** How many entries one chain holds (every chain's when null). */
  async count(db: Executor, chain: string | null) {
    return db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .$call((q) => (chain === null ? q : q.where('chain', '=', chain)))
      .executeTakeFirstOrThrow();
  },

  /** The heads of the chains that have entries (one chain when named). */
  async heads(db: Executor, chain: string | null) {
    return db
      .selectFrom('audit_heads')
      .select(['chain', 'seq', 'hash'])
      .$call((q) => (chain === null ? q : q.where('chain', '=', chain)))
      .where('seq', '>', 0)
      .orderBy('chain')
      .execute();
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

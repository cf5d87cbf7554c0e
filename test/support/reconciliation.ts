/**
 * Helpers for the reconciliation and export tests: a small funded tenant paid through the manual
 * channel, the ledger's figures computed independently with SQL, journals written behind the
 * services' back (to break things on purpose), and downloads.
 */
import { sql } from 'kysely';
import type { Db } from '../../src/db/database.ts';
import { newId } from '../../src/core/ids.ts';
import type { TestServer } from './server.ts';

export interface SmallTenant {
  tenantId: string;
  key: string;
  d: { id: string; external_id: string; name: string };
  /** A manual-channel withdrawal left in the given state. */
  withdraw(
    amount: number,
    end: 'pending_review' | 'approved' | 'paid' | 'failed' | 'rejected',
  ): Promise<{ id: string; payout: { id: string; out_no: string } | null }>;
}

/**
 * One distributor with `fen` withdrawable (a 100% sales rate on one order, received and settled),
 * a fee of 1% plus 1 yuan per withdrawal, and every withdrawal waiting for review.
 */
export async function smallTenant(t: TestServer, fen = 100_000, name = '小店'): Promise<SmallTenant> {
  const { id: tenantId, key } = await t.tenant(name);
  const ok = (res: { statusCode: number; body: string }, what: string) => {
    if (res.statusCode >= 300) throw new Error(`${what}: ${res.statusCode} ${res.body}`);
  };
  ok(
    await t.call('PUT', '/v1/program', {
      token: key,
      body: {
        levels: 1,
        freeze_days: 0,
        review_threshold_fen: 100_000_000,
        withdrawal: { min_fen: 1, fee_bp: 100, fixed_fee_fen: 100, auto_approve_max_fen: 0 },
      },
    }),
    'program',
  );
  ok(await t.call('PUT', '/v1/grades/default', { token: key, body: { name: 'g', rank: 0, sales_bp: 10000, override_bp: [] } }), 'grade');
  const dr = await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'D1', name: '王五' } });
  ok(dr, 'distributor');
  const d = dr.data as { id: string; external_id: string; name: string; invite_code: string };
  ok(await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'buyer-1', invite_code: d.invite_code } }), 'binding');
  ok(
    await t.call('POST', '/v1/orders', {
      token: key,
      body: { external_id: 'o-1', buyer_external_id: 'buyer-1', items: [{ sku: 's', quantity: 1, unit_price_fen: fen, paid_fen: fen }] },
    }),
    'order',
  );
  ok(
    await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'received', at: new Date(t.clock.now().getTime() - 1000).toISOString() } }),
    'received',
  );
  ok(await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: t.clock.now().toISOString() } }), 'settlement');
  return {
    tenantId,
    key,
    d,
    async withdraw(amount, end) {
      const w = await t.call('POST', '/v1/withdrawals', { token: key, body: { distributor_id: d.id, amount_fen: amount, channel: 'manual' } });
      ok(w, 'withdrawal');
      const id = w.data.id as string;
      if (end === 'rejected') ok(await t.call('POST', `/v1/withdrawals/${id}/reject`, { token: key, body: { reason: 'identity check' } }), 'reject');
      if (end === 'approved' || end === 'paid' || end === 'failed') ok(await t.call('POST', `/v1/withdrawals/${id}/approve`, { token: key }), 'approve');
      if (end === 'paid') ok(await t.call('POST', `/v1/withdrawals/${id}/complete`, { token: key, body: { reference: `REF-${id.slice(-6)}` } }), 'complete');
      if (end === 'failed') ok(await t.call('POST', `/v1/withdrawals/${id}/fail`, { token: key, body: { reason: 'account closed' } }), 'fail');
      const after = (await t.call('GET', `/v1/withdrawals/${id}`, { token: key })).data;
      if (after.status !== end) throw new Error(`withdrawal ended ${after.status}, not ${end}`);
      return { id, payout: after.payout };
    },
  };
}

/** The sum of the postings of a tenant's accounts of one purpose (merchant or distributors'). */
export async function postingsOf(db: Db, tenantId: string, purpose: string): Promise<number> {
  const r = await sql<{ s: number }>`
    select coalesce(sum(p.amount), 0)::bigint as s from postings p join accounts a on a.id = p.account_id
     where a.tenant_id = ${tenantId} and a.purpose = ${purpose}`.execute(db);
  return r.rows[0]!.s;
}

export async function accountId(db: Db, tenantId: string, owner: string, purpose: string): Promise<string> {
  const r = await db
    .selectFrom('accounts')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('owner_id', '=', owner)
    .where('purpose', '=', purpose)
    .executeTakeFirstOrThrow();
  return r.id;
}

/**
 * Writes a journal straight into the tables, past every service (postings are append-only, but
 * inserts are allowed): legs on merchant accounts only, so no cached balance is touched.
 */
export async function insertJournal(
  db: Db,
  tenantId: string,
  j: { kind: string; refType: string; refId: string; legs: { purpose: string; amount: number; party?: string | null }[] },
): Promise<string> {
  const id = newId('je');
  await db
    .insertInto('journal_entries')
    .values({ id, tenant_id: tenantId, kind: j.kind, ref_type: j.refType, ref_id: j.refId, memo: 'written by a test' })
    .execute();
  const legs = await Promise.all(
    j.legs.map(async (l) => ({
      journal_id: id,
      tenant_id: tenantId,
      account_id: await accountId(db, tenantId, 'tenant', l.purpose),
      amount: l.amount,
      party_id: l.party ?? null,
    })),
  );
  await db.insertInto('postings').values(legs).execute();
  return id;
}

/** GET a download through Fastify's inject: status, headers and the raw bytes. */
export async function download(t: TestServer, url: string, token: string) {
  const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, headers: res.headers, bytes: res.rawPayload, text: res.rawPayload.toString('utf8') };
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { ManualClock } from '../../src/core/context.ts';
import { onPostgres } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Issue 13 item 2: `ledger verify` checks what was written since the tenant's last clean
 * checkpoint, carrying the balances from it, and catches there what a full pass catches; a full
 * pass (on demand, weekly from the scheduler) also finds what was changed before the checkpoint.
 * The console reads the last result without checking anything and runs a new one as a job.
 */

const BALANCED = 'every journal balances (debits = credits)';
const CACHED = 'each cached balance equals the sum of its postings';
const RUNNING = "each posting's balance_after is the running balance of its account";
const LINKED = 'every posting has its journal and commission line, every commission line its order and order item';

interface Verification {
  ok: boolean;
  mode: 'full' | 'incremental';
  since_posting_id: number | null;
  checkpoint_posting_id: number | null;
  checked: { journals: number; postings: number; accounts: number; commissions: number };
  breaks: { invariant: string; subject: string; detail: string }[];
  full_only: string[];
  duration_ms: number;
}

let t: TestServer;
const clock = new ManualClock('2026-03-01T08:00:00Z');
beforeAll(async () => {
  t = await startTestServer({ clock });
});
afterAll(async () => {
  await t?.close();
});

async function merchant() {
  const { id, key } = await t.tenant();
  await t.call('PUT', '/v1/grades/default', { token: key, body: { name: 'g', rank: 0, sales_bp: 1000, override_bp: [500] } });
  const up = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'U', name: 'U' } })).data;
  const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'D', name: 'D', referrer_code: up.invite_code } })).data;
  await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'buyer', invite_code: d.invite_code } });
  let n = 0;
  const order = async (paid = 5000) => {
    const res = await t.call('POST', '/v1/orders', {
      token: key,
      body: { external_id: `o-${++n}`, buyer_external_id: 'buyer', items: [{ sku: 's', quantity: 1, unit_price_fen: paid, paid_fen: paid }] },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.data;
  };
  const verify = async (mode: 'full' | 'incremental') => {
    const res = await t.call('GET', `/v1/ledger/verify?mode=${mode}`, { token: key });
    expect(res.statusCode, res.body).toBe(200);
    return res.data as Verification;
  };
  return { id, key, d, order, verify };
}

/** Changes rows the database otherwise refuses to change (postings are append-only): a test's corruption. */
async function corrupt(statement: ReturnType<typeof sql>) {
  await t.database.db.transaction().execute(async (tx) => {
    await sql`set local session_replication_role = replica`.execute(tx);
    await statement.execute(tx);
  });
}

async function postingsOf(tenantId: string) {
  return (
    await sql<{ id: string; journal_id: string; account_id: string; cached: boolean; owner_id: string; purpose: string }>`
      select p.id::text as id, p.journal_id, p.account_id, a.cached, a.owner_id, a.purpose from postings p join accounts a on a.id = p.account_id
       where p.tenant_id = ${tenantId} order by p.id`.execute(t.database.db)
  ).rows.map((r) => ({ ...r, id: Number(r.id) }));
}

describe('incremental ledger verification', () => {
  it('starts with a full pass, then checks only the postings after the checkpoint, carrying the balances', async () => {
    const m = await merchant();
    await m.order();
    const first = await m.verify('incremental');
    // No checkpoint yet: the first pass is a full one, and sets it at the last posting.
    expect(first).toMatchObject({ ok: true, mode: 'full', since_posting_id: null, breaks: [] });
    const before = await postingsOf(m.id);
    expect(first.checkpoint_posting_id).toBe(before.at(-1)!.id);

    await m.order(3000);
    await m.order(7000);
    const after = await postingsOf(m.id);
    const fresh = after.filter((p) => p.id > first.checkpoint_posting_id!);
    const second = await m.verify('incremental');
    expect(second).toMatchObject({ ok: true, mode: 'incremental', since_posting_id: first.checkpoint_posting_id, breaks: [] });
    expect(second.checked.postings).toBe(fresh.length);
    expect(second.checked.journals).toBe(new Set(fresh.map((p) => p.journal_id)).size);
    expect(second.checkpoint_posting_id).toBe(after.at(-1)!.id);
    expect(second.full_only).toEqual(["the merchant's commission expense equals the sum of all commission lines"]);

    // Nothing new: nothing to check, still clean, the checkpoint stays.
    const third = await m.verify('incremental');
    expect(third).toMatchObject({ ok: true, mode: 'incremental', checkpoint_posting_id: second.checkpoint_posting_id });
    expect(third.checked.postings).toBe(0);

    // The carried balances are each account's sum of postings up to the checkpoint.
    const carried = await sql<{ n: string }>`select count(*) as n from ledger_checkpoint_balances c
      join (select account_id, sum(amount) as s, count(*) as k from postings where tenant_id = ${m.id} and id <= ${third.checkpoint_posting_id} group by account_id) x
        on x.account_id = c.account_id and x.s = c.balance and x.k = c.version`.execute(t.database.db);
    expect(Number(carried.rows[0]!.n)).toBe(new Set(after.map((p) => p.account_id)).size);
  });

  it('catches an unbalanced journal, a drifted cached balance and a wrong balance_after written after the checkpoint', async () => {
    const m = await merchant();
    await m.order();
    const base = await m.verify('full');
    expect(base.ok).toBe(true);
    await m.order(8000);
    const fresh = (await postingsOf(m.id)).filter((p) => p.id > base.checkpoint_posting_id!);
    const expense = fresh.find((p) => p.purpose === 'commission_expense')!;
    const pending = fresh.find((p) => p.cached)!;

    // A new journal that no longer balances (a merchant-side leg changed by one fen).
    await corrupt(sql`update postings set amount = amount + 1 where id = ${expense.id}`);
    let r = await m.verify('incremental');
    expect(r.mode).toBe('incremental');
    expect(r.ok).toBe(false);
    expect(r.breaks.filter((b) => b.invariant === BALANCED)).toEqual([{ invariant: BALANCED, subject: expense.journal_id, detail: 'off by 1 fen' }]);
    // A pass with breaks leaves the checkpoint where it was: the next one sees the same rows again.
    expect(r.checkpoint_posting_id).toBe(base.checkpoint_posting_id);
    await corrupt(sql`update postings set amount = amount - 1 where id = ${expense.id}`);
    expect((await m.verify('incremental')).ok).toBe(true);

    await m.order(6000);
    const since = (await m.verify('incremental')).checkpoint_posting_id!;
    await m.order(4000);
    const newer = (await postingsOf(m.id)).filter((p) => p.id > since && p.cached);

    // A cached balance that drifted from its checkpoint balance plus its new postings.
    await sql`update accounts set balance = balance + 1 where id = ${newer[0]!.account_id}`.execute(t.database.db);
    r = await m.verify('incremental');
    expect(r.breaks.map((b) => [b.invariant, b.subject])).toEqual([[CACHED, newer[0]!.account_id]]);
    await sql`update accounts set balance = balance - 1 where id = ${newer[0]!.account_id}`.execute(t.database.db);

    // A posting whose balance_after is not the running balance from the checkpoint.
    await corrupt(sql`update postings set balance_after = balance_after + 7 where id = ${newer[0]!.id}`);
    r = await m.verify('incremental');
    expect(r.breaks.map((b) => [b.invariant, b.subject])).toEqual([[RUNNING, String(newer[0]!.id)]]);
    expect(r.checkpoint_posting_id).toBe(since);
    await corrupt(sql`update postings set balance_after = balance_after - 7 where id = ${newer[0]!.id}`);

    // A drift on an account with no new postings is caught too: every cached account is compared.
    await sql`update accounts set balance = balance + 2 where id = ${pending.account_id}`.execute(t.database.db);
    r = await m.verify('incremental');
    expect(r.breaks.map((b) => [b.invariant, b.subject])).toEqual([[CACHED, pending.account_id]]);
    await sql`update accounts set balance = balance - 2 where id = ${pending.account_id}`.execute(t.database.db);
    expect((await m.verify('incremental')).ok).toBe(true);
  });

  it('names a posting without its journal and a commission line without its order, in both passes (the order path writes them without foreign keys)', async () => {
    const m = await merchant();
    await m.order();
    const base = await m.verify('full');
    expect(base.ok).toBe(true);
    const created = await m.order(7000);
    const fresh = (await postingsOf(m.id)).filter((p) => p.id > base.checkpoint_posting_id!);
    const line = (
      await sql<{ id: string; order_id: string }>`select id, order_id from commissions where order_id = ${created.id} order by id limit 1`.execute(
        t.database.db,
      )
    ).rows[0]!;
    const linked = (r: Verification) => r.breaks.filter((b) => b.invariant === LINKED).map((b) => [b.subject, b.detail]);

    // Both passes see a posting whose journal is gone: its journal id points at nothing.
    await corrupt(sql`update postings set journal_id = 'je_missing' where id = ${fresh[0]!.id}`);
    for (const mode of ['incremental', 'full'] as const) {
      expect(linked(await m.verify(mode))).toEqual([[String(fresh[0]!.id), 'posting without its journal je_missing']]);
    }
    await corrupt(sql`update postings set journal_id = ${fresh[0]!.journal_id} where id = ${fresh[0]!.id}`);

    // A commission line whose order is gone.
    await sql`update commissions set order_id = 'ord_missing' where id = ${line.id}`.execute(t.database.db);
    expect(linked(await m.verify('full'))).toEqual([[line.id, 'commission line without its order ord_missing']]);
    expect(linked(await m.verify('incremental'))).toEqual([[line.id, 'commission line without its order or order item ord_missing']]);
    await sql`update commissions set order_id = ${line.order_id} where id = ${line.id}`.execute(t.database.db);
    expect((await m.verify('full')).ok).toBe(true);
  });

  it('leaves a change before the checkpoint to the full pass, which finds it', async () => {
    const m = await merchant();
    await m.order();
    await m.order(2000);
    const cp = await m.verify('full');
    expect(cp.ok).toBe(true);
    const old = (await postingsOf(m.id)).find((p) => p.cached)!;
    await corrupt(sql`update postings set balance_after = balance_after + 3 where id = ${old.id}`);

    // By design the incremental pass trusts what it verified before the checkpoint.
    const incremental = await m.verify('incremental');
    expect(incremental).toMatchObject({ ok: true, mode: 'incremental' });
    const full = await m.verify('full');
    expect(full.ok).toBe(false);
    expect(full.breaks.map((b) => [b.invariant, b.subject])).toEqual([[RUNNING, String(old.id)]]);
    await corrupt(sql`update postings set balance_after = balance_after - 3 where id = ${old.id}`);
    expect((await m.verify('full')).ok).toBe(true);
  });

  it('shows the last result without checking, and runs a new verification as a background job with progress', async () => {
    const m = await merchant();
    const none = await t.call('GET', '/v1/ledger/verifications/last', { token: m.key });
    expect(none.data).toEqual({ last: null, checkpoint: null, last_full_at: null, job: null });

    await m.order();
    const started = await t.call('POST', '/v1/ledger/verify/jobs', { token: m.key, body: {} });
    expect(started.statusCode, started.body).toBe(202);
    expect(started.data).toMatchObject({ status: 'running', mode: 'incremental' });
    let job = started.data;
    while (job.status === 'running' || job.status === 'queued') {
      await new Promise((r) => setTimeout(r, 20));
      job = (await t.call('GET', `/v1/ledger/verify/jobs/${started.data.id}`, { token: m.key })).data;
    }
    expect(job.status).toBe('done');
    expect(job.result).toMatchObject({ ok: true, mode: 'full', tenant_id: m.id });
    // Progress: every check run, of every check.
    expect(job.total).toBeGreaterThan(0);
    expect(job.done).toBe(job.total);

    const last = (await t.call('GET', '/v1/ledger/verifications/last', { token: m.key })).data;
    expect(last.last).toEqual(job.result);
    expect(last.checkpoint.posting_id).toBe(job.result.checkpoint_posting_id);
    expect(last.job).toMatchObject({ id: started.data.id, status: 'done' });

    // Reading the last result checks nothing: a break made since is not in it until a new pass runs.
    const account = (await postingsOf(m.id)).find((p) => p.cached)!.account_id;
    await sql`update accounts set balance = balance + 1 where id = ${account}`.execute(t.database.db);
    expect((await t.call('GET', '/v1/ledger/verifications/last', { token: m.key })).data.last).toEqual(job.result);
    const second = await t.call('POST', '/v1/ledger/verify/jobs', { token: m.key, body: { mode: 'incremental' } });
    job = second.data;
    while (job.status === 'running' || job.status === 'queued') {
      await new Promise((r) => setTimeout(r, 20));
      job = (await t.call('GET', `/v1/ledger/verify/jobs/${second.data.id}`, { token: m.key })).data;
    }
    expect(job.result).toMatchObject({ ok: false, mode: 'incremental', breaks: [{ invariant: CACHED, subject: account }] });
    expect((await t.call('GET', '/v1/ledger/verifications/last', { token: m.key })).data.last.ok).toBe(false);
    await sql`update accounts set balance = balance - 1 where id = ${account}`.execute(t.database.db);
    expect((await t.call('GET', '/v1/ledger/verify/jobs/job_nope', { token: m.key })).statusCode).toBe(404);
  });

  it('keeps the answer of GET /v1/ledger/verify: a full pass by default', async () => {
    const m = await merchant();
    await m.order();
    const r = (await t.call('GET', '/v1/ledger/verify', { token: m.key })).data;
    expect(r).toMatchObject({ ok: true, tenant_id: m.id, breaks: [], mode: 'full' });
    expect(Object.keys(r.checked).sort()).toEqual(['accounts', 'commissions', 'journals', 'postings']);
  });

  // Two sessions at once: PostgreSQL only (the embedded database has one).
  it.runIf(onPostgres())('does not wait on a long writer of postings: it checks, and leaves the checkpoint', async () => {
    const m = await merchant();
    await m.order();
    const cp = (await m.verify('full')).checkpoint_posting_id;
    await m.order(3000);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    // What a writer of postings holds until it commits (a large settlement transaction, say).
    const writer = t.database.db.transaction().execute(async (tx) => {
      await sql`lock table postings in row exclusive mode`.execute(tx);
      locked();
      await held;
    });
    await isLocked;
    try {
      const r = await m.verify('incremental');
      expect(r).toMatchObject({ ok: true, mode: 'incremental', since_posting_id: cp, checkpoint_posting_id: cp });
      expect(r.checked.postings).toBeGreaterThan(0);
    } finally {
      release();
      await writer;
    }
    expect((await m.verify('incremental')).checkpoint_posting_id).toBeGreaterThan(cp!);
  });

  it('runs the full pass weekly from the scheduler, in one process', async () => {
    const m = await merchant();
    await m.order();
    const mine = (results: { tenant_id: string | null; job: string; outcome: string }[]) =>
      results.filter((r) => r.tenant_id === m.id && r.job === 'ledger-verify').map((r) => r.outcome);
    // Never verified in full: the first pass runs one.
    expect(mine(await t.scheduler.tick())).toEqual(['done']);
    const last = (await t.call('GET', '/v1/ledger/verifications/last', { token: m.key })).data;
    expect(last.last).toMatchObject({ ok: true, mode: 'full' });
    expect(mine(await t.scheduler.tick())).toEqual(['skipped']);
    clock.advance(6 * 24 * 3600_000);
    expect(mine(await t.scheduler.tick())).toEqual(['skipped']);
    clock.advance(24 * 3600_000 + 1000);
    // Two processes due at once: one claims it.
    const [a, b] = await Promise.all([t.services.ledger.verifyWeekly(m.id), t.services.ledger.verifyWeekly(m.id)]);
    expect([a, b].filter((x) => x !== null)).toHaveLength(1);
    expect(mine(await t.scheduler.tick())).toEqual(['skipped']);
  });
});

/**
 * Settlement runs in committed batches, stopped between batches and resumed by another process,
 * on a real PostgreSQL (several server instances on one database, as processes behind a load
 * balancer; PGlite runs one transaction at a time). The same world is built in two tenants: one
 * is settled in a single batch (the whole settlement in one transaction), the other in batches of
 * two distributors that are stopped part-way and finished by another process. The results must be
 * the same: the same statements (amount, lines, debt paid off, status), the same lines settled,
 * held or left pending, the same balances and the same postings, and a clean ledger.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { ManualClock } from '../../src/core/context.ts';
import { verifyLedger } from '../../src/modules/ledger/verify.ts';
import type { JsonBody } from '../support/json.ts';

const AS_OF = '2026-03-20T00:00:00Z';
const DISTRIBUTORS = 9;

describe.skipIf(!onPostgres())('settlement runs resumed after a stop between batches (needs DATABASE_URL: PostgreSQL only)', () => {
  const clock = new ManualClock('2026-03-01T08:00:00Z');
  const env = { FENXIAO_MASTER_KEY: randomBytes(32).toString('base64') };
  /** What a server's hook does after each committed batch of a run, per run id (nothing when unset). */
  const faults = new Map<string, (batch: number) => Promise<void>>();
  let onNextRun: ((runId: string) => void) | null = null;
  let one: TestServer; // settles the reference tenant in one batch
  let failing: TestServer; // batches of two, one at a time; its runs stop as the test says
  let other: TestServer; // batches of two, two at once; picks abandoned runs up
  let parallel: TestServer; // batches of two, three at once; its runs stop as the test says

  beforeAll(async () => {
    // One after another: three at once can outlast a plugin's start-up timeout on a busy machine.
    one = await startTestServer({ env: { ...env, FENXIAO_SETTLEMENT_BATCH: '100000', FENXIAO_SETTLEMENT_WORKERS: '1' }, clock });
    const settlementAfterBatch = async (runId: string, batch: number) => {
      if (onNextRun) {
        onNextRun(runId);
        onNextRun = null;
      }
      await faults.get(runId)?.(batch);
    };
    failing = await startTestServer({
      env: { ...env, FENXIAO_SETTLEMENT_BATCH: '2', FENXIAO_SETTLEMENT_WORKERS: '1' },
      clock,
      overrides: { settlementAfterBatch },
    });
    parallel = await startTestServer({
      env: { ...env, FENXIAO_SETTLEMENT_BATCH: '2', FENXIAO_SETTLEMENT_WORKERS: '3' },
      clock,
      overrides: { settlementAfterBatch },
    });
    other = await startTestServer({ env: { ...env, FENXIAO_SETTLEMENT_BATCH: '2', FENXIAO_SETTLEMENT_WORKERS: '2' }, clock });
  });
  afterAll(async () => {
    await Promise.all([one?.close(), failing?.close(), other?.close(), parallel?.close()]);
  });

  /**
   * A tenant with a tree of nine distributors (two override levels), 36 orders received in time
   * (phase one makes them final), one order too late for the run, a held line, a distributor with
   * clawback debt from an earlier run, and two statements above the review threshold.
   */
  async function world(via: TestServer) {
    const { id, key } = await via.tenant();
    const call = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
      const r = await via.call(method, url, { token: key, headers, ...(body !== undefined ? { body } : {}) });
      expect(r.statusCode, `${method} ${url}: ${r.body}`).toBeLessThan(300);
      return r.data;
    };
    await call('PUT', '/v1/program', { levels: 2, freeze_days: 7, review_threshold_fen: 50_000 });
    await call('PUT', '/v1/grades/default', { name: 'g', rank: 0, sales_bp: 1000, override_bp: [500, 200] });
    const ds: JsonBody[] = [];
    for (let i = 0; i < DISTRIBUTORS; i++) {
      const referrer = i === 0 ? undefined : ds[i <= 2 ? 0 : i <= 5 ? 1 : 2]!.invite_code;
      ds.push(await call('POST', '/v1/distributors', { external_id: `D${i}`, name: `D${i}`, ...(referrer ? { referrer_code: referrer } : {}) }));
      await call('POST', '/v1/bindings', { customer_external_id: `b${i}`, invite_code: ds[i]!.invite_code });
    }
    const order = async (externalId: string, buyer: number, paid: number, receivedAt: string) => {
      await call('POST', '/v1/orders', {
        external_id: externalId,
        buyer_external_id: `b${buyer}`,
        items: [{ sku: `s${buyer}`, quantity: 1, unit_price_fen: paid, paid_fen: paid }],
      });
      await call('POST', `/v1/orders/${externalId}/events`, { type: 'received', at: receivedAt });
    };
    // Clawback debt: D5's order settled by an earlier run and withdrawn, then refunded in full.
    await order('pre', 5, 80_000, '2026-03-01T00:00:00Z');
    await call('POST', '/v1/settlements/run', { as_of: '2026-03-09T00:00:00Z' });
    await call('POST', '/v1/withdrawals', { distributor_id: ds[5]!.id, amount_fen: 8_000, channel: 'manual' }, { 'idempotency-key': `w-${id}` });
    await call('POST', '/v1/orders/pre/events', { type: 'refunded', refund_fen: 80_000 });
    for (let i = 0; i < 36; i++) await order(`o${i}`, i % DISTRIBUTORS, 10_000 + 3_337 * i, '2026-03-02T00:00:00Z');
    // Above the review threshold: D3 (its sale) and D1 (its override) wait for a person.
    await order('big', 3, 2_000_000, '2026-03-03T00:00:00Z');
    // Received too late for the run: stays pending.
    await order('late', 4, 50_000, '2026-03-18T00:00:00Z');
    // A held line is not settled.
    const held = ((await call('GET', '/v1/orders/o7')).commissions as { id: string; level: number }[]).find((l) => l.level === 0)!;
    await call('POST', `/v1/commissions/${held.id}/hold`, { reason: 'checking' });
    return { id, key };
  }

  /** Everything a run decides, by external ids (the tenants' own ids differ). */
  async function outcome(via: TestServer, tenant: { id: string; key: string }) {
    const db = via.database.db;
    const statements = await sql<{ d: string; amount_fen: number; line_count: number; debt_offset_fen: number; status: string; runs: number }>`
      select d.external_id as d, s.amount_fen, s.line_count, s.debt_offset_fen, s.status, count(*) over (partition by s.run_id, s.distributor_id)::int as runs
        from statements s join distributors d on d.id = s.distributor_id where s.tenant_id = ${tenant.id} order by s.run_id, d.external_id`.execute(db);
    const lines = await sql<{ o: string; d: string; level: number; kind: string; status: string; amount_fen: number; held: boolean; sd: string | null }>`
      select o.external_id as o, d.external_id as d, c.level, c.kind, c.status, c.amount_fen, c.held, sd.external_id as sd
        from commissions c join orders o on o.id = c.order_id join distributors d on d.id = c.beneficiary_id
        left join statements s on s.id = c.statement_id left join distributors sd on sd.id = s.distributor_id
       where c.tenant_id = ${tenant.id} order by o.external_id, d.external_id, c.level, c.kind, c.amount_fen`.execute(db);
    const postings = await sql<{ kind: string; owner: string; purpose: string; n: number; total: string }>`
      select j.kind, coalesce(d.external_id, a.owner_id) as owner, a.purpose, count(*)::int as n, sum(p.amount)::text as total
        from postings p join journal_entries j on j.id = p.journal_id join accounts a on a.id = p.account_id
        left join distributors d on d.id = a.owner_id
       where p.tenant_id = ${tenant.id} group by 1, 2, 3 order by 1, 2, 3`.execute(db);
    const runs = await sql<{ status: string; statements: number; lines: number; amount_fen: number; made_available: number }>`
      select status, statements, lines, amount_fen, made_available from settlement_runs where tenant_id = ${tenant.id} order by started_at, id`.execute(db);
    const balances: Record<string, JsonBody> = {};
    const ds = (await via.call('GET', '/v1/distributors?limit=100', { token: tenant.key })).data.items as { id: string; external_id: string }[];
    for (const d of ds) balances[d.external_id] = (await via.call('GET', `/v1/distributors/${d.id}/balance`, { token: tenant.key })).data;
    const audits = await sql<{ n: number }>`
      select count(*)::int as n from audit_log where tenant_id = ${tenant.id} and action = 'settlement.run'`.execute(db);
    return { statements: statements.rows, lines: lines.rows, postings: postings.rows, runs: runs.rows, balances, runAudits: audits.rows[0]!.n };
  }

  /**
   * The resumed tenant ends as the reference one: each distributor's statements, every line, the
   * postings and the balances alike, and its ledger verifies. Answers both outcomes for the rest.
   */
  async function expectSameOutcome(reference: { id: string; key: string }, resumed: { id: string; key: string }) {
    const want = await outcome(one, reference);
    const got = await outcome(one, resumed);
    expect(got.statements).toEqual(want.statements);
    expect(got.lines).toEqual(want.lines);
    expect(got.postings).toEqual(want.postings);
    expect(got.balances).toEqual(want.balances);
    expect((await verifyLedger(one.database.db, resumed.id)).breaks).toEqual([]);
    return { want, got };
  }

  it('a run failing between batches is resumed by another process and ends as one transaction would have', async () => {
    const reference = await world(one);
    const stopped = await world(one);
    const first = await one.call('POST', '/v1/settlements/run', { token: reference.key, body: { as_of: AS_OF } });
    expect(first.statusCode).toBe(200);

    // The failing process stops after its third committed batch (phase one, then two of settling).
    let runId = '';
    onNextRun = (id) => {
      runId = id;
      faults.set(id, async (batch) => {
        if (batch === 3) throw new Error('injected: the process fails between batches');
      });
    };
    const failed = await failing.call('POST', '/v1/settlements/run', { token: stopped.key, body: { as_of: AS_OF } });
    expect(failed.statusCode).toBe(500);
    const partial = await failing.database.db.selectFrom('settlement_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
    // Committed up to where it stopped: two batches of two distributors, their cursor, nothing after.
    expect(partial).toMatchObject({ status: 'running', phase: 'settle', done: 4 });
    expect(partial.settled_through).not.toBeNull();
    expect(partial.statements).toBe(4);
    expect(await failing.database.db.selectFrom('statements').select('id').where('run_id', '=', runId).execute()).toHaveLength(4);
    expect((await verifyLedger(one.database.db, stopped.id)).breaks).toEqual([]);

    // Another process's scheduler pass picks the run up (it gave its lease back when it failed).
    faults.delete(runId);
    const results = await other.scheduler.tick();
    expect(results.find((r) => r.job === 'settlement' && r.tenant_id === stopped.id)).toMatchObject({ outcome: 'done', detail: { resumed: 1 } });

    const { want, got } = await expectSameOutcome(reference, stopped);
    expect(got.statements.every((s) => s.runs === 1)).toBe(true);
    expect(got.runs).toEqual(want.runs);
    expect(got.runs.at(-1)).toMatchObject({ status: 'done', statements: 9, made_available: expect.any(Number) });
    expect(got.runAudits).toBe(want.runAudits);
    // The case is the one meant: statements waiting for review, debt paid off, a held line and a pending one left.
    expect(want.statements.filter((s) => s.status === 'pending_review').map((s) => s.d)).toEqual(expect.arrayContaining(['D1', 'D3']));
    expect(want.statements.some((s) => s.debt_offset_fen > 0)).toBe(true);
    expect(want.lines.filter((l) => l.held && l.status === 'available')).toHaveLength(1);
    expect(want.lines.filter((l) => l.o === 'late').every((l) => l.status === 'pending')).toBe(true);
    expect((await verifyLedger(one.database.db, reference.id)).breaks).toEqual([]);
  }, 240_000);

  it("batches past the run's cursor that committed before a stop are not settled again when it resumes", async () => {
    const reference = await world(one);
    const stopped = await world(one);
    /** Rejects D1's statement waiting for review: its lines are available again, outside any statement. */
    const rejectD1 = async (tenant: { id: string; key: string }) => {
      const d1 = await sql<{ id: string }>`
        select s.id from statements s join distributors d on d.id = s.distributor_id
         where s.tenant_id = ${tenant.id} and d.external_id = 'D1' and s.status = 'pending_review'`.execute(one.database.db);
      expect(d1.rows).toHaveLength(1);
      const r = await one.call('POST', `/v1/statements/${d1.rows[0]!.id}/reject`, { token: tenant.key, body: { reason: 'checking', lines: 'available' } });
      expect(r.statusCode, r.body).toBe(200);
    };
    expect((await one.call('POST', '/v1/settlements/run', { token: reference.key, body: { as_of: AS_OF } })).statusCode).toBe(200);
    await rejectD1(reference);

    let runId = '';
    onNextRun = (id) => {
      runId = id;
      faults.set(id, async (batch) => {
        if (batch === 3) throw new Error('injected: the process fails between batches');
      });
    };
    expect((await failing.call('POST', '/v1/settlements/run', { token: stopped.key, body: { as_of: AS_OF } })).statusCode).toBe(500);
    faults.delete(runId);
    // D0 to D3 have their statements; D1's waits for review and is rejected before the run
    // resumes, so D1 has settleable lines again and a statement in this run.
    expect(await failing.database.db.selectFrom('statements').select('distributor_id').where('run_id', '=', runId).execute()).toHaveLength(4);
    await rejectD1(stopped);
    // With batches in flight at once, a later batch can commit while an earlier one does not, and
    // the durable cursor stays before both: here the two committed batches are behind it.
    await sql`update settlement_runs set settled_through = null where id = ${runId}`.execute(failing.database.db);

    const results = await other.scheduler.tick();
    expect(results.find((r) => r.job === 'settlement' && r.tenant_id === stopped.id)).toMatchObject({ outcome: 'done', detail: { resumed: 1 } });
    // One statement per distributor in the run, and D1's lines are left for the next run, as a
    // person's rejection after the run left them.
    const { want, got } = await expectSameOutcome(reference, stopped);
    expect(got.statements.every((s) => s.runs === 1)).toBe(true);
    expect(got.runs).toEqual(want.runs);
  }, 240_000);

  it("a process stuck mid-run loses the run when its lease runs out; another finishes it, the stuck one's job and answer follow", async () => {
    const reference = await world(one);
    const stuck = await world(one);
    expect((await one.call('POST', '/v1/settlements/run', { token: reference.key, body: { as_of: AS_OF } })).statusCode).toBe(200);

    // The job's process hangs after its second batch (one of settling), holding nothing.
    let release: () => void = () => undefined;
    const hung = new Promise<void>((resolve) => (release = resolve));
    let reached: () => void = () => undefined;
    const atHang = new Promise<void>((resolve) => (reached = resolve));
    onNextRun = (id) =>
      faults.set(id, async (batch) => {
        if (batch === 2) {
          reached();
          await hung;
        }
      });
    const job = await failing.call('POST', '/v1/settlements/jobs', { token: stuck.key, body: { as_of: AS_OF } });
    expect(job.statusCode).toBe(202);
    await atHang;

    // While its lease holds, another run asked for waits; the lease runs out (60 s) and it takes over.
    const takeover = other.call('POST', '/v1/settlements/run', { token: stuck.key, body: { as_of: AS_OF } });
    await new Promise((r) => setTimeout(r, 500));
    // The job's run (by its job: the world's earlier run started at the same manual-clock time).
    expect((await failing.database.db.selectFrom('settlement_runs').select('status').where('job_id', '=', job.data.id).executeTakeFirstOrThrow()).status).toBe(
      'running',
    );
    clock.advance(61_000);
    const second = await takeover;
    expect(second.statusCode).toBe(200);
    // It finished the stuck run first, then ran its own, which found nothing left.
    expect(second.data.statements).toEqual([]);

    // The stuck process wakes: its next batch finds the run taken over and writes nothing.
    release();
    let polled = (await other.call('GET', `/v1/settlements/jobs/${job.data.id}`, { token: stuck.key })).data;
    for (let i = 0; i < 100 && polled.status === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      polled = (await other.call('GET', `/v1/settlements/jobs/${job.data.id}`, { token: stuck.key })).data;
    }
    expect(polled).toMatchObject({ status: 'done', error: null });
    expect(polled.result.statements).toHaveLength(9);

    const { want, got } = await expectSameOutcome(reference, stuck);
    // The empty run after it is the one more.
    expect(got.runs.slice(0, -1)).toEqual(want.runs);
  }, 240_000);

  it.each([
    ['one batch at a time', () => failing, true],
    ['three batches at once', () => parallel, false],
  ])(
    'refunds racing the batches of a run (%s): each line ends settled then clawed back, or reversed — never both, never neither',
    async (_, runner, oneAtATime) => {
      const { id, key } = await one.tenant();
      const call = (via: TestServer, method: string, url: string, body?: unknown) =>
        via.call(method, url, { token: key, ...(body !== undefined ? { body } : {}) });
      await call(one, 'PUT', '/v1/program', { levels: 0, freeze_days: 0, review_threshold_fen: 100_000_000 });
      await call(one, 'PUT', '/v1/grades/default', { name: 'g', rank: 0, sales_bp: 1000, override_bp: [] });
      const N = 24;
      for (let i = 0; i < N; i++) {
        const d = (await call(one, 'POST', '/v1/distributors', { external_id: `R${String(i).padStart(2, '0')}`, name: `R${i}` })).data;
        await call(one, 'POST', '/v1/bindings', { customer_external_id: `rb${i}`, invite_code: d.invite_code });
        const o = await call(one, 'POST', '/v1/orders', {
          external_id: `r${i}`,
          buyer_external_id: `rb${i}`,
          items: [{ sku: 's', quantity: 1, unit_price_fen: 10_000, paid_fen: 10_000 }],
        });
        expect(o.statusCode).toBe(201);
        expect((await call(one, 'POST', `/v1/orders/r${i}/events`, { type: 'received', at: '2026-03-02T00:00:00Z' })).statusCode).toBe(200);
      }
      const refund = (via: TestServer, i: number) => call(via, 'POST', `/v1/orders/r${i}/events`, { type: 'refunded', refund_fen: 10_000 });
      // Between the run's batches (two distributors each, in id order = creation order): the first
      // distributor's order (settled already) and the last one's (not yet) are refunded, so both
      // outcomes happen whatever the timing of the racing refunds below.
      const between: ReturnType<typeof refund>[] = [];
      let racing: ReturnType<typeof refund>[] = [];
      onNextRun = (runId) =>
        faults.set(runId, async (batch) => {
          if (batch !== 2) return;
          // Every other order is refunded at once while the batches go on, through two other processes.
          racing = Array.from({ length: N - 2 }, (_, k) => refund(k % 2 ? one : other, k + 1));
          between.push(refund(other, 0), refund(other, N - 1));
          await Promise.all(between);
        });
      const ran = await call(runner(), 'POST', '/v1/settlements/run', { as_of: AS_OF });
      expect(ran.statusCode).toBe(200);
      expect(racing).toHaveLength(N - 2);
      for (const r of [...(await Promise.all(racing)), ...(await Promise.all(between))]) expect(r.statusCode).toBe(200);

      const seen = { settled: 0, reversed: 0 };
      let statementTotal = 0;
      for (let i = 0; i < N; i++) {
        const lines = (await call(one, 'GET', `/v1/orders/r${i}`)).data.commissions as {
          kind: string;
          status: string;
          amount_fen: number;
          statement_id: string | null;
        }[];
        const original = lines.filter((l) => l.kind === 'commission');
        const clawbacks = lines.filter((l) => l.kind === 'clawback');
        expect(original).toHaveLength(1);
        const line = original[0]!;
        if (line.status === 'settled') {
          seen.settled++;
          expect(line.amount_fen).toBe(1000);
          expect(clawbacks.map((c) => c.amount_fen)).toEqual([-1000]);
          statementTotal += 1000;
        } else {
          seen.reversed++;
          expect(line).toMatchObject({ status: 'reversed', amount_fen: 0, statement_id: null });
          expect(clawbacks).toEqual([]);
        }
      }
      console.log(`refunds racing a run in batches of two (${_}), ${N} distributors: ${seen.settled} settled then clawed back, ${seen.reversed} reversed`);
      expect(seen.settled).toBeGreaterThanOrEqual(1);
      // One batch at a time, the last distributor's order is refunded before its batch comes; with
      // three at once the others may have got there first.
      if (oneAtATime) expect(seen.reversed).toBeGreaterThanOrEqual(1);
      // The statements hold exactly the lines settled, each distributor once.
      const statements = ran.data.statements as { distributor_id: string; amount_fen: number }[];
      expect(new Set(statements.map((x) => x.distributor_id)).size).toBe(statements.length);
      expect(statements.reduce((sum, x) => sum + x.amount_fen, 0)).toBe(statementTotal);
      expect(seen.settled).toBe(statements.length);
      expect((await verifyLedger(one.database.db, id)).breaks).toEqual([]);
    },
    240_000,
  );
});

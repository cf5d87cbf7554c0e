import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { startTestServer, type TestServer } from '../support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const LINE_INVARIANT = "each commission line's postings add up to its amount, in the account of its status";

describe('ledger verify: a commission line against its postings', () => {
  it('names a line whose amount or status no longer matches what its postings say, and is clean again once restored', async () => {
    const { key } = await t.tenant();
    await t.call('PUT', '/v1/grades/default', { token: key, body: { name: 'g', rank: 0, sales_bp: 1000, override_bp: [500] } });
    const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'V1', name: 'V1' } })).data;
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'vb', invite_code: d.invite_code } });
    const order = (
      await t.call('POST', '/v1/orders', {
        token: key,
        body: { external_id: 'v-1', buyer_external_id: 'vb', items: [{ sku: 's', quantity: 1, unit_price_fen: 5000, paid_fen: 5000 }] },
      })
    ).data;
    const line = order.commissions[0];
    const verify = async () =>
      (await t.call('GET', '/v1/ledger/verify', { token: key })).data as { ok: boolean; breaks: { invariant: string; subject: string; detail: string }[] };
    expect((await verify()).ok).toBe(true);

    const db = t.database.db;
    await sql`update commissions set amount_fen = amount_fen - 1 where id = ${line.id}`.execute(db);
    const amountOff = (await verify()).breaks.filter((b) => b.invariant === LINE_INVARIANT);
    expect(amountOff).toEqual([{ invariant: LINE_INVARIANT, subject: line.id, detail: 'pending line of 499 fen: postings total 500, in pending 500' }]);
    await sql`update commissions set amount_fen = amount_fen + 1 where id = ${line.id}`.execute(db);

    await sql`update commissions set status = 'available' where id = ${line.id}`.execute(db);
    const wrongAccount = (await verify()).breaks.filter((b) => b.invariant === LINE_INVARIANT);
    expect(wrongAccount).toEqual([{ invariant: LINE_INVARIANT, subject: line.id, detail: 'available line of 500 fen: postings total 500, in available 0' }]);
    await sql`update commissions set status = 'pending' where id = ${line.id}`.execute(db);
    expect((await verify()).ok).toBe(true);
  });
});

const STATEMENT_INVARIANT = 'each approved statement moved exactly its settled lines from available to withdrawable, and no other statement moved money';

describe('ledger verify: a statement against its settle journal', () => {
  it('one journal per statement moves its lines; a line taken out of it, or settled outside it, is named; the line shows its share', async () => {
    const { key } = await t.tenant();
    await t.call('PUT', '/v1/program', { token: key, body: { levels: 0, freeze_days: 0 } });
    await t.call('PUT', '/v1/grades/default', { token: key, body: { name: 'g', rank: 0, sales_bp: 1000, override_bp: [] } });
    const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'S1', name: 'S1' } })).data;
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'sb', invite_code: d.invite_code } });
    const lines: { id: string; amount_fen: number }[] = [];
    for (const [id, paid] of [
      ['s-1', 5000],
      ['s-2', 7000],
      ['s-3', 3000],
    ] as const) {
      const o = (
        await t.call('POST', '/v1/orders', {
          token: key,
          body: { external_id: id, buyer_external_id: 'sb', items: [{ sku: 's', quantity: 1, unit_price_fen: paid, paid_fen: paid }] },
        })
      ).data;
      await t.call('POST', `/v1/orders/${id}/events`, { token: key, body: { type: 'received', at: '2026-03-01T00:00:00Z' } });
      lines.push(o.commissions[0]);
    }
    const st = (await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: '2026-03-02T00:00:00Z' } })).data.statements[0];
    expect(st).toMatchObject({ amount_fen: 1500, line_count: 3, status: 'approved' });
    const db = t.database.db;
    // Two postings for the statement, whatever its number of lines.
    const legs = await sql<{ purpose: string; amount: string; commission_id: string | null }>`
      select a.purpose, p.amount::text, p.commission_id from postings p join journal_entries j on j.id = p.journal_id join accounts a on a.id = p.account_id
       where j.ref_type = 'statement' and j.ref_id = ${st.id} and j.kind = 'settle' order by p.id`.execute(db);
    expect(legs.rows).toEqual([
      { purpose: 'available', amount: '-1500', commission_id: null },
      { purpose: 'withdrawable', amount: '1500', commission_id: null },
    ]);
    // The line's history shows its share of the statement's journal.
    const [first, second] = lines as [{ id: string; amount_fen: number }, { id: string; amount_fen: number }];
    const explained = (await t.call('GET', `/v1/commissions/${first.id}`, { token: key })).data;
    expect(explained.postings.map((p: { kind: string; account: string; amount_fen: number }) => [p.kind, p.account, p.amount_fen])).toEqual([
      ['accrue', 'pending', 500],
      ['make_available', 'pending', -500],
      ['make_available', 'available', 500],
      ['settle', 'available', -500],
      ['settle', 'withdrawable', 500],
    ]);

    const verify = async () =>
      (await t.call('GET', '/v1/ledger/verify', { token: key })).data as { ok: boolean; breaks: { invariant: string; subject: string; detail: string }[] };
    expect((await verify()).ok).toBe(true);

    // A settled line taken back to available: the statement moved more than its settled lines.
    await sql`update commissions set status = 'available' where id = ${second.id}`.execute(db);
    expect((await verify()).breaks).toEqual([
      {
        invariant: STATEMENT_INVARIANT,
        subject: st.id,
        detail: 'approved statement: settled lines 800 fen (2), settle journals moved 1500 fen from available, 1500 to withdrawable',
      },
    ]);
    await sql`update commissions set status = 'settled' where id = ${second.id}`.execute(db);

    // A line marked settled outside any statement: its money never left available.
    await sql`update commissions set statement_id = null where id = ${second.id}`.execute(db);
    const outside = (await verify()).breaks;
    expect(outside).toContainEqual({ invariant: LINE_INVARIANT, subject: second.id, detail: 'settled line of 700 fen: postings total 700, in withdrawable 0' });
    expect(outside).toContainEqual(expect.objectContaining({ invariant: STATEMENT_INVARIANT, subject: st.id }));
    // A line naming a statement that does not exist (no foreign key holds the column since 2026-12-09).
    await sql`update commissions set statement_id = 'stm_missing' where id = ${second.id}`.execute(db);
    expect((await verify()).breaks).toContainEqual({
      invariant: STATEMENT_INVARIANT,
      subject: 'stm_missing',
      detail: 'missing statement: settled lines 700 fen (1), settle journals moved 0 fen from available, 0 to withdrawable',
    });
    await sql`update commissions set statement_id = ${st.id} where id = ${second.id}`.execute(db);

    // A statement waiting for review moved nothing: one marked so while its journal stands is named.
    await sql`update statements set status = 'pending_review' where id = ${st.id}`.execute(db);
    expect((await verify()).breaks).toEqual([expect.objectContaining({ invariant: STATEMENT_INVARIANT, subject: st.id })]);
    await sql`update statements set status = 'approved' where id = ${st.id}`.execute(db);
    expect((await verify()).ok).toBe(true);

    // The incremental pass checks the statements a settle journal after its checkpoint moved.
    const o4 = (
      await t.call('POST', '/v1/orders', {
        token: key,
        body: { external_id: 's-4', buyer_external_id: 'sb', items: [{ sku: 's', quantity: 1, unit_price_fen: 9000, paid_fen: 9000 }] },
      })
    ).data;
    await t.call('POST', '/v1/orders/s-4/events', { token: key, body: { type: 'received', at: '2026-03-02T00:00:00Z' } });
    const st2 = (await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: '2026-03-03T00:00:00Z' } })).data.statements[0];
    await sql`update commissions set status = 'available' where id = ${o4.commissions[0].id}`.execute(db);
    const incremental = (await t.call('GET', '/v1/ledger/verify?mode=incremental', { token: key })).data as {
      since_posting_id: number;
      breaks: { invariant: string; subject: string }[];
    };
    expect(incremental.since_posting_id).toBeGreaterThan(0);
    expect(incremental.breaks).toEqual([expect.objectContaining({ invariant: STATEMENT_INVARIANT, subject: st2.id })]);
    await sql`update commissions set status = 'settled' where id = ${o4.commissions[0].id}`.execute(db);
    expect((await t.call('GET', '/v1/ledger/verify?mode=incremental', { token: key })).data.ok).toBe(true);
  });
});

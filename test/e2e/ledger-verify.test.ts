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

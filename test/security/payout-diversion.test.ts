/**
 * Issue 14, item 6: one finance user could divert a distributor's balance alone: add a payout
 * account to any distributor (it became the default), ask for a withdrawal to it, approve it and
 * record it paid. Now an account a console user adds waits for the distributor's confirmation
 * (or a second person's) and is never paid to before; and the user who asked for a withdrawal
 * may neither approve it nor record it paid. The merchant's API key keeps the contract's flow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { moneyTenant, type MoneyTenant } from '../support/money.ts';

let t: TestServer;
let m: MoneyTenant;
beforeAll(async () => {
  t = await startTestServer();
  m = await moneyTenant(t);
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const card = (no: string) => ({ channel: 'bank', account_no: no, account_name: '李四', bank_name: '工商银行' });

describe("a finance user alone cannot divert a distributor's balance (issue 14, item 6)", () => {
  it('the attack: add an account, ask, approve and complete, alone — every step that moves money is refused', async () => {
    const finance = m.staff.finance.token;
    const before = (await m.call('GET', `/v1/distributors/${m.d.id}/balance`, m.key)).data;
    // Whatever the program says about automatic approval, a console user's request waits.
    expect((await m.call('PUT', '/v1/program', m.key, { withdrawal: { auto_approve_max_fen: 50_000 } })).statusCode).toBe(200);

    const added = await m.call('POST', `/v1/distributors/${m.d.id}/payout-accounts`, finance, card('6222020200998877665'));
    expect(added.statusCode, added.body).toBe(201);
    expect(added.data).toMatchObject({ confirmed: false, is_default: false, added_by: 'admin' });

    // Not the default, and not payable when named.
    const byDefault = await m.call('POST', '/v1/withdrawals', finance, { distributor_id: m.d.id, amount_fen: 30_000, channel: 'bank' });
    expect(byDefault.statusCode, byDefault.body).toBe(409);
    expect(byDefault.data.error.code).toBe('invalid_state');
    const named = await m.call('POST', '/v1/withdrawals', finance, {
      distributor_id: m.d.id,
      amount_fen: 30_000,
      channel: 'bank',
      payout_account_id: added.data.id,
    });
    expect(named.statusCode, named.body).toBe(409);
    expect(named.data.error.code).toBe('invalid_state');
    // Nor can the user who added it confirm it.
    const self = await m.call('POST', `/v1/distributors/${m.d.id}/payout-accounts/${added.data.id}/confirm`, finance);
    expect(self.statusCode, self.body).toBe(403);
    expect(self.data.error.code).toBe('second_person_required');

    // A manual withdrawal asked for by the finance user: under the automatic limit, yet it waits.
    const asked = await m.call('POST', '/v1/withdrawals', finance, { distributor_id: m.d.id, amount_fen: 30_000, channel: 'manual' });
    expect(asked.statusCode, asked.body).toBe(201);
    expect(asked.data.status).toBe('pending_review');
    const approved = await m.call('POST', `/v1/withdrawals/${asked.data.id}/approve`, finance);
    expect(approved.statusCode, approved.body).toBe(403);
    expect(approved.data.error.code).toBe('second_person_required');
    // The owner is a person too.
    const byOwner = await m.call('POST', '/v1/withdrawals', m.staff.owner.token, { distributor_id: m.d.id, amount_fen: 1_000, channel: 'manual' });
    expect((await m.call('POST', `/v1/withdrawals/${byOwner.data.id}/approve`, m.staff.owner.token)).data.error.code).toBe('second_person_required');

    // A second person approves; the requester still cannot record it paid, the second person can.
    expect((await m.call('POST', `/v1/withdrawals/${asked.data.id}/approve`, m.staff.finance2.token)).data.status).toBe('approved');
    const completed = await m.call('POST', `/v1/withdrawals/${asked.data.id}/complete`, finance, { reference: 'SELF-1' });
    expect(completed.statusCode, completed.body).toBe(403);
    expect(completed.data.error.code).toBe('second_person_required');
    expect((await m.call('POST', `/v1/withdrawals/${asked.data.id}/complete`, m.staff.finance2.token, { reference: 'BANK-1' })).data.status).toBe('paid');

    const after = (await m.call('GET', `/v1/distributors/${m.d.id}/balance`, m.key)).data;
    expect(after.withdrawn_fen - before.withdrawn_fen).toBe(30_000);
    const audit = (await m.call('GET', `/v1/audit-log?target_id=${asked.data.id}`, m.key)).data.items.map((e: { action: string; actor_id: string }) => [
      e.action,
      e.actor_id,
    ]);
    expect(audit).toEqual(
      expect.arrayContaining([
        ['withdrawal.request', m.staff.finance.id],
        ['withdrawal.approve', m.staff.finance2.id],
        ['withdrawal.complete', m.staff.finance2.id],
      ]),
    );
  });

  it('the distributor confirms an account staff added in the portal; it becomes the default and can be paid', async () => {
    const added = (await m.call('POST', `/v1/distributors/${m.d.id}/payout-accounts`, m.staff.finance.token, card('6222020200112233001'))).data;
    expect(added.confirmed).toBe(false);
    // The distributor sees it waiting, and confirms it.
    const mine = (await m.call('GET', `/v1/distributors/${m.d.id}/payout-accounts`, m.d.portal)).data.items;
    expect(mine.find((a: { id: string }) => a.id === added.id)).toMatchObject({ confirmed: false, is_default: false });
    const confirmed = await m.call('POST', `/v1/distributors/${m.d.id}/payout-accounts/${added.id}/confirm`, m.d.portal);
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(confirmed.data).toMatchObject({ confirmed: true, is_default: true });
    const w = await m.call('POST', '/v1/withdrawals', m.d.portal, { distributor_id: m.d.id, amount_fen: 1_000, channel: 'bank' });
    expect(w.statusCode, w.body).toBe(201);
    expect(w.data.payout_account_id).toBe(added.id);
    const entries = (await m.call('GET', `/v1/audit-log?action=payout_account.confirm&target_id=${m.d.id}`, m.key)).data.items;
    expect(entries[0]).toMatchObject({ actor_type: 'distributor', actor_id: m.d.id });
  });

  it('a second finance user may confirm instead; an operator or auditor may not; another distributor finds nothing', async () => {
    const added = (await m.call('POST', `/v1/distributors/${m.d.id}/payout-accounts`, m.staff.finance.token, card('6222020200112233002'))).data;
    for (const who of [m.staff.operator.token, m.staff.auditor.token]) {
      expect((await m.call('POST', `/v1/distributors/${m.d.id}/payout-accounts/${added.id}/confirm`, who)).statusCode).toBe(403);
    }
    const other = await m.call('POST', '/v1/distributors', m.key, { external_id: `other-${m.tenantId}`, name: 'other' });
    const { portalSession } = await import('./world.ts');
    const otherPortal = await portalSession(t, m.tenantId, m.secret, other.data.external_id);
    expect((await m.call('POST', `/v1/distributors/${m.d.id}/payout-accounts/${added.id}/confirm`, otherPortal)).statusCode).toBe(404);
    expect((await m.call('POST', `/v1/distributors/${other.data.id}/payout-accounts/${added.id}/confirm`, otherPortal)).statusCode).toBe(404);
    const ok = await m.call('POST', `/v1/distributors/${m.d.id}/payout-accounts/${added.id}/confirm`, m.staff.finance2.token);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.data).toMatchObject({ confirmed: true, is_default: true });
  });

  it("the merchant's API key keeps the contract's flow: its account is confirmed, it asks, approves and completes", async () => {
    const acc = (await m.call('POST', `/v1/distributors/${m.d.id}/payout-accounts`, m.key, card('6222020200112233003'))).data;
    expect(acc).toMatchObject({ confirmed: true, is_default: true, added_by: 'api_key' });
    const w = (await m.call('POST', '/v1/withdrawals', m.key, { distributor_id: m.d.id, amount_fen: 1_000, channel: 'manual' })).data;
    expect((await m.call('POST', `/v1/withdrawals/${w.id}/approve`, m.key)).data.status).toBe('approved');
    expect((await m.call('POST', `/v1/withdrawals/${w.id}/complete`, m.key, { reference: 'K-1' })).data.status).toBe('paid');
    // And a distributor's own request is approved by the rule, as the contract says.
    const own = (await m.call('POST', '/v1/withdrawals', m.d.portal, { distributor_id: m.d.id, amount_fen: 1_000, channel: 'manual' })).data;
    expect(own.status).toBe('approved');
  });
});

/**
 * Issue 14, item 1: an operator could take money out without finance. PUT /v1/program needed only
 * program:write (an operator's) and carried the money controls: the operator raised the automatic
 * approval limits, set a threshold cycle, gave a grade 50 %, recorded an order for a distributor
 * of its own and its receipt a day back; the scheduler settled and approved it, and the
 * withdrawal was approved on creation — no finance user involved, and no audit entry for any of
 * the automatic approvals. Now a change to a money control by someone without program:money
 * waits for a second person who has it; and every automatic approval is audited with the rule
 * that allowed it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/context.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { moneyTenant, type MoneyTenant } from '../support/money.ts';
import type { JsonBody } from '../support/json.ts';

let t: TestServer;
let clock: ManualClock;
beforeAll(async () => {
  clock = new ManualClock('2026-03-01T08:00:00Z');
  t = await startTestServer({ clock });
}, 120_000);
afterAll(async () => {
  await t?.close();
});

/** The merchant's program: the defaults (freeze 7 days, statements above 10,000 yuan reviewed, every withdrawal reviewed, settlement by hand). */
const DEFAULTS = { levels: 1, withdrawal: { min_fen: 1 } };
const LOOSE = {
  review_threshold_fen: 100_000_000,
  freeze_days: 0,
  withdrawal: { auto_approve_max_fen: 100_000_000 },
  settlement: { cycle: 'threshold', threshold_fen: 1 },
};

interface AuditItem {
  action: string;
  actor_type: string;
  actor_id: string | null;
  target_id: string | null;
  after: JsonBody;
}
async function auditOf(m: MoneyTenant, query: string): Promise<AuditItem[]> {
  return (await m.call('GET', `/v1/audit-log?limit=200&${query}`, m.key)).data.items;
}

/** The operator's attack, after its program change: a grade at 50 %, its own distributor, an order received a day back, the scheduler, a withdrawal. */
async function cashOut(m: MoneyTenant, tag: string) {
  const op = m.staff.operator.token;
  expect((await m.call('PUT', '/v1/grades/default', op, { name: 'g', rank: 0, sales_bp: 5000, override_bp: [] })).statusCode).toBe(200);
  const mine = await m.call('POST', '/v1/distributors', op, { external_id: `op-self-${tag}`, name: '运营自己' });
  expect(mine.statusCode, mine.body).toBe(201);
  const order = await m.call('POST', '/v1/orders', op, {
    external_id: `fake-${tag}`,
    buyer_external_id: `friend-${tag}`,
    invite_code: mine.data.invite_code,
    items: [{ sku: 's', quantity: 1, unit_price_fen: 2_000_000, paid_fen: 2_000_000 }],
  });
  expect(order.statusCode, order.body).toBe(201);
  const dayBack = new Date(clock.now().getTime() - 86_400_000).toISOString();
  expect((await m.call('POST', `/v1/orders/fake-${tag}/events`, op, { type: 'shipped', at: dayBack })).statusCode).toBe(200);
  expect((await m.call('POST', `/v1/orders/fake-${tag}/events`, op, { type: 'received', at: dayBack })).statusCode).toBe(200);
  clock.advance(60_000);
  await t.scheduler.tick();
  const { portalSession } = await import('./world.ts');
  const portal = await portalSession(t, m.tenantId, m.secret, `op-self-${tag}`);
  const balance = (await m.call('GET', `/v1/distributors/${mine.data.id}/balance`, portal)).data;
  const withdrawal = await m.call('POST', '/v1/withdrawals', portal, { distributor_id: mine.data.id, amount_fen: 1_000_000, channel: 'manual' });
  return { distributor: mine.data, balance, withdrawal };
}

describe('money controls need finance (issue 14, item 1)', () => {
  it("the attack: an operator's change to the money controls waits for finance, and no money moves", async () => {
    const m = await moneyTenant(t, 0, DEFAULTS);
    const op = m.staff.operator.token;
    const before = (await m.call('GET', '/v1/program', m.key)).data;
    const put = await m.call('PUT', '/v1/program', op, { ...LOOSE, self_purchase: false, admission: 'open' });
    // The contract's answer: 200 and the whole program — the one in force, the change pending.
    expect(put.statusCode, put.body).toBe(200);
    expect(put.data).toMatchObject({
      review_threshold_fen: before.review_threshold_fen,
      freeze_days: before.freeze_days,
      withdrawal: before.withdrawal,
      settlement: before.settlement,
    });
    expect(put.data.pending_proposal).toMatchObject({ status: 'pending', proposed_by: { type: 'admin', id: m.staff.operator.id } });
    expect(put.data.pending_proposal.changes).toEqual([
      { field: 'freeze_days', from: 7, to: 0 },
      { field: 'review_threshold_fen', from: 1_000_000, to: 100_000_000 },
      { field: 'withdrawal.auto_approve_max_fen', from: 0, to: 100_000_000 },
      { field: 'settlement.cycle', from: 'manual', to: 'threshold' },
      { field: 'settlement.threshold_fen', from: 10_000, to: 1 },
    ]);
    expect((await m.call('GET', '/v1/program', m.key)).data).toEqual(before);

    const { balance, withdrawal } = await cashOut(m, 'a');
    // Nothing was settled: the money waits out its freeze days, and cannot be asked for.
    expect(balance).toMatchObject({ pending_fen: 1_000_000, withdrawable_fen: 0 });
    expect(withdrawal.statusCode, withdrawal.body).toBe(422);
    expect((await m.call('GET', '/v1/statements', m.key)).data.items).toEqual([]);

    // The operator can neither confirm its own proposal nor set the controls another way.
    const id = put.data.pending_proposal.id as string;
    expect((await m.call('POST', `/v1/program-proposals/${id}/confirm`, op)).statusCode).toBe(403);
    expect((await m.call('PUT', '/v1/program/money-controls', op, { withdrawal: { auto_approve_max_fen: 1 } })).statusCode).toBe(403);
    expect((await m.call('POST', `/v1/program-proposals/${id}/confirm`, m.staff.auditor.token)).statusCode).toBe(403);
    const proposed = await auditOf(m, 'action=program.propose');
    expect(proposed[0]).toMatchObject({ actor_type: 'admin', actor_id: m.staff.operator.id, target_id: id });
  });

  it('a second person with program:money confirms; then each automatic approval is audited with its rule', async () => {
    const m = await moneyTenant(t, 0, DEFAULTS);
    const put = await m.call('PUT', '/v1/program', m.staff.operator.token, LOOSE);
    const id = put.data.pending_proposal.id as string;
    const pending = (await m.call('GET', '/v1/program-proposals?status=pending', m.staff.finance.token)).data.items;
    expect(pending.map((p: { id: string }) => p.id)).toEqual([id]);
    const confirmed = await m.call('POST', `/v1/program-proposals/${id}/confirm`, m.staff.finance.token);
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(confirmed.data).toMatchObject({ status: 'confirmed', decided_by: { type: 'admin', id: m.staff.finance.id } });
    expect((await m.call('GET', '/v1/program', m.key)).data).toMatchObject({
      review_threshold_fen: 100_000_000,
      withdrawal: { auto_approve_max_fen: 100_000_000 },
      settlement: { cycle: 'threshold' },
    });
    expect((await m.call('POST', `/v1/program-proposals/${id}/confirm`, m.staff.owner.token)).statusCode).toBe(409);

    // With finance's consent the same run goes through, and leaves its trail.
    const { distributor, withdrawal } = await cashOut(m, 'b');
    expect(withdrawal.statusCode, withdrawal.body).toBe(201);
    expect(withdrawal.data.status).toBe('approved');
    const run = (await auditOf(m, 'action=settlement.run'))[0]!;
    expect(run).toMatchObject({ actor_type: 'system', after: { rule: 'settlement.cycle', settlement: { cycle: 'threshold', threshold_fen: 1 } } });
    const statements = (await auditOf(m, 'action=statement.auto_approve'))[0]!;
    expect(statements).toMatchObject({
      actor_type: 'system',
      target_id: run.target_id,
      after: { rule: 'review_threshold_fen', review_threshold_fen: 100_000_000, statements: 1, amount_fen: 1_000_000 },
    });
    expect(statements.after.approved).toEqual([expect.objectContaining({ distributor_id: distributor.id, amount_fen: 1_000_000 })]);
    const wd = await auditOf(m, `action=withdrawal.auto_approve&target_id=${withdrawal.data.id}`);
    expect(wd[0]).toMatchObject({
      actor_type: 'system',
      after: {
        rule: 'withdrawal.auto_approve_max_fen',
        auto_approve_max_fen: 100_000_000,
        amount_fen: 1_000_000,
        requested_by: { type: 'distributor', id: distributor.id },
      },
    });
    const decided = await auditOf(m, 'action=program.proposal_confirm');
    expect(decided[0]).toMatchObject({ actor_id: m.staff.finance.id, target_id: id });
    expect((await t.call('GET', '/v1/audit-log/verify', { token: m.key })).data.ok).toBe(true);
  });

  it('a proposal is refused once the controls it changes moved, can be rejected, and finance sets controls directly', async () => {
    const m = await moneyTenant(t, 0, DEFAULTS);
    const a = (await m.call('PUT', '/v1/program', m.staff.operator.token, { withdrawal: { auto_approve_max_fen: 5000 } })).data.pending_proposal;
    // The same change again is the same proposal; other settings of the same request apply at once.
    const again = await m.call('PUT', '/v1/program', m.staff.operator.token, { withdrawal: { auto_approve_max_fen: 5000 }, admission: 'review' });
    expect(again.data.pending_proposal.id).toBe(a.id);
    expect(again.data.admission).toBe('review');
    // Finance sets the limit itself (its own change, audited), so the proposal no longer reads true.
    const direct = await m.call('PUT', '/v1/program/money-controls', m.staff.finance.token, { withdrawal: { auto_approve_max_fen: 2000 } });
    expect(direct.statusCode, direct.body).toBe(200);
    expect(direct.data.withdrawal.auto_approve_max_fen).toBe(2000);
    expect(direct.data.pending_proposal).toBeUndefined();
    const stale = await m.call('POST', `/v1/program-proposals/${a.id}/confirm`, m.staff.finance2.token);
    expect(stale.statusCode, stale.body).toBe(409);
    expect(stale.data.error.code).toBe('invalid_state');
    const rejected = await m.call('POST', `/v1/program-proposals/${a.id}/reject`, m.staff.finance2.token, { reason: '已由财务设定' });
    expect(rejected.data).toMatchObject({ status: 'rejected', reason: '已由财务设定', decided_by: { id: m.staff.finance2.id } });
    expect((await m.call('GET', '/v1/program', m.key)).data.withdrawal.auto_approve_max_fen).toBe(2000);
    // Money controls only: finance cannot change anything else through it.
    expect((await m.call('PUT', '/v1/program/money-controls', m.staff.finance.token, { levels: 3 })).statusCode).toBe(400);
    // The owner and the API key change money controls directly, as the contract says.
    expect((await m.call('PUT', '/v1/program', m.staff.owner.token, { freeze_days: 3 })).data).toMatchObject({ freeze_days: 3 });
    const key = await m.call('PUT', '/v1/program', m.key, { withdrawal: { auto_approve_max_fen: 0 } });
    expect(key.data.withdrawal.auto_approve_max_fen).toBe(0);
    expect(key.data.pending_proposal).toBeUndefined();
    // Another tenant's proposal is not found.
    const other = await moneyTenant(t, 0, DEFAULTS);
    expect((await other.call('POST', `/v1/program-proposals/${a.id}/reject`, other.key, { reason: 'x' })).statusCode).toBe(404);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import type { ManualClock } from '../../src/core/context.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

interface Line {
  id: string;
  beneficiary_id: string;
  amount_fen: number;
  status: string;
  held: boolean;
  kind: string;
}

/** A ← B, buyers bound to B; A earns 10% of each order. */
async function setup(program: Record<string, unknown> = {}) {
  const { key } = await t.tenant();
  await t.call('PUT', '/v1/program', { token: key, body: { levels: 1, freeze_days: 0, review_threshold_fen: 100_000_000, ...program } });
  await t.call('PUT', '/v1/grades/default', { token: key, body: { name: 'g', rank: 0, sales_bp: 500, override_bp: [1000] } });
  const a = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'A', name: 'A', device_id: 'device-of-a' } })).data;
  const b = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'B', name: 'B', referrer_code: a.invite_code } })).data;
  for (const c of ['c1', 'c2', 'c3', 'c4']) await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: c, invite_code: b.invite_code } });
  const order = async (id: string, buyer: string, paid: number, extra: Record<string, unknown> = {}) => {
    const res = await t.call('POST', '/v1/orders', {
      token: key,
      body: { external_id: id, buyer_external_id: buyer, items: [{ sku: 's', quantity: 1, unit_price_fen: paid, paid_fen: paid }], ...extra },
    });
    expect(res.statusCode).toBe(201);
    return res.data as { commissions: Line[] };
  };
  const events = async (kind?: string) =>
    (await t.call('GET', `/v1/risk-events${kind ? `?kind=${kind}` : ''}`, { token: key })).data.items as {
      id: string;
      kind: string;
      severity: string;
      status: string;
      subject_id: string;
      details: Record<string, unknown>;
    }[];
  const settle = async () => (await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: t.clock.now().toISOString() } })).data;
  const receive = (id: string) =>
    t.call('POST', `/v1/orders/${id}/events`, { token: key, body: { type: 'received', at: new Date(t.clock.now().getTime() - 1000).toISOString() } });
  const verify = async () => (await t.call('GET', '/v1/ledger/verify', { token: key })).data.breaks;
  return { key, a, b, order, events, settle, receive, verify };
}

describe('compliance guard', () => {
  it('refuses each breach with compliance_violation and changes nothing', async () => {
    const { key } = await t.tenant();
    const breaches: [string, string, unknown][] = [
      ['PUT', '/v1/program', { levels: 4 }],
      ['PUT', '/v1/program', { rewards: { signup_fen: 500 } }],
      ['PUT', '/v1/program', { rewards: { per_head_fen: 100 } }],
      ['PUT', '/v1/program', { admission_conditions: { deposit_fen: 50000, deposit_refundable: false } }],
      ['PUT', '/v1/grades/leader', { name: '团长', rank: 9, sales_bp: 0, override_bp: [], upgrade: { metric: 'team_size', min_fen: 10 } }],
      ['PUT', '/v1/grades/leader', { name: '团长', rank: 9, sales_bp: 0, override_bp: [], upgrade: { metric: 'direct_recruits', min_fen: 5 } }],
    ];
    const before = (await t.call('GET', '/v1/program', { token: key })).data;
    for (const [method, url, body] of breaches) {
      const res = await t.call(method, url, { token: key, body });
      expect(res.statusCode, JSON.stringify(body)).toBe(422);
      expect(res.data.error.code).toBe('compliance_violation');
    }
    expect((await t.call('GET', '/v1/program', { token: key })).data).toEqual(before);
    expect((await t.call('GET', '/v1/grades/leader', { token: key })).statusCode).toBe(404);
  });

  it('states the program against each rule in the report', async () => {
    const { key } = await t.tenant();
    await t.call('PUT', '/v1/program', { token: key, body: { levels: 3, admission_conditions: { deposit_fen: 20000 } } });
    await t.call('PUT', '/v1/grades/senior', {
      token: key,
      body: { name: '高级', rank: 10, sales_bp: 0, override_bp: [], upgrade: { metric: 'sales_fen', min_fen: 10_000_000 } },
    });
    const report = (await t.call('GET', '/v1/compliance/report', { token: key })).data;
    expect(report.compliant).toBe(true);
    const byRule = Object.fromEntries(report.rules.map((r: { rule: string }) => [r.rule, r]));
    expect(Object.keys(byRule).sort()).toEqual([
      'agent_stock_buyback',
      'commission_caps',
      'max_levels',
      'no_recruitment_rewards',
      'refundable_deposits',
      'rewards_from_real_sales',
      'upgrades_on_sales_only',
      'wechat_profile',
    ]);
    expect(byRule.max_levels).toMatchObject({ status: 'compliant', setting: { levels: 3 } });
    expect(byRule.wechat_profile).toMatchObject({ status: 'compliant', setting: { profile: 'standard', levels: 3 } });
    expect(byRule.refundable_deposits).toMatchObject({ status: 'compliant', setting: { deposit_fen: 20000, deposit_refundable: true } });
    expect(byRule.upgrades_on_sales_only.setting).toEqual([{ grade: 'senior', upgrade: { metric: 'sales_fen', min_fen: 10_000_000 } }]);
    expect(byRule.commission_caps.status).toBe('advisory');
    expect(byRule.max_levels.title).toEqual({ zh: '分润层级不超过三级', en: 'Commission reaches at most three levels' });
  });
});

describe('risk rules', () => {
  it('orders from one IP over the limit are held; held lines skip settlement until released', async () => {
    const s = await setup({ risk: { order_ip: { limit: 2, window_seconds: 3600, effect: 'hold' } } });
    for (const [i, c] of ['c1', 'c2'].entries()) await s.order(`o${i}`, c, 10000, { client_ip: '203.0.113.9' });
    const third = await s.order('o2', 'c3', 10000, { client_ip: '203.0.113.9' });
    expect(third.commissions.every((l) => l.held)).toBe(true);
    const [ev] = await s.events('order_ip_limit');
    expect(ev).toMatchObject({ severity: 'hold', status: 'open' });
    const detail = (await t.call('GET', `/v1/risk-events/${ev!.id}`, { token: s.key })).data;
    expect(detail.lines.map((l: { id: string }) => l.id).sort()).toEqual(third.commissions.map((l) => l.id).sort());
    for (const id of ['o0', 'o1', 'o2']) await s.receive(id);
    await s.settle();
    const held = (await t.call('GET', '/v1/orders/o2', { token: s.key })).data.commissions as Line[];
    expect(held.map((l) => l.status)).toEqual(['available', 'available']);
    expect((await t.call('POST', `/v1/risk-events/${ev!.id}/release`, { token: s.key, body: { note: 'a shared office network' } })).data).toMatchObject({
      status: 'released',
      lines: 2,
    });
    await s.settle();
    expect(((await t.call('GET', '/v1/orders/o2', { token: s.key })).data.commissions as Line[]).map((l) => l.status)).toEqual(['settled', 'settled']);
    expect((await t.call('POST', `/v1/risk-events/${ev!.id}/release`, { token: s.key, body: { note: 'again' } })).statusCode).toBe(409);
    expect(await s.verify()).toEqual([]);
  });

  it('orders from one device over the limit, blocked: no commission is credited', async () => {
    const s = await setup({ risk: { order_device: { limit: 1, window_seconds: 3600, effect: 'block' } } });
    expect((await s.order('o0', 'c1', 10000, { device_id: 'phone-1' })).commissions).toHaveLength(2);
    const blocked = await s.order('o1', 'c2', 10000, { device_id: 'phone-1' });
    expect(blocked.commissions).toEqual([]);
    expect((await s.events('order_device_limit'))[0]).toMatchObject({ severity: 'block' });
    expect(await s.verify()).toEqual([]);
  });

  it('a commission surge against the 7-day average is held; confirming fraud reverses it with journal entries', async () => {
    const s = await setup({ risk: { surge: { multiplier: 3, min_fen: 3000, effect: 'hold' } } });
    const clock = t.clock as ManualClock;
    for (let day = 0; day < 7; day++) {
      await s.order(`h${day}`, 'c1', 10000);
      clock.advance(86_400_000);
    }
    // A's daily average is 1,000 fen; an order worth 5,000 to A is a surge. (B's 2,500 is
    // five times its 500 too, but under the rule's 3,000 floor.)
    const big = await s.order('big', 'c2', 50000);
    const aLine = big.commissions.find((l) => l.beneficiary_id === s.a.id)!;
    expect(aLine.held).toBe(true);
    expect(big.commissions.find((l) => l.beneficiary_id === s.b.id)!.held).toBe(false);
    const [ev] = await s.events('surge');
    expect(ev).toMatchObject({ subject_id: s.a.id, severity: 'hold' });
    expect(ev!.details).toMatchObject({ today_fen: 5000, seven_day_average_fen: 1000 });
    const before = (await t.call('GET', `/v1/distributors/${s.a.id}/balance`, { token: s.key })).data.pending_fen;
    const res = await t.call('POST', `/v1/risk-events/${ev!.id}/confirm`, { token: s.key, body: { note: 'fake orders confirmed with the shop' } });
    expect(res.data).toMatchObject({ status: 'confirmed' });
    const after = (await t.call('GET', '/v1/orders/big', { token: s.key })).data.commissions as Line[];
    expect(after.find((l) => l.beneficiary_id === s.a.id)).toMatchObject({ status: 'reversed', amount_fen: 0 });
    expect((await t.call('GET', `/v1/distributors/${s.a.id}/balance`, { token: s.key })).data.pending_fen).toBe(before - 5000);
    const journals = (await t.call('GET', `/v1/journal-entries?ref_id=${ev!.id}`, { token: s.key })).data.items;
    expect(journals.map((j: { kind: string }) => j.kind)).toEqual(['risk_reverse']);
    expect(await s.verify()).toEqual([]);
  });

  it("a self-purchase loop (the buyer on a beneficiary's own registration device) is held", async () => {
    const s = await setup();
    const o = await s.order('loop', 'c1', 10000, { device_id: 'device-of-a' });
    expect(o.commissions.find((l) => l.beneficiary_id === s.a.id)!.held).toBe(true);
    expect(o.commissions.find((l) => l.beneficiary_id === s.b.id)!.held).toBe(false);
    expect((await s.events('self_purchase_loop'))[0]).toMatchObject({ severity: 'hold', status: 'open' });
  });

  it('a refund rate above the threshold holds the seller: its lines wait and it cannot withdraw', async () => {
    const s = await setup({ risk: { refund_rate: { threshold_bp: 5000, min_orders: 2, window_days: 30, effect: 'hold' } } });
    await s.order('r1', 'c1', 10000);
    await s.order('r2', 'c2', 10000);
    await t.call('POST', '/v1/orders/r1/events', { token: s.key, body: { type: 'refunded', refund_fen: 10000 } });
    const [ev] = await s.events('refund_rate');
    expect(ev).toMatchObject({ subject_id: s.b.id, severity: 'hold' });
    expect(ev!.details).toMatchObject({ refund_rate_bp: 5000, orders: 2 });
    const r2 = (await t.call('GET', '/v1/orders/r2', { token: s.key })).data.commissions as Line[];
    expect(r2.find((l) => l.beneficiary_id === s.b.id)!.held).toBe(true);
    // New lines of the held seller wait too.
    const r3 = await s.order('r3', 'c3', 10000);
    expect(r3.commissions.find((l) => l.beneficiary_id === s.b.id)!.held).toBe(true);
    await s.receive('r3');
    await s.settle();
    const w = await t.call('POST', '/v1/withdrawals', { token: s.key, body: { distributor_id: s.b.id, amount_fen: 100, channel: 'manual' } });
    expect(w.statusCode).toBe(409);
    await t.call('POST', `/v1/risk-events/${ev!.id}/release`, { token: s.key, body: { note: 'returns were a supplier fault' } });
    expect(((await t.call('GET', '/v1/orders/r3', { token: s.key })).data.commissions as Line[]).every((l) => !l.held)).toBe(true);
    expect((await t.call('GET', `/v1/distributors/${s.b.id}`, { token: s.key })).statusCode).toBe(200);
    expect(await s.verify()).toEqual([]);
  });

  it('after fraud is confirmed the distributor stays on hold until someone lifts it, and only then withdraws again', async () => {
    const s = await setup({ risk: { refund_rate: { threshold_bp: 5000, min_orders: 2, window_days: 30, effect: 'hold' } } });
    await s.order('f1', 'c1', 10000);
    await s.order('f2', 'c2', 10000);
    await t.call('POST', '/v1/orders/f1/events', { token: s.key, body: { type: 'refunded', refund_fen: 10000 } });
    const [ev] = await s.events('refund_rate');
    // Not liftable while the event is open.
    const early = await t.call('POST', `/v1/distributors/${s.b.id}/risk-hold/lift`, { token: s.key, body: { note: 'too early' } });
    expect(early.statusCode).toBe(409);
    expect((await t.call('POST', `/v1/risk-events/${ev!.id}/confirm`, { token: s.key, body: { note: 'returns were staged' } })).data.status).toBe('confirmed');
    const f2 = (await t.call('GET', '/v1/orders/f2', { token: s.key })).data.commissions as Line[];
    expect(f2.find((l) => l.beneficiary_id === s.b.id)).toMatchObject({ status: 'reversed', amount_fen: 0 });
    // Still on hold: a new line of B waits, and B cannot withdraw.
    const f3 = await s.order('f3', 'c3', 10000);
    expect(f3.commissions.find((l) => l.beneficiary_id === s.b.id)!.held).toBe(true);
    await s.receive('f3');
    await s.settle();
    expect((await t.call('POST', '/v1/withdrawals', { token: s.key, body: { distributor_id: s.b.id, amount_fen: 100, channel: 'manual' } })).statusCode).toBe(
      409,
    );
    // An auditor may not lift it; an operator (who reviews risk) does, with a note, audited.
    const tenantId = (await t.call('GET', '/v1/tenant', { token: s.key })).data.id;
    const login = async (role: string) => {
      expect(
        (await t.call('POST', '/v1/admin-users', { token: s.key, body: { email: `${role}@example.com`, password: `${role}-password-1`, role } })).statusCode,
      ).toBe(201);
      return (await t.call('POST', '/v1/auth/login', { body: { tenant_id: tenantId, email: `${role}@example.com`, password: `${role}-password-1` } })).data
        .token as string;
    };
    expect((await t.call('POST', `/v1/distributors/${s.b.id}/risk-hold/lift`, { token: await login('auditor'), body: { note: 'x' } })).statusCode).toBe(403);
    const lifted = await t.call('POST', `/v1/distributors/${s.b.id}/risk-hold/lift`, {
      token: await login('operator'),
      body: { note: 'account reviewed with the merchant' },
    });
    expect(lifted.data).toEqual({ distributor_id: s.b.id, risk_hold: false, lines: 1 });
    expect((await t.call('POST', `/v1/distributors/${s.b.id}/risk-hold/lift`, { token: s.key, body: { note: 'again' } })).statusCode).toBe(409);
    expect(((await t.call('GET', '/v1/orders/f3', { token: s.key })).data.commissions as Line[]).every((l) => !l.held)).toBe(true);
    await s.settle();
    expect((await t.call('POST', '/v1/withdrawals', { token: s.key, body: { distributor_id: s.b.id, amount_fen: 100, channel: 'manual' } })).statusCode).toBe(
      201,
    );
    const audit = (await t.call('GET', `/v1/audit-log?action=distributor.risk_hold_lift&target_id=${s.b.id}`, { token: s.key })).data.items;
    expect(audit).toHaveLength(1);
    expect(await s.verify()).toEqual([]);
  });

  it('one phone behind several distributors is flagged, or refused when the rule blocks', async () => {
    const s = await setup();
    await t.call('POST', '/v1/distributors', { token: s.key, body: { external_id: 'p1', name: 'P1', phone: '13700001234' } });
    const second = await t.call('POST', '/v1/distributors', { token: s.key, body: { external_id: 'p2', name: 'P2', phone: '137 0000 1234' } });
    expect(second.statusCode).toBe(201);
    const [ev] = await s.events('shared_identity');
    expect(ev).toMatchObject({ subject_id: second.data.id, severity: 'flag' });
    expect((await t.call('POST', `/v1/risk-events/${ev!.id}/dismiss`, { token: s.key, body: { note: 'husband and wife' } })).data.status).toBe('dismissed');
    await t.call('PUT', '/v1/program', { token: s.key, body: { risk: { shared_identity: { effect: 'block' } } } });
    const third = await t.call('POST', '/v1/distributors', { token: s.key, body: { external_id: 'p3', name: 'P3', phone: '13700001234' } });
    expect(third.statusCode).toBe(422);
    expect(third.data.error.code).toBe('risk_blocked');
    expect((await t.call('GET', '/v1/distributors?q=p3', { token: s.key })).data.items).toEqual([]);
  });

  it('one ID number, or one payout account, behind several distributors is flagged, or refused when the rule blocks', async () => {
    const s = await setup();
    const idNumber = '11010519491231002X';
    await t.call('POST', '/v1/distributors', { token: s.key, body: { external_id: 'i1', name: 'I1', id_number: idNumber, consent: true } });
    const second = await t.call('POST', '/v1/distributors', {
      token: s.key,
      body: { external_id: 'i2', name: 'I2', id_number: idNumber.toLowerCase(), consent: true },
    });
    expect(second.statusCode).toBe(201);
    const [ev] = await s.events('shared_identity');
    expect(ev).toMatchObject({ subject_id: second.data.id, severity: 'flag', details: { identity: 'id_number' } });

    const account = { channel: 'alipay', identity: '2088000011112222', identity_type: 'ALIPAY_USER_ID', name: '张三' };
    expect((await t.call('POST', `/v1/distributors/${s.a.id}/payout-accounts`, { token: s.key, body: account })).statusCode).toBe(201);
    // The distributor's own second account of the same identity is no one else's.
    expect((await t.call('POST', `/v1/distributors/${s.a.id}/payout-accounts`, { token: s.key, body: account })).statusCode).toBe(201);
    expect(await s.events('shared_identity')).toHaveLength(1);
    expect((await t.call('POST', `/v1/distributors/${s.b.id}/payout-accounts`, { token: s.key, body: account })).statusCode).toBe(201);
    const events = await s.events('shared_identity');
    expect(events).toHaveLength(2);
    expect(events.find((e) => e.details.identity === 'payout_account')).toMatchObject({ subject_id: s.b.id, details: { shared_with: [s.a.id] } });

    await t.call('PUT', '/v1/program', { token: s.key, body: { risk: { shared_identity: { effect: 'block' } } } });
    const refused = await t.call('POST', `/v1/distributors/${second.data.id}/payout-accounts`, { token: s.key, body: account });
    expect(refused.statusCode).toBe(422);
    expect(refused.data.error.code).toBe('risk_blocked');
    expect((await t.call('GET', `/v1/distributors/${second.data.id}/payout-accounts`, { token: s.key })).data.items).toEqual([]);
    const third = await t.call('POST', '/v1/distributors', { token: s.key, body: { external_id: 'i3', name: 'I3', id_number: idNumber, consent: true } });
    expect(third.statusCode).toBe(422);
    expect(third.data.error.code).toBe('risk_blocked');
    // A change to someone else's phone is caught as well, and refused whole.
    await t.call('PATCH', `/v1/distributors/${s.a.id}`, { token: s.key, body: { phone: '13600005678' } });
    const change = await t.call('PATCH', `/v1/distributors/${s.b.id}`, { token: s.key, body: { phone: '13600005678', name: 'B renamed' } });
    expect(change.statusCode).toBe(422);
    expect(change.data.error.code).toBe('risk_blocked');
    expect((await t.call('GET', `/v1/distributors/${s.b.id}`, { token: s.key })).data).toMatchObject({ name: s.b.name, phone: null });
    await t.call('PUT', '/v1/program', { token: s.key, body: { risk: { shared_identity: { effect: 'flag' } } } });
    expect((await t.call('PATCH', `/v1/distributors/${s.b.id}`, { token: s.key, body: { phone: '13600005678' } })).statusCode).toBe(200);
    expect((await s.events('shared_identity')).find((e) => e.subject_id === s.b.id && e.details.identity === 'phone')).toMatchObject({
      details: { shared_with: [s.a.id] },
    });
  });

  it('a cap that cuts a commission is flagged', async () => {
    const s = await setup({ caps: { per_order_fen: 300 } });
    const o = await s.order('cap', 'c1', 10000);
    expect(o.commissions.map((l) => l.amount_fen)).toEqual([300, 300]);
    const flags = await s.events('cap_hit');
    expect(flags.map((f) => f.subject_id).sort()).toEqual([s.a.id, s.b.id].sort());
    expect(flags[0]!.details).toMatchObject({ order: 'cap' });
  });

  it("review is for risk roles only, and another tenant's events are not found", async () => {
    const s = await setup({ risk: { order_ip: { limit: 1, window_seconds: 3600, effect: 'hold' } } });
    await s.order('o0', 'c1', 100, { client_ip: '198.51.100.1' });
    await s.order('o1', 'c2', 100, { client_ip: '198.51.100.1' });
    const [ev] = await s.events('order_ip_limit');
    const other = await t.tenant();
    expect((await t.call('POST', `/v1/risk-events/${ev!.id}/release`, { token: other.key, body: { note: 'x' } })).statusCode).toBe(404);
    expect((await t.call('GET', `/v1/risk-events/${ev!.id}`, { token: other.key })).statusCode).toBe(404);
  });
});

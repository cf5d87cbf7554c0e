import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/context.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Month-end tier true-up (issue 17 item 2): with the program's tier_true_up on, the scheduler's
 * first pass after a month ends (program time zone, Asia/Shanghai here) raises that month's tier
 * lines to the bracket each beneficiary finally reached, as adjustment lines accrued in the
 * ledger; once per beneficiary and month; ledger verify clean. On PGlite, and on PostgreSQL when
 * DATABASE_URL is set.
 */
let t: TestServer;
let clock: ManualClock;
beforeAll(async () => {
  clock = new ManualClock('2026-05-10T04:00:00Z');
  t = await startTestServer({ clock, env: { FENXIAO_WEBHOOKS_ALLOW_PRIVATE: '1' } });
});
afterAll(async () => {
  await t?.close();
});

interface Setup {
  id: string;
  key: string;
  A: { id: string; invite_code: string };
}

// 5% from the first fen, 8% once the month's own sales reach 1,000 yuan.
async function setup(trueUp: boolean): Promise<Setup> {
  clock.set('2026-05-10T04:00:00Z');
  const { id, key } = await t.tenant();
  const put = await t.call('PUT', '/v1/program', { token: key, body: { levels: 0, tier_true_up: trueUp } });
  expect(put.statusCode, put.body).toBe(200);
  const g = await t.call('PUT', '/v1/grades/default', {
    token: key,
    body: {
      name: 'g',
      rank: 0,
      sales_bp: 0,
      override_bp: [],
      tiers: [
        { min_monthly_sales_fen: 0, sales_bp: 500 },
        { min_monthly_sales_fen: 100_000, sales_bp: 800 },
      ],
    },
  });
  expect(g.statusCode, g.body).toBe(200);
  const A = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'A', name: 'A' } })).data;
  expect((await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'c', invite_code: A.invite_code } })).statusCode).toBe(201);
  return { id, key, A };
}

async function order(s: Setup, ext: string, paid: number) {
  const r = await t.call('POST', '/v1/orders', {
    token: s.key,
    body: { external_id: ext, buyer_external_id: 'c', items: [{ sku: 's', quantity: 1, unit_price_fen: paid, paid_fen: paid }] },
  });
  expect(r.statusCode, r.body).toBe(201);
  return r.data as { commissions: { id: string; amount_fen: number; rate_bp: number; kind: string }[] };
}

type Row = { id: string; kind: string; adjusts: string | null; amount_fen: number; rate_bp: number; status: string; order_id: string };
const lines = async (s: Setup) =>
  (await t.services.db
    .selectFrom('commissions')
    .select(['id', 'kind', 'adjusts', 'amount_fen', 'rate_bp', 'status', 'order_id'])
    .where('tenant_id', '=', s.id)
    .orderBy('id')
    .execute()) as Row[];
const trueUps = (results: { tenant_id: string | null; job: string }[], s: Setup) => results.filter((r) => r.tenant_id === s.id && r.job === 'tier-true-up');
const verify = async (s: Setup) => (await t.call('GET', '/v1/ledger/verify', { token: s.key })).data;
const balance = async (s: Setup) => (await t.call('GET', `/v1/distributors/${s.A.id}/balance`, { token: s.key })).data;

describe('month-end tier true-up', () => {
  it('is off by default and shown in the program', async () => {
    const { key } = await t.tenant();
    expect((await t.call('GET', '/v1/program', { token: key })).data.tier_true_up).toBe(false);
    expect((await t.call('PUT', '/v1/program', { token: key, body: { tier_true_up: 'yes' } })).statusCode).toBe(400);
  });

  it('after the month ends, the lines paid below the bracket finally reached are raised to it, exactly, once', async () => {
    const s = await setup(true);
    // 600.00 at 5% = 30.00; 450.01 at 5% = 22.50; 333.33 after 1,050.01 of sales at 8% = 26.66.
    const a = await order(s, 'oA', 60_000);
    const b = await order(s, 'oB', 45_001);
    const c = await order(s, 'oC', 33_333);
    const hook = await t.call('POST', '/v1/webhook-endpoints', { token: s.key, body: { url: 'http://127.0.0.1:9/hooks', events: ['commission.adjusted'] } });
    expect(hook.statusCode, hook.body).toBe(201);
    expect([a, b, c].map((o) => o.commissions.map((l) => [l.rate_bp, l.amount_fen]))).toEqual([[[500, 3000]], [[500, 2250]], [[800, 2666]]]);

    // 23:59:59 on 31 May in Shanghai: the month is not over.
    clock.set('2026-05-31T15:59:59Z');
    expect(trueUps(await t.scheduler.tick(), s)).toMatchObject([{ outcome: 'skipped', detail: { beneficiaries: 0 } }]);
    expect((await lines(s)).filter((l) => l.kind === 'adjustment')).toEqual([]);

    clock.set('2026-05-31T16:00:00Z');
    expect(trueUps(await t.scheduler.tick(), s)).toMatchObject([{ outcome: 'done', detail: { beneficiaries: 1, lines: 2, fen: 3150 } }]);
    const all = await lines(s);
    const adj = all.filter((l) => l.kind === 'adjustment');
    const lineA = all.find((l) => l.id === a.commissions[0]!.id)!;
    const lineB = all.find((l) => l.id === b.commissions[0]!.id)!;
    expect(adj.map((l) => [l.adjusts, Number(l.amount_fen), l.rate_bp, l.status])).toEqual([
      [lineA.id, 1800, 800, 'pending'],
      [lineB.id, 1350, 800, 'pending'],
    ]);
    // Each line with its adjustment is floor(its base × 8%); the month's total is 8% of each line, to the fen.
    expect(Number(lineA.amount_fen) + 1800).toBe(4800);
    expect(Number(lineB.amount_fen) + 1350).toBe(3600);
    expect((await balance(s)).pending_fen).toBe(3000 + 2250 + 2666 + 3150);
    expect((await verify(s)).breaks).toEqual([]);
    // commission.adjusted per adjustment line, in the true-up's transaction, keyed by the line's order.
    const events = await t.services.db
      .selectFrom('webhook_events')
      .select(['type', 'object_key', 'data'])
      .where('tenant_id', '=', s.id)
      .orderBy('seq')
      .execute();
    expect(
      events.map((e) => {
        const d = e.data as { id: string; kind: string; adjusts: string; amount_fen: number; order_external_id: string };
        return [e.type, e.object_key, d.id, d.kind, d.adjusts, d.amount_fen, d.order_external_id];
      }),
    ).toEqual(
      adj.map((l) => ['commission.adjusted', `order:${l.order_id}`, l.id, 'adjustment', l.adjusts, Number(l.amount_fen), l.adjusts === lineA.id ? 'oA' : 'oB']),
    );

    // A second pass, and two more at once: nothing more.
    expect(trueUps(await t.scheduler.tick(), s)).toMatchObject([{ outcome: 'skipped' }]);
    const again = await Promise.all([t.services.commissions.trueUpDue(s.id, clock.now()), t.services.commissions.trueUpDue(s.id, clock.now())]);
    expect(again.map((r) => r.lines)).toEqual([0, 0]);
    expect((await lines(s)).filter((l) => l.kind === 'adjustment')).toHaveLength(2);
    expect((await balance(s)).pending_fen).toBe(11_066);

    // The adjustment explains itself: the final bracket's share less what its line holds.
    const explained = (await t.call('GET', `/v1/commissions/${adj[0]!.id}`, { token: s.key })).data;
    expect(explained).toMatchObject({ kind: 'adjustment', adjusts: lineA.id, amount_fen: 1800, rate_bp: 800 });
    expect(explained.explanation.formula).toBe(
      `4800 at the bracket finally reached this month (floor(60000 × 800 / 10000)) − 3000 line ${lineA.id} holds = 1800: month-end tier true-up`,
    );
    // The adjustment is shown as such on its order.
    const shown = (await t.call('GET', '/v1/orders/oA', { token: s.key })).data;
    expect(shown.commissions.map((l: { kind: string; amount_fen: number }) => [l.kind, l.amount_fen])).toEqual([
      ['commission', 3000],
      ['adjustment', 1800],
    ]);
  });

  it('a refund recomputes a trued-up line and its adjustment (never above the final share); verify names an adjustment beyond it', async () => {
    const s = await setup(true);
    const a = await order(s, 'rA', 60_000);
    await order(s, 'rB', 45_001);
    clock.set('2026-06-01T00:00:00Z');
    expect((await t.services.commissions.trueUpDue(s.id, clock.now())).fen).toBe(1800 + 1350);
    expect((await balance(s)).pending_fen).toBe(4800 + 3600);
    const adjA = (await lines(s)).find((l) => l.kind === 'adjustment' && l.adjusts === a.commissions[0]!.id)!;

    // verify names an adjustment that holds more than the final bracket gives (rate lowered behind the ledger's back).
    const INVARIANT = "a tier line with its true-up adjustment stays within the final bracket's share of what its order line still paid";
    await t.services.db.updateTable('commissions').set({ rate_bp: 600 }).where('id', '=', adjA.id).execute();
    expect((await verify(s)).breaks.filter((b: { invariant: string }) => b.invariant === INVARIANT)).toEqual([
      { invariant: INVARIANT, subject: adjA.id, detail: 'line 3000 + adjustment 1800 on base 60000 at 600 bp' },
    ]);
    await t.services.db.updateTable('commissions').set({ rate_bp: 800 }).where('id', '=', adjA.id).execute();
    expect((await verify(s)).breaks).toEqual([]);

    // Half of rA refunded: the line is 5% of 300.00 = 15.00, and with its adjustment 8% of 300.00 = 24.00: 9.00.
    const half = await t.call('POST', '/v1/orders/rA/events', { token: s.key, body: { type: 'refunded', refund_fen: 30_000 } });
    expect(half.statusCode, half.body).toBeLessThan(300);
    let now = await lines(s);
    expect(now.filter((l) => l.order_id === adjA.order_id).map((l) => [l.kind, Number(l.amount_fen), l.status])).toEqual([
      ['commission', 1500, 'pending'],
      ['adjustment', 900, 'pending'],
    ]);
    expect((await balance(s)).pending_fen).toBe(2400 + 3600);
    expect((await verify(s)).breaks).toEqual([]);
    // The rest: both at 0, reversed; the reversals sum exactly to what was credited.
    const rest = await t.call('POST', '/v1/orders/rA/events', { token: s.key, body: { type: 'refunded', refund_fen: 30_000 } });
    expect(rest.statusCode, rest.body).toBeLessThan(300);
    now = await lines(s);
    expect(now.filter((l) => l.order_id === adjA.order_id).map((l) => [l.kind, Number(l.amount_fen), l.status])).toEqual([
      ['commission', 0, 'reversed'],
      ['adjustment', 0, 'reversed'],
    ]);
    expect((await balance(s)).pending_fen).toBe(3600);
    expect((await verify(s)).breaks).toEqual([]);
  });

  it('a line paid at a percentage whose final bracket pays fen per unit is raised to fen × its units still paid; verify bounds it by them', async () => {
    const s = await setup(true);
    // 5% from the first fen, 15.00 yuan per unit once the month's own sales reach 1,000 yuan.
    const g = await t.call('PUT', '/v1/grades/default', {
      token: s.key,
      body: {
        name: 'g',
        rank: 0,
        sales_bp: 0,
        override_bp: [],
        tiers: [
          { min_monthly_sales_fen: 0, sales_bp: 500 },
          { min_monthly_sales_fen: 100_000, sales_fixed_fen: 1500 },
        ],
      },
    });
    expect(g.statusCode, g.body).toBe(200);
    const r = await t.call('POST', '/v1/orders', {
      token: s.key,
      body: { external_id: 'u3', buyer_external_id: 'c', items: [{ sku: 's', quantity: 3, unit_price_fen: 20_000, paid_fen: 60_000 }] },
    });
    expect(r.statusCode, r.body).toBe(201);
    const line = (r.data as { commissions: { id: string; amount_fen: number; rate_kind: string; units: number }[] }).commissions[0]!;
    expect(line).toMatchObject({ amount_fen: 3000, rate_kind: 'percent', units: 0 });
    // 1 unit at 5% (2,250) is above 15.00 × 1: it gets nothing.
    await order(s, 'u1', 45_001);
    clock.set('2026-06-01T00:00:00Z');
    expect((await t.services.commissions.trueUpDue(s.id, clock.now())).fen).toBe(4500 - 3000);
    const adj = await t.services.db.selectFrom('commissions').selectAll().where('tenant_id', '=', s.id).where('kind', '=', 'adjustment').execute();
    expect(adj.map((a) => [a.adjusts, a.rate_kind, a.fixed_fen, a.units, Number(a.amount_fen)])).toEqual([[line.id, 'fixed', 1500, 3, 1500]]);
    expect((await verify(s)).breaks).toEqual([]);

    // verify bounds the line and its adjustment by 15.00 × the units the adjustment was written on.
    const INVARIANT = "a tier line with its true-up adjustment stays within the final bracket's share of what its order line still paid";
    await t.services.db.updateTable('commissions').set({ units: 2 }).where('id', '=', adj[0]!.id).execute();
    expect((await verify(s)).breaks.filter((b: { invariant: string }) => b.invariant === INVARIANT)).toEqual([
      { invariant: INVARIANT, subject: adj[0]!.id, detail: 'line 3000 + adjustment 1500 on base 60000 at 1500 fen × 2 units' },
    ]);
    await t.services.db.updateTable('commissions').set({ units: 3 }).where('id', '=', adj[0]!.id).execute();

    // Half refunded: 1 unit still paid (floor of 1.5); the line is 5% of 300.00 = 15.00, which is
    // already 15.00 × 1: the adjustment goes to 0.
    const half = await t.call('POST', '/v1/orders/u3/events', { token: s.key, body: { type: 'refunded', refund_fen: 30_000 } });
    expect(half.statusCode, half.body).toBeLessThan(300);
    const now = await t.services.db.selectFrom('commissions').selectAll().where('order_id', '=', adj[0]!.order_id).orderBy('id').execute();
    expect(now.map((l) => [l.kind, Number(l.amount_fen), l.units])).toEqual([
      ['commission', 1500, 0],
      ['adjustment', 0, 1],
    ]);
    expect((await verify(s)).breaks).toEqual([]);

    // 199.99 yuan left: no whole unit is still paid (floor of 0.99995), so the final share is 0,
    // and the line at its own 5% is 9.99. The true-up only tops up: the line keeps 9.99, the
    // adjustment stays 0, and verify has nothing to bound (it named this line until 2026-12-07:
    // a CI run of the property test found it).
    const more = await t.call('POST', '/v1/orders/u3/events', { token: s.key, body: { type: 'refunded', refund_fen: 10_001 } });
    expect(more.statusCode, more.body).toBeLessThan(300);
    const after = await t.services.db.selectFrom('commissions').selectAll().where('order_id', '=', adj[0]!.order_id).orderBy('id').execute();
    expect(after.map((l) => [l.kind, Number(l.amount_fen)])).toEqual([
      ['commission', 999],
      ['adjustment', 0],
    ]);
    expect((await verify(s)).breaks).toEqual([]);
  });

  it('a line already available or settled gets its adjustment available at once, settled in the next statement; a line still pending, pending (it follows its order)', async () => {
    const s = await setup(true);
    const a = await order(s, 'vA', 60_000);
    for (const type of ['shipped', 'received']) {
      const r = await t.call('POST', '/v1/orders/vA/events', { token: s.key, body: { type } });
      expect(r.statusCode, r.body).toBeLessThan(300);
    }
    clock.set('2026-05-20T04:00:00Z');
    expect((await t.services.commissions.makeAvailable(s.id, clock.now())).lines).toBe(1);
    // Settled mid-month (a manual run): the line keeps its figures; its adjustment settles later.
    const mid = await t.call('POST', '/v1/settlements/run', { token: s.key, body: { as_of: '2026-05-20T04:00:00Z' } });
    expect(mid.data.statements).toEqual([expect.objectContaining({ amount_fen: 3000, status: 'approved' })]);
    await order(s, 'vB', 45_001);
    clock.set('2026-06-01T00:00:00Z');
    expect(trueUps(await t.scheduler.tick(), s)).toMatchObject([{ outcome: 'done', detail: { lines: 2, fen: 1800 + 1350 } }]);
    const adj = (await lines(s)).filter((l) => l.kind === 'adjustment');
    expect(adj.map((l) => [l.adjusts === a.commissions[0]!.id, Number(l.amount_fen), l.status])).toEqual([
      [true, 1800, 'available'],
      [false, 1350, 'pending'],
    ]);
    expect(await balance(s)).toMatchObject({ withdrawable_fen: 3000, available_fen: 1800, pending_fen: 2250 + 1350 });
    expect((await verify(s)).breaks).toEqual([]);
    // vB's line and its adjustment become available together with their order.
    for (const type of ['shipped', 'received'])
      expect((await t.call('POST', '/v1/orders/vB/events', { token: s.key, body: { type } })).statusCode).toBeLessThan(300);
    clock.set('2026-06-10T00:00:00Z');
    expect((await t.services.commissions.makeAvailable(s.id, clock.now())).lines).toBe(2);
    expect(await balance(s)).toMatchObject({ withdrawable_fen: 3000, available_fen: 1800 + 3600, pending_fen: 0 });
    expect((await verify(s)).breaks).toEqual([]);
    // The next statement settles the adjustments with the month's other lines.
    const next = await t.call('POST', '/v1/settlements/run', { token: s.key, body: { as_of: '2026-06-10T00:00:00Z' } });
    expect(next.data.statements).toEqual([expect.objectContaining({ amount_fen: 1800 + 2250 + 1350, status: 'approved' })]);
    expect(await balance(s)).toMatchObject({ withdrawable_fen: 4800 + 3600, available_fen: 0, pending_fen: 0 });
    expect((await lines(s)).every((l) => l.status === 'settled')).toBe(true);
    expect((await verify(s)).breaks).toEqual([]);
  });

  it('the adjustment of a line a risk event holds is held by that event too: confirming fraud reverses both', async () => {
    const s = await setup(true);
    expect(
      (await t.call('PUT', '/v1/program', { token: s.key, body: { risk: { order_ip: { limit: 1, window_seconds: 3600, effect: 'hold' } } } })).statusCode,
    ).toBe(200);
    const ip = async (ext: string, paid: number, client_ip?: string) => {
      const r = await t.call('POST', '/v1/orders', {
        token: s.key,
        body: {
          external_id: ext,
          buyer_external_id: 'c',
          ...(client_ip ? { client_ip } : {}),
          items: [{ sku: 's', quantity: 1, unit_price_fen: paid, paid_fen: paid }],
        },
      });
      expect(r.statusCode, r.body).toBe(201);
      return r.data as { commissions: { id: string; held: boolean }[] };
    };
    await ip('h1', 60_000, '203.0.113.9');
    const h2 = await ip('h2', 45_001, '203.0.113.9');
    await ip('h3', 33_333);
    expect(h2.commissions[0]!.held).toBe(true);
    const ev = (await t.call('GET', '/v1/risk-events?kind=order_ip_limit', { token: s.key })).data.items[0];
    clock.set('2026-06-01T00:00:00Z');
    expect((await t.services.commissions.trueUpDue(s.id, clock.now())).fen).toBe(1800 + 1350);
    const adj2 = (await lines(s)).find((l) => l.kind === 'adjustment' && l.adjusts === h2.commissions[0]!.id)!;
    const detail = (await t.call('GET', `/v1/risk-events/${ev.id}`, { token: s.key })).data;
    expect(detail.lines.map((l: { id: string }) => l.id).sort()).toEqual([h2.commissions[0]!.id, adj2.id].sort());
    expect((await t.call('POST', `/v1/risk-events/${ev.id}/confirm`, { token: s.key, body: { note: 'fake orders' } })).data.status).toBe('confirmed');
    const after = (await lines(s)).filter((l) => l.order_id === adj2.order_id);
    expect(after.map((l) => [l.kind, Number(l.amount_fen), l.status])).toEqual([
      ['commission', 0, 'reversed'],
      ['adjustment', 0, 'reversed'],
    ]);
    expect((await balance(s)).pending_fen).toBe(3000 + 1800 + 2666);
    expect((await verify(s)).breaks).toEqual([]);
  });

  it('two passes at once on a month not yet trued up write it once', async () => {
    const s = await setup(true);
    await order(s, 'p1', 80_000);
    await order(s, 'p2', 30_000);
    clock.set('2026-06-01T00:00:00Z');
    const r = await Promise.all([t.services.commissions.trueUpDue(s.id, clock.now()), t.services.commissions.trueUpDue(s.id, clock.now())]);
    // 800.00 at 5% = 40.00 → 64.00 at 8% (+24.00); 300.00 after 800.00 at 5% = 15.00 → 24.00 (+9.00): one pass writes both, the other nothing.
    expect(r.map((x) => x.fen).sort((x, y) => x - y)).toEqual([0, 3300]);
    expect((await lines(s)).filter((l) => l.kind === 'adjustment').map((l) => Number(l.amount_fen))).toEqual([2400, 900]);
    expect((await verify(s)).breaks).toEqual([]);
  });

  it('with tier_true_up off, nothing is adjusted', async () => {
    const s = await setup(false);
    await order(s, 'q1', 60_000);
    await order(s, 'q2', 60_000);
    clock.set('2026-06-01T00:00:00Z');
    expect(trueUps(await t.scheduler.tick(), s)).toMatchObject([{ outcome: 'skipped' }]);
    expect((await lines(s)).filter((l) => l.kind === 'adjustment')).toEqual([]);
  });
});

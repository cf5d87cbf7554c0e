/**
 * Rule releases (issue 11, CONTRACT.md "Rule releases"): changes with an effective time —
 * scheduled (GET answers the rules in force now; the service clock is moved, never slept),
 * back-dated (orders created afterwards and paid since then use it; existing lines never change;
 * a later change still overrides what it sets), cancelled before they start; and pilots.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/context.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const clock = () => t.clock as ManualClock;
const iso = (ms: number) => new Date(ms).toISOString();

interface Line {
  id: string;
  beneficiary_id: string;
  level: number;
  amount_fen: number;
  rate_bp: number;
  pilot_id?: string;
}

/** A ← B ← C, buyers bound to B and C; level-1 10 %, level-2 5 % by the default grade. */
async function world() {
  const { key } = await t.tenant();
  const call = (method: string, url: string, body?: unknown) => t.call(method, url, { token: key, body });
  expect((await call('PUT', '/v1/grades/default', { name: '普通', rank: 0, sales_bp: 0, override_bp: [1000, 500] })).statusCode).toBe(200);
  const a = (await call('POST', '/v1/distributors', { external_id: 'A', name: 'A' })).data;
  const b = (await call('POST', '/v1/distributors', { external_id: 'B', name: 'B', referrer_code: a.invite_code })).data;
  const c = (await call('POST', '/v1/distributors', { external_id: 'C', name: 'C', referrer_code: b.invite_code })).data;
  await call('POST', '/v1/bindings', { customer_external_id: 'buyer-b', invite_code: b.invite_code });
  await call('POST', '/v1/bindings', { customer_external_id: 'buyer-c', invite_code: c.invite_code });
  const order = async (id: string, buyer: string, paidFen: number, paidAt?: string) => {
    const res = await call('POST', '/v1/orders', {
      external_id: id,
      buyer_external_id: buyer,
      ...(paidAt ? { paid_at: paidAt } : {}),
      items: [{ sku: 'tea', quantity: 1, unit_price_fen: paidFen, paid_fen: paidFen }],
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.data as { id: string; seller_id: string | null; paid_fen: number; commissions: Line[] };
  };
  const amounts = (o: { commissions: Line[] }) =>
    Object.fromEntries(
      o.commissions.filter((l) => l.amount_fen !== 0).map((l) => [l.beneficiary_id === a.id ? 'A' : l.beneficiary_id === b.id ? 'B' : 'C', l.amount_fen]),
    );
  return { key, call, a, b, c, order, amounts };
}

describe('effective times', () => {
  it('a scheduled change waits for its time: GET answers the rules in force now, orders before it use the old rules, after it the new', async () => {
    const w = await world();
    const start = clock().now().getTime();
    const at = iso(start + 2 * HOUR);
    const put = await w.call('PUT', `/v1/grades/default?effective_from=${at}`, { name: '普通', rank: 0, sales_bp: 0, override_bp: [2000, 500] });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.data.change).toMatchObject({ kind: 'grade', target: 'default', timing: 'scheduled', effective_from: at, status: 'active' });
    const prog = await w.call('PUT', `/v1/program?effective_from=${at}`, { levels: 1 });
    expect(prog.statusCode, prog.body).toBe(200);
    // GET answers what is in force now.
    expect((await w.call('GET', '/v1/grades/default')).data.override_bp).toEqual([1000, 500]);
    expect((await w.call('GET', '/v1/program')).data.levels).toBe(2);
    const scheduled = (await w.call('GET', '/v1/rule-changes?scheduled=true')).data.items;
    expect(scheduled.map((c: { kind: string }) => c.kind).sort()).toEqual(['grade', 'program']);

    // Before its time: 10 % and 5 %.
    expect(w.amounts(await w.order('s1', 'buyer-c', 10000))).toEqual({ B: 1000, A: 500 });
    // An order paid after the change's time but sent now is computed with the rules in force when it was paid.
    expect(w.amounts(await w.order('s2', 'buyer-c', 10000, iso(start + 3 * HOUR)))).toEqual({ B: 2000 });

    clock().advance(2 * HOUR + 1);
    expect((await w.call('GET', '/v1/grades/default')).data.override_bp).toEqual([2000, 500]);
    expect((await w.call('GET', '/v1/program')).data.levels).toBe(1);
    expect((await w.call('GET', '/v1/rule-changes?scheduled=true')).data.items).toEqual([]);
    // After it: 20 %, one level.
    expect(w.amounts(await w.order('s3', 'buyer-c', 10000))).toEqual({ B: 2000 });
    // The first order's lines never changed.
    expect(w.amounts((await w.call('GET', '/v1/orders/s1')).data)).toEqual({ B: 1000, A: 500 });
    // Both steps are in the audit log, with their effective time.
    const audit = (await w.call('GET', '/v1/audit-log?action=rule_change.schedule')).data.items;
    expect(audit).toHaveLength(2);
  });

  it('a scheduled change can be cancelled before it starts, not after; cancelled, it never applies', async () => {
    const w = await world();
    const start = clock().now().getTime();
    const put = await w.call('PUT', `/v1/grades/default?effective_from=${iso(start + HOUR)}`, { name: '普通', rank: 0, sales_bp: 0, override_bp: [3000, 500] });
    const later = await w.call('PUT', `/v1/grades/default?effective_from=${iso(start + 3 * HOUR)}`, {
      name: '普通',
      rank: 0,
      sales_bp: 100,
      override_bp: [3000, 600],
    });
    const id = put.data.change.id as string;
    const cancel = await w.call('POST', `/v1/rule-changes/${id}/cancel`, { reason: 'not this month' });
    expect(cancel.statusCode, cancel.body).toBe(200);
    expect(cancel.data).toMatchObject({ id, status: 'cancelled', timing: 'cancelled' });
    expect((await w.call('POST', `/v1/rule-changes/${id}/cancel`, {})).statusCode).toBe(409);
    clock().advance(HOUR + 1);
    expect((await w.call('GET', '/v1/grades/default')).data.override_bp).toEqual([1000, 500]);
    expect(w.amounts(await w.order('c1', 'buyer-c', 10000))).toEqual({ B: 1000, A: 500 });
    // The later one still applies at its time, as it was given.
    clock().advance(2 * HOUR);
    expect(w.amounts(await w.order('c2', 'buyer-c', 10000))).toEqual({ C: 100, B: 3000, A: 600 });
    // Once in force, a change cannot be cancelled.
    expect((await w.call('POST', `/v1/rule-changes/${later.data.change.id}/cancel`, {})).data.error.code).toBe('invalid_state');
    expect((await w.call('GET', '/v1/audit-log?action=rule_change.cancel')).data.items[0]).toMatchObject({ target_id: id, reason: 'not this month' });
  });

  it('a back-dated change inserts into the history: imported orders paid since then use it, existing lines stay, a later change still overrides what it sets', async () => {
    const w = await world();
    const now = clock().now().getTime();
    // Last month's order, imported before any back-dated change: the starting rules (override 0 before the first grade change? no: the grade change above is in force from now only).
    const before = await w.order('old-1', 'buyer-c', 10000, iso(now - 20 * DAY));
    expect(w.amounts(before)).toEqual({});
    // Back-dated 30 days: level-1 8 %, seller 2 %.
    const back = await w.call('PUT', `/v1/grades/default?effective_from=${iso(now - 30 * DAY)}&reason=${encodeURIComponent('import of last month')}`, {
      name: '普通',
      rank: 0,
      sales_bp: 200,
      override_bp: [800, 300],
    });
    expect(back.statusCode, back.body).toBe(200);
    expect(back.data.change).toMatchObject({ timing: 'in_force', reason: 'import of last month' });
    // The grade set at the start of this test (10 %, 5 %) is later than the back-dated one, so it still overrides it now.
    expect((await w.call('GET', '/v1/grades/default')).data.override_bp).toEqual([1000, 500]);
    // A back-dated program change sets levels 1 from 25 days ago: nothing later sets levels, so it is in force now too.
    expect((await w.call('PUT', `/v1/program?effective_from=${iso(now - 25 * DAY)}&reason=import`, { levels: 1 })).statusCode).toBe(200);
    expect((await w.call('GET', '/v1/program')).data.levels).toBe(1);

    // Imported orders: 28 days ago → 8 %/3 % with two levels; 20 days ago → one level.
    expect(w.amounts(await w.order('old-2', 'buyer-c', 10000, iso(now - 28 * DAY)))).toEqual({ C: 200, B: 800, A: 300 });
    expect(w.amounts(await w.order('old-3', 'buyer-c', 10000, iso(now - 20 * DAY)))).toEqual({ C: 200, B: 800 });
    // Paid now: the later grade change (10 %, seller 0) and levels 1.
    expect(w.amounts(await w.order('new-1', 'buyer-c', 10000))).toEqual({ B: 1000 });
    // The order created before the back-dated change keeps its lines.
    expect(w.amounts((await w.call('GET', '/v1/orders/old-1')).data)).toEqual({});
    expect((await w.call('GET', '/v1/audit-log?action=rule_change.backdate')).data.items.map((e: { reason: string }) => e.reason).sort()).toEqual([
      'import',
      'import of last month',
    ]);
  });

  it('refuses an effective_from outside 1900–9999 or not a time, and a scheduled change that breaks compliance, up front and writing nothing', async () => {
    const w = await world();
    for (const bad of ['1899-12-31T23:59:59Z', '10000-01-01T00:00:00Z', 'tomorrow', '2026-13-45T00:00:00Z']) {
      const res = await w.call('PUT', `/v1/program?effective_from=${encodeURIComponent(bad)}`, { levels: 1 });
      expect(res.statusCode, bad).toBe(400);
      expect(res.data.error.code).toBe('invalid_request');
      expect(
        (await w.call('PUT', `/v1/grades/default?effective_from=${encodeURIComponent(bad)}`, { name: 'x', rank: 0, sales_bp: 0, override_bp: [] })).statusCode,
      ).toBe(400);
    }
    const future = iso(clock().now().getTime() + DAY);
    const levels = await w.call('PUT', `/v1/program?effective_from=${future}`, { levels: 4 });
    expect(levels.statusCode).toBe(422);
    expect(levels.data.error.code).toBe('compliance_violation');
    const headCount = await w.call('PUT', `/v1/grades/gold?effective_from=${future}`, {
      name: '金牌',
      rank: 2,
      sales_bp: 0,
      override_bp: [],
      upgrade: { metric: 'direct_recruits', min_fen: 10 },
    });
    expect(headCount.statusCode).toBe(422);
    // Only the grade change world() made is recorded.
    expect((await w.call('GET', '/v1/rule-changes')).data.items.map((c: { timing: string; target: string }) => [c.timing, c.target])).toEqual([
      ['in_force', 'default'],
    ]);
    expect((await w.call('GET', '/v1/program')).data.levels).toBe(2);
  });

  it('SKU rules take an effective time too', async () => {
    const w = await world();
    const at = iso(clock().now().getTime() + HOUR);
    const put = await w.call('PUT', `/v1/sku-rules/tea?effective_from=${at}`, { rates: { '1': { kind: 'fixed', fen: 700 } } });
    expect(put.statusCode, put.body).toBe(200);
    expect((await w.call('GET', '/v1/sku-rules')).data.items).toEqual([]);
    expect(w.amounts(await w.order('k1', 'buyer-c', 10000))).toEqual({ B: 1000, A: 500 });
    clock().advance(HOUR);
    expect(w.amounts(await w.order('k2', 'buyer-c', 10000))).toEqual({ B: 700, A: 500 });
    expect((await w.call('GET', '/v1/sku-rules')).data.items.map((r: { sku: string }) => r.sku)).toEqual(['tea']);
  });
});

describe('pilots', () => {
  async function pilotWorld() {
    const w = await world();
    const d = (await w.call('POST', '/v1/distributors', { external_id: 'D', name: 'D' })).data;
    await w.call('POST', '/v1/bindings', { customer_external_id: 'buyer-d', invite_code: d.invite_code });
    return { ...w, d };
  }
  const sum = (o: { commissions: Line[] }) => o.commissions.reduce((s, l) => s + l.amount_fen, 0);

  it('pilot lines carry its id and its changes, control lines do not; the report equals the orders; promote makes it the rules for everyone', async () => {
    const w = await pilotWorld();
    const created = await w.call('POST', '/v1/pilots', { name: '卖家3%', cohort: { distributor_ids: [w.c.id] }, grades: { default: { sales_bp: 300 } } });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.data).toMatchObject({ name: '卖家3%', status: 'running' });
    const id = created.data.id as string;

    const p1 = await w.order('p1', 'buyer-c', 10000);
    expect(w.amounts(p1)).toEqual({ C: 300, B: 1000, A: 500 });
    expect(p1.commissions.every((l) => l.pilot_id === id)).toBe(true);
    const q1 = await w.order('q1', 'buyer-b', 20000);
    expect(w.amounts(q1)).toEqual({ A: 2000 });
    expect(q1.commissions.every((l) => l.pilot_id === undefined)).toBe(true);
    const q2 = await w.order('q2', 'buyer-d', 7000);
    expect(q2.commissions).toEqual([]);
    const explained = (await w.call('GET', `/v1/commissions/${p1.commissions[0]?.id as string}`)).data;
    expect(explained.explanation.rate.pilot_id).toBe(id);
    expect(explained.pilot_id).toBe(id);

    // A refund changes the lines; the report follows the orders as they stand.
    expect((await w.call('POST', '/v1/orders/p1/events', { type: 'refunded', refund_fen: 2000 })).statusCode).toBe(200);
    const orders = await Promise.all(['p1', 'q1', 'q2'].map(async (e) => (await w.call('GET', `/v1/orders/${e}`)).data));
    const [op1, oq1, oq2] = orders;
    const report = (await w.call('GET', `/v1/pilots/${id}/report`)).data;
    expect(report.pilot).toMatchObject({ orders: 1, sales_fen: op1.paid_fen, commission_fen: sum(op1), refunded_fen: 2000, active_distributors: 1 });
    expect(report.control).toMatchObject({ orders: 2, sales_fen: oq1.paid_fen + oq2.paid_fen, commission_fen: sum(oq1) + sum(oq2), active_distributors: 2 });
    expect(report.pilot.commission_rate_bp).toBe(Math.floor((sum(op1) * 10000) / op1.paid_fen));
    expect(report.control.sales_per_active_distributor_fen).toBe(Math.floor(27000 / 2));
    expect(report.pilot.refund_rate_bp).toBe(2000);
    expect(report.comparison.commission_rate_bp.difference).toBe(report.pilot.commission_rate_bp - report.control.commission_rate_bp);
    expect(report.daily.length).toBeGreaterThan(0);

    const promoted = await w.call('POST', `/v1/pilots/${id}/promote`, {});
    expect(promoted.statusCode, promoted.body).toBe(200);
    expect(promoted.data.status).toBe('promoted');
    expect((await w.call('GET', '/v1/grades/default')).data).toMatchObject({ sales_bp: 300, override_bp: [1000, 500] });
    const newest = (await w.call('GET', '/v1/rule-versions?limit=1')).data.items[0];
    expect(newest.reason).toContain(id);
    // Everyone now: B sells and earns 3 %, no pilot id.
    const after = await w.order('q3', 'buyer-b', 10000);
    expect(w.amounts(after)).toEqual({ B: 300, A: 1000 });
    expect(after.commissions.every((l) => l.pilot_id === undefined)).toBe(true);
    expect((await w.call('POST', `/v1/pilots/${id}/promote`, {})).data.error.code).toBe('invalid_state');
    expect((await w.call('POST', `/v1/pilots/${id}/stop`, {})).statusCode).toBe(409);
    const actions = (await w.call('GET', `/v1/audit-log?target_id=${id}`)).data.items.map((e: { action: string }) => e.action);
    expect(actions.sort()).toEqual(['pilot.create', 'pilot.promote']);
  });

  it('fixed amounts: cohort orders get the fixed lines, others the percentage; the report counts them; promote makes them the rules for everyone', async () => {
    const w = await pilotWorld();
    // 3 units of 100 yuan: percentages pay on 30000, fixed amounts per unit × 3.
    const order = async (id: string, buyer: string) => {
      const res = await w.call('POST', '/v1/orders', {
        external_id: id,
        buyer_external_id: buyer,
        items: [{ sku: 'tea', quantity: 3, unit_price_fen: 10000, paid_fen: 30000 }],
      });
      expect(res.statusCode, res.body).toBe(201);
      return res.data as { paid_fen: number; commissions: (Line & { rate_kind: string; fixed_fen: number; units: number; rate_source: string })[] };
    };
    // The grade pays its seller 2 yuan per unit and loses its level-2 rate; the program default pays level 2 0.90 per unit.
    const body = {
      name: '固定金额',
      cohort: { distributor_ids: [w.c.id] },
      grades: { default: { sales_fixed_fen: 200, override_bp: [1000], fixed_per: 'unit' } },
      program: { default_rates: { override_fixed_fen: [null, 90] } },
    };
    const created = await w.call('POST', '/v1/pilots', body);
    expect(created.statusCode, created.body).toBe(201);
    expect(created.data).toMatchObject({ grades: body.grades, program: body.program });
    const id = created.data.id as string;

    const inPilot = await order('f1', 'buyer-c');
    expect(w.amounts(inPilot)).toEqual({ C: 600, B: 3000, A: 270 });
    const byLevel = new Map(inPilot.commissions.map((l) => [l.level, l]));
    expect(byLevel.get(0)).toMatchObject({ rate_kind: 'fixed', fixed_fen: 200, units: 3, rate_source: 'grade', pilot_id: id });
    expect(byLevel.get(1)).toMatchObject({ rate_kind: 'percent', rate_bp: 1000, pilot_id: id });
    expect(byLevel.get(2)).toMatchObject({ rate_kind: 'fixed', fixed_fen: 90, units: 3, rate_source: 'default', pilot_id: id });
    // B's own sale is not in the cohort: the grade's percentages (0 % for the seller, 10 % above).
    const control = await order('f2', 'buyer-b');
    expect(w.amounts(control)).toEqual({ A: 3000 });
    expect(control.commissions.every((l) => l.rate_kind === 'percent' && l.pilot_id === undefined)).toBe(true);

    const report = (await w.call('GET', `/v1/pilots/${id}/report`)).data;
    expect(report.pilot).toMatchObject({ orders: 1, sales_fen: 30000, commission_fen: 3870 });
    expect(report.control).toMatchObject({ orders: 1, sales_fen: 30000, commission_fen: 3000 });

    const promoted = await w.call('POST', `/v1/pilots/${id}/promote`, {});
    expect(promoted.statusCode, promoted.body).toBe(200);
    expect((await w.call('GET', '/v1/grades/default')).data).toMatchObject({ sales_bp: 0, override_bp: [1000], sales_fixed_fen: 200, fixed_per: 'unit' });
    expect((await w.call('GET', '/v1/program')).data.default_rates).toMatchObject({ override_fixed_fen: [null, 90] });
    // Everyone now, without a pilot id: B's own sale pays B the fixed amount, C's as in the pilot.
    const after = await order('f3', 'buyer-b');
    expect(w.amounts(after)).toEqual({ B: 600, A: 3000 });
    const afterC = await order('f4', 'buyer-c');
    expect(w.amounts(afterC)).toEqual({ C: 600, B: 3000, A: 270 });
    expect([...after.commissions, ...afterC.commissions].every((l) => l.pilot_id === undefined)).toBe(true);
  });

  it('refuses bad fixed amounts as PUT /v1/grades/{code} and PUT /v1/program do, with 400 and nothing changed', async () => {
    const w = await pilotWorld();
    const grade = (await w.call('GET', '/v1/grades/default')).data;
    const program = (await w.call('GET', '/v1/program')).data;
    const bad = [
      { grades: { default: { sales_fixed_fen: -1 } } },
      { grades: { default: { override_fixed_fen: [1.5] } } },
      { grades: { default: { fixed_per: 'month' } } },
      { grades: { default: { override_fixed_fen: [1, 2, 3, 4] } } },
      { grades: { default: { sales_fixed_fen: '200' } } },
      { program: { default_rates: { sales_fixed_fen: -5 } } },
      { program: { default_rates: { override_fixed_fen: [null, null, null, 1] } } },
      { program: { default_rates: { fixed_per: 'day' } } },
      { program: { default_rates: { sales_fixed_fen: 100, extra_fen: 1 } } },
    ];
    for (const changes of bad) {
      const res = await w.call('POST', '/v1/pilots', { name: 'bad', cohort: { distributor_ids: [w.c.id] }, ...changes });
      expect(res.statusCode, JSON.stringify(changes)).toBe(400);
      expect(res.data.error.code).toBe('invalid_request');
    }
    expect((await w.call('GET', '/v1/pilots')).data.items).toEqual([]);
    expect((await w.call('GET', '/v1/grades/default')).data).toEqual(grade);
    expect((await w.call('GET', '/v1/program')).data).toEqual(program);
    const o = await w.order('b1', 'buyer-c', 10000);
    expect(w.amounts(o)).toEqual({ B: 1000, A: 500 });
    expect(o.commissions.every((l) => l.pilot_id === undefined)).toBe(true);
  });

  it('refuses an empty or unknown cohort, no changes, more than 3 levels and a seller already in a running pilot, writing nothing', async () => {
    const w = await pilotWorld();
    const post = (body: unknown) => w.call('POST', '/v1/pilots', body);
    expect((await post({ name: 'x', cohort: {}, grades: { default: { sales_bp: 1 } } })).statusCode).toBe(400);
    expect((await post({ name: 'x', cohort: { percent: 0 }, grades: { default: { sales_bp: 1 } } })).statusCode).toBe(400);
    expect((await post({ name: 'x', cohort: { distributor_ids: ['dst_nobody'] }, grades: { default: { sales_bp: 1 } } })).statusCode).toBe(400);
    expect((await post({ name: 'x', cohort: { grades: ['nope'] }, grades: { default: { sales_bp: 1 } } })).statusCode).toBe(400);
    expect((await post({ name: 'x', cohort: { distributor_ids: [w.c.id] } })).statusCode).toBe(400);
    expect((await post({ name: 'x', cohort: { distributor_ids: [w.c.id] }, grades: { gold: { sales_bp: 1 } } })).statusCode).toBe(400);
    expect((await post({ name: 'x', cohort: { distributor_ids: [w.c.id] }, program: { levels: 1, freeze_days: 0 } })).statusCode).toBe(400);
    const four = await post({ name: 'x', cohort: { distributor_ids: [w.c.id] }, program: { levels: 4 } });
    expect(four.statusCode).toBe(422);
    expect(four.data.error.code).toBe('compliance_violation');
    expect((await w.call('GET', '/v1/pilots')).data.items).toEqual([]);

    expect((await post({ name: 'one', cohort: { distributor_ids: [w.c.id] }, program: { levels: 1 } })).statusCode).toBe(201);
    // C is of grade default: a pilot on that grade would hold C twice.
    const twice = await post({ name: 'two', cohort: { grades: ['default'] }, program: { levels: 1 } });
    expect(twice.statusCode).toBe(409);
    expect(twice.data.error.code).toBe('conflict');
    expect((await post({ name: 'three', cohort: { distributor_ids: [w.d.id] }, program: { levels: 1 } })).statusCode).toBe(201);
    expect((await w.call('GET', '/v1/pilots')).data.items.map((p: { name: string }) => p.name)).toEqual(['three', 'one']);
  });

  it('stop ends it with nothing changed; an end time stops it by itself', async () => {
    const w = await pilotWorld();
    const start = clock().now().getTime();
    const a = (await w.call('POST', '/v1/pilots', { name: 'stop me', cohort: { distributor_ids: [w.c.id] }, program: { levels: 1 } })).data;
    expect(w.amounts(await w.order('s-in', 'buyer-c', 10000))).toEqual({ B: 1000 });
    const stopped = await w.call('POST', `/v1/pilots/${a.id}/stop`, {});
    expect(stopped.statusCode).toBe(200);
    expect(stopped.data.status).toBe('stopped');
    expect((await w.call('GET', '/v1/program')).data.levels).toBe(2);
    const out = await w.order('s-out', 'buyer-c', 10000);
    expect(w.amounts(out)).toEqual({ B: 1000, A: 500 });
    expect(out.commissions.every((l) => l.pilot_id === undefined)).toBe(true);
    expect((await w.call('POST', `/v1/pilots/${a.id}/promote`, {})).statusCode).toBe(409);
    expect((await w.call('GET', `/v1/pilots/${a.id}/report`)).data.pilot).toMatchObject({ orders: 1, commission_fen: 1000 });

    const b = (await w.call('POST', '/v1/pilots', { name: 'timed', cohort: { distributor_ids: [w.c.id] }, program: { levels: 1 }, ends_at: iso(start + HOUR) }))
      .data;
    expect(w.amounts(await w.order('t-in', 'buyer-c', 10000))).toEqual({ B: 1000 });
    clock().advance(HOUR);
    expect(w.amounts(await w.order('t-out', 'buyer-c', 10000))).toEqual({ B: 1000, A: 500 });
    expect((await w.call('GET', `/v1/pilots/${b.id}`)).data).toMatchObject({ status: 'stopped', ended_at: iso(start + HOUR) });
    expect((await w.call('POST', `/v1/pilots/${b.id}/promote`, {})).statusCode).toBe(409);
    expect((await w.call('GET', `/v1/audit-log?target_id=${b.id}`)).data.items.map((e: { action: string }) => e.action).sort()).toEqual([
      'pilot.create',
      'pilot.end',
    ]);
  });
});

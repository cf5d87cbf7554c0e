import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/context.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Binding policies (issue 17): override, the protection window and the validity window, each at
 * its edge with the service clock moved, through POST /v1/bindings, an order's invite code and
 * the lapse job. On PGlite, and on PostgreSQL when DATABASE_URL is set.
 */
const DAY = 86_400_000;
let t: TestServer;
let clock: ManualClock;
beforeAll(async () => {
  clock = new ManualClock('2026-05-01T00:00:00Z');
  t = await startTestServer({ clock });
});
afterAll(async () => {
  await t?.close();
});

interface Setup {
  id: string;
  key: string;
  A: { id: string; invite_code: string };
  B: { id: string; invite_code: string };
  C: { id: string; invite_code: string };
}

async function setup(binding: Record<string, unknown>): Promise<Setup> {
  clock.set('2026-05-01T00:00:00Z');
  const { id, key } = await t.tenant();
  const put = await t.call('PUT', '/v1/program', { token: key, body: { levels: 0, binding } });
  expect(put.statusCode, put.body).toBe(200);
  await t.call('PUT', '/v1/grades/default', { token: key, body: { name: 'g', rank: 0, sales_bp: 1000, override_bp: [] } });
  const d = async (ext: string) => (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: ext, name: ext } })).data;
  return { id, key, A: await d('A'), B: await d('B'), C: await d('C') };
}

const bind = (s: Setup, customer: string, code: string) =>
  t.call('POST', '/v1/bindings', { token: s.key, body: { customer_external_id: customer, invite_code: code } });

let orderNo = 0;
async function order(s: Setup, buyer: string, inviteCode?: string) {
  const r = await t.call('POST', '/v1/orders', {
    token: s.key,
    body: {
      external_id: `o${++orderNo}`,
      buyer_external_id: buyer,
      ...(inviteCode ? { invite_code: inviteCode } : {}),
      items: [{ sku: 's', quantity: 1, unit_price_fen: 10_000, paid_fen: 10_000 }],
    },
  });
  expect(r.statusCode, r.body).toBe(201);
  return r.data as { seller_id: string | null; commissions: { beneficiary_id: string; amount_fen: number }[] };
}

const customer = async (s: Setup, ext: string) => (await t.call('GET', `/v1/customers/${ext}`, { token: s.key })).data;
const kinds = async (s: Setup, ext: string) => (await customer(s, ext)).history.map((h: { kind: string }) => h.kind);

describe('binding settings', () => {
  it("defaults keep today's behaviour: no protection, no validity window", async () => {
    const { key } = await t.tenant();
    const p = (await t.call('GET', '/v1/program', { token: key })).data;
    expect(p.binding).toEqual({
      mode: 'permanent',
      rebind_after_days: 30,
      bind_on: 'registration',
      protection_days: 0,
      validity_days: 0,
      validity_from: 'bound',
    });
  });

  it('refuses an unknown mode or a negative window with a 400, changing nothing', async () => {
    const { key } = await t.tenant();
    for (const binding of [{ mode: 'latest' }, { protection_days: -1 }, { validity_days: 1.5 }, { validity_from: 'first_order' }, { validity_days: 4000 }]) {
      const r = await t.call('PUT', '/v1/program', { token: key, body: { binding } });
      expect(r.statusCode).toBe(400);
    }
    expect((await t.call('GET', '/v1/program', { token: key })).data.binding.mode).toBe('permanent');
  });
});

describe('override: the latest valid invite wins', () => {
  it('POST /v1/bindings and an order’s invite code rebind at once without a protection window', async () => {
    const s = await setup({ mode: 'override' });
    expect((await bind(s, 'x', s.A.invite_code)).statusCode).toBe(201);
    const re = await bind(s, 'x', s.B.invite_code);
    expect(re.statusCode).toBe(201);
    expect(re.data.distributor_id).toBe(s.B.id);
    const o = await order(s, 'x', s.C.invite_code);
    expect(o.seller_id).toBe(s.C.id);
    expect(o.commissions).toMatchObject([{ beneficiary_id: s.C.id, amount_fen: 1000 }]);
    expect(await kinds(s, 'x')).toEqual(['bind', 'rebind', 'rebind']);
    // The same distributor again is no change (409, as before).
    expect((await bind(s, 'x', s.C.invite_code)).statusCode).toBe(409);
    // Still: no binding to oneself, nor a distributor with a referrer moved by an invite.
    expect((await bind(s, 'A', s.A.invite_code)).statusCode).toBe(422);
  });

  it('a protection window holds a new binding until its last millisecond', async () => {
    const s = await setup({ mode: 'override', protection_days: 7 });
    expect((await bind(s, 'x', s.A.invite_code)).statusCode).toBe(201);
    clock.advance(7 * DAY - 1);
    const held = await bind(s, 'x', s.B.invite_code);
    expect(held.statusCode).toBe(409);
    expect(held.data.error.code).toBe('conflict');
    // An order's invite code inside the window: the binding stays, A earns.
    expect((await order(s, 'x', s.B.invite_code)).seller_id).toBe(s.A.id);
    clock.advance(1);
    // Outside it: B takes the customer, and holds it for 7 days from now.
    expect((await order(s, 'x', s.B.invite_code)).seller_id).toBe(s.B.id);
    expect((await bind(s, 'x', s.C.invite_code)).statusCode).toBe(409);
    clock.advance(7 * DAY);
    expect((await bind(s, 'x', s.C.invite_code)).statusCode).toBe(201);
    expect((await customer(s, 'x')).history.map((h: { kind: string; to_distributor_id: string }) => [h.kind, h.to_distributor_id])).toEqual([
      ['bind', s.A.id],
      ['rebind', s.B.id],
      ['rebind', s.C.id],
    ]);
  });
});

describe('the protection window in the other modes', () => {
  it('rebindable: idle long enough but still protected stays; after the window it may be taken', async () => {
    const s = await setup({ mode: 'rebindable', rebind_after_days: 1, protection_days: 5 });
    expect((await bind(s, 'x', s.A.invite_code)).statusCode).toBe(201);
    clock.advance(5 * DAY - 1);
    expect((await bind(s, 'x', s.B.invite_code)).statusCode).toBe(409);
    clock.advance(1);
    expect((await bind(s, 'x', s.B.invite_code)).statusCode).toBe(201);
  });

  it('permanent stays permanent (409) whatever the window', async () => {
    const s = await setup({ mode: 'permanent', protection_days: 3 });
    expect((await bind(s, 'x', s.A.invite_code)).statusCode).toBe(201);
    clock.advance(30 * DAY);
    expect((await bind(s, 'x', s.B.invite_code)).statusCode).toBe(409);
    expect((await order(s, 'x', s.B.invite_code)).seller_id).toBe(s.A.id);
  });
});

describe('the validity window', () => {
  it('counted from the binding: the last millisecond earns, the next does not; the history says why', async () => {
    const s = await setup({ mode: 'permanent', validity_days: 10, validity_from: 'bound' });
    expect((await bind(s, 'x', s.A.invite_code)).statusCode).toBe(201);
    clock.advance(10 * DAY - 1);
    expect((await order(s, 'x')).seller_id).toBe(s.A.id);
    // An order does not extend a window counted from the binding.
    clock.advance(1);
    const late = await order(s, 'x');
    expect(late.seller_id).toBeNull();
    expect(late.commissions).toEqual([]);
    const c = await customer(s, 'x');
    expect(c.distributor_id).toBeNull();
    expect(c.history.at(-1)).toMatchObject({ kind: 'lapse', from_distributor_id: s.A.id, to_distributor_id: null, source: 'validity' });
    expect(c.history.at(-1).reason).toContain('2026-05-11T00:00:00.000Z');
    // Unbound again: under a permanent mode, a new invite binds (the same distributor too).
    expect((await bind(s, 'x', s.A.invite_code)).statusCode).toBe(201);
    expect(await kinds(s, 'x')).toEqual(['bind', 'lapse', 'bind']);
  });

  it('counted from the last order: each order extends it', async () => {
    const s = await setup({ mode: 'permanent', validity_days: 10, validity_from: 'last_order' });
    expect((await bind(s, 'x', s.A.invite_code)).statusCode).toBe(201);
    clock.advance(9 * DAY);
    expect((await order(s, 'x')).seller_id).toBe(s.A.id);
    clock.advance(10 * DAY - 1);
    expect((await order(s, 'x')).seller_id).toBe(s.A.id);
    clock.advance(10 * DAY);
    // Lapsed before this order: the order neither earns nor revives it; its invite code binds anew.
    const o = await order(s, 'x', s.B.invite_code);
    expect(o.seller_id).toBe(s.B.id);
    expect(await kinds(s, 'x')).toEqual(['bind', 'lapse', 'bind']);
  });

  it('a lapsed binding not yet ended by the job is taken by a new invite (POST /v1/bindings), with the lapse first in the history', async () => {
    const s = await setup({ mode: 'permanent', validity_days: 2 });
    expect((await bind(s, 'x', s.A.invite_code)).statusCode).toBe(201);
    clock.advance(2 * DAY);
    const r = await bind(s, 'x', s.B.invite_code);
    expect(r.statusCode).toBe(201);
    const h = (await customer(s, 'x')).history;
    expect(h.map((e: { kind: string }) => e.kind)).toEqual(['bind', 'lapse', 'bind']);
    expect(h[1]).toMatchObject({ from_distributor_id: s.A.id });
    expect(h[2]).toMatchObject({ from_distributor_id: null, to_distributor_id: s.B.id });
  });

  it('the lapse job ends due bindings once, at the edge, and never a distributor’s referrer', async () => {
    const s = await setup({ mode: 'permanent', validity_days: 3 });
    for (const x of ['p', 'q', 'r']) expect((await bind(s, x, s.A.invite_code)).statusCode).toBe(201);
    const D = (await t.call('POST', '/v1/distributors', { token: s.key, body: { external_id: 'D', name: 'D', referrer_code: s.A.invite_code } })).data;
    clock.advance(DAY);
    expect((await bind(s, 's', s.B.invite_code)).statusCode).toBe(201);
    const mine = (results: { tenant_id: string | null; job: string; outcome: string; detail: Record<string, unknown> }[]) =>
      results.filter((r) => r.tenant_id === s.id && r.job === 'binding-lapse');
    clock.set(new Date(Date.parse('2026-05-04T00:00:00Z') - 1));
    expect(mine(await t.scheduler.tick())).toMatchObject([{ outcome: 'skipped', detail: { lapsed: 0 } }]);
    clock.set('2026-05-04T00:00:00Z');
    expect(mine(await t.scheduler.tick())).toMatchObject([{ outcome: 'done', detail: { lapsed: 3 } }]);
    expect(mine(await t.scheduler.tick())).toMatchObject([{ outcome: 'skipped', detail: { lapsed: 0 } }]);
    for (const x of ['p', 'q', 'r']) {
      const c = await customer(s, x);
      expect(c.distributor_id).toBeNull();
      expect(c.history.at(-1)).toMatchObject({ kind: 'lapse', from_distributor_id: s.A.id, actor_type: 'system', actor_id: 'binding-lapse' });
    }
    expect((await customer(s, 's')).distributor_id).toBe(s.B.id);
    // The distributor's binding to its referrer is the tree: it stays, and its orders still pay A.
    expect((await customer(s, 'D')).distributor_id).toBe(s.A.id);
    expect((await t.call('GET', `/v1/distributors/${D.id}`, { token: s.key })).data.referrer_id).toBe(s.A.id);
    expect((await order(s, 'D')).seller_id).toBe(s.A.id);
    // The ended bindings no longer earn; s's ends a day later.
    expect((await order(s, 'p')).seller_id).toBeNull();
    clock.set('2026-05-05T00:00:00Z');
    expect(mine(await t.scheduler.tick())).toMatchObject([{ outcome: 'done', detail: { lapsed: 1 } }]);
  });

  it('the job leaves bindings alone when the window is off, whatever their age', async () => {
    const s = await setup({ mode: 'permanent' });
    expect((await bind(s, 'x', s.A.invite_code)).statusCode).toBe(201);
    clock.advance(4000 * DAY);
    const results = (await t.scheduler.tick()).filter((r) => r.tenant_id === s.id && r.job === 'binding-lapse');
    expect(results).toMatchObject([{ outcome: 'skipped' }]);
    expect((await order(s, 'x')).seller_id).toBe(s.A.id);
  });
});

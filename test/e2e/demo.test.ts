/**
 * `fenxiao demo` writes a merchant along its own timeline through the API: the result must be a
 * shop like any other, its ledger whole, its figures consistent, its owner able to sign in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/context.ts';
import { seedDemo } from '../../src/cli/demo.ts';
import { createProgress } from '../../src/cli/progress.ts';
import { verifyLedger } from '../../src/modules/ledger/verify.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let t: TestServer;
const clock = new ManualClock('2026-11-25T04:00:00Z');
beforeAll(async () => {
  t = await startTestServer({ clock });
});
afterAll(async () => {
  await t?.close();
});

describe('fenxiao demo', () => {
  it('builds a shop whose ledger verifies, whose dashboard adds up, and whose owner signs in', { timeout: 300_000 }, async () => {
    const lines: string[] = [];
    const stream = {
      write: (s: string) => {
        lines.push(s);
        return true;
      },
      isTTY: false,
    };
    const r = await seedDemo(
      t,
      clock,
      {
        name: '演示',
        email: 'owner@demo.test',
        password: 'demo-password-1',
        distributors: 12,
        orders: 60,
        seed: 7,
        now: clock.now(),
        portalPhone: '13800138000',
        portalPassword: 'demo-password-1',
      },
      (label, total) => createProgress({ label, total, stream, logEveryMs: 0 }),
    );
    expect(clock.now().toISOString()).toBe('2026-11-25T04:00:00.000Z');
    expect(r).toMatchObject({ distributors: 12, orders: 60 });
    expect(r.statements).toBeGreaterThan(0);
    expect(r.withdrawals).toBeGreaterThan(0);
    expect(lines.join('')).toContain('orders and events');
    expect((await verifyLedger(t.database.db, r.tenantId, t.services.ledgerChecks)).breaks).toEqual([]);

    const kpis = (await t.call('GET', '/v1/analytics/kpis?from=2026-09-01&to=2026-11-26', { token: r.apiKey })).data;
    expect(kpis.orders).toBe(60);
    expect(kpis.distributors).toBe(12);
    expect(kpis.withdrawn_fen).toBeGreaterThan(0);
    const orders = await t.database.db
      .selectFrom('orders')
      .select((eb) => eb.fn.sum<number>('paid_fen').as('paid'))
      .where('tenant_id', '=', r.tenantId)
      .executeTakeFirstOrThrow();
    expect(kpis.gross_sales_fen).toBe(Number(orders.paid));
    expect(kpis.sales_fen).toBe(kpis.gross_sales_fen - kpis.refunded_fen);
    // The rules were in force before the first order: every order earned commission.
    const without = await t.database.db
      .selectFrom('orders')
      .select('id')
      .where('tenant_id', '=', r.tenantId)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('commissions').select('id').whereRef('commissions.order_id', '=', 'orders.id'))))
      .execute();
    expect(without).toEqual([]);

    const login = await t.call('POST', '/v1/auth/login', { body: { tenant_id: r.tenantId, email: 'owner@demo.test', password: 'demo-password-1' } });
    expect(login.statusCode).toBe(200);
    // The printed portal sign-in works: the first leader, by phone and password, through the slug.
    expect(r.slug).toMatch(/^(demo|shop-[a-z0-9]{6})$/);
    const merchant = await t.call('GET', `/v1/merchants/${r.slug}`);
    expect(merchant.data.id).toBe(r.tenantId);
    const portal = await t.call('POST', '/v1/portal/login', { body: { tenant_id: r.tenantId, phone: '13800138000', password: 'demo-password-1' } });
    expect(portal.statusCode, portal.body).toBe(200);
    const me = await t.call('GET', '/v1/me', { token: portal.data.token });
    expect(me.data.id).toBe(r.portalDistributor.id);
    expect(me.data.name).toBe(r.portalDistributor.name);

    // Distributors joined along the timeline: leaders first, recruits over the following weeks.
    const DAY = 86_400_000;
    const joined = (
      await t.database.db.selectFrom('distributors').select('created_at').where('tenant_id', '=', r.tenantId).orderBy('created_at').execute()
    ).map((d) => d.created_at.getTime());
    const days = new Set(joined.map((ms) => Math.floor(ms / DAY)));
    expect(days.size).toBeGreaterThanOrEqual(8);
    expect(joined.at(-1)! - joined[0]!).toBeGreaterThan(28 * DAY);
    expect(joined.filter((ms) => ms > clock.now().getTime() - DAY).length).toBeLessThanOrEqual(2);

    // A believable funnel: many visits, fewer bindings, fewer buyers; no order before its buyer was bound.
    const visits = Number(
      (
        await t.database.db
          .selectFrom('visits')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('tenant_id', '=', r.tenantId)
          .executeTakeFirstOrThrow()
      ).n,
    );
    const bound = await t.database.db
      .selectFrom('customers')
      .select(['external_id', 'bound_at'])
      .where('tenant_id', '=', r.tenantId)
      .where('bound_at', 'is not', null)
      .where('external_id', 'like', 'demo-c%')
      .execute();
    const buyers = await t.database.db
      .selectFrom('orders')
      .select(['buyer_external_id', (eb) => eb.fn.min('paid_at').as('first_paid')])
      .where('tenant_id', '=', r.tenantId)
      .groupBy('buyer_external_id')
      .execute();
    expect(visits).toBeGreaterThan(2 * bound.length);
    expect(bound.length).toBeGreaterThan(buyers.length);
    expect(buyers.length / bound.length).toBeGreaterThan(0.3);
    const boundAt = new Map(bound.map((c) => [c.external_id, c.bound_at!.getTime()]));
    for (const b of buyers) expect(new Date(b.first_paid as unknown as string).getTime()).toBeGreaterThan(boundAt.get(b.buyer_external_id)!);
    // The portal's own funnel for the leader answers, with visits first.
    const funnel = await t.call('GET', `/v1/analytics/funnel?distributor_id=${r.portalDistributor.id}&from=2026-09-01&to=2026-11-26`, { token: r.apiKey });
    expect(funnel.statusCode, funnel.body).toBe(200);

    // Distributors carry readable shop names.
    const names = (await t.call('GET', '/v1/distributors?limit=3', { token: r.apiKey })).data.items.map((d: { name: string }) => d.name);
    expect(names.every((n: string) => n.endsWith('的小店'))).toBe(true);
  });
});

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
  it('builds a shop whose ledger verifies, whose dashboard adds up, and whose owner signs in', async () => {
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
      { name: '演示', email: 'owner@demo.test', password: 'demo-password-1', distributors: 12, orders: 60, seed: 7, now: clock.now() },
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
    // Distributors carry readable shop names.
    const names = (await t.call('GET', '/v1/distributors?limit=3', { token: r.apiKey })).data.items.map((d: { name: string }) => d.name);
    expect(names.every((n: string) => n.endsWith('的小店'))).toBe(true);
  });
});

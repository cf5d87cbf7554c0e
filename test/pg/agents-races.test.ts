/**
 * Races on an agent's stock, on a real PostgreSQL: two server instances (two pools, as two app
 * processes) selling from, refunding into and buying back from one agent's stock at once. PGlite
 * runs one transaction at a time, so these only mean something here.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { onPostgres } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';

describe.skipIf(!onPostgres())('agent stock races on PostgreSQL (needs DATABASE_URL: PostgreSQL only)', () => {
  let a: TestServer;
  let b: TestServer;
  const pools: Database[] = [];

  beforeAll(async () => {
    const url = inject('databaseUrl');
    pools.push(await openDatabase({ databaseUrl: url, poolSize: 10 }), await openDatabase({ databaseUrl: url, poolSize: 10 }));
    const env = { FENXIAO_MASTER_KEY: randomBytes(32).toString('base64') };
    [a, b] = await Promise.all([startTestServer({ env, database: pools[0]! }), startTestServer({ env, database: pools[1]! })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all(pools.map((p) => p.close()));
  });

  /** A tenant whose city agent holds `units` units of tea bought at 6000 (in `lots` purchase orders). */
  async function stocked(units: number, lots = 1) {
    const { key } = await a.tenant();
    const call = (server: TestServer, method: string, url: string, body?: unknown) =>
      server.call(method, url, { token: key, ...(body !== undefined ? { body } : {}) });
    expect((await call(a, 'PUT', '/v1/agent-program', { enabled: true, territory_bp: { city: 200 } })).statusCode).toBe(200);
    expect((await call(a, 'PUT', '/v1/agent-prices/tea', { retail_fen: 10000, province_fen: 5000, city_fen: 6000, district_fen: 7000 })).statusCode).toBe(200);
    const d = (await call(a, 'POST', '/v1/distributors', { external_id: 'agent', name: 'Agent' })).data;
    const agent = (await call(a, 'POST', '/v1/agents', { distributor_id: d.id, rank: 'city', region_code: '440300' })).data;
    for (let i = 0; i < lots; i++) {
      const quantity = Math.floor(units / lots) + (i < units % lots ? 1 : 0);
      const po = await a.call('POST', '/v1/purchase-orders', {
        token: key,
        headers: { 'idempotency-key': `po-${i}` },
        body: { agent_id: agent.id, items: [{ sku: 'tea', quantity }] },
      });
      expect(po.statusCode).toBe(201);
      expect((await call(a, 'POST', `/v1/purchase-orders/${po.data.id}/pay`, { reference: `r-${i}` })).statusCode).toBe(200);
    }
    const inventory = async () => ((await call(a, 'GET', `/v1/agents/${agent.id}/inventory`)).data.items[0]?.quantity as number | undefined) ?? 0;
    const verify = async () => (await call(a, 'GET', '/v1/ledger/verify')).data;
    const sell = (i: number, quantity = 1) =>
      call(i % 2 === 0 ? a : b, 'POST', '/v1/orders', {
        external_id: `o-${i}`,
        buyer_external_id: `buyer-${i}`,
        region_code: '440305',
        fulfilled_by: agent.id,
        items: [{ sku: 'tea', quantity, unit_price_fen: 10000, paid_fen: 10000 * quantity }],
      });
    return { key, call, agent, d, inventory, verify, sell };
  }

  it('20 concurrent sales from the last 10 units: exactly 10 sold, the rest 422, inventory 0, ledger clean', async () => {
    const { call, agent, d, inventory, verify, sell } = await stocked(10, 3);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => sell(i)));
    const codes = results.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 201)).toHaveLength(10);
    expect(codes.filter((c) => c === 422)).toHaveLength(10);
    for (const r of results.filter((x) => x.statusCode === 422)) expect(r.data.error.code).toBe('insufficient_stock');
    expect(await inventory()).toBe(0);
    // Each sale: a price-difference line of 4000 and a city line of 200; refused ones left nothing.
    const sold = results.filter((r) => r.statusCode === 201);
    for (const r of sold) {
      expect(r.data.commissions.map((l: { kind: string; amount_fen: number }) => [l.kind, l.amount_fen]).sort()).toEqual([
        ['price_difference', 4000],
        ['territory', 200],
      ]);
    }
    for (const [i, r] of results.entries()) if (r.statusCode === 422) expect((await call(a, 'GET', `/v1/orders/o-${i}`)).statusCode).toBe(404);
    expect((await call(a, 'GET', `/v1/distributors/${d.id}/balance`)).data.pending_fen).toBe(10 * 4200);
    const moves = (await call(a, 'GET', `/v1/agents/${agent.id}/stock-movements?limit=100`)).data.items as { kind: string; quantity: number }[];
    expect(moves.reduce((s, m) => s + m.quantity, 0)).toBe(0);
    expect(moves.filter((m) => m.kind === 'sale').reduce((s, m) => s - m.quantity, 0)).toBe(10);
    const v = await verify();
    expect(v.breaks).toEqual([]);
    expect(v.ok).toBe(true);
  });

  it('sales, refunds returning units, buybacks and stock corrections racing on one stock never take more than it holds, and the movements add up', async () => {
    const { call, agent, inventory, verify, sell } = await stocked(12, 2);
    // Four sales of 2 first (8 units), then race: 6 more sales of 2, refunds of 1 unit of each
    // earlier sale, 4 buybacks of 1 and 2 corrections of a missing unit.
    for (let i = 0; i < 4; i++) expect((await sell(i, 2)).statusCode).toBe(201);
    expect(await inventory()).toBe(4);
    const racing = await Promise.all([
      ...Array.from({ length: 6 }, (_, k) => sell(10 + k, 2)),
      ...Array.from({ length: 4 }, (_, i) =>
        call(i % 2 === 0 ? b : a, 'POST', `/v1/orders/o-${i}/events`, { type: 'refunded', items: [{ sku: 'tea', quantity: 1 }] }),
      ),
      ...Array.from({ length: 4 }, (_, k) =>
        call(k % 2 === 0 ? a : b, 'POST', `/v1/agents/${agent.id}/stock-returns`, { items: [{ sku: 'tea', quantity: 1 }] }),
      ),
      // Stocktake corrections racing too: two of a missing unit each.
      ...Array.from({ length: 2 }, (_, k) =>
        call(k % 2 === 0 ? b : a, 'POST', `/v1/agents/${agent.id}/stock-corrections`, { items: [{ sku: 'tea', quantity: -1 }], reason: `missing ${k}` }),
      ),
    ]);
    const sales = racing.slice(0, 6);
    const refunds = racing.slice(6, 10);
    const buybacks = racing.slice(10, 14);
    const corrections = racing.slice(14);
    for (const r of [...sales, ...buybacks, ...corrections]) expect([201, 422]).toContain(r.statusCode);
    for (const r of refunds) expect(r.statusCode).toBe(200);
    const sold = 8 + 2 * sales.filter((r) => r.statusCode === 201).length;
    const returned = 4;
    const bought = buybacks.filter((r) => r.statusCode === 201).length;
    const missing = corrections.filter((r) => r.statusCode === 201).length;
    expect(await inventory()).toBe(12 - sold + returned - bought - missing);
    expect(await inventory()).toBeGreaterThanOrEqual(0);
    const moves = (await call(a, 'GET', `/v1/agents/${agent.id}/stock-movements?limit=200`)).data.items as { quantity: number }[];
    expect(moves.reduce((s, m) => s + m.quantity, 0)).toBe(await inventory());
    expect((await verify()).breaks).toEqual([]);
  });
});

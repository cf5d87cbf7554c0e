/**
 * Analytics rollups under concurrency, on a real PostgreSQL (PGlite runs one transaction at a
 * time): hundreds of orders of one tenant in flight at once through two server instances, with
 * refunds, registrations, bindings and visits racing them. Every rollup must come out exact (no
 * lost update on the slotted tenant rows, the distributors' rows or the latest-order histogram),
 * and the rollups must add no deadlock to the paths they ride on.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { onPostgres } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { rollupBreaks } from '../support/analytics.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { verifyLedger } from '../../src/modules/ledger/verify.ts';

interface Dist {
  id: string;
  external_id: string;
  invite_code: string;
}

describe.skipIf(!onPostgres())('analytics rollups under concurrency on PostgreSQL (needs DATABASE_URL: PostgreSQL only)', () => {
  let a: TestServer;
  let b: TestServer;
  let dbName: string;
  const pools: Database[] = [];
  const pick = (i: number) => (i % 2 === 0 ? a : b);

  beforeAll(async () => {
    const base = inject('databaseUrl');
    dbName = `fenxiao_analytics_${Date.now()}_${process.pid}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`create database ${dbName}`);
    await admin.end();
    const u = new URL(base);
    u.pathname = `/${dbName}`;
    const setup = await openDatabase({ databaseUrl: u.toString(), poolSize: 2 });
    await migrateToLatest(setup.db);
    await setup.close();
    pools.push(await openDatabase({ databaseUrl: u.toString(), poolSize: 10 }), await openDatabase({ databaseUrl: u.toString(), poolSize: 10 }));
    const env = { FENXIAO_MASTER_KEY: randomBytes(32).toString('base64') };
    // Both on the system clock: the two processes must agree on what day it is.
    const clock = { now: () => new Date() };
    [a, b] = await Promise.all([startTestServer({ env, database: pools[0]!, clock }), startTestServer({ env, database: pools[1]!, clock })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all(pools.map((p) => p.close()));
    if (!dbName || process.env.FENXIAO_KEEP_TEST_DB) return;
    const admin = new pg.Client({ connectionString: inject('databaseUrl') });
    await admin.connect();
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  });

  async function call(i: number, method: string, url: string, key: string, body?: unknown, expected = [200, 201]) {
    const res = await pick(i).call(method, url, { token: key, body });
    if (!expected.includes(res.statusCode)) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.data;
  }

  it('many concurrent orders, refunds, registrations, bindings and visits of one tenant leave every rollup exact', async () => {
    const { id: tenantId, key } = await a.tenant('Races');
    await call(0, 'PUT', '/v1/program', key, { levels: 2, freeze_days: 0 });
    await call(0, 'PUT', '/v1/grades/default', key, { name: '普通', rank: 0, sales_bp: 500, override_bp: [1000, 500] });
    const mk = async (externalId: string, referrer?: Dist, region?: string) =>
      (await call(0, 'POST', '/v1/distributors', key, {
        external_id: externalId,
        name: externalId,
        ...(referrer ? { referrer_code: referrer.invite_code } : {}),
        ...(region ? { region_code: region } : {}),
      })) as Dist;
    const top = await mk('top', undefined, '440305');
    const sellers: Dist[] = [];
    for (let i = 0; i < 6; i++) sellers.push(await mk(`s${i}`, i < 3 ? top : sellers[i - 3], i % 2 ? '310101' : undefined));
    const buyers = Array.from({ length: 60 }, (_, i) => `buyer-${i}`);
    await Promise.all(
      buyers.map((buyer, i) => call(i, 'POST', '/v1/bindings', key, { customer_external_id: buyer, invite_code: sellers[i % sellers.length]!.invite_code })),
    );

    // 300 orders from both servers at once, mostly today (one tenant-day, the hot row that slots
    // spread), some on the two days before; with registrations, bindings and visits racing them.
    const now = Date.now();
    const orders = Array.from({ length: 300 }, (_, i) => ({
      external_id: `o-${i}`,
      buyer_external_id: i % 10 === 9 ? `walk-in-${i}` : buyers[i % buyers.length]!,
      paid_at: new Date(now - (i % 7 === 0 ? 86_400_000 * (1 + (i % 2)) : 0)).toISOString(),
      items: [
        { sku: 'a', quantity: 1, unit_price_fen: 1000 + i, paid_fen: 1000 + i },
        { sku: 'b', quantity: 2, unit_price_fen: 250, paid_fen: 500 },
      ],
    }));
    const work: Promise<unknown>[] = [
      ...orders.map((o, i) => call(i, 'POST', '/v1/orders', key, o)),
      ...Array.from({ length: 20 }, (_, i) =>
        call(i + 1, 'POST', '/v1/distributors', key, { external_id: `late-${i}`, name: `late ${i}`, referrer_code: sellers[i % 6]!.invite_code }),
      ),
      ...Array.from({ length: 40 }, (_, i) =>
        call(i, 'POST', '/v1/bindings', key, { customer_external_id: `new-buyer-${i}`, invite_code: sellers[i % 6]!.invite_code }),
      ),
      ...Array.from({ length: 40 }, (_, i) =>
        pick(i)
          .call('GET', `/i/${sellers[i % 6]!.invite_code}`)
          .then((r) => {
            if (r.statusCode !== 302) throw new Error(`visit: ${r.statusCode}`);
          }),
      ),
    ];
    await Promise.all(work);

    // Refunds and cancellations racing each other and more orders of the same buyers.
    await Promise.all([
      ...orders
        .slice(0, 120)
        .map((o, i) =>
          call(i, 'POST', `/v1/orders/${o.external_id}/events`, key, i % 6 === 0 ? { type: 'cancelled' } : { type: 'refunded', refund_fen: 300 + i }),
        ),
      ...Array.from({ length: 60 }, (_, i) =>
        call(i + 1, 'POST', '/v1/orders', key, { ...orders[i]!, external_id: `again-${i}`, paid_at: new Date().toISOString() }),
      ),
    ]);
    // Settle what is received, concurrently with a last wave of refunds after settlement.
    await Promise.all(
      orders
        .slice(120, 200)
        .map((o, i) => call(i, 'POST', `/v1/orders/${o.external_id}/events`, key, { type: 'received', at: new Date(now - 86_400_000).toISOString() })),
    );
    await call(0, 'POST', '/v1/settlements/run', key, { as_of: new Date().toISOString() });
    await Promise.all(orders.slice(120, 160).map((o, i) => call(i, 'POST', `/v1/orders/${o.external_id}/events`, key, { type: 'refunded', refund_fen: 200 })));

    const db = pools[0]!.db;
    const tz = (await a.services.program.read(db, tenantId)).timezone;
    expect(await rollupBreaks(db, tenantId, tz)).toEqual([]);
    expect((await verifyLedger(db, tenantId)).breaks).toEqual([]);
    const k = await call(0, 'GET', '/v1/analytics/kpis', key);
    expect(k.orders).toBe(360);
    expect(k.visits).toBe(40);
    expect(k.distributors).toBe(27);

    // The rows the hot day was spread over: more than one slot shows writers did not queue on one row.
    const slots = await sql<{ day: string; slots: number }>`
      select day::text as day, count(*)::int as slots from analytics_daily where tenant_id = ${tenantId} group by day order by day`.execute(db);
    console.log(`analytics_daily slots per day: ${slots.rows.map((r) => `${r.day}: ${r.slots}`).join(', ')}`);
    for (const r of slots.rows) expect(r.slots).toBeLessThanOrEqual(64);

    // No deadlock anywhere in this file's database (inTransaction would retry one unseen).
    const dl = await sql<{ deadlocks: number }>`select deadlocks::int from pg_stat_database where datname = current_database()`.execute(db);
    expect(dl.rows[0]!.deadlocks).toBe(0);
  });
});

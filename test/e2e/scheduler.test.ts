import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { ManualClock } from '../../src/core/context.ts';
import { latestBoundary, settlementDue } from '../../src/modules/settlement/service.ts';

describe('settlement cycle boundaries (Asia/Shanghai, UTC+8)', () => {
  const base = { weekday: 1, day_of_month: 1, hour: 2, threshold_fen: 0 } as const;
  const tz = 'Asia/Shanghai';
  it('daily: the latest local 02:00 at or before now', () => {
    expect(latestBoundary({ ...base, cycle: 'daily' }, tz, new Date('2026-03-05T17:59:59Z'))?.toISOString()).toBe('2026-03-04T18:00:00.000Z');
    expect(latestBoundary({ ...base, cycle: 'daily' }, tz, new Date('2026-03-05T18:00:00Z'))?.toISOString()).toBe('2026-03-05T18:00:00.000Z');
  });
  it('weekly on Monday 02:00 local', () => {
    // 2026-03-09 is a Monday; 02:00 in Shanghai is 2026-03-08T18:00Z.
    expect(latestBoundary({ ...base, cycle: 'weekly', weekday: 1 }, tz, new Date('2026-03-12T00:00:00Z'))?.toISOString()).toBe('2026-03-08T18:00:00.000Z');
    expect(latestBoundary({ ...base, cycle: 'weekly', weekday: 7 }, tz, new Date('2026-03-12T00:00:00Z'))?.toISOString()).toBe('2026-03-07T18:00:00.000Z');
  });
  it('monthly on day 1 at 02:00 local', () => {
    expect(latestBoundary({ ...base, cycle: 'monthly' }, tz, new Date('2026-03-20T00:00:00Z'))?.toISOString()).toBe('2026-02-28T18:00:00.000Z');
    expect(latestBoundary({ ...base, cycle: 'monthly', day_of_month: 15, hour: 0 }, 'UTC', new Date('2026-03-20T00:00:00Z'))?.toISOString()).toBe(
      '2026-03-15T00:00:00.000Z',
    );
  });
  it('due once per boundary; manual never; threshold whenever looked at', () => {
    const daily = { ...base, cycle: 'daily' as const };
    const now = new Date('2026-03-05T19:00:00Z');
    expect(settlementDue(daily, tz, now, null)?.toISOString()).toBe('2026-03-05T18:00:00.000Z');
    expect(settlementDue(daily, tz, now, new Date('2026-03-05T18:00:00Z'))).toBeNull();
    expect(settlementDue({ ...base, cycle: 'manual' }, tz, now, null)).toBeNull();
    expect(settlementDue({ ...base, cycle: 'threshold' }, tz, now, null)).toEqual(now);
  });
});

describe('the scheduler', () => {
  let t: TestServer;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock('2026-03-01T00:00:00Z');
    t = await startTestServer({ clock });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function setup(program: Record<string, unknown>) {
    const { id, key } = await t.tenant();
    await t.call('PUT', '/v1/program', { token: key, body: { levels: 1, freeze_days: 1, auto_receive_days: 3, ...program } });
    await t.call('PUT', '/v1/grades/default', { token: key, body: { name: 'g', rank: 0, sales_bp: 0, override_bp: [1000] } });
    const a = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'A', name: 'A' } })).data;
    const b = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'B', name: 'B', referrer_code: a.invite_code } })).data;
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'buyer', invite_code: b.invite_code } });
    return { id, key, a, b };
  }
  const mine = (results: { tenant_id: string | null; job: string; outcome: string }[], tenantId: string, job: string) =>
    results.filter((r) => r.tenant_id === tenantId && r.job === job).map((r) => r.outcome);

  it('confirms receipt after auto_receive_days and settles a daily cycle once per boundary', async () => {
    const { id, key, a } = await setup({ settlement: { cycle: 'daily', hour: 2 } });
    clock.set('2026-03-01T01:00:00Z');
    await t.call('POST', '/v1/orders', {
      token: key,
      body: { external_id: 'o', buyer_external_id: 'buyer', items: [{ sku: 's', quantity: 1, unit_price_fen: 10000, paid_fen: 10000 }] },
    });
    await t.call('POST', '/v1/orders/o/events', { token: key, body: { type: 'shipped', at: '2026-03-01T01:00:00Z' } });
    // Day 3 after shipping passes: the order is received automatically.
    clock.set('2026-03-04T01:00:00Z');
    let results = await t.scheduler.tick();
    expect(mine(results, id, 'auto-receive')).toEqual(['done']);
    expect((await t.call('GET', '/v1/orders/o', { token: key })).data).toMatchObject({ status: 'received', received_at: '2026-03-04T01:00:00.000Z' });
    // The freeze day is not over at the next 02:00 boundary (2026-03-04T18:00Z): nothing to settle yet,
    // but the cycle ran and is not run again for the same boundary.
    clock.set('2026-03-04T19:00:00Z');
    results = await t.scheduler.tick();
    expect(mine(results, id, 'settlement')).toEqual(['done']);
    expect((await t.call('GET', `/v1/distributors/${a.id}/balance`, { token: key })).data.withdrawable_fen).toBe(0);
    results = await t.scheduler.tick();
    expect(mine(results, id, 'settlement')).toEqual(['skipped']);
    // The next boundary settles it.
    clock.set('2026-03-05T18:30:00Z');
    results = await t.scheduler.tick();
    expect(mine(results, id, 'settlement')).toEqual(['done']);
    expect((await t.call('GET', `/v1/distributors/${a.id}/balance`, { token: key })).data).toMatchObject({ pending_fen: 0, withdrawable_fen: 1000 });
    const statements = (await t.call('GET', '/v1/statements', { token: key })).data.items;
    expect(statements).toEqual([
      expect.objectContaining({ distributor_id: a.id, amount_fen: 1000, status: 'approved', period_end: '2026-03-05T18:00:00.000Z' }),
    ]);
  });

  it('a threshold cycle settles a distributor once its available commission reaches the threshold', async () => {
    const { id, key, a } = await setup({ freeze_days: 0, settlement: { cycle: 'threshold', threshold_fen: 1500 } });
    clock.set('2026-03-10T00:00:00Z');
    const buy = async (n: number) => {
      await t.call('POST', '/v1/orders', {
        token: key,
        body: { external_id: `t${n}`, buyer_external_id: 'buyer', items: [{ sku: 's', quantity: 1, unit_price_fen: 10000, paid_fen: 10000 }] },
      });
      await t.call('POST', `/v1/orders/t${n}/events`, { token: key, body: { type: 'received', at: '2026-03-09T00:00:00Z' } });
    };
    await buy(1);
    let results = await t.scheduler.tick();
    expect(mine(results, id, 'settlement')).toEqual(['skipped']);
    expect((await t.call('GET', `/v1/distributors/${a.id}/balance`, { token: key })).data).toMatchObject({ available_fen: 1000, withdrawable_fen: 0 });
    await buy(2);
    clock.advance(60_000);
    results = await t.scheduler.tick();
    expect(mine(results, id, 'settlement')).toEqual(['done']);
    expect((await t.call('GET', `/v1/distributors/${a.id}/balance`, { token: key })).data).toMatchObject({ available_fen: 0, withdrawable_fen: 2000 });
  });

  it('manual programs are never settled by the scheduler', async () => {
    const { id, key, a } = await setup({ freeze_days: 0 });
    clock.set('2026-03-20T00:00:00Z');
    await t.call('POST', '/v1/orders', {
      token: key,
      body: { external_id: 'm', buyer_external_id: 'buyer', items: [{ sku: 's', quantity: 1, unit_price_fen: 10000, paid_fen: 10000 }] },
    });
    await t.call('POST', '/v1/orders/m/events', { token: key, body: { type: 'received', at: '2026-03-19T00:00:00Z' } });
    const results = await t.scheduler.tick();
    expect(mine(results, id, 'settlement')).toEqual(['skipped']);
    expect((await t.call('GET', `/v1/distributors/${a.id}/balance`, { token: key })).data.pending_fen).toBe(1000);
  });
});

describe('database maintenance (the embedded database has no autovacuum)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('analyzes when due and vacuums when due, as a job with an outcome; not at all without the option', async () => {
    const { createScheduler } = await import('../../src/app/scheduler.ts');
    const lastAnalyze = async () =>
      (
        await sql<{ at: Date | null }>`select greatest(last_analyze, last_autoanalyze) as at from pg_stat_user_tables where relname = 'order_items'`.execute(
          t.database.db,
        )
      ).rows[0]?.at ?? null;
    const without = createScheduler({ services: t.services, log: t.app.log });
    expect((await without.tick()).map((r) => r.job)).not.toContain('maintenance');

    // A table past a few pages (only those are analyzed: an empty table's statistics would say
    // "no rows" for good).
    const { key } = await t.tenant();
    for (let i = 0; i < 3; i++) {
      await t.call('POST', '/v1/orders', {
        token: key,
        body: {
          external_id: `m-${i}`,
          buyer_external_id: 'b',
          items: Array.from({ length: 200 }, (_, k) => ({ sku: `s${k}`, quantity: 1, unit_price_fen: 1, paid_fen: 1 })),
        },
      });
    }
    const before = await lastAnalyze();
    const due = createScheduler({ services: t.services, log: t.app.log, maintenance: { analyzeEveryMs: 0, vacuumEveryMs: 60_000 } });
    const analyzed = (await due.tick()).filter((r) => r.job === 'maintenance');
    expect(analyzed).toMatchObject([{ outcome: 'done', detail: { vacuum: false } }]);
    const after = await lastAnalyze();
    expect(after).not.toBeNull();
    if (before) expect(after!.getTime()).toBeGreaterThan(before.getTime());

    const vacuums = createScheduler({ services: t.services, log: t.app.log, maintenance: { analyzeEveryMs: 0, vacuumEveryMs: 0 } });
    expect((await vacuums.tick()).filter((r) => r.job === 'maintenance')).toMatchObject([{ outcome: 'done', detail: { vacuum: true } }]);
  });
});

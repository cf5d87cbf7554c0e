/**
 * GET /metrics: Prometheus text behind its bearer token, request counts labelled by route pattern
 * (never a raw URL with an id or a phone number in it), and the money gauges read from the database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

const TOKEN = 'metrics-token-0123456789';
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ env: { FENXIAO_METRICS_TOKEN: TOKEN } });
});
afterAll(async () => {
  await t?.close();
});

const scrape = (token?: string) => t.app.inject({ method: 'GET', url: '/metrics', headers: token ? { authorization: `Bearer ${token}` } : {} });

describe('metrics', () => {
  it('refuses a scrape without the token', async () => {
    expect((await scrape()).statusCode).toBe(401);
    expect((await scrape('wrong-token-0123456789')).statusCode).toBe(401);
  });

  // Issue 14, item 14: /metrics was open by default and showed money summed over every tenant.
  it('is closed without a token unless FENXIAO_METRICS_PUBLIC opens it', async () => {
    const closed = await startTestServer();
    try {
      for (const headers of [{}, { authorization: 'Bearer ' }, { authorization: 'Bearer undefined' }]) {
        const res = await closed.app.inject({ method: 'GET', url: '/metrics', headers });
        expect(res.statusCode).toBe(401);
        expect(JSON.parse(res.body).error).toMatchObject({ code: 'unauthorized', message: expect.stringContaining('FENXIAO_METRICS_TOKEN') });
        expect(res.body).not.toContain('fenxiao_');
      }
    } finally {
      await closed.close();
    }
    const open = await startTestServer({ env: { FENXIAO_METRICS_PUBLIC: 'true' } });
    try {
      const res = await open.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('fenxiao_http_requests_total');
    } finally {
      await open.close();
    }
  });

  it('says so of every gauge that sums over tenants', async () => {
    const text = (await scrape(TOKEN)).body;
    for (const name of ['fenxiao_payout_clearing_fen', 'fenxiao_payouts_open', 'fenxiao_risk_events_open']) {
      expect(new RegExp(`^# HELP ${name} .*all tenants`, 'm').test(text), name).toBe(true);
    }
    // No tenant id becomes a label value.
    expect(text).not.toMatch(/tnt_[0-9A-Z]{10,}/);
  });

  it('counts requests by route pattern and reads the open-risk gauge', async () => {
    const { key } = await t.tenant();
    const created = await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'M-13800001234', name: 'M' } });
    expect(created.statusCode).toBe(201);
    await t.call('GET', `/v1/distributors/${created.data.id}`, { token: key });
    const res = await scrape(TOKEN);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toMatch(/fenxiao_http_requests_total\{method="POST",route="\/v1\/distributors",status="201"\} [1-9]/);
    expect(text).toMatch(/fenxiao_http_requests_total\{method="GET",route="\/v1\/distributors\/:id",status="200"\} [1-9]/);
    expect(text).not.toContain(created.data.id);
    expect(text).not.toContain('13800001234');
    expect(text).toMatch(/^fenxiao_payout_clearing_fen \d+$/m);
    expect(text).toContain('fenxiao_process_resident_memory_bytes');
  });

  it('counts round trips to the database and commits', async () => {
    const read = async () => {
      const text = (await scrape(TOKEN)).body;
      const num = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
      return { queries: num('fenxiao_db_queries_total'), commits: num('fenxiao_db_commits_total') };
    };
    const before = await read();
    const { key } = await t.tenant();
    expect((await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'Q-1', name: 'Q' } })).statusCode).toBe(201);
    const after = await read();
    expect(after.queries).toBeGreaterThan(before.queries + 2);
    expect(after.commits).toBeGreaterThanOrEqual(before.commits + 2);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/context.ts';
import { newId } from '../../core/ids.ts';
import { createLocalStorage } from '../../adapters/storage/local.ts';
import type { Database } from '../../db/database.ts';
import { sampleRow, sampleSpec, type SampleRow } from '../../lib/export/test-fixtures.ts';
import { parseCsv } from '../../lib/export/testing.ts';
import { openTestDatabase } from '../../../test/support/db.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { jobsRepo } from './repo.ts';
import { createJobs, STALE_ERROR } from './service.ts';

/*
 * One registry of background jobs, in the database: a job started through one server is read,
 * and its file downloaded, through another on the same database and storage (two processes
 * behind a load balancer, without sticky sessions). Meaningful on PostgreSQL; runs on PGlite too.
 */

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('jobs shared by two servers on one database', () => {
  let database: Database;
  let a: TestServer;
  let b: TestServer;
  const clock = new ManualClock('2026-03-01T08:00:00Z');
  const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-shared-files-'));

  beforeAll(async () => {
    database = await openTestDatabase();
    const storage = createLocalStorage(shared);
    a = await startTestServer({ clock, database, overrides: { storage } });
    b = await startTestServer({ clock, database, overrides: { storage } });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.close();
    fs.rmSync(shared, { recursive: true, force: true });
  });

  it('an export started through one server shows its progress and serves its file through the other', async () => {
    const tenant = await a.tenant('Jobs A');
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    async function* rows(): AsyncGenerator<SampleRow> {
      for (let i = 0; i < 2000; i++) {
        if (i === 1000) await gate;
        yield sampleRow(i);
      }
    }
    const job = await a.app.exportJobs.start({
      tenantId: tenant.id,
      spec: sampleSpec,
      rows: () => rows(),
      total: 2000,
      format: 'csv',
      tz: 'Asia/Shanghai',
      filename: 'lines',
    });

    const mid = await until(
      () => b.call('GET', `/v1/exports/${job.id}`, { token: tenant.key }),
      (r) => r.data?.rows_written === 1000,
      'progress seen through the other server',
    );
    expect(mid.data).toMatchObject({ id: job.id, status: 'running', total: 2000, percent: 50, download_url: null });
    expect((await b.call('GET', `/v1/exports/${job.id}/download`, { token: tenant.key })).statusCode).toBe(409);

    release();
    await a.app.exportJobs.settled(tenant.id, job.id);
    const done = await b.call('GET', `/v1/exports/${job.id}`, { token: tenant.key });
    expect(done.data).toMatchObject({ status: 'done', rows_written: 2000, percent: 100, download_url: `/v1/exports/${job.id}/download` });
    const file = await b.call('GET', `/v1/exports/${job.id}/download`, { token: tenant.key });
    expect(file.statusCode).toBe(200);
    expect(Number(file.headers['content-length'])).toBe(done.data.size);
    expect(parseCsv(file.body).rows).toHaveLength(2002);
    // The other server's registry waits for it too, by its row.
    expect((await b.app.exportJobs.settled(tenant.id, job.id)).status).toBe('done');
    // Another tenant still sees nothing, on either server.
    const other = await b.tenant('Jobs B');
    expect((await b.call('GET', `/v1/exports/${job.id}`, { token: other.key })).statusCode).toBe(404);
  });

  it('the per-tenant limit counts the jobs of every server', async () => {
    const tenant = await a.tenant('Jobs limit');
    const gates: (() => void)[] = [];
    const held = () =>
      (async function* () {
        await new Promise<void>((r) => gates.push(r));
        yield sampleRow(0);
      })();
    const start = (t: TestServer) => t.app.exportJobs.start({ tenantId: tenant.id, spec: sampleSpec, rows: held, format: 'csv', tz: 'UTC', filename: 'x' });
    const started = [await start(a), await start(a), await start(b)];
    await expect(start(b)).rejects.toMatchObject({ code: 'rate_limited' });
    await until(
      () => Promise.resolve(gates.length),
      (n) => n === 3,
      'three jobs running',
    );
    for (const g of gates) g();
    for (const j of started) await a.app.exportJobs.settled(tenant.id, j.id);
  });

  it('a settlement job started through one server is answered by the other', async () => {
    const tenant = await a.tenant('Jobs settlement');
    const started = await a.call('POST', '/v1/settlements/jobs', { token: tenant.key, body: { as_of: '2026-03-09T00:00:00Z' } });
    expect(started.statusCode).toBe(202);
    const job = await until(
      () => b.call('GET', `/v1/settlements/jobs/${started.data.id}`, { token: tenant.key }),
      (r) => r.data?.status !== 'running',
      'the job to finish',
    );
    expect(job.data).toMatchObject({ id: started.data.id, status: 'done', as_of: '2026-03-09T00:00:00.000Z', done: 0, total: 0, error: null });
    expect(job.data.result).toMatchObject({ statements: [] });
  });

  it('a job whose process died reads as failed once its heartbeat is stale', async () => {
    const tenant = await a.tenant('Jobs stale');
    const id = newId('sjob');
    // The row a process leaves behind when it dies mid-run: running, and never touched again.
    await jobsRepo.insert(database.db, {
      id,
      tenant_id: tenant.id,
      kind: 'settlement',
      status: 'running',
      total: 10,
      params: JSON.stringify({ as_of: '2026-03-09T00:00:00.000Z' }),
      created_by: null,
      at: clock.now(),
    });
    const jobs = createJobs({ db: database.db, clock, staleAfterMs: 60_000 });
    expect((await jobs.get(tenant.id, 'settlement', id))?.status).toBe('running');
    expect(await jobs.activeCount(tenant.id, 'settlement')).toBe(1);
    clock.advance(59_999);
    expect((await b.call('GET', `/v1/settlements/jobs/${id}`, { token: tenant.key })).data.status).toBe('running');
    clock.advance(2);
    expect(await jobs.activeCount(tenant.id, 'settlement')).toBe(0);
    const failed = await b.call('GET', `/v1/settlements/jobs/${id}`, { token: tenant.key });
    // Answered in the reader's language: English here (no Accept-Language), the stored Chinese not shown.
    expect(failed.data).toMatchObject({
      status: 'failed',
      error: { code: STALE_ERROR.code, message: STALE_ERROR.message },
      finished_at: clock.now().toISOString(),
    });
    expect(Object.keys(failed.data.error)).toEqual(['code', 'message']);
    // Stored so: the answer does not change when the clock moves on.
    clock.advance(60_000);
    expect((await a.call('GET', `/v1/settlements/jobs/${id}`, { token: tenant.key })).data).toEqual(failed.data);
  });

  it('a job running in this process is never stale to it, though its heartbeat waited on the database', async () => {
    const tenant = await a.tenant('Jobs live');
    const jobs = createJobs({ db: database.db, clock, staleAfterMs: 60_000, heartbeatMs: 600_000 });
    const { job, run } = await jobs.create({ id: newId('sjob'), tenantId: tenant.id, kind: 'test', status: 'running' });
    clock.advance(120_000);
    expect((await jobs.get(tenant.id, 'test', job.id))?.status).toBe('running');
    // Another process sees a row nobody has touched for two minutes: its process died.
    const elsewhere = createJobs({ db: database.db, clock, staleAfterMs: 60_000 });
    expect(await elsewhere.get(tenant.id, 'test', job.id)).toMatchObject({ status: 'failed', error: STALE_ERROR });
    // Should the job end after all, its outcome is what stays.
    await run.finish('done', { result: { ok: true } });
    expect(await elsewhere.get(tenant.id, 'test', job.id)).toMatchObject({ status: 'done', error: null, result: { ok: true } });
  });

  it('a running job writes its progress at most every interval, and its last report when it ends', async () => {
    const tenant = await a.tenant('Jobs throttle');
    const jobs = createJobs({ db: database.db, clock, progressEveryMs: 2000, heartbeatMs: 60_000 });
    const { job, run } = await jobs.create({ id: newId('sjob'), tenantId: tenant.id, kind: 'test', status: 'running' });
    const done = async () => (await jobs.get(tenant.id, 'test', job.id))?.done;
    // The first report is written at once; a burst within the interval after it waits, then its last report is written.
    run.progress(1, 1000);
    await until(done, (d) => d === 1, 'the first write');
    for (let i = 2; i <= 1000; i++) run.progress(i, 1000);
    await new Promise((r) => setTimeout(r, 100));
    expect(await done()).toBe(1);
    await until(done, (d) => d === 1000, 'the trailing write');
    run.progress(1001, 1001);
    await run.finish('done', { result: { ok: true } });
    expect(await jobs.get(tenant.id, 'test', job.id)).toMatchObject({ status: 'done', done: 1001, total: 1001, result: { ok: true }, error: null });
  });
});

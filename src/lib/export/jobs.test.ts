import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/context.ts';
import { AppError } from '../../core/errors.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { createExportJobs } from './jobs.ts';
import { parseCsv, yuanTextToFen } from './testing.ts';
import { sampleRow, sampleRows, sampleSpec, type SampleRow } from './test-fixtures.ts';

/** Rows that stop at `holdAt` until released: a job caught mid-way, deterministically. */
function gatedRows(n: number, holdAt: number) {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const state = { pulled: 0, returned: false };
  async function* gen(): AsyncGenerator<SampleRow> {
    try {
      for (let i = 0; i < n; i++) {
        if (i === holdAt) await gate;
        state.pulled = i + 1;
        yield sampleRow(i);
      }
    } finally {
      state.returned = true;
    }
  }
  return { rows: gen, release, state };
}

async function until<T>(read: () => T | Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('export job routes', () => {
  let t: TestServer;
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  const clock = new ManualClock('2026-03-01T08:00:00Z');

  beforeAll(async () => {
    t = await startTestServer({ clock });
    a = await t.tenant('Merchant A');
    b = await t.tenant('Merchant B');
  });
  afterAll(() => t.close());

  it('shows progress while running, then serves the file to its tenant only', async () => {
    const n = 5000;
    const gated = gatedRows(n, 2500);
    const job = await t.app.exportJobs.start({
      tenantId: a.id,
      spec: sampleSpec,
      rows: () => gated.rows(),
      total: n,
      format: 'xlsx',
      tz: 'Asia/Shanghai',
      filename: '佣金明细 2026-03',
      params: { month: '2026-03' },
    });
    expect(job.id).toMatch(/^exp_/);
    expect(['queued', 'running']).toContain(job.status);

    const mid = await until(
      () => t.call('GET', `/v1/exports/${job.id}`, { token: a.key }),
      (r) => r.data?.rows_written === 2500,
      'half the rows',
    );
    expect(mid.statusCode).toBe(200);
    expect(mid.data).toMatchObject({
      id: job.id,
      status: 'running',
      rows_written: 2500,
      total: n,
      percent: 50,
      download_url: null,
      name: 'sample-lines',
      title: '佣金明细',
      format: 'xlsx',
      filename: '佣金明细 2026-03.xlsx',
    });
    const early = await t.call('GET', `/v1/exports/${job.id}/download`, { token: a.key });
    expect(early.statusCode).toBe(409);
    expect(early.data.error.code).toBe('invalid_state');

    // Another tenant cannot see or download it: the same 404 as an id that does not exist.
    for (const url of [`/v1/exports/${job.id}`, `/v1/exports/${job.id}/download`]) {
      const other = await t.call('GET', url, { token: b.key });
      expect(other.statusCode).toBe(404);
      expect(other.data).toEqual({ error: { code: 'not_found', message: 'export not found' } });
    }
    expect((await t.call('GET', '/v1/exports/exp_01JNOSUCHJOB0000000000000', { token: a.key })).data.error.code).toBe('not_found');
    expect((await t.call('GET', `/v1/exports/${job.id}`)).statusCode).toBe(401);

    gated.release();
    const done = await t.app.exportJobs.settled(a.id, job.id);
    expect(done.status).toBe('done');
    const status = await t.call('GET', `/v1/exports/${job.id}`, { token: a.key });
    const rows = sampleRows(n);
    expect(status.data).toMatchObject({
      status: 'done',
      rows_written: n,
      total: n,
      percent: 100,
      download_url: `/v1/exports/${job.id}/download`,
      totals: {
        amount_fen: rows.reduce((s, r) => s + BigInt(r.amount_fen), 0n).toString(),
        fee_fen: rows.reduce((s, r) => s + r.fee_fen, 0n).toString(),
        quantity: rows.reduce((s, r) => s + BigInt(r.quantity), 0n).toString(),
      },
      finished_at: '2026-03-01T08:00:00.000Z',
      expires_at: '2026-03-01T09:00:00.000Z',
    });

    const file = await t.call('GET', `/v1/exports/${job.id}/download`, { token: a.key });
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(file.headers['content-disposition']).toContain(`filename*=UTF-8''${encodeURIComponent('佣金明细 2026-03.xlsx')}`);
    expect(Number(file.headers['content-length'])).toBe(status.data.size);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(file.rawPayload as unknown as ArrayBuffer);
    const ws = wb.getWorksheet('佣金明细')!;
    expect(ws.rowCount).toBe(n + 2);
    expect(Math.round((ws.getRow(n + 1).getCell(4).value as number) * 100)).toBe(rows[n - 1]!.amount_fen);
    expect((await t.call('GET', `/v1/exports/${job.id}/download`, { token: b.key })).statusCode).toBe(404);

    // The file is in the storage adapter (here the local folder), where any process reads it.
    const onDisk = path.join(t.dataDir, 'files', 'exports', `${job.id}.xlsx`);
    expect(fs.readdirSync(path.join(t.dataDir, 'exports'))).toEqual([]);
    // An hour after it finished, the file and the job are gone.
    expect(fs.existsSync(onDisk)).toBe(true);
    clock.advance(59 * 60_000);
    await t.app.exportJobs.sweep();
    expect((await t.call('GET', `/v1/exports/${job.id}`, { token: a.key })).statusCode).toBe(200);
    clock.advance(61_000);
    await t.app.exportJobs.sweep();
    expect((await t.call('GET', `/v1/exports/${job.id}`, { token: a.key })).statusCode).toBe(404);
    expect((await t.call('GET', `/v1/exports/${job.id}/download`, { token: a.key })).statusCode).toBe(404);
    expect(fs.existsSync(onDisk)).toBe(false);
  });

  it('a CSV job downloads the same rows and totals', async () => {
    const job = await t.app.exportJobs.start({
      tenantId: b.id,
      spec: sampleSpec,
      rows: sampleRows(300),
      format: 'csv',
      lang: 'en',
      tz: 'Asia/Shanghai',
      filename: 'lines',
    });
    await t.app.exportJobs.settled(b.id, job.id);
    const status = await t.call('GET', `/v1/exports/${job.id}`, { token: b.key });
    expect(status.data).toMatchObject({ status: 'done', rows_written: 300, total: null, percent: 100 });
    const file = await t.call('GET', `/v1/exports/${job.id}/download`, { token: b.key });
    expect(file.headers['content-type']).toBe('text/csv; charset=utf-8');
    const parsed = parseCsv(file.body);
    expect(parsed.rows).toHaveLength(302);
    expect(parsed.rows.slice(1, -1).map((r) => yuanTextToFen(r[3]!))).toEqual(sampleRows(300).map((r) => BigInt(r.amount_fen)));
    expect((await t.call('GET', `/v1/exports/${job.id}`, { token: a.key })).statusCode).toBe(404);
  });

  it('a failed job says so without leaking the cause, and leaves no file', async () => {
    async function* broken() {
      yield sampleRow(0);
      throw new Error('password authentication failed for user "fenxiao"');
    }
    const job = await t.app.exportJobs.start({ tenantId: a.id, spec: sampleSpec, rows: () => broken(), format: 'xlsx', tz: 'Asia/Shanghai', filename: 'x' });
    await t.app.exportJobs.settled(a.id, job.id);
    const status = await t.call('GET', `/v1/exports/${job.id}`, { token: a.key });
    expect(status.data.status).toBe('failed');
    expect(status.data.error.code).toBe('internal_error');
    expect(status.data.error.message).not.toContain('password');
    expect((await t.call('GET', `/v1/exports/${job.id}/download`, { token: a.key })).statusCode).toBe(409);
    expect(fs.readdirSync(path.join(t.dataDir, 'exports')).filter((f) => f.startsWith(job.id))).toEqual([]);

    async function* refused() {
      yield* [];
      throw new AppError('invalid_request', { en: 'the period is not closed yet', zh: '该期间尚未结束' });
    }
    const j2 = await t.app.exportJobs.start({ tenantId: a.id, spec: sampleSpec, rows: () => refused(), format: 'csv', tz: 'Asia/Shanghai', filename: 'x' });
    await t.app.exportJobs.settled(a.id, j2.id);
    expect((await t.call('GET', `/v1/exports/${j2.id}`, { token: a.key })).data.error).toEqual({
      code: 'invalid_request',
      message: 'the period is not closed yet',
    });
  });

  it('an export that needs a permission is refused to a role without it', async () => {
    const created = await t.call('POST', '/v1/admin-users', {
      token: a.key,
      body: { email: 'audit@example.com', password: 'auditor-password-1', role: 'auditor' },
    });
    expect(created.statusCode).toBe(201);
    const login = await t.call('POST', '/v1/auth/login', { body: { tenant_id: a.id, email: 'audit@example.com', password: 'auditor-password-1' } });
    expect(login.statusCode).toBe(200);
    const auditor = login.data.token as string;
    const pii = await t.app.exportJobs.start({
      tenantId: a.id,
      spec: sampleSpec,
      rows: sampleRows(3),
      format: 'csv',
      tz: 'Asia/Shanghai',
      filename: 'bank',
      permission: 'pii:read',
    });
    const plain = await t.app.exportJobs.start({
      tenantId: a.id,
      spec: sampleSpec,
      rows: sampleRows(3),
      format: 'csv',
      tz: 'Asia/Shanghai',
      filename: 'plain',
    });
    await t.app.exportJobs.settled(a.id, pii.id);
    await t.app.exportJobs.settled(a.id, plain.id);
    expect((await t.call('GET', `/v1/exports/${pii.id}`, { token: auditor })).statusCode).toBe(403);
    expect((await t.call('GET', `/v1/exports/${pii.id}/download`, { token: auditor })).statusCode).toBe(403);
    expect((await t.call('GET', `/v1/exports/${plain.id}/download`, { token: auditor })).statusCode).toBe(200);
    expect((await t.call('GET', `/v1/exports/${pii.id}/download`, { token: a.key })).statusCode).toBe(200);
  });

  it('is in the OpenAPI document', async () => {
    const doc = await t.call('GET', '/openapi.json');
    expect(Object.keys(doc.data.paths)).toEqual(expect.arrayContaining(['/v1/exports/{id}', '/v1/exports/{id}/download']));
  });
});

describe('the export job registry', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-jobs-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs a few at a time, limits each tenant, cancels, and cleans up on close', async () => {
    const jobs = createExportJobs({ dir, maxRunning: 1, maxActivePerTenant: 2, sweepEveryMs: 0 });
    const first = gatedRows(10_000, 100);
    const second = gatedRows(10, 5);
    const j1 = await jobs.start({ tenantId: 't1', spec: sampleSpec, rows: () => first.rows(), format: 'csv', tz: 'UTC', filename: 'a' });
    const j2 = await jobs.start({ tenantId: 't1', spec: sampleSpec, rows: () => second.rows(), format: 'csv', tz: 'UTC', filename: 'b' });
    let refused: unknown;
    try {
      await jobs.start({ tenantId: 't1', spec: sampleSpec, rows: [], format: 'csv', tz: 'UTC', filename: 'c' });
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe('rate_limited');
    // Another tenant is not limited by t1's jobs (but waits for a slot).
    const j3 = await jobs.start({ tenantId: 't2', spec: sampleSpec, rows: sampleRows(5), format: 'xlsx', tz: 'UTC', filename: 'd' });

    await until(
      () => first.state.pulled,
      (p) => p === 100,
      'the first job to reach its gate',
    );
    expect((await jobs.get('t1', j2.id))?.status).toBe('queued');
    expect((await jobs.get('t2', j3.id))?.status).toBe('queued');
    expect(await jobs.get('t2', j1.id)).toBeUndefined();
    expect(jobs.cancel('t2', j1.id)).toBe(false);

    expect(jobs.cancel('t1', j1.id)).toBe(true);
    first.release();
    const c = await jobs.settled('t1', j1.id);
    expect(c.status).toBe('cancelled');
    expect(first.state.returned).toBe(true);
    expect(first.state.pulled).toBeLessThan(10_000);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(j1.id))).toEqual([]);

    second.release();
    expect((await jobs.settled('t1', j2.id)).status).toBe('done');
    expect((await jobs.settled('t2', j3.id)).status).toBe('done');
    // Kept in the folder by default, and read back through the registry.
    expect(fs.existsSync(path.join(dir, `${j3.id}.xlsx`))).toBe(true);
    expect(await (await jobs.file('t2', j3.id))?.read()).toEqual(fs.readFileSync(path.join(dir, `${j3.id}.xlsx`)));
    expect(fs.existsSync(path.join(dir, `${j2.id}.csv`))).toBe(true);
    expect(await jobs.file('t1', j3.id)).toBeUndefined();

    // Refusals at the door: nothing is registered.
    await expect(jobs.start({ tenantId: 't3', spec: sampleSpec, rows: [], format: 'pdf' as 'csv', tz: 'UTC', filename: 'e' })).rejects.toThrow(AppError);
    await expect(jobs.start({ tenantId: 't3', spec: sampleSpec, rows: [], format: 'csv', tz: 'Nowhere/Else', filename: 'e' })).rejects.toThrow(AppError);

    await jobs.close();
    expect(fs.readdirSync(dir)).toEqual([]);
    await expect(jobs.start({ tenantId: 't1', spec: sampleSpec, rows: [], format: 'csv', tz: 'UTC', filename: 'f' })).rejects.toThrow(AppError);
  });

  it('sweeps files no job owns once they are older than the ttl', async () => {
    const stale = path.join(dir, 'exp_01JN0000000000000000000000.xlsx');
    const fresh = path.join(dir, 'exp_01JN0000000000000000000001.csv.part');
    const other = path.join(dir, 'notes.txt');
    for (const f of [stale, fresh, other]) fs.writeFileSync(f, 'x');
    const old = new Date(Date.now() - 2 * 3_600_000);
    fs.utimesSync(stale, old, old);
    fs.utimesSync(other, old, old);
    const jobs = createExportJobs({ dir, sweepEveryMs: 0 });
    await jobs.sweep();
    expect(fs.readdirSync(dir).sort()).toEqual(['exp_01JN0000000000000000000001.csv.part', 'notes.txt']);
    await jobs.close();
  });
});

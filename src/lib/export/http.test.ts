import http from 'node:http';
import type { AddressInfo } from 'node:net';
import ExcelJS from 'exceljs';
import pino from 'pino';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttp, type App } from '../../app/http.ts';
import { AppError } from '../../core/errors.ts';
import { sendExport } from './http.ts';
import { keysetPages } from './source.ts';
import { parseCsv, yuanTextToFen } from './testing.ts';
import { sampleRow, sampleRows, sampleSource, sampleSpec, type SampleRow } from './test-fixtures.ts';

interface Source {
  pulled: number;
  returned: boolean;
}

/** A bare server with Fenxiao's conventions (error shape, hooks) and one export route. */
function buildApp(makeRows: (q: { n: number; fail_at?: number; app_error?: boolean }) => { rows: AsyncIterable<SampleRow>; state: Source }) {
  const app: App = createHttp({
    logLevel: 'silent',
    bodyLimit: 1024 * 1024,
    authenticator: { authenticate: async () => null },
    logger: pino({ level: 'silent' }),
  });
  const sources: Source[] = [];
  app.get(
    '/export',
    {
      config: { auth: 'public' },
      schema: {
        querystring: Type.Object({
          format: Type.String(),
          lang: Type.Optional(Type.String()),
          n: Type.Integer({ minimum: 0 }),
          fail_at: Type.Optional(Type.Integer()),
          app_error: Type.Optional(Type.Boolean()),
          tz: Type.Optional(Type.String()),
        }),
      },
    },
    async (req, reply) => {
      const q = req.query;
      const { rows, state } = makeRows(q);
      sources.push(state);
      return sendExport(reply, sampleSpec, rows, {
        format: q.format as 'xlsx',
        lang: q.lang as 'zh',
        tz: q.tz ?? 'Asia/Shanghai',
        filename: '佣金明细 2026-03',
        params: { n: q.n },
      });
    },
  );
  return { app, sources };
}

function failingSource(q: { n: number; fail_at?: number; app_error?: boolean }) {
  const state: Source = { pulled: 0, returned: false };
  async function* gen() {
    try {
      for (let i = 0; i < q.n; i++) {
        if (i === q.fail_at)
          throw q.app_error
            ? new AppError('invalid_request', { en: 'unknown distributor filter', zh: '未知的分销员筛选条件' })
            : new Error('connection to the database lost');
        state.pulled = i + 1;
        yield sampleRow(i);
      }
    } finally {
      state.returned = true;
    }
  }
  return { rows: gen(), state };
}

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('sendExport through Fastify', () => {
  let app: App;
  let sources: Source[];
  beforeAll(async () => {
    ({ app, sources } = buildApp(failingSource));
    await app.ready();
  });
  afterAll(() => app.close());

  it('sends .xlsx with its content type, a UTF-8 file name and every row', async () => {
    const res = await app.inject({ method: 'GET', url: '/export?format=xlsx&n=500' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(res.headers['content-disposition']).toBe(
      `attachment; filename="____ 2026-03.xlsx"; filename*=UTF-8''${encodeURIComponent('佣金明细 2026-03.xlsx')}`,
    );
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(res.rawPayload as unknown as ArrayBuffer);
    const ws = wb.getWorksheet('佣金明细')!;
    expect(ws.rowCount).toBe(502);
    const rows = sampleRows(500);
    for (const i of [0, 5, 6, 250, 499]) {
      expect(ws.getRow(i + 2).getCell(1).value).toBe(rows[i]!.seq);
      expect(Math.round((ws.getRow(i + 2).getCell(4).value as number) * 100)).toBe(rows[i]!.amount_fen);
    }
    const about = wb.getWorksheet('说明')!.getRow(8);
    expect([about.getCell(1).text, about.getCell(2).text]).toEqual(['n', '500']);
  });

  it('sends CSV in English with every row and the totals', async () => {
    const res = await app.inject({ method: 'GET', url: '/export?format=csv&lang=en&n=700' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toContain(`filename*=UTF-8''${encodeURIComponent('佣金明细 2026-03.csv')}`);
    const parsed = parseCsv(res.body);
    expect(parsed.bom).toBe(true);
    expect(parsed.rows[0]![0]).toBe('No.');
    expect(parsed.rows).toHaveLength(702);
    const rows = sampleRows(700);
    expect(parsed.rows.slice(1, -1).map((r) => yuanTextToFen(r[3]!))).toEqual(rows.map((r) => BigInt(r.amount_fen)));
    expect(parsed.rows.at(-1)![0]).toBe('Total');
    expect(yuanTextToFen(parsed.rows.at(-1)![4]!)).toBe(rows.reduce((s, r) => s + r.fee_fen, 0n));
  });

  it('a first query that fails is an ordinary JSON error, and the source is closed', async () => {
    const res = await app.inject({ method: 'GET', url: '/export?format=xlsx&n=10&fail_at=0&app_error=true' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'invalid_request', message: 'unknown distributor filter' } });
    expect(res.headers['content-disposition']).toBeUndefined();
    const crash = await app.inject({ method: 'GET', url: '/export?format=csv&n=10&fail_at=0' });
    expect(crash.statusCode).toBe(500);
    expect(crash.json()).toEqual({ error: { code: 'internal_error', message: 'internal error' } });
    expect(sources.at(-1)!.returned).toBe(true);
  });

  it('refuses an unknown format, language or time zone before reading any row', async () => {
    for (const q of ['format=pdf', 'format=csv&lang=fr', 'format=csv&tz=Mars/Olympus']) {
      const before = sources.length;
      const res = await app.inject({ method: 'GET', url: `/export?${q}&n=5` });
      expect(res.statusCode, q).toBe(400);
      expect(res.json().error.code).toBe('invalid_request');
      expect(sources.length === before || sources.at(-1)!.pulled === 0).toBe(true);
    }
  });

  it('an empty export is still a file: the header and a zero total', async () => {
    const res = await app.inject({ method: 'GET', url: '/export?format=csv&n=0' });
    expect(res.statusCode).toBe(200);
    expect(parseCsv(res.body).rows).toEqual([
      ['序号', '分销员', '备注', '佣金（元）', '手续费（元）', '比例', '支付时间', '账期', '数量'],
      ['合计', '', '', '0.00', '0.00', '', '', '', '0'],
    ]);
  });
});

describe('sendExport over a real socket', () => {
  let app: App;
  let sources: Source[];
  let base: string;
  beforeAll(async () => {
    ({ app, sources } = buildApp((q) => (q.fail_at !== undefined ? failingSource(q) : sampleSource(q.n))));
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => app.close());

  for (const format of ['xlsx', 'csv'] as const) {
    it(`a client that goes away stops the row source (${format})`, async () => {
      const total = 2_000_000;
      let received = 0;
      await new Promise<void>((resolve, reject) => {
        const req = http.get(`${base}/export?format=${format}&n=${total}`, (res) => {
          expect(res.statusCode).toBe(200);
          res.on('data', (c: Buffer) => {
            received += c.length;
            if (received > 200_000) {
              req.destroy();
              resolve();
            }
          });
          res.on('error', () => {});
        });
        req.on('error', (err) => {
          if (received <= 200_000) reject(err);
        });
      });
      const state = sources.at(-1)!;
      await until(() => state.returned, 'the source to be closed');
      expect(state.pulled).toBeLessThan(total / 4);
    }, 120_000);

    it(`a failure after the first bytes breaks the download instead of ending it cleanly (${format})`, async () => {
      const outcome = await new Promise<'ended' | 'broken'>((resolve) => {
        const req = http.get(`${base}/export?format=${format}&n=200000&fail_at=20000`, (res) => {
          expect(res.statusCode).toBe(200);
          res.resume();
          res.on('end', () => resolve(res.complete ? 'ended' : 'broken'));
          res.on('aborted', () => resolve('broken'));
          res.on('error', () => resolve('broken'));
        });
        req.on('error', () => resolve('broken'));
      });
      expect(outcome).toBe('broken');
      expect(sources.at(-1)!.returned).toBe(true);
    }, 120_000);
  }

  it('keysetPages queries page by page and stops querying when the client leaves', async () => {
    const rows = sampleRows(50);
    const queries: (number | null)[] = [];
    const pages = keysetPages<SampleRow, number>({
      pageSize: 7,
      fetch: async (after, limit) => {
        queries.push(after);
        return rows.filter((r) => after === null || r.seq > after).slice(0, limit);
      },
      cursorOf: (r) => r.seq,
    });
    const seen: number[] = [];
    for await (const r of pages) seen.push(r.seq);
    expect(seen).toEqual(rows.map((r) => r.seq));
    expect(queries).toEqual([null, 7, 14, 21, 28, 35, 42, 49]);

    const endless = keysetPages<{ seq: number }, number>({
      pageSize: 100,
      fetch: async (after, limit) => Array.from({ length: limit }, (_, i) => ({ seq: (after ?? 0) + i + 1 })),
      cursorOf: (r) => r.seq,
    });
    let count = 0;
    for await (const r of endless) {
      count = r.seq;
      if (count === 250) break;
    }
    expect(count).toBe(250);
  });
});

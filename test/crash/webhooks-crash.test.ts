/**
 * Outbound webhooks survive a crash. A real `fenxiao serve` (a temp PGlite folder, or the run's
 * PostgreSQL when DATABASE_URL is set) records order.credited events and is SIGKILLed:
 *
 * 1. between commit and delivery: the orders were answered 201 by a process whose delivery
 *    worker was off (FENXIAO_RUN_WEBHOOKS=false), so nothing could have been sent before the kill;
 * 2. during delivery: the worker runs, the receiver holds its first request open, the process is
 *    killed while the POST is in flight.
 *
 * After each restart every event is delivered, with the event id it was recorded with (the
 * in-flight one again, under the same id: at least once).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { spawnServer, type ServerProcess } from '../pg/support/spawn.ts';
import { startReceiver, verifyFenxiaoSignature, type Receiver } from '../support/receiver.ts';
import type { JsonBody } from '../support/json.ts';

const ROOT = `crash-root-${randomBytes(8).toString('hex')}`;
const dirs: string[] = [];
const servers: ServerProcess[] = [];
let rx: Receiver | undefined;
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  await rx?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function call(url: string, method: string, route: string, opts: { token?: string; body?: unknown } = {}): Promise<{ status: number; data: JsonBody }> {
  const res = await fetch(url + route, {
    method,
    headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, data: text ? (JSON.parse(text) as JsonBody) : null };
}

async function until(what: string, check: () => boolean, withinMs: number) {
  const deadline = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('outbound webhooks: SIGKILL between commit and delivery, and during delivery', () => {
  it('every recorded event is delivered after a restart, with its event id', { timeout: 900_000 }, async () => {
    rx = await startReceiver();
    const databaseUrl = inject('databaseUrl');
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-webhooks-crash-'));
    dirs.push(dataDir);
    const env: Record<string, string> = {
      FENXIAO_DATA_DIR: dataDir,
      FENXIAO_ROOT_TOKEN: ROOT,
      FENXIAO_MASTER_KEY: randomBytes(32).toString('base64'),
      FENXIAO_WEBHOOKS_ALLOW_PRIVATE: '1',
      FENXIAO_WEBHOOKS_POLL_MS: '500',
      LOG_LEVEL: 'warn',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    };
    const start = async (extra: Record<string, string>) => {
      const s = await spawnServer({ ...env, ...extra }, 240_000);
      servers.push(s);
      return s;
    };

    // 1. The worker off: orders committed and answered, nothing sent, then SIGKILL.
    let server = await start({ FENXIAO_RUN_WEBHOOKS: 'false' });
    const t = await call(server.url, 'POST', '/v1/tenants', { token: ROOT, body: { name: 'Crash 商城' } });
    expect(t.status).toBe(201);
    const key = t.data.api_key as string;
    expect(
      (await call(server.url, 'PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: 1000, override_bp: [0, 0] } })).status,
    ).toBe(200);
    const a = (await call(server.url, 'POST', '/v1/distributors', { token: key, body: { external_id: 'A', name: 'A' } })).data;
    const ep = await call(server.url, 'POST', '/v1/webhook-endpoints', { token: key, body: { url: rx.url, events: ['order.credited'] } });
    expect(ep.status).toBe(201);
    const secret = ep.data.secret as string;
    const post = async (url: string, ext: string) => {
      const r = await call(url, 'POST', '/v1/orders', {
        token: key,
        body: {
          external_id: ext,
          buyer_external_id: `b-${ext}`,
          invite_code: a.invite_code,
          items: [{ sku: 'S', quantity: 1, unit_price_fen: 1000, paid_fen: 1000 }],
        },
      });
      expect(r.status).toBe(201);
    };
    const first = Array.from({ length: 20 }, (_, i) => `k1-${i}`);
    await Promise.all(first.map((ext) => post(server.url, ext)));
    await server.stop('SIGKILL');
    expect(rx.got).toEqual([]);

    // 2. Restarted with the worker on, the receiver holding requests open: killed mid-delivery.
    rx.answer('hang');
    server = await start({});
    await until('a delivery in flight', () => rx!.got.length > 0, 30_000);
    await server.stop('SIGKILL');
    const inFlight = rx.got.map((g) => g.body.id);
    expect(inFlight.length).toBeGreaterThan(0);

    // 3. Restarted, the receiver answering: everything arrives, the in-flight events again under their ids.
    rx.answer(200);
    server = await start({});
    const delivered = () => new Set(rx!.got.filter((g) => g.answered === 200).map((g) => (g.body.data as { external_id: string }).external_id));
    await until('every order.credited delivered', () => first.every((ext) => delivered().has(ext)), 60_000);
    const ok = rx.got.filter((g) => g.answered === 200);
    for (const id of inFlight) expect(ok.some((g) => g.body.id === id)).toBe(true);
    for (const g of ok) {
      expect(g.body.type).toBe('order.credited');
      expect(g.headers['fenxiao-event-id']).toBe(g.body.id);
      expect(verifyFenxiaoSignature(g.headers['fenxiao-signature'] as string, g.raw, secret)).toBe(true);
    }
    // One event per order, whatever was sent twice.
    const idsByOrder = new Map<string, Set<string>>();
    for (const g of rx.got) {
      const ext = (g.body.data as { external_id: string }).external_id;
      idsByOrder.set(ext, (idsByOrder.get(ext) ?? new Set()).add(g.body.id));
    }
    for (const ext of first) expect(idsByOrder.get(ext)?.size).toBe(1);
    // The deliveries log agrees (each outcome is recorded just after the receiver answered).
    const succeeded = async () => {
      const log = await call(server.url, 'GET', `/v1/webhook-endpoints/${ep.data.id}/deliveries?limit=200`, { token: key });
      return new Set((log.data.items as { event_id: string; status: string }[]).filter((x) => x.status === 'succeeded').map((x) => x.event_id)).size;
    };
    const deadline = Date.now() + 30_000;
    while ((await succeeded()) < first.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await succeeded()).toBe(first.length);
    await server.stop('SIGTERM');
  });
});

/**
 * PostgreSQL restarting under load with PgBouncer (transaction pooling) in between (issue 13,
 * item 5): what a client of PgBouncer sees is not what a direct client sees. The server's own
 * 57P01 and the dropped socket never reach Fenxiao: PgBouncer keeps the client connection and
 * answers the query in flight with its own errors (SQLSTATE 08P01: "server conn crashed?",
 * "pgbouncer cannot connect to server", "query_wait_timeout"), and while the server is away new
 * queries wait in PgBouncer rather than fail. The server must still answer every request with
 * success or the shaped 503 `service_unavailable` (never a 500), recover by itself, keep every
 * acknowledged order once, and its ledger must verify.
 *
 * A private PostgreSQL cluster (test/pg/support/cluster.ts) behind a PgBouncer of the test's own
 * (test/pg/support/balancer.ts), with the settings docs/deployment.md recommends. Runs with
 * DATABASE_URL; skips without PostgreSQL's binaries or PgBouncer, except on CI.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres } from '../support/db.ts';
import { balancerUnavailable, startPgBouncer, type PgBouncer } from './support/balancer.ts';
import { createPrivateCluster, privateClusterUnavailable, type PrivateCluster } from './support/cluster.ts';
import { spawnServer, type ServerProcess } from './support/spawn.ts';

const ROOT = `root-${randomBytes(12).toString('hex')}`;
const RESTARTS = 4;
const CLIENTS = 6;

const missing = onPostgres() ? (privateClusterUnavailable() ?? balancerUnavailable()) : null;
const onCi = /^(1|true)$/i.test(process.env.CI ?? '');
if (missing && !onCi) console.warn(`skipping the PgBouncer restart test: ${missing}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  externalId: string;
  status: number;
  code?: string | undefined;
  retryAfter?: string | null | undefined;
  network?: string | undefined;
  at: number;
}

describe.skipIf(!onPostgres() || (missing !== null && !onCi))('PostgreSQL restarting behind PgBouncer (needs DATABASE_URL, pgbouncer)', () => {
  let cluster: PrivateCluster | undefined;
  let bouncer: PgBouncer | undefined;
  let server: ServerProcess | undefined;
  let dataDir: string | undefined;

  beforeAll(async () => {
    if (missing) throw new Error(`the PgBouncer restart test cannot run: ${missing}`);
    cluster = await createPrivateCluster();
    bouncer = await startPgBouncer(cluster.url, { poolSize: 8, settings: { query_wait_timeout: 10, server_login_retry: 1 } });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-bouncer-restart-'));
    server = await spawnServer({
      DATABASE_URL: bouncer.url,
      FENXIAO_ROOT_TOKEN: ROOT,
      FENXIAO_MASTER_KEY: randomBytes(32).toString('base64'),
      FENXIAO_DATA_DIR: dataDir,
      FENXIAO_DB_POOL_SIZE: '8',
      // Debian 12's PgBouncer (1.18) keeps no named statement (docs/deployment.md#pgbouncer).
      FENXIAO_DB_PREPARE: 'off',
      FENXIAO_RUN_JOBS: 'true',
      FENXIAO_JOBS_INTERVAL_SECONDS: '1',
      LOG_LEVEL: 'warn',
    });
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await bouncer?.stop();
    await cluster?.destroy();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function call(method: string, url: string, token: string, body?: unknown) {
    const res = await fetch(server!.url + url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, data: (text ? JSON.parse(text) : {}) as Record<string, unknown> & { error?: { code?: string } } };
  }

  it(`answers 201 or a shaped 503 through ${RESTARTS} restarts behind PgBouncer, recovers, keeps every acknowledged order once`, async () => {
    const srv = server!;
    const t = await call('POST', '/v1/tenants', ROOT, { name: 'bouncer drill' });
    expect(t.status, t.text).toBe(201);
    const key = t.data.api_key as string;
    const tenantId = t.data.id as string;
    expect((await call('PUT', '/v1/grades/default', key, { name: '普通', rank: 0, sales_bp: 500, override_bp: [1000, 500] })).status).toBe(200);
    const d = await call('POST', '/v1/distributors', key, { external_id: 'S', name: 'S' });
    const invite = d.data.invite_code as string;

    const bodies = new Map<string, unknown>();
    const answers: Answer[] = [];
    let seq = 0;
    let loading = true;
    const post = async (body: { external_id: string }): Promise<Answer> => {
      const at = Date.now();
      try {
        const r = await call('POST', '/v1/orders', key, body);
        return { externalId: body.external_id, status: r.status, code: r.data.error?.code, retryAfter: r.headers.get('retry-after'), at };
      } catch (err) {
        return { externalId: body.external_id, status: 0, network: (err as Error).message, at };
      }
    };
    const worker = async () => {
      while (loading) {
        const n = seq++;
        const body = {
          external_id: `ord-${n}`,
          buyer_external_id: `buyer-${n % 30}`,
          invite_code: invite,
          items: [{ sku: 'sku', quantity: 1, unit_price_fen: 1000 + n, paid_fen: 1000 + n }],
        };
        bodies.set(body.external_id, body);
        const a = await post(body);
        answers.push(a);
        if (a.status !== 200 && a.status !== 201) await sleep(50);
      }
    };
    const load = Array.from({ length: CLIENTS }, () => worker());
    let lastOutageEnd = 0;
    try {
      await sleep(1500);
      for (let i = 0; i < RESTARTS; i++) {
        if (i % 2 === 0) await cluster!.restart(i % 4 === 2 ? 'immediate' : 'fast');
        else {
          await cluster!.stop('fast');
          await sleep(1500);
          await cluster!.start();
        }
        lastOutageEnd = Date.now();
        expect(srv.child.exitCode, srv.output().slice(-3000)).toBeNull();
        await sleep(1500);
      }
      const deadline = Date.now() + 30_000;
      while (answers.filter((a) => a.status === 201 && a.at > lastOutageEnd).length < 20 && Date.now() < deadline) await sleep(100);
    } finally {
      loading = false;
      await Promise.all(load);
    }

    const byStatus: Record<string, number> = {};
    for (const a of answers) byStatus[`${a.status}${a.code ? ` ${a.code}` : ''}`] = (byStatus[`${a.status}${a.code ? ` ${a.code}` : ''}`] ?? 0) + 1;
    const unexpected = answers.filter(
      (a) => !(a.status === 201 || a.status === 200 || (a.status === 503 && a.code === 'service_unavailable' && /^[1-9][0-9]*$/.test(a.retryAfter ?? ''))),
    );
    // Why the server failed a request, once per distinct message (the pooler's words, usually).
    const failures = [
      ...new Set(
        srv
          .output()
          .split('\n')
          .filter((l) => l.includes('"request failed"'))
          .map((l) => ((JSON.parse(l) as { err?: { code?: string; message?: string } }).err ?? {}) as { code?: string; message?: string })
          .map((e) => `${e.code ?? ''} ${e.message ?? ''}`),
      ),
    ];
    expect(unexpected.slice(0, 5), `answers ${JSON.stringify(byStatus)}; failures: ${failures.join(' | ')}`).toEqual([]);
    expect(answers.filter((a) => a.status === 201 && a.at > lastOutageEnd).length, 'orders created after the last outage').toBeGreaterThan(0);
    const acknowledged = new Set(answers.filter((a) => a.status === 201 || a.status === 200).map((a) => a.externalId));

    const resend: Answer[] = [];
    const queue = [...bodies.values()] as { external_id: string }[];
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (let body = queue.pop(); body; body = queue.pop()) resend.push(await post(body));
      }),
    );
    expect(resend.filter((a) => (acknowledged.has(a.externalId) ? a.status !== 200 : a.status !== 200 && a.status !== 201)).slice(0, 5)).toEqual([]);

    const c = new pg.Client({ connectionString: cluster!.url });
    await c.connect();
    try {
      const rows = (
        await c.query<{ external_id: string; n: string }>(`select external_id, count(*)::text as n from orders where tenant_id = $1 group by 1`, [tenantId])
      ).rows;
      expect(rows.length).toBe(bodies.size);
      expect(rows.every((r) => r.n === '1')).toBe(true);
    } finally {
      await c.end();
    }
    const verify = await call('GET', '/v1/ledger/verify', key);
    expect(verify.data.ok, verify.text).toBe(true);
    console.info(`PgBouncer restart drill: ${answers.length} requests ${JSON.stringify(byStatus)}, ${acknowledged.size} acknowledged, ${bodies.size} orders`);
  }, 240_000);
});

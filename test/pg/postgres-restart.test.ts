/**
 * PostgreSQL going away under load (issue 15): a real `fenxiao serve` process takes a steady
 * stream of POST /v1/orders while its database is restarted ten times (`pg_ctl restart` and
 * stop-wait-start, fast and immediate). The process must stay up and answer every request,
 * with a shaped 503 `service_unavailable` and Retry-After while the database is away; it must
 * recover by itself; every order it acknowledged must be there with its commissions; sending
 * every order again must create none twice; and the ledger must verify.
 *
 * The database is a cluster of the test's own (test/pg/support/cluster.ts): the run's shared
 * PostgreSQL serves the other test files at the same time and must not be restarted. Runs with
 * DATABASE_URL, as the other PostgreSQL tests do; without PostgreSQL's binaries it skips, except
 * on CI (CI=true), where their absence is a failure rather than a silent pass.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres } from '../support/db.ts';
import { createPrivateCluster, privateClusterUnavailable, type PrivateCluster, type StopMode } from './support/cluster.ts';
import { spawnServer, type ServerProcess } from './support/spawn.ts';

const ROOT = `root-${randomBytes(12).toString('hex')}`;
const RESTARTS = 10;
const WORKERS = 8;
const SALES_BP = 500;
const OVERRIDE_BP = [1000, 500];

const missing = onPostgres() ? privateClusterUnavailable() : null;
const onCi = /^(1|true)$/i.test(process.env.CI ?? '');
if (missing && !onCi) console.warn(`skipping the PostgreSQL restart test: ${missing}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The server's pid and those of its Node.js descendants (the workers of `serve --workers N`,
 * whose primary would quietly replace a worker that died): the same set before and after means
 * no process of it died. Helpers that are not Node (esbuild's service, under tsx) do not count.
 */
function processTree(root: number): number[] {
  const node = fs.realpathSync(process.execPath);
  const parent = new Map<number, number>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      // pid (comm) state ppid …; comm may hold spaces and parentheses: read after the last ')'.
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      if (fs.readlinkSync(`/proc/${name}/exe`) !== node) continue;
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone meanwhile, or not ours to read */
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parent) if (ppid === tree[i]) tree.push(pid);
  return tree.sort((a, b) => a - b);
}
const floorBp = (base: number, bp: number) => Math.floor((base * bp) / 10000);

interface OrderBody {
  external_id: string;
  buyer_external_id: string;
  invite_code: string;
  items: { sku: string; quantity: number; unit_price_fen: number; paid_fen: number }[];
}

/** One request and what came back: a status, or no answer at all (`status` 0, `network`). */
interface Answer {
  externalId: string;
  status: number;
  code?: string | undefined;
  retryAfter?: string | null | undefined;
  network?: string | undefined;
  at: number;
}

describe.skipIf(!onPostgres() || (missing !== null && !onCi))('the server survives PostgreSQL restarting under load (needs DATABASE_URL)', () => {
  let cluster: PrivateCluster | undefined;
  let server: ServerProcess | undefined;
  let dataDir: string | undefined;
  let exitedEarly: number | null | undefined;

  beforeAll(async () => {
    // On CI the binaries are part of the machine: their absence must not pass as a skip.
    if (missing) throw new Error(`the PostgreSQL restart test cannot run: ${missing}`);
    cluster = await createPrivateCluster();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-pgrestart-'));
    server = await spawnServer({
      DATABASE_URL: cluster.url,
      FENXIAO_ROOT_TOKEN: ROOT,
      FENXIAO_MASTER_KEY: randomBytes(32).toString('base64'),
      FENXIAO_DATA_DIR: dataDir,
      FENXIAO_DB_POOL_SIZE: '10',
      // The scheduler's pass runs every second, so outages also find it mid-pass.
      FENXIAO_RUN_JOBS: 'true',
      FENXIAO_JOBS_INTERVAL_SECONDS: '1',
      LOG_LEVEL: 'warn',
    });
    void server.exited.then((code) => {
      exitedEarly = code;
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
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
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = text;
    }
    return { status: res.status, headers: res.headers, data: data as Record<string, unknown> & { error?: { code?: string } } };
  }

  async function healthy(withinMs: number): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`${server!.url}/health`)).status === 200) return true;
      } catch {
        /* the process is checked separately */
      }
      await sleep(100);
    }
    return false;
  }

  it(`stays up through ${RESTARTS} restarts, answers 503 service_unavailable with Retry-After meanwhile, recovers, keeps every acknowledged order once`, async () => {
    const srv = server!;
    const db = cluster!;
    const processes = processTree(srv.child.pid!);

    // A tenant with levels 2 and the chain A ← B ← C; every order is sold by C.
    const t = await call('POST', '/v1/tenants', ROOT, { name: 'restart drill' });
    expect(t.status).toBe(201);
    const tenantId = t.data.id as string;
    const key = t.data.api_key as string;
    expect((await call('PUT', '/v1/grades/default', key, { name: '普通', rank: 0, sales_bp: SALES_BP, override_bp: OVERRIDE_BP })).status).toBe(200);
    const mk = async (externalId: string, referrer?: string) => {
      const r = await call('POST', '/v1/distributors', key, { external_id: externalId, name: externalId, ...(referrer ? { referrer_code: referrer } : {}) });
      expect(r.status, JSON.stringify(r.data)).toBe(201);
      return r.data as { id: string; invite_code: string };
    };
    const A = await mk('A');
    const B = await mk('B', A.invite_code);
    const C = await mk('C', B.invite_code);

    const bodies = new Map<string, OrderBody>();
    const answers: Answer[] = [];
    let seq = 0;
    let loading = true;
    const orderBody = (n: number): OrderBody => ({
      external_id: `ord-${n}`,
      // Buyers come back: most orders find the buyer bound already, some bind it by the code.
      buyer_external_id: `buyer-${n % 40}`,
      invite_code: C.invite_code,
      items: [{ sku: `sku-${n % 7}`, quantity: 1 + (n % 3), unit_price_fen: 1000 + n, paid_fen: (1000 + n) * (1 + (n % 3)) }],
    });
    const post = async (body: OrderBody): Promise<Answer> => {
      const at = Date.now();
      try {
        const r = await call('POST', '/v1/orders', key, body);
        return { externalId: body.external_id, status: r.status, code: r.data?.error?.code, retryAfter: r.headers.get('retry-after'), at };
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        return { externalId: body.external_id, status: 0, network: `${(err as Error).message}: ${cause?.code ?? cause?.message ?? ''}`, at };
      }
    };
    const worker = async () => {
      while (loading) {
        const body = orderBody(seq++);
        bodies.set(body.external_id, body);
        const a = await post(body);
        answers.push(a);
        // While the database is away answers come at once: do not spin.
        if (a.status !== 200 && a.status !== 201) await sleep(50);
      }
    };

    const load = Array.from({ length: WORKERS }, () => worker());
    const healthDuringOutage: number[] = [];
    let lastOutageEnd = 0;
    try {
      await sleep(1500);
      for (let i = 0; i < RESTARTS; i++) {
        const mode: StopMode = i % 3 === 2 ? 'immediate' : 'fast';
        if (i % 2 === 0) {
          await db.restart(mode);
        } else {
          // A longer outage: the database stays down for a while, and /health says so.
          await db.stop(mode);
          await sleep(300);
          healthDuringOutage.push(
            await fetch(`${srv.url}/health`).then(
              (r) => r.status,
              () => 0,
            ),
          );
          await sleep(400 + Math.floor(Math.random() * 600));
          await db.start();
        }
        lastOutageEnd = Date.now();
        expect(exitedEarly, `the server exited after restart ${i + 1}:\n${srv.output().slice(-4000)}`).toBeUndefined();
        await sleep(700 + Math.floor(Math.random() * 800));
      }
      expect(await healthy(30_000), 'the server does not find its database again').toBe(true);
      // Recovered by itself: orders are accepted again after the last outage.
      const before = answers.filter((a) => a.status === 201 && a.at > lastOutageEnd).length;
      const deadline = Date.now() + 20_000;
      while (answers.filter((a) => a.status === 201 && a.at > lastOutageEnd).length < before + 20 && Date.now() < deadline) await sleep(100);
    } finally {
      loading = false;
      await Promise.all(load);
    }

    // The same process, still up and healthy.
    expect(exitedEarly, `the server exited:\n${srv.output().slice(-4000)}`).toBeUndefined();
    expect(srv.child.exitCode).toBeNull();
    expect(processTree(srv.child.pid!), 'a process of the server died and was replaced').toEqual(processes);
    expect(await healthy(5_000)).toBe(true);
    expect(
      healthDuringOutage.every((s) => s === 503),
      `health while down: ${healthDuringOutage.join(',')}`,
    ).toBe(true);

    // Every request was answered, with success or the shaped 503; nothing else.
    const byStatus: Record<string, number> = {};
    for (const a of answers) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
    const unexpected = answers.filter(
      (a) => !(a.status === 201 || a.status === 200 || (a.status === 503 && a.code === 'service_unavailable' && /^[1-9][0-9]*$/.test(a.retryAfter ?? ''))),
    );
    expect(unexpected.slice(0, 10), `answers by status ${JSON.stringify(byStatus)}`).toEqual([]);
    // The drill did hit the outages, and did get work done around them.
    expect(byStatus[503] ?? 0, JSON.stringify(byStatus)).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status === 201 && a.at > lastOutageEnd).length, 'orders created after the last outage').toBeGreaterThan(0);
    const acknowledged = new Set(answers.filter((a) => a.status === 201 || a.status === 200).map((a) => a.externalId));
    expect(acknowledged.size).toBeGreaterThan(50);

    // Every order sent, again with the same body: acknowledged ones answer 200 and nothing new;
    // one that got a 503 may have committed (200) or not (201, created now).
    const resend: Answer[] = [];
    const queue = [...bodies.values()];
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        for (let body = queue.pop(); body; body = queue.pop()) resend.push(await post(body));
      }),
    );
    const resentWrong = resend.filter((a) => (acknowledged.has(a.externalId) ? a.status !== 200 : a.status !== 200 && a.status !== 201));
    expect(resentWrong.slice(0, 10)).toEqual([]);

    // In the database: each order once, with its three commission lines to the fen.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const rows = (
        await client.query<{ external_id: string; paid_fen: string; lines: string[] }>(
          `select o.external_id, o.paid_fen::text,
                coalesce(array_agg(c.beneficiary_id || ':' || c.level || ':' || c.amount_fen order by c.level) filter (where c.id is not null), '{}') as lines
           from orders o left join commissions c on c.order_id = o.id
          where o.tenant_id = $1 group by o.id`,
          [tenantId],
        )
      ).rows;
      expect(rows.length).toBe(bodies.size);
      expect(new Set(rows.map((r) => r.external_id)).size).toBe(bodies.size);
      for (const id of acknowledged)
        expect(
          rows.some((r) => r.external_id === id),
          id,
        ).toBe(true);
      const wrong = rows.filter((r) => {
        const body = bodies.get(r.external_id)!;
        const paid = body.items.reduce((s, it) => s + it.paid_fen, 0);
        const want = [
          [C.id, SALES_BP],
          [B.id, OVERRIDE_BP[0]!],
          [A.id, OVERRIDE_BP[1]!],
        ].map(([who, bp], level) => `${who}:${level}:${floorBp(paid, bp as number)}`);
        return Number(r.paid_fen) !== paid || JSON.stringify(r.lines) !== JSON.stringify(want);
      });
      expect(wrong.slice(0, 5)).toEqual([]);
    } finally {
      await client.end();
    }

    const verify = await call('GET', '/v1/ledger/verify', key);
    expect(verify.status).toBe(200);
    expect(verify.data.breaks).toEqual([]);
    expect(verify.data.ok).toBe(true);
    // Answered 503 yet committed: the answer was lost with the connection, and only the re-send told.
    const committedUnanswered = resend.filter((a) => !acknowledged.has(a.externalId) && a.status === 200).length;
    console.info(
      `restart drill: ${answers.length} requests ${JSON.stringify(byStatus)}, ${acknowledged.size} acknowledged, ${committedUnanswered} committed but answered 503, ${bodies.size} orders in all`,
    );
  }, 180_000);
});

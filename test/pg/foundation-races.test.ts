/**
 * Races on the referral tree and the bindings, on a real PostgreSQL: many requests in flight at
 * once against one server (a pool of 10 connections) and against a second server instance on the
 * same database, as two app processes behind a load balancer would be. PGlite runs one
 * transaction at a time, so these only mean something on PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { onPostgres } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

interface Dist {
  id: string;
  external_id: string;
  invite_code: string;
  referrer_id: string | null;
}

describe.skipIf(!onPostgres())('foundation races on PostgreSQL (needs DATABASE_URL: PostgreSQL only)', () => {
  let a: TestServer;
  let b: TestServer;
  /** Requests alternate between the two servers. */
  let servers: TestServer[];
  const pick = (i: number) => servers[i % servers.length]!;

  beforeAll(async () => {
    // One master key for both, as every process of one deployment has.
    const env = { FENXIAO_MASTER_KEY: randomBytes(32).toString('base64') };
    [a, b] = await Promise.all([startTestServer({ env }), startTestServer({ env })]);
    servers = [a, b];
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  async function create(key: string, externalId: string, referrerCode?: string, via = a): Promise<Dist> {
    const res = await via.call('POST', '/v1/distributors', {
      token: key,
      body: { external_id: externalId, name: externalId, ...(referrerCode ? { referrer_code: referrerCode } : {}) },
    });
    if (res.statusCode !== 201) throw new Error(`create ${externalId}: ${res.statusCode} ${res.body}`);
    return res.data as Dist;
  }

  function statusCounts(codes: number[]): Record<number, number> {
    const out: Record<number, number> = {};
    for (const c of codes) out[c] = (out[c] ?? 0) + 1;
    return out;
  }

  /**
   * The tree invariants, read straight from the database: no distributor is its own ancestor,
   * no chain repeats anyone, and every chain is exactly [referrer, ...referrer's chain] (so the
   * materialised paths agree with the referrer_id links). A distributor with a referrer is bound,
   * as a customer, to that referrer.
   */
  async function expectConsistentTree(tenantId: string) {
    const db = a.database.db;
    const rows = await db.selectFrom('distributors').select(['id', 'external_id', 'referrer_id', 'ancestors']).where('tenant_id', '=', tenantId).execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const customers = await db.selectFrom('customers').select(['external_id', 'distributor_id']).where('tenant_id', '=', tenantId).execute();
    const boundTo = new Map(customers.map((c) => [c.external_id, c.distributor_id]));
    for (const d of rows) {
      expect(d.ancestors, `${d.external_id} is its own ancestor`).not.toContain(d.id);
      expect(new Set(d.ancestors).size, `${d.external_id} has a repeated ancestor`).toBe(d.ancestors.length);
      if (d.referrer_id === null) {
        expect(d.ancestors, d.external_id).toEqual([]);
      } else {
        const referrer = byId.get(d.referrer_id);
        expect(referrer, `${d.external_id}'s referrer exists`).toBeDefined();
        expect(d.ancestors, `${d.external_id}'s chain follows its referrer's`).toEqual([referrer!.id, ...referrer!.ancestors]);
        expect(boundTo.get(d.external_id) ?? null, `${d.external_id} is bound as a customer to its referrer`).toBe(d.referrer_id);
      }
      // Walking referrer_id links from here reaches a root without meeting anyone twice.
      const seen = new Set<string>([d.id]);
      for (let cur = d.referrer_id; cur !== null; cur = byId.get(cur)!.referrer_id) {
        expect(seen.has(cur), `cycle through ${d.external_id}`).toBe(false);
        seen.add(cur);
      }
    }
    return rows;
  }

  it('(a) 50 concurrent registrations of one external_id: exactly one 201, the rest 409, one row', async () => {
    const { id: tenantId, key } = await a.tenant();
    const root = await create(key, 'root');
    for (const round of [0, 1, 2]) {
      const externalId = `dup-${round}`;
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          pick(i).call('POST', '/v1/distributors', {
            token: key,
            body: { external_id: externalId, name: `try ${i}`, ...(round > 0 ? { referrer_code: root.invite_code } : {}) },
          }),
        ),
      );
      expect(statusCounts(results.map((r) => r.statusCode))).toEqual({ 201: 1, 409: 49 });
      for (const r of results.filter((x) => x.statusCode === 409)) expect(r.data.error.code).toBe('conflict');
      const rows = await a.database.db
        .selectFrom('distributors')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('external_id', '=', externalId)
        .execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]!.id).toBe(results.find((r) => r.statusCode === 201)!.data.id);
      const events = await a.database.db
        .selectFrom('binding_events')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('customer_external_id', '=', externalId)
        .execute();
      expect(events).toHaveLength(round > 0 ? 1 : 0);
    }
    await expectConsistentTree(tenantId);
  });

  it('(b) one customer bound at once to many distributors: one binding, one 201', async () => {
    const { id: tenantId, key } = await a.tenant();
    const ds = await Promise.all(Array.from({ length: 12 }, (_, i) => create(key, `d${i}`, undefined, pick(i))));
    const customers = Array.from({ length: 8 }, (_, i) => `buyer-${i}`);
    // Every customer gets a request from every distributor's code, all in flight together.
    const attempts = customers.flatMap((c) => ds.map((d) => ({ c, d })));
    const results = await Promise.all(
      attempts.map(({ c, d }, i) =>
        pick(i)
          .call('POST', '/v1/bindings', { token: key, body: { customer_external_id: c, invite_code: d.invite_code } })
          .then((res) => ({ c, d, res })),
      ),
    );
    for (const c of customers) {
      const mine = results.filter((r) => r.c === c);
      expect(statusCounts(mine.map((r) => r.res.statusCode)), c).toEqual({ 201: 1, 409: ds.length - 1 });
      const winner = mine.find((r) => r.res.statusCode === 201)!;
      expect(winner.res.data.distributor_id).toBe(winner.d.id);
      const row = await a.database.db
        .selectFrom('customers')
        .select('distributor_id')
        .where('tenant_id', '=', tenantId)
        .where('external_id', '=', c)
        .executeTakeFirstOrThrow();
      expect(row.distributor_id).toBe(winner.d.id);
      const events = await a.database.db
        .selectFrom('binding_events')
        .select(['kind', 'to_distributor_id'])
        .where('tenant_id', '=', tenantId)
        .where('customer_external_id', '=', c)
        .execute();
      expect(events).toEqual([{ kind: 'bind', to_distributor_id: winner.d.id }]);
    }
  });

  it('(b) a root distributor attached at once under many referrers: one 201, one referrer', async () => {
    const { id: tenantId, key } = await a.tenant();
    const referrers = await Promise.all(Array.from({ length: 10 }, (_, i) => create(key, `r${i}`, undefined, pick(i))));
    const x = await create(key, 'x');
    const x1 = await create(key, 'x1', x.invite_code);
    await create(key, 'x2', x1.invite_code);
    const results = await Promise.all(
      referrers.map((r, i) => pick(i).call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: r.invite_code } })),
    );
    expect(statusCounts(results.map((r) => r.statusCode))).toEqual({ 201: 1, 409: referrers.length - 1 });
    const winner = results.find((r) => r.statusCode === 201)!.data.distributor_id as string;
    expect((await a.call('GET', `/v1/distributors/${x.id}`, { token: key })).data.referrer_id).toBe(winner);
    await expectConsistentTree(tenantId);
  });

  it('(c) referrals that together would close a cycle never do: pairs, rings and deep teams', async () => {
    const { id: tenantId, key } = await a.tenant();
    const jobs: { label: string; run: () => Promise<number> }[] = [];
    const bind = (i: number, customer: Dist, code: string) => () =>
      pick(i)
        .call('POST', '/v1/bindings', { token: key, body: { customer_external_id: customer.external_id, invite_code: code } })
        .then((r) => r.statusCode);

    // 15 pairs: X binds to Y's code while Y binds to X's.
    const pairs: [Dist, Dist][] = [];
    for (let p = 0; p < 15; p++) pairs.push([await create(key, `p${p}x`), await create(key, `p${p}y`)]);
    pairs.forEach(([x, y], p) => {
      jobs.push({ label: `pair ${p}`, run: bind(2 * p, x, y.invite_code) });
      jobs.push({ label: `pair ${p}`, run: bind(2 * p + 1, y, x.invite_code) });
    });
    // 8 rings of three: X → Y → Z → X.
    for (let r = 0; r < 8; r++) {
      const ring = [await create(key, `r${r}x`), await create(key, `r${r}y`), await create(key, `r${r}z`)];
      ring.forEach((d, k) => jobs.push({ label: `ring ${r}`, run: bind(r + k, d, ring[(k + 1) % 3]!.invite_code) }));
    }
    // 6 pairs of teams three deep: each root binds to the other's grandchild.
    for (let q = 0; q < 6; q++) {
      const teams: { top: Dist; low: Dist }[] = [];
      for (const side of ['a', 'b']) {
        const top = await create(key, `t${q}${side}`);
        const mid = await create(key, `t${q}${side}1`, top.invite_code);
        const low = await create(key, `t${q}${side}2`, mid.invite_code);
        teams.push({ top, low });
      }
      jobs.push({ label: `teams ${q}`, run: bind(q, teams[0]!.top, teams[1]!.low.invite_code) });
      jobs.push({ label: `teams ${q}`, run: bind(q + 1, teams[1]!.top, teams[0]!.low.invite_code) });
    }
    // A ring of five roots.
    const five: Dist[] = [];
    for (let k = 0; k < 5; k++) five.push(await create(key, `f${k}`));
    five.forEach((d, k) => jobs.push({ label: 'ring of five', run: bind(k, d, five[(k + 1) % 5]!.invite_code) }));

    // Shuffle so the two halves of each cycle are not always sent in the same order.
    for (let i = jobs.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
    }
    const outcomes = await Promise.all(jobs.map(async (j) => ({ label: j.label, status: await j.run() })));
    const byLabel = new Map<string, number[]>();
    for (const o of outcomes) byLabel.set(o.label, [...(byLabel.get(o.label) ?? []), o.status]);
    for (const [label, codes] of byLabel) {
      const size = codes.length;
      // Exactly one request of each would-be cycle is refused as a compliance violation.
      expect(statusCounts(codes), label).toEqual({ 201: size - 1, 422: 1 });
    }
    await expectConsistentTree(tenantId);
  });

  it('(c) concurrent admin moves that together would close a cycle: one succeeds, one is refused', async () => {
    const { id: tenantId, key } = await a.tenant();
    const results: number[][] = [];
    const rounds = await Promise.all(
      Array.from({ length: 10 }, async (_, q) => {
        const x = await create(key, `mx${q}`);
        const x1 = await create(key, `mx${q}1`, x.invite_code);
        const y = await create(key, `my${q}`);
        const y1 = await create(key, `my${q}1`, y.invite_code);
        return { x, x1, y, y1, q };
      }),
    );
    await Promise.all(
      rounds.map(async ({ x, x1, y, y1, q }) => {
        const [r1, r2] = await Promise.all([
          pick(q).call('POST', `/v1/distributors/${x.id}/move`, { token: key, body: { referrer_id: y1.id, reason: 'race' } }),
          pick(q + 1).call('POST', `/v1/distributors/${y.id}/move`, { token: key, body: { referrer_id: x1.id, reason: 'race' } }),
        ]);
        results.push([r1.statusCode, r2.statusCode].sort());
      }),
    );
    for (const r of results) expect(r).toEqual([200, 422]);
    await expectConsistentTree(tenantId);
  });

  it("(d) registrations racing an admin move of their referrer's subtree keep consistent chains", async () => {
    const { id: tenantId, key } = await a.tenant();
    const p = await create(key, 'P');
    const q = await create(key, 'Q');
    const x = await create(key, 'X', p.invite_code);
    const x1 = await create(key, 'X1', x.invite_code);
    const x2 = await create(key, 'X2', x1.invite_code);
    const targets = [x, x1, x2];
    const work: Promise<unknown>[] = [];
    // Move X (and its team) back and forth between P and Q while people register under it.
    work.push(
      (async () => {
        for (let m = 0; m < 8; m++) {
          const res = await pick(m).call('POST', `/v1/distributors/${x.id}/move`, {
            token: key,
            body: { referrer_id: m % 2 === 0 ? q.id : p.id, reason: `move ${m}` },
          });
          expect(res.statusCode).toBe(200);
        }
      })(),
    );
    const registrations = Array.from({ length: 60 }, (_, i) =>
      pick(i).call('POST', '/v1/distributors', { token: key, body: { external_id: `new-${i}`, name: `N${i}`, referrer_code: targets[i % 3]!.invite_code } }),
    );
    work.push(...registrations);
    await Promise.all(work);
    const created = await Promise.all(registrations);
    for (const r of created) expect(r.statusCode).toBe(201);
    const rows = await expectConsistentTree(tenantId);
    const xRow = rows.find((r) => r.id === x.id)!;
    expect(xRow.referrer_id).toBe(p.id);
    // Everyone registered under X's team sits below X, wherever X was when they registered.
    for (const r of created) {
      const row = rows.find((d) => d.id === r.data.id)!;
      expect(row.ancestors).toContain(x.id);
      expect(row.ancestors.at(-1)).toBe(p.id);
    }
  });

  it("(d) a customer's binding racing its own registration leaves the tree and the binding in agreement", async () => {
    const { id: tenantId, key } = await a.tenant();
    const t1 = await create(key, 'T1');
    const t2 = await create(key, 'T2');
    // Each customer registers (sometimes with a referrer) while a binding for it is in flight.
    const results = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const ext = `cust-${i}`;
        const [reg, bind] = await Promise.all([
          pick(i).call('POST', '/v1/distributors', {
            token: key,
            body: { external_id: ext, name: ext, ...(i % 2 === 0 ? { referrer_code: t1.invite_code } : {}) },
          }),
          pick(i + 1).call('POST', '/v1/bindings', { token: key, body: { customer_external_id: ext, invite_code: t2.invite_code } }),
        ]);
        return { ext, reg: reg.statusCode, bind: bind.statusCode };
      }),
    );
    for (const r of results) {
      expect(r.reg, r.ext).toBe(201);
      expect([201, 409], r.ext).toContain(r.bind);
    }
    await expectConsistentTree(tenantId);
  });

  /**
   * The same race made certain: a test transaction holds the tenant's default grade row, so the
   * registration stops at its insert (the grade foreign key check) while it holds the customer
   * row; the binding reads "not a distributor" and queues on the customer row; then the grade is
   * released. Before the fix, the binding went down the plain-customer path and bound the
   * customer to T2 while the new distributor stayed a root with no referrer.
   */
  it("(d) a binding that queued behind its customer's registration follows the distributor path", async () => {
    const { id: tenantId, key } = await a.tenant();
    const t2 = await create(key, 'T2');
    const holder = new pg.Client({ connectionString: inject('databaseUrl') });
    await holder.connect();
    // A second connection watches (pg_stat_activity is a snapshot per transaction, so the holder
    // would keep seeing its first one), and only for backends blocked by a given one: other test
    // files share this database and may be waiting on locks of their own.
    const watcher = new pg.Client({ connectionString: inject('databaseUrl') });
    await watcher.connect();
    const blockedBy = async (blocker: number): Promise<number> => {
      for (let i = 0; i < 1000; i++) {
        const r = await watcher.query(`select pid from pg_stat_activity where $1 = any(pg_blocking_pids(pid)) limit 1`, [blocker]);
        if (r.rows.length > 0) return r.rows[0].pid as number;
        await new Promise((res) => setTimeout(res, 10));
      }
      throw new Error(`no request became blocked by backend ${blocker}`);
    };
    try {
      const holderPid = (await holder.query('select pg_backend_pid() as pid')).rows[0].pid as number;
      await holder.query('begin');
      await holder.query(`select 1 from grades where tenant_id = $1 and code = 'default' for update`, [tenantId]);
      const reg = a.call('POST', '/v1/distributors', { token: key, body: { external_id: 'late', name: 'late' } });
      const registrationPid = await blockedBy(holderPid);
      const bind = b.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'late', invite_code: t2.invite_code } });
      await blockedBy(registrationPid);
      await holder.query('commit');
      const [r, bnd] = await Promise.all([reg, bind]);
      expect(r.statusCode).toBe(201);
      // Bound after registering: the distributor (and its team) moves under T2.
      expect(bnd.statusCode).toBe(201);
      expect((await a.call('GET', `/v1/distributors/${r.data.id}`, { token: key })).data.referrer_id).toBe(t2.id);
    } finally {
      await holder.query('rollback').catch(() => {});
      await holder.end();
      await watcher.end();
    }
    await expectConsistentTree(tenantId);
  });
});

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { onPostgres } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

/** A tenant with a few audited admin writes. */
async function audited() {
  const { id, key } = await t.tenant();
  await t.call('PUT', '/v1/program', { token: key, body: { levels: 3 } });
  await t.call('PUT', '/v1/grades/gold', { token: key, body: { name: '金牌', rank: 5, sales_bp: 100, override_bp: [1] } });
  await t.call('PUT', '/v1/program', { token: key, body: { freeze_days: 3 } });
  const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'x', name: 'X' } })).data;
  await t.call('POST', `/v1/distributors/${d.id}/suspend`, { token: key, body: { reason: 'check' } });
  return { id, key };
}

/** Edits the append-only table as an attacker with database access would: triggers off. */
async function tamper(statement: ReturnType<typeof sql>) {
  await sql`alter table audit_log disable trigger audit_log_append_only`.execute(t.database.db);
  try {
    await statement.execute(t.database.db);
  } finally {
    await sql`alter table audit_log enable trigger audit_log_append_only`.execute(t.database.db);
  }
}

describe('the tamper-evident audit log', () => {
  it('chains every entry to the one before; verify finds the chain whole', async () => {
    const { id, key } = await audited();
    const rows = await t.database.db.selectFrom('audit_log').select(['seq', 'prev_hash', 'hash']).where('chain', '=', id).orderBy('seq').execute();
    expect(rows.length).toBeGreaterThanOrEqual(5);
    rows.forEach((r, i) => {
      expect(r.seq).toBe(i + 1);
      expect(r.prev_hash).toBe(i === 0 ? '' : rows[i - 1]!.hash);
      expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
    });
    const report = (await t.call('GET', '/v1/audit-log/verify', { token: key })).data;
    expect(report).toEqual({ ok: true, entries: rows.length, breaks: [], heads: [{ chain: id, seq: rows.length, hash: rows.at(-1)!.hash }] });
  });

  it('an anchor kept from an earlier head finds a chain rewritten whole, head included', async () => {
    const { id, key } = await audited();
    const head = (await t.call('GET', '/v1/audit-log/verify', { token: key })).data.heads[0] as { seq: number; hash: string };
    const anchor = `${head.seq}:${head.hash}`;
    expect((await t.call('GET', `/v1/audit-log/verify?anchor=${anchor}`, { token: key })).data).toMatchObject({ ok: true, breaks: [] });
    // An attacker with the database rewrites entry 2 and re-hashes every later entry and the head:
    // the chain alone verifies, the anchor does not.
    await tamper(sql`update audit_log set reason = 'rewritten' where chain = ${id} and seq = 2`);
    const rows = await t.database.db.selectFrom('audit_log').select(['id', 'seq']).where('chain', '=', id).orderBy('seq').execute();
    for (const r of rows.filter((x) => Number(x.seq) >= 2)) {
      await tamper(
        sql`update audit_log a set prev_hash = coalesce((select hash from audit_log p where p.chain = a.chain and p.seq = a.seq - 1), '') where a.id = ${r.id}`,
      );
      await tamper(
        sql`update audit_log set hash = fenxiao_audit_hash(prev_hash, chain, seq, actor_type, actor_id, action, target_type, target_id, before, after, reason, request_id, at) where id = ${r.id}`,
      );
    }
    await sql`update audit_heads h set hash = (select hash from audit_log a where a.chain = h.chain order by seq desc limit 1) where chain = ${id}`.execute(
      t.database.db,
    );
    expect((await t.call('GET', '/v1/audit-log/verify', { token: key })).data.ok).toBe(true);
    const anchored = (await t.call('GET', `/v1/audit-log/verify?anchor=${anchor}`, { token: key })).data;
    expect(anchored.ok).toBe(false);
    expect(anchored.breaks).toEqual([expect.objectContaining({ seq: head.seq, problem: expect.stringContaining('rewritten') })]);
    expect((await t.call('GET', '/v1/audit-log/verify?anchor=12:nothex', { token: key })).statusCode).toBe(400);
  });

  it('refuses UPDATE and DELETE of entries', async () => {
    const { id } = await audited();
    await expect(sql`update audit_log set reason = 'x' where chain = ${id}`.execute(t.database.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log where chain = ${id}`.execute(t.database.db)).rejects.toThrow(/append-only/);
  });

  it('finds an edited entry', async () => {
    const { id, key } = await audited();
    await tamper(sql`update audit_log set after = '{"levels": 1}'::jsonb where chain = ${id} and seq = 2`);
    const report = (await t.call('GET', '/v1/audit-log/verify', { token: key })).data;
    expect(report.ok).toBe(false);
    expect(report.breaks).toEqual([expect.objectContaining({ seq: 2, problem: expect.stringContaining('edited') })]);
  });

  it('finds a removed entry in the middle and at the end', async () => {
    const middle = await audited();
    await tamper(sql`delete from audit_log where chain = ${middle.id} and seq = 3`);
    const r1 = (await t.call('GET', '/v1/audit-log/verify', { token: middle.key })).data;
    expect(r1.breaks).toEqual([expect.objectContaining({ seq: 4, problem: expect.stringContaining('missing') })]);
    const end = await audited();
    const last = await t.database.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.max('seq').as('m'))
      .where('chain', '=', end.id)
      .executeTakeFirstOrThrow();
    await tamper(sql`delete from audit_log where chain = ${end.id} and seq = ${Number(last.m)}`);
    const r2 = (await t.call('GET', '/v1/audit-log/verify', { token: end.key })).data;
    expect(r2.breaks).toEqual([expect.objectContaining({ seq: null, problem: expect.stringContaining('chain head') })]);
  });

  it('finds an entry re-hashed by someone who does not hold the previous links', async () => {
    const { id, key } = await audited();
    // Rewrite entry 2 with a self-consistent hash: entry 3's link to it breaks.
    await tamper(
      sql`update audit_log set reason = 'rewritten', hash = fenxiao_audit_hash(prev_hash, chain, seq, actor_type, actor_id, action, target_type, target_id, before, after, 'rewritten', request_id, at) where chain = ${id} and seq = 2`,
    );
    const report = (await t.call('GET', '/v1/audit-log/verify', { token: key })).data;
    expect(report.breaks).toEqual([expect.objectContaining({ seq: 3, problem: expect.stringContaining('previous') })]);
  });

  it.skipIf(onPostgres())(
    'fenxiao audit verify exits 2 on a break and names it (PGlite only: the CLI gets a data directory of its own, where on PostgreSQL it would share the suite database)',
    async () => {
      // The CLI opens the database itself; on PGlite it needs a data dir of its own: make one.
      const run = promisify(execFile);
      const env = { ...process.env, FENXIAO_DATA_DIR: t.dataDir + '-cli', FENXIAO_ROOT_TOKEN: '' };
      const made = await run('node', ['bin/fenxiao.js', 'tenant', 'create', '--name', 'cli', '--json'], { env });
      const tenantId = JSON.parse(made.stdout).id as string;
      const ok = await run('node', ['bin/fenxiao.js', 'audit', 'verify', '--tenant', tenantId], { env });
      expect(ok.stdout).toContain('the chain is whole');
      const head = /^head (\S+)$/m.exec(ok.stdout)![1]!;
      expect(head).toMatch(new RegExp(`^${tenantId}:1:[0-9a-f]{64}$`));
      expect((await run('node', ['bin/fenxiao.js', 'audit', 'verify', '--anchor', head], { env })).stdout).toContain('the chain is whole');
      const { openDatabase } = await import('../../src/db/database.ts');
      const db = await openDatabase({ dataDir: env.FENXIAO_DATA_DIR });
      await sql`alter table audit_log disable trigger audit_log_append_only`.execute(db.db);
      await sql`update audit_log set action = 'tenant.delete' where chain = ${tenantId}`.execute(db.db);
      await db.close();
      const broken = await run('node', ['bin/fenxiao.js', 'audit', 'verify', '--tenant', tenantId], { env }).then(
        () => null,
        (err: { code: number; stdout: string }) => err,
      );
      expect(broken?.code).toBe(2);
      expect(broken?.stdout).toContain('edited');
      const anchored = await run('node', ['bin/fenxiao.js', 'audit', 'verify', '--anchor', head], { env }).then(
        () => null,
        (err: { code: number; stdout: string }) => err,
      );
      expect(anchored?.code).toBe(2);
      expect(
        (
          await run('node', ['bin/fenxiao.js', 'audit', 'verify', '--anchor', 'bad'], { env }).then(
            () => null,
            (err: { code: number; stderr: string }) => err,
          )
        )?.stderr,
      ).toContain('--anchor takes');
    },
    120_000,
  );
});

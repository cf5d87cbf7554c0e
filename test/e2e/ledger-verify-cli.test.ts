import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { runCli } from '../pg/support/spawn.ts';
import { openTestDatabase } from '../support/db.ts';
import { startTestServer } from '../support/server.ts';
import { smallTenant } from '../support/reconciliation.ts';

/**
 * `fenxiao ledger verify` (issue 13 item 2): incremental by default from the tenant's checkpoint
 * (a full pass when it has none), `--full` on demand; what changed before the checkpoint is the
 * full pass's to find.
 */

const databaseUrl = inject('databaseUrl');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-ledger-cli-'));
const env: Record<string, string> = { FENXIAO_DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) };

/** The embedded database is one process's at a time: the CLI runs while it is closed. */
async function open(migrate = false): Promise<Database> {
  if (databaseUrl) return openTestDatabase(2);
  const database = await openDatabase({ dataDir });
  if (migrate) await migrateToLatest(database.db);
  return database;
}

let tenantId: string;
let cached: { id: string; account_id: string };

beforeAll(async () => {
  const database = await open(true);
  const t = await startTestServer({ database });
  try {
    const s = await smallTenant(t, 50_000, '核对商户');
    tenantId = s.tenantId;
    await s.withdraw(10_000, 'paid');
    const r = await sql<{ id: string; account_id: string }>`select p.id::text as id, p.account_id from postings p join accounts a on a.id = p.account_id
      where p.tenant_id = ${tenantId} and a.cached order by p.id limit 1`.execute(database.db);
    cached = r.rows[0]!;
  } finally {
    await t.close();
    await database.close();
  }
}, 180_000);

afterAll(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('fenxiao ledger verify', () => {
  it('checks in full first, then only what is new; --full finds a change from before the checkpoint', { timeout: 300_000 }, async () => {
    const first = await runCli(['ledger', 'verify', '--tenant', tenantId, '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const a = JSON.parse(first.stdout.trim().split('\n').at(-1)!);
    expect(a).toMatchObject({ ok: true, mode: 'full', since_posting_id: null });
    expect(a.checkpoint_posting_id).toBeGreaterThan(0);

    const second = await runCli(['ledger', 'verify', '--tenant', tenantId], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`0 journals, 0 postings`);
    expect(second.stdout).toContain(`(incremental, after posting ${a.checkpoint_posting_id})`);
    expect(second.stdout.trim().split('\n').at(-1)).toBe('ledger ok');

    // A posting before the checkpoint changed behind the database's back.
    const database = await open();
    await database.db.transaction().execute(async (tx) => {
      await sql`set local session_replication_role = replica`.execute(tx);
      await sql`update postings set balance_after = balance_after + 5 where id = ${cached.id}`.execute(tx);
    });
    await database.close();
    try {
      expect((await runCli(['ledger', 'verify', '--tenant', tenantId], env)).code).toBe(0);
      const full = await runCli(['ledger', 'verify', '--tenant', tenantId, '--full'], env);
      expect(full.code, full.stdout + full.stderr).toBe(2);
      expect(full.stdout).toContain(`BREAK each posting's balance_after is the running balance of its account: ${cached.id}:`);
    } finally {
      const fix = await open();
      await fix.db.transaction().execute(async (tx) => {
        await sql`set local session_replication_role = replica`.execute(tx);
        await sql`update postings set balance_after = balance_after - 5 where id = ${cached.id}`.execute(tx);
      });
      await fix.close();
    }
    expect((await runCli(['ledger', 'verify', '--tenant', tenantId, '--full'], env)).code).toBe(0);
  });
});

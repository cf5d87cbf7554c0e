/**
 * Identity documents under a master key rotation (issue 14, item 7), on a database of this
 * file's own (rotation rewrites every ciphertext of a database): a document uploaded under key 1
 * and one an earlier version stored in plaintext; `fenxiao pii status` counts them, `fenxiao pii
 * rotate-key` with key 2 re-wraps the first one's data key (the file is not rewritten) and
 * encrypts the second, and a server with key 2 alone reads both. No file holds either in
 * plaintext at the end, and nothing names key 1.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLocalStorage } from '../../src/adapters/storage/local.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { createKeyRing } from '../../src/lib/crypto.ts';
import { runCli } from '../pg/support/spawn.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const key1 = randomBytes(32).toString('base64');
const key2 = randomBytes(32).toString('base64');
const ring1 = createKeyRing(Buffer.from(key1, 'base64'));
const ring2 = createKeyRing(Buffer.from(key2, 'base64'));

const SCAN = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from('scan of 上官明月 310101198808081234'), randomBytes(64), Buffer.from('\n%%EOF\n')]);
const OLD_SCAN = Buffer.concat([Buffer.from('%PDF-1.3\n'), Buffer.from('old scan of 慕容秋'), Buffer.from('\n%%EOF\n')]);

const databaseUrl = inject('databaseUrl');
let dir: string;
let ownUrl: string | undefined;
let dbName: string | undefined;
let database: Database;

const env = (key: string, previous?: string): Record<string, string> => ({
  FENXIAO_MASTER_KEY: key,
  ...(previous ? { FENXIAO_PREVIOUS_MASTER_KEYS: previous } : {}),
});
const openDb = () => (ownUrl ? openDatabase({ databaseUrl: ownUrl, poolSize: 4 }) : openDatabase({ dataDir: dir }));
// Servers and the CLI share one storage folder, the CLI's <data dir>/files.
const boot = (e: Record<string, string>) => startTestServer({ database, env: e, overrides: { storage: createLocalStorage(path.join(dir, 'files')) } });
const cliEnv = (e: Record<string, string>) => ({ ...e, FENXIAO_DATA_DIR: dir, LOG_LEVEL: 'warn', ...(ownUrl ? { DATABASE_URL: ownUrl } : {}) });
const s: { key: string; tenantId: string; doc: string; legacyDoc: string } = {} as never;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-doc-rotation-'));
  if (databaseUrl) {
    dbName = `fenxiao_doc_rotation_${Date.now()}_${process.pid}`;
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query(`create database ${dbName}`);
    await admin.end();
    const u = new URL(databaseUrl);
    u.pathname = `/${dbName}`;
    ownUrl = u.toString();
  }
  database = await openDb();
  await migrateToLatest(database.db);
});

afterAll(async () => {
  await database?.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (!dbName || process.env.FENXIAO_KEEP_TEST_DB) return;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${dbName} with (force)`);
  await admin.end();
});

async function read(t: TestServer, id: string): Promise<Buffer> {
  const res = await t.app.inject({ method: 'GET', url: `/v1/documents/${id}/content`, headers: { authorization: `Bearer ${s.key}` } });
  expect(res.statusCode, res.body).toBe(200);
  return res.rawPayload;
}

function storedBytes(): Buffer {
  const root = path.join(dir, 'files');
  const out: Buffer[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(fs.readFileSync(p));
    }
  };
  if (fs.existsSync(root)) walk(root);
  return Buffer.concat(out);
}

describe('documents under key rotation', () => {
  it("are sealed under key 1; an earlier version's plaintext one sits beside them", async () => {
    const t = await boot(env(key1));
    try {
      const tenant = await t.tenant('Document rotation merchant');
      Object.assign(s, { key: tenant.key, tenantId: tenant.id });
      const d = (await t.call('POST', '/v1/distributors', { token: s.key, body: { external_id: 'rot-doc', name: 'R' } })).data.id as string;
      const boundary = '----fenxiao-doc-rotation';
      const up = await t.app.inject({
        method: 'POST',
        url: `/v1/distributors/${d}/documents`,
        headers: { authorization: `Bearer ${s.key}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
        payload: Buffer.concat([
          Buffer.from(
            `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nid_card\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="id.pdf"\r\nContent-Type: application/pdf\r\n\r\n`,
          ),
          SCAN,
          Buffer.from(`\r\n--${boundary}--\r\n`),
        ]),
      });
      expect(up.statusCode, up.body).toBe(201);
      s.doc = JSON.parse(up.body).id;
      s.legacyDoc = 'doc_ROTATIONLEGACY0000000001';
      const legacyKey = `${s.tenantId}/${d}/${s.legacyDoc}`;
      fs.mkdirSync(path.join(dir, 'files', s.tenantId, d), { recursive: true });
      fs.writeFileSync(path.join(dir, 'files', legacyKey), OLD_SCAN);
      await database.db
        .insertInto('documents')
        .values({
          id: s.legacyDoc,
          tenant_id: s.tenantId,
          distributor_id: d,
          kind: 'licence',
          filename: 'old.pdf',
          content_type: 'application/pdf',
          size_bytes: OLD_SCAN.length,
          sha256: createHash('sha256').update(OLD_SCAN).digest('hex'),
          storage_key: legacyKey,
          data_key_enc: null,
        })
        .execute();
      expect(Buffer.compare(await read(t, s.doc), SCAN)).toBe(0);
      expect(Buffer.compare(await read(t, s.legacyDoc), OLD_SCAN)).toBe(0);
    } finally {
      await t.close();
    }
    const row = await database.db.selectFrom('documents').select('data_key_enc').where('id', '=', s.doc).executeTakeFirstOrThrow();
    expect(row.data_key_enc).toMatch(new RegExp(`^v1\\.${ring1.currentKid}\\.`));
    expect(storedBytes().includes(Buffer.from('310101198808081234'))).toBe(false);
    expect(storedBytes().includes(Buffer.from('慕容秋'))).toBe(true);
  });

  it('`pii rotate-key` re-wraps the data key without rewriting the file, and encrypts the plaintext one', { timeout: 180_000 }, async () => {
    const sealedBefore = await database.db.selectFrom('documents').select('storage_key').where('id', '=', s.doc).executeTakeFirstOrThrow();
    const fileBefore = fs.readFileSync(path.join(dir, 'files', sealedBefore.storage_key));
    await database.close();
    try {
      const status = await runCli(['pii', 'status', '--json'], cliEnv(env(key2, key1)));
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout.trim().split('\n').at(-1)!)).toMatchObject({ stale: { documents: 1 }, plaintext_documents: 1 });
      const run = await runCli(['pii', 'rotate-key'], cliEnv(env(key2, key1)));
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain('documents\t1 re-encrypted, 0 changed meanwhile, 0 unreadable');
      expect(run.stdout).toContain('documents\t1 stored in plaintext encrypted');
      expect(run.stdout).toContain('every value is under the current key');
      const after = await runCli(['pii', 'status', '--json'], cliEnv(env(key2, key1)));
      expect(JSON.parse(after.stdout.trim().split('\n').at(-1)!)).toMatchObject({ stale: { documents: 0 }, plaintext_documents: 0 });
    } finally {
      database = await openDb();
    }
    // Envelope encryption: the sealed file is the same bytes, only its key was re-wrapped.
    expect(Buffer.compare(fs.readFileSync(path.join(dir, 'files', sealedBefore.storage_key)), fileBefore)).toBe(0);
    const rows = await database.db.selectFrom('documents').select(['id', 'data_key_enc']).execute();
    for (const r of rows) expect(r.data_key_enc).toMatch(new RegExp(`^v1\\.${ring2.currentKid}\\.`));
    expect(storedBytes().includes(Buffer.from('慕容秋'))).toBe(false);
  });

  it('a server with key 2 alone reads both', async () => {
    const t = await boot(env(key2));
    try {
      expect(Buffer.compare(await read(t, s.doc), SCAN)).toBe(0);
      expect(Buffer.compare(await read(t, s.legacyDoc), OLD_SCAN)).toBe(0);
    } finally {
      await t.close();
    }
  });
});

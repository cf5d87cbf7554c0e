/**
 * Master key rotation and the one-time encryption of plaintext left by older versions, on a
 * database of this file's own (a PGlite folder, or a PostgreSQL database made for it): rotation
 * rewrites every ciphertext of the database, and other test files' rows are under other keys.
 *
 * Data is written under key 1; servers then run with key 2 (and key 1 as a previous key) while
 * `fenxiao pii rotate-key` — interrupted once, then the real CLI — rewrites everything; at the end
 * a server with key 2 alone reads every value, logs in by phone and by token, and nothing names
 * key 1.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ManualClock } from '../../src/core/context.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { createKeyRing } from '../../src/lib/crypto.ts';
import { idNumberCheckChar } from '../../src/modules/pii/idnumber.ts';
import { rotateKeys, staleCounts } from '../../src/modules/pii/rotate.ts';
import { runCli } from '../pg/support/spawn.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { applyInPortal } from '../support/portal.ts';

const key1 = randomBytes(32).toString('base64');
const key2 = randomBytes(32).toString('base64');
const key3 = randomBytes(32).toString('base64');
const ring1 = createKeyRing(Buffer.from(key1, 'base64'));
const ring2 = createKeyRing(Buffer.from(key2, 'base64'), [Buffer.from(key1, 'base64')]);
const ring2only = createKeyRing(Buffer.from(key2, 'base64'));

const ID1 = '31010119880808123' + idNumberCheckChar('31010119880808123');
const ID2 = '51010719790214567' + idNumberCheckChar('51010719790214567');
const V = {
  phone: '13344556677',
  phone2: '18866554433',
  realName: '上官明月',
  wechat: 'wx_shangguan88',
  email: 'sgmy@example.org',
  address: '浙江省杭州市西湖区文三路90号',
  bankNo: '6228480402564890018',
  alipayId: '2088102122334455',
  openid: 'oRotate_openid_123456',
  legacyName: '慕容秋',
  legacyWechat: 'wx_murong_legacy',
  legacyEmail: 'murong@legacy.example',
  legacyAddress: '江苏省南京市鼓楼区中山路1号',
};
const PASSWORD = 'rotate-me-password-1';

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
const boot = (e: Record<string, string>) => startTestServer({ database, env: e });
const cliEnv = (e: Record<string, string>) => ({ ...e, FENXIAO_DATA_DIR: dir, LOG_LEVEL: 'warn', ...(ownUrl ? { DATABASE_URL: ownUrl } : {}) });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-pii-rotation-'));
  if (databaseUrl) {
    dbName = `fenxiao_pii_rotation_${Date.now()}_${process.pid}`;
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

/** Every ciphertext and blind index of the database, as (table, column, value). */
async function encryptedValues() {
  const out: { table: string; column: string; value: string }[] = [];
  for (const [table, cols] of [
    ['distributors', ['phone_enc', 'real_name_enc', 'id_number_enc', 'contact_enc']],
    ['payout_accounts', ['details_enc']],
    ['portal_settings', ['signing_secret_enc']],
  ] as const) {
    for (const column of cols) {
      const rows = await sql<{ v: string }>`select ${sql.ref(column)} as v from ${sql.table(table)} where ${sql.ref(column)} is not null`.execute(database.db);
      for (const r of rows.rows) out.push({ table, column, value: r.v });
    }
  }
  return out;
}

async function dump(): Promise<string> {
  const tables = await sql<{
    t: string;
  }>`select table_name as t from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(database.db);
  const parts: string[] = [];
  for (const { t } of tables.rows) {
    const rows = await sql<{ j: string }>`select row_to_json(x)::text as j from ${sql.table(t)} x`.execute(database.db);
    parts.push(...rows.rows.map((r) => r.j));
  }
  return parts.join('\n');
}

const s: { tenantId: string; key: string; secret: string; a: string; aExternal: string; b: string; legacy: string; legacyWithId: string } = {} as never;

async function tokenLogin(t: TestServer, externalId: string) {
  const now = Math.floor((t.clock as ManualClock).now().getTime() / 1000);
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(externalId)
    .setJti(`jti-${randomBytes(8).toString('hex')}`)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(new TextEncoder().encode(s.secret));
  return t.call('POST', '/v1/portal/token-login', { body: { tenant_id: s.tenantId, token: jwt } });
}

describe('PII key rotation', () => {
  it('writes personal data under key 1, and plaintext profiles as an older version left them', async () => {
    const t = await boot(env(key1));
    try {
      const tenant = await t.tenant('Rotation merchant');
      Object.assign(s, { tenantId: tenant.id, key: tenant.key });
      s.secret = (await t.call('POST', '/v1/portal/signing-secret', { token: s.key })).data.secret;
      const applied = await applyInPortal(t, {
        tenant_id: s.tenantId,
        name: 'A',
        phone: V.phone,
        password: PASSWORD,
        consent: true,
        profile: { real_name: V.realName, id_number: ID1, wechat: V.wechat, email: V.email, address: V.address },
      });
      expect(applied.statusCode, applied.body).toBe(201);
      s.a = applied.data.distributor_id;
      // The merchant links the account the form made, so login tokens (with its made-up id) sign it in.
      const link = await t.call('POST', `/v1/distributors/${s.a}/portal-link`, { token: s.key });
      expect(link.statusCode, link.body).toBe(200);
      s.aExternal = link.data.external_id;
      const b = await t.call('POST', '/v1/distributors', {
        token: s.key,
        body: { external_id: 'rot-b', name: 'B', phone: V.phone2, id_number: ID2, consent: true },
      });
      s.b = b.data.id;
      for (const body of [
        { channel: 'bank', account_no: V.bankNo, account_name: V.realName, bank_name: '农业银行' },
        { channel: 'alipay', identity: V.alipayId, identity_type: 'ALIPAY_USER_ID' },
        { channel: 'wechat', openid: V.openid },
      ])
        expect((await t.call('POST', `/v1/distributors/${s.a}/payout-accounts`, { token: s.key, body })).statusCode).toBe(201);
      expect(
        (
          await t.call('POST', `/v1/distributors/${s.b}/payout-accounts`, {
            token: s.key,
            body: { channel: 'bank', account_no: V.bankNo, account_name: V.realName, bank_name: '农业银行' },
          })
        ).statusCode,
      ).toBe(201);

      // What versions before the pii module wrote: personal fields in the profile, in plaintext.
      s.legacy = (await t.call('POST', '/v1/distributors', { token: s.key, body: { external_id: 'rot-legacy', name: 'L' } })).data.id;
      s.legacyWithId = (
        await t.call('POST', '/v1/distributors', { token: s.key, body: { external_id: 'rot-legacy-2', name: 'L2', phone: '13100001111' } })
      ).data.id;
      await database.db
        .updateTable('distributors')
        .set({
          profile: JSON.stringify({
            real_name: V.legacyName,
            wechat: V.legacyWechat,
            email: V.legacyEmail,
            address: V.legacyAddress,
            company: 'Legacy Co',
            note: 'old',
          }),
        })
        .where('id', '=', s.legacy)
        .execute();
      await database.db
        .updateTable('distributors')
        .set({ profile: JSON.stringify({ real_name: '', id_number: ID2.toLowerCase(), licence_no: '91330100MA2B0XXXX1' }) })
        .where('id', '=', s.legacyWithId)
        .execute();
    } finally {
      await t.close();
    }
    const values = await encryptedValues();
    expect(values.length).toBeGreaterThan(8);
    expect(values.every((v) => v.value.startsWith(`v1.${ring1.currentKid}.`))).toBe(true);
    expect(await dump()).toContain(V.legacyName);
  });

  it("a server with the new key encrypts the old plaintext at boot, and reads and finds key 1's data before rotation", async () => {
    const t = await boot(env(key2, key1));
    try {
      const legacy = await database.db.selectFrom('distributors').selectAll().where('id', '=', s.legacy).executeTakeFirstOrThrow();
      expect(legacy.profile).toEqual({ company: 'Legacy Co', note: 'old' });
      expect(legacy.real_name_enc).toMatch(new RegExp(`^v1\\.${ring2.currentKid}\\.`));
      expect(JSON.parse(ring2.decrypt(legacy.contact_enc!))).toEqual({ wechat: V.legacyWechat, email: V.legacyEmail, address: V.legacyAddress });
      const withId = await database.db.selectFrom('distributors').selectAll().where('id', '=', s.legacyWithId).executeTakeFirstOrThrow();
      expect(withId.profile).toEqual({ licence_no: '91330100MA2B0XXXX1' });
      expect(ring2.decrypt(withId.id_number_enc!)).toBe(ID2);
      expect(withId.id_number_bidx).toBe(ring2.blindIndex(ID2));
      expect(withId.real_name_enc).toBeNull();
      expect(t.logLines.join('\n')).toContain('personal data of older application profiles encrypted');
      expect(await dump()).not.toContain(V.legacyName);
      // The pass is done: a second boot finds nothing to do.
      const again = await boot(env(key2, key1));
      expect(again.logLines.join('\n')).not.toContain('older application profiles');
      await again.close();

      // Before rotation: key 1's ciphertexts decrypt, key 1's blind indexes still find the phone.
      expect((await t.call('GET', `/v1/distributors/${s.a}`, { token: s.key })).data).toMatchObject({ phone: '133****6677', real_name: '***月' });
      expect((await t.call('GET', `/v1/distributors?q=${V.phone}`, { token: s.key })).data.items.map((d: { id: string }) => d.id)).toEqual([s.a]);
      expect((await t.call('POST', '/v1/portal/login', { body: { tenant_id: s.tenantId, phone: V.phone, password: PASSWORD } })).statusCode).toBe(200);
      expect((await tokenLogin(t, s.aExternal)).statusCode).toBe(200);
      expect((await t.call('GET', `/v1/distributors/${s.legacy}`, { token: s.key })).data).toMatchObject({
        real_name: '**秋',
        profile: { company: 'Legacy Co', wechat: 'wx***cy' },
      });
    } finally {
      await t.close();
    }
  });

  it('rotates: interrupted once, resumed by the CLI which skips what is done, then a no-op', { timeout: 180_000 }, async () => {
    const before = await staleCounts(database.db, ring2);
    expect(before.distributors).toBe(3);
    expect(before.payout_accounts).toBe(4);
    expect(before.portal_settings).toBe(1);
    // A crash after the first batch of one row.
    let batches = 0;
    await expect(
      rotateKeys(database.db, ring2, {
        batchSize: 1,
        progress: () => ({
          update: () => {
            if (++batches === 1) throw new Error('killed');
          },
          add: () => {},
          done: () => {},
          fail: () => {},
          count: 0,
        }),
      }),
    ).rejects.toThrow('killed');
    const mid = await staleCounts(database.db, ring2);
    expect(mid.distributors).toBe(2);

    await database.close();
    try {
      const run = await runCli(['pii', 'rotate-key', '--batch', '2'], cliEnv(env(key2, key1)));
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`current key id ${ring2.currentKid}`);
      expect(run.stdout).toContain('distributors\t2 re-encrypted, 0 changed meanwhile, 0 unreadable');
      expect(run.stdout).toContain('payout_accounts\t4 re-encrypted');
      expect(run.stdout).toContain('portal_settings\t1 re-encrypted');
      expect(run.stdout).toContain('every value is under the current key');
      expect(run.stderr).toMatch(/re-encrypt distributors: \d+\/\d+ rows/);
      for (const v of Object.values(V)) expect(run.stdout + run.stderr).not.toContain(v);

      const status = await runCli(['pii', 'status', '--json'], cliEnv(env(key2, key1)));
      const after = JSON.parse(status.stdout.trim().split('\n').at(-1)!) as { kid: string; stale: Record<string, number> };
      expect(after.kid).toBe(ring2.currentKid);
      expect(after.stale).toMatchObject({ distributors: 0, payout_accounts: 0, portal_settings: 0 });
      expect(Object.values(after.stale).every((n) => n === 0)).toBe(true);
      const noop = await runCli(['pii', 'rotate-key', '--json'], cliEnv(env(key2, key1)));
      expect(noop.code).toBe(0);
      expect(JSON.parse(noop.stdout.trim().split('\n').at(-1)!).tables.every((r: { stale: number; rotated: number }) => r.stale === 0 && r.rotated === 0)).toBe(
        true,
      );
    } finally {
      database = await openDb();
    }

    const values = await encryptedValues();
    expect(values.filter((v) => !v.value.startsWith(`v1.${ring2.currentKid}.`))).toEqual([]);
    expect(await dump()).not.toContain(`v1.${ring1.currentKid}.`);
    // Blind indexes are key 2's now.
    const a = await database.db.selectFrom('distributors').selectAll().where('id', '=', s.a).executeTakeFirstOrThrow();
    expect(a.phone_bidx).toBe(ring2only.blindIndex(V.phone));
    expect(a.id_number_bidx).toBe(ring2only.blindIndex(ID1));
    const bank = await database.db.selectFrom('payout_accounts').select('identity_bidx').where('distributor_id', '=', s.b).executeTakeFirstOrThrow();
    expect(bank.identity_bidx).toBe(ring2only.blindIndex(`bank:${V.bankNo}`));
  });

  it('a server with key 2 alone reads everything, logs in by phone and by token, and finds by ID number', async () => {
    const t = await boot(env(key2));
    try {
      const whole = await t.call('GET', `/v1/distributors/${s.a}/pii`, { token: s.key });
      expect(whole.data).toMatchObject({ phone: V.phone, real_name: V.realName, id_number: ID1, wechat: V.wechat, email: V.email, address: V.address });
      expect(
        whole.data.payout_accounts.map((p: { details: Record<string, string> }) => p.details.account_no ?? p.details.identity ?? p.details.openid).sort(),
      ).toEqual([V.alipayId, V.bankNo, V.openid].sort());
      expect((await t.call('GET', `/v1/distributors/${s.legacy}/pii?fields=real_name,email`, { token: s.key })).data).toEqual({
        distributor_id: s.legacy,
        real_name: V.legacyName,
        email: V.legacyEmail,
      });
      expect((await t.call('POST', '/v1/portal/login', { body: { tenant_id: s.tenantId, phone: V.phone, password: PASSWORD } })).statusCode).toBe(200);
      expect((await tokenLogin(t, s.aExternal)).statusCode).toBe(200);
      expect((await t.call('GET', `/v1/distributors?q=${ID2}`, { token: s.key })).data.items.map((d: { id: string }) => d.id).sort()).toEqual(
        [s.b, s.legacyWithId].sort(),
      );
      const shared = (await t.call('GET', `/v1/distributors/${s.b}/shared-identities`, { token: s.key })).data.items;
      expect(shared.map((g: { kind: string; distributor_ids: string[] }) => [g.kind, g.distributor_ids])).toEqual([
        ['id_number', [s.b, s.legacyWithId].sort()],
        ['payout_account', [s.a, s.b].sort()],
      ]);
      expect((await t.call('GET', `/v1/distributors/${s.a}/personal-data?format=xlsx`, { token: s.key })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('leaves a value no configured key opens as it is, and says so', async () => {
    const ring3 = createKeyRing(Buffer.from(key3, 'base64'));
    const foreign = ring3.encrypt('13900000000');
    await database.db.updateTable('distributors').set({ phone_enc: foreign }).where('id', '=', s.b).execute();
    const report = await rotateKeys(database.db, ring2);
    expect(report.ok).toBe(false);
    expect(report.tables.find((r) => r.table === 'distributors')).toMatchObject({ stale: 1, rotated: 0, failed: 1, failed_ids: [s.b] });
    expect((await database.db.selectFrom('distributors').select('phone_enc').where('id', '=', s.b).executeTakeFirstOrThrow()).phone_enc).toBe(foreign);
  });
});

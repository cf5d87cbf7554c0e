/**
 * Personal data under PIPL, end to end through Fastify, as one merchant's story told in order:
 * applications with a phone, an ID number, a real name and contact details; payout accounts;
 * searches and logins by phone; inputs that fail validation; reveals by role; exports; an
 * erasure; and then, over everything the run did, the database rows, the HTTP error bodies and
 * every log line the server wrote are searched for the personal values, keys, tokens and
 * passwords. The steps share state and run in order.
 */
import fs from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/core/context.ts';
import { idNumberCheckChar } from '../../src/modules/pii/idnumber.ts';
import { ROOT_TOKEN, startTestServer, type TestServer } from '../support/server.ts';
import { applyInPortal } from '../support/portal.ts';

const withCheck = (first17: string) => first17 + idNumberCheckChar(first17);
const wrongCheck = (id: string) => id.slice(0, 17) + (id[17] === '1' ? '2' : '1');

/** Each value appears in plaintext in requests only; nowhere at rest, in a log line or an error. */
const P = {
  phone: '13971654382',
  phone2: '13658209417',
  idNumber: withCheck('11010519900307123'),
  idNumber2: withCheck('44030519851112456'),
  realName: '闻人雪松',
  realName2: '司马青禾',
  wechat: 'wxid_wangxm1990',
  email: 'wangxm1990@example.com',
  address: '广东省深圳市南山区科技园南路18号',
  bankNo: '6222021234567890123',
  bankHolder: '闻人雪松',
  alipay: 'wangxm1990@alipay.test',
  portalPassword: 'Correct-horse-battery-42',
} as const;
/** Wrong-format inputs: refused by validation, and never echoed. */
const BAD = {
  phone: 'x13755554444',
  idChecksum: wrongCheck(withCheck('32010619870101234')),
  idFormat: '3201061987010',
  keyAsPhone: '13766667777',
} as const;
const ADMIN_PASSWORD = 'Admin-password-for-pii-9';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const clock = () => t.clock as ManualClock;

interface Session {
  token: string;
}
const s: {
  tenantId: string;
  key: string;
  owner: Session;
  finance: Session;
  operator: Session;
  auditor: Session;
  a: { id: string; invite_code: string; external_id: string };
  b: { id: string; invite_code: string; external_id: string };
  portalToken: string;
  errorBodies: string[];
  secrets: string[];
} = {} as never;

/** Every non-2xx body the run received, to search for echoed values at the end. */
async function call(method: string, url: string, opts: Parameters<TestServer['call']>[2] = {}) {
  const res = await t.call(method, url, opts);
  if (res.statusCode >= 400) s.errorBodies.push(res.body);
  return res;
}

async function login(role: 'owner' | 'finance' | 'operator' | 'auditor'): Promise<Session> {
  const email = `${role}@pii.example`;
  const made = await call('POST', '/v1/admin-users', { token: s.key, body: { email, password: ADMIN_PASSWORD, role } });
  expect(made.statusCode, made.body).toBe(201);
  const res = await call('POST', '/v1/auth/login', { body: { tenant_id: s.tenantId, email, password: ADMIN_PASSWORD } });
  expect(res.statusCode, res.body).toBe(200);
  s.secrets.push(res.data.token);
  return { token: res.data.token };
}

async function upload(distributorId: string, token: string) {
  const png = Buffer.from(
    '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a1d3b7a30000000049454e44ae426082',
    'hex',
  );
  const boundary = '----fenxiao-pii';
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nid_card\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="front.png"\r\nContent-Type: image/png\r\n\r\n`,
    ),
    png,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const res = await t.app.inject({
    method: 'POST',
    url: `/v1/distributors/${distributorId}/documents`,
    headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return JSON.parse(res.body) as { id: string };
}

/** Every row of every table, as JSON text: what a database dump or backup would hold. */
async function dumpDatabase(): Promise<string> {
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`.execute(t.database.db);
  const parts: string[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await sql<{ j: string }>`select row_to_json(x)::text as j from ${sql.table(table_name)} x`.execute(t.database.db);
    for (const r of rows.rows) parts.push(`${table_name} ${r.j}`);
  }
  return parts.join('\n');
}

function findValues(haystack: string, values: Record<string, string>): string[] {
  return Object.entries(values)
    .filter(([, v]) => haystack.includes(v))
    .map(([k]) => k);
}

describe('personal data (PIPL): a full run', () => {
  it('sets up a merchant, its console roles and a commission program', async () => {
    s.errorBodies = [];
    s.secrets = [];
    const tenant = await t.tenant('PII merchant');
    s.tenantId = tenant.id;
    s.key = tenant.key;
    s.secrets.push(tenant.key);
    s.owner = await login('owner');
    s.finance = await login('finance');
    s.operator = await login('operator');
    s.auditor = await login('auditor');
    await call('PUT', '/v1/program', { token: s.key, body: { levels: 1, freeze_days: 7 } });
    await call('PUT', '/v1/grades/default', { token: s.key, body: { name: 'g', rank: 0, sales_bp: 1000, override_bp: [500] } });
  });

  it('takes an application from the portal with phone, ID number, real name and contact, consented', async () => {
    // Both steps: the form, then the code texted to the phone (no merchant id: the form makes one up).
    const res = await applyInPortal(t, {
      tenant_id: s.tenantId,
      name: 'Xiaoming Shop',
      phone: P.phone,
      password: P.portalPassword,
      consent: true,
      profile: {
        real_name: P.realName,
        id_number: P.idNumber,
        wechat: P.wechat,
        email: P.email,
        address: P.address,
        company: 'Ming Trading',
        note: 'I sell tea',
      },
    });
    if (res.statusCode >= 400) s.errorBodies.push(res.body);
    expect(res.statusCode, res.body).toBe(201);
    s.portalToken = res.data.token;
    s.secrets.push(res.data.token);
    const a = await call('GET', `/v1/distributors/${res.data.distributor_id}`, { token: s.key });
    s.a = a.data;
    expect(a.data).toMatchObject({
      phone: '139****4382',
      real_name: '***松',
      id_number: `110***********${P.idNumber.slice(-4)}`,
      profile: { company: 'Ming Trading', note: 'I sell tea', wechat: 'wx***90', email: 'w***@example.com', address: '广东省深圳市****' },
      source: 'application',
    });
    expect(a.data.consent_at).toBe(clock().now().toISOString());
  });

  it('creates a distributor by API with personal data only when the merchant says it has consent', async () => {
    const refused = await call('POST', '/v1/distributors', {
      token: s.key,
      body: { external_id: 'u-ouyang', name: 'Nana', phone: P.phone2, real_name: P.realName2, id_number: P.idNumber2 },
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.data.error.code).toBe('compliance_violation');
    const phoneOnly = await call('POST', '/v1/distributors', { token: s.key, body: { external_id: 'u-phone-only', name: 'P', phone: '13511112222' } });
    expect(phoneOnly.statusCode, 'a phone alone needs no consent flag (contract)').toBe(201);
    expect(phoneOnly.data.consent_at).toBeNull();
    const res = await call('POST', '/v1/distributors', {
      token: s.key,
      body: {
        external_id: 'u-ouyang',
        name: 'Nana',
        phone: P.phone2,
        real_name: P.realName2,
        id_number: P.idNumber2,
        consent: true,
        referrer_code: s.a.invite_code,
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    s.b = res.data;
    expect(res.data).toMatchObject({ phone: '136****9417', real_name: '***禾', id_number: `440***********${P.idNumber2.slice(-4)}`, referrer_id: s.a.id });
    expect(res.data.consent_at).not.toBeNull();
    // Consent recorded later by PATCH, with contact details.
    const later = await call('PATCH', `/v1/distributors/${phoneOnly.data.id}`, { token: s.key, body: { email: 'p@example.com' } });
    expect(later.statusCode).toBe(422);
    const ok = await call('PATCH', `/v1/distributors/${phoneOnly.data.id}`, { token: s.key, body: { email: 'p@example.com', consent: true } });
    expect(ok.data).toMatchObject({ profile: { email: 'p***@example.com' } });
    expect(ok.data.consent_at).not.toBeNull();
  });

  it('refuses wrong-format phones and ID numbers with a 400 that never repeats them', async () => {
    const cases: [string, string, Record<string, unknown>, string][] = [
      ['POST', '/v1/distributors', { external_id: 'bad-1', name: 'X', phone: BAD.phone }, BAD.phone],
      ['POST', '/v1/distributors', { external_id: 'bad-2', name: 'X', id_number: BAD.idChecksum, consent: true }, BAD.idChecksum],
      ['POST', '/v1/distributors', { external_id: 'bad-3', name: 'X', id_number: BAD.idFormat, consent: true }, BAD.idFormat],
      ['PATCH', `/v1/distributors/${s.b.id}`, { id_number: BAD.idChecksum }, BAD.idChecksum],
      ['POST', '/v1/distributors', { external_id: 'bad-4', name: 'X', [BAD.keyAsPhone]: 1 }, BAD.keyAsPhone],
      ['POST', '/v1/applications', { external_id: 'bad-5', name: 'X', phone: P.phone, consent: true, profile: { id_number: BAD.idChecksum } }, BAD.idChecksum],
    ];
    for (const [method, url, body, value] of cases) {
      const res = await call(method, url, { token: s.key, body });
      expect(res.statusCode, `${method} ${url} ${res.body}`).toBe(400);
      expect(res.data.error.code).toBe('invalid_request');
      expect(res.body).not.toContain(value);
    }
    expect(
      (await call('POST', '/v1/distributors', { token: s.key, body: { external_id: 'bad-2', name: 'X', id_number: BAD.idChecksum, consent: true } })).data.error
        .message,
    ).toBe('id_number fails its check digit');
    const badLogin = await call('POST', '/v1/portal/login', { body: { tenant_id: s.tenantId, phone: BAD.phone, password: 'whatever' } });
    expect(badLogin.statusCode).toBe(400);
    expect(badLogin.body).not.toContain(BAD.phone);
    // Nothing of it was stored.
    expect((await call('GET', '/v1/distributors?q=bad-1', { token: s.key })).data.items).toEqual([]);
  });

  it('finds distributors by phone and ID number through the blind index, and masks them in lists', async () => {
    const byPhone = await call('GET', `/v1/distributors?q=${P.phone}`, { token: s.operator.token });
    expect(byPhone.data.items.map((d: { id: string }) => d.id)).toEqual([s.a.id]);
    expect(byPhone.data.items[0].phone).toBe('139****4382');
    const byId = await call('GET', `/v1/distributors?q=${P.idNumber2}`, { token: s.auditor.token });
    expect(byId.data.items.map((d: { id: string }) => d.id)).toEqual([s.b.id]);
    const all = await call('GET', '/v1/distributors?limit=50', { token: s.key });
    const text = JSON.stringify(all.data);
    expect(findValues(text, P)).toEqual([]);
    const profile = await call('GET', `/v1/distributors/${s.a.id}/profile`, { token: s.operator.token });
    expect(profile.data.distributor).toMatchObject({ phone: '139****4382', real_name: '***松' });
    expect(profile.data.distributor.consent_at).not.toBeNull();
  });

  it('logs the distributor in by phone; its own /v1/me is masked too', async () => {
    const wrong = await call('POST', '/v1/portal/login', { body: { tenant_id: s.tenantId, phone: P.phone, password: 'not-the-password' } });
    expect(wrong.statusCode).toBe(401);
    const res = await call('POST', '/v1/portal/login', { body: { tenant_id: s.tenantId, phone: P.phone, password: P.portalPassword } });
    expect(res.statusCode, res.body).toBe(200);
    s.secrets.push(res.data.token);
    const me = await call('GET', '/v1/me', { token: res.data.token });
    expect(me.data).toMatchObject({ id: s.a.id, phone: '139****4382', real_name: '***松', id_number: `110***********${P.idNumber.slice(-4)}` });
    expect(findValues(me.body, P)).toEqual([]);
  });

  it('keeps payout accounts encrypted and shows them masked', async () => {
    const bank = await call('POST', `/v1/distributors/${s.a.id}/payout-accounts`, {
      token: s.key,
      body: { channel: 'bank', account_no: P.bankNo, account_name: P.bankHolder, bank_name: '招商银行' },
    });
    expect(bank.statusCode, bank.body).toBe(201);
    expect(bank.data.display).toBe(`招商银行 ${'*'.repeat(P.bankNo.length - 4)}${P.bankNo.slice(-4)} ***松`);
    const alipay = await call('POST', `/v1/distributors/${s.a.id}/payout-accounts`, {
      token: s.portalToken,
      body: { channel: 'alipay', identity: P.alipay, identity_type: 'ALIPAY_LOGON_ID', name: P.realName },
    });
    expect(alipay.statusCode, alipay.body).toBe(201);
    const list = await call('GET', `/v1/distributors/${s.a.id}/payout-accounts`, { token: s.key });
    expect(list.data.items).toHaveLength(2);
    expect(findValues(list.body, P)).toEqual([]);
    // The same bank account behind another distributor is found by blind index, without values.
    await call('POST', `/v1/distributors/${s.b.id}/payout-accounts`, {
      token: s.key,
      body: { channel: 'bank', account_no: P.bankNo, account_name: P.bankHolder, bank_name: '招商银行' },
    });
    const shared = await call('GET', `/v1/distributors/${s.a.id}/shared-identities`, { token: s.operator.token });
    expect(shared.data.items).toEqual([
      { kind: 'payout_account', group: expect.stringMatching(/^payout_account:[0-9a-f]{16}$/), distributor_ids: [s.a.id, s.b.id].sort() },
    ]);
    expect(findValues(shared.body, P)).toEqual([]);
  });

  it('shows whole values only to roles with pii:read, and audits each reveal', async () => {
    for (const [who, token] of [
      ['operator', s.operator.token],
      ['auditor', s.auditor.token],
    ] as const) {
      const res = await call('GET', `/v1/distributors/${s.a.id}/pii`, { token });
      expect(res.statusCode, who).toBe(403);
    }
    const asOwner = await call('GET', `/v1/distributors/${s.a.id}/pii`, { token: s.owner.token, headers: { 'x-request-id': 'req-reveal-owner' } });
    expect(asOwner.statusCode, asOwner.body).toBe(200);
    expect(asOwner.data).toMatchObject({
      distributor_id: s.a.id,
      phone: P.phone,
      real_name: P.realName,
      id_number: P.idNumber,
      wechat: P.wechat,
      email: P.email,
      address: P.address,
    });
    expect(asOwner.data.payout_accounts.map((x: { details: { channel: string } }) => x.details.channel).sort()).toEqual(['alipay', 'bank']);
    expect(asOwner.data.payout_accounts.find((x: { channel: string }) => x.channel === 'bank').details.account_no).toBe(P.bankNo);
    const asFinance = await call('GET', `/v1/distributors/${s.a.id}/pii?fields=phone,id_number`, {
      token: s.finance.token,
      headers: { 'x-request-id': 'req-reveal-finance' },
    });
    expect(asFinance.data).toEqual({ distributor_id: s.a.id, phone: P.phone, id_number: P.idNumber });
    const asKey = await call('GET', `/v1/distributors/${s.b.id}/pii?fields=real_name`, { token: s.key });
    expect(asKey.data).toEqual({ distributor_id: s.b.id, real_name: P.realName2 });
    expect((await call('GET', `/v1/distributors/${s.a.id}/pii?fields=password`, { token: s.owner.token })).statusCode).toBe(400);
    const other = await t.tenant('Other merchant');
    expect((await call('GET', `/v1/distributors/${s.a.id}/pii`, { token: other.key })).statusCode).toBe(404);

    const audit = await call('GET', '/v1/audit-log?action=pii.reveal', { token: s.auditor.token });
    const entries = audit.data.items as { actor_type: string; actor_id: string; target_id: string; after: { fields: string[] }; request_id: string }[];
    expect(entries).toHaveLength(3);
    expect(entries.find((e) => e.request_id === 'req-reveal-owner')).toMatchObject({
      actor_type: 'admin',
      target_id: s.a.id,
      after: { fields: ['phone', 'real_name', 'id_number', 'wechat', 'email', 'address', 'payout_accounts'] },
    });
    expect(entries.find((e) => e.request_id === 'req-reveal-finance')).toMatchObject({ actor_type: 'admin', after: { fields: ['phone', 'id_number'] } });
    expect(entries.find((e) => e.actor_type === 'api_key')).toMatchObject({ target_id: s.b.id, after: { fields: ['real_name'] } });
    expect(findValues(audit.body, P)).toEqual([]);
  });

  it('earns, settles and pays out, so the person has a money history', async () => {
    await call('POST', '/v1/bindings', { token: s.key, body: { customer_external_id: 'buyer-1', invite_code: s.a.invite_code } });
    const o1 = await call('POST', '/v1/orders', {
      token: s.key,
      body: { external_id: 'pii-o1', buyer_external_id: 'buyer-1', items: [{ sku: 'tea', quantity: 1, unit_price_fen: 50000, paid_fen: 50000 }] },
    });
    expect(o1.statusCode, o1.body).toBe(201);
    // The person buys too: an order as buyer, credited to itself? No: self-purchase is off, it has no referrer.
    expect(
      (
        await call('POST', '/v1/orders', {
          token: s.key,
          body: { external_id: 'pii-o2', buyer_external_id: s.a.external_id, items: [{ sku: 'cup', quantity: 2, unit_price_fen: 1500, paid_fen: 3000 }] },
        })
      ).statusCode,
    ).toBe(201);
    // B sells to a buyer of its own: A earns an override; B's line stays pending (received, not yet final).
    await call('POST', '/v1/bindings', { token: s.key, body: { customer_external_id: 'buyer-2', invite_code: s.b.invite_code } });
    await call('POST', '/v1/orders', {
      token: s.key,
      body: { external_id: 'pii-o3', buyer_external_id: 'buyer-2', items: [{ sku: 'tea', quantity: 1, unit_price_fen: 20000, paid_fen: 20000 }] },
    });
    await call('POST', '/v1/orders/pii-o1/events', { token: s.key, body: { type: 'received', at: '2026-03-01T09:00:00Z' } });
    await call('POST', '/v1/orders/pii-o3/events', { token: s.key, body: { type: 'received', at: '2026-03-01T09:00:00Z' } });
    const run = await call('POST', '/v1/settlements/run', { token: s.key, body: { as_of: '2026-03-09T00:00:00Z' } });
    expect(run.statusCode, run.body).toBe(200);
    const bal = (await call('GET', `/v1/distributors/${s.a.id}/balance`, { token: s.key })).data;
    expect(bal.withdrawable_fen).toBe(5000 + 1000);
    const w = await call('POST', '/v1/withdrawals', {
      token: s.key,
      headers: { 'idempotency-key': 'pii-wd-1' },
      body: { distributor_id: s.a.id, amount_fen: 6000, channel: 'manual' },
    });
    expect(w.statusCode, w.body).toBe(201);
    expect((await call('POST', `/v1/withdrawals/${w.data.id}/approve`, { token: s.key })).statusCode).toBe(200);
    expect((await call('POST', `/v1/withdrawals/${w.data.id}/complete`, { token: s.key, body: { reference: 'BANK-REF-1' } })).statusCode).toBe(200);
    // B got its statement too; a withdrawal of half leaves money in Fenxiao.
    expect((await call('GET', `/v1/distributors/${s.b.id}/balance`, { token: s.key })).data.withdrawable_fen).toBe(2000);
    // A visit of A's invite link, and a document.
    expect(
      (await call('GET', `/i/${s.a.invite_code}`, { headers: { 'user-agent': 'Mozilla/5.0 (pii visitor)', referer: 'https://weixin.qq.com/x' } })).statusCode,
    ).toBe(302);
    await upload(s.a.id, s.portalToken);
  });

  it('exports everything held about the person as JSON and as a workbook, audited; only pii:read or the person', async () => {
    expect((await call('GET', `/v1/distributors/${s.a.id}/personal-data`, { token: s.operator.token })).statusCode).toBe(403);
    const res = await call('GET', `/v1/distributors/${s.a.id}/personal-data?format=json`, { token: s.finance.token });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-disposition']).toContain(`personal-data-${s.a.id}.json`);
    expect(res.headers['cache-control']).toContain('no-store');
    const x = res.data;
    expect(x.personal).toEqual({ phone: P.phone, real_name: P.realName, id_number: P.idNumber, wechat: P.wechat, email: P.email, address: P.address });
    expect(x.distributor).toMatchObject({ id: s.a.id, external_id: s.a.external_id, company: 'Ming Trading', note: 'I sell tea', status: 'active' });
    expect(x.distributor.consent_at).not.toBeNull();
    expect(x.payout_accounts.map((p: { details: { channel: string } }) => p.details.channel).sort()).toEqual(['alipay', 'bank']);
    expect(x.orders).toEqual([expect.objectContaining({ external_id: 'pii-o2', paid_fen: 3000 })]);
    expect(x.commissions.map((c: { amount_fen: number; level: number }) => [c.level, c.amount_fen]).sort()).toEqual([
      [0, 5000],
      [1, 1000],
    ]);
    expect(x.statements).toEqual([expect.objectContaining({ amount_fen: 6000, status: 'approved' })]);
    expect(x.withdrawals).toEqual([expect.objectContaining({ amount_fen: 6000, status: 'paid' })]);
    expect(x.balances).toMatchObject({ withdrawable_fen: 0, withdrawn_fen: 6000 });
    expect(x.visits).toEqual([{ day: '2026-03-01', visits: 1, unique_visitors: 1 }]);
    expect(x.documents).toEqual([expect.objectContaining({ kind: 'id_card', filename: 'front.png' })]);
    expect(x.bindings).toEqual([]);
    expect(JSON.stringify(x)).not.toContain('pii visitor');

    const xlsx = await t.app.inject({
      method: 'GET',
      url: `/v1/distributors/${s.a.id}/personal-data?format=xlsx&lang=en`,
      headers: { authorization: `Bearer ${s.key}` },
    });
    expect(xlsx.statusCode).toBe(200);
    expect(xlsx.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual([
      'Personal data',
      'Payout accounts',
      'Bindings',
      'Orders as buyer',
      'Commissions',
      'Statements',
      'Withdrawals',
      'Invite link visits',
      'Documents',
    ]);
    const fields = new Map<string, unknown>();
    wb.getWorksheet('Personal data')!.eachRow((row, n) => {
      if (n > 1) fields.set(String(row.getCell(1).value), row.getCell(2).value);
    });
    expect(fields.get('phone')).toBe(P.phone);
    expect(fields.get('id_number')).toBe(P.idNumber);
    expect(fields.get('real_name')).toBe(P.realName);
    const accounts: unknown[] = [];
    wb.getWorksheet('Payout accounts')!.eachRow((row, n) => {
      if (n > 1) accounts.push(row.getCell(3).value);
    });
    expect(accounts.sort()).toEqual([P.alipay, P.bankNo].sort());
    const commissions = wb.getWorksheet('Commissions')!;
    const amounts: unknown[] = [];
    commissions.eachRow((row, n) => {
      if (n > 1) amounts.push(row.getCell(7).value);
    });
    expect(amounts.sort()).toEqual([10, 50]);

    // The person itself, from the portal: its own data only.
    const mine = await call('GET', '/v1/me/personal-data', { token: s.portalToken });
    expect(mine.statusCode).toBe(200);
    expect(mine.data.personal.id_number).toBe(P.idNumber);
    const mineXlsx = await t.app.inject({ method: 'GET', url: '/v1/me/personal-data?format=xlsx', headers: { authorization: `Bearer ${s.portalToken}` } });
    expect(mineXlsx.statusCode).toBe(200);
    expect((await call('GET', `/v1/distributors/${s.b.id}/personal-data`, { token: s.portalToken })).statusCode).toBe(403);

    const audit = (await call('GET', `/v1/audit-log?action=pii.export&target_id=${s.a.id}`, { token: s.key })).data.items;
    expect(audit.map((e: { actor_type: string; after: { format: string } }) => `${e.actor_type}:${e.after.format}`).sort()).toEqual([
      'admin:json',
      'api_key:xlsx',
      'distributor:json',
      'distributor:xlsx',
    ]);
  });

  it('refuses to erase while money is owed or on its way, and lets only the owner erase', async () => {
    expect((await call('POST', `/v1/distributors/${s.a.id}/erase`, { token: s.operator.token, body: { reason: 'asked by the person' } })).statusCode).toBe(403);
    expect((await call('POST', `/v1/distributors/${s.a.id}/erase`, { token: s.finance.token, body: { reason: 'asked by the person' } })).statusCode).toBe(403);
    expect((await call('POST', `/v1/distributors/${s.a.id}/erase`, { token: s.owner.token, body: {} })).statusCode).toBe(400);
    const owed = await call('POST', `/v1/distributors/${s.b.id}/erase`, { token: s.owner.token, body: { reason: 'asked by the person' } });
    expect(owed.statusCode).toBe(409);
    expect(owed.data.error).toMatchObject({ code: 'invalid_state' });
    expect(owed.data.error.message).toContain('withdrawable 2000 fen');
    expect((await call('GET', `/v1/distributors/${s.b.id}`, { token: s.key })).data.status).toBe('active');
  });

  let before: { journals: number; postings: string; lines: string; statements: string; withdrawals: string };
  const ledgerShape = async () => {
    const one = async <T>(q: ReturnType<typeof sql<T>>) => (await q.execute(t.database.db)).rows[0]!;
    const j = await one(sql<{ n: number | string }>`select count(*) as n from journal_entries where tenant_id = ${s.tenantId}`);
    const p = await one(
      sql<{ x: string }>`select string_agg(id || ':' || account_id || ':' || amount, ',' order by id) as x from postings where tenant_id = ${s.tenantId}`,
    );
    const l = await one(
      sql<{
        x: string;
      }>`select string_agg(id || ':' || beneficiary_id || ':' || amount_fen || ':' || status, ',' order by id) as x from commissions where tenant_id = ${s.tenantId}`,
    );
    const st = await one(
      sql<{
        x: string;
      }>`select string_agg(id || ':' || distributor_id || ':' || amount_fen, ',' order by id) as x from statements where tenant_id = ${s.tenantId}`,
    );
    const w = await one(
      sql<{
        x: string;
      }>`select string_agg(id || ':' || distributor_id || ':' || amount_fen || ':' || status, ',' order by id) as x from withdrawals where tenant_id = ${s.tenantId}`,
    );
    return { journals: Number(j.n), postings: p.x, lines: l.x, statements: st.x, withdrawals: w.x };
  };

  it('erases the person: anonymised, cannot log in, no new commission, the ledger whole', async () => {
    before = await ledgerShape();
    const verifyBefore = await call('GET', '/v1/ledger/verify', { token: s.key });
    expect(verifyBefore.data.breaks).toEqual([]);
    const docs = (await call('GET', `/v1/distributors/${s.a.id}/documents`, { token: s.key })).data.items;
    const storageKey = (await t.database.db.selectFrom('documents').select('storage_key').where('id', '=', docs[0].id).executeTakeFirstOrThrow()).storage_key;
    expect(
      (await t.services.distributors.readDocument({ principal: { kind: 'api_key', tenantId: s.tenantId, keyId: 'k' }, requestId: null }, docs[0].id)).data
        .length,
    ).toBeGreaterThan(0);

    const res = await call('POST', `/v1/distributors/${s.a.id}/erase`, {
      token: s.owner.token,
      body: { reason: 'request of 2026-03-09, ticket 42' },
      headers: { 'x-request-id': 'req-erase' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.data.distributor).toMatchObject({
      id: s.a.id,
      status: 'erased',
      name: `已注销用户 ${s.a.id.slice(-6)}`,
      phone: null,
      real_name: null,
      id_number: null,
      profile: { company: null, licence_no: null, note: null, wechat: null, email: null, address: null },
      invite_code: s.a.invite_code,
      external_id: s.a.external_id,
    });
    expect(res.data.erasure).toEqual({
      already_erased: false,
      payout_accounts: 2,
      documents: 1,
      documents_not_deleted: 0,
      sessions_revoked: 2,
      visits_anonymised: 1,
    });

    // At rest: nothing left to decrypt or to look up.
    const row = await t.database.db.selectFrom('distributors').selectAll().where('id', '=', s.a.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      phone_enc: null,
      phone_bidx: null,
      real_name_enc: null,
      id_number_enc: null,
      id_number_bidx: null,
      contact_enc: null,
      profile: {},
      status: 'erased',
    });
    expect(row.erased_at).not.toBeNull();
    const accounts = await t.database.db.selectFrom('payout_accounts').selectAll().where('distributor_id', '=', s.a.id).execute();
    expect(accounts.map((a) => [a.details_enc, a.identity_bidx, a.display, a.disabled_at !== null])).toEqual([
      [null, null, '已删除', true],
      [null, null, '已删除', true],
    ]);
    expect(await t.database.db.selectFrom('portal_credentials').selectAll().where('distributor_id', '=', s.a.id).execute()).toEqual([]);
    expect(await t.database.db.selectFrom('documents').selectAll().where('distributor_id', '=', s.a.id).execute()).toEqual([]);
    expect(fs.existsSync(path.join(t.dataDir, 'files', storageKey))).toBe(false);
    const visits = await t.database.db
      .selectFrom('visits')
      .select(['ip', 'user_agent', 'referer', 'visitor_id'])
      .where('distributor_id', '=', s.a.id)
      .execute();
    expect(visits).toEqual([{ ip: null, user_agent: null, referer: null, visitor_id: expect.any(String) }]);

    // No login: not by phone, not with an old session, not by a merchant-signed token.
    expect((await call('POST', '/v1/portal/login', { body: { tenant_id: s.tenantId, phone: P.phone, password: P.portalPassword } })).statusCode).toBe(401);
    expect((await call('GET', '/v1/me', { token: s.portalToken })).statusCode).toBe(401);
    const secret = (await call('POST', '/v1/portal/signing-secret', { token: s.key })).data.secret as string;
    s.secrets.push(secret);
    const { SignJWT } = await import('jose');
    const now = Math.floor(clock().now().getTime() / 1000);
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(s.a.external_id)
      .setJti('jti-erased-0001')
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(new TextEncoder().encode(secret));
    expect((await call('POST', '/v1/portal/token-login', { body: { tenant_id: s.tenantId, token: jwt } })).statusCode).toBe(401);
    // No way back, no new personal data, no payout account.
    expect((await call('POST', `/v1/distributors/${s.a.id}/reactivate`, { token: s.key })).statusCode).toBe(409);
    expect((await call('PATCH', `/v1/distributors/${s.a.id}`, { token: s.key, body: { phone: P.phone } })).statusCode).toBe(409);
    expect(
      (
        await call('POST', `/v1/distributors/${s.a.id}/payout-accounts`, {
          token: s.key,
          body: { channel: 'bank', account_no: P.bankNo, account_name: P.bankHolder, bank_name: '招商银行' },
        })
      ).statusCode,
    ).toBe(409);
    // The same phone may apply again: it is a new person to Fenxiao now.
    expect((await call('GET', `/v1/distributors?q=${P.phone}`, { token: s.key })).data.items).toEqual([]);

    // The ledger: every journal, posting, line, statement and withdrawal as it was; verify clean.
    expect(await ledgerShape()).toEqual(before);
    expect((await call('GET', '/v1/ledger/verify', { token: s.key })).data.breaks).toEqual([]);
    // A new order of a buyer bound to the erased distributor credits it nothing.
    const o = await call('POST', '/v1/orders', {
      token: s.key,
      body: { external_id: 'pii-o4', buyer_external_id: 'buyer-1', items: [{ sku: 'tea', quantity: 1, unit_price_fen: 10000, paid_fen: 10000 }] },
    });
    expect(o.statusCode, o.body).toBe(201);
    expect(o.data.commissions.filter((c: { beneficiary_id: string; amount_fen: number }) => c.beneficiary_id === s.a.id && c.amount_fen > 0)).toEqual([]);
    expect((await call('GET', '/v1/ledger/verify', { token: s.key })).data.breaks).toEqual([]);

    // Audited with the request id, and the audit log names fields, not values.
    const audit = (await call('GET', `/v1/audit-log?action=distributor.erase`, { token: s.key })).data.items;
    expect(audit).toEqual([
      expect.objectContaining({
        actor_type: 'admin',
        target_id: s.a.id,
        request_id: 'req-erase',
        reason: 'request of 2026-03-09, ticket 42',
        before: expect.objectContaining({ fields: ['phone', 'real_name', 'id_number', 'wechat', 'email', 'address'] }),
      }),
    ]);

    // Repeating it answers the erased record; the export still answers, with nothing personal.
    const again = await call('POST', `/v1/distributors/${s.a.id}/erase`, { token: s.owner.token, body: { reason: 'retry' } });
    expect(again.data.erasure.already_erased).toBe(true);
    const x = (await call('GET', `/v1/distributors/${s.a.id}/personal-data`, { token: s.key })).data;
    expect(x.personal).toEqual({ phone: null, real_name: null, id_number: null, wechat: null, email: null, address: null });
    expect(x.payout_accounts.every((p: { details: unknown }) => p.details === null)).toBe(true);
    expect(x.commissions).toHaveLength(2);
  });

  it('holds no personal value in plaintext anywhere in the database, the audit log included', async () => {
    const dump = await dumpDatabase();
    expect(dump.length).toBeGreaterThan(1000);
    // The erased person and B (not erased: its data is still there, encrypted).
    expect(findValues(dump, { ...P })).toEqual([]);
    const b = await t.database.db.selectFrom('distributors').selectAll().where('id', '=', s.b.id).executeTakeFirstOrThrow();
    expect(b.phone_enc).toMatch(/^v1\.[0-9a-f]{8}\./);
    expect(b.real_name_enc).toMatch(/^v1\./);
    expect(b.id_number_enc).toMatch(/^v1\./);
    expect(b.id_number_bidx).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(b.profile).toEqual({});
    const portal = await t.database.db.selectFrom('portal_settings').selectAll().where('tenant_id', '=', s.tenantId).executeTakeFirstOrThrow();
    expect(portal.signing_secret_enc).toMatch(/^v1\./);
    expect(dump).not.toContain(s.secrets[s.secrets.length - 1]!.slice(4));
  });

  it('wrote no personal value, key, token or password to any log line of the run', async () => {
    // A database error that carries a phone among its parameters, logged as a failure would be.
    try {
      await sql`insert into distributors (id, tenant_id, external_id, name, phone_enc, invite_code, status, grade_code) values (${'dst_x'}, ${s.tenantId}, ${null}, ${P.realName}, ${P.phone}, ${'X'}, ${'active'}, ${'default'})`.execute(
        t.database.db,
      );
      throw new Error('the insert should have failed');
    } catch (err) {
      expect(JSON.stringify(err)).toContain(P.phone);
      t.app.log.error({ err }, 'request failed');
    }
    const masterKey = fs.readFileSync(path.join(t.dataDir, 'master.key'), 'utf8').trim();
    const logs = t.logLines.join('\n');
    const secrets: Record<string, string> = {
      ...P,
      ...BAD,
      adminPassword: ADMIN_PASSWORD,
      masterKey,
      rootToken: ROOT_TOKEN,
      ...Object.fromEntries(s.secrets.map((v, i) => [`secret${i}`, v])),
    };
    expect(findValues(logs, secrets)).toEqual([]);
    expect(findValues(s.errorBodies.join('\n'), { ...P, ...BAD, adminPassword: ADMIN_PASSWORD, masterKey })).toEqual([]);
    expect(s.errorBodies.length).toBeGreaterThan(10);
    // The capture works: requests, the search by phone (its query redacted), and that error.
    expect(logs).toContain('request completed');
    expect(logs).toContain('/v1/distributors?q=…');
    expect(logs).toContain('23502');
    expect(logs).toContain('req-erase');
  });
});

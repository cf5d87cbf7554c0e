/**
 * Bidirectional control characters (issue 14, item 13): a right-to-left override makes a screen
 * show `invoice\u202efdp.exe` as `invoiceexe.pdf`, and a name can pose as another the same way
 * ("Trojan Source"). Text fields (every name, reason and note goes through the `Text` schema
 * helper) and merchants' ids refuse them; an uploaded file's name has them removed, and ends with
 * the extension of what the file really is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { up as stripBidiControls } from '../../src/db/migrations/2026_12_06_0740_strip_bidi_controls.ts';
import { startTestServer, ROOT_TOKEN, type TestServer } from '../support/server.ts';
import { multipartBody } from './openapi.ts';

let t: TestServer;
let key: string;
let tenantId: string;
beforeAll(async () => {
  t = await startTestServer();
  ({ id: tenantId, key } = await t.tenant('Bidi merchant'));
});
afterAll(async () => {
  await t?.close();
});

const CONTROLS = ['\u202e', '\u202d', '\u202a', '\u202b', '\u202c', '\u2066', '\u2067', '\u2068', '\u2069', '\u200e', '\u200f', '\u061c'];
const SPOOF = 'invoice\u202efdp.exe';

describe('Text fields and ids', () => {
  it('refuse every bidirectional control, wherever a name is written', async () => {
    for (const c of CONTROLS) {
      const res = await t.call('POST', '/v1/distributors', { token: key, body: { external_id: `bidi-${c.codePointAt(0)}`, name: `Zhang${c}San` } });
      expect(res.statusCode, `U+${c.codePointAt(0)!.toString(16)}: ${res.body}`).toBe(400);
      expect(res.data.error).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('bidirectional') });
    }
    const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'bidi-ok', name: '张三 محمد' } })).data;
    expect(d.name).toBe('张三 محمد');
    const refused = [
      await t.call('PATCH', `/v1/distributors/${d.id}`, { token: key, body: { name: SPOOF } }),
      await t.call('POST', '/v1/distributors', { token: key, body: { external_id: `x${SPOOF}`, name: 'ok' } }),
      await t.call('POST', `/v1/distributors/${d.id}/suspend`, { token: key, body: { reason: `fraud ${SPOOF}` } }),
      await t.call('POST', '/v1/portal/apply', {
        body: { tenant_id: tenantId, name: SPOOF, phone: '13911112222', password: 'bidi-password-1', consent: true },
      }),
      await t.call('POST', '/v1/tenants', { token: ROOT_TOKEN, body: { name: `Shop${SPOOF}` } }),
      await t.call('POST', '/v1/admin-users', {
        token: key,
        body: { email: 'bidi@example.com', password: 'bidi-password-0123', role: 'auditor', name: SPOOF },
      }),
    ];
    for (const res of refused) expect(res.statusCode, res.body).toBe(400);
    expect((await t.call('GET', `/v1/distributors/${d.id}`, { token: key })).data).toMatchObject({ name: '张三 محمد', status: 'active' });
  });
});

describe('names stored before the rule', () => {
  it('lose their bidirectional controls in a migration', async () => {
    const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'bidi-old', name: 'Old' } })).data;
    await t.database.db
      .updateTable('distributors')
      .set({ name: `Zhang\u202eSan\u2067 ${SPOOF}` })
      .where('id', '=', d.id)
      .execute();
    await stripBidiControls(t.database.db);
    expect((await t.call('GET', `/v1/distributors/${d.id}`, { token: key })).data.name).toBe('ZhangSan invoicefdp.exe');
  });
});

describe('uploaded file names', () => {
  it('lose their bidirectional controls and end with the extension of what the file is', async () => {
    const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'bidi-doc', name: 'Doc' } })).data;
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');
    const m = multipartBody({ kind: 'licence' }, { field: 'file', filename: SPOOF, contentType: 'application/pdf', data: pdf });
    const res = await t.app.inject({
      method: 'POST',
      url: `/v1/distributors/${d.id}/documents`,
      headers: { authorization: `Bearer ${key}`, 'content-type': m.contentType },
      payload: m.payload,
    });
    expect(res.statusCode, res.body).toBe(201);
    const doc = JSON.parse(res.body) as { id: string; filename: string };
    expect(doc.filename).not.toMatch(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
    expect(doc.filename).toMatch(/\.pdf$/);
    const listed = (await t.call('GET', `/v1/distributors/${d.id}/documents`, { token: key })).data.items[0];
    expect(listed.filename).toBe(doc.filename);
    const got = await t.app.inject({ method: 'GET', url: `/v1/documents/${doc.id}/content`, headers: { authorization: `Bearer ${key}` } });
    expect(decodeURIComponent(String(got.headers['content-disposition']))).not.toContain('\u202e');
  });
});

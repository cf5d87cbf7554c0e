import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { multipartBody, TINY_PNG } from '../security/openapi.ts';
import { portalSession } from '../security/world.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');

/** A tenant with the agent program on, a portal signing secret, and distributors with portal sessions. */
async function setup() {
  const { key, id: tenantId } = await t.tenant();
  const call = (method: string, url: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    t.call(method, url, { token: key, ...opts });
  expect((await call('PUT', '/v1/agent-program', { body: { enabled: true, territory_bp: { district: 300 } } })).statusCode).toBe(200);
  const secret = (await call('POST', '/v1/portal/signing-secret')).data.secret as string;
  let n = 0;
  const distributor = async () => {
    n += 1;
    const r = await call('POST', '/v1/distributors', { body: { external_id: `app-${n}`, name: `D${n}` } });
    expect(r.statusCode, r.body).toBe(201);
    const d = r.data as { id: string; external_id: string };
    return { ...d, session: await portalSession(t, tenantId, secret, d.external_id) };
  };
  const upload = async (d: { id: string; session: string }, kind: string, data: Buffer, filename: string, contentType: string) => {
    const up = multipartBody({ kind }, { field: 'file', filename, contentType, data });
    const res = await t.app.inject({
      method: 'POST',
      url: `/v1/distributors/${d.id}/documents`,
      headers: { authorization: `Bearer ${d.session}`, 'content-type': up.contentType },
      payload: up.payload,
    });
    expect(res.statusCode, res.body).toBe(201);
    return (JSON.parse(res.body) as { id: string }).id;
  };
  const apply = (d: { session: string }, body: unknown, headers?: Record<string, string>) =>
    t.call('POST', '/v1/agent-applications', { token: d.session, body, ...(headers ? { headers } : {}) });
  return { key, tenantId, call, distributor, upload, apply };
}

describe('agent applications', () => {
  it('a distributor applies with documents; the merchant sees it open first, reads the documents and approves: the agent is active and the territory taken', async () => {
    const s = await setup();
    const d = await s.distributor();
    const licence = await s.upload(d, 'business_licence', PDF, 'licence.pdf', 'application/pdf');
    const idPhoto = await s.upload(d, 'id_card', TINY_PNG, 'id.png', 'image/png');
    const res = await s.apply(
      d,
      { rank: 'district', region_code: '110105', note: '朝阳区茶叶经销十年', document_ids: [licence, idPhoto] },
      { 'idempotency-key': 'apply-1' },
    );
    expect(res.statusCode, res.body).toBe(201);
    const app = res.data;
    expect(app).toMatchObject({
      id: expect.stringMatching(/^aap_/),
      distributor_id: d.id,
      rank: 'district',
      region_code: '110105',
      region_name: '朝阳区',
      region_full_name: '北京市朝阳区',
      note: '朝阳区茶叶经销十年',
      status: 'pending',
      reason: null,
      agent_id: null,
    });
    expect(app.documents.map((x: { id: string; kind: string }) => [x.id, x.kind])).toEqual([
      [licence, 'business_licence'],
      [idPhoto, 'id_card'],
    ]);
    // The same key replays the first answer; nothing new is written.
    const replay = await s.apply(
      d,
      { rank: 'district', region_code: '110105', note: '朝阳区茶叶经销十年', document_ids: [licence, idPhoto] },
      { 'idempotency-key': 'apply-1' },
    );
    expect(replay.data.id).toBe(app.id);

    // A second open application is refused, whatever its territory.
    const again = await s.apply(d, { rank: 'district', region_code: '110108', document_ids: [] });
    expect(again.statusCode).toBe(409);
    expect(again.data.error.code).toBe('conflict');

    // The merchant's list: the open one first, before a decided one.
    const other = await s.distributor();
    const rejectedFirst = await s.apply(other, { rank: 'city', region_code: '440300', document_ids: [] });
    expect(rejectedFirst.statusCode, rejectedFirst.body).toBe(201);
    expect((await s.call('POST', `/v1/agent-applications/${rejectedFirst.data.id}/reject`, { body: { reason: '资料不全' } })).statusCode).toBe(200);
    const list = await s.call('GET', '/v1/agent-applications');
    expect(list.data.items.map((x: { id: string; status: string }) => [x.id, x.status])).toEqual([
      [app.id, 'pending'],
      [rejectedFirst.data.id, 'rejected'],
    ]);
    const page1 = await s.call('GET', '/v1/agent-applications?limit=1');
    expect(page1.data.items.map((x: { id: string }) => x.id)).toEqual([app.id]);
    const page2 = await s.call('GET', `/v1/agent-applications?limit=1&cursor=${encodeURIComponent(page1.data.next_cursor)}`);
    expect(page2.data.items.map((x: { id: string }) => x.id)).toEqual([rejectedFirst.data.id]);
    expect(page2.data.next_cursor).toBeNull();
    expect((await s.call('GET', '/v1/agent-applications?status=pending')).data.items).toHaveLength(1);

    // The documents, decrypted, for the merchant and for the applicant; each read audited.
    const doc = await t.app.inject({
      method: 'GET',
      url: `/v1/agent-applications/${app.id}/documents/${licence}`,
      headers: { authorization: `Bearer ${s.key}` },
    });
    expect(doc.statusCode).toBe(200);
    expect(doc.headers['content-type']).toBe('application/pdf');
    expect(doc.rawPayload.equals(PDF)).toBe(true);
    const own = await t.app.inject({
      method: 'GET',
      url: `/v1/agent-applications/${app.id}/documents/${idPhoto}`,
      headers: { authorization: `Bearer ${d.session}` },
    });
    expect(own.statusCode).toBe(200);
    expect(own.rawPayload.equals(TINY_PNG)).toBe(true);
    const reads = (await s.call('GET', '/v1/audit-log?action=document.read')).data.items as { after: { document_id: string } }[];
    expect(reads.map((r) => r.after.document_id).sort()).toEqual([idPhoto, licence].sort());

    const approved = await s.call('POST', `/v1/agent-applications/${app.id}/approve`);
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.data).toMatchObject({ status: 'approved', agent_id: expect.stringMatching(/^agt_/), reviewed_at: expect.any(String) });
    const agent = await s.call('GET', `/v1/agents/${approved.data.agent_id}`);
    expect(agent.data).toMatchObject({ distributor_id: d.id, rank: 'district', region_code: '110105', status: 'active' });
    const history = await s.call('GET', `/v1/agents/${approved.data.agent_id}/events`);
    expect(history.data.items.map((e: { type: string }) => e.type)).toEqual(['appointed']);
    // Approving twice does nothing more.
    const twice = await s.call('POST', `/v1/agent-applications/${app.id}/approve`);
    expect(twice.statusCode).toBe(409);
    expect((await s.call('GET', '/v1/agents?status=active')).data.items).toHaveLength(1);

    // The territory is taken, and the applicant is an agent now: both refused at once.
    const third = await s.distributor();
    const taken = await s.apply(third, { rank: 'district', region_code: '110105', document_ids: [] });
    expect(taken.statusCode).toBe(409);
    expect(taken.data.error.message).toContain('110105');
    const alreadyAgent = await s.apply(d, { rank: 'district', region_code: '110108', document_ids: [] });
    expect(alreadyAgent.statusCode).toBe(409);
    // The applicant sees the outcome.
    expect((await t.call('GET', `/v1/agent-applications/${app.id}`, { token: d.session })).data).toMatchObject({
      status: 'approved',
      agent_id: approved.data.agent_id,
    });
    const audit = (await s.call('GET', '/v1/audit-log?action=agent_application.approve')).data.items;
    expect(audit).toHaveLength(1);
  });

  it('the merchant rejects with a reason the applicant sees, who may then apply again', async () => {
    const s = await setup();
    const d = await s.distributor();
    const doc = await s.upload(d, 'id_card', TINY_PNG, 'id.png', 'image/png');
    const app = (await s.apply(d, { rank: 'city', region_code: '440300', document_ids: [doc] })).data;
    const rejected = await s.call('POST', `/v1/agent-applications/${app.id}/reject`, { body: { reason: '营业执照已过期' } });
    expect(rejected.statusCode, rejected.body).toBe(200);
    const seen = await t.call('GET', `/v1/agent-applications/${app.id}`, { token: d.session });
    expect(seen.data).toMatchObject({ status: 'rejected', reason: '营业执照已过期', agent_id: null });
    expect((await t.call('GET', '/v1/agent-applications', { token: d.session })).data.items.map((x: { id: string }) => x.id)).toEqual([app.id]);
    // A rejected application cannot be approved; nobody is appointed.
    expect((await s.call('POST', `/v1/agent-applications/${app.id}/approve`)).statusCode).toBe(409);
    expect((await s.call('GET', '/v1/agents')).data.items).toEqual([]);
    // A new application is allowed once the last is decided.
    expect((await s.apply(d, { rank: 'city', region_code: '440300', document_ids: [doc] })).statusCode).toBe(201);
  });

  it('another distributor or tenant neither sees nor fetches an application or its documents', async () => {
    const s = await setup();
    const d = await s.distributor();
    const x = await s.distributor();
    const doc = await s.upload(d, 'id_card', TINY_PNG, 'id.png', 'image/png');
    const xDoc = await s.upload(x, 'id_card', TINY_PNG, 'x.png', 'image/png');
    const app = (await s.apply(d, { rank: 'district', region_code: '110105', document_ids: [doc] })).data;
    expect((await t.call('GET', `/v1/agent-applications/${app.id}`, { token: x.session })).statusCode).toBe(404);
    expect((await t.call('GET', '/v1/agent-applications', { token: x.session })).data.items).toEqual([]);
    expect((await t.call('GET', `/v1/agent-applications?distributor_id=${d.id}`, { token: x.session })).data.items).toEqual([]);
    const fetched = await t.app.inject({
      method: 'GET',
      url: `/v1/agent-applications/${app.id}/documents/${doc}`,
      headers: { authorization: `Bearer ${x.session}` },
    });
    expect(fetched.statusCode).toBe(404);
    // Nor does the applicant reach another's document through its own application.
    const through = await t.app.inject({
      method: 'GET',
      url: `/v1/agent-applications/${app.id}/documents/${xDoc}`,
      headers: { authorization: `Bearer ${d.session}` },
    });
    expect(through.statusCode).toBe(404);
    // Another's document cannot be attached to an application.
    const borrowed = await s.apply(x, { rank: 'district', region_code: '110108', document_ids: [doc] });
    expect(borrowed.statusCode).toBe(400);
    // A distributor does not review.
    expect((await t.call('POST', `/v1/agent-applications/${app.id}/approve`, { token: d.session })).statusCode).toBe(403);
    expect((await t.call('POST', `/v1/agent-applications/${app.id}/reject`, { token: d.session, body: { reason: 'x' } })).statusCode).toBe(403);
    // Another tenant finds nothing.
    const other = await t.tenant();
    expect((await t.call('GET', `/v1/agent-applications/${app.id}`, { token: other.key })).statusCode).toBe(404);
    expect((await t.call('POST', `/v1/agent-applications/${app.id}/approve`, { token: other.key })).statusCode).toBe(404);
    expect((await t.call('GET', '/v1/agent-applications', { token: other.key })).data.items).toEqual([]);
    // A merchant key does not apply.
    expect((await s.call('POST', '/v1/agent-applications', { body: { rank: 'district', region_code: '110105', document_ids: [] } })).statusCode).toBe(403);
  });

  it('refuses bad input with 400 in the error shape and writes nothing', async () => {
    const s = await setup();
    const d = await s.distributor();
    for (const body of [
      { rank: 'district', region_code: '110100', document_ids: [] },
      { rank: 'city', region_code: '110105', document_ids: [] },
      { rank: 'district', region_code: '999999', document_ids: [] },
      { rank: 'district', region_code: '11010', document_ids: [] },
      { rank: 'county', region_code: '110105', document_ids: [] },
      { rank: 'district', region_code: '110105' },
      { rank: 'district', region_code: '110105', document_ids: ['doc_nope'] },
      { rank: 'district', region_code: '110105', document_ids: ['a', 'a'] },
      { rank: 'district', region_code: '110105', document_ids: [], note: 'x'.repeat(2001) },
      { rank: 'district', region_code: '110105', document_ids: [], extra: 1 },
    ]) {
      const res = await s.apply(d, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.data.error).toMatchObject({ code: 'invalid_request', message: expect.any(String) });
    }
    const badKey = await s.apply(d, { rank: 'district', region_code: '110105', document_ids: [] }, { 'idempotency-key': 'bad key' });
    expect(badKey.statusCode).toBe(400);
    expect((await s.call('GET', '/v1/agent-applications')).data.items).toEqual([]);
    expect((await s.call('POST', '/v1/agent-applications/aap_nope/reject', { body: { reason: '' } })).statusCode).toBe(400);
    expect((await s.call('POST', '/v1/agent-applications/aap_nope/reject', { body: { reason: 'no' } })).statusCode).toBe(404);
    expect((await s.call('GET', '/v1/agent-applications?status=open')).statusCode).toBe(400);
    expect((await s.call('GET', '/v1/agent-applications?cursor=garbage')).statusCode).toBe(400);
    const zh = await t.call('POST', '/v1/agent-applications', {
      token: d.session,
      body: { rank: 'district', region_code: '110100', document_ids: [] },
      headers: { 'accept-language': 'zh-CN' },
    });
    expect(zh.data.error.message).toMatch(/\p{Script=Han}/u);
  });
});

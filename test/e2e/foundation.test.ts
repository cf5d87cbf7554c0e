import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_TOKEN, startTestServer, type TestServer } from '../support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const ERROR_SHAPE = { error: { code: expect.any(String), message: expect.any(String) } };

describe('running', () => {
  it('answers /health with {"status":"ok"}', async () => {
    const res = await t.call('GET', '/health');
    expect(res.statusCode).toBe(200);
    expect(res.data).toEqual({ status: 'ok' });
  });

  it('serves the OpenAPI document and a browsable reference', async () => {
    const res = await t.call('GET', '/openapi.json');
    expect(res.statusCode).toBe(200);
    expect(res.data.openapi).toMatch(/^3\./);
    for (const p of [
      '/v1/tenants',
      '/v1/program',
      '/v1/grades/{code}',
      '/v1/distributors',
      '/v1/distributors/{id}',
      '/v1/distributors/{id}/approve',
      '/v1/bindings',
    ]) {
      expect(Object.keys(res.data.paths)).toContain(p);
    }
    const docs = await t.call('GET', '/docs/');
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
  });

  it("puts a request id on every response, and keeps a caller's own", async () => {
    const a = await t.call('GET', '/health');
    expect(a.headers['x-request-id']).toMatch(/^req_/);
    const b = await t.call('GET', '/health', { headers: { 'x-request-id': 'merchant-trace-42' } });
    expect(b.headers['x-request-id']).toBe('merchant-trace-42');
    expect(t.logLines.some((l) => l.includes('"request_id":"merchant-trace-42"'))).toBe(true);
  });
});

describe('tenants', () => {
  it('creates a tenant with the root token and answers its API key', async () => {
    const res = await t.call('POST', '/v1/tenants', { token: ROOT_TOKEN, body: { name: 'Acme 商城' } });
    expect(res.statusCode).toBe(201);
    expect(res.data).toEqual({
      id: expect.stringMatching(/^tnt_/),
      name: 'Acme 商城',
      slug: expect.stringMatching(/^(acme|shop-[a-z0-9]{6})$/),
      api_key: expect.stringMatching(/^fxk_/),
    });
    const me = await t.call('GET', '/v1/tenant', { token: res.data.api_key });
    expect(me.statusCode).toBe(200);
    expect(me.data.id).toBe(res.data.id);
  });

  it('refuses tenant creation without the root token (401)', async () => {
    const none = await t.call('POST', '/v1/tenants', { body: { name: 'x' } });
    expect(none.statusCode).toBe(401);
    expect(none.data).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    const wrong = await t.call('POST', '/v1/tenants', { token: 'not-the-root-token-at-all', body: { name: 'x' } });
    expect(wrong.statusCode).toBe(401);
    const { key } = await t.tenant();
    const tenantKey = await t.call('POST', '/v1/tenants', { token: key, body: { name: 'x' } });
    expect(tenantKey.statusCode).toBe(401);
  });

  it('answers 401 to a missing or wrong key on tenant routes', async () => {
    expect((await t.call('GET', '/v1/program')).statusCode).toBe(401);
    expect((await t.call('GET', '/v1/program', { token: 'fxk_01ARZ3NDEKTSV4RRFFQ69G5FAVxxxxxxxxxxxxxxxxxxxxxxxx' })).statusCode).toBe(401);
    expect((await t.call('GET', '/v1/program', { token: 'garbage' })).statusCode).toBe(401);
    const { key } = await t.tenant();
    expect((await t.call('GET', '/v1/program', { token: key.slice(0, -2) + 'zz' })).statusCode).toBe(401);
  });

  it('stores keys only as hashes; rotation and revocation stop the old key', async () => {
    const tenant = await t.tenant();
    const rows = await t.database.db.selectFrom('api_keys').selectAll().where('tenant_id', '=', tenant.id).execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(tenant.key.slice(30));
    const keyId = rows[0]!.id;
    const rotated = await t.call('POST', `/v1/api-keys/${keyId}/rotate`, { token: tenant.key });
    expect(rotated.statusCode).toBe(201);
    expect((await t.call('GET', '/v1/program', { token: tenant.key })).statusCode).toBe(401);
    const newKey = rotated.data.api_key as string;
    expect((await t.call('GET', '/v1/program', { token: newKey })).statusCode).toBe(200);
    const second = await t.call('POST', '/v1/api-keys', { token: newKey, body: { name: 'erp' } });
    expect(second.statusCode).toBe(201);
    const revoke = await t.call('POST', `/v1/api-keys/${second.data.id}/revoke`, { token: newKey });
    expect(revoke.statusCode).toBe(200);
    expect(revoke.data.revoked_at).not.toBeNull();
    expect((await t.call('GET', '/v1/program', { token: second.data.api_key })).statusCode).toBe(401);
    const audit = await t.call('GET', '/v1/audit-log?target_type=api_key', { token: newKey });
    expect(audit.data.items.map((e: { action: string }) => e.action)).toEqual(['api_key.revoke', 'api_key.create', 'api_key.rotate']);
    // When each key was last used, to the minute; a key never used says null.
    const keys = (await t.call('GET', '/v1/api-keys', { token: newKey })).data.items as { id: string; last_used_at: string | null }[];
    expect(keys.find((k) => k.id === rotated.data.id)!.last_used_at).toBe(t.clock.now().toISOString());
    expect(keys.find((k) => k.id === second.data.id)!.last_used_at).toBeNull();
  });
});

describe('program and grades', () => {
  it("starts with the contract's defaults", async () => {
    const { key } = await t.tenant();
    const res = await t.call('GET', '/v1/program', { token: key });
    expect(res.statusCode).toBe(200);
    expect(res.data).toMatchObject({
      levels: 2,
      self_purchase: false,
      freeze_days: 7,
      review_threshold_fen: 1000000,
      admission: 'open',
      withdrawal: { min_fen: 100, fee_bp: 0, auto_approve_max_fen: 0 },
    });
    const grades = await t.call('GET', '/v1/grades', { token: key });
    expect(grades.data.items).toEqual([{ code: 'default', name: 'default', rank: 0, sales_bp: 0, override_bp: [0, 0, 0] }]);
  });

  it('merges a partial update field by field and answers the whole program', async () => {
    const { key } = await t.tenant();
    const res = await t.call('PUT', '/v1/program', { token: key, body: { levels: 3, withdrawal: { fee_bp: 60 } } });
    expect(res.statusCode).toBe(200);
    expect(res.data.levels).toBe(3);
    expect(res.data.withdrawal).toMatchObject({ min_fen: 100, fee_bp: 60, auto_approve_max_fen: 0 });
    expect(res.data.freeze_days).toBe(7);
    const again = await t.call('GET', '/v1/program', { token: key });
    expect(again.data).toEqual(res.data);
  });

  it('refuses more than three levels as compliance_violation and changes nothing', async () => {
    const { key } = await t.tenant();
    const res = await t.call('PUT', '/v1/program', { token: key, body: { levels: 4, freeze_days: 1 } });
    expect(res.statusCode).toBe(422);
    expect(res.data.error.code).toBe('compliance_violation');
    const after = await t.call('GET', '/v1/program', { token: key });
    expect(after.data.levels).toBe(2);
    expect(after.data.freeze_days).toBe(7);
  });

  it('refuses bad program input with 400 and changes nothing', async () => {
    const { key } = await t.tenant();
    for (const body of [
      { levels: '2' },
      { levels: 1.5 },
      { levels: -1 },
      { self_purchase: 'yes' },
      { freeze_days: null },
      { admission: 'closed' },
      { withdrawal: { fee_bp: 10001 } },
      { withdrawal: { unknown: 1 } },
      { colour: 'red' },
      { review_threshold_fen: -5 },
      { withdrawal: { min_fen: 1e15 } },
    ]) {
      const res = await t.call('PUT', '/v1/program', { token: key, body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.data).toEqual(ERROR_SHAPE);
      expect(res.data.error.code).toBe('invalid_request');
    }
    const after = await t.call('GET', '/v1/program', { token: key });
    expect(after.data.levels).toBe(2);
    expect(after.data.withdrawal.fee_bp).toBe(0);
  });

  it('puts grades; new distributors get the lowest rank', async () => {
    const { key } = await t.tenant();
    const senior = await t.call('PUT', '/v1/grades/senior', { token: key, body: { name: '高级', rank: 10, sales_bp: 500, override_bp: [1000, 500] } });
    expect(senior.statusCode).toBe(200);
    expect(senior.data).toEqual({ code: 'senior', name: '高级', rank: 10, sales_bp: 500, override_bp: [1000, 500] });
    expect((await t.call('GET', '/v1/grades/senior', { token: key })).data).toEqual(senior.data);
    const tooMany = await t.call('PUT', '/v1/grades/gold', { token: key, body: { name: 'gold', rank: 20, sales_bp: 0, override_bp: [1, 2, 3, 4] } });
    expect(tooMany.statusCode).toBe(400);
    const d = await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'u1', name: 'A' } });
    expect(d.data.grade).toBe('default');
    await t.call('PUT', '/v1/grades/starter', { token: key, body: { name: '普通', rank: -0, sales_bp: 0, override_bp: [] } });
    await t.call('PUT', '/v1/grades/default', { token: key, body: { name: 'default', rank: 5, sales_bp: 0, override_bp: [0, 0, 0] } });
    const e = await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'u2', name: 'B' } });
    expect(e.data.grade).toBe('starter');
  });
});

describe('distributors', () => {
  it('creates an active distributor under open admission, with an invite code', async () => {
    const { key } = await t.tenant();
    const res = await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'user-1', name: '张三', phone: '13800138000' } });
    expect(res.statusCode).toBe(201);
    expect(res.data).toMatchObject({
      id: expect.stringMatching(/^dst_/),
      external_id: 'user-1',
      name: '张三',
      status: 'active',
      referrer_id: null,
      grade: 'default',
      invite_code: expect.stringMatching(/^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$/),
      phone: '138****8000',
    });
    const got = await t.call('GET', `/v1/distributors/${res.data.id}`, { token: key });
    expect(got.statusCode).toBe(200);
    expect(got.data).toEqual(res.data);
    const row = await t.database.db.selectFrom('distributors').select(['phone_enc', 'phone_bidx']).where('id', '=', res.data.id).executeTakeFirstOrThrow();
    expect(row.phone_enc).not.toContain('13800138000');
    expect(row.phone_enc).toMatch(/^v1\./);
  });

  it('answers 409 to the same external_id again', async () => {
    const { key } = await t.tenant();
    expect((await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'dup', name: 'A' } })).statusCode).toBe(201);
    const again = await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'dup', name: 'B' } });
    expect(again.statusCode).toBe(409);
    expect(again.data.error.code).toBe('conflict');
  });

  it('answers 400 to an unknown referrer_code, and stores nothing', async () => {
    const { key } = await t.tenant();
    const res = await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'x1', name: 'A', referrer_code: 'ZZZZZZZZ' } });
    expect(res.statusCode).toBe(400);
    expect(res.data.error.code).toBe('invalid_request');
    const list = await t.call('GET', '/v1/distributors', { token: key });
    expect(list.data.items).toEqual([]);
  });

  it('builds the chain A ← B ← C from referrer codes, case-insensitively', async () => {
    const { key } = await t.tenant();
    const a = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'A', name: 'A' } })).data;
    const b = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'B', name: 'B', referrer_code: a.invite_code.toLowerCase() } }))
      .data;
    const c = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'C', name: 'C', referrer_code: b.invite_code } })).data;
    expect(b.referrer_id).toBe(a.id);
    expect(c.referrer_id).toBe(b.id);
    const up = await t.call('GET', `/v1/distributors/${c.id}/upline`, { token: key });
    expect(up.data.items.map((x: { id: string; level: number }) => [x.level, x.id])).toEqual([
      [1, b.id],
      [2, a.id],
    ]);
    const down2 = await t.call('GET', `/v1/distributors/${a.id}/downline?level=2`, { token: key });
    expect(down2.data.items.map((x: { id: string }) => x.id)).toEqual([c.id]);
    const team = await t.call('GET', `/v1/distributors/${a.id}/team`, { token: key });
    expect(team.data).toEqual({ direct: 1, level2: 1, level3: 0, total: 2 });
    // A distributor created with a referrer is bound, as a customer, to that referrer.
    const cust = await t.call('GET', '/v1/customers/C', { token: key });
    expect(cust.data.distributor_id).toBe(b.id);
    expect(cust.data.history[0]).toMatchObject({ kind: 'bind', to_distributor_id: b.id, source: 'registration' });
  });

  it('review admission: pending until approved', async () => {
    const { key } = await t.tenant();
    await t.call('PUT', '/v1/program', { token: key, body: { admission: 'review' } });
    const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'p1', name: 'P' } })).data;
    expect(d.status).toBe('pending');
    const ok = await t.call('POST', `/v1/distributors/${d.id}/approve`, { token: key });
    expect(ok.statusCode).toBe(200);
    expect(ok.data.status).toBe('active');
    expect((await t.call('GET', `/v1/distributors/${d.id}`, { token: key })).data.status).toBe('active');
    const audit = await t.call('GET', `/v1/audit-log?target_id=${d.id}`, { token: key });
    expect(audit.data.items[0]).toMatchObject({ action: 'distributor.approve', before: { status: 'pending' }, after: { status: 'active' } });
  });

  it('rejects with a reason, suspends and reactivates', async () => {
    const { key } = await t.tenant();
    await t.call('PUT', '/v1/program', { token: key, body: { admission: 'review' } });
    const p = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'r1', name: 'R' } })).data;
    expect((await t.call('POST', `/v1/distributors/${p.id}/reject`, { token: key, body: {} })).statusCode).toBe(400);
    const rej = await t.call('POST', `/v1/distributors/${p.id}/reject`, { token: key, body: { reason: 'licence unreadable' } });
    expect(rej.data).toMatchObject({ status: 'rejected', status_reason: 'licence unreadable' });
    expect((await t.call('POST', `/v1/distributors/${p.id}/approve`, { token: key })).statusCode).toBe(409);
    await t.call('PUT', '/v1/program', { token: key, body: { admission: 'open' } });
    const a = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'r2', name: 'S' } })).data;
    expect((await t.call('POST', `/v1/distributors/${a.id}/suspend`, { token: key, body: { reason: 'fraud check' } })).data.status).toBe('suspended');
    expect((await t.call('POST', `/v1/distributors/${a.id}/reactivate`, { token: key, body: {} })).data.status).toBe('active');
  });

  it('enforces admission conditions at approval', async () => {
    const { key } = await t.tenant();
    await t.call('PUT', '/v1/program', { token: key, body: { admission: 'review', admission_conditions: { deposit_fen: 50000, training_required: true } } });
    const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'c1', name: 'C' } })).data;
    const refused = await t.call('POST', `/v1/distributors/${d.id}/approve`, { token: key });
    expect(refused.statusCode).toBe(422);
    expect(refused.data.error.code).toBe('admission_conditions_unmet');
    expect(refused.data.error.message).toContain('deposit');
    expect(refused.data.error.message).toContain('training');
    await t.call('POST', `/v1/distributors/${d.id}/conditions`, { token: key, body: { deposit_paid_fen: 50000 } });
    expect((await t.call('POST', `/v1/distributors/${d.id}/approve`, { token: key })).statusCode).toBe(422);
    const cond = await t.call('POST', `/v1/distributors/${d.id}/conditions`, { token: key, body: { training_completed: true } });
    expect(cond.data).toMatchObject({ met: true, unmet: [] });
    expect((await t.call('POST', `/v1/distributors/${d.id}/approve`, { token: key })).data.status).toBe('active');
    // A deposit is refunded on exit: not while the distributor is active.
    expect((await t.call('POST', `/v1/distributors/${d.id}/deposit/refund`, { token: key, body: { reason: 'left the program' } })).statusCode).toBe(409);
    await t.call('POST', `/v1/distributors/${d.id}/suspend`, { token: key, body: { reason: 'left the program' } });
    // Paid back through the payout path (here by hand: the test server has no online channel); the merchant's key asks and approves.
    const refund = await t.call('POST', `/v1/distributors/${d.id}/deposit/refund`, { token: key, body: { reason: 'left the program', channel: 'manual' } });
    expect(refund.data).toMatchObject({ amount_fen: 50000, status: 'pending_review' });
    expect((await t.call('POST', `/v1/deposit-refunds/${refund.data.id}/approve`, { token: key })).data).toMatchObject({ payout: { state: 'submitted' } });
    const paid = await t.call('POST', `/v1/deposit-refunds/${refund.data.id}/complete`, { token: key, body: { reference: 'RET-1' } });
    expect(paid.data).toMatchObject({ status: 'paid', payout: { state: 'succeeded' } });
    expect((await t.call('GET', `/v1/distributors/${d.id}/conditions`, { token: key })).data).toMatchObject({
      deposit_paid_fen: 50000,
      deposit_refunded_fen: 50000,
    });
  });

  it('accepts applications with profile and consent, and requires consent', async () => {
    const { key } = await t.tenant();
    await t.call('PUT', '/v1/program', { token: key, body: { admission: 'review' } });
    const noConsent = await t.call('POST', '/v1/applications', { token: key, body: { external_id: 'ap1', name: 'A', phone: '13900001111' } });
    expect(noConsent.statusCode).toBe(400);
    const ok = await t.call('POST', '/v1/applications', {
      token: key,
      body: {
        external_id: 'ap1',
        name: 'A',
        phone: '13900001111',
        consent: true,
        profile: { real_name: '李四', licence_no: '91310000MA1FL0XX1X' },
        region_code: '310101',
      },
    });
    expect(ok.statusCode).toBe(201);
    expect(ok.data).toMatchObject({ status: 'pending', source: 'application', region_code: '310101' });
  });

  it('stores uploaded documents in the local folder and serves them back', async () => {
    const { key } = await t.tenant();
    const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'doc1', name: 'D' } })).data;
    const png = Buffer.from(
      '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a1d3b7a30000000049454e44ae426082',
      'hex',
    );
    const boundary = '----fenxiao';
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nlicence\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="licence.png"\r\nContent-Type: image/png\r\n\r\n`,
      ),
      png,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const up = await t.app.inject({
      method: 'POST',
      url: `/v1/distributors/${d.id}/documents`,
      headers: { authorization: `Bearer ${key}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: body,
    });
    expect(up.statusCode).toBe(201);
    const doc = JSON.parse(up.body);
    expect(doc).toMatchObject({ kind: 'licence', filename: 'licence.png', content_type: 'image/png', size_bytes: png.length });
    const got = await t.app.inject({ method: 'GET', url: `/v1/documents/${doc.id}/content`, headers: { authorization: `Bearer ${key}` } });
    expect(got.statusCode).toBe(200);
    expect(Buffer.compare(got.rawPayload, png)).toBe(0);
    // Each read of a document is in the audit log.
    const reads = (await t.call('GET', `/v1/audit-log?action=document.read&target_id=${d.id}`, { token: key })).data.items;
    expect(reads).toHaveLength(1);
    expect(reads[0].after).toMatchObject({ document_id: doc.id, kind: 'licence' });
    const other = await t.tenant();
    expect((await t.app.inject({ method: 'GET', url: `/v1/documents/${doc.id}/content`, headers: { authorization: `Bearer ${other.key}` } })).statusCode).toBe(
      404,
    );
  });
});

describe('bindings', () => {
  async function chain(key: string) {
    const a = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'A', name: 'A' } })).data;
    const b = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'B', name: 'B', referrer_code: a.invite_code } })).data;
    const c = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'C', name: 'C', referrer_code: b.invite_code } })).data;
    return { a, b, c };
  }

  it('binds a customer once; a second binding is 409', async () => {
    const { key } = await t.tenant();
    const { a, b } = await chain(key);
    const res = await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'buyer-1', invite_code: a.invite_code } });
    expect(res.statusCode).toBe(201);
    expect(res.data).toMatchObject({ customer_external_id: 'buyer-1', distributor_id: a.id });
    const again = await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'buyer-1', invite_code: b.invite_code } });
    expect(again.statusCode).toBe(409);
    expect(again.data.error.code).toBe('conflict');
    expect((await t.call('GET', '/v1/customers/buyer-1', { token: key })).data.distributor_id).toBe(a.id);
  });

  it("refuses self-binding and binding into one's own downline (compliance_violation)", async () => {
    const { key } = await t.tenant();
    const { a, c } = await chain(key);
    const self = await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'A', invite_code: a.invite_code } });
    expect(self.statusCode).toBe(422);
    expect(self.data.error.code).toBe('compliance_violation');
    const cycle = await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'A', invite_code: c.invite_code } });
    expect(cycle.statusCode).toBe(422);
    expect(cycle.data.error.code).toBe('compliance_violation');
    expect((await t.call('GET', `/v1/distributors/${a.id}`, { token: key })).data.referrer_id).toBeNull();
  });

  it('attaches a root distributor and its whole team under a new referrer', async () => {
    const { key } = await t.tenant();
    const { a, b, c } = await chain(key);
    const top = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'TOP', name: 'Top' } })).data;
    const res = await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'A', invite_code: top.invite_code } });
    expect(res.statusCode).toBe(201);
    const up = await t.call('GET', `/v1/distributors/${c.id}/upline`, { token: key });
    expect(up.data.items.map((x: { id: string }) => x.id)).toEqual([b.id, a.id, top.id]);
    expect((await t.call('GET', `/v1/distributors/${top.id}/team`, { token: key })).data).toEqual({ direct: 1, level2: 1, level3: 1, total: 3 });
    // Now A has a referrer: binding it elsewhere is a conflict, and TOP under C would be a cycle.
    expect((await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'TOP', invite_code: c.invite_code } })).statusCode).toBe(422);
  });

  it('rebindable mode lets a customer be bound anew after N idle days', async () => {
    const { key } = await t.tenant();
    const { a, b } = await chain(key);
    await t.call('PUT', '/v1/program', { token: key, body: { binding: { mode: 'rebindable', rebind_after_days: 30 } } });
    expect((await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'cx', invite_code: a.invite_code } })).statusCode).toBe(201);
    expect((await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'cx', invite_code: b.invite_code } })).statusCode).toBe(409);
    (t.clock as import('../../src/core/context.ts').ManualClock).advance(31 * 86400_000);
    const re = await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'cx', invite_code: b.invite_code } });
    expect(re.statusCode).toBe(201);
    expect(re.data.distributor_id).toBe(b.id);
    const hist = (await t.call('GET', '/v1/customers/cx', { token: key })).data.history;
    expect(hist.map((h: { kind: string }) => h.kind)).toEqual(['bind', 'rebind']);
  });

  it('bind-at-first-order mode records a tentative claim', async () => {
    const { key } = await t.tenant();
    const { a } = await chain(key);
    await t.call('PUT', '/v1/program', { token: key, body: { binding: { bind_on: 'first_order' } } });
    const res = await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'fo', invite_code: a.invite_code } });
    expect(res.statusCode).toBe(201);
    expect(res.data).toMatchObject({ status: 'tentative', distributor_id: a.id, bound_at: null });
    const cust = (await t.call('GET', '/v1/customers/fo', { token: key })).data;
    expect(cust).toMatchObject({ distributor_id: null, tentative_distributor_id: a.id });
  });

  it('moves a relation only by an admin action with a reason, audited', async () => {
    const { key } = await t.tenant();
    const { a, b, c } = await chain(key);
    const noReason = await t.call('POST', `/v1/distributors/${c.id}/move`, { token: key, body: { referrer_id: a.id } });
    expect(noReason.statusCode).toBe(400);
    const cycle = await t.call('POST', `/v1/distributors/${a.id}/move`, { token: key, body: { referrer_id: c.id, reason: 'x' } });
    expect(cycle.statusCode).toBe(422);
    const moved = await t.call('POST', `/v1/distributors/${c.id}/move`, { token: key, body: { referrer_id: a.id, reason: 'B left; team moves to A' } });
    expect(moved.statusCode).toBe(200);
    expect(moved.data.referrer_id).toBe(a.id);
    expect((await t.call('GET', `/v1/distributors/${b.id}/team`, { token: key })).data.total).toBe(0);
    const audit = (await t.call('GET', `/v1/audit-log?target_id=${c.id}`, { token: key })).data.items[0];
    expect(audit).toMatchObject({ action: 'distributor.move', reason: 'B left; team moves to A', before: { referrer_id: b.id }, after: { referrer_id: a.id } });
    const hist = (await t.call('GET', '/v1/customers/C', { token: key })).data.history;
    expect(hist.at(-1)).toMatchObject({ kind: 'move', from_distributor_id: b.id, to_distributor_id: a.id, reason: 'B left; team moves to A' });
  });
});

describe('invite links and QR codes', () => {
  it('records a visit and redirects to the landing page carrying the code', async () => {
    const { key } = await t.tenant();
    // The landing page's domain is the merchant's, proven by a DNS TXT record (security.md).
    const domain = (await t.call('POST', '/v1/landing-domains', { token: key, body: { domain: 'shop.example.com' } })).data;
    t.dns.set(domain.verification.name, [[domain.verification.value]]);
    expect((await t.call('POST', `/v1/landing-domains/${domain.id}/verify`, { token: key })).statusCode).toBe(200);
    expect((await t.call('PUT', '/v1/program', { token: key, body: { landing_url: 'https://shop.example.com/welcome?src=fx' } })).statusCode).toBe(200);
    const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'v1', name: 'V' } })).data;
    expect(d.invite_url).toBe(`http://fenxiao.test/i/${d.invite_code}`);
    const res = await t.call('GET', `/i/${d.invite_code.toLowerCase()}`, {
      headers: { 'user-agent': 'Mozilla/5.0 test', referer: 'https://weixin.qq.com/moments' },
    });
    expect(res.statusCode).toBe(302);
    const location = new URL(res.headers.location as string);
    expect(location.origin + location.pathname).toBe('https://shop.example.com/welcome');
    expect(location.searchParams.get('src')).toBe('fx');
    expect(location.searchParams.get('invite_code')).toBe(d.invite_code);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/fx_vid=[A-Za-z0-9_-]+/);
    const vid = /fx_vid=([A-Za-z0-9_-]+)/.exec(cookie)![1];
    await t.call('GET', `/i/${d.invite_code}`, { headers: { cookie: `fx_vid=${vid}` } });
    const visits = await t.database.db.selectFrom('visits').selectAll().where('distributor_id', '=', d.id).orderBy('id').execute();
    expect(visits).toHaveLength(2);
    expect(visits[0]).toMatchObject({ visitor_id: vid, user_agent: 'Mozilla/5.0 test', referer: 'https://weixin.qq.com/moments' });
    expect(visits[1]!.visitor_id).toBe(vid);
    const profile = await t.call('GET', `/v1/distributors/${d.id}/profile`, { token: key });
    expect(profile.data.visits).toEqual({ visits: 2, unique_visitors: 1 });
    expect((await t.call('GET', '/i/NOSUCHCD')).statusCode).toBe(404);
  });

  it('draws the invite link as a PNG and an SVG QR code', async () => {
    const { key } = await t.tenant();
    const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'q1', name: 'Q' } })).data;
    const png = await t.app.inject({ method: 'GET', url: `/v1/distributors/${d.id}/qrcode?format=png&size=256`, headers: { authorization: `Bearer ${key}` } });
    expect(png.statusCode).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.rawPayload.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    const svg = await t.app.inject({ method: 'GET', url: `/v1/distributors/${d.id}/qrcode?format=svg`, headers: { authorization: `Bearer ${key}` } });
    expect(svg.headers['content-type']).toContain('image/svg+xml');
    expect(svg.body).toContain('<svg');
  });
});

describe('bad input', () => {
  it('answers 400 invalid_request to wrong types, unknown fields, long strings and malformed JSON, storing nothing', async () => {
    const { id: tenantId, key } = await t.tenant();
    const bad: unknown[] = [
      { external_id: 123, name: 'A' },
      { external_id: 'a', name: 5 },
      { external_id: 'a' },
      { external_id: 'a', name: 'A', colour: 'red' },
      { external_id: 'x'.repeat(129), name: 'A' },
      { external_id: 'a', name: 'n'.repeat(129) },
      { external_id: '', name: 'A' },
      { external_id: 'a\u0000b', name: 'A' },
      { external_id: 'a', name: 'A', phone: 'call me' },
      { external_id: 'a', name: 'A', referrer_code: 'x'.repeat(33) },
      [],
      'text',
      null,
    ];
    for (const body of bad) {
      const res = await t.call('POST', '/v1/distributors', { token: key, body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.data.error.code).toBe('invalid_request');
    }
    for (const raw of ['{"external_id":"a",', '{external_id:"a"}', '']) {
      const res = await t.call('POST', '/v1/distributors', { token: key, rawBody: raw, headers: { 'content-type': 'application/json' } });
      expect(res.statusCode, raw).toBe(400);
      expect(res.data.error.code).toBe('invalid_request');
    }
    const bindBad = await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'c', invite_code: 'ABCDEFGH', extra: true } });
    expect(bindBad.statusCode).toBe(400);
    expect((await t.call('GET', '/v1/distributors', { token: key })).data.items).toEqual([]);
    // This tenant's customers only: other test files on the same database may have a customer 'c'.
    expect(await t.database.db.selectFrom('customers').selectAll().where('tenant_id', '=', tenantId).where('external_id', '=', 'c').execute()).toEqual([]);
  });

  it('stores hostile strings verbatim and returns them as given', async () => {
    const { key } = await t.tenant();
    const names = [`Robert'); DROP TABLE distributors;--`, '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', '🙂 王五 \' " \\ %_'];
    for (const [i, name] of names.entries()) {
      const res = await t.call('POST', '/v1/distributors', { token: key, body: { external_id: `h${i}' OR '1'='1`, name } });
      expect(res.statusCode).toBe(201);
      expect(res.data.name).toBe(name);
      const got = await t.call('GET', `/v1/distributors/${res.data.id}`, { token: key });
      expect(got.data.name).toBe(name);
      expect(got.data.external_id).toBe(`h${i}' OR '1'='1`);
    }
    const search = await t.call('GET', `/v1/distributors?q=${encodeURIComponent('%_')}`, { token: key });
    expect(search.data.items.map((d: { name: string }) => d.name)).toEqual([names[3]]);
  });

  it("answers 404 for another tenant's objects, as if they did not exist", async () => {
    const one = await t.tenant();
    const two = await t.tenant();
    const d = (await t.call('POST', '/v1/distributors', { token: one.key, body: { external_id: 'mine', name: 'M' } })).data;
    for (const [method, url, body] of [
      ['GET', `/v1/distributors/${d.id}`, undefined],
      ['POST', `/v1/distributors/${d.id}/approve`, undefined],
      ['POST', `/v1/distributors/${d.id}/suspend`, { reason: 'x' }],
      ['GET', `/v1/distributors/${d.id}/upline`, undefined],
      ['GET', `/v1/distributors/${d.id}/team`, undefined],
      ['GET', `/v1/distributors/${d.id}/qrcode`, undefined],
      ['PATCH', `/v1/distributors/${d.id}`, { name: 'stolen' }],
      ['GET', '/v1/customers/mine', undefined],
    ] as const) {
      const res = await t.call(method, url, { token: two.key, body });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.data.error.code).toBe('not_found');
    }
    // Another tenant's invite code does not exist either.
    const bind = await t.call('POST', '/v1/bindings', { token: two.key, body: { customer_external_id: 'x', invite_code: d.invite_code } });
    expect(bind.statusCode).toBe(400);
    const reg = await t.call('POST', '/v1/distributors', { token: two.key, body: { external_id: 'y', name: 'Y', referrer_code: d.invite_code } });
    expect(reg.statusCode).toBe(400);
    expect((await t.call('GET', `/v1/distributors/${d.id}`, { token: one.key })).data.name).toBe('M');
  });
});

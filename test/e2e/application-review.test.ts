import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/core/context.ts';
import { PHONE_CODE } from '../../src/modules/verification/service.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { applyInPortal, sentTexts } from '../support/portal.ts';

/**
 * Issue 17 item 5: one-time codes through the SMS simulator (sent, wrong, expired, rate limited
 * per phone) and the program's automatic review of applications (approved, referred with its
 * reasons, rejected), each decision stored, readable and audited.
 */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const clock = () => t.clock as ManualClock;
let phoneSeq = 0;
/** A fresh phone per case: the limits are per phone. */
const newPhone = () => `1390000${String(++phoneSeq).padStart(4, '0')}`;

/** The code the simulator holds for `phone`, read as an operator reads it: GET /v1/dev/sms. */
async function codeFor(key: string, phone: string): Promise<string> {
  const res = await t.call('GET', `/v1/dev/sms?phone=${phone}`, { token: key });
  expect(res.statusCode, res.body).toBe(200);
  const [last] = res.data.items as { code: string; to: string; template: string }[];
  expect(last?.to).toBe(phone);
  expect(last?.template).toBe('phone_verification_code');
  return last?.code ?? '';
}

async function sendCode(key: string, phone: string, headers: Record<string, string> = {}) {
  return t.call('POST', '/v1/phone-verifications', { token: key, body: { phone }, headers });
}

async function verifiedPhone(key: string): Promise<{ phone: string; id: string }> {
  const phone = newPhone();
  const sent = await sendCode(key, phone);
  expect(sent.statusCode, sent.body).toBe(201);
  const ok = await t.call('POST', `/v1/phone-verifications/${sent.data.id}/verify`, { token: key, body: { code: await codeFor(key, phone) } });
  expect(ok.statusCode, ok.body).toBe(200);
  return { phone, id: sent.data.id };
}

const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

describe('one-time codes through the SMS simulator', () => {
  it('sends a 6-digit code the simulator shows the operator, and verifies it once', async () => {
    const { key } = await t.tenant('Codes merchant');
    const phone = newPhone();
    const before = sentTexts(t).length;
    const sent = await sendCode(key, phone);
    expect(sent.statusCode, sent.body).toBe(201);
    expect(sent.data).toMatchObject({ status: 'code_sent', attempts_left: PHONE_CODE.maxAttempts, phone: `139****${phone.slice(-4)}` });
    expect(sentTexts(t).length).toBe(before + 1);
    const code = await codeFor(key, phone);
    expect(code).toMatch(/^[0-9]{6}$/);
    expect(JSON.stringify(sent.data)).not.toContain(code);
    // The code is stored hashed: nothing that answers shows it but the simulator.
    expect((await t.call('GET', `/v1/phone-verifications/${sent.data.id}`, { token: key })).data.status).toBe('code_sent');

    const ok = await t.call('POST', `/v1/phone-verifications/${sent.data.id}/verify`, { token: key, body: { code } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.data.status).toBe('verified');
    // A retry of the right code answers the same; another tenant cannot see the verification.
    expect((await t.call('POST', `/v1/phone-verifications/${sent.data.id}/verify`, { token: key, body: { code } })).data.status).toBe('verified');
    const other = await t.tenant('Another merchant');
    expect((await t.call('POST', `/v1/phone-verifications/${sent.data.id}/verify`, { token: other.key, body: { code } })).statusCode).toBe(404);
    expect((await t.call('GET', `/v1/dev/sms?phone=${phone}`, { token: other.key })).data.items).toEqual([]);
  });

  it('refuses a wrong code with the attempts left, and after the last attempt refuses even the right one', async () => {
    const { key } = await t.tenant('Wrong code merchant');
    const phone = newPhone();
    const sent = await sendCode(key, phone);
    const code = await codeFor(key, phone);
    for (let left = PHONE_CODE.maxAttempts - 1; left >= 0; left--) {
      const res = await t.call('POST', `/v1/phone-verifications/${sent.data.id}/verify`, { token: key, body: { code: wrong(code) } });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.data.error.code).toBe('invalid_request');
      expect(res.data.error.message).toBe(`wrong code (${left} attempts left)`);
    }
    const late = await t.call('POST', `/v1/phone-verifications/${sent.data.id}/verify`, { token: key, body: { code } });
    expect(late.statusCode, late.body).toBe(409);
    expect(late.data.error).toMatchObject({ code: 'invalid_state', message: 'too many wrong codes: send a new one' });
    // A malformed code is a 400 by the schema, and counts no attempt.
    expect((await t.call('POST', `/v1/phone-verifications/${sent.data.id}/verify`, { token: key, body: { code: '12ab56' } })).statusCode).toBe(400);
  });

  it('refuses an expired code (the service clock moved past its life)', async () => {
    const { key } = await t.tenant('Expiry merchant');
    const phone = newPhone();
    const sent = await sendCode(key, phone);
    const code = await codeFor(key, phone);
    clock().advance(PHONE_CODE.minutes * 60_000 - 1000);
    const inTime = await sendCode(key, newPhone());
    expect(inTime.statusCode).toBe(201);
    clock().advance(2000);
    const res = await t.call('POST', `/v1/phone-verifications/${sent.data.id}/verify`, { token: key, body: { code } });
    expect(res.statusCode, res.body).toBe(409);
    expect(res.data.error).toMatchObject({ code: 'invalid_state', message: 'the code has expired: send a new one' });
    expect((await t.call('GET', `/v1/phone-verifications/${sent.data.id}`, { token: key })).data.status).toBe('expired');
  });

  it('rate-limits codes per phone: one a minute, five an hour, with Retry-After; another phone is not held back', async () => {
    const { key } = await t.tenant('Rate limit merchant');
    const phone = newPhone();
    expect((await sendCode(key, phone)).statusCode).toBe(201);
    const soon = await sendCode(key, phone);
    expect(soon.statusCode, soon.body).toBe(429);
    expect(soon.data.error.code).toBe('rate_limited');
    expect(soon.data.error.message).toBe('too many codes sent to this phone; try again later');
    expect(Number(soon.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(soon.headers['retry-after'])).toBeLessThanOrEqual(60);
    for (let i = 1; i < PHONE_CODE.perPhoneHour.limit; i++) {
      clock().advance(61_000);
      expect((await sendCode(key, phone)).statusCode).toBe(201);
    }
    clock().advance(61_000);
    const sixth = await sendCode(key, phone);
    expect(sixth.statusCode, sixth.body).toBe(429);
    // The hour's window: the first code leaves it an hour after it was sent.
    expect(Number(sixth.headers['retry-after'])).toBeGreaterThan(60);
    const texts = sentTexts(t).filter((m) => m.to === phone).length;
    expect(texts).toBe(PHONE_CODE.perPhoneHour.limit);
    expect((await sendCode(key, newPhone())).statusCode).toBe(201);
    // An hour after the first, the phone may have a code again.
    clock().advance(3600_000);
    expect((await sendCode(key, phone)).statusCode).toBe(201);
  });

  it('answers a retried send under the same Idempotency-Key with the first verification, texting nothing', async () => {
    const { key } = await t.tenant('Idempotent merchant');
    const phone = newPhone();
    const first = await sendCode(key, phone, { 'idempotency-key': 'send-1' });
    expect(first.statusCode).toBe(201);
    const texts = sentTexts(t).length;
    const retry = await sendCode(key, phone, { 'idempotency-key': 'send-1' });
    expect(retry.statusCode, retry.body).toBe(200);
    expect(retry.data.id).toBe(first.data.id);
    expect(sentTexts(t).length).toBe(texts);
    expect((await sendCode(key, newPhone(), { 'idempotency-key': 'send-1' })).statusCode).toBe(409);
  });

  it('refuses bad input without sending anything', async () => {
    const { key } = await t.tenant('Bad input merchant');
    const texts = sentTexts(t).length;
    expect((await t.call('POST', '/v1/phone-verifications', { token: key, body: { phone: 'abc' } })).statusCode).toBe(400);
    expect((await t.call('POST', '/v1/phone-verifications', { token: key, body: { phone: newPhone(), extra: 1 } })).statusCode).toBe(400);
    expect(sentTexts(t).length).toBe(texts);
  });
});

describe('automatic review of applications', () => {
  async function reviewTenant(rules: Record<string, unknown>, extra: Record<string, unknown> = {}) {
    const tenant = await t.tenant('Review merchant');
    const res = await t.call('PUT', '/v1/program', {
      token: tenant.key,
      body: { admission: 'review', application_review: { enabled: true, ...rules }, ...extra },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.data.application_review).toMatchObject({ enabled: true, ...rules });
    return tenant;
  }

  let seq = 0;
  const apply = (key: string, body: Record<string, unknown>) =>
    t.call('POST', '/v1/applications', { token: key, body: { external_id: `applicant-${++seq}`, name: '申请人', consent: true, ...body } });

  it('approves an application that passes every configured check, explains it and audits it', async () => {
    const { key } = await reviewTenant({ phone_verified: true, uscc_for_companies: true, id_number: false, no_shared_identity: true, on_failure: 'refer' });
    const { phone, id } = await verifiedPhone(key);
    const res = await apply(key, { phone, phone_verification_id: id, profile: { company: '深圳市腾讯计算机系统有限公司', licence_no: '91440300708461136T' } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.data.status).toBe('active');
    expect(res.data.approved_at).not.toBeNull();
    const review = await t.call('GET', `/v1/distributors/${res.data.id}/review`, { token: key });
    expect(review.statusCode, review.body).toBe(200);
    expect(review.data.outcome).toBe('approved');
    expect(review.data.checks.map((c: { check: string; outcome: string }) => [c.check, c.outcome])).toEqual([
      ['phone_verified', 'passed'],
      ['uscc', 'passed'],
      ['shared_identity', 'passed'],
      ['admission_conditions', 'passed'],
    ]);
    const audit = await t.call('GET', `/v1/audit-log?action=distributor.auto_review&target_id=${res.data.id}`, { token: key });
    expect(audit.data.items).toHaveLength(1);
    expect(audit.data.items[0].after.outcome).toBe('approved');
    // A verification vouches for one application only.
    const again = await apply(key, { phone, phone_verification_id: id });
    expect(again.statusCode, again.body).toBe(409);
    expect(again.data.error.message).toContain('phone_verification_id is not a verified code of this phone');
  });

  it('sends an application to a person with the reasons: phone unverified, company code failing its check', async () => {
    const { key } = await reviewTenant({ phone_verified: true, uscc_for_companies: true, no_shared_identity: true, on_failure: 'refer' });
    const res = await apply(key, { phone: newPhone(), profile: { company: '某某贸易有限公司', licence_no: '91440300708461136A' } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.data.status).toBe('pending');
    const review = (await t.call('GET', `/v1/distributors/${res.data.id}/review`, { token: key })).data;
    expect(review.outcome).toBe('referred');
    const failed = review.checks.filter((c: { outcome: string }) => c.outcome === 'failed');
    expect(failed.map((c: { check: string }) => c.check)).toEqual(['phone_verified', 'uscc']);
    expect(failed[1].reason).toEqual({ en: 'the unified social credit code fails its check character', zh: '统一社会信用代码校验码不正确' });
    const audit = (await t.call('GET', `/v1/audit-log?action=distributor.auto_review&target_id=${res.data.id}`, { token: key })).data.items;
    expect(audit[0].reason).toContain('phone was not verified');
    // A person approves it afterwards, as before.
    expect((await t.call('POST', `/v1/distributors/${res.data.id}/approve`, { token: key, body: {} })).data.status).toBe('active');
  });

  it('refers a phone another distributor holds, and rejects under on_failure reject', async () => {
    const { key } = await reviewTenant({ phone_verified: false, uscc_for_companies: false, no_shared_identity: true, on_failure: 'reject' });
    const phone = newPhone();
    const first = await apply(key, { phone });
    expect(first.data.status).toBe('active');
    const second = await apply(key, { phone });
    expect(second.statusCode, second.body).toBe(201);
    expect(second.data.status).toBe('rejected');
    expect(second.data.status_reason).toContain('shared with other distributors: the phone');
    expect((await t.call('GET', `/v1/distributors/${second.data.id}/review`, { token: key })).data.outcome).toBe('rejected');
  });

  it('keeps an application with unmet admission conditions for a person even when every check passes', async () => {
    const { key } = await reviewTenant(
      { phone_verified: false, no_shared_identity: false, uscc_for_companies: false },
      { admission_conditions: { training_required: true } },
    );
    const res = await apply(key, { phone: newPhone() });
    expect(res.data.status).toBe('pending');
    const review = (await t.call('GET', `/v1/distributors/${res.data.id}/review`, { token: key })).data;
    expect(review.outcome).toBe('referred');
    expect(review.checks.at(-1)).toMatchObject({ check: 'admission_conditions', outcome: 'failed' });
  });

  it("counts the portal's texted code as a verified phone", async () => {
    const tenant = await reviewTenant({ phone_verified: true, uscc_for_companies: false, no_shared_identity: true, on_failure: 'refer' });
    const res = await applyInPortal(t, { tenant_id: tenant.id, name: '门户申请人', phone: newPhone(), password: 'correct horse battery', consent: true });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.data.status).toBe('active');
    const review = (await t.call('GET', `/v1/distributors/${res.data.distributor_id}/review`, { token: tenant.key })).data;
    expect(review.checks[0]).toMatchObject({ check: 'phone_verified', outcome: 'passed' });
  });

  it('leaves applications to a person, with no decision stored, while the review is off', async () => {
    const tenant = await t.tenant('No review merchant');
    await t.call('PUT', '/v1/program', { token: tenant.key, body: { admission: 'review' } });
    const res = await apply(tenant.key, { phone: newPhone() });
    expect(res.data.status).toBe('pending');
    expect((await t.call('GET', `/v1/distributors/${res.data.id}/review`, { token: tenant.key })).statusCode).toBe(404);
  });
});

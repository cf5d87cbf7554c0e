/**
 * The portal's public application form (issue 14, items 3 and 4).
 *
 * 3. It confirmed phone numbers to anyone: `POST /v1/portal/apply` answered 409 "a distributor with
 *    this phone number exists" before any limit or validation, and a made-up referrer code made the
 *    probe write nothing. Now limits come first, nothing about the phone is looked up until the
 *    code texted to it comes back, and the answer is the same for every phone.
 * 4. It let anyone claim a merchant's user id in advance: the form took `external_id`, and the
 *    merchant's later login token for that user landed in the squatter's account. Now the form
 *    takes no id, and a login token does not adopt an account the form made until the merchant
 *    links it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { applyInPortal, lastCode, sentTexts } from '../support/portal.ts';
import { APPLY_CODE_LIMITS } from '../../src/modules/portal/service.ts';
import { mintPortalToken } from './world.ts';
import type { JsonBody } from '../support/json.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

async function post(url: string, body: unknown, ip = '192.0.2.1') {
  const res = await t.app.inject({ method: 'POST', url, payload: JSON.stringify(body), remoteAddress: ip, headers: { 'content-type': 'application/json' } });
  return { status: res.statusCode, data: JSON.parse(res.body) as Record<string, JsonBody>, retryAfter: res.headers['retry-after'] };
}

/** An answer with what differs by nature (ids, times) blanked: what a prober could compare. */
function shape(r: { status: number; data: Record<string, JsonBody> }) {
  const blank = (v: unknown): unknown => (typeof v === 'string' && /^(pap_|20\d\d-)/.test(v) ? '…' : v);
  return { status: r.status, data: JSON.parse(JSON.stringify(r.data, (_k, v) => blank(v))) };
}

describe('the application form tells nobody whether a phone belongs to a distributor (item 3)', () => {
  it("answers a distributor's phone exactly as a new one, with a made-up referrer code too, and writes no distributor before the code", async () => {
    const { id: tenantId, key } = await t.tenant('Probe');
    const known = '13900000001';
    expect((await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'known', name: 'Known', phone: known } })).statusCode).toBe(201);
    const unknown = '13900000002';
    const base = { tenant_id: tenantId, name: 'Prober', password: 'prober-password', consent: true };
    for (const extra of [{}, { referrer_code: 'NOSUCH22' }, { tenant_id: 'tnt_UNKNOWN' }]) {
      const a = await post('/v1/portal/apply', { ...base, phone: known, ...extra }, '192.0.2.10');
      const b = await post('/v1/portal/apply', { ...base, phone: unknown, ...extra }, '192.0.2.11');
      expect(shape(a), JSON.stringify(extra)).toEqual(shape(b));
    }
    const started = await post('/v1/portal/apply', { ...base, phone: known }, '192.0.2.12');
    expect(started.status).toBe(202);
    expect(started.data).toMatchObject({ verification_id: expect.stringMatching(/^pap_/), status: 'code_sent' });
    // Both phones got a text; only the one distributor exists.
    expect(lastCode(t, known)).toMatch(/^[0-9]{6}$/);
    expect(lastCode(t, unknown)).toMatch(/^[0-9]{6}$/);
    expect((await t.call('GET', '/v1/distributors', { token: key })).data.items).toHaveLength(1);

    // Who holds the phone learns it has an account; who holds the new one gets one.
    const forKnown = await post('/v1/portal/apply/verify', { tenant_id: tenantId, verification_id: started.data.verification_id, code: lastCode(t, known) });
    expect(forKnown.status).toBe(409);
    const fresh = await applyInPortal(t, { ...base, phone: unknown });
    expect(fresh.statusCode, fresh.body).toBe(201);
    expect(fresh.data.token).toMatch(/^fxs_/);
  });

  it('limits codes per phone and per address before anything else, alike for every phone', async () => {
    const { id: tenantId, key } = await t.tenant('Limits');
    const known = '13900000011';
    expect((await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'known', name: 'Known', phone: known } })).statusCode).toBe(201);
    const base = { tenant_id: tenantId, name: 'Flood', password: 'flood-password', consent: true };
    const { perPhone, perAddress } = APPLY_CODE_LIMITS;
    for (const phone of [known, '13900000012']) {
      const answers = [];
      for (let i = 0; i <= perPhone.limit; i++) answers.push((await post('/v1/portal/apply', { ...base, phone }, `192.0.2.${20 + i}`)).status);
      expect(answers, phone).toEqual([...Array<number>(perPhone.limit).fill(202), 429]);
      // Over the limit, even a body that would be refused is refused by the limit first.
      const limited = await post('/v1/portal/apply', { ...base, phone, referrer_code: 'NOSUCH22' }, '192.0.2.99');
      expect(limited.status).toBe(429);
      expect(Number(limited.retryAfter)).toBeGreaterThan(0);
    }
    const burst = await Promise.all(
      Array.from({ length: perAddress.limit + 10 }, (_, i) =>
        post('/v1/portal/apply', { ...base, phone: `1380000${String(i).padStart(4, '0')}` }, '198.51.100.77'),
      ),
    );
    expect(burst.filter((r) => r.status === 202)).toHaveLength(perAddress.limit);
    expect(burst.filter((r) => r.status === 429)).toHaveLength(10);
  });

  it('counts each code attempt before comparing it: five wrong codes end the application, concurrent guesses included', async () => {
    const { id: tenantId } = await t.tenant('Codes');
    const phone = '13900000021';
    const body = { tenant_id: tenantId, name: 'Guess', phone, password: 'guess-password', consent: true };
    const started = await post('/v1/portal/apply', body);
    const code = lastCode(t, phone)!;
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const guesses = await Promise.all(
      Array.from({ length: 30 }, () => post('/v1/portal/apply/verify', { tenant_id: tenantId, verification_id: started.data.verification_id, code: wrong })),
    );
    expect(guesses.filter((g) => g.status === 400)).toHaveLength(5);
    expect(guesses.filter((g) => g.status === 409)).toHaveLength(25);
    const late = await post('/v1/portal/apply/verify', { tenant_id: tenantId, verification_id: started.data.verification_id, code });
    expect(late.status).toBe(409);
    // Another tenant cannot complete it either, nor a code of another application.
    const again = await post('/v1/portal/apply', body);
    const other = await t.tenant('Other');
    expect((await post('/v1/portal/apply/verify', { tenant_id: other.id, verification_id: again.data.verification_id, code: lastCode(t, phone) })).status).toBe(
      409,
    );
    expect((await post('/v1/portal/apply/verify', { tenant_id: tenantId, verification_id: again.data.verification_id, code: lastCode(t, phone) })).status).toBe(
      201,
    );
    expect(sentTexts(t).at(-1)!.text).toContain('验证码');
  });
});

describe("ids chosen by anonymous callers never become the merchant's (item 4)", () => {
  it('the form takes no external_id; a login token does not adopt an account the form made until the merchant links it', async () => {
    const { id: tenantId, key } = await t.tenant('Squat');
    const secret = (await t.call('POST', '/v1/portal/signing-secret', { token: key })).data.secret as string;
    const tokenLogin = async (sub: string) =>
      t.call('POST', '/v1/portal/token-login', { body: { tenant_id: tenantId, token: await mintPortalToken(secret, sub, t.clock.now().getTime()) } });

    // The squatter's attempt: the id of the merchant's user 9, before the merchant knows them.
    const squat = await post('/v1/portal/apply', {
      tenant_id: tenantId,
      external_id: 'merchant-user-9',
      name: 'Squatter',
      phone: '13900000031',
      password: 'squatter-password',
      consent: true,
    });
    expect(squat.status).toBe(400);
    const applied = await applyInPortal(t, { tenant_id: tenantId, name: 'Squatter', phone: '13900000031', password: 'squatter-password', consent: true });
    expect(applied.statusCode, applied.body).toBe(201);
    const me = (await t.call('GET', '/v1/me', { token: applied.data.token })).data;
    expect(me.external_id).toMatch(/^portal-/);

    // The merchant's own user 9 is the merchant's, and its token lands there.
    const real = await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'merchant-user-9', name: 'Real user 9' } });
    expect(real.statusCode).toBe(201);
    const asReal = await tokenLogin('merchant-user-9');
    expect(asReal.statusCode).toBe(200);
    expect(asReal.data.distributor_id).toBe(real.data.id);

    // Even naming the form's own made-up id, a token does not sign the account in until linked.
    expect((await tokenLogin(me.external_id)).statusCode).toBe(401);
    expect((await t.call('POST', `/v1/distributors/${real.data.id}/portal-link`, { token: key })).statusCode).toBe(409);
    const linked = await t.call('POST', `/v1/distributors/${me.id}/portal-link`, { token: key });
    expect(linked.statusCode, linked.body).toBe(200);
    expect(linked.data).toMatchObject({ distributor_id: me.id, external_id: me.external_id });
    expect((await tokenLogin(me.external_id)).statusCode).toBe(200);
    const audit = await t.call('GET', `/v1/audit-log?target_id=${me.id}`, { token: key });
    expect(audit.data.items.map((e: { action: string }) => e.action)).toContain('distributor.portal_link');
  });

  it("an account the form made before (its id chosen by the applicant) is not adopted by the merchant's token either", async () => {
    const { id: tenantId, key } = await t.tenant('Legacy squat');
    const secret = (await t.call('POST', '/v1/portal/signing-secret', { token: key })).data.secret as string;
    const applied = await applyInPortal(t, { tenant_id: tenantId, name: 'Old squatter', phone: '13900000041', password: 'squatter-password', consent: true });
    // What the old form allowed: the applicant's own choice of id.
    await t.database.db.updateTable('distributors').set({ external_id: 'merchant-user-7' }).where('id', '=', applied.data.distributor_id).execute();
    const token = await mintPortalToken(secret, 'merchant-user-7', t.clock.now().getTime());
    const res = await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: tenantId, token } });
    expect(res.statusCode).toBe(401);
    expect(res.data.token).toBeUndefined();
  });
});

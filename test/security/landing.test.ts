/**
 * The invite link as an open redirect (issue 14, item 15): any tenant could set `landing_url` to
 * any https site and make the platform's own `/i/<code>` send visitors there (phishing under the
 * platform's name). A landing page must now be on a domain the tenant has verified (a DNS TXT
 * record), refused at PUT time, and checked again at redirect time (a value stored before, or a
 * domain removed since, sends the visitor to the portal instead).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

async function merchant(name: string) {
  const { id, key } = await t.tenant(name);
  const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: `${name}-d`, name: 'D' } })).data as { invite_code: string };
  const visit = async () => {
    const res = await t.call('GET', `/i/${d.invite_code}`);
    expect(res.statusCode).toBe(302);
    return new URL(String(res.headers.location));
  };
  return { id, key, visit };
}

describe('landing_url', () => {
  it("may not send the platform's invite links to a site the tenant has not verified", async () => {
    const m = await merchant('phisher');
    for (const url of ['https://evil.example/login', 'https://fenxiao.test.evil.example/', 'https://evil.example\\@fenxiao.test/', 'http://evil.example/']) {
      const res = await t.call('PUT', '/v1/program', { token: m.key, body: { landing_url: url } });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(400);
      expect(res.data.error.code).toBe('invalid_request');
    }
    expect((await t.call('GET', '/v1/program', { token: m.key })).data.landing_url).toBeNull();
    expect((await m.visit()).origin).toBe('http://fenxiao.test');

    // A value stored before the rule (or by any other way) is not followed either.
    const row = await t.database.db.selectFrom('programs').select('settings').where('tenant_id', '=', m.id).executeTakeFirstOrThrow();
    await t.database.db
      .updateTable('programs')
      .set({ settings: JSON.stringify({ ...(row.settings as object), landing_url: 'https://evil.example/login' }) })
      .where('tenant_id', '=', m.id)
      .execute();
    const landed = await m.visit();
    expect(landed.origin + landed.pathname).toBe('http://fenxiao.test/portal/');
  });

  it('is allowed on a domain verified by a DNS TXT record, and its subdomains, over https', async () => {
    const m = await merchant('shop');
    const added = await t.call('POST', '/v1/landing-domains', { token: m.key, body: { domain: 'Shop.Example.COM.' } });
    expect(added.statusCode, added.body).toBe(201);
    expect(added.data).toMatchObject({
      domain: 'shop.example.com',
      status: 'pending',
      verification: { type: 'dns_txt', name: '_fenxiao-challenge.shop.example.com', value: expect.stringMatching(/^fenxiao-verification=[A-Za-z0-9_-]{20,}$/) },
    });
    expect((await t.call('POST', '/v1/landing-domains', { token: m.key, body: { domain: 'shop.example.com' } })).statusCode).toBe(409);
    for (const bad of ['localhost', '127.0.0.1', '[::1]', 'http://shop.example.com', 'shop.example.com/path', '*.example.com', 'example', 'a..b.com']) {
      expect((await t.call('POST', '/v1/landing-domains', { token: m.key, body: { domain: bad } })).statusCode, bad).toBe(400);
    }
    // Pending: not yet usable.
    expect((await t.call('PUT', '/v1/program', { token: m.key, body: { landing_url: 'https://shop.example.com/welcome' } })).statusCode).toBe(400);
    const notYet = await t.call('POST', `/v1/landing-domains/${added.data.id}/verify`, { token: m.key });
    expect(notYet.statusCode).toBe(409);
    expect(notYet.data.error.message).toContain('_fenxiao-challenge.shop.example.com');
    // Another tenant's record for the same domain does not verify this one.
    t.dns.set('_fenxiao-challenge.shop.example.com', [['fenxiao-verification=someone-else']]);
    expect((await t.call('POST', `/v1/landing-domains/${added.data.id}/verify`, { token: m.key })).statusCode).toBe(409);
    t.dns.set('_fenxiao-challenge.shop.example.com', [['v=spf1 -all'], [added.data.verification.value]]);
    const verified = await t.call('POST', `/v1/landing-domains/${added.data.id}/verify`, { token: m.key });
    expect(verified.statusCode, verified.body).toBe(200);
    expect(verified.data).toMatchObject({ status: 'verified', verified_at: expect.any(String) });

    expect((await t.call('PUT', '/v1/program', { token: m.key, body: { landing_url: 'http://shop.example.com/welcome' } })).statusCode).toBe(400);
    expect((await t.call('PUT', '/v1/program', { token: m.key, body: { landing_url: 'https://www.shop.example.com/welcome?src=fx' } })).statusCode).toBe(200);
    const landed = await m.visit();
    expect(landed.origin + landed.pathname).toBe('https://www.shop.example.com/welcome');
    expect(landed.searchParams.get('src')).toBe('fx');

    // The domain is not another tenant's to use.
    const other = await merchant('other');
    expect((await t.call('PUT', '/v1/program', { token: other.key, body: { landing_url: 'https://shop.example.com/' } })).statusCode).toBe(400);
    expect((await t.call('GET', `/v1/landing-domains`, { token: other.key })).data.items).toEqual([]);
    expect((await t.call('DELETE', `/v1/landing-domains/${added.data.id}`, { token: other.key })).statusCode).toBe(404);

    // Not removed while the landing page uses it; once it is not, removed, audited.
    expect((await t.call('DELETE', `/v1/landing-domains/${added.data.id}`, { token: m.key })).statusCode).toBe(409);
    expect((await t.call('PUT', '/v1/program', { token: m.key, body: { landing_url: null } })).statusCode).toBe(200);
    expect((await t.call('DELETE', `/v1/landing-domains/${added.data.id}`, { token: m.key })).statusCode).toBe(204);
    const audit = (await t.call('GET', '/v1/audit-log?target_type=landing_domain', { token: m.key })).data.items.map((e: { action: string }) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['landing_domain.add', 'landing_domain.verify', 'landing_domain.remove']));
  });
});

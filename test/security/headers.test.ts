/**
 * What every answer carries (security headers), why CSRF has nothing to forge (no route
 * authenticates from a cookie; a cross-site form can set neither Authorization nor a JSON body),
 * and the hostile inputs the fuzzer once turned into 500s, kept here as plain regressions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_CSP, HTML_CSP } from '../../src/app/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { multipartBody, operationsOf, TINY_PNG, type OpenApiDoc } from './openapi.ts';

let t: TestServer;
let https: TestServer;
let tenant: { id: string; key: string };
let session: string;
let distributor: { id: string; invite_code: string };

beforeAll(async () => {
  t = await startTestServer();
  https = await startTestServer({ env: { FENXIAO_PUBLIC_URL: 'https://fenxiao.example.com' } });
  tenant = await t.tenant();
  expect(
    (await t.call('POST', '/v1/admin-users', { token: tenant.key, body: { email: 'o@example.com', password: 'owner-password-0123', role: 'owner' } }))
      .statusCode,
  ).toBe(201);
  session = (await t.call('POST', '/v1/auth/login', { body: { tenant_id: tenant.id, email: 'o@example.com', password: 'owner-password-0123' } })).data.token;
  distributor = (await t.call('POST', '/v1/distributors', { token: tenant.key, body: { external_id: 'd1', name: 'D' } })).data;
});
afterAll(async () => {
  await t?.close();
  await https?.close();
});

const directive = (csp: string, name: string) =>
  csp
    .split(';')
    .map((d) => d.trim())
    .find((d) => d.startsWith(`${name} `)) ?? '';

describe('security headers', () => {
  it('on API answers, errors included: nosniff, no referrer, no framing, a CSP that allows nothing, no-store, COOP', async () => {
    for (const [url, token, status] of [
      ['/v1/tenant', tenant.key, 200],
      ['/v1/distributors', session, 200],
      ['/v1/program', undefined, 401],
      ['/v1/nothing-here', tenant.key, 404],
    ] as const) {
      const res = await t.call('GET', url, { token });
      expect(res.statusCode, url).toBe(status);
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['referrer-policy'], url).toBe('no-referrer');
      expect(res.headers['x-frame-options'], url).toBe('DENY');
      expect(res.headers['content-security-policy'], url).toBe(API_CSP);
      expect(directive(API_CSP, 'default-src')).toBe("default-src 'none'");
      expect(directive(API_CSP, 'frame-ancestors')).toBe("frame-ancestors 'none'");
      expect(res.headers['cache-control'], url).toBe('no-store');
      expect(res.headers['cross-origin-opener-policy'], url).toBe('same-origin');
      expect(res.headers['permissions-policy'], url).toContain('camera=()');
      expect(res.headers['strict-transport-security'], url).toBeUndefined();
      expect(res.headers['access-control-allow-origin'], url).toBeUndefined();
      expect(res.headers['x-powered-by'], url).toBeUndefined();
    }
  });

  it('on files with money or personal data too (the bank file, a QR code keeps its own cache rule)', async () => {
    const qr = await t.call('GET', `/v1/distributors/${distributor.id}/qrcode?format=svg`, { token: tenant.key });
    expect(qr.statusCode).toBe(200);
    expect(qr.headers['content-security-policy']).toBe(API_CSP);
    expect(qr.headers['x-content-type-options']).toBe('nosniff');
    const bank = await t.call('GET', '/v1/payouts/bank-file', { token: tenant.key });
    expect(bank.statusCode).toBe(200);
    expect(bank.headers['cache-control']).toBe('no-store');
  });

  it('Strict-Transport-Security when FENXIAO_PUBLIC_URL is https', async () => {
    const res = await https.call('GET', '/health');
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  });

  it("pages get the console's CSP: scripts only from this server, never inline; no framing; /docs still works", async () => {
    expect(directive(HTML_CSP, 'script-src')).toBe("script-src 'self'");
    expect(directive(HTML_CSP, 'frame-ancestors')).toBe("frame-ancestors 'none'");
    expect(directive(HTML_CSP, 'object-src')).toBe("object-src 'none'");
    const docs = await t.call('GET', '/docs/');
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/^text\/html/);
    expect(docs.headers['content-security-policy']).toBe(HTML_CSP);
    // Swagger UI loads only scripts and styles of its own, which the policy allows.
    for (const src of docs.body.match(/(?:src|href)="([^"]+)"/g) ?? []) expect(src).not.toMatch(/https?:\/\//);
    expect(docs.body).not.toMatch(/<script>(?!\s*<\/script>)/);
    const asset = await t.call('GET', '/docs/static/swagger-ui-bundle.js');
    expect(asset.statusCode).toBe(200);
    // The portal alone also loads WeChat's JS-SDK (jweixin) from its one host (docs/wechat.md).
    const portalCsp = HTML_CSP.replace("script-src 'self'", "script-src 'self' https://res.wx.qq.com");
    for (const [app, csp] of [
      ['/admin/', HTML_CSP],
      ['/portal/', portalCsp],
    ] as const) {
      const page = await t.call('GET', app);
      expect([200, 503], app).toContain(page.statusCode);
      expect(page.headers['content-security-policy'], app).toBe(csp);
      expect(page.headers['x-frame-options'], app).toBe('DENY');
    }
  });
});

describe('CSRF', () => {
  it('no route authenticates from a cookie: every non-public operation refuses a request whose only credential is a cookie', async () => {
    const doc = (await t.call('GET', '/openapi.json')).data as OpenApiDoc;
    const ops = operationsOf(doc).filter((op) => op.auth !== 'public');
    expect(ops.length).toBeGreaterThan(50);
    const cookie = [`session=${session}`, `token=${session}`, `fxs=${session}`, `api_key=${tenant.key}`, `authorization=Bearer ${session}`].join('; ');
    for (const op of ops) {
      const url = op.path.replace(/\{[^}]+\}/g, distributor.id);
      const res = await t.app.inject({
        method: op.method,
        url,
        headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/json' },
        payload: op.method === 'GET' ? undefined : '{}',
      });
      expect(res.statusCode, op.label).toBe(401);
    }
  });

  it('a cross-site form cannot send what the API takes: form and text bodies are refused even with a valid token', async () => {
    for (const [type, body] of [
      ['application/x-www-form-urlencoded', 'external_id=x&name=y'],
      ['text/plain', '{"external_id":"x","name":"y"}'],
      ['multipart/form-data; boundary=b', '--b\r\nContent-Disposition: form-data; name="name"\r\n\r\ny\r\n--b--\r\n'],
    ]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/distributors',
        headers: { authorization: `Bearer ${tenant.key}`, 'content-type': type, origin: 'https://evil.example' },
        payload: body,
      });
      expect(res.statusCode, type).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, type).toBeLessThan(500);
    }
    expect((await t.call('GET', '/v1/distributors', { token: tenant.key })).data.items.map((d: { external_id: string }) => d.external_id)).toEqual(['d1']);
  });

  it('the visitor cookie of /i/{code} is HttpOnly, SameSite=Lax, and is no credential', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/i/${distributor.invite_code}` });
    expect(res.statusCode).toBe(302);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^fx_vid=[A-Za-z0-9_-]+; /);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).not.toContain('Secure');
    // Behind an https public URL the cookie travels over https only.
    const { key } = await https.tenant();
    const code = (await https.call('POST', '/v1/distributors', { token: key, body: { external_id: 'sec', name: 'S' } })).data.invite_code;
    expect(String((await https.app.inject({ method: 'GET', url: `/i/${code}` })).headers['set-cookie'])).toMatch(/; Secure$/);
    const withIt = await t.app.inject({ method: 'GET', url: '/v1/tenant', headers: { cookie: cookie.split(';')[0]! } });
    expect(withIt.statusCode).toBe(401);
  });
});

describe('hostile input answered as 400 (each was a 500 once, found by the fuzzer)', () => {
  const errorOf = (body: string) => (JSON.parse(body) as { error: { code: string; message: string } }).error;

  it('a NUL character in a path id, a query value or a body string', async () => {
    for (const [method, url, payload] of [
      ['GET', '/v1/distributors/a%00b/team', undefined],
      ['GET', '/v1/distributors?q=a%00b', undefined],
      ['POST', `/v1/distributors/${distributor.id}/suspend`, JSON.stringify({ reason: 'a\u0000b' })],
      ['POST', '/v1/distributors', JSON.stringify({ external_id: 'n1', name: 'N', 'x\u0000': 1 })],
    ] as const) {
      const res = await t.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
        ...(payload ? { payload } : {}),
      });
      expect(res.statusCode, url).toBe(400);
      expect(errorOf(res.body).code).toBe('invalid_request');
    }
    expect((await t.call('GET', `/v1/distributors/${distributor.id}`, { token: tenant.key })).data.status).toBe('active');
  });

  it('a URL that cannot be decoded, and a path parameter over the length limit, in the error shape', async () => {
    for (const url of ['/v1/distributors/%ZZ', '/v1/distributors/%ed%a0%80', `/v1/distributors/${'x'.repeat(500)}`]) {
      const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${tenant.key}` } });
      expect(res.statusCode, url).toBe(400);
      expect(errorOf(res.body).code, url).toBe('invalid_request');
    }
  });

  it('a malformed multipart upload', async () => {
    const m = multipartBody({ kind: 'id_card' }, { field: 'file', filename: 'a.png', contentType: 'image/png', data: TINY_PNG });
    for (const [type, payload] of [
      [m.contentType, m.payload.subarray(0, m.payload.length - 10)],
      ['multipart/form-data', Buffer.from('x')],
      [m.contentType, Buffer.from('garbage')],
    ] as const) {
      for (const url of [`/v1/distributors/${distributor.id}/documents`, '/v1/portal/poster-background']) {
        const res = await t.app.inject({
          method: url.includes('poster') ? 'PUT' : 'POST',
          url,
          headers: { authorization: `Bearer ${tenant.key}`, 'content-type': type },
          payload,
        });
        expect(res.statusCode, `${url} ${type}`).toBe(400);
        expect(errorOf(res.body).code).toBe('invalid_request');
      }
    }
  });

  it('a date PostgreSQL cannot hold (year 0000)', async () => {
    const res = await t.call('POST', '/v1/settlements/run', { token: tenant.key, body: { as_of: '0000-01-01T00:00:00Z' } });
    expect(res.statusCode).toBe(400);
    expect(res.data.error.code).toBe('invalid_request');
  });
});

/**
 * Signing in without the 30-character tenant id (issue 16 item 3): a tenant's short name (slug)
 * chosen at creation, the console's sign-in by an email alone (or with the slug), and the
 * merchant found by its slug for the sign-in pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_TOKEN, startTestServer, type TestServer } from '../support/server.ts';

// PostgreSQL runs share one database per run: names and slugs of this file are its own.
const RUN = Math.random().toString(36).slice(2, 8);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

async function newTenant(body: Record<string, unknown>) {
  const res = await t.call('POST', '/v1/tenants', { token: ROOT_TOKEN, body });
  expect(res.statusCode, res.body).toBe(201);
  return res.data as { id: string; name: string; slug: string; api_key: string };
}

async function addUser(key: string, email: string, password: string) {
  const res = await t.call('POST', '/v1/admin-users', { token: key, body: { email, password, role: 'owner' } });
  expect(res.statusCode, res.body).toBe(201);
}

const login = (body: Record<string, unknown>, headers: Record<string, string> = {}) => t.call('POST', '/v1/auth/login', { body, headers });

describe('a tenant has a short name chosen at creation', () => {
  it('takes the slug asked for, and refuses one taken (409) or malformed (400)', async () => {
    const a = await newTenant({ name: '阿克米商城', slug: `acme-${RUN}` });
    expect(a.slug).toBe(`acme-${RUN}`);
    const me = await t.call('GET', '/v1/tenant', { token: a.api_key });
    expect(me.data).toMatchObject({ id: a.id, slug: `acme-${RUN}` });
    const taken = await t.call('POST', '/v1/tenants', { token: ROOT_TOKEN, body: { name: 'Other', slug: `acme-${RUN}` } });
    expect(taken.statusCode).toBe(409);
    expect(taken.data.error.code).toBe('conflict');
    for (const slug of ['ab', 'Acme Shop', '-acme', 'a'.repeat(33), 'acme_shop']) {
      const bad = await t.call('POST', '/v1/tenants', { token: ROOT_TOKEN, body: { name: 'Bad', slug } });
      expect(bad.statusCode, slug).toBe(400);
      expect(bad.data.error.code).toBe('invalid_request');
    }
  });

  it('makes one from the name when none is asked for, else a random one', async () => {
    expect((await newTenant({ name: `Blue Lake Tea ${RUN} 蓝湖茶` })).slug).toBe(`blue-lake-tea-${RUN}`);
    // The same name again: its slug is taken, so a random one.
    expect((await newTenant({ name: `Blue Lake Tea ${RUN}` })).slug).toMatch(/^shop-[a-z0-9]{6}$/);
    expect((await newTenant({ name: '示例商城' })).slug).toMatch(/^shop-[a-z0-9]{6}$/);
  });

  it('lets the sign-in pages find a merchant by slug or id (public), not a missing one', async () => {
    const m = await newTenant({ name: 'Find Me', slug: `find-me-${RUN}` });
    for (const ref of [`find-me-${RUN}`, `FIND-ME-${RUN}`, m.id]) {
      const res = await t.call('GET', `/v1/merchants/${ref}`);
      expect(res.statusCode, ref).toBe(200);
      expect(res.data).toEqual({ id: m.id, name: 'Find Me', slug: `find-me-${RUN}` });
    }
    for (const ref of ['nobody-here', 'x', 'tnt_01ZZZZZZZZZZZZZZZZZZZZZZZZ']) {
      const res = await t.call('GET', `/v1/merchants/${ref}`);
      expect(res.statusCode, ref).toBe(404);
    }
    // A suspended merchant is not found.
    expect((await t.call('POST', `/v1/tenants/${m.id}/suspend`, { token: ROOT_TOKEN, body: { reason: 'test' } })).statusCode).toBe(200);
    expect((await t.call('GET', `/v1/merchants/find-me-${RUN}`)).statusCode).toBe(404);
  });
});

describe('the console signs in without the tenant id', () => {
  let one: { id: string; slug: string; api_key: string };
  let two: { id: string; slug: string; api_key: string };
  beforeAll(async () => {
    one = await newTenant({ name: 'One', slug: `one-${RUN}` });
    two = await newTenant({ name: 'Two', slug: `two-${RUN}` });
    await addUser(one.api_key, `only@one-${RUN}.test`, 'only-password-1');
    // The same email in two merchants, with different passwords, then with the same one.
    await addUser(one.api_key, `both@shops-${RUN}.test`, 'password-in-one');
    await addUser(two.api_key, `both@shops-${RUN}.test`, 'password-in-two');
    await addUser(one.api_key, `same@shops-${RUN}.test`, 'same-password-1');
    await addUser(two.api_key, `same@shops-${RUN}.test`, 'same-password-1');
  });

  it('by an email alone, when it is in one merchant', async () => {
    const res = await login({ email: `Only@One-${RUN}.test`, password: 'only-password-1' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.data).toMatchObject({ tenant_id: one.id, tenant_slug: `one-${RUN}`, user: { email: `only@one-${RUN}.test` } });
    const me = await t.call('GET', '/v1/tenant', { token: res.data.token });
    expect(me.data.id).toBe(one.id);
  });

  it('by an email in several merchants: the one whose password matches', async () => {
    const a = await login({ email: `both@shops-${RUN}.test`, password: 'password-in-two' });
    expect(a.statusCode).toBe(200);
    expect(a.data.tenant_id).toBe(two.id);
    const b = await login({ email: `both@shops-${RUN}.test`, password: 'password-in-one' });
    expect(b.data.tenant_id).toBe(one.id);
  });

  it('asks for the merchant when the password matches in several, in the caller language', async () => {
    const en = await login({ email: `same@shops-${RUN}.test`, password: 'same-password-1' });
    expect(en.statusCode).toBe(400);
    expect(en.data.error.code).toBe('invalid_request');
    expect(en.data.error.message).toMatch(/several merchants/);
    const zh = await login({ email: `same@shops-${RUN}.test`, password: 'same-password-1' }, { 'accept-language': 'zh-CN' });
    expect(zh.data.error.message).toMatch(/多个商户/);
    const withSlug = await login({ tenant: `TWO-${RUN.toUpperCase()}`, email: `same@shops-${RUN}.test`, password: 'same-password-1' });
    expect(withSlug.statusCode).toBe(200);
    expect(withSlug.data.tenant_id).toBe(two.id);
    const withId = await login({ tenant: one.id, email: `same@shops-${RUN}.test`, password: 'same-password-1' });
    expect(withId.data.tenant_id).toBe(one.id);
    // The contract's field still works as before.
    const byTenantId = await login({ tenant_id: two.id, email: `same@shops-${RUN}.test`, password: 'same-password-1' });
    expect(byTenantId.data.tenant_id).toBe(two.id);
  });

  it('says only "wrong email or password" for a wrong password, an unknown email or a wrong merchant', async () => {
    for (const body of [
      { email: `same@shops-${RUN}.test`, password: 'not-the-password' },
      { email: `nobody@shops-${RUN}.test`, password: 'same-password-1' },
      { tenant: `one-${RUN}`, email: `both@shops-${RUN}.test`, password: 'password-in-two' },
      { tenant: 'no-such-shop', email: `only@one-${RUN}.test`, password: 'only-password-1' },
    ]) {
      const res = await login(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(401);
      expect(res.data.error).toEqual({ code: 'unauthorized', message: 'wrong email or password' });
      const zh = await login(body, { 'accept-language': 'zh' });
      expect(zh.data.error).toEqual({ code: 'unauthorized', message: '邮箱或密码错误' });
    }
  });
});

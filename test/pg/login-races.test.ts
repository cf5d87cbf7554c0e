/**
 * Concurrent guesses against the login throttles, on a real PostgreSQL (issue 14, item 2): the
 * attempt is counted before the password is checked, atomically in the limiter, so a burst gets
 * no more passwords checked than the limits allow. Before, the per-address count was read before
 * the check and written after (150 concurrent failures had 118 passwords checked against a limit
 * of 20), and the account's `failed_logins` was a lost update (40 concurrent wrong passwords never
 * locked it, and a right one inside the burst got in).
 *
 * With the in-process limiter: one server. With REDIS_URL: two servers (two processes' worth of
 * pools and limiters) sharing one Redis, the requests spread over both.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { lastCode } from '../support/portal.ts';
import { createRedisRateLimiter } from '../../src/adapters/ratelimit/redis.ts';
import { ACCOUNT_LOCKOUT, LOGIN_FAILURE_LIMITS } from '../../src/modules/admin/throttle.ts';

const redisUrl = process.env.REDIS_URL;
const prefix = `fenxiao:test:logins:${Date.now()}:${randomBytes(4).toString('hex')}:`;

type Shape = { name: string; skip: boolean; start: () => Promise<TestServer[]> };
const shapes: Shape[] = [
  { name: 'one server, in-process limiter', skip: false, start: async () => [await startTestServer()] },
  {
    name: 'two servers sharing Redis (needs REDIS_URL)',
    skip: !redisUrl,
    // Processes of one deployment share the master key (the throttle's keys are blind indexes under it).
    start: async () => {
      const env = { FENXIAO_MASTER_KEY: randomBytes(32).toString('base64') };
      return Promise.all([0, 1].map(() => startTestServer({ env, overrides: { limiter: createRedisRateLimiter(redisUrl!, prefix) } })));
    },
  },
];

afterAll(async () => {
  if (!redisUrl) return;
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
});

for (const shape of shapes) {
  describe.skipIf(!onPostgres() || shape.skip)(`login throttles under concurrent guesses on PostgreSQL (needs DATABASE_URL): ${shape.name}`, () => {
    let servers: TestServer[];
    const pick = (i: number) => servers[i % servers.length]!;
    beforeAll(async () => {
      servers = await shape.start();
    });
    afterAll(async () => {
      await Promise.all((servers ?? []).map((s) => s.close()));
    });

    async function post(i: number, url: string, body: Record<string, unknown>, ip: string) {
      const res = await pick(i).app.inject({ method: 'POST', url, payload: body, remoteAddress: ip, headers: { 'content-type': 'application/json' } });
      return res.statusCode;
    }
    const count = (codes: number[], code: number) => codes.filter((c) => c === code).length;

    async function consoleAccount() {
      const t = servers[0]!;
      const tenant = await t.tenant();
      const email = `owner-${tenant.id}@example.com`;
      const password = 'owner-password-0123456789';
      expect((await t.call('POST', '/v1/admin-users', { token: tenant.key, body: { email, password, role: 'owner' } })).statusCode).toBe(201);
      return { tenantId: tenant.id, email, password };
    }

    it('console: 150 concurrent failures from one address get exactly 20 passwords checked', async () => {
      const { tenantId } = await consoleAccount();
      const ip = `203.0.113.${10 + servers.length}`;
      const codes = await Promise.all(
        Array.from({ length: 150 }, (_, i) =>
          post(i, '/v1/auth/login', { tenant_id: tenantId, email: `guess-${i}@example.com`, password: 'wrong-password' }, ip),
        ),
      );
      expect(count(codes, 401)).toBe(LOGIN_FAILURE_LIMITS.console.limit);
      expect(count(codes, 429)).toBe(150 - LOGIN_FAILURE_LIMITS.console.limit);
    });

    it('console: 40 concurrent wrong passwords for one account from one address check 5 and lock the pair; the right password inside the burst only counts among the first 5', async () => {
      const { tenantId, email, password } = await consoleAccount();
      const ip = `203.0.113.${20 + servers.length}`;
      const wrong = await Promise.all(
        Array.from({ length: 40 }, (_, i) => post(i, '/v1/auth/login', { tenant_id: tenantId, email, password: `wrong-${i}` }, ip)),
      );
      expect(count(wrong, 401)).toBe(ACCOUNT_LOCKOUT.failures);
      expect(count(wrong, 429)).toBe(40 - ACCOUNT_LOCKOUT.failures);
      // Locked for this address, the right password too; the owner elsewhere is not.
      expect(await post(0, '/v1/auth/login', { tenant_id: tenantId, email, password }, ip)).toBe(429);
      expect(await post(1, '/v1/auth/login', { tenant_id: tenantId, email, password }, `203.0.113.${120 + servers.length}`)).toBe(200);

      const ip2 = `203.0.113.${30 + servers.length}`;
      const mixed = await Promise.all(
        Array.from({ length: 40 }, (_, i) => post(i, '/v1/auth/login', { tenant_id: tenantId, email, password: i === 25 ? password : `wrong-${i}` }, ip2)),
      );
      expect(count(mixed, 401) + count(mixed, 200)).toBe(ACCOUNT_LOCKOUT.failures);
      expect(count(mixed, 429)).toBe(40 - ACCOUNT_LOCKOUT.failures);
    });

    it('portal: the same, per address and per (phone, address)', async () => {
      const t = servers[0]!;
      const tenant = await t.tenant();
      const phone = '13700000003';
      const password = 'portal-password-03';
      // A distributor with a portal password, made by the merchant and set by the distributor.
      const d = await t.call('POST', '/v1/distributors', { token: tenant.key, body: { external_id: 'race-d', name: 'Race', phone } });
      expect(d.statusCode).toBe(201);
      const secret = await t.call('POST', '/v1/portal/signing-secret', { token: tenant.key });
      const { mintPortalToken } = await import('../security/world.ts');
      const session = await t.call('POST', '/v1/portal/token-login', {
        body: { tenant_id: tenant.id, token: await mintPortalToken(secret.data.secret, 'race-d', t.clock.now().getTime()) },
      });
      expect((await t.call('POST', '/v1/portal/password', { token: session.data.token, body: { password } })).statusCode).toBe(200);

      const ip = `198.51.100.${10 + servers.length}`;
      const burst = await Promise.all(
        Array.from({ length: 150 }, (_, i) =>
          post(i, '/v1/portal/login', { tenant_id: tenant.id, phone: `1360000${String(i).padStart(4, '0')}`, password: 'guess-guess' }, ip),
        ),
      );
      expect(count(burst, 401)).toBe(LOGIN_FAILURE_LIMITS.portal.limit);

      const ip2 = `198.51.100.${20 + servers.length}`;
      const onAccount = await Promise.all(
        Array.from({ length: 40 }, (_, i) => post(i, '/v1/portal/login', { tenant_id: tenant.id, phone, password: `guess-${i}-x` }, ip2)),
      );
      expect(count(onAccount, 401)).toBe(ACCOUNT_LOCKOUT.failures);
      expect(await post(0, '/v1/portal/login', { tenant_id: tenant.id, phone, password }, ip2)).toBe(429);
      expect(await post(1, '/v1/portal/login', { tenant_id: tenant.id, phone, password }, `198.51.100.${120 + servers.length}`)).toBe(200);
    });

    it('portal application codes: 30 concurrent guesses compare 5; two applications of one phone verified at once make one distributor', async () => {
      const t = servers[0]!;
      const tenant = await t.tenant();
      const phone = '13700000004';
      const body = { tenant_id: tenant.id, name: 'Race', phone, password: 'race-password', consent: true };
      const started = await t.call('POST', '/v1/portal/apply', { body });
      expect(started.statusCode).toBe(202);
      const code = lastCode(t, phone)!;
      const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
      const guesses = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          post(i, '/v1/portal/apply/verify', { tenant_id: tenant.id, verification_id: started.data.verification_id, code: wrong }, '192.0.2.40'),
        ),
      );
      expect(count(guesses, 400)).toBe(5);
      expect(count(guesses, 409)).toBe(25);

      // Two live applications of one phone, each with its right code, completed at once (over
      // both servers): one distributor; the other is told the phone is taken.
      const first = await t.call('POST', '/v1/portal/apply', { body });
      const firstCode = lastCode(t, phone)!;
      const second = await t.call('POST', '/v1/portal/apply', { body });
      const secondCode = lastCode(t, phone)!;
      const done = await Promise.all([
        post(0, '/v1/portal/apply/verify', { tenant_id: tenant.id, verification_id: first.data.verification_id, code: firstCode }, '192.0.2.41'),
        post(1, '/v1/portal/apply/verify', { tenant_id: tenant.id, verification_id: second.data.verification_id, code: secondCode }, '192.0.2.42'),
      ]);
      expect(done.sort()).toEqual([201, 409]);
      const made = await t.call('GET', '/v1/distributors', { token: tenant.key });
      expect(made.data.items).toHaveLength(1);
    });
  });
}

/**
 * The anti-cheat limits hold across processes: two real `fenxiao serve` processes on the same
 * PostgreSQL database and the same Redis share one sliding window per IP. With a per-process
 * (memory) limiter each would let its own five through. Runs when DATABASE_URL and REDIS_URL are
 * set (two processes cannot share an embedded PGlite).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { onPostgres } from '../support/db.ts';
import { spawnServer, type ServerProcess } from './support/spawn.ts';

const redisUrl = process.env.REDIS_URL;
const ROOT = `root-${randomBytes(12).toString('hex')}`;

describe.skipIf(!redisUrl || !onPostgres())('registration limits across two processes sharing Redis (needs REDIS_URL and DATABASE_URL)', () => {
  let one: ServerProcess;
  let two: ServerProcess;
  let dataDir: string;
  const tenants: string[] = [];

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-rl-'));
    const env = {
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: redisUrl!,
      FENXIAO_ROOT_TOKEN: ROOT,
      FENXIAO_MASTER_KEY: randomBytes(32).toString('base64'),
      FENXIAO_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    };
    [one, two] = await Promise.all([spawnServer(env), spawnServer(env)]);
  });

  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
    // The limiter's keys carry the tenant id, unique to this run: delete exactly those.
    if (tenants.length > 0) {
      const redis = new Redis(redisUrl!);
      try {
        for (const id of tenants) {
          let cursor = '0';
          do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', `fenxiao:rl:${id}:*`, 'COUNT', 500);
            if (keys.length > 0) await redis.del(...keys);
            cursor = next;
          } while (cursor !== '0');
        }
      } finally {
        redis.disconnect();
      }
    }
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function call(server: ServerProcess, method: string, url: string, token: string, body?: unknown) {
    const res = await fetch(server.url + url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, data: text ? JSON.parse(text) : undefined };
  }

  async function tenantWithLimit(limit: number) {
    const t = await call(one, 'POST', '/v1/tenants', ROOT, { name: 'rate limit test' });
    expect(t.status).toBe(201);
    tenants.push(t.data.id);
    const key = t.data.api_key as string;
    const p = await call(two, 'PUT', '/v1/program', key, { anti_cheat: { registration: { per_ip: { limit, window_seconds: 3600 } } } });
    expect(p.status).toBe(200);
    expect(p.data.anti_cheat.registration.per_ip).toEqual({ limit, window_seconds: 3600 });
    return { id: t.data.id as string, key };
  }

  it('lets exactly 5 registrations from one IP through, alternating processes; then 429 with Retry-After from either', async () => {
    const { key } = await tenantWithLimit(5);
    const ip = '203.0.113.7';
    const answers = [];
    for (let i = 0; i < 10; i++) {
      const server = i % 2 === 0 ? one : two;
      const res = await call(server, 'POST', '/v1/distributors', key, { external_id: `ip-user-${i}`, name: `U${i}`, client_ip: ip });
      answers.push({ i, server: server === one ? 'one' : 'two', ...res });
    }
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 201, 429, 429, 429, 429, 429]);
    const refused = answers.filter((a) => a.status === 429);
    expect(new Set(refused.map((a) => a.server))).toEqual(new Set(['one', 'two']));
    for (const a of refused) {
      expect(a.data.error.code).toBe('rate_limited');
      const retryAfter = Number(a.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(3600);
    }
    // Nothing was written for the refused ones.
    const list = await call(one, 'GET', '/v1/distributors?limit=100', key);
    expect(list.data.items.map((d: { external_id: string }) => d.external_id).sort()).toEqual([
      'ip-user-0',
      'ip-user-1',
      'ip-user-2',
      'ip-user-3',
      'ip-user-4',
    ]);
    // Another IP has its own window.
    expect((await call(two, 'POST', '/v1/distributors', key, { external_id: 'other-ip', name: 'O', client_ip: '198.51.100.1' })).status).toBe(201);
    // The first refusal left a risk event (one per window per address, whichever process refused
    // next), visible from either process.
    for (const server of [one, two]) {
      const events = await call(server, 'GET', '/v1/risk-events?kind=registration_ip_limit&limit=100', key);
      expect(events.status).toBe(200);
      expect(events.data.items).toHaveLength(1);
      expect(events.data.items[0]).toMatchObject({
        kind: 'registration_ip_limit',
        subject_type: 'ip',
        subject_id: ip,
        details: { scope: 'registration', limit: 5, window_seconds: 3600, attempted_for: 'ip-user-5' },
      });
    }
  });

  it('admits exactly the limit of many concurrent registrations spread over both processes', async () => {
    const { key } = await tenantWithLimit(5);
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        call(i % 2 === 0 ? one : two, 'POST', '/v1/distributors', key, { external_id: `burst-${i}`, name: `B${i}`, client_ip: '2001:db8::42' }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(5);
    expect(results.filter((r) => r.status === 429)).toHaveLength(19);
    const events = await call(one, 'GET', '/v1/risk-events?kind=registration_ip_limit&limit=100', key);
    expect(events.data.items).toHaveLength(1);
  });
});

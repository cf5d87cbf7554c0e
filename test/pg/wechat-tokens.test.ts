/**
 * WeChat's access_token and jsapi_ticket are fetched once for the whole deployment: two real
 * `fenxiao serve` processes on the same PostgreSQL database (and, when REDIS_URL is set, the same
 * Redis) asked for JS-SDK signatures at once, with an empty cache and WeChat answering slowly,
 * make exactly one cgi-bin/token and one getticket call, and sign with the same ticket. Runs when
 * DATABASE_URL is set (two processes cannot share an embedded PGlite).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { onPostgres } from '../support/db.ts';
import { WechatMpSimulator } from '../support/providers/wechat-mp-server.ts';
import { spawnServer, type ServerProcess } from './support/spawn.ts';

const redisUrl = process.env.REDIS_URL;
const APP_ID = 'wxaaaabbbbccccdddd';
const APP_SECRET = 'Q'.repeat(32);
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

for (const cache of ['database', 'redis'] as const) {
  describe.skipIf(!onPostgres() || (cache === 'redis' && !redisUrl))(`WeChat tokens shared by two processes (${cache})`, () => {
    const ROOT = `root-${randomBytes(12).toString('hex')}`;
    let sim: WechatMpSimulator;
    let one: ServerProcess;
    let two: ServerProcess;
    let dataDir: string;
    let tenantId = '';

    beforeAll(async () => {
      sim = await WechatMpSimulator.start({ appId: APP_ID, appSecret: APP_SECRET, oauthDomain: 'fenxiao.test' });
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-wx-'));
      const env: Record<string, string> = {
        DATABASE_URL: inject('databaseUrl'),
        FENXIAO_ROOT_TOKEN: ROOT,
        FENXIAO_MASTER_KEY: randomBytes(32).toString('base64'),
        FENXIAO_DATA_DIR: dataDir,
        FENXIAO_PUBLIC_URL: 'http://fenxiao.test',
        FENXIAO_WECHAT_OAUTH_BASE_URL: sim.origin,
        FENXIAO_WECHAT_API_BASE_URL: sim.origin,
        LOG_LEVEL: 'warn',
        ...(cache === 'redis' ? { REDIS_URL: redisUrl! } : {}),
      };
      // Started one after the other: two cold tsx compiles at once on a busy machine are slow.
      one = await spawnServer(env, 240_000);
      two = await spawnServer(env, 240_000);
    }, 600_000);

    afterAll(async () => {
      await Promise.all([one?.stop(), two?.stop()]);
      await sim?.close();
      if (cache === 'redis' && tenantId) {
        const redis = new Redis(redisUrl!);
        try {
          const keys = await redis.keys(`fenxiao:wx:${tenantId}|*`);
          if (keys.length > 0) await redis.del(...keys);
        } finally {
          redis.disconnect();
        }
      }
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    async function call(server: ServerProcess, method: string, url: string, token: string | null, body?: unknown) {
      const res = await fetch(server.url + url, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, data: text ? JSON.parse(text) : undefined };
    }

    it('fetches one access_token and one ticket for every page either process signs', async () => {
      const tn = await call(one, 'POST', '/v1/tenants', ROOT, { name: '共享令牌' });
      expect(tn.status).toBe(201);
      tenantId = tn.data.id;
      const key = tn.data.api_key as string;
      expect((await call(two, 'PUT', '/v1/wechat/settings', key, { app_id: APP_ID, app_secret: APP_SECRET })).status).toBe(200);
      const secret = (await call(one, 'POST', '/v1/portal/signing-secret', key)).data.secret as string;
      expect((await call(one, 'POST', '/v1/distributors', key, { external_id: 'wx-pg', name: '共享' })).status).toBe(201);
      const now = Math.floor(Date.now() / 1000);
      const jwt = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('wx-pg')
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .setJti(`jti-${randomBytes(8).toString('hex')}`)
        .sign(new TextEncoder().encode(secret));
      const session = (await call(two, 'POST', '/v1/portal/token-login', null, { tenant_id: tenantId, token: jwt })).data.token as string;

      // WeChat answers slowly: every caller arrives while the first fetch is in flight.
      sim.delays.set('/cgi-bin/token', 400);
      sim.delays.set('/cgi-bin/ticket/getticket', 400);
      const answers = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          call(i % 2 === 0 ? one : two, 'POST', '/v1/me/wechat/js-config', session, { url: `http://fenxiao.test/portal/?p=${i}` }),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 16 }, () => 200));
      expect(sim.count('/cgi-bin/token')).toBe(1);
      expect(sim.count('/cgi-bin/ticket/getticket')).toBe(1);
      const ticket = sim.currentTicket()!;
      for (const a of answers) {
        expect(a.data.signature).toBe(sha1(`jsapi_ticket=${ticket}&noncestr=${a.data.nonce_str}&timestamp=${a.data.timestamp}&url=${a.data.url}`));
      }
      if (cache === 'redis') {
        const redis = new Redis(redisUrl!);
        try {
          const keys = await redis.keys(`fenxiao:wx:${tenantId}|*`);
          expect(keys.sort()).toEqual([`fenxiao:wx:${tenantId}|${APP_ID}|access_token`, `fenxiao:wx:${tenantId}|${APP_ID}|jsapi_ticket`]);
          // Encrypted there too.
          for (const k of keys) expect(await redis.get(k)).not.toContain(ticket);
        } finally {
          redis.disconnect();
        }
      }
    });
  });
}

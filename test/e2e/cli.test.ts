/**
 * The command line and the real process: `fenxiao tenant create` and `fenxiao user create` write
 * to the configured database (a temp FENXIAO_DATA_DIR on PGlite, or DATABASE_URL when set), and a
 * `fenxiao serve` process started on the same data honours what they made. Then the boot that
 * `npm start` does, on a fresh PGlite folder, and a graceful stop with a request in flight.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runCli, spawnServer, type ServerProcess } from '../pg/support/spawn.ts';

const dirs: string[] = [];
const servers: ServerProcess[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-cli-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function json(url: string, init: { method?: string; token?: string; body?: unknown } = {}) {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, data: text ? JSON.parse(text) : undefined };
}

describe('fenxiao CLI', () => {
  it('creates a tenant and an admin user that a server on the same data accepts; five wrong passwords lock the account', { timeout: 180_000 }, async () => {
    const databaseUrl = inject('databaseUrl');
    const env: Record<string, string> = { FENXIAO_DATA_DIR: tempDir(), LOG_LEVEL: 'warn', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) };

    const made = await runCli(['tenant', 'create', '--name', 'CLI 商城', '--json'], env);
    expect(made.code, made.stderr).toBe(0);
    const tenant = JSON.parse(made.stdout.trim().split('\n').at(-1)!) as { id: string; name: string; api_key: string };
    expect(tenant).toEqual({
      id: expect.stringMatching(/^tnt_/),
      name: 'CLI 商城',
      // 'cli' from the name, unless an earlier tenant of a shared PostgreSQL run took it.
      slug: expect.stringMatching(/^(cli|shop-[a-z0-9]{6})$/),
      api_key: expect.stringMatching(/^fxk_/),
      console_url: expect.stringMatching(/\/admin\/login\?merchant=(cli|shop-[a-z0-9]{6})$/),
    });

    const user = await runCli(['user', 'create', '--tenant', tenant.id, '--email', 'boss@cli.example', '--role', 'owner'], {
      ...env,
      FENXIAO_PASSWORD: 'correct horse battery staple',
    });
    expect(user.code, user.stderr).toBe(0);
    expect(user.stdout).toMatch(/user usr_\S+ boss@cli\.example \(owner\)/);
    // The password never appears in what the command prints.
    expect(user.stdout + user.stderr).not.toContain('correct horse');

    const without = await runCli(['user', 'create', '--tenant', tenant.id, '--email', 'nopass@cli.example'], env);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('FENXIAO_PASSWORD');

    const server = await spawnServer(env);
    servers.push(server);
    const me = await json(`${server.url}/v1/tenant`, { token: tenant.api_key });
    expect(me.status).toBe(200);
    expect(me.data.id).toBe(tenant.id);
    expect((await json(`${server.url}/v1/tenant`, { token: tenant.api_key.slice(0, -1) + (tenant.api_key.endsWith('a') ? 'b' : 'a') })).status).toBe(401);
    const d = await json(`${server.url}/v1/distributors`, { method: 'POST', token: tenant.api_key, body: { external_id: 'cli-d1', name: 'D1' } });
    expect(d.status).toBe(201);

    const login = await json(`${server.url}/v1/auth/login`, {
      method: 'POST',
      body: { tenant_id: tenant.id, email: 'boss@cli.example', password: 'correct horse battery staple' },
    });
    expect(login.status).toBe(200);
    expect(login.data).toMatchObject({ tenant_id: tenant.id, token: expect.any(String), user: { email: 'boss@cli.example', role: 'owner' } });
    const session = await json(`${server.url}/v1/distributors/${d.data.id}`, { token: login.data.token });
    expect(session.status).toBe(200);

    for (let i = 1; i <= 5; i++) {
      const wrong = await json(`${server.url}/v1/auth/login`, {
        method: 'POST',
        body: { tenant_id: tenant.id, email: 'boss@cli.example', password: `wrong-${i}` },
      });
      expect(wrong.status, `wrong password #${i}`).toBe(401);
      expect(wrong.data.error.code).toBe('unauthorized');
    }
    // Locked: even the right password is refused for now.
    const locked = await json(`${server.url}/v1/auth/login`, {
      method: 'POST',
      body: { tenant_id: tenant.id, email: 'boss@cli.example', password: 'correct horse battery staple' },
    });
    expect(locked.status).toBe(429);
    expect(locked.data.error.code).toBe('rate_limited');

    expect(await server.stop('SIGTERM')).toBe(0);
  });
});

describe('fenxiao serve (what npm start runs)', () => {
  it(
    'boots on a fresh PGlite folder, answers /health, and on SIGTERM finishes the request in flight, logs "stopped" and exits 0',
    { timeout: 180_000 },
    async () => {
      const dataDir = tempDir();
      const root = 'cli-test-root-token-0123456789';
      const server = await spawnServer({ FENXIAO_DATA_DIR: dataDir, FENXIAO_ROOT_TOKEN: root, LOG_LEVEL: 'debug' }); // debug: the request's arrival is logged (info logs it when answered)
      servers.push(server);
      expect(await json(`${server.url}/health`)).toEqual({ status: 200, data: { status: 'ok' } });
      expect(fs.existsSync(path.join(dataDir, 'pgdata'))).toBe(true);
      expect(server.output()).toContain('fenxiao is serving');

      const waitFor = async (pattern: RegExp, what: string) => {
        for (let i = 0; i < 600; i++) {
          if (pattern.test(server.output())) return;
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`never saw ${what} in the log:\n${server.output().slice(-3000)}`);
      };

      // A request whose body is still arriving when the signal comes: its headers are in (the
      // server logged it), half its body is not.
      const payload = JSON.stringify({ name: 'created during shutdown' });
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          `${server.url}/v1/tenants`,
          {
            method: 'POST',
            headers: {
              authorization: `Bearer ${root}`,
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(payload),
              'x-request-id': 'slow-request-1',
            },
          },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => {
              body += c.toString();
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.write(payload.slice(0, 10));
        void waitFor(/"request_id":"slow-request-1"/, 'the slow request arrive')
          .then(() => {
            server.child.kill('SIGTERM');
            return waitFor(/shutting down/, 'the shutdown start');
          })
          .then(() => {
            req.end(payload.slice(10));
          }, reject);
      });

      const res = await answer;
      expect(res.status).toBe(201);
      expect(JSON.parse(res.body)).toMatchObject({ name: 'created during shutdown', api_key: expect.stringMatching(/^fxk_/) });
      expect(await server.exited).toBe(0);
      expect(server.output()).toMatch(/"msg":"stopped"/);
    },
  );
});

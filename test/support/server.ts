import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { LightMyRequestResponse } from 'fastify';
import { loadConfig, type Config } from '../../src/app/config.ts';
import { ManualClock, type Clock } from '../../src/core/context.ts';
import { buildServer, type Server, type ServerOverrides } from '../../src/app/server.ts';
import type { Database } from '../../src/db/database.ts';
import { openTestDatabase } from './db.ts';
import type { JsonBody } from './json.ts';

export const ROOT_TOKEN = 'test-root-token-0123456789';

export interface TestServer extends Server {
  clock: Clock;
  dataDir: string;
  /** JSON request through Fastify's inject; `token` goes into Authorization. */
  call(
    method: string,
    url: string,
    opts?: { token?: string | undefined; body?: unknown; headers?: Record<string, string>; rawBody?: string },
  ): Promise<LightMyRequestResponse & { data: JsonBody }>;
  /** A new tenant; answers its id and API key. */
  tenant(name?: string): Promise<{ id: string; key: string }>;
  logLines: string[];
  /** The DNS TXT records this server's lookups see (name → records, each a list of strings): no test asks the real DNS. */
  dns: Map<string, string[][]>;
}

export async function startTestServer(
  options: { clock?: Clock; env?: Record<string, string>; database?: Database; overrides?: Partial<ServerOverrides> } = {},
): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-test-'));
  const config: Config = loadConfig({
    FENXIAO_DATA_DIR: dataDir,
    FENXIAO_ROOT_TOKEN: ROOT_TOKEN,
    FENXIAO_PUBLIC_URL: 'http://fenxiao.test',
    LOG_LEVEL: 'info',
    FENXIAO_RUN_JOBS: 'false',
    ...options.env,
  });
  const database = options.database ?? (await openTestDatabase());
  const logLines: string[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        logLines.push(line);
      },
    },
  );
  const clock = options.clock ?? new ManualClock('2026-03-01T08:00:00Z');
  const dns = new Map<string, string[][]>();
  const resolveTxt = async (name: string) => {
    const records = dns.get(name.toLowerCase());
    if (!records) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return records;
  };
  const server = await buildServer(config, { database, clock, logger, skipMigrations: true, resolveTxt, ...options.overrides });
  const close = server.close.bind(server);
  return {
    ...server,
    clock,
    dataDir,
    logLines,
    dns,
    async close() {
      await close();
      if (!options.database) await database.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
    async call(method, url, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      let payload: string | undefined;
      if (opts.rawBody !== undefined) payload = opts.rawBody;
      else if (opts.body !== undefined) payload = JSON.stringify(opts.body);
      if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
      const res = await server.app.inject({ method: method as 'GET', url, headers, ...(payload !== undefined ? { payload } : {}) });
      let data: unknown;
      try {
        data = res.body ? JSON.parse(res.body) : undefined;
      } catch {
        data = res.body;
      }
      return Object.assign(res, { data });
    },
    async tenant(name = 'Test merchant') {
      const res = await server.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers: { authorization: `Bearer ${ROOT_TOKEN}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ name }),
      });
      if (res.statusCode !== 201) throw new Error(`tenant creation failed: ${res.statusCode} ${res.body}`);
      const t = JSON.parse(res.body) as { id: string; api_key: string };
      return { id: t.id, key: t.api_key };
    },
  };
}

/**
 * `fenxiao serve --workers N` as a real process tree: on PostgreSQL the primary forks N workers
 * sharing one port, each answers requests, a worker killed is restarted, and SIGTERM stops them
 * all. On the embedded database more than one worker is refused for one process, with a log line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort, REPO } from '../pg/support/spawn.ts';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** `node bin/fenxiao.js serve <args>` with only the environment given (no DATABASE_URL unless given). */
async function startServe(args: string[], env: Record<string, string>) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-cluster-'));
  dirs.push(dataDir);
  const port = await freePort();
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(DATABASE_URL|REDIS_URL|AMQP_URL|PORT|NODE_OPTIONS)$/.test(k) && !k.startsWith('FENXIAO_') && !k.startsWith('VITEST'))
      base[k] = v;
  }
  const child = spawn(process.execPath, [path.join(REPO, 'bin/fenxiao.js'), 'serve', ...args], {
    cwd: REPO,
    env: { ...base, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', FENXIAO_DATA_DIR: dataDir, FENXIAO_RUN_JOBS: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const waitFor = async (test: (lines: Record<string, unknown>[]) => boolean, what: string, withinMs = 90_000) => {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) {
      if (test(lines())) return;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`never saw ${what}; output:\n${out.slice(-4000)}`);
  };
  return { child, port, exited, lines, waitFor, output: () => out };
}

/** GET on a fresh connection each time, so the cluster hands each request to a worker in turn. */
function getOnce(port: number, route: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: route, agent: false, headers: { connection: 'close', ...headers } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const workerPids = (lines: Record<string, unknown>[]) => lines.filter((l) => l.msg === 'worker listening').map((l) => l.worker_pid as number);

describe('fenxiao serve --workers', () => {
  it.skipIf(!inject('databaseUrl'))(
    'on PostgreSQL: two workers share the port and both answer, a killed worker is restarted, SIGTERM stops them all (needs DATABASE_URL: PGlite serves one process)',
    { timeout: 240_000 },
    async () => {
      const metricsToken = 'cluster-metrics-token-0123456789';
      const s = await startServe(['--workers', '2'], { DATABASE_URL: inject('databaseUrl'), FENXIAO_METRICS_TOKEN: metricsToken });
      await s.waitFor((ls) => ls.some((l) => l.msg === 'fenxiao is serving with 2 workers'), 'both workers listening');
      const first = workerPids(s.lines());
      expect(new Set(first).size).toBe(2);
      expect(first).not.toContain(s.child.pid);
      for (const pid of first) expect(alive(pid)).toBe(true);

      // Connections go to the workers in turn: each one logs requests it answered.
      for (let i = 0; i < 10; i++) expect(await getOnce(s.port, '/health')).toEqual({ status: 200, body: '{"status":"ok"}' });
      await s.waitFor(
        (ls) => first.every((pid) => ls.some((l) => l.pid === pid && l.msg === 'request completed')),
        'a request answered by each worker',
        10_000,
      );

      // /metrics counts for every worker, whichever answers: two scrapes (one per worker) agree.
      const healthCount = async () => {
        const text = (await getOnce(s.port, '/metrics', { authorization: `Bearer ${metricsToken}` })).body;
        return Number(/^fenxiao_http_requests_total\{method="GET",route="\/health",status="200"\} (\d+)$/m.exec(text)?.[1] ?? NaN);
      };
      const [m1, m2] = [await healthCount(), await healthCount()];
      expect(m1).toBeGreaterThanOrEqual(10);
      expect(m2).toBe(m1);

      // A worker that dies is replaced; the other one serves meanwhile.
      process.kill(first[0]!, 'SIGKILL');
      await s.waitFor(
        (ls) => ls.some((l) => l.msg === 'worker exited unexpectedly; restarting it' && l.worker_pid === first[0] && l.signal === 'SIGKILL'),
        'the death logged',
      );
      await s.waitFor((ls) => workerPids(ls).length === 3, 'a new worker listening');
      const now = workerPids(s.lines()).slice(1);
      const restarted = now.find((pid) => !first.includes(pid))!;
      expect(alive(restarted)).toBe(true);
      expect(alive(first[0]!)).toBe(false);
      for (let i = 0; i < 4; i++) expect((await getOnce(s.port, '/health')).status).toBe(200);

      s.child.kill('SIGTERM');
      expect(await s.exited).toBe(0);
      for (const pid of [first[1]!, restarted]) expect(alive(pid), `worker ${pid} after the primary exited`).toBe(false);
      const msgs = s.lines().map((l) => l.msg);
      expect(msgs.filter((m) => m === 'shutting down: finishing in-flight requests')).toHaveLength(2);
      expect(msgs.at(-1)).toBe('stopped');
    },
  );

  it('on the embedded database: one process, and a log line saying why', { timeout: 120_000 }, async () => {
    const s = await startServe(['--workers', '2'], {});
    await s.waitFor((ls) => ls.some((l) => l.msg === 'fenxiao is serving'), 'the server up');
    expect(s.lines().some((l) => typeof l.msg === 'string' && l.msg.includes('--workers 2 needs PostgreSQL'))).toBe(true);
    expect(s.lines().some((l) => l.msg === 'worker listening')).toBe(false);
    // The process that serves is the one started: no cluster primary in between.
    expect(s.lines().find((l) => l.msg === 'fenxiao is serving')!.pid).toBe(s.child.pid);
    expect((await getOnce(s.port, '/health')).status).toBe(200);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('refuses a --workers that is not a whole number from 1 up', { timeout: 60_000 }, async () => {
    for (const bad of ['0', 'two', '1.5']) {
      const s = await startServe(['--workers', bad], {});
      expect(await s.exited).toBe(1);
      expect(s.output()).toContain('--workers takes a whole number');
    }
  });
});

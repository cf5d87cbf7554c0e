/**
 * Starting and stopping `fenxiao serve` as a newcomer and a process supervisor do (issue 16,
 * items 2 and 6): where to go once it serves, `/` leading to the console, `--version`, no
 * deprecation warnings, a taken port or an unreachable DATABASE_URL said in one line naming the
 * setting; and a stop that never hangs, whatever becomes of the pipe its stdout goes to, with a
 * second signal exiting at once; with workers, a stop that reaches them while they start.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort, REPO, runCli, spawnServer, type ServerProcess } from '../pg/support/spawn.ts';

const dirs: string[] = [];
const servers: ServerProcess[] = [];
const strays: number[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-serve-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const version = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

/** This process's environment without what would steer a server elsewhere (as spawn.ts does). */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(DATABASE_URL|REDIS_URL|AMQP_URL|PORT|NODE_OPTIONS)$|^FENXIAO_|^VITEST/.test(k)) continue;
    env[k] = v;
  }
  return env;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Whether a server could listen on the port now (the port is free again). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** `fenxiao serve --workers 2` on DATABASE_URL, its stdout and stderr gathered in one string. */
async function serveWithTwoWorkers(env: Record<string, string> = {}) {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(REPO, 'bin/fenxiao.js'), 'serve', '--workers', '2'], {
    cwd: REPO,
    env: { ...cleanEnv(), DATABASE_URL: inject('databaseUrl')!, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', FENXIAO_RUN_JOBS: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  strays.push(child.pid!);
  let out = '';
  const gather = (d: Buffer) => {
    out += d.toString();
  };
  child.stdout.on('data', gather);
  child.stderr.on('data', gather);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function waitFor(what: string, done: () => boolean, tries = 600): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (done()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never saw ${what}`);
}

describe('fenxiao --version', () => {
  it('prints the version in package.json', { timeout: 60_000 }, async () => {
    for (const flag of ['--version', '-v']) {
      const r = await runCli([flag], {});
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(version);
    }
  });
});

describe('fenxiao serve: a way in', () => {
  it(
    'says where to go (console, API docs, and with no merchant how to make one), / leads to the console, /health stays, no deprecation warnings',
    { timeout: 180_000 },
    async () => {
      const dataDir = tempDir();
      const server = await spawnServer({ FENXIAO_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
      servers.push(server);
      const url = server.url;
      await waitFor('the welcome', () => server.output().includes('no merchant yet'));
      const out = server.output();
      expect(out).toContain(`console   ${url}/admin/`);
      expect(out).toContain(`API docs  ${url}/docs`);
      expect(out).toContain('no merchant yet: run `npx fenxiao demo`');
      expect(out).toContain('npx fenxiao tenant create --name <name>');
      // The JSON log line says it too, for whoever reads the log rather than the terminal.
      expect(out).toMatch(new RegExp(`"console_url":"${url.replaceAll('.', '\\.')}/admin/"`));
      // Fastify 5's deprecated options (FSTDEP023, FSTDEP024) and any other warning Node prints.
      expect(out).not.toMatch(/FSTDEP|DeprecationWarning|ExperimentalWarning|\(node:\d+\) \[/);

      const root = await fetch(`${url}/`, { redirect: 'manual' });
      expect(root.status).toBe(302);
      expect(root.headers.get('location')).toBe('/admin/');
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect((await fetch(`${url}/openapi.json`)).status).toBe(200);
      // Request ids are still logged under request_id (logController), once a request is answered.
      await waitFor('a request logged with its id', () => /"request_id":"req_/.test(server.output()));
      expect(await server.stop('SIGTERM')).toBe(0);

      // Once a merchant exists, no "no merchant yet".
      const made = await runCli(['tenant', 'create', '--name', '有商户'], { FENXIAO_DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
      expect(made.code, made.stderr).toBe(0);
      const again = await spawnServer({ FENXIAO_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
      servers.push(again);
      await waitFor('the welcome', () => again.output().includes('Fenxiao is serving at'));
      expect(again.output()).toContain(`console   ${again.url}/admin/`);
      expect(again.output()).not.toContain('no merchant yet');
      expect(await again.stop('SIGTERM')).toBe(0);
    },
  );

  it('a port already taken is said in one line naming PORT, before the database is opened or migrated', { timeout: 120_000 }, async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const dataDir = tempDir();
      const r = await runCli(['serve'], { FENXIAO_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' });
      expect(r.code).toBe(1);
      const said = r.stderr.split('\n').filter((l) => l.startsWith('fenxiao: ') && !l.includes('server build') && !l.includes('through tsx'));
      expect(said).toEqual([expect.stringMatching(new RegExp(`port ${port} .*EADDRINUSE.*set PORT`))]);
      // Nothing was opened or migrated: no database folder, no "migrations" in the log.
      expect(fs.existsSync(path.join(dataDir, 'pgdata'))).toBe(false);
      expect(r.stdout).not.toMatch(/migrat/i);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('an unreachable DATABASE_URL is said in one line naming DATABASE_URL, without its password, exit 1', { timeout: 120_000 }, async () => {
    const nobody = await freePort();
    const databaseUrl = `postgres://fenxiao:s3cret-Pa55@127.0.0.1:${nobody}/shop`;
    for (const args of [['serve'], ['migrate'], ['tenant', 'list']]) {
      const r = await runCli(args, { DATABASE_URL: databaseUrl, PORT: String(await freePort()), HOST: '127.0.0.1', LOG_LEVEL: 'info' });
      expect(r.code, args.join(' ')).toBe(1);
      const said = r.stderr.split('\n').filter((l) => l.startsWith('fenxiao: ') && !l.includes('server build') && !l.includes('through tsx'));
      expect(said, args.join(' ')).toEqual([
        `fenxiao: cannot use the database in DATABASE_URL (postgres://fenxiao:***@127.0.0.1:${nobody}/shop): connection refused: is PostgreSQL running and listening on that host and port? (ECONNREFUSED)`,
      ]);
      expect(r.stdout + r.stderr).not.toContain('s3cret-Pa55');
      expect(r.stdout + r.stderr).not.toMatch(/migration \S+ failed/);
    }
  });
});

describe('fenxiao serve: stopping never hangs', () => {
  it('logging after the reader of stdout has gone, then exiting, exits (pino would retry the queued lines for ever)', { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'test/e2e/support/log-after-reader-gone.ts')], {
      cwd: REPO,
      env: cleanEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    strays.push(child.pid!);
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor('the child ready', () => err.includes('ready') || child.exitCode !== null, 1200);
    expect(err).toContain('ready');
    // The reader goes: the child's stdout is now a pipe nobody reads (EPIPE on its next write).
    child.stdout.destroy();
    await new Promise((r) => setTimeout(r, 100));
    child.stdin.write('go\n');
    expect(await exited, err).toBe(0);
    expect(err).toContain('logged');
  });

  it(
    'a parent that reads stdout through a pipe and exits right after SIGTERM: the server is gone within the grace time and the port is free (three times)',
    { timeout: 600_000 },
    async () => {
      const databaseUrl = inject('databaseUrl');
      const dataDir = tempDir();
      const root = 'piped-parent-root-token-0123456789';
      const grace = 5;
      for (let round = 1; round <= 3; round++) {
        const port = await freePort();
        const parent = spawn(process.execPath, [path.join(REPO, 'test/e2e/support/piped-parent.mjs'), REPO, String(port), root, '150'], {
          cwd: REPO,
          env: {
            ...cleanEnv(),
            FENXIAO_DATA_DIR: dataDir,
            FENXIAO_ROOT_TOKEN: root,
            FENXIAO_RUN_JOBS: 'false',
            FENXIAO_SHUTDOWN_GRACE_SECONDS: String(grace),
            LOG_LEVEL: 'info',
            ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let said = '';
        parent.stdout.on('data', (d: Buffer) => {
          said += d.toString();
        });
        const code = await new Promise<number | null>((resolve) => parent.on('exit', (c) => resolve(c)));
        const report = JSON.parse(said.trim().split('\n').at(-1) ?? '{}') as { pid?: number; error?: string };
        if (report.pid) strays.push(report.pid);
        expect(report.error, `round ${round}`).toBeUndefined();
        expect(code, `round ${round}`).toBe(0);
        const pid = report.pid!;
        // Gone by the grace time (plus room for a slow machine); a hang would never end.
        for (let i = 0; i < (grace + 25) * 10 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
        const hung = alive(pid);
        if (hung) process.kill(pid, 'SIGKILL');
        expect(hung, `round ${round}: the server (pid ${pid}) still runs after its parent left`).toBe(false);
        expect(await portFree(port), `round ${round}: port ${port} still taken`).toBe(true);
      }
    },
  );

  it('a reader that stops reading its stdout pipe: SIGTERM still stops the server (exit 0), the log held back', { timeout: 180_000 }, async () => {
    const server = await spawnServer({ FENXIAO_DATA_DIR: tempDir(), LOG_LEVEL: 'info' });
    servers.push(server);
    // The reader stops: what the server logs from now on stays in the pipe, and the pipe fills.
    server.child.stdout!.pause();
    server.child.stderr!.pause();
    const pad = 'x'.repeat(8000);
    for (let i = 0; i < 60; i += 10) {
      await Promise.all(Array.from({ length: 10 }, (_, j) => fetch(`${server.url}/not-here/${i + j}/${pad}`).then((r) => r.arrayBuffer())));
    }
    // Still serving while its log is held back.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    server.child.kill('SIGTERM');
    // The reader never comes back before the server is gone: it must exit on its own.
    expect(await server.exited).toBe(0);
    expect(await portFree(server.port)).toBe(true);
  });

  it.skipIf(!inject('databaseUrl'))(
    'with workers, Ctrl-C reaching every process of the group is one stop, not a second signal: each worker finishes gracefully (needs DATABASE_URL)',
    { timeout: 180_000 },
    async () => {
      const { child, output, exited } = await serveWithTwoWorkers();
      await waitFor('two workers listening', () => (output().match(/"msg":"worker listening"/g) ?? []).length >= 2, 2400);
      const workers = [...output().matchAll(/"worker_pid":(\d+)/g)].map((m) => Number(m[1]));
      expect(workers).toHaveLength(2);
      strays.push(...workers);
      // What a terminal does on Ctrl-C: SIGINT to the primary and to each worker.
      process.kill(child.pid!, 'SIGINT');
      for (const pid of workers) process.kill(pid, 'SIGINT');
      expect(await exited, output().slice(-3000)).toBe(0);
      expect(output()).not.toContain('second signal');
      expect((output().match(/"msg":"stopped"/g) ?? []).length).toBe(3);
      for (const pid of workers) expect(alive(pid)).toBe(false);
    },
  );

  it.skipIf(!inject('databaseUrl'))(
    'with workers, a stop right after the start (the workers still loading) stops every worker gracefully, none left to the grace timer (needs DATABASE_URL)',
    { timeout: 180_000 },
    async () => {
      const { child, output, exited } = await serveWithTwoWorkers({ FENXIAO_SHUTDOWN_GRACE_SECONDS: '20' });
      // The primary forks right after saying this: the workers are still loading their modules.
      await waitFor('the workers starting', () => output().includes('"msg":"starting 2 workers"'), 2400);
      process.kill(child.pid!, 'SIGTERM');
      expect(await exited, output().slice(-3000)).toBe(0);
      expect(output()).not.toContain('grace period over');
      expect(output()).toContain('"unclean_exits":0');
    },
  );

  it('a second signal exits at once, without waiting for the request in flight', { timeout: 180_000 }, async () => {
    const root = 'second-signal-root-token-0123456789';
    const server = await spawnServer({ FENXIAO_DATA_DIR: tempDir(), FENXIAO_ROOT_TOKEN: root, FENXIAO_SHUTDOWN_GRACE_SECONDS: '600', LOG_LEVEL: 'debug' });
    servers.push(server);
    // A request whose body never finishes arriving: the graceful stop would wait for it (600 s). At debug, its arrival is logged.
    const req = http.request(`${server.url}/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${root}`, 'content-type': 'application/json', 'content-length': 100, 'x-request-id': 'never-finished-1' },
    });
    req.on('error', () => {});
    req.write('{"name":');
    await waitFor('the request arrive', () => server.output().includes('"request_id":"never-finished-1"'));
    server.child.kill('SIGTERM');
    await waitFor('the shutdown start', () => server.output().includes('shutting down'));
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('second signal: exiting now');
    expect(await portFree(server.port)).toBe(true);
    req.destroy();
  });
});

/**
 * A deployment in miniature for tests and benches (issue 13, item 5): PgBouncer in transaction
 * pooling mode in front of a PostgreSQL server, and haproxy balancing HTTP over several
 * `fenxiao serve` processes. Both are Debian's packages (`apt-get install haproxy pgbouncer`,
 * which .ci/run does); each gets its own config file in a temp folder and its own free port, runs
 * in the foreground as a child of the caller, and is stopped (and the folder removed) by `stop`.
 * The sample configurations in docs/deployment.md are the same settings.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './spawn.ts';

const PGBOUNCER = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'];
const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy'];

function which(candidates: string[], name: string): string | null {
  for (const c of candidates) if (fs.existsSync(c)) return c;
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/** Why the balanced deployment cannot run here (a binary missing), or null when it can. */
export function balancerUnavailable(): string | null {
  const missing = [which(PGBOUNCER, 'pgbouncer') ? null : 'pgbouncer', which(HAPROXY, 'haproxy') ? null : 'haproxy'].filter(Boolean);
  return missing.length ? `${missing.join(' and ')} not installed (apt-get install -y ${missing.join(' ')})` : null;
}

/** A child process of ours, with its output kept for the failure message. */
export interface Daemon {
  child: ChildProcess;
  port: number;
  output(): string;
  stop(): Promise<void>;
}

function startDaemon(bin: string, args: string[], port: number, cwd: string): Daemon {
  const child = spawn(bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    child,
    port,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port; throws after `withinMs` or if `daemon` exits. */
async function listening(daemon: Daemon, what: string, withinMs = 15_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) break;
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: daemon.port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not start on port ${daemon.port}:\n${daemon.output().slice(-3000)}`);
}

export interface PgBouncer extends Daemon {
  /** DATABASE_URL through PgBouncer for the database of `directUrl`. */
  url: string;
  /** The pgbouncer binary. */
  bin: string;
  /** SHOW <what> on PgBouncer's admin console (pools, stats, servers …), rows as objects. */
  show(what: string): Promise<Record<string, string>[]>;
}

/**
 * PgBouncer in transaction pooling mode in front of the server of `directUrl` (trust auth, the
 * URL's user): clients of every process share `poolSize` server connections per database and
 * user, each one held only for the length of a transaction.
 */
export async function startPgBouncer(
  directUrl: string,
  options: { poolSize?: number; maxClients?: number; settings?: Record<string, string | number> } = {},
): Promise<PgBouncer> {
  const bin = which(PGBOUNCER, 'pgbouncer');
  if (!bin) throw new Error('pgbouncer is not installed (apt-get install -y pgbouncer)');
  const direct = new URL(directUrl);
  const user = decodeURIComponent(direct.username || os.userInfo().username);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-pgbouncer-'));
  // PgBouncer refuses to run as root: it is started as `nobody` then, who must read the folder.
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  const ini = [
    '[databases]',
    `* = host=${direct.hostname} port=${direct.port || '5432'}`,
    '',
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${path.join(dir, 'userlist.txt')}`,
    `admin_users = ${user}`,
    'pool_mode = transaction',
    `default_pool_size = ${options.poolSize ?? 10}`,
    `max_client_conn = ${options.maxClients ?? 400}`,
    // node-postgres sends no startup options of its own; a DATABASE_URL's ?options= must not pass
    // unnoticed (a session setting would reach one server connection only).
    'ignore_startup_parameters = extra_float_digits',
    'server_reset_query =',
    'server_check_delay = 5',
    'log_connections = 0',
    'log_disconnections = 0',
    ...Object.entries(options.settings ?? {}).map(([k, v]) => `${k} = ${v}`),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'pgbouncer.ini'), ini);
  fs.writeFileSync(path.join(dir, 'userlist.txt'), `"${user}" ""\n`);
  const asRoot = process.getuid?.() === 0;
  const d = startDaemon(bin, [...(asRoot ? ['-u', 'nobody'] : []), path.join(dir, 'pgbouncer.ini')], port, dir);
  const stop = d.stop;
  try {
    await listening(d, 'pgbouncer');
  } catch (err) {
    await stop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const url = new URL(directUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    ...d,
    url: url.toString(),
    bin,
    async show(what: string) {
      const { default: pg } = await import('pg');
      const admin = new URL(url);
      admin.pathname = '/pgbouncer';
      // The admin console speaks the simple query protocol only.
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
      try {
        const r = await c.query({ text: `show ${what}`, queryMode: 'simple' } as unknown as string);
        return r.rows as Record<string, string>[];
      } finally {
        await c.end();
      }
    },
    async stop() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One server line of haproxy's `show stat`: its state (UP, DOWN …) and responses by class. */
export interface BackendStat {
  name: string;
  status: string;
  /** Requests it was sent. */
  requests: number;
  responses2xx: number;
  responses5xx: number;
}

export interface Haproxy extends Daemon {
  url: string;
  /** The config file haproxy runs (kept until stop). */
  config: string;
  /** The backend's servers as haproxy sees them now (its admin socket's `show stat`). */
  stats(): Promise<BackendStat[]>;
}

/**
 * haproxy balancing HTTP round-robin over `backends` (ports on 127.0.0.1), each health-checked
 * on GET /health every 500 ms: a process that stops answering is taken out after two failed
 * checks, and a request whose connection to it fails is sent to another (redispatch).
 */
export async function startHaproxy(backends: number[]): Promise<Haproxy> {
  const bin = which(HAPROXY, 'haproxy');
  if (!bin) throw new Error('haproxy is not installed (apt-get install -y haproxy)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-haproxy-'));
  const port = await freePort();
  const config = path.join(dir, 'haproxy.cfg');
  const socket = path.join(dir, 'admin.sock');
  fs.writeFileSync(config, haproxyConfig(port, backends, socket));
  const check = spawnSync(bin, ['-c', '-q', '-f', config], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy refuses its config:\n${check.stdout}${check.stderr}`);
  const d = startDaemon(bin, ['-db', '-f', config], port, dir);
  const stop = d.stop;
  try {
    await listening(d, 'haproxy');
  } catch (err) {
    await stop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    ...d,
    url: `http://127.0.0.1:${port}`,
    config,
    async stats() {
      const csv = await new Promise<string>((resolve, reject) => {
        let out = '';
        const c = net.connect(socket, () => c.end('show stat\n'));
        c.on('data', (d: Buffer) => {
          out += d.toString();
        });
        c.on('end', () => resolve(out));
        c.on('error', reject);
      });
      const [head, ...rows] = csv.replace(/^# /, '').trim().split('\n');
      const cols = head!.split(',');
      const at = (row: string[], col: string) => row[cols.indexOf(col)] ?? '';
      return rows
        .map((r) => r.split(','))
        .filter((r) => at(r, 'pxname') === 'fenxiao' && at(r, 'svname').startsWith('app'))
        .map((r) => ({
          name: at(r, 'svname'),
          status: at(r, 'status'),
          requests: Number(at(r, 'stot')),
          responses2xx: Number(at(r, 'hrsp_2xx')),
          responses5xx: Number(at(r, 'hrsp_5xx')),
        }));
    },
    async stop() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The haproxy configuration of docs/deployment.md, for a test's ports. */
export function haproxyConfig(port: number, backends: number[], adminSocket?: string): string {
  return [
    'global',
    '  maxconn 2000',
    ...(adminSocket ? [`  stats socket ${adminSocket} mode 600 level admin`] : []),
    '',
    'defaults',
    '  mode http',
    '  option httplog',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout http-keep-alive 10s',
    // A connection that cannot be made is tried again on another process; a request already sent
    // is not (the client retries it with the same external id or Idempotency-Key).
    '  retries 3',
    '  option redispatch 1',
    '  retry-on conn-failure',
    '',
    'frontend fenxiao',
    `  bind 127.0.0.1:${port}`,
    '  option forwardfor',
    '  default_backend fenxiao',
    '',
    'backend fenxiao',
    '  balance roundrobin',
    '  option httpchk GET /health',
    '  http-check expect status 200',
    '  default-server inter 500ms fall 2 rise 2',
    ...backends.map((p, i) => `  server app${i + 1} 127.0.0.1:${p} check`),
    '',
  ].join('\n');
}

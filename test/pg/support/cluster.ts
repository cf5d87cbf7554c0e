import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './spawn.ts';

const run = promisify(execFile);

/** Where PostgreSQL's server binaries are: FENXIAO_PG_BIN, else Debian's place for version 15. */
export function postgresBinDir(): string {
  return process.env.FENXIAO_PG_BIN ?? '/usr/lib/postgresql/15/bin';
}

/**
 * Why a private cluster cannot be made here, or null when it can: the binaries are missing, or
 * we are root (initdb refuses to run as root) with no `postgres` user to run them as.
 */
export function privateClusterUnavailable(): string | null {
  const bin = postgresBinDir();
  for (const tool of ['initdb', 'pg_ctl', 'postgres']) {
    if (!fs.existsSync(path.join(bin, tool))) return `no ${tool} in ${bin} (set FENXIAO_PG_BIN)`;
  }
  if (process.getuid?.() === 0) {
    try {
      postgresUser();
    } catch {
      return 'running as root and there is no `postgres` user to run initdb as';
    }
  }
  return null;
}

function postgresUser(): { uid: number; gid: number } {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export type StopMode = 'fast' | 'immediate';

export interface PrivateCluster {
  /** postgres://… of the database `fenxiao` in this cluster (trust auth, role `fenxiao`). */
  url: string;
  port: number;
  dir: string;
  stop(mode: StopMode): Promise<void>;
  start(): Promise<void>;
  /** `pg_ctl restart -m <mode>`: the shortest outage, as an operator's restart. */
  restart(mode: StopMode): Promise<void>;
  /** The server log (startup, shutdown, what the backends said). */
  log(): string;
  destroy(): Promise<void>;
}

/**
 * A PostgreSQL cluster of this test's own, in a temporary folder on a free port, that it may stop
 * and restart as it likes: the shared server other test files use must never go away under them.
 * Made as the `postgres` user when we are root (initdb refuses root). fsync is off: the cluster is
 * thrown away, and a stop (even `-m immediate`) kills processes, not the machine, so what was
 * written to the OS is kept.
 */
export async function createPrivateCluster(): Promise<PrivateCluster> {
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? postgresUser() : null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-pgcluster-'));
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const port = await freePort();

  const pgTool = async (tool: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args]] : [path.join(bin, tool), args];
    try {
      await run(file, argv, { cwd: dir, timeout: 60_000 });
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new Error(`${tool} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}\n${readLog().slice(-2000)}`, {
        cause: err,
      });
    }
  };
  const readLog = () => {
    try {
      return fs.readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c max_connections=60',
    '-c shared_buffers=32MB',
  ].join(' ');
  const start = () => pgTool('pg_ctl', ['start', '-w', '-t', '60', '-D', data, '-l', logFile, '-o', options]);

  const url = `postgres://fenxiao@127.0.0.1:${port}`;
  try {
    await pgTool('initdb', ['-D', data, '-U', 'fenxiao', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    await start();
    const admin = new pg.Client({ connectionString: `${url}/postgres` });
    await admin.connect();
    try {
      await admin.query('create database fenxiao');
    } finally {
      await admin.end();
    }
  } catch (err) {
    await pgTool('pg_ctl', ['stop', '-w', '-m', 'immediate', '-D', data]).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  let destroyed = false;
  return {
    url: `${url}/fenxiao`,
    port,
    dir,
    stop: (mode) => pgTool('pg_ctl', ['stop', '-w', '-t', '60', '-m', mode, '-D', data]),
    start,
    restart: (mode) => pgTool('pg_ctl', ['restart', '-w', '-t', '60', '-m', mode, '-D', data, '-l', logFile, '-o', options]),
    log: readLog,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await pgTool('pg_ctl', ['stop', '-w', '-t', '60', '-m', 'immediate', '-D', data]).catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

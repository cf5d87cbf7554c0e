import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

export const REPO = path.resolve(import.meta.dirname, '../..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<number | null>;
}

/**
 * A real `fenxiao serve` process on a free port, answered once GET /health says ok. `serveArgs`
 * default to one process (`--workers 1`): on PostgreSQL serve would otherwise fork one worker per
 * core, and a bench measuring one process's CPU and memory would measure the cluster's primary.
 */
export async function startServer(
  env: Record<string, string>,
  readyWithinMs = 600_000,
  nodeArgs: string[] = [],
  serveArgs: string[] = ['--workers', '1'],
): Promise<ServerProcess> {
  const port = await freePort();
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && k !== 'DATABASE_URL' && k !== 'REDIS_URL' && !k.startsWith('FENXIAO_')) base[k] = v;
  }
  // nodeArgs: flags for node itself, e.g. --cpu-prof (not allowed in NODE_OPTIONS).
  const child = spawn(process.execPath, [...nodeArgs, path.join(REPO, 'bin/fenxiao.js'), 'serve', ...serveArgs], {
    cwd: REPO,
    env: { ...base, HOST: '127.0.0.1', LOG_LEVEL: 'warn', FENXIAO_RUN_JOBS: 'false', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  });
  child.stderr!.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  });
  let gone = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      gone = true;
      resolve(code);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyWithinMs;
  while (!gone && Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/health`);
      if (res.status === 200) {
        return {
          url,
          child,
          output: () => out,
          stop: async () => {
            if (!gone) child.kill('SIGTERM');
            return exited;
          },
        };
      }
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!gone) child.kill('SIGKILL');
  throw new Error(`fenxiao serve did not start:\n${out.slice(-3000)}`);
}

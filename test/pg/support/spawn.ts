import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

export const REPO = path.resolve(import.meta.dirname, '../../..');
const BIN = path.join(REPO, 'bin/fenxiao.js');

/** A port nobody listens on right now (the kernel picks it; we close and hand it on). */
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

/** Runs `node bin/fenxiao.js <args>` to completion and answers its exit code and output. */
export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ServerProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Sends `signal` and answers the exit code once the process has ended. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** The parent's environment without what would steer the child elsewhere (tests set these). */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (
      k === 'DATABASE_URL' ||
      k === 'REDIS_URL' ||
      k === 'AMQP_URL' ||
      k === 'PORT' ||
      k.startsWith('FENXIAO_') ||
      k.startsWith('VITEST') ||
      k === 'NODE_OPTIONS'
    )
      continue;
    env[k] = v;
  }
  return env;
}

/**
 * `node bin/fenxiao.js serve` on a free port (or on `port`, to start a process again where a
 * balancer expects it), answered once GET /health says ok. A free port taken between choosing
 * and binding is retried with another.
 */
export async function spawnServer(env: Record<string, string>, readyWithinMs = 90_000, fixedPort?: number): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? (await freePort());
    const child = spawn(process.execPath, [BIN, 'serve'], {
      cwd: REPO,
      env: { ...cleanEnv(), HOST: '127.0.0.1', LOG_LEVEL: 'info', FENXIAO_RUN_JOBS: 'false', ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let gone = false;
    void exited.then(() => {
      gone = true;
    });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + readyWithinMs;
    let ready = false;
    while (!gone && Date.now() < deadline) {
      try {
        const res = await fetch(`${url}/health`);
        if (res.status === 200 && ((await res.json()) as { status?: string }).status === 'ok') {
          ready = true;
          break;
        }
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (ready) {
      return {
        url,
        port,
        child,
        exited,
        output: () => out,
        async stop(signal = 'SIGTERM') {
          if (!gone) child.kill(signal);
          return exited;
        },
      };
    }
    if (!gone) {
      child.kill('SIGKILL');
      await exited;
    }
    if (attempt < 3 && fixedPort === undefined && /EADDRINUSE/.test(out)) continue;
    throw new Error(`fenxiao serve did not become ready on port ${port}:\n${out.slice(-4000)}`);
  }
}

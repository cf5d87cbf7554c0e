import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface PgbenchResult {
  tps: number;
  transactions: number;
  failed: number;
  /** Per-transaction latency in ms from pgbench's log (-l); with -R, counted from when it was due. */
  latencies: number[];
  /** With -R: how late transactions started, ms (schedule lag). */
  maxLagMs: number;
  stdout: string;
}

/** Finds pgbench: on PATH, or where Debian's postgresql-client puts it. */
export function pgbenchPath(): string | null {
  const candidates = [...(process.env.PATH ?? '').split(':').map((d) => path.join(d, 'pgbench')), '/usr/bin/pgbench'];
  for (const dir of fs.existsSync('/usr/lib/postgresql') ? fs.readdirSync('/usr/lib/postgresql') : [])
    candidates.push(`/usr/lib/postgresql/${dir}/bin/pgbench`);
  return candidates.find((c) => fs.existsSync(c)) ?? null;
}

/**
 * Runs a custom pgbench script (-f) against `url` for `seconds` with `clients` connections,
 * optionally throttled to `rate` transactions per second (-R), and reads every transaction's
 * latency from its log.
 */
export async function runPgbench(opts: {
  url: string;
  script: string;
  clients: number;
  threads: number;
  seconds: number;
  rate?: number | undefined;
  vars?: Record<string, string | number>;
  protocol?: 'simple' | 'extended' | 'prepared';
}): Promise<PgbenchResult> {
  const bin = pgbenchPath();
  if (!bin) throw new Error('pgbench is not installed (apt-get install postgresql-client or postgresql-contrib)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-pgbench-'));
  try {
    const scriptFile = path.join(dir, 'script.sql');
    fs.writeFileSync(scriptFile, opts.script);
    const args = [
      '-n',
      '-f',
      scriptFile,
      '-c',
      String(opts.clients),
      '-j',
      String(Math.min(opts.threads, opts.clients)),
      '-T',
      String(opts.seconds),
      '-M',
      opts.protocol ?? 'simple',
      '-l',
      `--log-prefix=${path.join(dir, 'log')}`,
      ...(opts.rate ? ['-R', String(opts.rate)] : []),
      ...Object.entries(opts.vars ?? {}).flatMap(([k, v]) => ['-D', `${k}=${v}`]),
      opts.url,
    ];
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    });
    if (code !== 0) throw new Error(`pgbench exited ${code}:\n${stderr.slice(-3000)}\n${stdout.slice(-2000)}`);
    const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? NaN);
    const transactions = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1] ?? NaN);
    const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
    // Log lines: client_id transaction_no time_us script_no time_epoch time_us_part [schedule_lag_us]
    const latencies: number[] = [];
    let maxLagMs = 0;
    for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('log'))) {
      for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
        const parts = line.trim().split(/\s+/);
        if (parts.length < 6) continue;
        const us = Number(parts[2]);
        if (!Number.isFinite(us)) continue;
        // With -R pgbench counts the latency from when the transaction was due (its schedule),
        // as the HTTP open loop does; the last field is how late it started.
        const lag = parts.length >= 7 ? Number(parts[6]) / 1000 : 0;
        latencies.push(us / 1000);
        maxLagMs = Math.max(maxLagMs, lag);
      }
    }
    return { tps, transactions, failed, latencies, maxLagMs, stdout };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

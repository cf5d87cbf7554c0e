/**
 * The start-up benchmark: how long `fenxiao` takes to be useful, run from the server build
 * (dist/server/main.js, what `npm start` and the `fenxiao` command run after `npm install`) and
 * from the TypeScript sources through tsx (what runs when the build is missing or stale).
 *
 * Three measures, each the wall time of a fresh process, several runs each:
 *   help     `fenxiao --help`: loading the command, no database
 *   migrate  `fenxiao migrate` on an existing embedded database (opens PGlite, finds nothing
 *            to do, closes): what every CLI command costs before its own work
 *   serve    `fenxiao serve` on a new, empty embedded data folder until GET /health answers 200
 *            (creates the database and runs every migration first): a newcomer's first start
 *
 * Wall times are medians of the runs; CPU time (user + system of the process, where Linux's /proc
 * tells it; for serve, until it is stopped right after /health) shows the cost apart from how
 * busy the machine is. It runs on a snapshot of the repository (bench/lib/snapshot.ts) built once at the start, so
 * that edits in the working tree meanwhile change nothing. tsx keeps a compile cache in the temp
 * folder, so its runs after the first are its warm case; the first start after a clone is slower.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { intOption, listOption, parseArgs } from './lib/args.ts';
import { log } from './lib/progress.ts';
import { freePort } from './lib/server.ts';
import { snapshotRepo } from './lib/snapshot.ts';
import { summarize } from './lib/stats.ts';
import { ms, printTable } from './lib/table.ts';
import { nowMs } from './lib/timing.ts';

/**
 * CPU time (user + system, ms) of this process's children that have ended and been reaped
 * (cutime + cstime of /proc/self/stat; Linux): its change across one child's run is that child's
 * CPU time, a figure a busy machine inflates far less than wall time. Undefined elsewhere.
 */
function childrenCpuMs(): number | undefined {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

interface Timing {
  wallMs: number;
  cpuMs: number | undefined;
}

async function withCpu(fn: () => Promise<number>): Promise<Timing> {
  const before = childrenCpuMs();
  const wallMs = await fn();
  const after = childrenCpuMs();
  return { wallMs, cpuMs: before === undefined || after === undefined ? undefined : after - before };
}

export const description = 'start-up time of the CLI and of a fresh embedded server, from the build and through tsx';
export const usage = ['--runs 5               runs of each measure (the median is reported)', '--modes build,tsx      what bin/fenxiao.js runs'].join('\n');

type Mode = 'build' | 'tsx';
type Measure = 'help' | 'migrate' | 'serve';

interface Row {
  mode: Mode;
  measure: Measure;
  runs: number;
  p50: number;
  min: number;
  max: number;
  cpuP50: number;
}

/** The environment of a child: the parent's, without anything that would steer it elsewhere. */
function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k === 'DATABASE_URL' || k === 'REDIS_URL' || k === 'AMQP_URL' || k === 'PORT' || k.startsWith('FENXIAO_') || k === 'NODE_OPTIONS')
      continue;
    env[k] = v;
  }
  return { ...env, LOG_LEVEL: 'warn', FENXIAO_RUN_JOBS: 'false', ...extra };
}

/** Runs `node <bin> <args>` to its end; answers the wall time, or throws with its output. */
function runTimed(bin: string, args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = nowMs();
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const took = nowMs() - started;
      if (code === 0) resolve(took);
      else reject(new Error(`fenxiao ${args.join(' ')} exited with ${code}:\n${out}`));
    });
  });
}

/** Spawns `serve` on a fresh data folder and answers the time until GET /health is 200. */
async function timeServe(bin: string, env: Record<string, string>): Promise<number> {
  const port = await freePort();
  const started = nowMs();
  const child = spawn(process.execPath, [bin, 'serve'], { env: { ...env, HOST: '127.0.0.1', PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-10_000)));
  child.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-10_000)));
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    child.on('exit', () => {
      exited = true;
      resolve();
    }),
  );
  try {
    while (!exited && nowMs() - started < 300_000) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`);
        if (res.status === 200) return nowMs() - started;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`fenxiao serve did not answer /health:\n${out}`);
  } finally {
    if (!exited) child.kill('SIGTERM');
    await gone;
  }
}

export async function main(argv: string[]): Promise<void> {
  const { options } = parseArgs(argv);
  const runs = Math.max(1, intOption(options, 'runs', 5));
  const modes = listOption(options, 'modes', ['build', 'tsx']) as Mode[];
  for (const m of modes) if (m !== 'build' && m !== 'tsx') throw new Error(`--modes takes build and tsx, got "${m}"`);

  const snap = snapshotRepo('fenxiao-bench-startup-');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-bench-startup-data-'));
  try {
    const buildStarted = nowMs();
    await runTimed(path.join(snap.dir, 'scripts/build-server.mjs'), [], childEnv({}));
    const buildMs = nowMs() - buildStarted;
    const bin = path.join(snap.dir, 'bin/fenxiao.js');
    const existing = path.join(scratch, 'existing');
    await runTimed(bin, ['migrate'], childEnv({ FENXIAO_DATA_DIR: existing }));

    const rows: Row[] = [];
    for (const mode of modes) {
      const modeEnv: Record<string, string> = mode === 'tsx' ? { FENXIAO_FROM_SOURCE: '1' } : {};
      // One unmeasured run of each mode first: it warms the OS file cache (and tsx's cache).
      await runTimed(bin, ['--help'], childEnv(modeEnv));
      const times: Record<Measure, Timing[]> = { help: [], migrate: [], serve: [] };
      for (let i = 0; i < runs; i++) {
        log(`${mode}: run ${i + 1}/${runs}`);
        times.help.push(await withCpu(() => runTimed(bin, ['--help'], childEnv(modeEnv))));
        times.migrate.push(await withCpu(() => runTimed(bin, ['migrate'], childEnv({ ...modeEnv, FENXIAO_DATA_DIR: existing }))));
        times.serve.push(await withCpu(() => timeServe(bin, childEnv({ ...modeEnv, FENXIAO_DATA_DIR: path.join(scratch, `fresh-${mode}-${i}`) }))));
      }
      for (const measure of ['help', 'migrate', 'serve'] as const) {
        const s = summarize(times[measure].map((t) => t.wallMs));
        const cpu = times[measure].flatMap((t) => (t.cpuMs === undefined ? [] : [t.cpuMs]));
        rows.push({ mode, measure, runs: s.count, p50: s.p50, min: s.min, max: s.max, cpuP50: summarize(cpu).p50 });
      }
    }

    const load = os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
    printTable(
      `Start-up, wall time of a fresh process (ms); node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load average ${load}; server build made in ${ms(buildMs)} ms`,
      [
        { header: 'runs from', value: (r) => (r.mode === 'build' ? 'dist/server (build)' : 'src through tsx') },
        {
          header: 'measure',
          value: (r) => (r.measure === 'help' ? 'fenxiao --help' : r.measure === 'migrate' ? 'fenxiao migrate (existing db)' : 'fresh serve to /health 200'),
        },
        { header: 'runs', value: (r) => r.runs, align: 'right' },
        { header: 'median', value: (r) => ms(r.p50), align: 'right' },
        { header: 'min', value: (r) => ms(r.min), align: 'right' },
        { header: 'max', value: (r) => ms(r.max), align: 'right' },
        { header: 'CPU median', value: (r) => ms(r.cpuP50), align: 'right' },
      ],
      rows,
    );
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
    snap.remove();
  }
}

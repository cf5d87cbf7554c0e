import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import { sql } from 'kysely';
import pino from 'pino';
import type { Config } from '../app/config.ts';
import { openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { LOG_REDACT, LOG_SERIALIZERS } from '../lib/log-safety.ts';
import { exitAfterLogs, standardOutput } from '../lib/log-output.ts';
import { checkPortFree, reachDatabase, welcome } from '../app/startup.ts';
import { keyRingFromConfig } from '../modules/pii/keys.ts';
import { serveClusterMetrics } from '../app/metrics.ts';

/** Upper bound of --workers: far above any machine's cores, low enough to catch a typo. */
export const MAX_WORKERS = 256;

/**
 * How many processes `fenxiao serve` runs. On PostgreSQL with Redis the default is one per core.
 * Without Redis the default is one: rate limits (failed logins above all) are counted in each
 * process, so N workers would let an attacker try N times as many passwords; `--workers N` still
 * asks for N, with a warning from the primary. The embedded database is a folder one process owns
 * (it is locked while open), so on PGlite there is one process whatever was asked, and `note`
 * says why.
 */
export function workerCount(requested: number | undefined, config: Pick<Config, 'databaseUrl' | 'redisUrl'>): { count: number; note?: string } {
  if (!config.databaseUrl) {
    return requested !== undefined && requested > 1
      ? { count: 1, note: `--workers ${requested} needs PostgreSQL (DATABASE_URL): the embedded database is owned by one process, so one process serves` }
      : { count: 1 };
  }
  if (requested !== undefined) return { count: requested };
  if (!config.redisUrl) {
    const cores = os.availableParallelism();
    return cores > 1
      ? {
          count: 1,
          note: `one process serves: set REDIS_URL (rate limits shared across processes) to run one worker per core (${cores}), or ask for them with --workers`,
        }
      : { count: 1 };
  }
  return { count: os.availableParallelism() };
}

/** JSON log lines like the workers' (Fastify's pino, the same serializers and redaction). */
export function processLogger(config: Pick<Config, 'logLevel'>) {
  return pino({ level: config.logLevel, serializers: LOG_SERIALIZERS, redact: LOG_REDACT }, standardOutput());
}

/** Restart delays of a worker that keeps dying: 0.5 s doubling to 30 s; reset once a worker has lived a minute. */
const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 30_000;
const HEALTHY_AFTER_MS = 60_000;

/**
 * The primary of `fenxiao serve --workers N` (node:cluster): it prepares what must happen once,
 * forks N workers that each run `serve()` (the port is shared by cluster, each worker has its own
 * pool and its own per-tenant order batcher), restarts a worker that dies with a growing delay,
 * and on SIGTERM/SIGINT stops every worker gracefully and exits once they have all exited.
 */
export async function servePrimary(config: Config, count: number): Promise<void> {
  const log = processLogger(config);

  // Once, before any worker. The master key file is created with O_EXCL when missing, so workers
  // racing to create it would fail; the schema is migrated here so workers find it up to date
  // (theirs is a check under the migration lock that applies nothing).
  keyRingFromConfig(config);
  // A port already taken is said before anything is migrated, naming PORT.
  await checkPortFree(config.host, config.port);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1, prepare: config.databasePrepare });
  let maxConnections: number | undefined;
  let tenants = -1;
  try {
    await reachDatabase(database, config.databaseUrl);
    const applied = await migrateToLatest(database.db);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
    const r = await sql<{ max_connections: string }>`show max_connections`.execute(database.db);
    maxConnections = Number(r.rows[0]?.max_connections) || undefined;
    tenants = Number((await sql<{ n: string }>`select count(*) as n from tenants`.execute(database.db)).rows[0]?.n ?? 0);
  } finally {
    await database.close();
  }
  // Each worker opens its own pool: N × FENXIAO_DB_POOL_SIZE connections in all.
  if (maxConnections !== undefined && count * config.databasePoolSize > maxConnections) {
    log.warn(
      { workers: count, pool_size: config.databasePoolSize, max_connections: maxConnections },
      `${count} workers × FENXIAO_DB_POOL_SIZE ${config.databasePoolSize} connections is more than PostgreSQL's max_connections ${maxConnections}: lower one of them or put PgBouncer in between`,
    );
  }
  if (!config.redisUrl) {
    log.warn(
      { workers: count },
      'rate limits (failed logins, registrations and bindings per IP or device) count in each worker, not across them: set REDIS_URL to share them',
    );
  }

  const live = new Map<Worker, { slot: number; startedAt: number }>();
  const failures = new Map<number, number>();
  const restarts = new Set<NodeJS.Timeout>();
  let stopping = false;
  let listening = 0;
  let unclean = 0;

  const fork = (slot: number) => {
    // Scheduled jobs run in the first worker only. Running them in every worker would be correct
    // too (settlement takes an advisory lock, auto-receipt skips locked orders, payouts are
    // leased), but N passes over every tenant per interval would buy nothing.
    const worker = cluster.fork(slot === 1 ? {} : { FENXIAO_RUN_JOBS: 'false' });
    live.set(worker, { slot, startedAt: Date.now() });
  };

  cluster.on('listening', (worker, address) => {
    const w = live.get(worker);
    // Stopping already: a worker asked before it had loaded its handlers (a stop right after the
    // start) never got the request. It has them now (src/main.ts installs them before listening).
    if (stopping) {
      askToStop(worker);
      return;
    }
    log.info({ worker: w?.slot, worker_pid: worker.process.pid, port: address.port }, 'worker listening');
    if (++listening === count) {
      log.info({ workers: count, port: config.port, host: config.host }, `fenxiao is serving with ${count} workers`);
      process.stderr.write(`${welcome({ url: config.publicUrl, tenants, database: 'postgres' })}\n`);
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    const w = live.get(worker);
    live.delete(worker);
    if (!w) return;
    if (stopping) {
      if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGINT') unclean++;
      if (live.size === 0) finish();
      return;
    }
    const lived = Date.now() - w.startedAt;
    const failed = lived >= HEALTHY_AFTER_MS ? 0 : (failures.get(w.slot) ?? 0);
    failures.set(w.slot, failed + 1);
    const delay = Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** failed);
    log.error(
      { worker: w.slot, worker_pid: worker.process.pid, code, signal, lived_ms: lived, restart_in_ms: delay },
      'worker exited unexpectedly; restarting it',
    );
    const timer = setTimeout(() => {
      restarts.delete(timer);
      if (!stopping) fork(w.slot);
    }, delay);
    restarts.add(timer);
  });

  const finish = () => {
    log.info({ unclean_exits: unclean }, 'stopped');
    exitAfterLogs(unclean === 0 ? 0 : 1);
  };

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal: the operator wants it gone now.
      log.warn({ signal, workers: live.size }, 'second signal: killing the workers and exiting now');
      for (const worker of live.keys()) worker.process.kill('SIGKILL');
      exitAfterLogs(1, 200);
      return;
    }
    stopping = true;
    for (const t of restarts) clearTimeout(t);
    restarts.clear();
    log.info({ signal, workers: live.size }, 'shutting down: each worker finishes its in-flight requests');
    // Each worker's own handler (src/main.ts serve) stops it gracefully within the grace period;
    // this timer only catches a worker that hangs past it.
    const timer = setTimeout(
      () => {
        log.error({ workers: live.size }, 'shutdown grace period over; killing the workers left');
        for (const worker of live.keys()) worker.process.kill('SIGKILL');
        exitAfterLogs(1, 200);
      },
      (config.shutdownGraceSeconds + 5) * 1000,
    );
    timer.unref();
    if (live.size === 0) {
      finish();
      return;
    }
    // Asked over IPC (src/main.ts serve): a worker that also got the signal itself (Ctrl-C reaches
    // the whole process group) must not take this for a second one. SIGTERM if the channel is gone.
    for (const worker of live.keys()) askToStop(worker);
  };
  const askToStop = (worker: Worker) => {
    try {
      if (!worker.isConnected() || !worker.send({ fenxiao: 'shutdown' })) worker.process.kill('SIGTERM');
    } catch {
      worker.process.kill('SIGTERM');
    }
  };
  process.on('SIGTERM', () => {
    stop('SIGTERM');
  });
  process.on('SIGINT', () => {
    stop('SIGINT');
  });

  serveClusterMetrics();
  log.info({ workers: count, database: 'postgres' }, `starting ${count} workers`);
  for (let slot = 1; slot <= count; slot++) fork(slot);
}

import fs from 'node:fs';
import path from 'node:path';
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import { Kysely, sql, type Transaction } from 'kysely';
import { PostgresDialect } from 'kysely';
import pg from 'pg';
import { PGliteDialect } from './pglite-dialect.ts';
import { countingDialect, dbStats } from './counting.ts';
import { autoPrepare, GENERIC_BEGIN, statementNames } from './prepare.ts';
import type { DB } from './schema.ts';
import { isRetryableTxError } from '../core/errors.ts';

export type Db = Kysely<DB>;
export type Tx = Transaction<DB>;
/** Either the database or a transaction: repositories accept both. */
export type Executor = Kysely<DB> | Transaction<DB>;

export interface Database {
  db: Db;
  /**
   * The same database, for transactions whose statements all find their rows by key (the order
   * path's batches): they plan their named statements once, generically (GENERIC_BEGIN in
   * prepare.ts). On PGlite, a second Kysely over the same session.
   */
  keyed: Db;
  kind: 'pglite' | 'postgres';
  /** The PGlite instance when embedded (tests dump it; the CLI backs it up). */
  pglite?: PGlite;
  /**
   * Told of each pooled connection PostgreSQL dropped (a restart, a failover, a network cut), once
   * per connection; the server points it at its log. The connection is discarded either way and
   * the next query opens a new one, so the server recovers when the database is back.
   */
  onConnectionLost?: ((err: Error) => void) | undefined;
  /**
   * Told once if named prepared statements (prepare.ts) turned out lost between the queries of one
   * connection (a pooler in transaction mode that does not keep them) and were turned off for the
   * rest of the process; the server logs it, naming FENXIAO_DB_PREPARE.
   */
  onPreparedStatementsOff?: ((err: Error) => void) | undefined;
  close(): Promise<void>;
}

/**
 * int8 is how every amount in fen is stored. JavaScript numbers hold integers exactly up to
 * 2^53 (90 trillion yuan), far above any amount Fenxiao accepts; beyond that we refuse to
 * guess rather than round.
 */
export function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${value} is beyond the safe integer range`);
  return n;
}

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  dataDir?: string | undefined;
  poolSize?: number | undefined;
  /** Embedded only: start from a dump (a data dir tarball) instead of initdb. */
  pgliteLoadFrom?: Blob | File | undefined;
  /** Embedded only: keep the data in memory (tests). */
  inMemory?: boolean | undefined;
  /**
   * Statements sent again and again become named (prepared) statements, parsed and planned once
   * per connection (prepare.ts), on PostgreSQL and on the embedded database alike. On unless
   * turned off (`FENXIAO_DB_PREPARE=off`, for a pooler that cannot keep them).
   */
  prepare?: boolean | undefined;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 20,
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === 20 ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // node-postgres emits 'error' on a Client whose connection dies, and an 'error' event nobody
    // listens to ends the process. The pool listens only while a client is idle in it; a client
    // checked out (by Kysely for a query, or held between the statements of a transaction) has
    // no listener of its own, and a fast shutdown of PostgreSQL (57P01 on every backend) or a
    // dropped socket crashed the server (issue 15). Every client gets a listener as the pool
    // makes it, for its whole life: the error is reported once, the query in flight (if any)
    // fails with it and answers 503, and the pool discards the client when it comes back
    // (_queryable is false), so nothing reconnects by hand.
    const prepare =
      options.prepare === false
        ? undefined
        : autoPrepare({
            onOff: (err) => {
              database.onPreparedStatementsOff?.(err);
            },
          });
    pool.on('connect', (client) => {
      prepare?.attach(client);
      let reported = false;
      client.on('error', (err: Error) => {
        if (reported) return;
        reported = true;
        dbStats.connectionsLost++;
        try {
          database.onConnectionLost?.(err);
        } catch {
          /* a logger failing must not become the crash */
        }
      });
    });
    // The pool re-emits an idle client's error after removing the client; the client's own
    // listener above has reported it already.
    pool.on('error', () => {});
    const db = new Kysely<DB>({ dialect: countingDialect(new PostgresDialect({ pool })) });
    const keyed = new Kysely<DB>({ dialect: countingDialect(new PostgresDialect({ pool }), { begin: GENERIC_BEGIN, shared: true }) });
    const database: Database = { db, keyed, kind: 'postgres', close: () => db.destroy() };
    return database;
  }

  let dataDir: string | undefined;
  let unlock = () => {};
  if (!options.inMemory) {
    dataDir = path.resolve(options.dataDir ?? './data', 'pgdata');
    fs.mkdirSync(dataDir, { recursive: true });
    unlock = lockDataDir(path.dirname(dataDir));
  }
  try {
    const client = new PGlite({
      ...(dataDir ? { dataDir } : {}),
      ...(options.pgliteLoadFrom ? { loadDataDir: options.pgliteLoadFrom } : {}),
      parsers: { [pgliteTypes.INT8]: parseInt8 },
    });
    await client.waitReady;
    // One dialect (one driver, one queue for the one session) under both Kysely instances.
    const dialect = new PGliteDialect(client, options.prepare === false ? undefined : statementNames());
    const db = new Kysely<DB>({ dialect: countingDialect(dialect) });
    const keyed = new Kysely<DB>({ dialect: countingDialect(dialect, { begin: GENERIC_BEGIN, shared: true }) });
    return { db, keyed, kind: 'pglite', pglite: client, close: () => db.destroy().finally(unlock) };
  } catch (err) {
    unlock();
    throw err;
  }
}

export class DataDirInUse extends Error {}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite is one process's database: a second process opening the same folder (a `fenxiao`
 * command while the server runs) would corrupt it. The folder is claimed by a lock file holding
 * the owner's pid; a lock whose process is gone (a crash, SIGKILL) is taken over. Returns the release.
 */
export function lockDataDir(dir: string): () => void {
  const file = path.join(dir, 'fenxiao.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => {
        try {
          if (fs.readFileSync(file, 'utf8') === String(process.pid)) fs.unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder = NaN;
      try {
        holder = Number(fs.readFileSync(file, 'utf8').trim());
      } catch {
        /* removed meanwhile */
      }
      // This process (a test opening the folder again, or pid 1 in a container after a restart).
      if (holder === process.pid) return () => {};
      if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) {
        throw new DataDirInUse(
          `the data folder ${dir} is in use by process ${holder} (a running fenxiao serve?): stop it first, or use PostgreSQL (DATABASE_URL) to run commands beside the server; if no such process is Fenxiao, delete ${file}`,
        );
      }
      try {
        fs.unlinkSync(file);
      } catch {
        /* another process took it over first */
      }
    }
  }
  throw new DataDirInUse(`could not claim the data folder ${dir} (${file})`);
}

/**
 * Runs `fn` in one READ COMMITTED transaction; every money change and its journal entry go
 * through here together. Deadlocks and serialization failures are retried from the start, a
 * few times, since the whole transaction rolled back.
 */
export async function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(fn);
    } catch (err) {
      if (attempt >= attempts || !(isRetryableTxError(err) || err instanceof RetryTransaction)) throw err;
      await new Promise((r) => setTimeout(r, 5 * attempt + Math.floor(Math.random() * 10)));
    }
  }
}

/**
 * Thrown inside a transaction that found the world changed under a lock it took too late (see
 * ReferralService.bindWithin): everything rolls back and `inTransaction` runs it again.
 */
export class RetryTransaction extends Error {}

/** Transaction-scoped advisory lock: held until commit or rollback. */
export async function advisoryXactLock(tx: Tx, scope: string, key: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${scope + ':' + key}, 0))`.execute(tx);
}

/** Non-blocking: true if this transaction got the lock, false if another holds it. */
export async function tryAdvisoryXactLock(tx: Tx, scope: string, key: string): Promise<boolean> {
  const r = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(hashtextextended(${scope + ':' + key}, 0)) as locked`.execute(tx);
  return r.rows[0]?.locked === true;
}

/**
 * Shared transaction-scoped advisory lock: many holders at once, but none while someone holds
 * the exclusive lock of the same key.
 */
export async function advisoryXactLockShared(tx: Tx, scope: string, key: string): Promise<void> {
  await sql`select pg_advisory_xact_lock_shared(hashtextextended(${scope + ':' + key}, 0))`.execute(tx);
}

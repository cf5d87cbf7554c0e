import {
  CompiledQuery,
  Kysely,
  Migrator,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type MigrationResultSet,
} from 'kysely';
import type { Db } from './database.ts';
import type { DB } from './schema.ts';
import { migrations } from './migrations/index.ts';

export class MigrationError extends Error {}

/**
 * Kysely's own migration lock is a session-level advisory lock taken in one statement and released
 * in another, with the migrations' transaction in between. Behind PgBouncer in transaction pooling
 * mode (docs/deployment.md) each of those may run on a different server connection: two processes
 * starting at once both "got" the lock (a session lock is re-entrant on a connection they happened
 * to share), ran the same DDL together and failed, and the unlock could land on a connection that
 * did not hold it, leaving the lock held by a pooled connection (issue 13). Here the whole run is
 * one explicit transaction on one connection that first takes a transaction-scoped advisory lock:
 * PgBouncer keeps a transaction on one server connection, and the lock ends with it.
 */
const MIGRATION_LOCK = `select pg_advisory_xact_lock(hashtextextended('fenxiao:migrations', 0))`;

/** The migrator's lock is the transaction's (above): its own session lock would be held by nobody's session behind PgBouncer. */
class LockedAdapter extends PostgresAdapter {
  override async acquireMigrationLock(): Promise<void> {}
  override async releaseMigrationLock(): Promise<void> {}
}

/** A Kysely dialect over one connection already in a transaction: every query of the migrator goes there. */
function oneConnection(connection: DatabaseConnection): Dialect {
  const driver: Driver = {
    init: async () => {},
    acquireConnection: async () => connection,
    beginTransaction: async () => {
      throw new Error('the migrations run in the transaction that holds the migration lock');
    },
    commitTransaction: async () => {},
    rollbackTransaction: async () => {},
    releaseConnection: async () => {},
    destroy: async () => {},
  };
  return {
    createAdapter: () => new LockedAdapter(),
    createDriver: () => driver,
    createQueryCompiler: () => new PostgresQueryCompiler(),
    createIntrospector: (db) => new PostgresIntrospector(db),
  };
}

/**
 * Whether a migration is not yet recorded, in two short queries. Every process start and CLI
 * command migrates, and the schema is nearly always current: Kysely's Migrator would first make
 * sure of its tables through information_schema and read them in several statements (about 0.3 s
 * of an embedded database's start), for nothing to do. Asked under the migration lock, so a run
 * under way elsewhere is waited for, as before.
 */
async function anyPending(connection: DatabaseConnection): Promise<boolean> {
  const table = await connection.executeQuery<{ present: boolean }>(CompiledQuery.raw(`select to_regclass('fenxiao_migrations') is not null as present`));
  if (!table.rows[0]?.present) return true;
  const done = await connection.executeQuery<{ name: string }>(CompiledQuery.raw('select name from fenxiao_migrations'));
  const recorded = new Set(done.rows.map((r) => r.name));
  return Object.keys(migrations).some((name) => !recorded.has(name));
}

/**
 * Brings the schema up to date in one transaction (all pending migrations or none); safe to run
 * from several processes at once, directly or through PgBouncer: the first takes the lock and
 * migrates, the others wait for it and then find nothing left to do.
 */
export async function migrateToLatest(db: Db): Promise<string[]> {
  return db.getExecutor().provideConnection(async (connection) => {
    await connection.executeQuery(CompiledQuery.raw('begin'));
    let result: MigrationResultSet;
    try {
      await connection.executeQuery(CompiledQuery.raw(MIGRATION_LOCK));
      if (!(await anyPending(connection))) {
        await connection.executeQuery(CompiledQuery.raw('commit'));
        return [];
      }
      const migrator = new Migrator({
        db: new Kysely<DB>({ dialect: oneConnection(connection) }),
        provider: { getMigrations: async () => migrations },
        migrationTableName: 'fenxiao_migrations',
        migrationLockTableName: 'fenxiao_migrations_lock',
        // Features land in parallel, so a migration may be named before one already applied.
        allowUnorderedMigrations: true,
        // The transaction is ours (above), around the lock and every migration.
        disableTransactions: true,
      });
      result = await migrator.migrateToLatest();
    } catch (err) {
      await connection.executeQuery(CompiledQuery.raw('rollback')).catch(() => {});
      throw err;
    }
    if (result.error) {
      await connection.executeQuery(CompiledQuery.raw('rollback')).catch(() => {});
      const failed = result.results?.find((r) => r.status === 'Error');
      throw new MigrationError(`migration ${failed?.migrationName ?? '?'} failed: ${String((result.error as Error).message ?? result.error)}`);
    }
    await connection.executeQuery(CompiledQuery.raw('commit'));
    return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  });
}

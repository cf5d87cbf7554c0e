import { CompiledQuery, type DatabaseConnection, type Dialect, type Driver, type QueryResult, type TransactionSettings } from 'kysely';

/**
 * What this process has sent to its database: every query is one round trip (node-postgres and
 * PGlite send one statement at a time), BEGIN and COMMIT included, and each committed transaction.
 * Exposed on /metrics; the ingest bench reads it to print round trips and commits per order.
 * `connectionsLost`: pooled connections PostgreSQL dropped under us (database.ts).
 */
export const dbStats = { queries: 0, commits: 0, rollbacks: 0, connectionsLost: 0 };

/**
 * Wraps a dialect so every query through it, and every commit, is counted in `dbStats`.
 * `begin`: the text a transaction begins with instead of BEGIN (one round trip still);
 * `shared`: another Kysely instance owns the pool, so destroying this one leaves it open.
 */
export function countingDialect(inner: Dialect, options: { begin?: string; shared?: boolean } = {}): Dialect {
  return {
    createAdapter: () => inner.createAdapter(),
    createQueryCompiler: () => inner.createQueryCompiler(),
    createIntrospector: (db) => inner.createIntrospector(db),
    createDriver: () => new CountingDriver(inner.createDriver(), options),
  };
}

class CountingDriver implements Driver {
  private readonly wrapped = new WeakMap<DatabaseConnection, DatabaseConnection>();
  private readonly unwrapped = new WeakMap<DatabaseConnection, DatabaseConnection>();

  constructor(
    private readonly inner: Driver,
    private readonly options: { begin?: string; shared?: boolean },
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const c = await this.inner.acquireConnection();
    let w = this.wrapped.get(c);
    if (!w) {
      w = {
        executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
          dbStats.queries++;
          return c.executeQuery<R>(q);
        },
        streamQuery<R>(q: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
          dbStats.queries++;
          return c.streamQuery<R>(q, chunkSize);
        },
      };
      this.wrapped.set(c, w);
      this.unwrapped.set(w, c);
    }
    return w;
  }

  private raw(c: DatabaseConnection): DatabaseConnection {
    return this.unwrapped.get(c) ?? c;
  }

  async beginTransaction(c: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    dbStats.queries++;
    const begin = this.options.begin;
    if (begin !== undefined && !settings.isolationLevel && !settings.accessMode) await this.raw(c).executeQuery(CompiledQuery.raw(begin));
    else await this.inner.beginTransaction(this.raw(c), settings);
  }

  async commitTransaction(c: DatabaseConnection): Promise<void> {
    dbStats.queries++;
    await this.inner.commitTransaction(this.raw(c));
    dbStats.commits++;
  }

  rollbackTransaction(c: DatabaseConnection): Promise<void> {
    dbStats.queries++;
    dbStats.rollbacks++;
    return this.inner.rollbackTransaction(this.raw(c));
  }

  savepoint(c: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['savepoint']>>[2]): Promise<void> {
    dbStats.queries++;
    if (!this.inner.savepoint) throw new Error('this database driver has no savepoints');
    return this.inner.savepoint(this.raw(c), name, compile);
  }

  rollbackToSavepoint(c: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['rollbackToSavepoint']>>[2]): Promise<void> {
    dbStats.queries++;
    if (!this.inner.rollbackToSavepoint) throw new Error('this database driver has no savepoints');
    return this.inner.rollbackToSavepoint(this.raw(c), name, compile);
  }

  releaseSavepoint(c: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['releaseSavepoint']>>[2]): Promise<void> {
    dbStats.queries++;
    if (!this.inner.releaseSavepoint) throw new Error('this database driver has no savepoints');
    return this.inner.releaseSavepoint(this.raw(c), name, compile);
  }

  releaseConnection(c: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(this.raw(c));
  }

  destroy(): Promise<void> {
    return this.options.shared ? Promise.resolve() : this.inner.destroy();
  }
}

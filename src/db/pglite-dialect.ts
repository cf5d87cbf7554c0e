import { parse as pgliteParse, protocol, type PGlite, type Results } from '@electric-sql/pglite';
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
} from 'kysely';
import type { StatementNames } from './prepare.ts';

/**
 * Kysely dialect for PGlite.
 *
 * Kysely 0.29 has its own PGlite dialect but needs Node.js 22; Fenxiao runs on 20. The
 * kysely-pglite package hands the one PGlite session to every caller at once, so a query from
 * one request could run inside another request's open transaction. PGlite is a single session,
 * so this driver lends it to one holder at a time: a transaction owns it from BEGIN to
 * COMMIT/ROLLBACK and everything else waits in FIFO order.
 */
export class PGliteDialect implements Dialect {
  private readonly driver: PGliteDriver;

  /**
   * `names`: which statement texts become named prepared statements of the session (prepare.ts),
   * as on PostgreSQL: the order path's batch statements are large CTEs that PGlite would otherwise
   * parse and plan again on every batch, in the server's own thread.
   */
  constructor(client: PGlite, names?: StatementNames) {
    this.driver = new PGliteDriver(client, names);
  }
  createAdapter() {
    return new PostgresAdapter();
  }
  /** One driver for every Kysely over this dialect: they share the one session and its queue. */
  createDriver(): Driver {
    return this.driver;
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
}

class PGliteDriver implements Driver {
  private tail: Promise<void> = Promise.resolve();
  private readonly connection: PGliteConnection;

  constructor(
    private readonly client: PGlite,
    names: StatementNames | undefined,
  ) {
    this.connection = new PGliteConnection(client, names);
  }

  async init(): Promise<void> {
    await this.client.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.tail;
    this.tail = previous.then(() => held);
    await previous;
    this.connection.release = release;
    return this.connection;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(): Promise<void> {
    const release = this.connection.release;
    this.connection.release = undefined;
    release?.();
  }

  async destroy(): Promise<void> {
    await this.tail;
    if (!this.client.closed) await this.client.close();
  }
}

class PGliteConnection implements DatabaseConnection {
  release: (() => void) | undefined;
  /** The session's named statements, with their parameters' type oids (from Describe). */
  private readonly prepared = new Map<string, number[]>();

  constructor(
    private readonly client: PGlite,
    private readonly names: StatementNames | undefined,
  ) {}

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const params = compiledQuery.parameters;
    const name = params.length === 0 ? undefined : this.names?.nameFor(compiledQuery.sql);
    // Without parameters the simple protocol runs scripts of several statements (migrations);
    // its last result is the one a caller expects.
    const result =
      params.length === 0
        ? (lastOf(await this.client.exec(compiledQuery.sql)) as Results<R>)
        : name !== undefined
          ? await this.named<R>(name, compiledQuery.sql, params)
          : await this.client.query<R>(compiledQuery.sql, [...params]);
    const affected = result.affectedRows;
    return {
      rows: result.rows,
      ...(affected !== undefined && /^\s*(insert|update|delete|merge|with)/i.test(compiledQuery.sql) ? { numAffectedRows: BigInt(affected) } : {}),
    };
  }

  /**
   * A named statement: parsed and described once per session, then Bind, Describe, Execute and
   * Sync in one call into the database, where `query` makes five (an unnamed Parse and Describe
   * first, each planned anew). Parameters are serialized by their types as `query` does. A plan
   * the session can no longer use (0A000: a table it reads changed shape; 26000: gone) is
   * dropped and named afresh later; outside a transaction the statement runs again unnamed, so
   * nothing fails for it.
   */
  private async named<R>(name: string, text: string, params: readonly unknown[]): Promise<Results<R>> {
    const client = this.client;
    try {
      return await client._runExclusiveQuery(async () => {
        let types = this.prepared.get(name);
        if (types === undefined) {
          const described = await client.execProtocol(
            concat([
              // A name a failed statement left behind (see below) is closed first: closing none is no error.
              protocol.serialize.close({ type: 'S', name }),
              protocol.serialize.parse({ name, text, types: [] }),
              protocol.serialize.describe({ type: 'S', name }),
              protocol.serialize.sync(),
            ]),
            { syncToFs: false },
          );
          types = pgliteParse.parseDescribeStatementResults(described.messages);
          this.prepared.set(name, types);
        }
        const values = params.map((p, i) => {
          if (p === null || p === undefined) return null;
          const serialize = client.serializers[types[i] ?? 0];
          return serialize ? serialize(p) : String(p as string);
        });
        const ran = await client.execProtocol(
          concat([
            protocol.serialize.bind({ statement: name, values }),
            protocol.serialize.describe({ type: 'P' }),
            protocol.serialize.execute({}),
            protocol.serialize.sync(),
          ]),
          { syncToFs: !client.isInTransaction() },
        );
        return pgliteParse.parseResults(ran.messages, client.parsers)[0] as Results<R>;
      });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== '0A000' && code !== '26000') throw err;
      this.prepared.delete(name);
      this.names?.forget(text);
      // Inside a transaction the error has aborted it: it stands (the caller's retry runs unnamed).
      if (client.isInTransaction()) throw err;
      return client.query<R>(text, [...params]);
    }
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite does not stream results; page with keyset queries instead');
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function lastOf<T>(results: T[]): T {
  const last = results[results.length - 1];
  if (last === undefined) return { rows: [], fields: [] } as T;
  return last;
}

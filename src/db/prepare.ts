import { createHash } from 'node:crypto';
import type pg from 'pg';
import { isLostPreparedStatement } from '../core/errors.ts';

/**
 * Server-side prepared statements for the statements this process sends again and again, as
 * pgjdbc's `prepareThreshold` does: a statement text seen `threshold` times becomes a named
 * statement, which each connection parses and plans once and then only binds and executes.
 *
 * The order path's batch statements are large CTEs whose text does not depend on the batch's
 * size (rows travel as arrays), so PostgreSQL used to parse and plan every one of them from
 * scratch; named, they cost only their execution (docs/scaling.md). Texts seen fewer times, or
 * beyond `maxStatements` distinct texts (an `in (…)` list of every length, say), stay unnamed, so
 * neither this process nor a backend holds an unbounded set of plans.
 *
 * PgBouncer in transaction mode keeps named statements apart per server connection from version
 * 1.21 (`max_prepared_statements`, 200 by default from 1.22); older poolers need
 * `FENXIAO_DB_PREPARE=off`. Should a pooler lose a named statement anyway (26000: it went to
 * another server connection; 42P05: another client named it there first), the process stops
 * naming statements from then on, tells `onOff`, and the statement's error stands (its
 * transaction is retried as a serialization failure is, see isRetryableTxError).
 */
/**
 * What a transaction of `Database.keyed` begins with: BEGIN and `plan_cache_mode =
 * force_generic_plan` in one round trip (one simple-protocol query), so that its named statements
 * are planned once, generically, where PostgreSQL would otherwise plan statements over `= any($1)`
 * arrays again on every execution (their custom plans look cheaper than the generic one, so the
 * default mode never settles on it). For the order path's batches, whose statements find every
 * row by key (the ingest bench: about 0.7 ms of planning per batch before, docs/scaling.md).
 * Statements outside such transactions (dashboards, reports, where a value's selectivity
 * matters) keep PostgreSQL's default.
 */
export const GENERIC_BEGIN = 'begin; set local plan_cache_mode = force_generic_plan';

export interface AutoPrepare {
  /** Wraps one pooled client so that Kysely's `query(text, values)` calls use named statements. */
  attach(client: pg.PoolClient): void;
  readonly stats: { named: number; prepared: number };
  /** True once named statements were turned off for good in this process (a lost one, isLostPreparedStatement). */
  readonly off: boolean;
}

/**
 * Which statement texts get a name: a text seen `threshold` times, among at most `maxStatements`
 * named texts (an `in (…)` list of every length stays unnamed), so neither a process nor a
 * backend holds an unbounded set of plans. Shared by PostgreSQL's pooled clients (autoPrepare)
 * and the embedded database's one session (pglite-dialect.ts).
 */
export interface StatementNames {
  nameFor(text: string): string | undefined;
  /** Forgets a text's name: it is counted again from 0 (its plan could not be used any more). */
  forget(text: string): void;
  /** Stops naming statements for good (a pooler lost one). */
  stop(): void;
  readonly stopped: boolean;
  readonly stats: { named: number; prepared: number };
}

export function statementNames(options: { threshold?: number; maxStatements?: number } = {}): StatementNames {
  const threshold = options.threshold ?? 3;
  const maxStatements = options.maxStatements ?? 500;
  const seen = new Map<string, number>();
  const names = new Map<string, string>();
  const stats = { named: 0, prepared: 0 };
  let stopped = false;
  return {
    stats,
    get stopped() {
      return stopped;
    },
    stop() {
      stopped = true;
    },
    forget(text) {
      names.delete(text);
    },
    nameFor(text) {
      if (stopped) return undefined;
      const name = names.get(text);
      if (name !== undefined) {
        stats.named++;
        return name;
      }
      if (names.size >= maxStatements) return undefined;
      const n = (seen.get(text) ?? 0) + 1;
      if (n < threshold) {
        // Forget one-off texts now and then rather than hold them all.
        if (seen.size >= maxStatements * 8) seen.clear();
        seen.set(text, n);
        return undefined;
      }
      seen.delete(text);
      const named = `fx_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
      names.set(text, named);
      stats.prepared++;
      stats.named++;
      return named;
    },
  };
}

export function autoPrepare(options: { threshold?: number; maxStatements?: number; onOff?: ((err: Error) => void) | undefined } = {}): AutoPrepare {
  // Behind a pooler that loses named statements (PgBouncer 1.18 in transaction mode, Debian 12's)
  // with FENXIAO_DB_PREPARE left on, the first lost statement turns naming off for the process:
  // the transaction it failed is retried (isRetryableTxError) and every statement after it is
  // unnamed, so a misconfiguration costs a retry and a log line, not a stream of failures.
  const namer = statementNames(options);

  return {
    stats: namer.stats,
    get off() {
      return namer.stopped;
    },
    attach(client) {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: (...args: unknown[]) => unknown }).query = (config: unknown, values?: unknown, callback?: unknown) => {
        // Two statements in one simple-protocol query: never a named statement.
        if (config === GENERIC_BEGIN) return query(config);
        if (typeof config === 'string' && Array.isArray(values) && callback === undefined) {
          const name = namer.nameFor(config);
          if (name !== undefined) {
            return (query({ name, text: config, values }) as Promise<unknown>).catch((err: unknown) => {
              if (!namer.stopped && isLostPreparedStatement(err)) {
                namer.stop();
                try {
                  options.onOff?.(err as Error);
                } catch {
                  /* a logger failing must not change the answer */
                }
              }
              throw err;
            });
          }
        }
        return callback === undefined ? (values === undefined ? query(config) : query(config, values)) : query(config, values, callback);
      };
    },
  };
}

import { createHash } from 'node:crypto';
import type pg from 'pg';

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
 * `FENXIAO_DB_PREPARE=off`.
 */
export interface AutoPrepare {
  /** Wraps one pooled client so that Kysely's `query(text, values)` calls use named statements. */
  attach(client: pg.PoolClient): void;
  readonly stats: { named: number; prepared: number };
}

export function autoPrepare(options: { threshold?: number; maxStatements?: number } = {}): AutoPrepare {
  const threshold = options.threshold ?? 3;
  const maxStatements = options.maxStatements ?? 500;
  const seen = new Map<string, number>();
  const names = new Map<string, string>();
  const stats = { named: 0, prepared: 0 };

  function nameFor(text: string): string | undefined {
    const name = names.get(text);
    if (name !== undefined) return name;
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
    return named;
  }

  return {
    stats,
    attach(client) {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: (...args: unknown[]) => unknown }).query = (config: unknown, values?: unknown, callback?: unknown) => {
        if (typeof config === 'string' && Array.isArray(values) && callback === undefined) {
          const name = nameFor(config);
          if (name !== undefined) {
            stats.named++;
            return query({ name, text: config, values });
          }
        }
        return callback === undefined ? (values === undefined ? query(config) : query(config, values)) : query(config, values, callback);
      };
    },
  };
}

import type { RowSource } from './spec.ts';

export interface KeysetPagesOptions<Row, Cursor> {
  /** Rows per query; 1 000 keeps each round trip cheap and memory small. */
  pageSize?: number;
  /**
   * One keyset page: the rows after `after` (null: from the start) in the export's order,
   * at most `limit` of them — `WHERE (created_at, id) > ($1, $2) ORDER BY created_at, id LIMIT $3`.
   */
  fetch: (after: Cursor | null, limit: number) => Promise<readonly Row[]>;
  /** The cursor a row leaves behind: the ORDER BY key of the last row of a page. */
  cursorOf: (row: Row) => Cursor;
  /** Called before each page query (a cancelled job stops between pages). */
  signal?: AbortSignal;
}

/**
 * Rows of a keyset-paginated query as an AsyncIterable: one page in memory at a time, the next
 * query only when the writer has taken the previous page (so backpressure reaches the database).
 * Each page runs on its own; wrap the whole export in one REPEATABLE READ transaction when the
 * pages must see one snapshot (a reconciliation whose totals must match to the fen).
 */
export async function* keysetPages<Row, Cursor>(options: KeysetPagesOptions<Row, Cursor>): AsyncGenerator<Row, void, undefined> {
  const limit = options.pageSize ?? 1000;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError('pageSize must be a positive integer');
  let after: Cursor | null = null;
  for (;;) {
    options.signal?.throwIfAborted();
    const page: readonly Row[] = await options.fetch(after, limit);
    for (const row of page) yield row;
    const last = page.at(-1);
    if (page.length < limit || last === undefined) return;
    after = options.cursorOf(last);
  }
}

function iteratorOf<Row>(rows: RowSource<Row>): AsyncIterator<Row> | Iterator<Row> {
  return Symbol.asyncIterator in rows ? (rows as AsyncIterable<Row>)[Symbol.asyncIterator]() : (rows as Iterable<Row>)[Symbol.iterator]();
}

export interface PrimedRows<Row> extends AsyncIterable<Row> {
  /** Ends the source (its `return()`), whether or not iteration ever began; idempotent. */
  close(): Promise<void>;
}

/**
 * Pulls the first row now and gives back a source that replays it then continues: an error in
 * the first query (a bad filter, a database down) then happens before any byte is sent, and
 * becomes an ordinary JSON error instead of a truncated download. Call `close()` when done:
 * the source has started, so it must be ended even if the writer never iterates it.
 */
export async function primeRows<Row>(rows: RowSource<Row>): Promise<PrimedRows<Row>> {
  const it = iteratorOf(rows);
  let first: IteratorResult<Row> | null = await it.next();
  let closed = first.done === true;
  const close = async () => {
    if (closed) return;
    closed = true;
    await it.return?.();
  };
  const iterator: AsyncIterator<Row> = {
    async next() {
      if (first) {
        const r = first;
        first = null;
        return r;
      }
      if (closed) return { done: true, value: undefined };
      const r = await it.next();
      if (r.done) closed = true;
      return r;
    },
    async return() {
      await close();
      return { done: true, value: undefined };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator, close };
}

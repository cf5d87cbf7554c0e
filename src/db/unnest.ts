import { sql, type RawBuilder } from 'kysely';
import { quoted } from './ident.ts';

/** A column of rows sent as one array parameter: its name and its PostgreSQL type. */
export interface UnnestColumn<R> {
  name: string;
  type: 'text' | 'bigint' | 'integer' | 'boolean' | 'timestamptz' | 'date' | 'jsonb' | 'text[]';
  value: (row: R) => unknown;
}

/**
 * Many rows as one parameter per column: `unnest($1::text[], $2::bigint[], …) with ordinality as
 * alias(col…, n)`. A statement of a thousand rows then carries a few dozen parameters instead of
 * tens of thousands, which costs less to build, send and parse than a VALUES list. An array
 * column (text[]) travels as JSON per row and is unpacked by `selectOf`.
 */
export function unnestRows<R>(columns: readonly UnnestColumn<R>[], rows: readonly R[], alias: string): RawBuilder<unknown> {
  const text = textOf(columns, `unnest ${alias}`, () => ({
    casts: columns.map((c) => sql.raw(`::${c.type === 'text[]' || c.type === 'jsonb' ? 'text' : c.type}[]`)),
    tail: sql.raw(`) with ordinality as ${alias}(${columns.map((c) => quoted(c.name)).join(', ')}, n)`),
  }));
  const arrays = columns.map((c, i) => {
    const values = rows.map((r) => {
      const v = c.value(r);
      if (v === undefined) return null;
      if (c.type === 'text[]' || c.type === 'jsonb') return v === null ? null : typeof v === 'string' ? v : JSON.stringify(v);
      return v;
    });
    return sql`${values}${text.casts[i]}`;
  });
  return sql`unnest(${sql.join(arrays)}${text.tail}`;
}

/**
 * The parts of these statements' text that depend only on the columns (names, casts, select
 * lists), made once per list of columns rather than per batch: Kysely builds and compiles an
 * identifier node by node, which was most of what building a batch's statements cost.
 */
const texts = new WeakMap<readonly unknown[], Map<string, unknown>>();
function textOf<T>(columns: readonly unknown[], key: string, make: () => T): T {
  let m = texts.get(columns);
  if (!m) texts.set(columns, (m = new Map()));
  let t = m.get(key) as T | undefined;
  if (t === undefined) m.set(key, (t = make()));
  return t;
}

/** The select list that turns `unnestRows` columns back into their types (alias.col…). */
export function selectOf<R>(columns: readonly UnnestColumn<R>[], alias: string): RawBuilder<unknown> {
  return textOf(columns, `select ${alias}`, () =>
    sql.raw(
      columns
        .map((c) => {
          const ref = quoted(`${alias}.${c.name}`);
          if (c.type === 'text[]') return `coalesce(array(select jsonb_array_elements_text(${ref}::jsonb)), '{}')::text[]`;
          if (c.type === 'jsonb') return `${ref}::jsonb`;
          return ref;
        })
        .join(', '),
    ),
  );
}

/** The column list of an INSERT matching `selectOf`. */
export function columnsOf<R>(columns: readonly UnnestColumn<R>[]): RawBuilder<unknown> {
  return textOf(columns, 'columns', () => sql.raw(columns.map((c) => quoted(c.name)).join(', ')));
}

import { sql, type RawBuilder } from 'kysely';

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
  const arrays = columns.map((c) => {
    const values = rows.map((r) => {
      const v = c.value(r);
      if (v === undefined) return null;
      if (c.type === 'text[]' || c.type === 'jsonb') return v === null ? null : typeof v === 'string' ? v : JSON.stringify(v);
      return v;
    });
    const type = c.type === 'text[]' || c.type === 'jsonb' ? 'text' : c.type;
    return sql`${values}::${sql.raw(type)}[]`;
  });
  const names = columns.map((c) => sql.ref(c.name));
  return sql`unnest(${sql.join(arrays)}) with ordinality as ${sql.raw(alias)}(${sql.join(names)}, n)`;
}

/** The select list that turns `unnestRows` columns back into their types (alias.col…). */
export function selectOf<R>(columns: readonly UnnestColumn<R>[], alias: string): RawBuilder<unknown> {
  return sql.join(
    columns.map((c) => {
      const ref = sql.ref(`${alias}.${c.name}`);
      if (c.type === 'text[]') return sql`coalesce(array(select jsonb_array_elements_text(${ref}::jsonb)), '{}')::text[]`;
      if (c.type === 'jsonb') return sql`${ref}::jsonb`;
      return ref;
    }),
  );
}

/** The column list of an INSERT matching `selectOf`. */
export function columnsOf<R>(columns: readonly UnnestColumn<R>[]): RawBuilder<unknown> {
  return sql.join(columns.map((c) => sql.ref(c.name)));
}

import { sql, type RawBuilder } from 'kysely';

const idents = new Map<string, RawBuilder<unknown>>();

/** `"a"` or `"alias"."column"`, as sql.ref and sql.table write them. */
export function quoted(name: string): string {
  return name
    .split('.')
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join('.');
}

/**
 * An identifier of the code's own (a table, a column, `alias.column`), as the same text sql.ref
 * and sql.table compile to, made once per process: Kysely builds and compiles an identifier node
 * by node on every statement, which was most of what building the order path's batch statements
 * cost the server (docs/scaling.md). Never for a name that comes from input.
 */
export function ident(name: string): RawBuilder<unknown> {
  let r = idents.get(name);
  if (r === undefined) {
    r = sql.raw(quoted(name));
    if (idents.size < 10_000) idents.set(name, r);
  }
  return r;
}

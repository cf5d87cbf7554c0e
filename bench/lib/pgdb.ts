import pg from 'pg';
import { log, progress } from './progress.ts';

/** A database of its own for one bench run, on the server DATABASE_URL points at. */
export interface ScratchDatabase {
  name: string;
  /** DATABASE_URL of the scratch database. */
  url: string;
  /** Drops it (connections of other processes are ended first). */
  drop(): Promise<void>;
}

/**
 * Creates `name` on the server of `base` (or, with `reuse`, only points at a database an earlier
 * run kept). Names are the bench's own (letters, digits, underscores), never user input.
 */
export async function scratchDatabase(base: string, name: string, options: { reuse?: boolean } = {}): Promise<ScratchDatabase> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`);
  const admin = async (query: string) => {
    const c = new pg.Client({ connectionString: base });
    await c.connect();
    try {
      await c.query(query);
    } finally {
      await c.end();
    }
  };
  if (!options.reuse) await admin(`create database ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) };
}

/**
 * Drops the secondary (non-constraint) indexes of `tables` for a bulk load; the answer rebuilds
 * them, with progress, and says how long that took.
 */
export async function dropSecondaryIndexes(c: pg.Client, tables: string[]): Promise<{ count: number; rebuild(): Promise<number> }> {
  const idx = await c.query<{ indexname: string; indexdef: string }>(
    `select i.indexname, i.indexdef from pg_indexes i
      where i.schemaname = current_schema() and i.tablename = any($1)
        and not exists (select 1 from pg_constraint k where k.conname = i.indexname)`,
    [tables],
  );
  for (const r of idx.rows) await c.query(`drop index ${r.indexname}`);
  log(`dropped ${idx.rows.length} secondary indexes for the load`);
  return {
    count: idx.rows.length,
    async rebuild() {
      const ip = progress('indexes', idx.rows.length);
      let built = 0;
      for (const r of idx.rows) {
        ip.note(`building ${r.indexname}`);
        await c.query(r.indexdef);
        ip.update(++built);
      }
      return ip.finish(built);
    },
  };
}

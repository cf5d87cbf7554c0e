import pg from 'pg';

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

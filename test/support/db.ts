import fs from 'node:fs';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.ts';

export const onPostgres = (): boolean => inject('databaseUrl') !== '';

/** This test file's database: the run's PostgreSQL database, or a PGlite copy of the template. */
export async function openTestDatabase(poolSize = 10): Promise<Database> {
  const url = inject('databaseUrl');
  if (url) return openDatabase({ databaseUrl: url, poolSize });
  const blob = new Blob([fs.readFileSync(inject('pgliteTemplate'))]);
  return openDatabase({ inMemory: true, pgliteLoadFrom: blob });
}

import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';

export const ARTIFACTS = path.resolve('.test-artifacts');

/**
 * Once per test run. On PostgreSQL (DATABASE_URL set): a fresh database for this run, migrated,
 * dropped at the end. On PGlite: one migrated data dir saved as a tarball, which every test file
 * loads in half a second instead of running initdb and the migrations again.
 */
export default async function setup({ provide }: { provide: (key: string, value: string) => void }) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const base = process.env.DATABASE_URL;
  if (base) {
    const name = `fenxiao_test_${Date.now()}_${process.pid}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(base);
    url.pathname = `/${name}`;
    const database = await openDatabase({ databaseUrl: url.toString(), poolSize: 2 });
    await migrateToLatest(database.db);
    await database.close();
    provide('databaseUrl', url.toString());
    provide('pgliteTemplate', '');
    return async () => {
      if (process.env.FENXIAO_KEEP_TEST_DB) return;
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    };
  }
  const database = await openDatabase({ inMemory: true });
  await migrateToLatest(database.db);
  const dump = await database.pglite!.dumpDataDir('gzip');
  // One file per run: several runs (CI steps, developers) may share the checkout.
  const template = path.join(ARTIFACTS, `pglite-template-${process.pid}-${Date.now()}.tar.gz`);
  fs.writeFileSync(template, Buffer.from(await dump.arrayBuffer()));
  await database.close();
  provide('databaseUrl', '');
  provide('pgliteTemplate', template);
  return async () => {
    fs.rmSync(template, { force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    pgliteTemplate: string;
  }
}

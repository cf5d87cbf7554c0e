import fs from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * `npm run test:unit`: the tests under src/ that open no database, in seconds, with no global
 * setup (no PGlite template, no PostgreSQL). A test file that starts a test server or opens a
 * database (it imports test/support's server or db, or calls openDatabase) is left to `npm test`;
 * the check reads the files, so a new test lands on the right side without a list to keep.
 */
const OPENS_A_DATABASE = /test\/support\/(server|db|money|portal|analytics|reconciliation|webhooks)\.ts|\bopenDatabase\(|\bnew PGlite\(/;

function testFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).flatMap((e) => {
    if (!e.isFile() || !e.name.endsWith('.test.ts')) return [];
    return [path.relative(import.meta.dirname, path.join(e.parentPath, e.name))];
  });
}

const needsDatabase = testFiles(path.join(import.meta.dirname, 'src')).filter((f) => OPENS_A_DATABASE.test(fs.readFileSync(f, 'utf8')));

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    exclude: ['node_modules/**', ...needsDatabase],
    // Opening PGlite or PostgreSQL fails there: a unit test that tries is in the wrong run.
    setupFiles: ['test/support/no-database.ts'],
    pool: 'forks',
    testTimeout: 60_000,
  },
});

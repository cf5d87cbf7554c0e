/**
 * `npm run test:unit`'s guard: a unit test opens no database. Opening PGlite or a PostgreSQL
 * connection fails with a message saying where the test belongs, so a test that needs a database
 * cannot slip into the fast run by accident (vitest.unit.config.ts picks the files by reading them).
 */
import { vi } from 'vitest';

const NO_DATABASE = 'npm run test:unit opens no database: a test that needs one runs under npm test (see vitest.unit.config.ts)';

// Called with or without `new`: either way it throws before anything connects.
function refuse(): never {
  throw new Error(NO_DATABASE);
}

vi.mock('@electric-sql/pglite', async (importOriginal) => {
  const real = await importOriginal<typeof import('@electric-sql/pglite')>();
  const NoPGlite = Object.assign(refuse, { create: refuse });
  return { ...real, PGlite: NoPGlite };
});

vi.mock('pg', async (importOriginal) => {
  const real = await importOriginal<{ default: typeof import('pg') }>();
  const pg = { ...real.default, Pool: refuse, Client: refuse };
  return { ...real, default: pg, Pool: refuse, Client: refuse };
});

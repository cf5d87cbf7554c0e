import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The browser tier: the built console and portal in Debian's Chromium (playwright-core, never a
 * downloaded browser) against a real listening server, on PGlite or on DATABASE_URL.
 */
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/browser/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts', 'test/browser/global-setup.ts'],
    pool: 'forks',
    // One Chromium at a time on a two-core machine.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});

#!/usr/bin/env node
// The `fenxiao` command. It runs the server built by scripts/build-server.mjs (dist/server/main.js,
// made by `npm install`, `npm ci` and `npm run build:server`) when that build is of the sources as
// they are now, which starts in a fraction of a second. Otherwise (no build yet, or a source file
// changed since it was made: bin/server-build.js compares their hashes) it compiles the TypeScript
// sources at run time through tsx, as development does, and says so on stderr: old code never
// runs silently. FENXIAO_FROM_SOURCE=1 always takes the tsx path; FENXIAO_SHOW_START=1 names the
// path taken even when it is the build.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkServerBuild } from './server-build.js';

const root = path.resolve(import.meta.dirname, '..');
const fromSource = process.env.FENXIAO_FROM_SOURCE === '1' || process.env.FENXIAO_FROM_SOURCE === 'true';
const state = fromSource ? { current: false, reason: 'FENXIAO_FROM_SOURCE is set' } : checkServerBuild(root);

if (state.current) {
  if (process.env.FENXIAO_SHOW_START === '1') console.error(`fenxiao: running the server build dist/server/main.js (built ${state.builtAt})`);
  // Stack traces name the TypeScript sources (dist/server/main.js.map).
  process.setSourceMapsEnabled(true);
  await import(pathToFileURL(state.entry).href);
} else {
  // Said once per command: a `serve --workers N` worker (cluster.isWorker) stays quiet.
  if (!process.env.NODE_UNIQUE_ID || process.env.FENXIAO_SHOW_START === '1') {
    console.error(`fenxiao: ${state.reason}: running the TypeScript sources through tsx (slower to start; \`npm run build:server\` builds the server)`);
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}

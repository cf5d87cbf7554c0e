// Builds the admin console and the distributor portal into web/dist/{admin,portal}.
//
//   node web/build.mjs                 build both (npm run build:web)
//   node web/build.mjs --if-available  the same from `npm install`'s prepare step, except that
//                                      an install without dev dependencies (npm ci --omit=dev)
//                                      skips the build with a note instead of failing
//
// Each app is built into a fresh folder and then swapped in, so a running server never serves a
// half-written build.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { precompress } from './compress.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ifAvailable = process.argv.includes('--if-available');

let vite;
try {
  vite = await import('vite');
  await import('react');
} catch (err) {
  if (!ifAvailable) throw err;
  console.warn('fenxiao: the web build tools are not installed (dev dependencies omitted); skipping the console build.');
  console.warn('fenxiao: the API works; run `npm install` and `npm run build:web` to serve /admin and /portal.');
  process.exit(0);
}

// What the server serves is a production build, whoever runs this: under a test runner (the browser
// tests' global setup, test/e2e/web-first-load.test.ts) NODE_ENV=test would make Vite bundle React's
// development build, half as large again.
process.env.NODE_ENV = 'production';

const dist = path.join(here, 'dist');
fs.mkdirSync(dist, { recursive: true });
for (const app of ['admin', 'portal']) {
  const started = Date.now();
  const next = path.join(dist, `.${app}-next`);
  const target = path.join(dist, app);
  const old = path.join(dist, `.${app}-old`);
  fs.rmSync(next, { recursive: true, force: true });
  process.env.FENXIAO_WEB_OUT_DIR = next;
  await vite.build({ configFile: path.join(here, 'vite.config.ts'), mode: app, logLevel: 'warn' });
  // Brotli and gzip copies beside each asset, made once here rather than on every request.
  precompress(next);
  fs.rmSync(old, { recursive: true, force: true });
  if (fs.existsSync(target)) fs.renameSync(target, old);
  fs.renameSync(next, target);
  fs.rmSync(old, { recursive: true, force: true });
  console.log(`fenxiao: built web/dist/${app} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

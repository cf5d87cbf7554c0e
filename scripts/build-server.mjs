#!/usr/bin/env node
// Builds the server (src/, from src/cli/main.ts) into one ES module, dist/server/main.js, with a
// source map, so that `npm start` and every `fenxiao` command start without compiling TypeScript.
//
//   node scripts/build-server.mjs             build (npm run build:server; `npm install` and
//                                             `npm ci` run it from the prepare step)
//   node scripts/build-server.mjs --if-stale  build only when the build is missing or stale
//                                             (npm start runs this first, as its prestart); a failure is a warning
//   node scripts/build-server.mjs --check     exit 0 when the build is current, 1 when not
//
// Only src/ is bundled: every package stays an import of node_modules (PGlite's wasm and data
// files, @resvg's native binding, exceljs and the rest load as they do under tsx). The migrations
// are a static list of imports (src/db/migrations/index.ts), so the bundle holds them.
// dist/server/stamp.json records a hash of every file the bundle was made from; bin/fenxiao.js
// runs the build only while those files are unchanged, and otherwise runs the sources through
// tsx and says so (bin/server-build.js). The build is written beside the old one and swapped in,
// so a process starting meanwhile never loads half a build.
import fs from 'node:fs';
import path from 'node:path';
import { BUILD_DIR, ENTRY, STAMP_FORMAT, checkServerBuild, fileHash, hashBytes } from '../bin/server-build.js';

const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const ifStale = args.includes('--if-stale');

if (args.includes('--check')) {
  const state = checkServerBuild(root);
  console.log(state.current ? `the server build is current (built ${state.builtAt})` : `the server build is not current: ${state.reason}`);
  process.exit(state.current ? 0 : 1);
}

if (ifStale) {
  const state = checkServerBuild(root);
  if (state.current) process.exit(0);
  console.log(`fenxiao: ${state.reason}; building the server`);
}

try {
  await build();
} catch (err) {
  if (!ifStale) throw err;
  console.warn(`fenxiao: could not build the server (${err instanceof Error ? err.message : String(err)}); it will run from the sources through tsx`);
}

async function build() {
  const started = Date.now();
  const esbuild = await import('esbuild');
  const dist = path.join(root, path.dirname(BUILD_DIR));
  const target = path.join(root, BUILD_DIR);
  // Unique per process: two builds at once (two installs, a test) never share a folder.
  const next = path.join(dist, `.server-next-${process.pid}`);
  const old = path.join(dist, `.server-old-${process.pid}`);
  fs.rmSync(next, { recursive: true, force: true });
  fs.mkdirSync(next, { recursive: true });
  // The stamp hashes exactly the text esbuild compiles (read here, once): a file edited while the
  // build runs can never be stamped with content the bundle does not hold.
  const inputs = {};
  const hashSources = {
    name: 'hash-sources',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (a) => {
        const contents = fs.readFileSync(a.path);
        inputs[path.relative(root, a.path).split(path.sep).join('/')] = hashBytes(contents);
        return { contents, loader: 'ts' };
      });
    },
  };
  for (const f of ['tsconfig.json', 'scripts/build-server.mjs', 'bin/server-build.js']) inputs[f] = fileHash(path.join(root, f));
  const result = await esbuild.build({
    entryPoints: [path.join(root, 'src/cli/main.ts')],
    // Split at the CLI's dynamic imports: the HTTP server (Fastify and its plugins) is a chunk
    // that only `serve` and `demo` load, so other commands start without it (issue 16 item 1).
    outdir: next,
    entryNames: path.basename(ENTRY, '.js'),
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true,
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    tsconfig: path.join(root, 'tsconfig.json'),
    metafile: true,
    plugins: [hashSources],
    logLevel: 'warning',
    legalComments: 'none',
  });
  // Only src/ is bundled; anything else esbuild read would be a package that should be external.
  const outside = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('src/'));
  if (outside.length > 0) throw new Error(`the bundle would hold files from outside src/: ${outside.join(', ')}`);
  // A src/ file esbuild loaded itself (not TypeScript: a JSON import) is hashed as it is now.
  for (const f of Object.keys(result.metafile.inputs)) if (!(f in inputs)) inputs[f] = fileHash(path.join(root, f));
  const files = Object.keys(inputs).sort();
  const stamp = {
    format: STAMP_FORMAT,
    built_at: new Date().toISOString(),
    esbuild: esbuild.version,
    inputs: Object.fromEntries(files.map((f) => [f, inputs[f]])),
  };
  fs.writeFileSync(path.join(next, 'stamp.json'), JSON.stringify(stamp, null, 1) + '\n');
  fs.writeFileSync(path.join(next, 'package.json'), JSON.stringify({ type: 'module' }) + '\n');
  fs.rmSync(old, { recursive: true, force: true });
  if (fs.existsSync(target)) fs.renameSync(target, old);
  fs.renameSync(next, target);
  fs.rmSync(old, { recursive: true, force: true });
  const size = fs.statSync(path.join(target, ENTRY)).size;
  console.log(
    `fenxiao: built ${BUILD_DIR}/${ENTRY} (${files.length} files, ${(size / 1024).toFixed(0)} KiB) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

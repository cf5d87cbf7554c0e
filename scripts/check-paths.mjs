#!/usr/bin/env node
/**
 * Fails when the docs, the package scripts, CI or a source comment names a file of this
 * repository that is not there (a folder that moved, a page never written). Reads
 * README.md, CONTRIBUTING.md, docs/, package.json, .ci/run and the TypeScript and JavaScript of
 * src/, test/, bench/, web/, scripts/ and bin/; a path is a word starting with one of those
 * folders. Globs (`src/**\/*.test.ts`) and braces (`src/modules/orders/{routes,service}.ts`)
 * count when something matches; `<placeholders>` are skipped.
 *
 *   node scripts/check-paths.mjs     (npm run check:paths; CI runs it)
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const FOLDERS = ['src', 'docs', 'test', 'bench', 'scripts', 'web', 'bin'];
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', '.test-artifacts', 'data', 'coverage']);
// A path starts after a space, a quote, a bracket or a line start, never inside a URL or a longer path.
const PATH = new RegExp(`(?<![\\w./:@-])(?:\\./)?((?:${FOLDERS.join('|')})/[\\w.*{},/@-]*[\\w*}/])`, 'g');

function walk(dir, keep) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP_DIRS.has(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, keep));
    else if (keep(e.name)) out.push(p);
  }
  return out;
}

function sources() {
  const files = ['README.md', 'CONTRIBUTING.md', 'package.json', '.ci/run'].map((f) => path.join(root, f)).filter((f) => fs.existsSync(f));
  files.push(...walk(path.join(root, 'docs'), (n) => n.endsWith('.md')));
  for (const dir of ['src', 'test', 'bench', 'web', 'scripts', 'bin']) {
    if (fs.existsSync(path.join(root, dir))) files.push(...walk(path.join(root, dir), (n) => /\.(ts|tsx|js|mjs|cjs)$/.test(n)));
  }
  return files;
}

/** `a/{b,c}.ts` → `a/b.ts`, `a/c.ts`. */
function expand(p) {
  const m = /\{([^{}]*)\}/.exec(p);
  if (!m) return [p];
  return m[1].split(',').flatMap((alt) => expand(p.slice(0, m.index) + alt + p.slice(m.index + m[0].length)));
}

const globCache = new Map();
function exists(p) {
  if (!p.includes('*')) return fs.existsSync(path.join(root, p));
  if (!globCache.has(p)) {
    const re = new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '(?:.*/)?')
        .replace(/\*\*/g, '.*')
        .replace(/\*/g, '[^/]*')}$`,
    );
    const base = p.slice(0, p.indexOf('*')).replace(/[^/]*$/, '') || '.';
    const all = fs.existsSync(path.join(root, base)) ? walk(path.join(root, base), () => true).map((f) => path.relative(root, f)) : [];
    globCache.set(
      p,
      all.some((f) => re.test(f) || re.test(`${f}/`) || re.test(path.dirname(f)) || re.test(`${path.dirname(f)}/`)),
    );
  }
  return globCache.get(p);
}

const missing = [];
for (const file of sources()) {
  const rel = path.relative(root, file);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.includes('check-paths: ignore')) return;
    for (const m of line.matchAll(PATH)) {
      const p = m[1].replace(/[.,]+$/, '');
      if (p.includes('<') || /\/\.\.\.$/.test(p)) continue;
      const bad = expand(p).filter((x) => !exists(x));
      if (bad.length > 0) missing.push(`${rel}:${i + 1}: ${bad.join(', ')}`);
    }
  });
}
if (missing.length > 0) {
  console.error(`paths named but not in the repository:\n${missing.join('\n')}`);
  process.exitCode = 1;
} else {
  console.log('every path the docs, scripts and comments name is in the repository');
}

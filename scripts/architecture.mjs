#!/usr/bin/env node
/**
 * Draws docs/architecture.md's dependency picture from the code: dependency-cruiser (the tool and
 * config `npm run lint:deps` uses) reads src/, collapsed to one node per layer and per module,
 * and this renders it as a Mermaid flowchart between the markers in the document.
 *
 *   node scripts/architecture.mjs           rewrite the picture (`npm run arch`)
 *   node scripts/architecture.mjs --check   fail when the picture is out of date (CI)
 *
 * Edges between modules are drawn one by one; an edge from any module to a layer below
 * (core, lib, db, adapters) is drawn once, from the modules box, so the picture stays readable.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const DOC = path.join(root, 'docs/architecture.md');
const START = '<!-- deps:start -->';
const END = '<!-- deps:end -->';
const LAYERS = ['cli', 'main', 'app', 'modules', 'adapters', 'db', 'lib', 'core'];

function cruise() {
  const args = [
    'src',
    '--config',
    '.dependency-cruiser.cjs',
    '--output-type',
    'json',
    '--collapse',
    '^src/(core|lib|db|adapters|app|cli)/|^src/modules/[^/]+/|^src/[^/]+\\.ts$',
    '--include-only',
    '^src/',
    '--exclude',
    '\\.test\\.ts$|/testing\\.ts$|/test-fixtures\\.ts$',
  ];
  let out;
  try {
    out = execFileSync(path.join(root, 'node_modules/.bin/depcruise'), args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    // Rule violations make depcruise exit non-zero; they are `npm run lint:deps`'s to report. The graph is still whole.
    if (typeof err.stdout !== 'string' || err.stdout === '') throw err;
    out = err.stdout;
  }
  return JSON.parse(out).modules;
}

/** 'src/modules/orders/' → { layer: 'modules', name: 'orders' }; 'src/core/' → { layer: 'core', name: 'core' }. */
function nodeOf(source) {
  const m = /^src\/modules\/([^/]+)\/$/.exec(source);
  if (m) return { layer: 'modules', name: m[1] };
  const l = /^src\/([^/]+?)(?:\/|\.ts)$/.exec(source);
  if (!l) throw new Error(`architecture: unexpected node ${source}`);
  return { layer: l[1], name: l[1] };
}

export function render(modules) {
  const moduleNames = new Set();
  const moduleEdges = new Set();
  const layerEdges = new Set();
  for (const m of modules) {
    const from = nodeOf(m.source);
    if (from.layer === 'modules') moduleNames.add(from.name);
    for (const d of m.dependencies) {
      if (!d.resolved.startsWith('src/')) continue;
      const to = nodeOf(d.resolved);
      if (to.layer === 'modules') moduleNames.add(to.name);
      if (from.layer === 'modules' && to.layer === 'modules') {
        if (from.name !== to.name) moduleEdges.add(`  ${from.name} --> ${to.name}`);
      } else if (from.layer !== to.layer) {
        layerEdges.add(`  ${from.layer} --> ${to.layer}`);
      }
    }
  }
  const unknown = [...layerEdges].flatMap((e) => e.trim().split(' --> ')).filter((l) => !LAYERS.includes(l));
  if (unknown.length > 0) throw new Error(`architecture: layers not in the picture: ${[...new Set(unknown)].join(', ')}`);
  const lines = [
    '```mermaid',
    'flowchart TB',
    ...LAYERS.filter((l) => l !== 'modules').map((l) => `  ${l}[${l === 'main' ? 'main.ts' : `${l}/`}]`),
    '  subgraph modules[modules/]',
    ...[...moduleNames].sort().map((n) => `    ${n}`),
    '  end',
    ...[...layerEdges].sort((a, b) => order(a) - order(b) || a.localeCompare(b)),
    ...[...moduleEdges].sort(),
    '```',
  ];
  return lines.join('\n');
}

function order(edge) {
  const [from, to] = edge.trim().split(' --> ');
  return LAYERS.indexOf(from) * 100 + LAYERS.indexOf(to);
}

function main() {
  const check = process.argv.includes('--check');
  const doc = fs.readFileSync(DOC, 'utf8');
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start === -1 || end === -1 || end < start) throw new Error(`architecture: ${path.relative(root, DOC)} needs the markers ${START} and ${END}`);
  const picture = render(cruise());
  const next = `${doc.slice(0, start + START.length)}\n${picture}\n${doc.slice(end)}`;
  if (next === doc) {
    console.log(`${path.relative(root, DOC)}: the dependency picture matches the code`);
    return;
  }
  if (check) {
    console.error(`${path.relative(root, DOC)}: the dependency picture is out of date; run npm run arch and commit the result`);
    process.exitCode = 1;
    return;
  }
  fs.writeFileSync(DOC, next);
  console.log(`${path.relative(root, DOC)}: dependency picture rewritten`);
}

main();

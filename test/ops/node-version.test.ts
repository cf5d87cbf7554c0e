/**
 * The supported Node.js versions, settled (issue 16 item 7): `engines` in package.json is what the
 * README, CONTRIBUTING.md and the Chinese getting-started say, and every package the lock file
 * installs accepts the lowest release of each line `engines` admits, so `npm install` on a
 * supported Node warns of no engine mismatch (EBADENGINE). ESLint 10 and its parts ask for
 * ^22.13.0 on Node 22, and the wasm runtime of rolldown for >=23.5 past 22, hence
 * `^20.19.0 || ^22.13.0 || >=24`. Peer dependencies: each one the lock resolves satisfies its range,
 * but for the one no version choice settles (below).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
// semver is what npm itself checks ranges with; it is in node_modules through the build tools.
const semver = createRequire(path.join(root, 'package.json'))('semver') as {
  satisfies(version: string, range: string, options?: { includePrerelease?: boolean }): boolean;
  minVersion(range: string): { version: string } | null;
};

interface LockEntry {
  version?: string;
  engines?: { node?: string } | string[];
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  engines: { node: string };
  overrides?: Record<string, string | Record<string, string>>;
};
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
const engines = pkg.engines.node;
/** The lowest release of each line `engines` admits: 20.19.0, 22.13.0, 24.0.0. */
const lowest = engines.split('||').map((r) => semver.minVersion(r.trim())!.version);

/**
 * Peer ranges no version choice satisfies, each with why it is accepted: antd-mobile 5.43 (the
 * newest) supports React 19 but depends on staged-components 1.1.3 (the newest), whose peer
 * range stops at React 18; it uses only hooks React 19 keeps. Each is settled by an `overrides`
 * entry in package.json giving it the project's own version (`"react": "$react"`), so `npm install`
 * prints no ERESOLVE warning for it.
 */
const ACCEPTED_PEERS = new Set(['node_modules/antd-mobile/node_modules/staged-components → react']);

/** Where Node would find `name` from the package at `from` (the nearest node_modules up the tree). */
function resolveFrom(from: string, name: string): LockEntry | undefined {
  let dir = from;
  for (;;) {
    const entry = lock.packages[`${dir ? `${dir}/` : ''}node_modules/${name}`];
    if (entry) return entry;
    if (!dir) return undefined;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up < 0 ? '' : dir.slice(0, up);
  }
}

describe('the supported Node.js versions', () => {
  it('are one range, in package.json and its lock', () => {
    expect(lowest).toEqual(['20.19.0', '22.13.0', '24.0.0']);
    expect(lock.packages['']?.engines).toEqual({ node: engines });
  });

  it('are what the README, CONTRIBUTING.md and the Chinese getting-started say', () => {
    const said: Record<string, RegExp> = {
      'README.md': /20\.19 or\s+later on 20, 22\.13 or later on 22, or 24 and later/,
      'CONTRIBUTING.md': /20\.19 or later on 20, 22\.13 or later on 22, or 24 and later/,
      'docs/zh/getting-started.md': /20\.19 及以上的 20 版、22\.13 及以上的 22 版，或 24 及以上/,
    };
    for (const [file, text] of Object.entries(said)) expect(fs.readFileSync(path.join(root, file), 'utf8'), file).toMatch(text);
  });

  it('are accepted by every package installed', () => {
    const refused: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages)) {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (!where || !range) continue;
      for (const v of lowest) if (!semver.satisfies(v, range)) refused.push(`${where} wants node ${range}, refusing ${v}`);
    }
    expect(refused).toEqual([]);
  });

  it('install with every peer dependency in its range, but for the one no version settles', () => {
    const unmet: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages)) {
      for (const [name, range] of Object.entries(entry.peerDependencies ?? {})) {
        const got = resolveFrom(where, name);
        if (!got?.version) {
          if (!entry.peerDependenciesMeta?.[name]?.optional) unmet.push(`${where} → ${name} missing`);
          continue;
        }
        if (!semver.satisfies(got.version, range, { includePrerelease: true }) && !ACCEPTED_PEERS.has(`${where} → ${name}`)) {
          unmet.push(`${where} → ${name} ${range}, installed ${got.version}`);
        }
      }
    }
    expect(unmet).toEqual([]);
  });

  it('override each accepted peer range with the project’s own version, so installing warns of none', () => {
    for (const accepted of ACCEPTED_PEERS) {
      const [where, peer] = accepted.split(' → ') as [string, string];
      const name = where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
      expect(pkg.overrides?.[name], accepted).toEqual(expect.objectContaining({ [peer]: `$${peer}` }));
    }
  });
});

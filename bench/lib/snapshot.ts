import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from './server.ts';

/**
 * A copy of what `bin/fenxiao.js` runs (src/, bin/, the server build script, tsconfig.json and
 * package.json) in a temp folder, with node_modules and web/ linked to the repository's: the
 * server build of that copy and its stamp belong to it alone, so edits made in the working tree
 * while a bench or a test runs change neither what is measured nor whether the build is current.
 */
export function snapshotRepo(prefix = 'fenxiao-snapshot-'): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const item of ['src', 'bin', 'tsconfig.json', 'package.json']) {
    fs.cpSync(path.join(REPO, item), path.join(dir, item), { recursive: true });
  }
  fs.mkdirSync(path.join(dir, 'scripts'));
  fs.copyFileSync(path.join(REPO, 'scripts/build-server.mjs'), path.join(dir, 'scripts/build-server.mjs'));
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  fs.symlinkSync(path.join(REPO, 'web'), path.join(dir, 'web'), 'dir');
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

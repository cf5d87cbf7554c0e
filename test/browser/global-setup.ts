import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Newest modification time under `dir`, skipping build output and dependencies. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : fs.statSync(full).mtimeMs);
  }
  return latest;
}

/**
 * The tests drive the built apps (what `npm start` serves), so build them when the build is
 * missing or older than the web sources or the server schemas they type against.
 */
export default function setup() {
  const root = path.resolve(import.meta.dirname, '../..');
  const built = ['admin', 'portal'].map((app) => path.join(root, 'web/dist', app, 'index.html'));
  const builtAt = Math.min(...built.map((f) => (fs.existsSync(f) ? fs.statSync(f).mtimeMs : 0)));
  if (builtAt === 0 || newest(path.join(root, 'web')) > builtAt) {
    execFileSync(process.execPath, [path.join(root, 'web/build.mjs')], { stdio: 'inherit', cwd: root });
  }
  fs.mkdirSync(path.join(root, '.test-artifacts/screenshots'), { recursive: true });
}

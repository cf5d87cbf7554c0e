// Whether dist/server (the server built by scripts/build-server.mjs) is the build of the sources
// as they are now. The build writes dist/server/stamp.json: a SHA-1 of every file it was made
// from (each src/ file the bundle holds, tsconfig.json and the build script). The build is
// current only when every one of those files still has the same content: a pull, a checkout or
// an edit that changes any of them makes the build stale, whatever the files' times say, and
// bin/fenxiao.js then runs the sources through tsx instead of old code. Reading and hashing the
// ~200 files takes a few milliseconds.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The stamp's layout; a build with another layout is stale. */
export const STAMP_FORMAT = 1;

/** Where the build goes, relative to the repository root. */
export const BUILD_DIR = path.join('dist', 'server');

/** The bundle's entry file inside BUILD_DIR. */
export const ENTRY = 'main.js';

/** SHA-1 of some bytes (hex). */
export function hashBytes(bytes) {
  return crypto.createHash('sha1').update(bytes).digest('hex');
}

/** SHA-1 of a file's content (hex). */
export function fileHash(file) {
  return hashBytes(fs.readFileSync(file));
}

/**
 * `{ current: true, entry }` when `<root>/dist/server` was built from the files as they are now,
 * else `{ current: false, reason }` saying why not (no build, or the first file that changed).
 */
export function checkServerBuild(root) {
  const dir = path.join(root, BUILD_DIR);
  const entry = path.join(dir, ENTRY);
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(path.join(dir, 'stamp.json'), 'utf8'));
  } catch {
    return { current: false, reason: 'there is no server build (dist/server)' };
  }
  if (stamp?.format !== STAMP_FORMAT || typeof stamp.inputs !== 'object' || stamp.inputs === null || !fs.existsSync(entry)) {
    return { current: false, reason: 'the server build (dist/server) is incomplete or from another version of the build script' };
  }
  for (const [rel, hash] of Object.entries(stamp.inputs)) {
    let now;
    try {
      now = fileHash(path.join(root, rel));
    } catch {
      return { current: false, reason: `${rel} is gone since the server build` };
    }
    if (now !== hash) return { current: false, reason: `${rel} changed since the server build` };
  }
  return { current: true, entry, builtAt: stamp.built_at };
}

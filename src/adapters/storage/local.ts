import fs from 'node:fs/promises';
import path from 'node:path';
import { assertSafeKey, type FileStorage } from './types.ts';

/** Files under `<data dir>/files`, written to a temporary name then renamed (never half a file). */
export function createLocalStorage(root: string): FileStorage {
  const base = path.resolve(root);
  const fileOf = (key: string) => {
    assertSafeKey(key);
    return path.join(base, key);
  };
  return {
    kind: 'local',
    async put(key, data) {
      const file = fileOf(key);
      await fs.mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await fs.writeFile(tmp, data, { mode: 0o600 });
      await fs.rename(tmp, file);
    },
    async get(key) {
      return fs.readFile(fileOf(key));
    },
    async delete(key) {
      await fs.rm(fileOf(key), { force: true });
    },
  };
}

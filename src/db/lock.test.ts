import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataDirInUse, lockDataDir } from './database.ts';

describe('the PGlite data folder lock', () => {
  it('refuses a folder a live process holds, takes over one whose process is gone, and releases on close', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-lock-'));
    const file = path.join(dir, 'fenxiao.lock');
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(file, String(other.pid));
      expect(() => lockDataDir(dir)).toThrow(DataDirInUse);
      expect(() => lockDataDir(dir)).toThrow(new RegExp(`in use by process ${other.pid}`));
      other.kill('SIGKILL');
      await new Promise((resolve) => other.once('exit', resolve));
      const release = lockDataDir(dir);
      expect(fs.readFileSync(file, 'utf8')).toBe(String(process.pid));
      release();
      expect(fs.existsSync(file)).toBe(false);
    } finally {
      other.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

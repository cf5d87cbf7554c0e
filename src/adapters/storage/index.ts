import path from 'node:path';
import { createLocalStorage } from './local.ts';
import { createS3Storage, type S3Config } from './s3.ts';
import type { FileStorage } from './types.ts';

export type { FileStorage } from './types.ts';

/** The storage a deployment configured: the S3 bucket when one is set, else `<data dir>/files`. */
export function storageFromConfig(config: { s3?: S3Config | undefined; dataDir: string }): FileStorage {
  return config.s3 ? createS3Storage(config.s3) : createLocalStorage(path.resolve(config.dataDir, 'files'));
}

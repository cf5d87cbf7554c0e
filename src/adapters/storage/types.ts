/** Where uploaded documents (licence photos, ID scans) live: a local folder or an S3 bucket. */
export interface FileStorage {
  readonly kind: 'local' | 's3';
  put(key: string, data: Buffer, contentType: string): Promise<void>;
  get(key: string): Promise<Buffer>;
  delete(key: string): Promise<void>;
}

/** Keys are built by Fenxiao from ids; refuse anything that could climb out of the root. */
export function assertSafeKey(key: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_./-]{0,255}$/.test(key) || key.split('/').some((p) => p === '..' || p === '.' || p === '')) {
    throw new Error(`unsafe storage key: ${key}`);
  }
}

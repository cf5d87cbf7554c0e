import type { AwsClient as AwsClientClass } from 'aws4fetch';
import { lazy, requirePackage } from '../../lib/lazy.ts';

const aws4fetch = lazy(() => (requirePackage('aws4fetch') as { AwsClient: typeof AwsClientClass }).AwsClient);
import { assertSafeKey, type FileStorage } from './types.ts';

export interface S3Config {
  endpoint?: string | undefined;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
}

/**
 * Documents in an S3-compatible bucket (AWS, MinIO, Aliyun OSS, Tencent COS), signed with
 * Signature V4. Objects are private; Fenxiao streams them to authorised callers itself.
 */
export function createS3Storage(config: S3Config): FileStorage {
  const AwsClient = aws4fetch();
  const client = new AwsClient({ accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey, region: config.region, service: 's3' });
  const endpoint = (config.endpoint ?? `https://s3.${config.region}.amazonaws.com`).replace(/\/+$/, '');
  const urlOf = (key: string) => {
    assertSafeKey(key);
    const encoded = key.split('/').map(encodeURIComponent).join('/');
    if (config.forcePathStyle) return `${endpoint}/${config.bucket}/${encoded}`;
    const u = new URL(endpoint);
    return `${u.protocol}//${config.bucket}.${u.host}/${encoded}`;
  };
  async function call(method: string, key: string, body?: Buffer, contentType?: string): Promise<Response> {
    const res = await client.fetch(urlOf(key), {
      method,
      ...(body ? { body } : {}),
      headers: contentType ? { 'content-type': contentType } : {},
    });
    if (!res.ok && !(method === 'DELETE' && res.status === 404)) {
      const text = await res.text().catch(() => '');
      throw new Error(`S3 ${method} ${key} answered ${res.status}: ${text.slice(0, 200)}`);
    }
    return res;
  }
  return {
    kind: 's3',
    async put(key, data, contentType) {
      await (await call('PUT', key, data, contentType)).arrayBuffer();
    },
    async get(key) {
      return Buffer.from(await (await call('GET', key)).arrayBuffer());
    },
    async delete(key) {
      await (await call('DELETE', key)).arrayBuffer();
    },
  };
}

/**
 * The S3 adapter against s3rver, a real S3-compatible HTTP server running in this process on a
 * free port. s3rver checks that the access key id exists (its built-in account is S3RVER/S3RVER)
 * but does not verify Signature V4 signatures (its V4 check is unimplemented: any signature
 * passes), so these tests prove the HTTP round trip, the path-style URLs, the key encoding and the
 * error handling — not the signing, which aws4fetch owns and is tested upstream.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AwsClient } from 'aws4fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { createS3Storage, type S3Config } from './s3.ts';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;

const BUCKET = 'fenxiao-docs';
let s3: S3rverInstance;
let dir: string;
let endpoint: string;
let config: S3Config;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-s3rver-'));
  s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: BUCKET }] });
  const address = await s3.run();
  endpoint = `http://127.0.0.1:${address.port}`;
  config = { endpoint, region: 'us-east-1', bucket: BUCKET, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true };
});

afterAll(async () => {
  await s3?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Lists the bucket with a request of our own, so the checks do not rest on the adapter. */
async function listKeys(): Promise<string[]> {
  const client = new AwsClient({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1', service: 's3' });
  const res = await client.fetch(`${endpoint}/${BUCKET}?list-type=2`);
  expect(res.status).toBe(200);
  const xml = await res.text();
  return [...xml.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]!);
}

describe('createS3Storage against s3rver', () => {
  it('puts, gets and deletes binary data byte for byte', async () => {
    const storage = createS3Storage(config);
    expect(storage.kind).toBe('s3');
    // Every byte value, plus random bytes: nothing may be re-encoded on the way.
    const data = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), crypto.randomBytes(200_000)]);
    const key = 'tnt_test/dst_test/doc_binary';
    await storage.put(key, data, 'application/pdf');
    expect(await listKeys()).toContain(key);
    const back = await storage.get(key);
    expect(back.length).toBe(data.length);
    expect(Buffer.compare(back, data)).toBe(0);
    await storage.delete(key);
    expect(await listKeys()).not.toContain(key);
    await expect(storage.get(key)).rejects.toThrow(/answered 404/);
    // Deleting what is already gone is not an error (a retried clean-up).
    await storage.delete(key);
  });

  it('keeps keys with dots, dashes and underscores intact, and refuses unsafe keys before any request', async () => {
    const storage = createS3Storage(config);
    const key = 'tnt_x/dst_y/licence-scan_v2.final.png';
    await storage.put(key, Buffer.from('png'), 'image/png');
    expect(await listKeys()).toContain(key);
    expect((await storage.get(key)).toString()).toBe('png');
    for (const bad of ['../escape', 'a/../b', '/abs', 'a//b', 'a b']) {
      await expect(storage.put(bad, Buffer.from('x'), 'image/png')).rejects.toThrow(/unsafe storage key/);
    }
  });

  it('reports a refusal from the server as an error (unknown access key)', async () => {
    const storage = createS3Storage({ ...config, accessKeyId: 'NOT-A-KEY' });
    await expect(storage.put('tnt_x/denied', Buffer.from('x'), 'image/png')).rejects.toThrow(/answered 403/);
    expect(await listKeys()).not.toContain('tnt_x/denied');
  });

  it('reports a missing bucket as an error', async () => {
    const storage = createS3Storage({ ...config, bucket: 'no-such-bucket' });
    await expect(storage.put('tnt_x/nowhere', Buffer.from('x'), 'image/png')).rejects.toThrow(/answered 404/);
  });
});

describe('document upload through the server with FENXIAO_S3_* set', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      env: {
        FENXIAO_S3_BUCKET: BUCKET,
        FENXIAO_S3_ENDPOINT: endpoint,
        FENXIAO_S3_REGION: 'us-east-1',
        FENXIAO_S3_ACCESS_KEY_ID: 'S3RVER',
        FENXIAO_S3_SECRET_ACCESS_KEY: 'S3RVER',
        FENXIAO_S3_FORCE_PATH_STYLE: 'true',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lands the uploaded file in the bucket, sealed, and serves it back from there', async () => {
    expect(t.config.s3).toMatchObject({ bucket: BUCKET, endpoint, forcePathStyle: true });
    const { key } = await t.tenant();
    const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 's3-user', name: 'S3' } })).data;
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), crypto.randomBytes(4096), Buffer.from('\n%%EOF\n')]);
    const boundary = '----fenxiao-s3';
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nlicence\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="licence.pdf"\r\nContent-Type: application/pdf\r\n\r\n`,
      ),
      pdf,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const up = await t.app.inject({
      method: 'POST',
      url: `/v1/distributors/${d.id}/documents`,
      headers: { authorization: `Bearer ${key}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: body,
    });
    expect(up.statusCode).toBe(201);
    const doc = JSON.parse(up.body) as { id: string; size_bytes: number; sha256: string };
    expect(doc.size_bytes).toBe(pdf.length);
    expect(doc.sha256).toBe(crypto.createHash('sha256').update(pdf).digest('hex'));

    const row = await t.database.db.selectFrom('documents').select('storage_key').where('id', '=', doc.id).executeTakeFirstOrThrow();
    expect(await listKeys()).toContain(row.storage_key);
    // In the bucket, encrypted under the document's data key (issue 14, item 7): whoever reads
    // the bucket sees neither the PDF nor any part of it — and not in the local folder.
    const direct = new AwsClient({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1', service: 's3' });
    const obj = await direct.fetch(`${endpoint}/${BUCKET}/${row.storage_key}`);
    expect(obj.status).toBe(200);
    const stored = Buffer.from(await obj.arrayBuffer());
    expect(stored.subarray(0, 4).toString('latin1')).toBe('FXE1');
    expect(stored.includes(Buffer.from('%PDF'))).toBe(false);
    expect(stored.includes(pdf.subarray(100, 132))).toBe(false);
    expect(fs.existsSync(path.join(t.dataDir, 'files'))).toBe(false);

    const got = await t.app.inject({ method: 'GET', url: `/v1/documents/${doc.id}/content`, headers: { authorization: `Bearer ${key}` } });
    expect(got.statusCode).toBe(200);
    expect(Buffer.compare(got.rawPayload, pdf)).toBe(0);
  });

  it('encrypts a document an earlier version left in the bucket in plaintext, and deletes the plaintext object', async () => {
    const { id: tenantId, key } = await t.tenant();
    const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 's3-legacy', name: 'L' } })).data;
    const png = Buffer.from(
      '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a1d3b7a30000000049454e44ae426082',
      'hex',
    );
    const docId = 'doc_S3LEGACY0000000000000001';
    const plainKey = `${tenantId}/${d.id}/${docId}`;
    await createS3Storage(config).put(plainKey, png, 'image/png');
    await t.database.db
      .insertInto('documents')
      .values({
        id: docId,
        tenant_id: tenantId,
        distributor_id: d.id,
        kind: 'licence',
        filename: 'old.png',
        content_type: 'image/png',
        size_bytes: png.length,
        sha256: crypto.createHash('sha256').update(png).digest('hex'),
        storage_key: plainKey,
        data_key_enc: null,
      })
      .execute();
    expect(await t.services.distributors.encryptLegacyDocuments(100)).toMatchObject({ encrypted: 1, failed: 0 });
    const keys = await listKeys();
    expect(keys).not.toContain(plainKey);
    expect(keys).toContain(`${plainKey}.fxe`);
    const got = await t.app.inject({ method: 'GET', url: `/v1/documents/${docId}/content`, headers: { authorization: `Bearer ${key}` } });
    expect(got.statusCode).toBe(200);
    expect(Buffer.compare(got.rawPayload, png)).toBe(0);
  });
});

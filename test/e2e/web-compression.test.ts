/**
 * Compressed web assets (issue 16 item 14): the web build writes brotli and gzip copies beside
 * each text asset (web/compress.mjs), and the server sends the copy the browser accepts, with
 * Content-Encoding and Vary: Accept-Encoding, the file itself to a browser that accepts neither.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWeb } from '../../src/app/web.ts';
import type { App } from '../../src/core/route.ts';
// @ts-expect-error: a plain ES module of the web build, without types
import { precompress } from '../../web/compress.mjs';

const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-web-dist-'));
const script = `export const words = ${JSON.stringify(Array.from({ length: 4000 }, (_, i) => `分销-${i % 97}`))};\n`;
let app: ReturnType<typeof Fastify>;

beforeAll(async () => {
  fs.mkdirSync(path.join(dist, 'portal/assets'), { recursive: true });
  fs.writeFileSync(
    path.join(dist, 'portal/index.html'),
    '<!doctype html><title>portal</title><script type="module" src="/portal/assets/index-abc.js"></script>',
  );
  fs.writeFileSync(path.join(dist, 'portal/assets/index-abc.js'), script);
  fs.writeFileSync(path.join(dist, 'portal/assets/tiny-abc.js'), 'export {};\n');
  const written = (precompress as (dir: string) => string[])(dist).map((f) => path.relative(dist, f));
  expect(written.sort()).toEqual(['portal/assets/index-abc.js.br', 'portal/assets/index-abc.js.gz']);
  app = Fastify();
  registerWeb(app as unknown as App, dist);
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  fs.rmSync(dist, { recursive: true, force: true });
});

const get = (url: string, acceptEncoding?: string) =>
  app.inject({ method: 'GET', url, headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding } });

describe('precompressed web assets', () => {
  it('sends brotli to a browser that accepts it, as JavaScript, varying on Accept-Encoding', async () => {
    const res = await get('/portal/assets/index-abc.js', 'gzip, deflate, br, zstd');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBe('br');
    expect(String(res.headers['content-type'])).toMatch(/javascript/);
    expect(String(res.headers.vary)).toMatch(/accept-encoding/i);
    expect(res.headers['cache-control']).toContain('immutable');
    expect(res.rawPayload.length).toBeLessThan(script.length / 3);
    expect(zlib.brotliDecompressSync(res.rawPayload).toString()).toBe(script);
  });

  it('sends gzip when brotli is not accepted', async () => {
    for (const ae of ['gzip', 'br;q=0, gzip']) {
      const res = await get('/portal/assets/index-abc.js', ae);
      expect(res.headers['content-encoding'], ae).toBe('gzip');
      expect(zlib.gunzipSync(res.rawPayload).toString()).toBe(script);
    }
  });

  it('sends the file itself to a browser that accepts neither, and for a file too small to compress', async () => {
    for (const ae of [undefined, 'identity']) {
      const res = await get('/portal/assets/index-abc.js', ae);
      expect(res.headers['content-encoding'], String(ae)).toBeUndefined();
      expect(res.body).toBe(script);
    }
    const tiny = await get('/portal/assets/tiny-abc.js', 'br, gzip');
    expect(tiny.headers['content-encoding']).toBeUndefined();
    expect(tiny.body).toBe('export {};\n');
    const page = await get('/portal/login', 'br, gzip');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<title>portal</title>');
  });
});

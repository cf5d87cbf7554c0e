// Precompresses a web build (issue 16 item 14): beside each text asset of at least 1 KiB, a
// brotli (.br, quality 11) and a gzip (.gz, level 9) copy when it saves at least a tenth, so the
// server sends them with Content-Encoding to a browser that accepts them (src/app/web.ts,
// @fastify/static's preCompressed) without compressing on every request.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const TEXT = /\.(js|mjs|css|html|svg|json|txt|map|webmanifest)$/;

/** Writes the .br and .gz copies of every text file under `dir`; answers what it wrote. */
export function precompress(dir) {
  const written = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !TEXT.test(entry.name)) continue;
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    const raw = fs.readFileSync(file);
    if (raw.length < 1024) continue;
    const copies = {
      '.br': zlib.brotliCompressSync(raw, {
        params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
      }),
      '.gz': zlib.gzipSync(raw, { level: 9 }),
    };
    for (const [ext, bytes] of Object.entries(copies)) {
      if (bytes.length > raw.length * 0.9) continue;
      fs.writeFileSync(file + ext, bytes);
      written.push(file + ext);
    }
  }
  return written;
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, timingSafeEqual } from 'node:crypto';

/** One request a receiver got: its headers and the raw body as sent. */
export interface Received {
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: { id: string; type: string; created_at: string; data: Record<string, unknown> };
  answered: number | 'hung';
}

/**
 * A merchant's webhook receiver on 127.0.0.1: records every request and answers with `status`
 * (a number, or 'hang' to keep the request open and never answer).
 */
export async function startReceiver() {
  const got: Received[] = [];
  let status: number | 'hang' = 200;
  const hung: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const answer = status;
      got.push({ headers: req.headers, raw, body: JSON.parse(raw) as Received['body'], answered: answer === 'hang' ? 'hung' : answer });
      if (answer === 'hang') {
        hung.push(res);
        return;
      }
      res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/hooks`,
    got,
    answer(s: number | 'hang') {
      status = s;
    },
    async close() {
      for (const r of hung) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/**
 * Verifies `Fenxiao-Signature: t=<unix>,v1=<hex>[,v1=<hex>]` the way a merchant would (the
 * snippet of docs/integration.md): true when some v1 is the HMAC-SHA256 of "<t>.<raw body>" under `secret`.
 */
export function verifyFenxiaoSignature(header: string | undefined, raw: string, secret: string): boolean {
  if (!header) return false;
  const parts = header.split(',').map((p) => p.trim().split('=') as [string, string]);
  const t = parts.find(([k]) => k === 't')?.[1];
  if (!t || !/^\d+$/.test(t)) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${raw}`).digest();
  return parts.some(([k, v]) => k === 'v1' && /^[0-9a-f]{64}$/.test(v) && timingSafeEqual(Buffer.from(v, 'hex'), expected));
}

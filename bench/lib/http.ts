import http from 'node:http';
import { nowMs } from './timing.ts';

export interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * A small keep-alive HTTP/1.1 client on node:http. A load generator sharing two cores with the
 * server and the database should spend as little as it can per request; fetch (undici) costs
 * noticeably more than a plain http.request on a reused socket.
 */
export function httpClient(baseUrl: string, maxSockets: number) {
  const base = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  return {
    request(method: string, path: string, opts: { body?: string; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
        if (opts.body !== undefined) {
          headers['content-type'] ??= 'application/json';
          headers['content-length'] = Buffer.byteLength(opts.body);
        }
        const req = http.request({ host: base.hostname, port: base.port, method, path, agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(opts.body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}

export interface PhaseResult {
  /** Latencies of successful requests, ms. */
  latencies: number[];
  ok: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  /** Open loop only. */
  target?: { rate: number; sent: number; maxInFlight: number; maxLateMs: number };
}

/**
 * Closed loop for a fixed time: `concurrency` workers each send the next request as soon as the
 * previous one answered, until `seconds` have passed. Throughput is what the server sustains.
 */
export async function closedLoopFor(opts: {
  seconds: number;
  concurrency: number;
  send: (i: number) => Promise<HttpAnswer>;
  ok?: (a: HttpAnswer) => boolean;
  onProgress?: (done: number) => void;
}): Promise<PhaseResult> {
  const ok = opts.ok ?? ((a: HttpAnswer) => a.status >= 200 && a.status < 300);
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = nowMs();
  const deadline = started + opts.seconds * 1000;
  const worker = async () => {
    while (nowMs() < deadline) {
      const i = next++;
      const t0 = nowMs();
      try {
        const a = await opts.send(i);
        if (ok(a)) latencies.push(nowMs() - t0);
        else {
          errors++;
          firstError ??= `${a.status} ${a.body.slice(0, 300)}`;
        }
      } catch (err) {
        errors++;
        firstError ??= String(err);
      }
      opts.onProgress?.(latencies.length + errors);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
  return { latencies, ok: latencies.length, errors, elapsedMs: nowMs() - started, ...(firstError ? { firstError } : {}) };
}

/**
 * Open loop at a fixed rate: request i is due at start + i/rate whatever happened to the ones
 * before, as independent clients would send them. Latency counts from when a request was due,
 * not from when it went out, so a server (or generator) that falls behind shows it in the
 * latency instead of hiding it (no coordinated omission).
 */
export async function openLoop(opts: {
  rate: number;
  seconds: number;
  send: (i: number) => Promise<HttpAnswer>;
  ok?: (a: HttpAnswer) => boolean;
  onProgress?: (done: number) => void;
}): Promise<PhaseResult> {
  const ok = opts.ok ?? ((a: HttpAnswer) => a.status >= 200 && a.status < 300);
  const total = Math.round(opts.rate * opts.seconds);
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let sent = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let maxLateMs = 0;
  let done = 0;
  const pending: Promise<void>[] = [];
  const started = nowMs();
  const dueAt = (i: number) => started + (i * 1000) / opts.rate;
  while (sent < total) {
    const now = nowMs();
    while (sent < total && dueAt(sent) <= now) {
      const i = sent++;
      const due = dueAt(i);
      maxLateMs = Math.max(maxLateMs, now - due);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      pending.push(
        opts
          .send(i)
          .then(
            (a) => {
              if (ok(a)) latencies.push(nowMs() - due);
              else {
                errors++;
                firstError ??= `${a.status} ${a.body.slice(0, 300)}`;
              }
            },
            (err: unknown) => {
              errors++;
              firstError ??= String(err);
            },
          )
          .finally(() => {
            inFlight--;
            opts.onProgress?.(++done);
          }),
      );
    }
    const wait = dueAt(sent) - nowMs();
    if (wait > 0) await new Promise((r) => setTimeout(r, Math.max(1, Math.floor(wait))));
    else await new Promise((r) => setImmediate(r));
  }
  await Promise.all(pending);
  return {
    latencies,
    ok: latencies.length,
    errors,
    elapsedMs: nowMs() - started,
    ...(firstError ? { firstError } : {}),
    target: { rate: opts.rate, sent, maxInFlight, maxLateMs },
  };
}

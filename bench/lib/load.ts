import { nowMs } from './timing.ts';

export interface LoadResult {
  latencies: number[];
  errors: number;
  statuses: Map<number, number>;
  elapsedMs: number;
  firstError?: string;
}

/**
 * A closed-loop load: `concurrency` workers each send the next request as soon as the previous
 * answers, until `total` requests were sent. Latency is from send to the end of the body.
 */
export async function closedLoop(opts: {
  total: number;
  concurrency: number;
  request: (i: number) => { url: string; init?: RequestInit };
  ok?: (status: number) => boolean;
  onProgress?: (done: number) => void;
}): Promise<LoadResult> {
  const ok = opts.ok ?? ((s: number) => s >= 200 && s < 300);
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let errors = 0;
  let next = 0;
  let done = 0;
  let firstError: string | undefined;
  const started = nowMs();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= opts.total) return;
      const { url, init } = opts.request(i);
      const t0 = nowMs();
      try {
        const res = await fetch(url, init);
        const body = await res.text();
        const t1 = nowMs();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (ok(res.status)) latencies.push(t1 - t0);
        else {
          errors++;
          firstError ??= `${res.status} ${body.slice(0, 200)}`;
        }
      } catch (err) {
        errors++;
        firstError ??= String(err);
      }
      done++;
      opts.onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
  return { latencies, errors, statuses, elapsedMs: nowMs() - started, ...(firstError ? { firstError } : {}) };
}

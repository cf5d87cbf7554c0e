/**
 * Group commit: work items that arrive together under one key (a tenant) are handed to `run` as
 * one batch, and each caller is answered with its own result when the batch is done. A key has at
 * most one batch running; what arrives meanwhile waits and forms the next batch, so an idle
 * system adds no latency (a lone item runs at once, in a batch of one) and a busy one writes as
 * many items per transaction as arrived while the last one committed.
 */
export interface GroupCommit<I, O> {
  submit(key: string, item: I): Promise<O>;
  /** Resolves when nothing is queued or running (shutdown). */
  idle(): Promise<void>;
  readonly stats: { batches: number; items: number; largest: number };
}

/** One item's answer: its value, or the error to reject its caller with. */
export type Settled<O> = { ok: true; value: O } | { ok: false; error: unknown };

interface Waiting<I, O> { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }

export function createGroupCommit<I, O>(options: {
  /** Runs one batch; answers one Settled per item, in order. It should not throw, but if it does every item gets the error. */
  run: (key: string, items: I[]) => Promise<Settled<O>[]>;
  maxBatch: number;
}): GroupCommit<I, O> {
  const queues = new Map<string, Waiting<I, O>[]>();
  const running = new Set<string>();
  const idleWaiters: (() => void)[] = [];
  const stats = { batches: 0, items: 0, largest: 0 };

  function checkIdle() {
    if (running.size === 0 && queues.size === 0) for (const w of idleWaiters.splice(0)) w();
  }

  async function pump(key: string) {
    running.add(key);
    try {
      for (;;) {
        const queue = queues.get(key);
        if (!queue || queue.length === 0) {
          queues.delete(key);
          return;
        }
        const batch = queue.splice(0, options.maxBatch);
        stats.batches++;
        stats.items += batch.length;
        stats.largest = Math.max(stats.largest, batch.length);
        let results: Settled<O>[];
        try {
          results = await options.run(key, batch.map((w) => w.item));
        } catch (error) {
          results = batch.map(() => ({ ok: false, error }));
        }
        batch.forEach((w, i) => {
          const r = results[i];
          if (r === undefined) w.reject(new Error('group commit: the batch answered fewer results than items'));
          else if (r.ok) w.resolve(r.value);
          else w.reject(r.error);
        });
      }
    } finally {
      running.delete(key);
      checkIdle();
    }
  }

  return {
    stats,
    submit(key, item) {
      return new Promise<O>((resolve, reject) => {
        let queue = queues.get(key);
        if (!queue) queues.set(key, queue = []);
        queue.push({ item, resolve, reject });
        // Started on the next turn of the event loop: requests read in the same turn join it.
        if (!running.has(key)) {
          running.add(key);
          setImmediate(() => { void pump(key); });
        }
      });
    },
    idle() {
      if (running.size === 0 && queues.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => { idleWaiters.push(resolve); });
    },
  };
}

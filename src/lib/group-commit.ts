/**
 * Group commit: work items that arrive together under one key (a tenant) are handed to `run` as
 * one batch, and each caller is answered with its own result when the batch is done. A key has at
 * most `maxInFlight` batches running; what arrives while they all run waits and forms the next
 * batch, so an idle system adds no latency (a lone item runs at once, in a batch of one) and a
 * busy one writes as many items per transaction as arrived meanwhile. With two in flight one batch
 * is computed and sent while the other waits on the database, so neither side idles.
 */
export interface GroupCommit<I, O> {
  submit(key: string, item: I): Promise<O>;
  /** Resolves when nothing is queued or running (shutdown). */
  idle(): Promise<void>;
  readonly stats: { batches: number; items: number; largest: number };
}

/** One item's answer: its value, or the error to reject its caller with. */
export type Settled<O> = { ok: true; value: O } | { ok: false; error: unknown };

interface Waiting<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

interface Lane<I, O> {
  queue: Waiting<I, O>[];
  active: number;
  scheduled: boolean;
}

export function createGroupCommit<I, O>(options: {
  /** Runs one batch; answers one Settled per item, in order. It should not throw, but if it does every item gets the error. */
  run: (key: string, items: I[]) => Promise<Settled<O>[]>;
  maxBatch: number;
  /** Batches of one key running at once (default 1: strictly one after another). */
  maxInFlight?: number | undefined;
}): GroupCommit<I, O> {
  const maxInFlight = Math.max(1, options.maxInFlight ?? 1);
  const lanes = new Map<string, Lane<I, O>>();
  const idleWaiters: (() => void)[] = [];
  const stats = { batches: 0, items: 0, largest: 0 };

  function checkIdle() {
    if (lanes.size === 0) for (const w of idleWaiters.splice(0)) w();
  }

  /** Starts batches while there is work and room; forgets the lane when it has neither. */
  function launch(key: string, lane: Lane<I, O>) {
    while (lane.active < maxInFlight && lane.queue.length > 0) {
      const batch = lane.queue.splice(0, options.maxBatch);
      lane.active++;
      stats.batches++;
      stats.items += batch.length;
      stats.largest = Math.max(stats.largest, batch.length);
      void runBatch(key, batch).finally(() => {
        lane.active--;
        // What arrived while this batch ran is the next batch, started now.
        launch(key, lane);
      });
    }
    if (lane.active === 0 && lane.queue.length === 0 && !lane.scheduled) {
      lanes.delete(key);
      checkIdle();
    }
  }

  async function runBatch(key: string, batch: Waiting<I, O>[]) {
    let results: Settled<O>[];
    try {
      results = await options.run(
        key,
        batch.map((w) => w.item),
      );
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

  return {
    stats,
    submit(key, item) {
      return new Promise<O>((resolve, reject) => {
        let lane = lanes.get(key);
        if (!lane) lanes.set(key, (lane = { queue: [], active: 0, scheduled: false }));
        lane.queue.push({ item, resolve, reject });
        // Started on the next turn of the event loop, so requests read in the same turn join it.
        if (!lane.scheduled && lane.active < maxInFlight) {
          lane.scheduled = true;
          const l = lane;
          setImmediate(() => {
            l.scheduled = false;
            launch(key, l);
          });
        }
      });
    },
    idle() {
      if (lanes.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
      });
    },
  };
}

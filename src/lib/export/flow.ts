import { once, type EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import type { Lang } from './spec.ts';

export interface WriteOptions {
  /** Header and label language; zh by default. */
  lang?: Lang;
  /** IANA time zone for datetime and date columns: the tenant's program time zone. */
  tz: string;
  /** The filters the export was made with, listed on the about sheet (xlsx). */
  params?: Record<string, unknown>;
  /** When the export was made (the about sheet); now by default. */
  generatedAt?: Date;
  /** Called with the number of data rows written, every `progressEvery` rows and at the end. */
  onProgress?: (rowsWritten: number) => void;
  progressEvery?: number;
  /** Aborting stops pulling rows, ends the source (its `return()`), and destroys the destination. */
  signal?: AbortSignal;
}

export interface ExportResult {
  /** Data rows written (the header and totals rows not counted). */
  rows: number;
  /** The totals row's sums, in fen (or units for int columns), by column key. */
  totals: Record<string, bigint>;
}

/** The export stopped because its consumer went away (client abort, cancelled job). */
export class ExportAbortedError extends Error {
  override name = 'ExportAbortedError';
}

export const DEFAULT_PROGRESS_EVERY = 1000;

/**
 * Watches a destination while a writer fills it: a premature close, an error or an abort signal
 * becomes one failure that every wait races against, so a writer never hangs on a consumer
 * that is gone.
 */
export class Flow {
  private error: Error | null = null;
  private finished = false;
  private rejectFailure: (err: Error) => void = () => {};
  readonly failure: Promise<never>;
  private readonly disposers: (() => void)[] = [];

  constructor(out: Writable, signal?: AbortSignal) {
    this.failure = new Promise<never>((_, reject) => {
      this.rejectFailure = reject;
    });
    this.failure.catch(() => {});
    const onFinish = () => {
      this.finished = true;
    };
    const onClose = () => {
      if (!this.finished) this.fail(new ExportAbortedError('the destination closed before the export finished'));
    };
    const onError = (err: Error) => this.fail(err);
    out.on('finish', onFinish);
    out.on('close', onClose);
    out.on('error', onError);
    this.disposers.push(() => {
      out.off('finish', onFinish);
      out.off('close', onClose);
      out.off('error', onError);
    });
    if (out.destroyed) this.fail(new ExportAbortedError('the destination is already closed'));
    if (signal) {
      const onAbort = () => this.fail(new ExportAbortedError(signal.reason instanceof Error ? signal.reason.message : 'the export was aborted'));
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        this.disposers.push(() => signal.removeEventListener('abort', onAbort));
      }
    }
  }

  fail(err: Error): void {
    if (this.error) return;
    this.error = err;
    this.rejectFailure(err);
  }

  get failed(): Error | null {
    return this.error;
  }

  /** Throws the failure, if any: called between rows so an abort stops the loop. */
  check(): void {
    if (this.error) throw this.error;
  }

  /** Waits for `event` on `emitter`, or throws the failure, whichever comes first. */
  async wait(emitter: EventEmitter, event: string): Promise<void> {
    this.check();
    const ac = new AbortController();
    try {
      await Promise.race([once(emitter, event, { signal: ac.signal }), this.failure]);
    } finally {
      ac.abort();
    }
  }

  /** Waits for a promise, or throws the failure. */
  async race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.failure]);
  }

  dispose(): void {
    for (const d of this.disposers.splice(0)) d();
  }
}

/** Lets timers and I/O callbacks run (zlib, sockets) between bursts of synchronous work. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Counts rows and reports progress every `every` rows. */
export function progressReporter(options: Pick<WriteOptions, 'onProgress' | 'progressEvery'>) {
  const every = Math.max(1, options.progressEvery ?? DEFAULT_PROGRESS_EVERY);
  const cb = options.onProgress;
  let last = -1;
  return {
    row(n: number) {
      if (cb && n % every === 0) {
        last = n;
        cb(n);
      }
    },
    end(n: number) {
      if (cb && last !== n) {
        last = n;
        cb(n);
      }
    },
  };
}

/** Destroys the destination with the error so a consumer never sees a clean end of a partial file. */
export function destroyWith(out: Writable, err: Error): void {
  if (out.destroyed) return;
  // The error reaches every listener the consumer has; this one only keeps an unwatched
  // destination (the writer's own listeners are gone by then) from crashing the process.
  out.on('error', () => {});
  out.destroy(err);
}

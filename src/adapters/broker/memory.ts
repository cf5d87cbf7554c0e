import {
  backoffMs,
  contentOf,
  HEADER_ATTEMPT,
  HEADER_LAST_ERROR,
  HEADER_REQUEUES,
  requeuesOf,
  type BrokerMessage,
  type Disposition,
  type MessageHandler,
  type OrderEventSource,
  type PublishOptions,
  type SourceStats,
} from './types.ts';

export interface DeadLetter {
  message: BrokerMessage;
  reason: string;
  at: Date;
}

export interface MemorySource extends OrderEventSource {
  readonly kind: 'memory';
  /** Messages that were dead-lettered, with their reasons (RabbitMQ keeps these in `<queue>.dead`). */
  deadLetters(): DeadLetter[];
  /** Messages waiting (not in flight), including retries whose delay has not run out. */
  depth(): number;
  /** Resolves when nothing is queued, waiting for a retry, or in flight. */
  drained(): Promise<void>;
}

/**
 * The in-process queue beside RabbitMQ, with its semantics: at most `prefetch` messages in
 * flight, acknowledgement after the handler, retries with backoff up to `maxAttempts`
 * (requeues while the database is away do not count), a
 * dead-letter list with reasons, a graceful stop that waits for messages in flight, and
 * redelivery of what a crashed consumer held. It lives in the process: what it holds is lost
 * when the process ends, so it suits the embedded single-process default and tests, not a
 * deployment that needs messages to survive a restart (that is RabbitMQ's job).
 */
export function createMemorySource(options: { prefetch?: number; maxAttempts?: number; retryDelayMs?: (attempt: number) => number } = {}): MemorySource {
  const prefetch = options.prefetch ?? 16;
  const maxAttempts = options.maxAttempts ?? 5;
  const retryDelay = options.retryDelayMs ?? ((attempt: number) => backoffMs(attempt));
  const queue: BrokerMessage[] = [];
  const waiting = new Map<NodeJS.Timeout, BrokerMessage>();
  const inFlight = new Map<BrokerMessage, Promise<void>>();
  const dead: DeadLetter[] = [];
  const stats: Omit<SourceStats, 'inFlight'> = { delivered: 0, acked: 0, retried: 0, requeued: 0, dead: 0 };
  let handler: MessageHandler | null = null;
  let running = false;
  // Bumped by abandon(): the outcome of a handler started under an older generation is dropped.
  let generation = 0;
  let idleWaiters: (() => void)[] = [];

  const checkIdle = () => {
    if (queue.length === 0 && waiting.size === 0 && inFlight.size === 0) {
      const w = idleWaiters;
      idleWaiters = [];
      for (const resolve of w) resolve();
    }
  };

  const later = (next: BrokerMessage, delayMs: number) => {
    const timer = setTimeout(() => {
      waiting.delete(timer);
      queue.push(next);
      pump();
    }, delayMs);
    timer.unref?.();
    waiting.set(timer, next);
  };

  const settle = (m: BrokerMessage, d: Disposition) => {
    switch (d.action) {
      case 'ack':
        stats.acked++;
        return;
      case 'retry': {
        if (m.attempt >= maxAttempts) {
          deadLetter(m, `gave up after ${m.attempt} attempts: ${d.reason}`);
          return;
        }
        stats.retried++;
        later(
          {
            ...m,
            attempt: m.attempt + 1,
            redelivered: false,
            headers: { ...m.headers, [HEADER_ATTEMPT]: String(m.attempt + 1), [HEADER_LAST_ERROR]: d.reason.slice(0, 500) },
          },
          retryDelay(m.attempt),
        );
        return;
      }
      case 'requeue': {
        stats.requeued++;
        const n = requeuesOf(m) + 1;
        later(
          { ...m, redelivered: false, headers: { ...m.headers, [HEADER_REQUEUES]: String(n), [HEADER_LAST_ERROR]: d.reason.slice(0, 500) } },
          retryDelay(n),
        );
        return;
      }
      case 'dead':
        deadLetter(m, d.reason);
        return;
      default: {
        const never: never = d;
        throw new Error(`unknown disposition ${JSON.stringify(never)}`);
      }
    }
  };

  function deadLetter(m: BrokerMessage, reason: string) {
    stats.dead++;
    dead.push({ message: m, reason, at: new Date() });
  }

  function pump() {
    while (running && handler && inFlight.size < prefetch) {
      const m = queue.shift();
      if (m === undefined) break;
      const gen = generation;
      const h = handler;
      stats.delivered++;
      const p = (async () => {
        let d: Disposition;
        try {
          d = await h(m);
        } catch (err) {
          d = { action: 'retry', reason: err instanceof Error ? err.message : String(err) };
        }
        if (gen !== generation) return; // abandoned: the message was handed back already
        inFlight.delete(m);
        settle(m, d);
        pump();
        checkIdle();
      })();
      inFlight.set(m, p);
    }
    checkIdle();
  }

  return {
    kind: 'memory',
    async start(h) {
      handler = h;
      running = true;
      pump();
    },
    async publish(content, opts: PublishOptions = {}) {
      queue.push({ content: contentOf(content), messageId: opts.messageId, headers: { ...(opts.headers ?? {}) }, attempt: 1, redelivered: false });
      pump();
    },
    async stop() {
      running = false;
      await Promise.allSettled([...inFlight.values()]);
      // Retries still waiting go back in the queue: nothing is lost by stopping.
      for (const [timer, m] of waiting) {
        clearTimeout(timer);
        queue.push(m);
      }
      waiting.clear();
    },
    async abandon() {
      running = false;
      generation++;
      const held = [...inFlight.keys()].map((m) => ({ ...m, redelivered: true }));
      inFlight.clear();
      queue.unshift(...held);
    },
    stats: () => ({ ...stats, inFlight: inFlight.size }),
    deadLetters: () => [...dead],
    depth: () => queue.length + waiting.size,
    drained: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      }),
  };
}

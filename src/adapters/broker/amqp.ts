import type { ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import type * as Amqplib from 'amqplib';
import { lazy, requirePackage } from '../../lib/lazy.ts';

const amqplib = lazy(() => requirePackage('amqplib') as typeof Amqplib);
import {
  backoffMs,
  contentOf,
  HEADER_ATTEMPT,
  HEADER_DEAD_AT,
  HEADER_DEAD_REASON,
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

export interface AmqpSourceOptions {
  url: string;
  /** The deployment's queue; `<queue>.retry` and `<queue>.dead` are declared beside it. */
  queue: string;
  /** Messages handed to this consumer before it acknowledges any: its backpressure. */
  prefetch?: number;
  /** Tries of one message (the first included) before it is dead-lettered. */
  maxAttempts?: number;
  /** Delay before retry number `attempt` (1 = after the first failure). */
  retryDelayMs?: (attempt: number) => number;
  /** Delay before reconnect number `attempt`. */
  reconnectDelayMs?: (attempt: number) => number;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export interface AmqpTopology {
  queue: string;
  retryQueue: string;
  deadQueue: string;
}

export function amqpTopology(queue: string): AmqpTopology {
  return { queue, retryQueue: `${queue}.retry`, deadQueue: `${queue}.dead` };
}

/**
 * Declares the three durable queues (idempotent; publishers and tests call it too):
 * - `<queue>`: where merchants' systems publish (default exchange, routing key = the queue). If a
 *   message is ever rejected without Fenxiao's own dead-lettering, the broker moves it to `.dead`.
 * - `<queue>.retry`: a message waiting out its backoff; each carries its own expiration, and
 *   when it expires the broker moves it back to `<queue>`.
 * - `<queue>.dead`: what will not succeed, with `x-fenxiao-dead-reason` saying why.
 */
export async function assertTopology(ch: { assertQueue: ConfirmChannel['assertQueue'] }, t: AmqpTopology): Promise<void> {
  await ch.assertQueue(t.deadQueue, { durable: true });
  await ch.assertQueue(t.queue, { durable: true, deadLetterExchange: '', deadLetterRoutingKey: t.deadQueue });
  await ch.assertQueue(t.retryQueue, { durable: true, deadLetterExchange: '', deadLetterRoutingKey: t.queue });
}

function stringHeaders(h: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else if (Buffer.isBuffer(v)) out[k] = v.toString('utf8');
  }
  return out;
}

const silent = { info() {}, warn() {}, error() {} };

/**
 * RabbitMQ through amqplib. One connection and one confirm channel per consumer: deliveries,
 * their acknowledgements, and the republishing of retries and dead letters all go over it, and
 * a retry or dead letter is acknowledged only once the broker has confirmed its copy (so a
 * crash between the two leaves a duplicate, never a loss). On a lost connection it reconnects
 * with backoff; messages it held come back from the broker by themselves.
 */
export function createAmqpSource(options: AmqpSourceOptions): OrderEventSource & { topology: AmqpTopology } {
  const topology = amqpTopology(options.queue);
  const prefetch = options.prefetch ?? 16;
  const maxAttempts = options.maxAttempts ?? 5;
  const retryDelay = options.retryDelayMs ?? ((attempt: number) => backoffMs(attempt));
  const reconnectDelay = options.reconnectDelayMs ?? ((attempt: number) => backoffMs(attempt, 500, 30_000));
  const log = options.log ?? silent;
  const stats: Omit<SourceStats, 'inFlight'> = { delivered: 0, acked: 0, retried: 0, requeued: 0, dead: 0 };
  const inFlight = new Set<Promise<void>>();

  let handler: MessageHandler | null = null;
  let conn: ChannelModel | null = null;
  let ch: ConfirmChannel | null = null;
  let consumerTag: string | null = null;
  let stopping = false;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let reconnectAttempt = 0;
  let connecting: Promise<void> | null = null;
  // Publishing (tests, bridges) uses a connection of its own, opened on first use.
  let publisher: { conn: ChannelModel; ch: ConfirmChannel } | null = null;

  const confirmSend = (channel: ConfirmChannel, queue: string, content: Buffer, opts: Options.Publish) =>
    new Promise<void>((resolve, reject) => {
      try {
        channel.sendToQueue(queue, content, { persistent: true, ...opts }, (err: unknown) =>
          err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
        );
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });

  async function settle(channel: ConfirmChannel, msg: ConsumeMessage, m: BrokerMessage, d: Disposition): Promise<void> {
    const base: Options.Publish = {
      contentType: msg.properties.contentType ?? 'application/json',
      ...(m.messageId ? { messageId: m.messageId } : {}),
    };
    if (d.action === 'retry' && m.attempt < maxAttempts) {
      const delay = retryDelay(m.attempt);
      await confirmSend(channel, topology.retryQueue, msg.content, {
        ...base,
        expiration: String(delay),
        headers: { ...m.headers, [HEADER_ATTEMPT]: String(m.attempt + 1), [HEADER_LAST_ERROR]: d.reason.slice(0, 500) },
      });
      stats.retried++;
      log.warn({ queue: topology.queue, message_id: m.messageId, attempt: m.attempt, retry_in_ms: delay, reason: d.reason }, 'order message will be retried');
    } else if (d.action === 'requeue') {
      // Through the retry queue like a retry (a nack with requeue would come straight back and
      // spin while the database is away), keeping its attempt number.
      const n = requeuesOf(m) + 1;
      const delay = retryDelay(n);
      await confirmSend(channel, topology.retryQueue, msg.content, {
        ...base,
        expiration: String(delay),
        headers: { ...m.headers, [HEADER_ATTEMPT]: String(m.attempt), [HEADER_REQUEUES]: String(n), [HEADER_LAST_ERROR]: d.reason.slice(0, 500) },
      });
      stats.requeued++;
      log.warn(
        { queue: topology.queue, message_id: m.messageId, requeues: n, retry_in_ms: delay, reason: d.reason },
        'order message put back: the database is unavailable',
      );
    } else if (d.action !== 'ack') {
      const reason = d.action === 'retry' ? `gave up after ${m.attempt} attempts: ${d.reason}` : d.reason;
      await confirmSend(channel, topology.deadQueue, msg.content, {
        ...base,
        headers: { ...m.headers, [HEADER_ATTEMPT]: String(m.attempt), [HEADER_DEAD_REASON]: reason.slice(0, 1000), [HEADER_DEAD_AT]: new Date().toISOString() },
      });
      stats.dead++;
      log.error({ queue: topology.queue, message_id: m.messageId, attempt: m.attempt, reason }, 'order message dead-lettered');
    } else {
      stats.acked++;
    }
    channel.ack(msg);
  }

  function onMessage(channel: ConfirmChannel, msg: ConsumeMessage | null) {
    if (msg === null) {
      // The broker cancelled the consumer (its queue was deleted): start over.
      log.warn({ queue: topology.queue }, 'consumer cancelled by the broker; reconnecting');
      void channel.close().catch(() => {});
      return;
    }
    const headers = stringHeaders(msg.properties.headers as Record<string, unknown> | undefined);
    const attempt = Math.max(1, Number.parseInt(headers[HEADER_ATTEMPT] ?? '1', 10) || 1);
    const m: BrokerMessage = {
      content: msg.content,
      messageId: typeof msg.properties.messageId === 'string' ? msg.properties.messageId : undefined,
      headers,
      attempt,
      redelivered: msg.fields.redelivered,
    };
    stats.delivered++;
    const h = handler;
    // start() sets the handler before it consumes, so a delivery without one is a bug here.
    if (!h) throw new Error('amqp: a message arrived before start() set a handler');
    const p = (async () => {
      let d: Disposition;
      try {
        d = await h(m);
      } catch (err) {
        d = { action: 'retry', reason: err instanceof Error ? err.message : String(err) };
      }
      try {
        await settle(channel, msg, m, d);
      } catch (err) {
        // The channel is gone (connection lost, or abandoned): the broker hands the message to
        // the next consumer, whose handler finds it already applied.
        log.warn(
          { queue: topology.queue, message_id: m.messageId, err: err instanceof Error ? err.message : String(err) },
          'could not acknowledge an order message; it will be delivered again',
        );
      }
    })();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }

  async function connectOnce(): Promise<void> {
    const c = await amqplib().connect(options.url, { clientProperties: { connection_name: `fenxiao consumer ${topology.queue}` } });
    c.on('error', (err: Error) => log.warn({ err: err.message }, 'AMQP connection error'));
    try {
      const channel = await c.createConfirmChannel();
      channel.on('error', (err: Error) => log.warn({ err: err.message }, 'AMQP channel error'));
      await assertTopology(channel, topology);
      await channel.prefetch(prefetch);
      const consumed = await channel.consume(topology.queue, (msg) => onMessage(channel, msg), { noAck: false });
      // A lost channel or connection: reconnect, unless we are the ones closing it.
      const lost = () => {
        if (conn !== c) return;
        conn = null;
        ch = null;
        consumerTag = null;
        void c.close().catch(() => {});
        if (!stopping) scheduleReconnect();
      };
      channel.on('close', lost);
      c.on('close', lost);
      conn = c;
      ch = channel;
      consumerTag = consumed.consumerTag;
      reconnectAttempt = 0;
      log.info({ queue: topology.queue, prefetch }, 'consuming order messages');
    } catch (err) {
      await c.close().catch(() => {});
      throw err;
    }
  }

  function scheduleReconnect() {
    if (stopping || reconnectTimer) return;
    reconnectAttempt++;
    const delay = reconnectDelay(reconnectAttempt);
    log.warn({ queue: topology.queue, attempt: reconnectAttempt, delay_ms: delay }, 'AMQP connection lost; reconnecting');
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      connecting = connectOnce()
        .catch((err: unknown) => {
          log.warn({ err: err instanceof Error ? err.message : String(err) }, 'AMQP reconnect failed');
          scheduleReconnect();
        })
        .finally(() => {
          connecting = null;
        });
    }, delay);
    reconnectTimer.unref?.();
  }

  async function closeQuietly(c: ChannelModel | null) {
    if (c) await c.close().catch(() => {});
  }

  return {
    kind: 'amqp',
    topology,

    /** Resolves once consuming; while the broker is unreachable it keeps trying (with backoff) until stop(). */
    async start(h) {
      handler = h;
      stopping = false;
      for (let attempt = 1; !stopping; attempt++) {
        try {
          await connectOnce();
          // stop() came while connecting: it found nothing to close yet.
          if (stopping) {
            const c = conn;
            conn = null;
            ch = null;
            await closeQuietly(c);
          }
          return;
        } catch (err) {
          const delay = reconnectDelay(attempt);
          log.warn(
            { queue: topology.queue, attempt, delay_ms: delay, err: err instanceof Error ? err.message : String(err) },
            'cannot reach the AMQP broker; retrying',
          );
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    },

    async publish(content, opts: PublishOptions = {}) {
      if (!publisher) {
        const c = await amqplib().connect(options.url, { clientProperties: { connection_name: `fenxiao publisher ${topology.queue}` } });
        c.on('error', () => {});
        const channel = await c.createConfirmChannel();
        channel.on('error', () => {});
        await assertTopology(channel, topology);
        publisher = { conn: c, ch: channel };
        c.on('close', () => {
          if (publisher?.conn === c) publisher = null;
        });
      }
      await confirmSend(publisher.ch, topology.queue, contentOf(content), {
        contentType: 'application/json',
        ...(opts.messageId ? { messageId: opts.messageId } : {}),
        headers: { ...(opts.headers ?? {}) },
      });
    },

    async stop() {
      stopping = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = null;
      if (connecting) await connecting.catch(() => {});
      // No new deliveries, then let those in flight finish and be acknowledged on the open channel.
      if (ch && consumerTag) await ch.cancel(consumerTag).catch(() => {});
      await Promise.allSettled([...inFlight]);
      const c = conn;
      const channel = ch;
      conn = null;
      ch = null;
      consumerTag = null;
      // The channel first: its close follows the acknowledgements on the channel's own stream,
      // whereas closing the connection at once may overtake them (and every message comes back).
      if (channel) await channel.close().catch(() => {});
      await closeQuietly(c);
      const p = publisher;
      publisher = null;
      await closeQuietly(p?.conn ?? null);
    },

    async abandon() {
      stopping = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = null;
      const c = conn;
      conn = null;
      ch = null;
      // Cut the socket, as a killed process would: the broker requeues every unacknowledged message.
      const stream = (c as unknown as { connection?: { stream?: { destroy(): void } } } | null)?.connection?.stream;
      stream?.destroy();
      const p = publisher;
      publisher = null;
      await closeQuietly(p?.conn ?? null);
    },

    stats: () => ({ ...stats, inFlight: inFlight.size }),
  };
}

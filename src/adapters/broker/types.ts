/**
 * Where order messages come from: RabbitMQ (amqp.ts) or an in-process queue (memory.ts), with
 * the same semantics, so the consumer and its tests do not care which.
 *
 * At-least-once: a message is acknowledged only after its handler has finished (the order's
 * transaction has committed), so a consumer that dies holding messages gets them redelivered;
 * the handler makes a second delivery count once (orders are idempotent on external_id, events
 * on their idempotency key). A handler that cannot finish asks for a retry, with backoff, up to
 * a number of attempts; then, or at once for a message that can never succeed, the message goes
 * to the dead-letter queue with the reason. A message that found the database away is requeued,
 * with backoff, for as long as that lasts: it is not the message that failed.
 */
export interface BrokerMessage {
  /** The message body, as published. */
  content: Buffer;
  /** The publisher's message id (AMQP `message_id`), when it set one. */
  messageId: string | undefined;
  /** String headers of the message (AMQP headers; Fenxiao's own are `x-fenxiao-…`). */
  headers: Record<string, string>;
  /** 1 on the first try; each retry this source schedules adds one. */
  attempt: number;
  /** True when the broker had handed this message to a consumer before (one that died holding it). */
  redelivered: boolean;
}

/** What to do with a message once handled. */
export type Disposition =
  | { action: 'ack' }
  /** Could not finish now (the order of an event not there yet): try again later, up to maxAttempts. */
  | { action: 'retry'; reason: string }
  /**
   * Not the message's fault: something it needs is away (the database restarting or
   * unreachable). Delivered again after a pause that grows with each requeue, without spending
   * one of its attempts, so an outage of any length dead-letters nothing.
   */
  | { action: 'requeue'; reason: string }
  /** Can never succeed as it is (not JSON, fails the schema, unknown tenant): dead-letter it. */
  | { action: 'dead'; reason: string };

/** A handler that throws is treated as `retry` with the error's message. */
export type MessageHandler = (message: BrokerMessage) => Promise<Disposition>;

export interface PublishOptions {
  messageId?: string;
  headers?: Record<string, string>;
}

export interface SourceStats {
  delivered: number;
  acked: number;
  retried: number;
  /** Put back for later because the database was away (not counted as attempts). */
  requeued: number;
  dead: number;
  inFlight: number;
}

export interface OrderEventSource {
  readonly kind: 'amqp' | 'memory';
  /** Starts consuming. Resolves once messages flow (AMQP: connected and the queues declared). */
  start(handler: MessageHandler): Promise<void>;
  /** Publishes one message to the queue (tests, an embedding application, a bridge). */
  publish(content: Buffer | object, options?: PublishOptions): Promise<void>;
  /** Takes no new message, waits for those in flight to be handled and acknowledged, then closes. */
  stop(): Promise<void>;
  /**
   * What a crash looks like from outside: drops everything at once, acknowledging nothing, so
   * messages in flight are delivered again to the next consumer (their handlers may still run
   * to the end: exactly the "committed but never acknowledged" case). For tests and drills.
   */
  abandon(): Promise<void>;
  stats(): SourceStats;
}

/** Header names Fenxiao writes on retried and dead-lettered messages. */
export const HEADER_ATTEMPT = 'x-fenxiao-attempt';
/** How many times the message was put back because the database was away (its backoff grows with it). */
export const HEADER_REQUEUES = 'x-fenxiao-requeues';
export const HEADER_LAST_ERROR = 'x-fenxiao-last-error';
export const HEADER_DEAD_REASON = 'x-fenxiao-dead-reason';
export const HEADER_DEAD_AT = 'x-fenxiao-dead-at';

/** The requeue count a message carries (0 when it was never requeued). */
export function requeuesOf(m: BrokerMessage): number {
  return Math.max(0, Number.parseInt(m.headers[HEADER_REQUEUES] ?? '0', 10) || 0);
}

/** Exponential backoff with jitter, in ms: ~1 s, 2 s, 4 s … capped at `maxMs`. */
export function backoffMs(attempt: number, baseMs = 1000, maxMs = 60_000): number {
  const base = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

export function contentOf(content: Buffer | object): Buffer {
  return Buffer.isBuffer(content) ? content : Buffer.from(JSON.stringify(content));
}

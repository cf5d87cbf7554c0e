import type { CreateOrderBody, OrderEventBody } from '../../orders/schema.ts';
import type { LocalText } from '../../../core/error-text.ts';

/** A payload that cannot become a Fenxiao order or event: answered 400, nothing stored. */
export class MappingError extends Error {
  /** The message in both languages: `message` is its English, for the delivery log. */
  readonly text: LocalText;
  constructor(text: LocalText) {
    super(text.en);
    this.name = 'MappingError';
    this.text = text;
  }
}

/**
 * What one delivery asks of Fenxiao, in the order to do it. Formats map payloads to intents
 * without I/O; the ingest service carries them out through OrdersService, as the API would.
 */
export type Intent =
  /** Record a paid order (idempotent on external_id). */
  | { kind: 'order'; body: CreateOrderBody }
  /** An order event; the key makes a redelivery (or another delivery of the same upstream change) count once. */
  | { kind: 'event'; orderExternalId: string; body: OrderEventBody; idempotencyKey?: string | undefined; unknownOrder: UnknownOrder }
  /**
   * A refund known by its amount only: refund up to `refundFen`, capped at what the order still
   * has paid (the platform's refund may include shipping or tax, which never were commission base).
   * `refundFen` null: everything that remains.
   */
  | {
      kind: 'refund_amount';
      orderExternalId: string;
      refundFen: number | null;
      at?: string | undefined;
      reason?: string | undefined;
      idempotencyKey: string;
      unknownOrder: UnknownOrder;
    }
  /** Nothing to do (a topic or status Fenxiao does not act on), with why. */
  | { kind: 'ignore'; reason: string };

/**
 * What to do with an event for an order Fenxiao does not know: `defer` keeps the delivery and
 * applies it when the order arrives (platforms deliver topics in no set order), `ignore` answers
 * 2xx and does nothing (an order never paid), `error` answers 404 as the API would.
 */
export type UnknownOrder = 'defer' | 'ignore' | 'error';

export interface Mapped {
  /** The platform's topic as it named it (X-Shopify-Topic, X-WC-Webhook-Topic, or the generic type). */
  topic: string;
  /** The order this delivery concerns, for the delivery record and deferred events. */
  orderExternalId: string | null;
  intents: Intent[];
  /** What the mapping left out and why (an invite code that is not one), for the delivery record. */
  notes?: string[];
}

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An id as a platform sends it (a number or a string of digits), as a string. */
export function idString(v: unknown, field: string): string {
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  throw new MappingError({ en: `${field} is missing or not an id`, zh: `${field} 缺失或不是有效的 ID` });
}

export function optionalIdString(v: unknown): string | undefined {
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  if (typeof v === 'number' && Number.isSafeInteger(v) && v !== 0) return String(v);
  return undefined;
}

/** An ISO 8601 time with a zone, as ISO in UTC; undefined when absent or unreadable. */
export function isoTime(v: unknown, assumeUtc = false): string | undefined {
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  let s = v.trim();
  // WooCommerce's *_gmt fields carry no zone: they are UTC by name.
  if (assumeUtc && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$/.test(s)) s += 'Z';
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/i.test(s)) return undefined;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** The `invite_code` query parameter of a landing URL or path ("/products/x?invite_code=AB12"). */
export function inviteCodeOfUrl(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  try {
    const code = new URL(v, 'https://landing.invalid/').searchParams.get('invite_code');
    return code?.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** An invite code as the orders API takes it (1–32 characters), or a note saying why not. */
export function usableInviteCode(code: string | undefined, notes: string[]): string | undefined {
  if (code === undefined) return undefined;
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (code.length >= 1 && code.length <= 32 && !/[\u0000-\u001f\u007f]/.test(code)) return code;
  notes.push('invite code left out: not 1-32 printable characters');
  return undefined;
}

/** The buyer's IP when it looks like one (the risk rules compare them). */
export function clientIp(v: unknown): string | undefined {
  return typeof v === 'string' && /^[0-9A-Fa-f:.]{2,45}$/.test(v) ? v : undefined;
}

export function text(v: unknown, max: number): string | undefined {
  if (typeof v !== 'string') return undefined;
  // eslint-disable-next-line no-control-regex -- control characters are what this replaces
  const t = v.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  return t === '' ? undefined : t.slice(0, max);
}

export function positiveInt(v: unknown, field: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^\d{1,9}$/.test(v)) return Number(v);
  throw new MappingError({ en: `${field} is not a whole number`, zh: `${field} 不是整数` });
}

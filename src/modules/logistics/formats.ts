import { createHash } from 'node:crypto';
import type { LocalText } from '../../core/error-text.ts';

/**
 * The two tracking push formats, parsed from the raw body; no I/O. A push says a tracking number
 * reached a state; `stage` is what it means for the order: shipped, received (签收), or nothing.
 */
export interface TrackingPush {
  trackingNumber: string;
  carrier: string | null;
  stage: 'shipped' | 'received' | null;
  /** What makes this push the same push when it comes again (the idempotency key of its order event). */
  pushKey: string;
  at: string | null;
}

export class PushFormatError extends Error {
  readonly text: LocalText;
  constructor(text: LocalText) {
    super(text.en);
    this.text = text;
  }
}

/**
 * Generic: `{"event_id","tracking_number","carrier"?,"status":"shipped"|"in_transit"|"delivering"|"signed"|"returned"|…,"at"?}`,
 * signed like Fenxiao's generic order webhook (X-Fenxiao-Timestamp, X-Fenxiao-Signature).
 */
export function parseGeneric(raw: Buffer): TrackingPush {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new PushFormatError({ en: 'the body is not JSON', zh: '请求体不是 JSON' });
  }
  const b = body as Record<string, unknown>;
  const str = (k: string, max: number) => (typeof b[k] === 'string' && (b[k] as string).length > 0 && (b[k] as string).length <= max ? (b[k] as string) : null);
  const eventId = str('event_id', 128);
  const trackingNumber = str('tracking_number', 64);
  const status = str('status', 40);
  if (!eventId || !trackingNumber || !status)
    throw new PushFormatError({
      en: 'event_id, tracking_number and status are required strings',
      zh: 'event_id、tracking_number 和 status 须为字符串且不能缺少',
    });
  const at = str('at', 40);
  if (at !== null && Number.isNaN(Date.parse(at))) throw new PushFormatError({ en: 'at is not a time', zh: 'at 不是有效的时间' });
  const stage = ['shipped', 'picked_up', 'in_transit', 'delivering'].includes(status)
    ? 'shipped'
    : status === 'signed' || status === 'delivered'
      ? 'received'
      : null;
  return { trackingNumber, carrier: str('carrier', 40), stage, pushKey: `generic:${eventId}`, at: at ? new Date(at).toISOString() : null };
}

/** Kuaidi100's states (lastResult.state): 0 在途, 1 揽收, 5 派件, 7 转投, 8 清关 are on the way; 3 is 签收. */
const KUAIDI100_SHIPPED = new Set(['0', '1', '5', '7', '8']);
const KUAIDI100_SIGNED = '3';

/** Kuaidi100's `sign`: the upper-case hex MD5 of `param` followed by the salt given when subscribing. */
export function kuaidi100Sign(param: string, salt: string): string {
  return createHash('md5')
    .update(param + salt, 'utf8')
    .digest('hex')
    .toUpperCase();
}

/**
 * Kuaidi100's subscription push (订阅推送): a form `param=<JSON>&sign=<MD5(param + salt), upper
 * case>`, the JSON's `lastResult` carrying `nu` (the number), `com` (the carrier), `state` and
 * `data` (the newest trace first, with `ftime`). Answers the push and the signed parts.
 */
export function parseKuaidi100(raw: Buffer): { param: string; sign: string; push: TrackingPush } {
  const form = new URLSearchParams(raw.toString('utf8'));
  const param = form.get('param');
  const sign = form.get('sign');
  if (!param || !sign) throw new PushFormatError({ en: 'param and sign are required form fields', zh: 'param 和 sign 是必填的表单字段' });
  let body: unknown;
  try {
    body = JSON.parse(param);
  } catch {
    throw new PushFormatError({ en: 'param is not JSON', zh: 'param 不是 JSON' });
  }
  const last = (body as { lastResult?: unknown }).lastResult as { nu?: unknown; com?: unknown; state?: unknown; data?: unknown } | undefined;
  if (!last || typeof last.nu !== 'string' || last.nu.length === 0 || last.nu.length > 64 || typeof last.state !== 'string')
    throw new PushFormatError({ en: 'lastResult.nu and lastResult.state are required', zh: 'lastResult.nu 和 lastResult.state 不能缺少' });
  const newest = Array.isArray(last.data) ? (last.data[0] as { ftime?: unknown } | undefined) : undefined;
  const ftime = typeof newest?.ftime === 'string' ? newest.ftime : null;
  const stage = last.state === KUAIDI100_SIGNED ? 'received' : KUAIDI100_SHIPPED.has(last.state) ? 'shipped' : null;
  // ftime is China time without a zone (2026-03-01 12:00:00).
  const at = ftime && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(ftime) ? new Date(`${ftime.replace(' ', 'T')}+08:00`).toISOString() : null;
  return {
    param,
    sign,
    push: {
      trackingNumber: last.nu,
      carrier: typeof last.com === 'string' ? last.com : null,
      stage,
      pushKey: `kuaidi100:${last.nu}:${stage ?? last.state}`,
      at,
    },
  };
}

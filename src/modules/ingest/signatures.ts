import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signature checks, each on the raw bytes of the body as received: parsing and re-serialising
 * would change them. Comparisons are constant-time over the decoded MACs.
 */

export function hmac(secret: string, data: Buffer | string): Buffer {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(data).digest();
}

function equalMac(expected: Buffer, given: Buffer): boolean {
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The first secret whose MAC matches, or null. `given` is compared against each candidate. */
function matchAny(secrets: string[], compute: (secret: string) => Buffer, given: Buffer[]): string | null {
  for (const secret of secrets) {
    const expected = compute(secret);
    if (given.some((g) => equalMac(expected, g))) return secret;
  }
  return null;
}

/** A refusal says why in English (`reason`, for the log and English answers) and in Chinese (`zh`). */
export type Verdict = { ok: true } | { ok: false; reason: string; zh: string };

/**
 * Fenxiao's generic format: `X-Fenxiao-Timestamp: <unix seconds>` and
 * `X-Fenxiao-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` (several `v1=` values,
 * comma-separated, are accepted, so a sender can sign with an old and a new secret during a
 * rotation). The timestamp inside the MAC bounds how long a captured request can be replayed.
 */
export function verifyGeneric(input: {
  timestamp: string | undefined;
  signature: string | undefined;
  raw: Buffer;
  secrets: string[];
  nowMs: number;
  toleranceSeconds: number;
}): Verdict {
  const { timestamp, signature } = input;
  if (!timestamp || !/^\d{1,12}$/.test(timestamp))
    return { ok: false, reason: 'missing or malformed X-Fenxiao-Timestamp', zh: '缺少 X-Fenxiao-Timestamp 请求头或其格式错误' };
  if (!signature) return { ok: false, reason: 'missing X-Fenxiao-Signature', zh: '缺少 X-Fenxiao-Signature 请求头' };
  const skew = Math.abs(input.nowMs / 1000 - Number(timestamp));
  if (skew > input.toleranceSeconds)
    return {
      ok: false,
      reason: `timestamp outside the ${input.toleranceSeconds} s tolerance`,
      zh: `时间戳与当前时间相差超过 ${input.toleranceSeconds} 秒`,
    };
  const given = signature
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.startsWith('v1=') && /^[0-9a-fA-F]{64}$/.test(p.slice(3)))
    .map((p) => Buffer.from(p.slice(3), 'hex'));
  if (given.length === 0) return { ok: false, reason: 'X-Fenxiao-Signature has no v1= value', zh: 'X-Fenxiao-Signature 中没有 v1= 签名值' };
  const signed = Buffer.concat([Buffer.from(`${timestamp}.`, 'utf8'), input.raw]);
  return matchAny(input.secrets, (s) => hmac(s, signed), given) ? { ok: true } : { ok: false, reason: 'signature does not match', zh: '签名不匹配' };
}

const BASE64 = /^[A-Za-z0-9+/]{42,44}={0,2}$/;

/**
 * Shopify (`X-Shopify-Hmac-Sha256`) and WooCommerce (`X-WC-Webhook-Signature`) both send the
 * base64 HMAC-SHA256 of the raw body, keyed with the secret's bytes.
 */
export function verifyBase64Body(input: { header: string | undefined; headerName: string; raw: Buffer; secrets: string[] }): Verdict {
  if (!input.header) return { ok: false, reason: `missing ${input.headerName}`, zh: `缺少 ${input.headerName} 请求头` };
  const h = input.header.trim();
  if (!BASE64.test(h)) return { ok: false, reason: `malformed ${input.headerName}`, zh: `${input.headerName} 请求头格式错误` };
  return matchAny(input.secrets, (s) => hmac(s, input.raw), [Buffer.from(h, 'base64')])
    ? { ok: true }
    : { ok: false, reason: 'signature does not match', zh: '签名不匹配' };
}

/** RabbitMQ messages in signed mode: `x-fenxiao-signature: v1=<hex HMAC-SHA256 of the message body>`. */
export function verifyMessage(input: { signature: string | undefined; raw: Buffer; secrets: string[] }): Verdict {
  if (!input.signature) return { ok: false, reason: 'missing x-fenxiao-signature header', zh: '缺少 x-fenxiao-signature 消息头' };
  const given = input.signature
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.startsWith('v1=') && /^[0-9a-fA-F]{64}$/.test(p.slice(3)))
    .map((p) => Buffer.from(p.slice(3), 'hex'));
  if (given.length === 0) return { ok: false, reason: 'x-fenxiao-signature has no v1= value', zh: 'x-fenxiao-signature 中没有 v1= 签名值' };
  return matchAny(input.secrets, (s) => hmac(s, input.raw), given) ? { ok: true } : { ok: false, reason: 'signature does not match', zh: '签名不匹配' };
}

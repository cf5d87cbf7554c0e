import { createHash, randomInt } from 'node:crypto';

/**
 * The JS-SDK permission signature (JS-SDK 说明文档, 附录1): the fields jsapi_ticket, noncestr,
 * timestamp and url, sorted by name (that order), joined as `key=value` with `&`, raw (no URL
 * escaping), and sha1 in lowercase hex. The url is the page's full address without `#` and what
 * follows it.
 */
export function jsSdkSignature(input: { jsapiTicket: string; nonceStr: string; timestamp: number; url: string }): string {
  const string1 = `jsapi_ticket=${input.jsapiTicket}&noncestr=${input.nonceStr}&timestamp=${input.timestamp}&url=${pageUrl(input.url)}`;
  return createHash('sha1').update(string1, 'utf8').digest('hex');
}

/** The part of a page address the signature covers: everything before `#`. */
export function pageUrl(url: string): string {
  const hash = url.indexOf('#');
  return hash === -1 ? url : url.slice(0, hash);
}

const NONCE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A nonceStr of letters and digits (the doc's example is 16 of them). */
export function nonceStr(length = 16): string {
  let out = '';
  for (let i = 0; i < length; i++) out += NONCE_CHARS[randomInt(NONCE_CHARS.length)];
  return out;
}

/** Whether a browser's user agent is WeChat's built-in browser. */
export function isWechatUserAgent(ua: string | undefined): boolean {
  return !!ua && /MicroMessenger/i.test(ua);
}

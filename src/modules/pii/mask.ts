import { maskTail } from '../../lib/crypto.ts';

/**
 * How personal data appears in every API response, export for operators and audit snapshot:
 * enough to recognise one's own record or tell two apart, not enough to read someone else's.
 * Whole values come only from the reveal and personal-data routes (pii:read, audited).
 */

/** 13812345678 → 138****5678. */
export function maskPhone(phone: string): string {
  return maskTail(phone, 3, 4);
}

/**
 * A merchant's user id as another distributor may see it: merchants use phone numbers and WeChat
 * openids as ids, so it is masked like a phone (13812345678 → 138****5678, an openid keeps its
 * first three and last four characters).
 */
export function maskExternalId(id: string): string {
  return maskTail(id, 3, 4);
}

/** 110105194912310021 → 110***********0021: the region prefix and the last four. */
export function maskIdNumber(id: string): string {
  return maskTail(id, 3, 4);
}

/** 张三 → *三, 欧阳小明 → ***明, Zhang San → ***n (as payout account names are shown). */
export function maskName(name: string): string {
  const chars = [...name.trim()];
  if (chars.length <= 1) return '*';
  return '*'.repeat(Math.min(chars.length - 1, 3)) + chars[chars.length - 1];
}

/** zhangsan@example.com → z***@example.com. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return maskTail(email, 1, 2);
  const local = [...email.slice(0, at)];
  return `${local[0]}***${email.slice(at)}`;
}

/** wxid_zhangsan88 → wx***88. */
export function maskWechat(id: string): string {
  const chars = [...id];
  if (chars.length <= 4) return '*'.repeat(chars.length);
  return `${chars.slice(0, 2).join('')}***${chars.slice(-2).join('')}`;
}

/** 广东省深圳市南山区科技园路1号 → 广东省深圳市****: the city stays, the street and number go. */
export function maskAddress(address: string): string {
  const chars = [...address.trim()];
  const keep = Math.min(6, Math.floor(chars.length / 2));
  return `${chars.slice(0, keep).join('')}****`;
}

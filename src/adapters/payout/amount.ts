import { fenToYuan as yuanText } from '../../core/money.ts';

/**
 * Fen ↔ yuan for providers that speak yuan (Alipay's `trans_amount`, bank upload files): the
 * kernel's pair (src/core/money.ts), refusing negative amounts on the way out.
 */

export { yuanToFen } from '../../core/money.ts';

/** 12345 → "123.45"; 0 → "0.00". Negative amounts are refused: nothing here pays a negative sum. */
export function fenToYuan(fen: number | bigint): string {
  const text = yuanText(fen);
  if (text.startsWith('-')) throw new RangeError(`amount in fen must not be negative, got ${fen}`);
  return text;
}

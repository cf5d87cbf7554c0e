/**
 * Fen ↔ yuan for providers that speak yuan (Alipay's `trans_amount`, bank upload files).
 * Integer arithmetic on bigint only: a float would turn 0.29 yuan into 28 fen somewhere.
 */

function toFenBigInt(fen: number | bigint): bigint {
  if (typeof fen === 'bigint') return fen;
  if (!Number.isSafeInteger(fen)) throw new RangeError(`amount in fen must be a safe integer, got ${fen}`);
  return BigInt(fen);
}

/** 12345 → "123.45"; 0 → "0.00". Negative amounts are refused: nothing here pays a negative sum. */
export function fenToYuan(fen: number | bigint): string {
  const value = toFenBigInt(fen);
  if (value < 0n) throw new RangeError(`amount in fen must not be negative, got ${value}`);
  const cents = (value % 100n).toString().padStart(2, '0');
  return `${value / 100n}.${cents}`;
}

/**
 * "123.45" → 12345. Accepts what providers send ("1", "1.5", "1.50"); refuses signs, exponents,
 * more than two decimals and anything beyond a safe integer of fen, so a malformed amount in a
 * notification is an error and never a silently different number.
 */
export function yuanToFen(yuan: string): number {
  const match = /^(0|[1-9]\d*)(?:\.(\d{1,2}))?$/.exec(yuan);
  if (!match) throw new RangeError(`not a yuan amount: "${yuan}"`);
  const [, whole = '', cents = ''] = match;
  const fen = BigInt(whole) * 100n + BigInt(cents.padEnd(2, '0'));
  if (fen > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`yuan amount too large: "${yuan}"`);
  return Number(fen);
}

/**
 * Fen ↔ yuan text, the one pair every part of Fenxiao uses: API amounts are integer fen, and
 * people, spreadsheets and the providers that speak yuan (Alipay's `trans_amount`, bank upload
 * files) read two-decimal yuan. Integer arithmetic on bigint only: a float would turn 0.29 yuan
 * into 28 fen somewhere.
 */

/** Yuan with two decimals from fen: 1 → "0.01", -12345 → "-123.45", 0 → "0.00"; any bigint, or a safe-integer number. */
export function fenToYuan(fen: number | bigint): string {
  if (typeof fen === 'number' && !Number.isSafeInteger(fen)) throw new RangeError(`amount in fen must be a safe integer, got ${fen}`);
  const value = BigInt(fen);
  const abs = value < 0n ? -value : value;
  return `${value < 0n ? '-' : ''}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/**
 * "123.45" → 12345. Accepts what providers send ("1", "1.5", "1.50"); refuses signs, exponents,
 * leading zeros, more than two decimals and anything beyond a safe integer of fen, so a malformed
 * amount is an error and never a silently different number.
 */
export function yuanToFen(yuan: string): number {
  const match = /^(0|[1-9]\d*)(?:\.(\d{1,2}))?$/.exec(yuan);
  if (!match) throw new RangeError(`not a yuan amount: "${yuan}"`);
  const fen = BigInt(match[1] ?? '0') * 100n + BigInt((match[2] ?? '').padEnd(2, '0'));
  if (fen > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`yuan amount too large: "${yuan}"`);
  return Number(fen);
}

import { MappingError } from './types.ts';

const DECIMAL = /^(-?)(\d{1,15})(?:\.(\d+))?$/;

/**
 * A decimal money amount as the platforms send it ("19.90", "-5.00", "10", or a JSON number
 * such as WooCommerce's 19.9) to integer fen, by its digits: no float arithmetic ever touches
 * it. Digits beyond the fen round half away from zero (stores configured with 3 or 4 decimals).
 */
export function decimalToFen(value: unknown, field: string): number {
  let text: string;
  if (typeof value === 'string') text = value.trim();
  // A JSON number reads as the shortest decimal that round-trips (19.9 → "19.9"); exponent
  // forms (1e-7, 1e21) fail the pattern below, as they should.
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else throw new MappingError({ en: `${field} is not a money amount`, zh: `${field} 不是金额` });
  const m = DECIMAL.exec(text);
  if (!m) throw new MappingError({ en: `${field} is not a money amount: "${text.slice(0, 32)}"`, zh: `${field} 不是金额："${text.slice(0, 32)}"` });
  const [, sign, whole, fraction = ''] = m;
  let fen = Number(whole) * 100 + Number((fraction + '00').slice(0, 2));
  const rest = fraction.slice(2);
  if (rest !== '' && Number(rest[0]) >= 5) fen += 1;
  if (!Number.isSafeInteger(fen)) throw new MappingError({ en: `${field} is too large`, zh: `${field} 过大` });
  return sign === '-' && fen !== 0 ? -fen : fen;
}

/** The sum of optional decimal amounts, in fen. */
export function sumFen(values: unknown[], field: string): number {
  return values.reduce<number>((s, v) => s + decimalToFen(v, field), 0);
}

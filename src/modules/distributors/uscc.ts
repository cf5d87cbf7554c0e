/**
 * The unified social credit code (统一社会信用代码, GB 32100-2015) of a company or other
 * organisation: 18 characters from the code set 0-9 A-H J-N P-R T-U W-Y (no I, O, Z, S, V):
 * the registering authority (1), the kind of organisation (1), the region (6, GB/T 2260), the
 * organisation code (9) and a check character: 31 − (Σ value × weight mod 31), where 31 is
 * written 0. Pure functions: no I/O.
 */

const CODE_SET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] as const;

/** The form we check and store: no spaces or dashes, upper case. */
export function normalizeUscc(value: string): string {
  return value.replace(/[\s-]/g, '').toUpperCase();
}

/** The check character of the first 17 characters. */
export function usccCheckChar(first17: string): string {
  if (first17.length !== 17) throw new Error('usccCheckChar takes the first 17 characters');
  let sum = 0;
  for (const [i, weight] of WEIGHTS.entries()) {
    const v = CODE_SET.indexOf(first17.charAt(i));
    if (v < 0) throw new Error('usccCheckChar: a character outside the code set');
    sum += v * weight;
  }
  return CODE_SET.charAt((31 - (sum % 31)) % 31);
}

export type UsccProblem = 'length' | 'characters' | 'checksum';

/** Why a (normalised) code is not a unified social credit code, or null when it is one. */
export function usccProblem(value: string): UsccProblem | null {
  if (value.length !== 18) return 'length';
  if (![...value].every((c) => CODE_SET.includes(c))) return 'characters';
  if (usccCheckChar(value.slice(0, 17)) !== value.charAt(17)) return 'checksum';
  return null;
}

export function isValidUscc(value: string): boolean {
  return usccProblem(normalizeUscc(value)) === null;
}

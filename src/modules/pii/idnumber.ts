import type { LocalText } from '../../core/error-text.ts';

/**
 * PRC resident identity card numbers (GB 11643-1999): 6 digits of the issuing region, the birth
 * date as YYYYMMDD, a 3-digit sequence (odd for men, even for women) and a check character
 * (ISO 7064 MOD 11-2, where 10 is written X). Pure functions: no I/O, no clock.
 */

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const CHECK = '10X98765432';

/** The form we store and index: no spaces, upper-case X. */
export function normalizeIdNumber(value: string): string {
  return value.replace(/[\s-]/g, '').toUpperCase();
}

/** The check character of the first 17 digits. */
export function idNumberCheckChar(first17: string): string {
  if (!/^[0-9]{17}$/.test(first17)) throw new Error('idNumberCheckChar takes the first 17 digits');
  let sum = 0;
  for (const [i, weight] of WEIGHTS.entries()) sum += Number(first17[i]) * weight;
  return CHECK.charAt(sum % 11);
}

export type IdNumberProblem = 'format' | 'birth_date' | 'checksum';

/** Why a (normalised) number is not a resident ID, or null when it is one. */
export function idNumberProblem(value: string): IdNumberProblem | null {
  if (!/^[1-9][0-9]{16}[0-9X]$/.test(value)) return 'format';
  const year = Number(value.slice(6, 10));
  const month = Number(value.slice(10, 12));
  const day = Number(value.slice(12, 14));
  const birth = new Date(Date.UTC(year, month - 1, day));
  if (year < 1900 || year > 2099 || birth.getUTCMonth() !== month - 1 || birth.getUTCDate() !== day) return 'birth_date';
  if (idNumberCheckChar(value.slice(0, 17)) !== value[17]) return 'checksum';
  return null;
}

export function isValidIdNumber(value: string): boolean {
  return idNumberProblem(normalizeIdNumber(value)) === null;
}

/**
 * The message a caller gets for a bad number. It names the problem and never the number: an
 * error message can end up in a log line or a screenshot.
 */
export function idNumberMessage(problem: IdNumberProblem): LocalText {
  switch (problem) {
    case 'format':
      return {
        en: 'id_number must be 18 characters: 17 digits and a check digit or X',
        zh: '身份证号（id_number）须为 18 位：17 位数字加一位校验码（数字或 X）',
      };
    case 'birth_date':
      return { en: 'id_number does not hold a valid birth date', zh: '身份证号（id_number）中的出生日期无效' };
    case 'checksum':
      return { en: 'id_number fails its check digit', zh: '身份证号（id_number）校验码不正确' };
    default: {
      const never: never = problem;
      return never;
    }
  }
}

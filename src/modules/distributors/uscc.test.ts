import { describe, expect, it } from 'vitest';
import { isValidUscc, normalizeUscc, usccCheckChar, usccProblem } from './uscc.ts';

describe('unified social credit code (GB 32100-2015)', () => {
  // Codes of real companies, as printed on their business licences.
  it.each([
    ['深圳市腾讯计算机系统有限公司', '91440300708461136T'],
    ['华为技术有限公司', '914403001922038216'],
    ['阿里巴巴（中国）有限公司', '91330100716105852F'],
    ['小米科技有限责任公司', '91110108551385082Q'],
    ['the standard’s own example', '91350100M000100Y43'],
  ])('accepts %s: %s', (_name, code) => {
    expect(usccProblem(code)).toBeNull();
    expect(usccCheckChar(code.slice(0, 17))).toBe(code.charAt(17));
  });

  it('computes the check character, a remainder of 0 written as 0 (not 31)', () => {
    expect(usccCheckChar('91440300192203821')).toBe('6');
    // Σ ≡ 0 (mod 31) gives 31 − 0 = 31, written 0: one 17-character body whose sum is 0.
    expect(usccCheckChar('00000000000000000')).toBe('0');
  });

  it.each([
    ['a wrong check character', '91440300708461136A', 'checksum'],
    ['two characters swapped', '91440300704861136T', 'checksum'],
    ['17 characters', '9144030070846113T', 'length'],
    ['19 characters', '91440300708461136TT', 'length'],
    ['the letter I, outside the code set', '9144030070846113IT', 'characters'],
    ['the letter O, outside the code set', '91440300708461136O', 'characters'],
    ['an 18-digit resident ID number', '110105194912310029', 'checksum'],
  ] as const)('refuses %s', (_label, code, problem) => {
    expect(usccProblem(code)).toBe(problem);
    expect(isValidUscc(code)).toBe(false);
  });

  it('reads lower case, spaces and dashes as the code they spell', () => {
    expect(normalizeUscc(' 9144-0300 708461136t ')).toBe('91440300708461136T');
    expect(isValidUscc('91440300708461136t')).toBe(true);
  });
});

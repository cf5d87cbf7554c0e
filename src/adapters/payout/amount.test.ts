import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fenToYuan, yuanToFen } from './amount.ts';

describe('fen → yuan', () => {
  it.each([
    [0, '0.00'],
    [1, '0.01'],
    [10, '0.10'],
    [99, '0.99'],
    [100, '1.00'],
    [12_345, '123.45'],
    [100_000_000_000, '1000000000.00'],
    [Number.MAX_SAFE_INTEGER, '90071992547409.91'],
  ])('%i fen → "%s"', (fen, yuan) => {
    expect(fenToYuan(fen)).toBe(yuan);
    expect(fenToYuan(BigInt(fen))).toBe(yuan);
  });

  it('is exact where floats are not (0.29 × 100 = 28.999…)', () => {
    expect(fenToYuan(29)).toBe('0.29');
    expect(fenToYuan(1_005)).toBe('10.05');
  });

  it.each([-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])('refuses %d', (fen) => {
    expect(() => fenToYuan(fen)).toThrow(RangeError);
  });

  it('sums beyond 2^53 as bigint', () => {
    expect(fenToYuan(BigInt(Number.MAX_SAFE_INTEGER) * 10n)).toBe('900719925474099.10');
  });
});

describe('yuan → fen', () => {
  it.each([
    ['0', 0],
    ['0.00', 0],
    ['0.01', 1],
    ['0.1', 10],
    ['0.10', 10],
    ['0.99', 99],
    ['1', 100],
    ['1.00', 100],
    ['123.45', 12_345],
    ['1000000000.00', 100_000_000_000],
  ])('"%s" → %i fen', (yuan, fen) => {
    expect(yuanToFen(yuan)).toBe(fen);
  });

  it.each(['', ' 1.00', '1.00 ', '-1.00', '+1', '1.234', '1e2', '01.00', '1.', '.5', '1,00', 'NaN', '90071992547409.92'])('refuses "%s"', (yuan) => {
    expect(() => yuanToFen(yuan)).toThrow(RangeError);
  });

  it('round-trips every safe amount', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (fen) => yuanToFen(fenToYuan(fen)) === fen));
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fenToYuan, yuanToFen } from './money.ts';

describe('fenToYuan', () => {
  it.each([
    [0, '0.00'],
    [1, '0.01'],
    [10, '0.10'],
    [99, '0.99'],
    [100, '1.00'],
    [12345, '123.45'],
    [-1, '-0.01'],
    [-100, '-1.00'],
    [-12345, '-123.45'],
    [-0, '0.00'],
    [Number.MAX_SAFE_INTEGER, '90071992547409.91'],
  ])('%i fen is "%s"', (fen, yuan) => {
    expect(fenToYuan(fen)).toBe(yuan);
    expect(fenToYuan(BigInt(fen))).toBe(yuan);
  });

  it('takes any bigint, exactly', () => {
    expect(fenToYuan(12345678901234567890123n)).toBe('123456789012345678901.23');
    expect(fenToYuan(-(10n ** 20n))).toBe('-1000000000000000000.00');
  });

  it.each([1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY])('refuses %d fen', (fen) => {
    expect(() => fenToYuan(fen)).toThrow(RangeError);
  });
});

describe('yuanToFen', () => {
  it.each([
    ['0', 0],
    ['0.01', 1],
    ['0.1', 10],
    ['0.29', 29],
    ['1', 100],
    ['1.5', 150],
    ['1.50', 150],
    ['123.45', 12345],
    ['90071992547409.91', Number.MAX_SAFE_INTEGER],
  ])('"%s" is %i fen', (yuan, fen) => {
    expect(yuanToFen(yuan)).toBe(fen);
  });

  it.each(['', '-1', '+1', '1.', '.5', '1.234', '01', '1e2', ' 1', '1,000.00', '90071992547409.92', 'NaN'])('refuses "%s"', (text) => {
    expect(() => yuanToFen(text)).toThrow(RangeError);
  });

  it('reads back what fenToYuan writes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (fen) => {
        expect(yuanToFen(fenToYuan(fen))).toBe(fen);
      }),
    );
  });
});

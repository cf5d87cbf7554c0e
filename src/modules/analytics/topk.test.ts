import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { round, thresholdReached, type RankedRow } from './topk.ts';

describe('thresholdReached (the stopping rule)', () => {
  it.each([
    { totals: [900, 800, 700], k: 2, threshold: 799, exhausted: false, want: true, why: 'the 2nd best is above anything unread' },
    { totals: [900, 800, 700], k: 2, threshold: 800, exhausted: false, want: false, why: 'a tie with someone unread: read further' },
    { totals: [900], k: 2, threshold: 10, exhausted: false, want: false, why: 'fewer than k candidates while lists go on' },
    { totals: [900], k: 2, threshold: 10, exhausted: true, want: true, why: 'every list read to its end' },
    { totals: [900], k: 2, threshold: 0, exhausted: false, want: true, why: 'nobody unread can total above zero' },
  ])('$why', ({ totals, k, threshold, exhausted, want }) => {
    expect(thresholdReached(totals, k, threshold, exhausted)).toBe(want);
  });
});

describe('round', () => {
  it('sums the last values of unfinished lists and keeps only who can still make the top k', () => {
    const rows: RankedRow[] = [
      { list: 'm1', distributor_id: 'a', value: 100 },
      { list: 'm1', distributor_id: 'b', value: 90 },
      { list: 'm2', distributor_id: 'c', value: 80 },
      { list: 'm2', distributor_id: 'a', value: 50 },
      { list: 'd1', distributor_id: 'e', value: 5 },
    ];
    const r = round(rows, 2, 1);
    // m1 and m2 are full (depth 2): their last values 90 and 50 bound anyone unread; d1 ended.
    expect(r.threshold).toBe(140);
    expect(r.exhausted).toBe(false);
    // a: at least 150. b: at most 90 + 50, c: 80 + 90, e: 5 + 90 + 50: only a and c can be first.
    expect(r.contenders.sort()).toEqual(['a', 'c']);
    expect(round(rows, 3, 1).exhausted).toBe(true);
  });

  it('with the exact totals of its contenders, finds the true top k of any lists (property)', () => {
    const arb = fc.record({
      values: fc.array(fc.array(fc.nat({ max: 60 }), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 30 }),
      k: fc.integer({ min: 1, max: 6 }),
    });
    fc.assert(
      fc.property(arb, ({ values, k }) => {
        // values[d][l]: distributor d's value in list l (0: not in it).
        const width = Math.max(...values.map((v) => v.length));
        const ids = values.map((_, d) => `d${String(d).padStart(2, '0')}`);
        const total = (d: number) => values[d]!.reduce((s, v) => s + v, 0);
        const sortedLists = Array.from({ length: width }, (_, l) =>
          ids
            .map((id, d) => ({ list: `l${l}`, distributor_id: id, value: values[d]![l] ?? 0 }))
            .filter((r) => r.value > 0)
            .sort((a, b) => b.value - a.value || (a.distributor_id < b.distributor_id ? -1 : 1)),
        );
        const truth = ids
          .map((id, d) => ({ id, t: total(d) }))
          .filter((x) => x.t > 0)
          .sort((a, b) => b.t - a.t || (a.id < b.id ? -1 : 1))
          .slice(0, k);
        for (let depth = 1; ; depth *= 2) {
          const rows = sortedLists.flatMap((l) => l.slice(0, depth));
          const r = round(rows, depth, k);
          const exact = r.contenders
            .map((id) => ({ id, t: total(ids.indexOf(id)) }))
            .filter((x) => x.t > 0)
            .sort((a, b) => b.t - a.t || (a.id < b.id ? -1 : 1));
          if (
            thresholdReached(
              exact.map((x) => x.t),
              k,
              r.threshold,
              r.exhausted,
            )
          ) {
            expect(exact.slice(0, k)).toEqual(truth);
            return;
          }
          if (depth > 64) throw new Error('did not stop');
        }
      }),
      { numRuns: 500 },
    );
  });
});

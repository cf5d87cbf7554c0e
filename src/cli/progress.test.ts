import { describe, expect, it } from 'vitest';
import { createProgress, formatDuration, progressLine } from './progress.ts';

function fakeStream(tty: boolean, columns?: number) {
  const writes: string[] = [];
  return {
    writes,
    stream: {
      isTTY: tty,
      ...(columns ? { columns } : {}),
      write: (s: string) => {
        writes.push(s);
        return true;
      },
    },
  };
}

function fakeClock() {
  let t = 1000;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

describe('formatDuration', () => {
  it.each([
    [0, '0.0s'],
    [400, '0.4s'],
    [9_949, '9.9s'],
    [12_000, '12s'],
    [185_000, '3m05s'],
    [3_720_000, '1h02m'],
    [Number.POSITIVE_INFINITY, '?'],
  ])('%s ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('progressLine', () => {
  it('shows count, total, percent, rate and ETA', () => {
    expect(progressLine({ label: 'export withdrawals', unit: 'rows', done: 50_000, total: 200_000, elapsedMs: 10_000 })).toBe(
      'export withdrawals: 50,000/200,000 rows · 25.0% · 5,000 rows/s · ETA 30s',
    );
  });
  it('without a total: count, rate and elapsed time', () => {
    expect(progressLine({ label: 'replay', unit: 'orders', done: 1234, total: null, elapsedMs: 2000 })).toBe('replay: 1,234 orders · 617 orders/s · 2.0s');
  });
  it('the final line says how long it took', () => {
    expect(progressLine({ label: 'x', unit: 'rows', done: 10, total: 10, elapsedMs: 65_000, final: true })).toBe(
      'x: 10/10 rows · 100.0% · 0 rows/s · in 1m05s',
    );
  });
});

describe('createProgress', () => {
  it('on a terminal redraws one line with \\r, at most every redraw interval, and ends it with a newline', () => {
    const { writes, stream } = fakeStream(true);
    const clock = fakeClock();
    const p = createProgress({ label: 'export', total: 1000, stream, now: clock.now });
    p.update(10);
    expect(writes).toEqual([]);
    clock.advance(100);
    p.update(100);
    clock.advance(50);
    p.update(150);
    clock.advance(50);
    p.add(50);
    expect(writes).toHaveLength(2);
    for (const w of writes) {
      expect(w.startsWith('\r\x1b[2K')).toBe(true);
      expect(w).not.toContain('\n');
    }
    expect(writes[0]).toContain('100/1,000 rows · 10.0% · 1,000 rows/s · ETA 0.9s');
    expect(writes[1]).toContain('200/1,000 rows');
    clock.advance(800);
    p.update(1000);
    p.done();
    p.done();
    expect(writes.at(-1)).toBe('\r\x1b[2Kexport: 1,000/1,000 rows · 100.0% · 1,000 rows/s · in 1.0s\n');
    expect(p.count).toBe(1000);
  });

  it('in a log prints whole lines, one every few seconds, never \\r', () => {
    const { writes, stream } = fakeStream(false);
    const clock = fakeClock();
    const p = createProgress({ label: 'export', stream, now: clock.now, logEveryMs: 5000 });
    for (let i = 1; i <= 120; i++) {
      clock.advance(250);
      p.update(i * 100);
    }
    p.fail('disk full');
    // 30 s of updates every 250 ms: six lines, not 120, and the failure.
    expect(writes).toHaveLength(7);
    for (const w of writes) {
      expect(w.endsWith('\n')).toBe(true);
      expect(w).not.toContain('\r');
    }
    expect(writes[0]).toBe('export: 2,000 rows · 400 rows/s · 5.0s\n');
    expect(writes.at(-1)).toBe('export: 12,000 rows · 400 rows/s · in 30s · failed: disk full\n');
  });

  it('learns the total late and keeps a terminal line within its width', () => {
    const { writes, stream } = fakeStream(true, 40);
    const clock = fakeClock();
    const p = createProgress({ label: 'a rather long label for a narrow terminal', stream, now: clock.now });
    clock.advance(200);
    p.update(5, 10);
    expect(writes[0]!.replace('\r\x1b[2K', '').length).toBeLessThan(40);
    p.done('saved to out.xlsx');
    expect(writes.at(-1)).toContain('5/10 rows · 50.0%');
    expect(writes.at(-1)).toContain('· saved to out.xlsx\n');
  });
});

import { describe, expect, it } from 'vitest';
import { newId, ulid } from './ids.ts';

describe('ids', () => {
  it('made one after another, they sort in the order they were made, even within one millisecond', () => {
    const ids = Array.from({ length: 20_000 }, () => newId('cm'));
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('an id for a given time carries that time, earlier than ids made now', () => {
    const past = ulid(Date.UTC(2020, 0, 1));
    expect(past.slice(0, 10)).toBe(ulid(Date.UTC(2020, 0, 1)).slice(0, 10));
    expect(past < ulid()).toBe(true);
  });
});

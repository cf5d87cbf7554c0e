import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The last id's time and random part: ids made in one millisecond count up from it. */
let lastTime = -1;
const lastRandom = new Uint8Array(10);

/**
 * A ULID: 48 bits of milliseconds then 80 random bits, in Crockford base32. Ids sort by creation
 * time, which keeps btree inserts at the right edge and makes logs easy to read. Monotonic within
 * a process: an id made in the same millisecond as the last (or after the clock stepped back)
 * keeps that time and adds one to the random part, so ids sort in the order they were made. An
 * order's lines are read back in id order and a batch of orders makes them in the same
 * millisecond: their order must be the order they were computed in. An id for a given time (a
 * cutoff to compare ids with, a record dated by a test's clock) is that time's, not monotonic.
 */
export function ulid(at?: number): string {
  let time: number;
  let random: Uint8Array;
  if (at !== undefined) {
    time = at;
    random = randomBytes(10);
  } else {
    time = Date.now();
    if (time <= lastTime) {
      time = lastTime;
      for (let i = 9; i >= 0; i--) {
        const next = ((lastRandom[i] ?? 0) + 1) & 0xff;
        lastRandom[i] = next;
        if (next !== 0) break;
      }
    } else {
      lastTime = time;
      lastRandom.set(randomBytes(10));
    }
    random = lastRandom;
  }
  const out: string[] = new Array(26);
  for (let i = 9; i >= 0; i--) {
    out[i] = CROCKFORD.charAt(time % 32);
    time = Math.floor(time / 32);
  }
  // 80 bits → 16 characters of 5 bits each.
  let acc = 0;
  let bits = 0;
  let j = 10;
  for (const byte of random) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out[j++] = CROCKFORD.charAt((acc >> bits) & 31);
    }
    acc &= (1 << bits) - 1;
  }
  return out.join('');
}

export type IdPrefix =
  | 'tnt'
  | 'wxi'
  | 'rch'
  | 'plt'
  | 'key'
  | 'usr'
  | 'ses'
  | 'dst'
  | 'drf'
  | 'phv'
  | 'bnd'
  | 'doc'
  | 'rsk'
  | 'ord'
  | 'oit'
  | 'cm'
  | 'je'
  | 'acc'
  | 'evt'
  | 'stm'
  | 'wd'
  | 'po'
  | 'job'
  | 'exp'
  | 'pac'
  | 'sjob'
  | 'pap'
  | 'ppr'
  | 'ldm'
  | 'whe'
  | 'whd'
  | 'wha'
  // a distributor's request that its personal data be erased
  | 'era'
  // agent mode: agents, their events, purchase orders, stock lots, stock returns (buybacks)
  | 'agt'
  | 'aap'
  | 'aev'
  | 'apo'
  | 'lot'
  | 'srt'
  | 'scr';

/** A time-ordered id with a type prefix: `dst_01JD…`. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}

import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID: 48 bits of milliseconds then 80 random bits, in Crockford base32. Ids sort by creation
 * time, which keeps btree inserts at the right edge and makes logs easy to read.
 */
export function ulid(now = Date.now()): string {
  let time = now;
  const out: string[] = new Array(26);
  for (let i = 9; i >= 0; i--) {
    out[i] = CROCKFORD[time % 32]!;
    time = Math.floor(time / 32);
  }
  const random = randomBytes(10);
  // 80 bits → 16 characters of 5 bits each.
  let acc = 0;
  let bits = 0;
  let j = 10;
  for (const byte of random) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out[j++] = CROCKFORD[(acc >> bits) & 31]!;
    }
    acc &= (1 << bits) - 1;
  }
  return out.join('');
}

export type IdPrefix =
  | 'tnt' | 'key' | 'usr' | 'ses' | 'dst' | 'bnd' | 'doc' | 'rsk'
  | 'ord' | 'oit' | 'cm' | 'je' | 'acc' | 'evt' | 'stm' | 'wd' | 'po' | 'job' | 'exp' | 'pac' | 'sjob';

/** A time-ordered id with a type prefix: `dst_01JD…`. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}

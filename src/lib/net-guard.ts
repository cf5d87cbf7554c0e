import { isIP } from 'node:net';

/**
 * Which IP addresses an outbound request (a merchant's webhook endpoint) may reach: public
 * unicast only. Everything a server's own network answers on is refused — loopback, private
 * (RFC 1918, unique local), carrier-grade NAT, link-local (the cloud metadata address
 * 169.254.169.254), multicast, reserved and unspecified — including IPv4 addresses wrapped in
 * IPv6 (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96 and 6to4 2002::/16).
 */

/** The IPv4 blocks refused: [first octets as a 32-bit number, prefix length, why]. */
const V4_BLOCKS: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified ("this network")'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function v4Refusal(ip: string): string | null {
  const n = v4ToInt(ip);
  for (const [base, bits, why] of V4_BLOCKS) {
    const size = 2 ** (32 - bits);
    const start = v4ToInt(base);
    if (n >= start && n < start + size) return why;
  }
  return null;
}

/** The 16 bytes of an IPv6 address (which may end in a dotted IPv4 part). */
export function v6Bytes(ip: string): number[] {
  let text = ip.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    tail = last.split('.').map(Number);
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const missing = 8 - headGroups.length - restGroups.length;
  const groups = [...headGroups, ...(rest !== undefined ? Array<string>(missing).fill('0') : []), ...restGroups].map((g) => parseInt(g || '0', 16));
  const bytes = groups.flatMap((g) => [(g >> 8) & 0xff, g & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

function v6Refusal(ip: string): string | null {
  const b = v6Bytes(ip);
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4At = (i: number) => b.slice(i, i + 4).join('.');
  if (zeros(0, 16)) return 'unspecified';
  if (zeros(0, 15) && b[15] === 1) return 'loopback';
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated): the IPv4 address decides.
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4Refusal(v4At(12)) ?? null;
  if (zeros(0, 12)) return v4Refusal(v4At(12)) ?? 'IPv4-compatible';
  // NAT64 (64:ff9b::/96) reaches the IPv4 address it carries.
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return v4Refusal(v4At(12));
  // 6to4 (2002::/16) carries an IPv4 address in bytes 2..5.
  if (b[0] === 0x20 && b[1] === 0x02) return v4Refusal(v4At(2));
  const first = b[0] ?? 0;
  if ((first & 0xfe) === 0xfc) return 'unique local (private)';
  if (first === 0xfe && ((b[1] ?? 0) & 0xc0) === 0x80) return 'link-local';
  if (first === 0xfe && ((b[1] ?? 0) & 0xc0) === 0xc0) return 'site-local (deprecated, private)';
  if (first === 0xff) return 'multicast';
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return 'documentation';
  if (b[0] === 0x01 && b[1] === 0x00 && zeros(2, 8)) return 'discard-only';
  return null;
}

/** Why `ip` is not a public address (null when it is); a string that is no IP address is refused too. */
export function addressRefusal(ip: string): string | null {
  switch (isIP(ip.includes('%') ? ip.slice(0, ip.indexOf('%')) : ip)) {
    case 4:
      return v4Refusal(ip);
    case 6:
      return v6Refusal(ip);
    default:
      return 'not an IP address';
  }
}

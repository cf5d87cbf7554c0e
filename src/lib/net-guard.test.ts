import { describe, expect, it } from 'vitest';
import { addressRefusal, v6Bytes } from './net-guard.ts';

describe('addressRefusal', () => {
  const cases: [string, string, string | null][] = [
    ['public IPv4', '93.184.216.34', null],
    ['public IPv4 next to a private block', '172.32.0.1', null],
    ['loopback', '127.0.0.1', 'loopback'],
    ['loopback, anywhere in 127/8', '127.255.1.2', 'loopback'],
    ['private 10/8', '10.20.30.40', 'private'],
    ['private 172.16/12, first', '172.16.0.0', 'private'],
    ['private 172.16/12, last', '172.31.255.255', 'private'],
    ['private 192.168/16', '192.168.1.1', 'private'],
    ['link-local (cloud metadata)', '169.254.169.254', 'link-local'],
    ['carrier-grade NAT', '100.64.0.1', 'carrier-grade NAT'],
    ['unspecified', '0.0.0.0', 'unspecified ("this network")'],
    ['multicast', '224.0.0.251', 'multicast'],
    ['broadcast', '255.255.255.255', 'reserved'],
    ['public IPv6', '2606:2800:220:1:248:1893:25c8:1946', null],
    ['IPv6 loopback', '::1', 'loopback'],
    ['IPv6 unspecified', '::', 'unspecified'],
    ['IPv6 unique local', 'fd12:3456::1', 'unique local (private)'],
    ['IPv6 link-local', 'fe80::1', 'link-local'],
    ['IPv6 link-local with a zone', 'fe80::1%eth0', 'link-local'],
    ['IPv6 multicast', 'ff02::1', 'multicast'],
    ['IPv4-mapped loopback, dotted', '::ffff:127.0.0.1', 'loopback'],
    ['IPv4-mapped private, hex', '::ffff:a00:1', 'private'],
    ['IPv4-mapped public', '::ffff:93.184.216.34', null],
    ['IPv4-compatible loopback', '::127.0.0.1', 'loopback'],
    ['NAT64 of a private address', '64:ff9b::10.0.0.1', 'private'],
    ['NAT64 of a public address', '64:ff9b::93.184.216.34', null],
    ['6to4 of loopback', '2002:7f00:1::', 'loopback'],
    ['not an address', 'example.com', 'not an IP address'],
  ];
  it.each(cases)('%s: %s', (_label, ip, why) => {
    expect(addressRefusal(ip)).toBe(why);
  });
});

describe('v6Bytes', () => {
  it('expands compressed and dotted forms', () => {
    expect(v6Bytes('::1')).toEqual([...Array<number>(15).fill(0), 1]);
    expect(v6Bytes('::ffff:1.2.3.4').slice(10)).toEqual([0xff, 0xff, 1, 2, 3, 4]);
    expect(v6Bytes('2001:db8::')).toEqual([0x20, 0x01, 0x0d, 0xb8, ...Array<number>(12).fill(0)]);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LinkType } from '../../src/decode/link-types.ts';
import { flowAffinityHash, workerFor } from '../../src/flow/flow-affinity.ts';
import {
  ethernet,
  F,
  ipv4Header,
  ipv6Header,
  payload,
  tcpHeader,
  udpHeader,
} from '../helpers/frames.ts';
import { rng } from '../helpers/random.ts';

const rand = rng(7);
const byte = (): number => Math.floor(rand() * 256);
const port = (): number => 1 + Math.floor(rand() * 65535);
const randomV4 = (): string => [byte(), byte(), byte(), byte()].join('.');
const randomV6 = (): string =>
  Array.from({ length: 8 }, () => Math.floor(rand() * 65536).toString(16)).join(':');

/** Hash of `bytes` placed at offset 5 of a larger buffer (the offset must be honoured). */
function hashOf(bytes: number[], linkType: number = LinkType.Ethernet, capLen = bytes.length) {
  const buf = Buffer.from([7, 7, 7, 7, 7, ...bytes, 0x45, 0x45, 0x45]);
  return flowAffinityHash(buf, 5, capLen, linkType);
}

// IP packets (no link header).
function udp4ip(src: string, sp: number, dst: string, dp: number, n = 20): number[] {
  const u = udpHeader(sp, dp, n);
  return [...ipv4Header(src, dst, 17, u.length + n), ...u, ...payload(n)];
}
function tcp4ip(src: string, sp: number, dst: string, dp: number): number[] {
  const t = tcpHeader(sp, dp, F.ACK);
  return [...ipv4Header(src, dst, 6, t.length), ...t];
}
function udp6ip(src: string, sp: number, dst: string, dp: number, n = 20): number[] {
  const u = udpHeader(sp, dp, n);
  return [...ipv6Header(src, dst, 17, u.length + n), ...u, ...payload(n)];
}
const eth4 = (ip: number[]): number[] => [...ethernet(0x0800), ...ip];
const eth6 = (ip: number[]): number[] => [...ethernet(0x86dd), ...ip];

test('symmetric: both directions of random IPv4 and IPv6 pairs hash alike, ports ignored', () => {
  for (let i = 0; i < 2000; i++) {
    const [a, b, c, d] = [randomV4(), randomV4(), randomV6(), randomV6()];
    const [p, q] = [port(), port()];
    const fwd4 = hashOf(eth4(udp4ip(a, p, b, q)));
    assert.notEqual(fwd4, 0);
    assert.equal(hashOf(eth4(udp4ip(b, q, a, p))), fwd4, `${a} ${b}`);
    assert.equal(hashOf(eth4(udp4ip(b, port(), a, port()))), fwd4, 'ports do not matter');
    const fwd6 = hashOf(eth6(udp6ip(c, p, d, q)));
    assert.notEqual(fwd6, 0);
    assert.equal(hashOf(eth6(udp6ip(d, q, c, p))), fwd6, `${c} ${d}`);
  }
});

test('addresses and protocol matter', () => {
  const base = hashOf(eth4(udp4ip('10.0.0.1', 1, '10.0.0.2', 2)));
  assert.notEqual(hashOf(eth4(tcp4ip('10.0.0.1', 1, '10.0.0.2', 2))), base, 'protocol');
  assert.notEqual(hashOf(eth4(udp4ip('10.0.0.1', 1, '10.0.0.3', 2))), base, 'address');
  // IPv6 addresses differing only in their last byte (the whole address is hashed).
  const v6a = hashOf(eth6(udp6ip('2001:db8::1', 1, '2001:db8::2', 2)));
  const v6b = hashOf(eth6(udp6ip('2001:db8::1', 1, '2001:db8::3', 2)));
  const v6c = hashOf(eth6(udp6ip('2001:db9::1', 1, '2001:db8::2', 2)));
  assert.equal(new Set([v6a, v6b, v6c]).size, 3);
  // Same address on both sides is still a flow.
  assert.notEqual(hashOf(eth4(udp4ip('10.0.0.9', 1, '10.0.0.9', 2))), 0);
});

test('distribution over 2, 3 and 4 workers within ±10% for 10k random flows', () => {
  for (const v of [4, 6]) {
    const hashes: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const bytes =
        v === 4
          ? eth4(udp4ip(randomV4(), port(), randomV4(), port()))
          : eth6(udp6ip(randomV6(), port(), randomV6(), port()));
      hashes.push(hashOf(bytes));
    }
    for (const workers of [2, 3, 4]) {
      const counts = new Array<number>(workers).fill(0);
      for (const h of hashes) counts[workerFor(h, workers)]!++;
      const expected = hashes.length / workers;
      for (const c of counts) {
        assert.ok(
          Math.abs(c - expected) <= expected * 0.1,
          `IPv${String(v)} over ${String(workers)} workers: ${counts.join('/')}`,
        );
      }
    }
  }
  // Also for flows that differ only in the low bits of one address (one busy server).
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 10_000; i++) {
    const client = `10.${String(i >> 16)}.${String((i >> 8) & 255)}.${String(i & 255)}`;
    counts[workerFor(hashOf(eth4(tcp4ip(client, 40000, '192.0.2.80', 443))), 4)]!++;
  }
  for (const c of counts) assert.ok(Math.abs(c - 2500) <= 250, counts.join('/'));
});

test('workerFor stays in range; one worker takes everything', () => {
  for (const h of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff]) {
    assert.equal(workerFor(h, 1), 0);
    for (const w of [2, 3, 4, 7]) {
      const r = workerFor(h, w);
      assert.ok(Number.isInteger(r) && r >= 0 && r < w);
    }
  }
});

test('IPv4 fragments (first and later) hash with their flow', () => {
  const [a, b] = ['198.51.100.7', '203.0.113.9'];
  const flow = hashOf(eth4(udp4ip(a, 5353, b, 53)));
  const u = udpHeader(5353, 53, 2000);
  const first = [
    ...ethernet(0x0800),
    ...ipv4Header(a, b, 17, 1480, { id: 77, moreFragments: true }),
    ...u,
    ...payload(1472),
  ];
  const later = [
    ...ethernet(0x0800),
    ...ipv4Header(a, b, 17, 528, { id: 77, fragOffset8: 185 }),
    ...payload(528),
  ];
  const reply = [
    ...ethernet(0x0800),
    ...ipv4Header(b, a, 17, 300, { id: 9, fragOffset8: 185, moreFragments: true }),
    ...payload(300),
  ];
  assert.equal(hashOf(first), flow);
  assert.equal(hashOf(later), flow);
  assert.equal(hashOf(reply), flow);
});

test('IPv6 fragments (first and later) hash with their flow, extension headers skipped', () => {
  const [a, b] = ['2001:db8::a', '2001:db8:1::b'];
  const flow = hashOf(eth6(udp6ip(a, 5353, b, 53)));
  const fragHeader = (next: number, offset8: number, more: boolean): number[] => [
    next,
    0,
    (offset8 >> 5) & 0xff,
    ((offset8 << 3) & 0xf8) | (more ? 1 : 0),
    0,
    0,
    0x12,
    0x34,
  ];
  const hopByHop = (next: number): number[] => [next, 0, 1, 4, 0, 0, 0, 0];
  const u = udpHeader(5353, 53, 3000);
  const first = [
    ...ethernet(0x86dd),
    ...ipv6Header(a, b, 0, 8 + 8 + 8 + 1400),
    ...hopByHop(44),
    ...fragHeader(17, 0, true),
    ...u,
    ...payload(1400),
  ];
  const later = [
    ...ethernet(0x86dd),
    ...ipv6Header(b, a, 44, 8 + 800),
    ...fragHeader(17, 176, false),
    ...payload(800),
  ];
  assert.equal(hashOf(first), flow);
  assert.equal(hashOf(later), flow);
  // Destination options, routing and AH before the transport header are skipped too.
  const chained = [
    ...ethernet(0x86dd),
    ...ipv6Header(a, b, 60, 8 + 24 + 16 + 8 + 20),
    ...[43, 0, ...payload(6, 0)], // Destination Options (8 bytes) → Routing
    ...[51, 2, ...payload(22, 0)], // Routing (24 bytes) → AH
    ...[17, 2, ...payload(14, 0)], // AH (16 bytes) → UDP
    ...udpHeader(5353, 53, 20),
    ...payload(20),
  ];
  assert.equal(hashOf(chained), flow);
});

test('every link type: the same IP packet hashes alike under each link header', () => {
  const ip4 = udp4ip('192.0.2.1', 1000, '192.0.2.2', 2000);
  const ip6 = udp6ip('2001:db8::1', 1000, '2001:db8::2', 2000);
  for (const [ip, etherType, af] of [
    [ip4, 0x0800, 2],
    [ip6, 0x86dd, 10],
  ] as const) {
    const want = hashOf(ip, LinkType.Raw);
    assert.notEqual(want, 0);
    const sll = [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, etherType >> 8, etherType & 255];
    const sll2 = [etherType >> 8, etherType & 255, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6];
    sll2.push(2, 0, 0, 0, 0, 1, 0, 0);
    const cases: [string, number[], number][] = [
      ['ethernet', [...ethernet(etherType), ...ip], LinkType.Ethernet],
      ['802.1Q', [...ethernet(etherType, [0x8100]), ...ip], LinkType.Ethernet],
      ['QinQ 88a8', [...ethernet(etherType, [0x88a8, 0x8100]), ...ip], LinkType.Ethernet],
      ['QinQ 9100', [...ethernet(etherType, [0x9100, 0x8100]), ...ip], LinkType.Ethernet],
      ['linux_sll', [...sll, ...ip], LinkType.LinuxSll],
      ['linux_sll2', [...sll2, ...ip], LinkType.LinuxSll2],
      ['raw 101', ip, LinkType.Raw],
      ['raw 12', ip, LinkType.RawOpenBsd],
      ['raw 14', ip, LinkType.RawBsdOs],
      [etherType === 0x0800 ? 'ipv4 228' : 'ipv6 229', ip, etherType === 0x0800 ? 228 : 229],
      ['null, little-endian family', [af, 0, 0, 0, ...ip], LinkType.Null],
      ['null, big-endian family', [0, 0, 0, af, ...ip], LinkType.Null],
      ['loop', [0, 0, 0, af, ...ip], LinkType.Loop],
    ];
    for (const [name, bytes, lt] of cases) assert.equal(hashOf(bytes, lt), want, name);
    if (etherType === 0x86dd) {
      for (const bsdAf of [24, 28, 30]) {
        assert.equal(hashOf([bsdAf, 0, 0, 0, ...ip], LinkType.Null), want, `AF_INET6 ${bsdAf}`);
      }
    }
  }
});

test('not IP, truncated or unknown → 0', () => {
  const ip4 = udp4ip('192.0.2.1', 1000, '192.0.2.2', 2000);
  const ip6 = udp6ip('2001:db8::1', 1000, '2001:db8::2', 2000);
  const arp = [...ethernet(0x0806), ...payload(28)];
  const cases: [string, number[], number, number?][] = [
    ['arp', arp, LinkType.Ethernet],
    ['ethernet cut in the header', eth4(ip4), LinkType.Ethernet, 13],
    ['ipv4 cut before the destination', eth4(ip4), LinkType.Ethernet, 14 + 19],
    ['ipv6 cut before the destination', eth6(ip6), LinkType.Ethernet, 14 + 39],
    ['ipv6 extension header cut', [...ethernet(0x86dd), ...ipv6Header('::1', '::2', 0, 8)], 1],
    ['vlan tag cut', [...ethernet(0x0800, [0x8100]), ...ip4], LinkType.Ethernet, 16],
    [
      'five vlan tags',
      [...ethernet(0x0800, [0x8100, 0x8100, 0x8100, 0x8100, 0x8100]), ...ip4],
      LinkType.Ethernet,
    ],
    ['ip version 5 on raw', [0x55, ...ip4.slice(1)], LinkType.Raw],
    ['ipv4 header length < 5', [0x44, ...ip4.slice(1)], LinkType.Raw],
    ['ipv4 under the ipv6 link type', ip4, LinkType.Ipv6],
    ['empty raw', [], LinkType.Raw],
    ['null family 99', [99, 0, 0, 0, ...ip4], LinkType.Null],
    ['null cut', [2, 0, 0], LinkType.Null],
    ['sll cut', payload(15), LinkType.LinuxSll],
    ['sll2 cut', payload(19), LinkType.LinuxSll2],
    ['unknown link type', ip4, 147],
  ];
  for (const [name, bytes, lt, capLen] of cases) assert.equal(hashOf(bytes, lt, capLen), 0, name);
  // capLen beyond the buffer is treated as cut, never read past the end.
  const buf = Buffer.from(eth4(ip4)).subarray(0, 30);
  assert.equal(flowAffinityHash(buf, 0, 1000, LinkType.Ethernet), 0);
});

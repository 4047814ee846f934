import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecodeIssue } from '../../src/decode/decode-errors.ts';
import { Frag, PacketDecoder } from '../../src/decode/packet-decoder.ts';
import {
  ethernet,
  F,
  ipv4Header,
  ipv6Bytes,
  ipv6Header,
  payload,
  tcp4,
  tcp6,
  tcpHeader,
  udp4,
  udpHeader,
} from '../helpers/frames.ts';

function decode(bytes: number[], linkType = 1, capLen = bytes.length) {
  // Offset 3 into a larger buffer: the decoder must honour the frame's offset.
  const buf = Buffer.from([9, 9, 9, ...bytes, 9, 9]);
  const d = new PacketDecoder();
  const issue = d.decode(buf, 3, capLen, linkType);
  return { d, issue, buf };
}

const ip = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

// 10.0.0.1.40000 > 10.0.0.2.80: Flags [S]
test('Ethernet IPv4 TCP SYN', () => {
  const { d, issue } = decode(tcp4('10.0.0.1', 40000, '10.0.0.2', 80, F.SYN));
  assert.equal(issue, DecodeIssue.None);
  assert.equal(d.ipVersion, 4);
  assert.equal(d.proto, 6);
  assert.equal(ip(d.src4), '10.0.0.1');
  assert.equal(ip(d.dst4), '10.0.0.2');
  assert.equal(d.srcPort, 40000);
  assert.equal(d.dstPort, 80);
  assert.equal(d.tcpFlags, F.SYN);
  assert.equal(d.payloadLen, 0);
});

// 10.0.0.1.53000 > 10.0.0.53.53: UDP, length 30
test('Ethernet IPv4 UDP payload length comes from the UDP header', () => {
  const { d, issue } = decode(udp4('10.0.0.1', 53000, '10.0.0.53', 53, payload(30)));
  assert.equal(issue, DecodeIssue.None);
  assert.equal(d.proto, 17);
  assert.equal(d.payloadLen, 30);
  assert.equal(d.dstPort, 53);
});

test('802.1Q and QinQ tags are skipped; too many tags are counted', () => {
  const inner = [
    ...ipv4Header('1.1.1.1', '2.2.2.2', 6, 20 + 5),
    ...tcpHeader(1, 2, F.ACK),
    ...payload(5),
  ];
  for (const tags of [[0x8100], [0x88a8, 0x8100], [0x9100, 0x8100]]) {
    const { d, issue } = decode([...ethernet(0x0800, tags), ...inner]);
    assert.equal(issue, DecodeIssue.None, `tags ${tags.join(',')}`);
    assert.equal(d.vlanTags, tags.length);
    assert.equal(d.payloadLen, 5);
  }
  const five = decode([...ethernet(0x0800, [0x8100, 0x8100, 0x8100, 0x8100, 0x8100]), ...inner]);
  assert.equal(five.issue, DecodeIssue.TooManyVlanTags);
});

test('non-IP ethertype is reported, not an error', () => {
  assert.equal(decode([...ethernet(0x0806), ...payload(28)]).issue, DecodeIssue.NonIp);
});

test('Linux SLL and SLL2 headers', () => {
  const ipTcp = [...ipv4Header('1.1.1.1', '2.2.2.2', 6, 20), ...tcpHeader(5, 6, F.ACK)];
  const sll = [0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00, ...ipTcp];
  assert.equal(decode(sll, 113).issue, DecodeIssue.None);
  assert.equal(decode(sll, 113).d.srcPort, 5);
  const sll2 = [0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, ...ipTcp];
  assert.equal(decode(sll2, 276).issue, DecodeIssue.None);
  assert.equal(decode(sll2, 276).d.dstPort, 6);
});

test('raw IP link types pick the version from the first nibble', () => {
  const v4 = [...ipv4Header('1.1.1.1', '2.2.2.2', 17, 8), ...udpHeader(1, 2, 0)];
  const v6 = [...ipv6Header('2001:db8::1', '2001:db8::2', 17, 8), ...udpHeader(1, 2, 0)];
  for (const lt of [101, 12, 14]) {
    assert.equal(decode(v4, lt).d.ipVersion, 4);
    assert.equal(decode(v6, lt).d.ipVersion, 6);
  }
  assert.equal(decode(v4, 228).d.ipVersion, 4);
  assert.equal(decode(v6, 229).d.ipVersion, 6);
});

test('BSD loopback family in either byte order, including the AF_INET6 variants', () => {
  const v4 = [...ipv4Header('127.0.0.1', '127.0.0.1', 6, 20), ...tcpHeader(1, 2, F.SYN)];
  const v6 = [...ipv6Header('::1', '::1', 6, 20), ...tcpHeader(1, 2, F.SYN)];
  assert.equal(decode([2, 0, 0, 0, ...v4], 0).d.ipVersion, 4);
  assert.equal(decode([0, 0, 0, 2, ...v4], 108).d.ipVersion, 4);
  for (const af of [10, 24, 28, 30]) assert.equal(decode([af, 0, 0, 0, ...v6], 0).d.ipVersion, 6);
  assert.equal(decode([7, 0, 0, 0, ...v4], 0).issue, DecodeIssue.NonIp);
});

test('IPv4 options shift the transport header', () => {
  const t = tcpHeader(1234, 443, F.ACK | F.PSH);
  const frame = [
    ...ethernet(0x0800),
    ...ipv4Header('1.1.1.1', '2.2.2.2', 6, t.length + 7, { options: [1, 1, 1, 0, 1, 1, 1, 0] }),
    ...t,
    ...payload(7),
  ];
  const { d, issue } = decode(frame);
  assert.equal(issue, DecodeIssue.None);
  assert.equal(d.srcPort, 1234);
  assert.equal(d.payloadLen, 7);
});

test('IPv4 fragments: first carries ports, later ones are all payload', () => {
  const t = tcpHeader(1000, 80, F.ACK);
  const first = [
    ...ethernet(0x0800),
    ...ipv4Header('1.1.1.1', '2.2.2.2', 6, t.length + 12, { id: 77, moreFragments: true }),
    ...t,
    ...payload(12),
  ];
  const a = decode(first);
  assert.equal(a.d.fragment, Frag.First);
  assert.equal(a.d.fragmentId, 77);
  assert.equal(a.d.srcPort, 1000);
  const later = [
    ...ethernet(0x0800),
    ...ipv4Header('1.1.1.1', '2.2.2.2', 6, 40, { id: 77, fragOffset8: 4 }),
    ...payload(40),
  ];
  const b = decode(later);
  assert.equal(b.issue, DecodeIssue.None);
  assert.equal(b.d.fragment, Frag.Later);
  assert.equal(b.d.srcPort, 0);
  assert.equal(b.d.payloadLen, 40);
});

test('IPv6 extension headers (hop-by-hop, destination options) and fragments', () => {
  const t = tcpHeader(443, 50000, F.ACK);
  const hbh = [60, 0, 1, 4, 0, 0, 0, 0]; // next: destination options, 8 bytes
  const dst = [6, 0, 1, 4, 0, 0, 0, 0]; // next: TCP
  const frame = [
    ...ethernet(0x86dd),
    ...ipv6Header('2001:db8::1', '2001:db8::2', 0, 16 + t.length + 3),
    ...hbh,
    ...dst,
    ...t,
    ...payload(3),
  ];
  const { d, issue, buf } = decode(frame);
  assert.equal(issue, DecodeIssue.None);
  assert.equal(d.proto, 6);
  assert.equal(d.srcPort, 443);
  assert.equal(d.payloadLen, 3);
  assert.deepEqual([...buf.subarray(d.src6Offset, d.src6Offset + 16)], ipv6Bytes('2001:db8::1'));

  const fragLater = [
    ...ethernet(0x86dd),
    ...ipv6Header('2001:db8::1', '2001:db8::2', 44, 8 + 100),
    ...[17, 0, 0x00, 0xb8, 0, 0, 0, 9], // offset 23×8, id 9
    ...payload(100),
  ];
  const f = decode(fragLater);
  assert.equal(f.issue, DecodeIssue.None);
  assert.equal(f.d.fragment, Frag.Later);
  assert.equal(f.d.fragmentId, 9);
  assert.equal(f.d.proto, 17);
  assert.equal(f.d.payloadLen, 100);
});

test('IPv6 extension header longer than the payload is malformed', () => {
  const frame = [...ethernet(0x86dd), ...ipv6Header('::1', '::2', 0, 8), 6, 5, 0, 0, 0, 0, 0, 0];
  assert.equal(decode(frame).issue, DecodeIssue.Ipv6Malformed);
});

test('snaplen-truncated payload still counts the wire payload length', () => {
  const frame = tcp4('10.0.0.1', 1, '10.0.0.2', 2, F.ACK, payload(1000));
  const { d, issue } = decode(frame, 1, 96);
  assert.equal(issue, DecodeIssue.None);
  assert.equal(d.payloadLen, 1000);
});

test('truncated vs malformed, by layer', () => {
  const full = tcp4('10.0.0.1', 1, '10.0.0.2', 2, F.ACK);
  assert.equal(decode(full, 1, 10).issue, DecodeIssue.LinkTruncated);
  assert.equal(decode(full, 1, 14 + 12).issue, DecodeIssue.Ipv4Truncated);
  // Ports captured, flags not: truncated, with the ports kept for the flow key.
  const cut = decode(full, 1, 14 + 20 + 6);
  assert.equal(cut.issue, DecodeIssue.TcpTruncated);
  assert.equal(cut.d.dstPort, 2);

  const badIhl = [...full];
  badIhl[14] = 0x44; // IHL 4 words < 5
  assert.equal(decode(badIhl).issue, DecodeIssue.Ipv4Malformed);
  const badOffset = [...full];
  badOffset[14 + 20 + 12] = 0x40; // data offset 4 words < 5
  assert.equal(decode(badOffset).issue, DecodeIssue.TcpMalformed);
  const hugeOffset = [...full];
  hugeOffset[14 + 20 + 12] = 0xf0; // 60 bytes > segment
  assert.equal(decode(hugeOffset).issue, DecodeIssue.TcpMalformed);
  const udp = udp4('1.1.1.1', 1, '2.2.2.2', 2, payload(4));
  udp[14 + 20 + 5] = 200; // UDP length beyond the IP payload
  assert.equal(decode(udp).issue, DecodeIssue.UdpMalformed);
  assert.equal(decode(full, 9999).issue, DecodeIssue.UnknownLinkType);
  assert.equal(decode(tcp6('::1', 1, '::2', 2, F.SYN), 1, 40).issue, DecodeIssue.Ipv6Truncated);
});

test('decoder state does not leak from one frame to the next', () => {
  const d = new PacketDecoder();
  const a = Buffer.from(tcp4('10.0.0.1', 1, '10.0.0.2', 2, F.SYN));
  const b = Buffer.from([...ethernet(0x0806), ...payload(28)]);
  d.decode(a, 0, a.length, 1);
  d.decode(b, 0, b.length, 1);
  assert.equal(d.srcPort, 0);
  assert.equal(d.tcpFlags, 0);
  assert.equal(d.ipVersion, 0);
});

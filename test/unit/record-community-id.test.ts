/**
 * Community ID v1 against the spec's published baselines (corelight/community-id-spec, baseline/
 * README tables and baseline_deflt.json) and against Wireshark's own implementation (tshark's
 * `communityid` post-dissector) on corpus captures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { haveTshark } from '../helpers/capture-builders.ts';
import { corpusCapture } from '../helpers/tshark-follow.ts';
import {
  IpProto,
  communityId,
  communityIdFromBytes,
  ipToBytes,
} from '../../src/record/community-id.ts';

/** [proto, src, dst, src port or ICMP type, dst port or ICMP code, id]; 0 for absent ports. */
type Vector = [number, string, string, number, number, string];

const V6_A = 'fe80:0001:0203:0405:0607:0809:0A0B:0C0D';
const V6_B = 'fe80:1011:1213:1415:1617:1819:1A1B:1C1D';

// baseline/README.md, "Default settings" and "A custom seed=1 value" (ICMP as raw type and code).
const TABLE_SEED0: Vector[] = [
  [6, '1.2.3.4', '5.6.7.8', 1122, 3344, '1:wCb3OG7yAFWelaUydu0D+125CLM='],
  [6, '5.6.7.8', '1.2.3.4', 3344, 1122, '1:wCb3OG7yAFWelaUydu0D+125CLM='],
  [17, '1.2.3.4', '5.6.7.8', 1122, 3344, '1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg='],
  [17, '5.6.7.8', '1.2.3.4', 3344, 1122, '1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg='],
  [132, '1.2.3.4', '5.6.7.8', 1122, 3344, '1:EKt4MsxuyaE6mL+hmrEkQ9csDD8='],
  [132, '5.6.7.8', '1.2.3.4', 3344, 1122, '1:EKt4MsxuyaE6mL+hmrEkQ9csDD8='],
  [1, '1.2.3.4', '5.6.7.8', 8, 0, '1:crodRHL2FEsHjbv3UkRrfbs4bZ0='],
  [1, '5.6.7.8', '1.2.3.4', 0, 0, '1:crodRHL2FEsHjbv3UkRrfbs4bZ0='],
  [1, '1.2.3.4', '5.6.7.8', 11, 0, '1:f/YiSyWqczrTgfUCZlBUnvHRcPk='],
  [58, V6_A, V6_B, 128, 0, '1:0bf7hyMJUwt3fMED7z8LIfRpBeo='],
  [58, V6_B, V6_A, 129, 0, '1:0bf7hyMJUwt3fMED7z8LIfRpBeo='],
  [58, V6_A, V6_B, 146, 0, '1:fYC8+pz24E+EhANP1EZhpX0Dw10='],
  [46, '1.2.3.4', '5.6.7.8', 0, 0, '1:ikv3kmf89luf73WPz1jOs49S768='],
  [46, '5.6.7.8', '1.2.3.4', 0, 0, '1:ikv3kmf89luf73WPz1jOs49S768='],
  [46, V6_A, V6_B, 0, 0, '1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0='],
  [46, V6_B, V6_A, 0, 0, '1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0='],
];

const TABLE_SEED1: Vector[] = [
  [6, '1.2.3.4', '5.6.7.8', 1122, 3344, '1:HhA1B+6CoLbiKPEs5nhNYN4XWfk='],
  [6, '5.6.7.8', '1.2.3.4', 3344, 1122, '1:HhA1B+6CoLbiKPEs5nhNYN4XWfk='],
  [17, '1.2.3.4', '5.6.7.8', 1122, 3344, '1:OShq+iKDAMVouh/4bMxB9Sz4amw='],
  [17, '5.6.7.8', '1.2.3.4', 3344, 1122, '1:OShq+iKDAMVouh/4bMxB9Sz4amw='],
  [132, '1.2.3.4', '5.6.7.8', 1122, 3344, '1:uitchpn5MMGAQKBJh7bIr/bAr7s='],
  [132, '5.6.7.8', '1.2.3.4', 3344, 1122, '1:uitchpn5MMGAQKBJh7bIr/bAr7s='],
  [1, '1.2.3.4', '5.6.7.8', 8, 0, '1:9pr4ZGTICiuZoIh90RRYE2RyXpU='],
  [1, '5.6.7.8', '1.2.3.4', 0, 0, '1:9pr4ZGTICiuZoIh90RRYE2RyXpU='],
  [1, '1.2.3.4', '5.6.7.8', 11, 0, '1:1DD7cWGC/Yg91YGsQeni8du3pIA='],
  [58, V6_A, V6_B, 128, 0, '1:IO27GQzPuCtNnwFvjWALMHu5tJE='],
  [58, V6_B, V6_A, 129, 0, '1:IO27GQzPuCtNnwFvjWALMHu5tJE='],
  [58, V6_A, V6_B, 146, 0, '1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s='],
  [46, '1.2.3.4', '5.6.7.8', 0, 0, '1:/buhqeOmaRCopOZFy9HnoJd5XW8='],
  [46, '5.6.7.8', '1.2.3.4', 0, 0, '1:/buhqeOmaRCopOZFy9HnoJd5XW8='],
  [46, V6_A, V6_B, 0, 0, '1:j6EyyfBzL4vWKHFXgUqb5Az3OxM='],
  [46, V6_B, V6_A, 0, 0, '1:j6EyyfBzL4vWKHFXgUqb5Az3OxM='],
];

// baseline/baseline_deflt.json (pycommunityid over pcaps/combined.pcap.gz). Its ICMP "ports" are
// already mapped: (type, counterpart) for request/reply types, (type, code) otherwise. Passing
// them as (type, code) gives the same hash, since a counterpart type replaces the code anyway.
const BASELINE_DEFAULT: Vector[] = [
  [
    58,
    'fe80::200:86ff:fe05:80da',
    'fe80::260:97ff:fe07:69ea',
    135,
    136,
    '1:dGHyGvjMfljg6Bppwm3bg0LO8TY=',
  ],
  [
    58,
    'fe80::260:97ff:fe07:69ea',
    'fe80::200:86ff:fe05:80da',
    136,
    135,
    '1:dGHyGvjMfljg6Bppwm3bg0LO8TY=',
  ],
  [
    58,
    'fe80::260:97ff:fe07:69ea',
    'fe80::200:86ff:fe05:80da',
    135,
    136,
    '1:zavyT/cezQr1fmImYCwYnMXbgck=',
  ],
  [
    58,
    'fe80::200:86ff:fe05:80da',
    'fe80::260:97ff:fe07:69ea',
    136,
    135,
    '1:zavyT/cezQr1fmImYCwYnMXbgck=',
  ],
  [
    58,
    '3ffe:501:1800:2345::2',
    '3ffe:507:0:1:200:86ff:fe05:80da',
    3,
    0,
    '1:2ObVBgIn28oZvibYZhZMBgh7WdQ=',
  ],
  [
    58,
    '3ffe:501:410:0:2c0:dfff:fe47:33e',
    '3ffe:507:0:1:200:86ff:fe05:80da',
    1,
    4,
    '1:hLZd0XGWojozrvxqE0dWB1iM6R0=',
  ],
  [
    58,
    '3ffe:507:0:1:200:86ff:fe05:80da',
    '3ffe:501:0:1001::2',
    128,
    129,
    '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=',
  ],
  [
    58,
    '3ffe:501:0:1001::2',
    '3ffe:507:0:1:200:86ff:fe05:80da',
    129,
    128,
    '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=',
  ],
  [58, 'fe80::200:86ff:fe05:80da', 'ff02::2', 133, 134, '1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0='],
  [58, 'fe80::260:97ff:fe07:69ea', 'ff02::1', 134, 133, '1:pkvHqCL88/tg1k4cPigmZXUtL00='],
  [1, '192.168.0.89', '192.168.0.1', 8, 0, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk='],
  [1, '192.168.0.1', '192.168.0.89', 0, 8, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk='],
  [1, '10.0.0.1', '10.0.0.2', 11, 0, '1:YHxtAirCG//0OzkcVAukqKQN9xM='],
  [
    6,
    '2001:470:e5bf:dead:4957:2174:e82c:4887',
    '2607:f8b0:400c:c03::1a',
    63943,
    25,
    '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=',
  ],
  [
    6,
    '2607:f8b0:400c:c03::1a',
    '2001:470:e5bf:dead:4957:2174:e82c:4887',
    25,
    63943,
    '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=',
  ],
  [132, '192.168.170.8', '192.168.170.56', 7, 7, '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs='],
  [132, '192.168.170.56', '192.168.170.8', 7, 7, '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs='],
  [6, '128.232.110.120', '66.35.250.204', 34855, 80, '1:LQU9qZlK+B5F3KDmev6m5PMibrg='],
  [6, '66.35.250.204', '128.232.110.120', 80, 34855, '1:LQU9qZlK+B5F3KDmev6m5PMibrg='],
  [17, '192.168.1.52', '8.8.8.8', 54585, 53, '1:d/FP5EW3wiY1vCndhwleRRKHowQ='],
  [17, '8.8.8.8', '192.168.1.52', 53, 54585, '1:d/FP5EW3wiY1vCndhwleRRKHowQ='],
  [46, '10.1.12.1', '10.1.12.2', 0, 0, '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw='],
  [46, '10.1.12.2', '10.1.12.1', 0, 0, '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw='],
];

function checkVectors(vectors: Vector[], seed: number): void {
  for (const [proto, src, dst, sport, dport, want] of vectors) {
    assert.equal(
      communityId(proto, src, sport, dst, dport, seed),
      want,
      `${proto} ${src} ${dst} ${sport} ${dport}`,
    );
  }
}

test('spec baseline tables: default seed and seed 1', () => {
  checkVectors(TABLE_SEED0, 0);
  checkVectors(TABLE_SEED1, 1);
});

test('spec baseline_deflt.json flows', () => {
  checkVectors(BASELINE_DEFAULT, 0);
});

test('address forms: compressed, expanded, v4-mapped tail, zone; byte variant agrees', () => {
  assert.deepEqual(ipToBytes('10.0.0.1'), Uint8Array.of(10, 0, 0, 1));
  assert.deepEqual(ipToBytes('::'), new Uint8Array(16));
  assert.deepEqual(ipToBytes('::1'), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));
  assert.deepEqual(
    ipToBytes('::ffff:192.0.2.1'),
    Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1),
  );
  assert.deepEqual(
    ipToBytes('2001:db8::'),
    Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(12).fill(0)),
  );
  assert.deepEqual(ipToBytes('fe80::1%eth0'), ipToBytes('fe80:0:0:0:0:0:0:1'));
  assert.deepEqual(ipToBytes('FE80::A:B'), ipToBytes('fe80::a:b'));
  for (const bad of ['', '1.2.3', '1.2.3.256', 'fe80:::1', '1:2:3:4:5:6:7:8:9', 'example.com']) {
    assert.throws(() => ipToBytes(bad), TypeError, bad);
  }
  assert.equal(
    communityIdFromBytes(
      IpProto.Tcp,
      Uint8Array.of(128, 232, 110, 120),
      34855,
      Uint8Array.of(66, 35, 250, 204),
      80,
    ),
    '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
  );
  assert.throws(() => communityId(IpProto.Tcp, '10.0.0.1', 1, '::1', 2), RangeError);
  assert.throws(() => communityId(IpProto.Tcp, '10.0.0.1', 70000, '10.0.0.2', 2), RangeError);
});

test('ports count only for TCP, UDP, SCTP, ICMP and ICMPv6', () => {
  const rsvp = '1:ikv3kmf89luf73WPz1jOs49S768=';
  assert.equal(communityId(46, '1.2.3.4', 1122, '5.6.7.8', 3344), rsvp);
  assert.notEqual(
    communityId(IpProto.Sctp, '1.2.3.4', 1, '5.6.7.8', 2),
    communityId(IpProto.Sctp, '1.2.3.4', 1, '5.6.7.8', 3),
  );
});

test('equal addresses: the lower port goes first, so both directions agree', () => {
  const a = communityId(IpProto.Udp, '127.0.0.1', 5000, '127.0.0.1', 53);
  assert.equal(communityId(IpProto.Udp, '127.0.0.1', 53, '127.0.0.1', 5000), a);
  assert.notEqual(communityId(IpProto.Tcp, '127.0.0.1', 53, '127.0.0.1', 5000), a);
});

/** One TCP/UDP packet as tshark dissects it, with Wireshark's Community ID. */
interface TsharkFlowPacket {
  proto: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  id: string;
}

function tsharkPackets(capture: string): TsharkFlowPacket[] {
  const fields = [
    'ip.src',
    'ip.dst',
    'ipv6.src',
    'ipv6.dst',
    'tcp.srcport',
    'tcp.dstport',
    'udp.srcport',
    'udp.dstport',
    'communityid',
  ];
  const out = execFileSync(
    'tshark',
    [
      '-n',
      '-r',
      corpusCapture(capture),
      '--enable-protocol',
      'communityid',
      '-Y',
      '(tcp or udp) and not icmp and not icmpv6',
      '-T',
      'fields',
      '-E',
      'separator=|',
      ...fields.flatMap((f) => ['-e', f]),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 },
  );
  const packets: TsharkFlowPacket[] = [];
  for (const line of out.split('\n')) {
    // Tunnels and ICMP quotes give several values per field; those are not plain flows.
    if (line === '' || line.includes(',')) continue;
    const [v4src, v4dst, v6src, v6dst, tsport, tdport, usport, udport, id] = line.split('|');
    const tcp = tsport !== '';
    packets.push({
      proto: tcp ? IpProto.Tcp : IpProto.Udp,
      src: v4src || v6src!,
      dst: v4dst || v6dst!,
      sport: Number(tcp ? tsport : usport),
      dport: Number(tcp ? tdport : udport),
      id: id!,
    });
  }
  return packets;
}

const CAPTURES = [
  'ps-v6-http.cap',
  'sv-dns-a-aaaa-mx.pcap',
  'zk-http-pipelined.pcap',
  'zk-dns-ipv6-frag.pcap',
  'zk-http-vlan.pcap',
  'ps-tls12-dsb-rawip.pcapng',
  'zk-http-methods.pcap',
  'ar-tcp-reassembly-synth.pcap',
  'ps-dns-many-types.cap',
  'sv-ws-ping-sll.pcap',
];

test('every TCP/UDP packet of corpus captures matches tshark', { skip: !haveTshark }, () => {
  const flows = new Set<string>();
  for (const capture of CAPTURES) {
    const packets = tsharkPackets(capture);
    assert.ok(packets.length > 0, `${capture}: no TCP/UDP packets`);
    for (const p of packets) {
      assert.equal(
        communityId(p.proto, p.src, p.sport, p.dst, p.dport),
        p.id,
        `${capture}: ${p.src} ${p.sport} ${p.dst} ${p.dport}`,
      );
      flows.add(p.id);
    }
  }
  // 80 distinct flows over IPv4 and IPv6, TCP and UDP.
  assert.equal(flows.size, 80);
});

/**
 * The dig-style dump against goldens derived from miekg/dns v1.1.61's printer (msg.go
 * `Msg.String`/`MsgHdr.String`, types.go `RR_Header.String` and each type's `String`, edns.go
 * `OPT.String`, svcb.go): corpus messages whose values come from tshark, RR lines taken verbatim
 * from miekg's own tests (parse_test.go) rebuilt as wire bytes, and hand-built cases for the
 * printer's corners (OPT options, UPDATE, RFC 3597, empty RDATA, escapes, unnamed codes).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ipv6Text } from '../../src/sniff/dns/dns-ip-text.ts';
import { parseDnsMessage, type DnsMessage } from '../../src/sniff/dns/dns-message.ts';
import { rdataText } from '../../src/sniff/dns/dns-rdata-text.ts';
import { dnsMessageText, rrText } from '../../src/sniff/dns/dns-text.ts';
import { corpusCapture, udpDatagrams } from '../helpers/tshark-follow.ts';

function corpusMessage(capture: string, frame: number): DnsMessage {
  const d = udpDatagrams(corpusCapture(capture)).find((x) => x.frame === frame);
  assert.ok(d);
  const result = parseDnsMessage(d.payload);
  assert.ok(result.ok);
  return result.message;
}

const lines = (...l: string[]): string => l.join('\n') + '\n';

// ---------------------------------------------------------------------------------------------
// Corpus messages

test('sv-dns-a-aaaa-mx: EDNS query, and the A response with 12 answers', () => {
  assert.equal(
    dnsMessageText(corpusMessage('sv-dns-a-aaaa-mx.pcap', 1)),
    lines(
      ';; opcode: QUERY, status: NOERROR, id: 6701',
      ';; flags: rd ad; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 1',
      '',
      ';; OPT PSEUDOSECTION:',
      '; EDNS: version 0; flags:; udp: 4096',
      '',
      ';; QUESTION SECTION:',
      ';google.com.\tIN\t A',
    ),
  );
  const answers = [244, 217, 216, 210, 237, 231, 238, 230, 224, 251, 223, 245].map(
    (x) => `google.com.\t299\tIN\tA\t216.197.242.${x}`,
  );
  assert.equal(
    dnsMessageText(corpusMessage('sv-dns-a-aaaa-mx.pcap', 2)),
    lines(
      ';; opcode: QUERY, status: NOERROR, id: 6701',
      ';; flags: qr rd ra; QUERY: 1, ANSWER: 12, AUTHORITY: 0, ADDITIONAL: 1',
      '',
      ';; OPT PSEUDOSECTION:',
      '; EDNS: version 0; flags:; udp: 512',
      '',
      ';; QUESTION SECTION:',
      ';google.com.\tIN\t A',
      '',
      ';; ANSWER SECTION:',
      ...answers,
    ),
  );
});

test('sv-dns-a-aaaa-mx: AAAA response', () => {
  assert.equal(
    dnsMessageText(corpusMessage('sv-dns-a-aaaa-mx.pcap', 4)),
    lines(
      ';; opcode: QUERY, status: NOERROR, id: 36208',
      ';; flags: qr rd ra; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1',
      '',
      ';; OPT PSEUDOSECTION:',
      '; EDNS: version 0; flags:; udp: 512',
      '',
      ';; QUESTION SECTION:',
      ';google.com.\tIN\t AAAA',
      '',
      ';; ANSWER SECTION:',
      'google.com.\t299\tIN\tAAAA\t2607:f8b0:400f:801::200e',
    ),
  );
});

test('sv-dns-nxdomain: query with a client cookie, NXDOMAIN with the SOA', () => {
  // Values from tshark -V: cookie a4f5228c58c6180a; SOA refresh 7200, retry 900, expire 1209600,
  // minimum 86400 (the jsonl keeps only mname, rname and serial).
  assert.equal(
    dnsMessageText(corpusMessage('sv-dns-nxdomain.pcap', 1)),
    lines(
      ';; opcode: QUERY, status: NOERROR, id: 33429',
      ';; flags: rd ad; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 1',
      '',
      ';; OPT PSEUDOSECTION:',
      '; EDNS: version 0; flags:; udp: 4096',
      '; COOKIE: a4f5228c58c6180a',
      '',
      ';; QUESTION SECTION:',
      ';dne.oisf.net.\tIN\t A',
    ),
  );
  assert.equal(
    dnsMessageText(corpusMessage('sv-dns-nxdomain.pcap', 2)),
    lines(
      ';; opcode: QUERY, status: NXDOMAIN, id: 33429',
      ';; flags: qr rd ra; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1',
      '',
      ';; OPT PSEUDOSECTION:',
      '; EDNS: version 0; flags:; udp: 512',
      '',
      ';; QUESTION SECTION:',
      ';dne.oisf.net.\tIN\t A',
      '',
      ';; AUTHORITY SECTION:',
      'oisf.net.\t899\tIN\tSOA\tns-110.awsdns-13.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400',
    ),
  );
});

test('sv-dns-sshfp-tc: TC and Z bits, SSHFP fingerprints', () => {
  // tshark -V: SSHFP 1 1 198c34a9… and 3 1 7a667d57…; its jsonl export has null values here.
  // The query sets TC, Z and AD (flags 0x0360); miekg prints z between ra and ad.
  assert.equal(
    dnsMessageText(corpusMessage('sv-dns-sshfp-tc.pcap', 1)),
    lines(
      ';; opcode: QUERY, status: NOERROR, id: 3021',
      ';; flags: tc rd z ad; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 1',
      '',
      ';; OPT PSEUDOSECTION:',
      '; EDNS: version 0; flags:; udp: 4096',
      '',
      ';; QUESTION SECTION:',
      ';anoncvs.netbsd.org.\tIN\t SSHFP',
    ),
  );
  assert.equal(
    dnsMessageText(corpusMessage('sv-dns-sshfp-tc.pcap', 2)),
    lines(
      ';; opcode: QUERY, status: NOERROR, id: 3021',
      ';; flags: qr tc rd ra; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 1',
      '',
      ';; OPT PSEUDOSECTION:',
      '; EDNS: version 0; flags:; udp: 1232',
      '',
      ';; QUESTION SECTION:',
      ';anoncvs.netbsd.org.\tIN\t SSHFP',
      '',
      ';; ANSWER SECTION:',
      'anoncvs.netbsd.org.\t86400\tIN\tSSHFP\t1 1 198C34A92FC0B2AB1DA52B688C2F191D2D960C09',
      'anoncvs.netbsd.org.\t86400\tIN\tSSHFP\t3 1 7A667D57B6D5F559F136FA9537605081452930EF',
    ),
  );
});

test('zk-dns-txt: CNAME chain, two-string TXT, authority and additional', () => {
  const p1 =
    'k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDPdPfyJM2R2GqMyZM1flTzFeDIU+e7KmiKRw5yz3Xht+cgEIiHmm5lIGBuWCc5rtiy0CcxePpqccPKjn';
  const p2 =
    'HSrDI23PU+HOuqJ6ergE1IOsL6LOEgG6YT53vMb8Z6UiBSsYPlrDEC+8CUIkTLMLXJauRK5bNRKV1ATGzGFpf3TjZtWwIDAQAB';
  const ns = [5, 4, 3, 2, 1].map((n) => `_domainkey.yahoo.com.\t172800\tIN\tNS\tns${n}.yahoo.com.`);
  const glue = [
    ['1', '68.180.131.16'],
    ['2', '68.142.255.16'],
    ['3', '203.84.221.53'],
    ['4', '98.138.11.157'],
    ['5', '119.160.247.124'],
  ].map(([n, a]) => `ns${n!}.yahoo.com.\t1209600\tIN\tA\t${a!}`);
  assert.equal(
    dnsMessageText(corpusMessage('zk-dns-txt.pcap', 2)),
    lines(
      ';; opcode: QUERY, status: NOERROR, id: 28079',
      ';; flags: qr aa rd; QUERY: 1, ANSWER: 3, AUTHORITY: 5, ADDITIONAL: 5',
      '',
      ';; QUESTION SECTION:',
      ';flkr._domainkey.flickr.com.\tIN\t TXT',
      '',
      ';; ANSWER SECTION:',
      'flkr._domainkey.flickr.com.\t900\tIN\tCNAME\tfa14._domainkey.flickr.com.',
      'fa14._domainkey.flickr.com.\t900\tIN\tCNAME\tfa14._domainkey.yahoo.com.',
      `fa14._domainkey.yahoo.com.\t7200\tIN\tTXT\t"${p1}" "${p2}"`,
      '',
      ';; AUTHORITY SECTION:',
      ...ns,
      '',
      ';; ADDITIONAL SECTION:',
      ...glue,
    ),
  );
});

test('td-dns-badlabel-tc: what was parsed before the bad name; unnamed opcode and rcode print empty', () => {
  const [d] = udpDatagrams(corpusCapture('td-dns-badlabel-tc.pcap'));
  assert.ok(d);
  const result = parseDnsMessage(d.payload);
  assert.ok(!result.ok && result.message);
  assert.equal(
    dnsMessageText(result.message),
    lines(
      ';; opcode: , status: , id: 51584',
      ';; flags: qr aa tc rd ra z ad; QUERY: 0, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 0',
    ),
  );
});

// ---------------------------------------------------------------------------------------------
// Wire builders for hand-made messages

function u8(v: number): Buffer {
  return Buffer.from([v]);
}
function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}
function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

/** Wire name from raw labels (each label's bytes given as a latin1 string). */
function wireName(...labels: string[]): Buffer {
  return Buffer.concat([
    ...labels.map((l) => Buffer.concat([u8(l.length), Buffer.from(l, 'latin1')])),
    u8(0),
  ]);
}
const dotted = (n: string): Buffer =>
  wireName(...(n === '.' ? [] : n.replace(/\.$/, '').split('.')));

/** `<len><bytes>` character-string. */
function cs(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  return Buffer.concat([u8(b.length), b]);
}

/** Zone-file escapes (`\DDD`, `\x`) to raw bytes, for vectors quoted from miekg's tests. */
function unescapeZone(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '\\') {
      out.push(s.charCodeAt(i));
    } else if (/^\d{3}$/.test(s.slice(i + 1, i + 4))) {
      out.push(Number(s.slice(i + 1, i + 4)));
      i += 3;
    } else {
      out.push(s.charCodeAt(++i));
    }
  }
  return Buffer.from(out);
}

interface RrSpec {
  owner: string;
  type: number;
  cls?: number;
  ttl?: number;
  rdata: Buffer;
}

function rrWire(r: RrSpec): Buffer {
  return Buffer.concat([
    dotted(r.owner),
    u16(r.type),
    u16(r.cls ?? 1),
    u32(r.ttl ?? 3600),
    u16(r.rdata.length),
    r.rdata,
  ]);
}

interface MsgSpec {
  id?: number;
  flags?: number;
  question?: { name: string; type: number; cls?: number }[];
  answer?: RrSpec[];
  authority?: RrSpec[];
  additional?: RrSpec[];
}

function build(m: MsgSpec): DnsMessage {
  const q = m.question ?? [];
  const an = m.answer ?? [];
  const ns = m.authority ?? [];
  const ar = m.additional ?? [];
  const wire = Buffer.concat([
    u16(m.id ?? 1),
    u16(m.flags ?? 0x8180),
    u16(q.length),
    u16(an.length),
    u16(ns.length),
    u16(ar.length),
    ...q.map((x) => Buffer.concat([dotted(x.name), u16(x.type), u16(x.cls ?? 1)])),
    ...an.map(rrWire),
    ...ns.map(rrWire),
    ...ar.map(rrWire),
  ]);
  const result = parseDnsMessage(wire);
  assert.ok(result.ok, result.ok ? '' : result.error);
  return result.message;
}

/** The RR line of a one-answer message. */
function line(r: RrSpec): string {
  const rr = build({ answer: [r] }).answer[0];
  assert.ok(rr);
  return rrText(rr);
}

// ---------------------------------------------------------------------------------------------
// RR lines from miekg's parse_test.go (zone text there, wire bytes here)

const LOC_EQUATOR = 2 ** 31;
const MS_PER_DEGREE = 3_600_000;

function locRdata(
  lat: [number, number, number, 1 | -1],
  lon: [number, number, number, 1 | -1],
  altCm: number,
  size: number,
  horiz: number,
  vert: number,
): Buffer {
  const angle = ([d, m, s, sign]: [number, number, number, 1 | -1]): number =>
    LOC_EQUATOR + sign * (d * MS_PER_DEGREE + m * 60_000 + Math.round(s * 1000));
  return Buffer.concat([
    u8(0),
    u8(size),
    u8(horiz),
    u8(vert),
    u32(angle(lat)),
    u32(angle(lon)),
    u32(altCm),
  ]);
}

test('LOC lines (parse_test.go TestParseLOC)', () => {
  const loc = (rdata: Buffer, owner = 'SW1A2AA.find.me.uk.'): string =>
    line({ owner, type: 29, rdata });
  const base = 100_000 * 100; // altitude 0 m
  assert.equal(
    loc(locRdata([51, 30, 12.748, 1], [0, 7, 39.611, -1], base, 0, 0, 0)),
    'SW1A2AA.find.me.uk.\t3600\tIN\tLOC\t51 30 12.748 N 00 07 39.611 W 0m 0.00m 0.00m 0.00m',
  );
  assert.equal(
    loc(locRdata([51, 0, 0, 1], [0, 7, 39.611, -1], base, 0, 0, 0)),
    'SW1A2AA.find.me.uk.\t3600\tIN\tLOC\t51 00 0.000 N 00 07 39.611 W 0m 0.00m 0.00m 0.00m',
  );
  // Defaults: size 1 m (0x12), horizontal 10000 m (0x16), vertical 10 m (0x13).
  assert.equal(
    loc(locRdata([51, 30, 12.748, 1], [0, 7, 39.611, -1], base, 0x12, 0x16, 0x13)),
    'SW1A2AA.find.me.uk.\t3600\tIN\tLOC\t51 30 12.748 N 00 07 39.611 W 0m 1m 10000m 10m',
  );
  assert.equal(
    loc(locRdata([90, 0, 0, 1], [180, 0, 0, -1], 0xffffffff, 0x99, 0x99, 0x99)),
    'SW1A2AA.find.me.uk.\t3600\tIN\tLOC\t90 00 0.000 N 180 00 0.000 W 42849672.95m 90000000m 90000000m 90000000m',
  );
  assert.equal(
    loc(locRdata([89, 59, 59.999, 1], [179, 59, 59.999, -1], 0, 0x99, 0x99, 0x99)),
    'SW1A2AA.find.me.uk.\t3600\tIN\tLOC\t89 59 59.999 N 179 59 59.999 W -100000m 90000000m 90000000m 90000000m',
  );
  assert.equal(
    loc(
      locRdata([42, 21, 43.952, 1], [71, 5, 6.344, -1], (100_000 - 24) * 100, 0x12, 0x24, 0x13),
      'example.com.',
    ),
    'example.com.\t3600\tIN\tLOC\t42 21 43.952 N 71 05 6.344 W -24m 1m 200m 10m',
  );
});

function svcParam(key: number, value: Buffer): Buffer {
  return Buffer.concat([u16(key), u16(value.length), value]);
}
function alpn(...ids: string[]): Buffer {
  return Buffer.concat(ids.map((id) => cs(id)));
}
function v4(a: string): Buffer {
  return Buffer.from(a.split('.').map(Number));
}
function v6(hex: string): Buffer {
  return Buffer.from(hex, 'hex');
}

test('SVCB/HTTPS lines (parse_test.go TestParseSVCB)', () => {
  const svcb = (
    type: number,
    owner: string,
    prio: number,
    target: string,
    ...params: Buffer[]
  ): string => line({ owner, type, rdata: Buffer.concat([u16(prio), dotted(target), ...params]) });
  assert.equal(
    svcb(64, 'example.com.', 0, 'cloudflare.com.'),
    'example.com.\t3600\tIN\tSVCB\t0 cloudflare.com.',
  );
  assert.equal(
    svcb(
      64,
      'example.com.',
      65000,
      'cloudflare.com.',
      svcParam(1, alpn('h2')),
      svcParam(4, v4('3.4.3.2')),
    ),
    'example.com.\t3600\tIN\tSVCB\t65000 cloudflare.com. alpn="h2" ipv4hint="3.4.3.2"',
  );
  assert.equal(
    svcb(
      64,
      'example.com.',
      65000,
      'cloudflare.com.',
      svcParam(65000, Buffer.from('4 3')),
      svcParam(65001, Buffer.from('" ')),
      svcParam(65002, Buffer.alloc(0)),
      svcParam(65003, Buffer.alloc(0)),
      svcParam(65004, Buffer.alloc(0)),
      svcParam(65005, Buffer.from('=')),
      svcParam(65006, Buffer.from('=""')),
      svcParam(65007, Buffer.from([254])),
      svcParam(65008, Buffer.from(' ')),
    ),
    'example.com.\t3600\tIN\tSVCB\t65000 cloudflare.com. key65000="4\\ 3" key65001="\\"\\ " key65002="" key65003="" key65004="" key65005="=" key65006="=\\"\\"" key65007="\\254" key65008="\\ "',
  );
  assert.equal(
    svcb(65, 'example.com.', 0, 'foo.example.com.'),
    'example.com.\t3600\tIN\tHTTPS\t0 foo.example.com.',
  );
  assert.equal(svcb(64, 'example.com.', 1, '.'), 'example.com.\t3600\tIN\tSVCB\t1 .');
  assert.equal(
    svcb(64, 'example.com.', 16, 'foo.example.com.', svcParam(3, u16(53))),
    'example.com.\t3600\tIN\tSVCB\t16 foo.example.com. port="53"',
  );
  assert.equal(
    svcb(64, 'example.com.', 1, 'foo.example.com.', svcParam(667, unescapeZone('hello\\210qoo'))),
    'example.com.\t3600\tIN\tSVCB\t1 foo.example.com. key667="hello\\210qoo"',
  );
  assert.equal(
    svcb(
      64,
      'example.com.',
      1,
      'foo.example.com.',
      svcParam(
        6,
        Buffer.concat([
          v6('20010db8000000000000000000000001'),
          v6('20010db8000000000000000000530001'),
        ]),
      ),
    ),
    'example.com.\t3600\tIN\tSVCB\t1 foo.example.com. ipv6hint="2001:db8::1,2001:db8::53:1"',
  );
  // 2001:db8::198.51.100.100 goes back out in hex groups, as Go prints IPv6.
  assert.equal(
    svcb(
      64,
      'example.com.',
      1,
      'example.com.',
      svcParam(6, v6('20010db80000000000000000c6336464')),
    ),
    'example.com.\t3600\tIN\tSVCB\t1 example.com. ipv6hint="2001:db8::c633:6464"',
  );
  // miekg's vector lists alpn before mandatory; on the wire keys are sorted (and miekg sorts the
  // mandatory list when packing), so after a round trip the line reads in key order.
  assert.equal(
    svcb(
      64,
      'example.com.',
      16,
      'foo.example.org.',
      svcParam(0, Buffer.concat([u16(1), u16(4)])),
      svcParam(1, alpn('h2', 'h3-19')),
      svcParam(4, v4('192.0.2.1')),
    ),
    'example.com.\t3600\tIN\tSVCB\t16 foo.example.org. mandatory="alpn,ipv4hint" alpn="h2,h3-19" ipv4hint="192.0.2.1"',
  );
  // alpn ids `f\oo,bar` and `h2`: comma and backslash are escaped twice (RFC 9460 §7.1.1).
  assert.equal(
    svcb(64, 'example.com.', 16, 'foo.example.org.', svcParam(1, alpn('f\\oo,bar', 'h2'))),
    'example.com.\t3600\tIN\tSVCB\t16 foo.example.org. alpn="f\\\\\\092oo\\\\\\044bar,h2"',
  );
  assert.equal(
    svcb(
      64,
      '_dns.example.net.',
      1,
      'example.net.',
      svcParam(1, alpn('h2')),
      svcParam(7, Buffer.from('/dns-query{?dns}')),
    ),
    '_dns.example.net.\t3600\tIN\tSVCB\t1 example.net. alpn="h2" dohpath="/dns-query{?dns}"',
  );
});

test('HTTPS with every SvcParam kind (hand-built, svcb.go String methods)', () => {
  const rdata = Buffer.concat([
    u16(1),
    dotted('.'),
    svcParam(0, Buffer.concat([u16(3), u16(65535)])),
    svcParam(1, alpn('h3', 'h2')),
    svcParam(2, Buffer.alloc(0)),
    svcParam(3, u16(8443)),
    svcParam(4, Buffer.concat([v4('192.0.2.1'), v4('192.0.2.2')])),
    svcParam(5, Buffer.from([0xfe, 0x0d, 0x00, 0x01])),
    svcParam(6, v6('20010db8000000000000000000000001')),
    svcParam(8, Buffer.alloc(0)),
    svcParam(65280, Buffer.from([0x61, 0x3b, 0x00])),
  ]);
  assert.equal(
    line({ owner: 'example.com.', type: 65, ttl: 300, rdata }),
    'example.com.\t300\tIN\tHTTPS\t1 . mandatory="port," alpn="h3,h2" no-default-alpn="" port="8443" ' +
      'ipv4hint="192.0.2.1,192.0.2.2" ech="/g0AAQ==" ipv6hint="2001:db8::1" ohttp="" key65280="a\\;\\000"',
  );
});

test('NSEC, DS, NAPTR, CAA lines (parse_test.go)', () => {
  // NSEC bitmap window 0: A (1), RRSIG (46), NSEC (47); window 255: TYPE65534.
  const bitmap0 = Buffer.alloc(6);
  bitmap0[0] = 0x40; // type 1
  bitmap0[5] = 0x03; // types 46, 47
  const win0 = Buffer.concat([u8(0), u8(6), bitmap0]);
  const win255 = Buffer.concat([u8(255), u8(32), Buffer.alloc(31), u8(0x02)]);
  assert.equal(
    line({
      owner: 'localhost.dnssex.nl.',
      type: 47,
      rdata: Buffer.concat([dotted('www.dnssex.nl.'), win0]),
    }),
    'localhost.dnssex.nl.\t3600\tIN\tNSEC\twww.dnssex.nl. A RRSIG NSEC',
  );
  assert.equal(
    line({
      owner: 'localhost.dnssex.nl.',
      type: 47,
      rdata: Buffer.concat([dotted('www.dnssex.nl.'), win0, win255]),
    }),
    'localhost.dnssex.nl.\t3600\tIN\tNSEC\twww.dnssex.nl. A RRSIG NSEC TYPE65534',
  );
  const digest = '22261A8B0E0D799183E35E24E2AD6BB58533CBA7E3B14D659E9CA09B2071398F';
  assert.equal(
    line({
      owner: 'example.net.',
      type: 43,
      rdata: Buffer.concat([u16(40692), u8(12), u8(3), Buffer.from(digest, 'hex')]),
    }),
    `example.net.\t3600\tIN\tDS\t40692 12 3 ${digest}`,
  );
  const naptr = (service: string, replacement: string): string =>
    line({
      owner: 'cid.urn.arpa.',
      type: 35,
      rdata: Buffer.concat([u16(100), u16(50), cs('s'), cs(service), cs(''), dotted(replacement)]),
    });
  assert.equal(
    naptr('z3950+I2L+I2C', '_z3950._tcp.gatech.edu.'),
    'cid.urn.arpa.\t3600\tIN\tNAPTR\t100 50 "s" "z3950+I2L+I2C" "" _z3950._tcp.gatech.edu.',
  );
  assert.equal(
    naptr('http+I2L+I2C+I2R', '_http._tcp.gatech.edu.'),
    'cid.urn.arpa.\t3600\tIN\tNAPTR\t100 50 "s" "http+I2L+I2C+I2R" "" _http._tcp.gatech.edu.',
  );
  const caa = (flags: number, tag: string, value: Buffer): string =>
    line({ owner: 'example.net.', type: 257, rdata: Buffer.concat([u8(flags), cs(tag), value]) });
  assert.equal(
    caa(0, 'issue', Buffer.from('symantec.com')),
    'example.net.\t3600\tIN\tCAA\t0 issue "symantec.com"',
  );
  assert.equal(
    caa(0, 'issuewild', Buffer.from('symantec.com; stuff')),
    'example.net.\t3600\tIN\tCAA\t0 issuewild "symantec.com; stuff"',
  );
  assert.equal(
    caa(128, 'tbs', Buffer.from('critical')),
    'example.net.\t3600\tIN\tCAA\t128 tbs "critical"',
  );
  const auth =
    '0>09\\006\\010+\\006\\001\\004\\001\\214y\\002\\003\\001\\006\\009`\\134H\\001e\\003\\004\\002\\001\\004 y\\209\\012\\221r\\220\\156Q\\218\\150\\150{\\166\\245:\\231\\182%\\157:\\133\\179}\\1923r\\238\\151\\255\\128q\\145\\002\\001\\000';
  assert.equal(caa(2, 'auth', unescapeZone(auth)), `example.net.\t3600\tIN\tCAA\t2 auth "${auth}"`);
  // sprintTxtOctet reads the raw value as if escaped: `\065` collapses to `A`, `\.` stays.
  assert.equal(
    caa(0, 'issue', Buffer.from('a\\065\\.b')),
    'example.net.\t3600\tIN\tCAA\t0 issue "aA\\.b"',
  );
});

test('NSEC3, NSEC3PARAM (RFC 5155 appendix A), TLSA and HINFO lines', () => {
  // RFC 5155 A: 2t7b4g4vsa5smi47k61mv5bv1a22bojr as bytes (base32hex-decoded by Python).
  const next = Buffer.from('174eb2409fe28bcb4887a1836f957f0a8425e27b', 'hex');
  // Window 0: NS (2), SOA (6), MX (15), RRSIG (46), DNSKEY (48), NSEC3PARAM (51).
  const bitmap = Buffer.alloc(7);
  bitmap[0] = 0x22; // 2, 6
  bitmap[1] = 0x01; // 15
  bitmap[5] = 0x02; // 46
  bitmap[6] = 0x90; // 48, 51
  const salt = Buffer.from('aabbccdd', 'hex');
  const nsec3 = Buffer.concat([u8(1), u8(1), u16(12), u8(4), salt, u8(20), next]);
  assert.equal(
    line({
      owner: '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.',
      type: 50,
      rdata: Buffer.concat([nsec3, u8(0), u8(7), bitmap]),
    }),
    '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.\t3600\tIN\tNSEC3\t' +
      '1 1 12 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR NS SOA MX RRSIG DNSKEY NSEC3PARAM',
  );
  assert.equal(
    line({
      owner: 'example.',
      type: 51,
      rdata: Buffer.concat([u8(1), u8(0), u16(12), u8(4), salt]),
    }),
    'example.\t3600\tIN\tNSEC3PARAM\t1 0 12 AABBCCDD',
  );
  // No salt prints as `-`; a hash of 5 bytes needs base32 padding.
  assert.equal(
    line({
      owner: 'example.',
      type: 50,
      rdata: Buffer.concat([u8(1), u8(0), u16(0), u8(0), u8(5), Buffer.from('0102030405', 'hex')]),
    }),
    'example.\t3600\tIN\tNSEC3\t1 0 0 - 04106105',
  );
  const digest = 'd2abde240d7cd3ee6b4b28c54df034b97983a1d16e8a410e4561cb106618e971';
  assert.equal(
    line({
      owner: '_443._tcp.www.example.com.',
      type: 52,
      rdata: Buffer.concat([u8(3), u8(1), u8(1), Buffer.from(digest, 'hex')]),
    }),
    `_443._tcp.www.example.com.\t3600\tIN\tTLSA\t3 1 1 ${digest}`,
  );
  assert.equal(
    line({ owner: 'example.com.', type: 13, rdata: Buffer.concat([cs('RFC8482'), cs('')]) }),
    'example.com.\t3600\tIN\tHINFO\t"RFC8482" ""',
  );
});

// ---------------------------------------------------------------------------------------------
// Hand-derived from miekg's String methods

test('DNSKEY, RRSIG, SOA, SRV, MX, PTR, TXT escapes, AAAA forms', () => {
  const key = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
  assert.equal(
    line({ owner: 'example.com.', type: 48, rdata: Buffer.concat([u16(257), u8(3), u8(13), key]) }),
    `example.com.\t3600\tIN\tDNSKEY\t257 3 13 ${key.toString('base64')}`,
  );
  const sig = Buffer.from('deadbeef', 'hex');
  assert.equal(
    line({
      owner: 'example.com.',
      type: 46,
      rdata: Buffer.concat([
        u16(1),
        u8(13),
        u8(2),
        u32(3600),
        u32(1704067200), // 2024-01-01T00:00:00Z
        u32(1701388800), // 2023-12-01T00:00:00Z
        u16(12345),
        dotted('example.com.'),
        sig,
      ]),
    }),
    'example.com.\t3600\tIN\tRRSIG\tA 13 2 3600 20240101000000 20231201000000 12345 example.com. 3q2+7w==',
  );
  assert.equal(
    line({
      owner: '_sip._tcp.example.com.',
      type: 33,
      rdata: Buffer.concat([u16(10), u16(60), u16(5060), dotted('sip.example.com.')]),
    }),
    '_sip._tcp.example.com.\t3600\tIN\tSRV\t10 60 5060 sip.example.com.',
  );
  assert.equal(
    line({ owner: '1.2.0.192.in-addr.arpa.', type: 12, rdata: dotted('host.example.') }),
    '1.2.0.192.in-addr.arpa.\t3600\tIN\tPTR\thost.example.',
  );
  // TXT: `"` and `\` get a backslash, unprintable bytes \DDD, an empty string stays "".
  assert.equal(
    line({
      owner: 't.example.',
      type: 16,
      rdata: Buffer.concat([cs('a"b\\c'), cs(Buffer.from([0, 0x7f, 0xff])), cs('')]),
    }),
    't.example.\t3600\tIN\tTXT\t"a\\"b\\\\c" "\\000\\127\\255" ""',
  );
  assert.equal(
    line({ owner: 'm.example.', type: 28, rdata: v6('00000000000000000000ffffc0000201') }),
    'm.example.\t3600\tIN\tAAAA\t::ffff:192.0.2.1',
  );
});

test('IPv6 text follows Go: first longest zero run of two or more groups', () => {
  const t = (hex: string): string => ipv6Text(Buffer.from(hex, 'hex'), 0);
  assert.equal(t('00000000000000000000000000000000'), '::');
  assert.equal(t('00000000000000000000000000000001'), '::1');
  assert.equal(t('00010000000000000000000000000000'), '1::');
  assert.equal(t('20010db8000000010001000100010001'), '2001:db8:0:1:1:1:1:1');
  assert.equal(t('20010000000000010000000000000001'), '2001:0:0:1::1');
  assert.equal(t('20010db8000000000001000000000001'), '2001:db8::1:0:0:1');
  assert.equal(t('fe800000000000000202b3fffe1e8329'), 'fe80::202:b3ff:fe1e:8329');
});

test('names: special and unprintable label bytes are escaped', () => {
  const owner = Buffer.concat([
    wireName('a.b', 'c d', "e'@;()", 'f"\\', String.fromCharCode(0, 0xff)),
    u16(1),
    u16(1),
    u32(5),
    u16(4),
    v4('192.0.2.9'),
  ]);
  const wire = Buffer.concat([u16(1), u16(0x8180), u16(0), u16(1), u16(0), u16(0), owner]);
  const result = parseDnsMessage(wire);
  assert.ok(result.ok);
  assert.equal(
    rrText(result.message.answer[0]!),
    'a\\.b.c\\ d.e\\\'\\@\\;\\(\\).f\\"\\\\.\\000\\255.\t5\tIN\tA\t192.0.2.9',
  );
});

test('OPT pseudo-section with every option kind, DO, MBZ and an extended RCODE', () => {
  const options = Buffer.concat([
    svcParam(3, Buffer.from('ab')), // NSID
    svcParam(8, Buffer.concat([u16(1), u8(24), u8(0), v4('192.0.2.0').subarray(0, 3)])),
    svcParam(8, Buffer.concat([u16(2), u8(56), u8(0), v6('20010db8000100')])),
    svcParam(10, Buffer.from('0102030405060708', 'hex')),
    svcParam(9, Buffer.alloc(0)),
    svcParam(11, u16(300)),
    svcParam(12, Buffer.alloc(3)),
    svcParam(15, Buffer.concat([u16(18), Buffer.from('blocked by policy')])),
    svcParam(65001, Buffer.from('cafe', 'hex')),
    svcParam(5, Buffer.from([8, 13, 99])),
    svcParam(
      1,
      Buffer.concat([u16(1), u16(2), u16(0), Buffer.from('0000000000000007', 'hex'), u32(60)]),
    ),
  ]);
  const msg = build({
    id: 4242,
    flags: 0x8180,
    question: [{ name: 'example.com.', type: 1 }],
    additional: [{ owner: '.', type: 41, cls: 1232, ttl: (1 << 24) | 0x8001, rdata: options }],
  });
  assert.equal(
    dnsMessageText(msg),
    lines(
      ';; opcode: QUERY, status: BADSIG, id: 4242',
      ';; flags: qr rd ra; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 1',
      '',
      ';; OPT PSEUDOSECTION:',
      '; EDNS: version 0; flags: do; MBZ: 0x0001, udp: 1232',
      '; NSID: 6162  (a)(b)',
      '; SUBNET: 192.0.2.0/24/0',
      '; SUBNET: [2001:db8:1::]/56/0',
      '; COOKIE: 0102030405060708',
      '; EXPIRE: ',
      '; KEEPALIVE: use tcp keep-alive, timeout 30000ms',
      '; PADDING: 000000',
      '; EDE: 18 (Prohibited): (blocked by policy)',
      '; LOCAL OPT: 65001:0xcafe',
      '; DNSSEC ALGORITHM UNDERSTOOD:  RSASHA256 ECDSAP256SHA256 99',
      '; LONG LIVED QUERIES: 1 2 0 7 60',
      '',
      ';; QUESTION SECTION:',
      ';example.com.\tIN\t A',
    ),
  );
});

test('UPDATE section names, empty RDATA, RFC 3597 types, class names', () => {
  const msg = build({
    id: 77,
    flags: 0x2800, // opcode UPDATE
    question: [{ name: 'example.com.', type: 6 }],
    answer: [{ owner: 'a.example.com.', type: 255, cls: 255, ttl: 0, rdata: Buffer.alloc(0) }],
    authority: [
      { owner: 'b.example.com.', type: 1, cls: 254, ttl: 0, rdata: Buffer.alloc(0) },
      { owner: 'c.example.com.', type: 15, cls: 255, ttl: 0, rdata: Buffer.alloc(0) },
      { owner: 'd.example.com.', type: 65280, ttl: 60, rdata: Buffer.from('0a0b', 'hex') },
      { owner: 'e.example.com.', type: 65280, ttl: 60, rdata: Buffer.alloc(0) },
    ],
  });
  assert.equal(
    dnsMessageText(msg),
    lines(
      ';; opcode: UPDATE, status: NOERROR, id: 77',
      ';; flags:; ZONE: 1, PREREQ: 1, UPDATE: 4, ADDITIONAL: 0',
      '',
      ';; ZONE SECTION:',
      ';example.com.\tIN\t SOA',
      '',
      ';; PREREQUISITE SECTION:',
      'a.example.com.\t0\tCLASS255\tANY\t',
      '',
      ';; UPDATE SECTION:',
      'b.example.com.\t0\tNONE\tA\t',
      'c.example.com.\t0\tCLASS255\tMX\t0 ',
      'd.example.com.\t60\tCLASS1\tTYPE65280\t\\# 2 0a0b',
      'e.example.com.\t60\tCLASS1\tTYPE65280\t\\# 0 ',
    ),
  );
  assert.equal(rdataText(msg.authority[2]!), '\\# 2 0a0b');
});

test('question lines: class ANY prints CLASS255, unknown type TYPE<n>, mDNS QU bit as a class number', () => {
  const msg = build({
    flags: 0x0100,
    question: [
      { name: 'x.example.', type: 255, cls: 255 },
      { name: 'y.example.', type: 4242, cls: 3 },
      { name: '_http._tcp.local.', type: 12, cls: 0x8001 },
    ],
  });
  assert.equal(
    dnsMessageText(msg),
    lines(
      ';; opcode: QUERY, status: NOERROR, id: 1',
      ';; flags: rd; QUERY: 3, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 0',
      '',
      ';; QUESTION SECTION:',
      ';x.example.\tCLASS255\t ANY',
      ';y.example.\tCH\t TYPE4242',
      ';_http._tcp.local.\tCLASS32769\t PTR',
    ),
  );
});

/**
 * parseDnsMessage on every DNS message of the corpus, field by field against tshark 4.0.17
 * (expected/*.dns.jsonl), then on hostile hand-built messages (compression loops, forward pointers,
 * long names, lying counts, cut RDATA) and a seeded mutation fuzz: a counted error code, bounded
 * output, never a throw.
 *
 * Where tshark's values differ in form: names lose the trailing dot, SOA shows only
 * `mname rname serial`, OPT records are left out of `additional`, and SSHFP values come out null
 * (tshark 4.0's field export is blind to them; sniff-dns-text checks them against the bytes).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DnsErrorCode } from '../../src/sniff/dns/dns-errors.ts';
import {
  parseDnsMessage,
  type DnsMessage,
  type DnsResourceRecord,
} from '../../src/sniff/dns/dns-message.ts';
import { MAX_POINTER_HOPS } from '../../src/sniff/dns/dns-name.ts';
import { dnsMessageText } from '../../src/sniff/dns/dns-text.ts';
import { rng } from '../helpers/random.ts';
import {
  corpusCapture,
  corpusExpected,
  followAllTcpStreams,
  udpDatagrams,
} from '../helpers/tshark-follow.ts';

const OPT = 41;

// ---------------------------------------------------------------------------------------------
// Corpus against tshark

interface TsharkRr {
  name: string;
  type: number;
  ttl: number;
  value: unknown;
}

function stripDot(name: string): string {
  return name === '.' ? '<Root>' : name.replace(/\.$/, '');
}

/** Our RR in the form tshark's expected lines use. */
function tsharkView(rr: DnsResourceRecord): TsharkRr {
  const d = rr.data;
  let value: unknown;
  switch (d.kind) {
    case 'a':
    case 'aaaa':
      value = d.address;
      break;
    case 'name':
      value = stripDot(d.target);
      break;
    case 'mx':
      value = `${d.preference} ${stripDot(d.exchange)}`;
      break;
    case 'soa':
      value = `${stripDot(d.mname)} ${stripDot(d.rname)} ${d.serial}`;
      break;
    case 'txt':
      // The corpus strings hold no `"` or `\`, so the escaped form equals the raw one.
      value = d.strings;
      break;
    case 'sshfp':
      value = null; // tshark blind, see above
      break;
    default:
      assert.fail(`no tshark form for ${d.kind}`);
  }
  return { name: stripDot(rr.name), type: rr.type, ttl: rr.ttl, value };
}

function expectedRrs(list: unknown): TsharkRr[] {
  return (list as Record<string, unknown>[]).map((r) => ({
    name: r.name as string,
    type: r.type as number,
    ttl: r.ttl as number,
    value: r.value,
  }));
}

function assertMatchesTshark(msg: DnsMessage, exp: Record<string, unknown>, where: string): void {
  const h = msg.header;
  assert.equal(h.id, exp.id, `${where} id`);
  assert.equal(h.qr ? 1 : 0, exp.qr, `${where} qr`);
  assert.equal(h.opcode, exp.opcode, `${where} opcode`);
  assert.equal(h.rcode, exp.rcode, `${where} rcode`);
  assert.equal(h.tc, exp.tc, `${where} tc`);
  assert.equal(h.aa, exp.aa, `${where} aa`);
  assert.deepEqual(
    { qd: h.qdcount, an: h.ancount, ns: h.nscount, ar: h.arcount },
    exp.counts,
    `${where} counts`,
  );
  assert.deepEqual(
    msg.question.map((q) => ({ name: stripDot(q.name), type: q.type })),
    (exp.queries as Record<string, unknown>[]).map((q) => ({ name: q.name, type: q.type })),
    `${where} queries`,
  );
  assert.deepEqual(msg.answer.map(tsharkView), expectedRrs(exp.answers), `${where} answers`);
  assert.deepEqual(msg.authority.map(tsharkView), expectedRrs(exp.authority), `${where} authority`);
  assert.deepEqual(
    msg.additional.filter((rr) => rr.type !== OPT).map(tsharkView),
    expectedRrs(exp.additional),
    `${where} additional`,
  );
}

const UDP_CAPTURES = [
  'sv-dns-a-aaaa-mx.pcap',
  'zk-dns-txt.pcap',
  'sv-dns-cname-rawip.pcap',
  'sv-dns-nxdomain.pcap',
  'sv-dns-sshfp-tc.pcap',
  'ps-dns-many-types.cap',
  'zk-dns-ipv6-frag.pcap',
];

for (const capture of UDP_CAPTURES) {
  test(`${capture}: every message as tshark parsed it`, () => {
    const byFrame = new Map(udpDatagrams(corpusCapture(capture)).map((d) => [d.frame, d.payload]));
    const expected = corpusExpected(capture, 'dns');
    assert.ok(expected.length > 0);
    for (const exp of expected) {
      const payload = byFrame.get(exp.frame as number);
      assert.ok(payload, `frame ${String(exp.frame)} present`);
      const result = parseDnsMessage(payload);
      assert.ok(result.ok, `frame ${String(exp.frame)} parses`);
      assert.equal(result.message.size, payload.length);
      assertMatchesTshark(result.message, exp, `frame ${String(exp.frame)}`);
    }
  });
}

/** Splits one side's TCP bytes at the 2-byte length prefixes (test-only, whole stream at once). */
function tcpMessages(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off + 2 <= bytes.length;) {
    const len = bytes.readUInt16BE(off);
    out.push(bytes.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  return out;
}

test('sv-dns-tcp-multireq.pcap: every pipelined message as tshark parsed it', () => {
  const [stream] = followAllTcpStreams(corpusCapture('sv-dns-tcp-multireq.pcap'));
  assert.ok(stream);
  const side = (s: 0 | 1): Buffer =>
    Buffer.concat(stream.chunks.filter((c) => c.side === s).map((c) => c.data));
  // tshark lists the 20 queries (all in frame 4) before the responses, as we read them.
  const messages = [...tcpMessages(side(0)), ...tcpMessages(side(1))];
  const expected = corpusExpected('sv-dns-tcp-multireq.pcap', 'dns');
  assert.equal(messages.length, expected.length);
  expected.forEach((exp, i) => {
    const result = parseDnsMessage(messages[i]!);
    assert.ok(result.ok, `message ${i}`);
    assertMatchesTshark(result.message, exp, `message ${i}`);
  });
});

test('td-dns-badlabel-tc.pcap: header kept, the 255-octet name limit stops the question', () => {
  const [d] = udpDatagrams(corpusCapture('td-dns-badlabel-tc.pcap'));
  const [exp] = corpusExpected('td-dns-badlabel-tc.pcap', 'dns');
  assert.ok(d && exp);
  const result = parseDnsMessage(d.payload);
  assert.ok(!result.ok && result.message);
  // tshark gives up on the same name ("<Name too long>") and marks the packet malformed.
  assert.equal(result.error, 'name_too_long');
  const h = result.message.header;
  assert.deepEqual(
    [h.id, h.qr, h.opcode, h.rcode, h.tc, h.aa],
    [exp.id, true, exp.opcode, exp.rcode, exp.tc, exp.aa],
  );
  assert.deepEqual({ qd: h.qdcount, an: h.ancount, ns: h.nscount, ar: h.arcount }, exp.counts);
  assert.equal(result.message.question.length, 0);
});

// ---------------------------------------------------------------------------------------------
// Hand-built messages

/** A 12-byte header. */
function header(id: number, flags: number, qd: number, an: number, ns: number, ar: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(flags, 2);
  b.writeUInt16BE(qd, 4);
  b.writeUInt16BE(an, 6);
  b.writeUInt16BE(ns, 8);
  b.writeUInt16BE(ar, 10);
  return b;
}

/** Uncompressed name from dot-separated labels (`''` is the root). */
function name(text: string): Buffer {
  const parts = text === '' ? [] : text.split('.');
  return Buffer.concat([
    ...parts.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])),
    Buffer.from([0]),
  ]);
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}

/** Fixed part of an RR after its owner name. */
function rrFixed(type: number, ttl: number, rdlength: number): Buffer {
  return Buffer.concat([u16(type), u16(1), u32(ttl), u16(rdlength)]);
}

function rr(owner: Buffer, type: number, rdata: Buffer): Buffer {
  return Buffer.concat([owner, rrFixed(type, 300, rdata.length), rdata]);
}

function question(qname: string, type = 1): Buffer {
  return Buffer.concat([name(qname), u16(type), u16(1)]);
}

function expectError(data: Buffer, code: DnsErrorCode): DnsMessage | null {
  const result = parseDnsMessage(data);
  assert.equal(result.ok, false, `expected ${code}`);
  assert.ok(!result.ok);
  assert.equal(result.error, code);
  assert.ok(result.errorOffset >= 0 && result.errorOffset <= data.length);
  if (result.message) dnsMessageText(result.message); // the dump of a partial message works
  return result.message;
}

test('compression pointer to itself, two-label loop and forward pointer are bad_pointer', () => {
  // ;; question name at 12 = pointer to 12
  expectError(
    Buffer.concat([header(1, 0, 1, 0, 0, 0), Buffer.from('c00c00010001', 'hex')]),
    'bad_pointer',
  );
  // label "a" at 12, then a pointer back to 12: a loop through the name's own start
  expectError(
    Buffer.concat([header(1, 0, 1, 0, 0, 0), Buffer.from('0161c00c00010001', 'hex')]),
    'bad_pointer',
  );
  // pointer to 0x20, past itself
  const forward = Buffer.concat([header(1, 0, 1, 0, 0, 0), Buffer.from('c0200001000100', 'hex')]);
  expectError(Buffer.concat([forward, Buffer.alloc(32)]), 'bad_pointer');
  // an answer whose owner points into itself: RR at 29, pointer at 29 -> 29
  const q = question('a.example');
  const msg = Buffer.concat([header(1, 0x8000, 1, 1, 0, 0), q]);
  const owner = u16(0xc000 | msg.length);
  expectError(
    Buffer.concat([msg, owner, rrFixed(1, 1, 4), Buffer.from([1, 2, 3, 4])]),
    'bad_pointer',
  );
});

/** A message whose answer owner name follows `hops` backward pointers down a chain. */
function pointerChain(hops: number): Buffer {
  const head = header(7, 0x8000, 0, 2, 0, 0);
  // Answer 1: root owner, unknown type 65280, RDATA = root label then hops-1 pointers, each to the
  // one before (the first to the root label).
  const rdStart = head.length + 1 + 10;
  const rdata: Buffer[] = [Buffer.from([0])];
  for (let i = 0; i < hops - 1; i++) {
    const target = i === 0 ? rdStart : rdStart + 1 + 2 * (i - 1);
    rdata.push(u16(0xc000 | target));
  }
  const rd = Buffer.concat(rdata);
  const first = Buffer.concat([Buffer.from([0]), rrFixed(65280, 1, rd.length), rd]);
  const lastPointer = hops === 1 ? rdStart : rdStart + 1 + 2 * (hops - 2);
  const second = Buffer.concat([
    u16(0xc000 | lastPointer),
    rrFixed(1, 1, 4),
    Buffer.from([9, 9, 9, 9]),
  ]);
  return Buffer.concat([head, first, second]);
}

test(`at most ${MAX_POINTER_HOPS} pointers per name`, () => {
  const ok = parseDnsMessage(pointerChain(MAX_POINTER_HOPS));
  assert.ok(ok.ok);
  assert.equal(ok.message.answer[1]!.name, '.');
  expectError(pointerChain(MAX_POINTER_HOPS + 1), 'too_many_pointers');
});

test('names: 255 wire octets pass, 256 are name_too_long; label types 01/10 are refused', () => {
  const label = (c: string, n: number): string => c.repeat(n);
  // 3 × (1+63) + (1+61) + root = 255
  const longest = [label('a', 63), label('b', 63), label('c', 63), label('d', 61)].join('.');
  const okMsg = parseDnsMessage(Buffer.concat([header(1, 0, 1, 0, 0, 0), question(longest)]));
  assert.ok(okMsg.ok);
  assert.equal(okMsg.message.question[0]!.name, `${longest}.`);
  const tooLong = [label('a', 63), label('b', 63), label('c', 63), label('d', 62)].join('.');
  expectError(Buffer.concat([header(1, 0, 1, 0, 0, 0), question(tooLong)]), 'name_too_long');
  // 255 one-byte labels would need 128+ labels: stopped by the same octet limit
  const manyLabels = Array.from({ length: 130 }, () => 'x').join('.');
  expectError(Buffer.concat([header(1, 0, 1, 0, 0, 0), question(manyLabels)]), 'name_too_long');
  expectError(
    Buffer.concat([header(1, 0, 1, 0, 0, 0), Buffer.from('4161000001', 'hex')]),
    'bad_label_type',
  );
  expectError(
    Buffer.concat([header(1, 0, 1, 0, 0, 0), Buffer.from('8161000001', 'hex')]),
    'bad_label_type',
  );
});

test('ancount 65535 with 12 bytes: no entries, truncated_section, nothing sized from the count', () => {
  const msg = expectError(header(9, 0x8180, 0, 65535, 65535, 65535), 'truncated_section');
  assert.ok(msg);
  assert.equal(msg.answer.length + msg.authority.length + msg.additional.length, 0);
  assert.equal(msg.header.ancount, 65535);
  // Counts far above what follows: the entries present are kept.
  const one = Buffer.concat([
    header(9, 0x8180, 1, 65535, 0, 0),
    question('x.test'),
    rr(u16(0xc00c), 1, Buffer.from([10, 0, 0, 1])),
  ]);
  const partial = expectError(one, 'truncated_section');
  assert.equal(partial?.answer.length, 1);
  assert.equal(partial.answer[0]!.data.kind, 'a');
});

test('cut and inconsistent RDATA', () => {
  const base = Buffer.concat([header(3, 0x8180, 1, 1, 0, 0), question('x.test')]);
  // RDLENGTH 10, 4 bytes present
  expectError(
    Buffer.concat([base, u16(0xc00c), rrFixed(1, 1, 10), Buffer.from([1, 2, 3, 4])]),
    'truncated_rr',
  );
  // RR cut inside its fixed part
  expectError(Buffer.concat([base, u16(0xc00c), Buffer.from([0, 1, 0])]), 'truncated_rr');
  // A with 2 bytes of RDATA: the address is cut
  expectError(Buffer.concat([base, rr(u16(0xc00c), 1, Buffer.from([1, 2]))]), 'bad_rdata');
  // A with 5 bytes: a byte left over
  expectError(
    Buffer.concat([base, rr(u16(0xc00c), 1, Buffer.from([1, 2, 3, 4, 5]))]),
    'bad_rdlength',
  );
  // TXT string longer than the RDATA
  expectError(Buffer.concat([base, rr(u16(0xc00c), 16, Buffer.from([9, 0x61]))]), 'bad_rdata');
  // MX whose exchange name runs past the RDATA (names cannot leave their RDATA)
  expectError(
    Buffer.concat([
      base,
      rr(u16(0xc00c), 15, Buffer.concat([u16(10), Buffer.from([3, 0x61])])),
      Buffer.from('bc00', 'hex'),
    ]),
    'bad_rdata',
  );
  // question cut after the name
  expectError(Buffer.concat([header(3, 0, 1, 0, 0, 0), name('x.test')]), 'truncated_question');
  expectError(Buffer.alloc(11), 'truncated_header');
});

test('RDATA that ends between fields keeps zero values (miekg rule), as for UPDATE deletes', () => {
  const base = Buffer.concat([header(3, 0x2800, 1, 0, 1, 0), question('example.com', 6)]);
  const result = parseDnsMessage(Buffer.concat([base, rr(u16(0xc00c), 15, Buffer.alloc(0))]));
  assert.ok(result.ok);
  assert.deepEqual(result.message.authority[0]!.data, { kind: 'mx', preference: 0, exchange: '' });
  const soa = parseDnsMessage(
    Buffer.concat([
      base,
      rr(u16(0xc00c), 6, Buffer.concat([name('ns.example'), name('h.example'), u32(7)])),
    ]),
  );
  assert.ok(soa.ok);
  assert.deepEqual(soa.message.authority[0]!.data, {
    kind: 'soa',
    mname: 'ns.example.',
    rname: 'h.example.',
    serial: 7,
    refresh: 0,
    retry: 0,
    expire: 0,
    minimum: 0,
  });
});

test('SVCB params out of order, reserved key, bad port length; EDNS option overrun', () => {
  const base = Buffer.concat([header(4, 0x8180, 1, 1, 0, 0), question('svc.test', 65)]);
  const svcb = (params: Buffer): Buffer =>
    Buffer.concat([base, rr(u16(0xc00c), 65, Buffer.concat([u16(1), name(''), params]))]);
  const param = (key: number, value: Buffer): Buffer =>
    Buffer.concat([u16(key), u16(value.length), value]);
  expectError(
    svcb(Buffer.concat([param(3, u16(443)), param(1, Buffer.from('\x02h2'))])),
    'bad_svc_param',
  );
  expectError(svcb(param(65535, Buffer.alloc(0))), 'bad_svc_param');
  expectError(svcb(param(3, Buffer.from([1]))), 'bad_svc_param');
  expectError(
    svcb(param(6, Buffer.from('00000000000000000000ffff01020304', 'hex'))),
    'bad_svc_param',
  );
  expectError(svcb(Buffer.from([0, 1, 0])), 'bad_svc_param');
  const opt = (rdata: Buffer): Buffer =>
    Buffer.concat([
      header(5, 0, 1, 0, 0, 1),
      question('o.test'),
      name(''),
      u16(41),
      u16(1232),
      u32(0),
      u16(rdata.length),
      rdata,
    ]);
  expectError(opt(Buffer.concat([u16(10), u16(20), Buffer.alloc(8)])), 'bad_edns_option');
  expectError(
    opt(Buffer.concat([u16(8), u16(8), u16(1), Buffer.from([33, 0]), Buffer.alloc(4)])),
    'bad_edns_option',
  );
  expectError(opt(Buffer.concat([u16(11), u16(1), Buffer.alloc(1)])), 'bad_edns_option');
});

test('EDNS: extended RCODE, version, DO, options from the last OPT', () => {
  // ext rcode 1 (→ 16 | 0), version 0, DO set
  const ttl = (1 << 24) | 0x8000;
  const msg = Buffer.concat([
    header(6, 0x8180, 1, 0, 0, 1),
    question('e.test'),
    name(''),
    u16(41),
    u16(4096),
    u32(ttl),
    u16(8),
    u16(65001),
    u16(4),
    Buffer.from('cafe0001', 'hex'),
  ]);
  const result = parseDnsMessage(msg);
  assert.ok(result.ok);
  assert.equal(result.message.rcode, 16);
  assert.deepEqual(result.message.edns, {
    udpSize: 4096,
    extendedRcode: 1,
    version: 0,
    dnssecOk: true,
    z: 0,
    options: [{ kind: 'local', code: 65001, hex: 'cafe0001' }],
  });
});

test('fuzz: mutated corpus messages and random bytes never throw', () => {
  const seeds = [
    ...udpDatagrams(corpusCapture('zk-dns-txt.pcap')),
    ...udpDatagrams(corpusCapture('sv-dns-a-aaaa-mx.pcap')),
    ...udpDatagrams(corpusCapture('sv-dns-sshfp-tc.pcap')),
  ].map((d) => d.payload);
  const rand = rng(1035);
  for (let i = 0; i < 20000; i++) {
    const seed = seeds[i % seeds.length]!;
    let data: Buffer;
    if (i % 10 === 0) {
      data = Buffer.alloc(Math.floor(rand() * 300));
      for (let j = 0; j < data.length; j++) data[j] = Math.floor(rand() * 256);
    } else {
      data = Buffer.from(seed.subarray(0, Math.max(0, seed.length - Math.floor(rand() * 8))));
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips && data.length > 0; f++) {
        data[Math.floor(rand() * data.length)] = Math.floor(rand() * 256);
      }
    }
    const result = parseDnsMessage(data);
    if (result.message) {
      const text = dnsMessageText(result.message);
      // Output is bounded by the input: no entry without bytes behind it.
      const m = result.message;
      assert.ok(
        m.question.length + m.answer.length + m.authority.length + m.additional.length <=
          data.length,
      );
      assert.ok(text.length < 64 * 1024);
    }
  }
});

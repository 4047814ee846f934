/**
 * DnsDatagramSniffer on the corpus's UDP captures, one sniffer per flow as the dispatcher would
 * run it: every message tshark parsed (expected/*.dns.jsonl) must show up in a record (the query in
 * `question`, the response in `answer`) with tshark's id, name, type and rcode, and the structured
 * answers must equal tshark's. Then pairing rules on hand-built flows: the pending cap, id +
 * question matching, responses without a query, short datagrams, reversed flows, mDNS.
 *
 * The clock is set to the frame number before each datagram, so `start`/`end` name the frames of
 * the query and the response.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DnsAnswerRecord, RecordUnit } from '../../src/record/record-types.ts';
import { DnsDatagramSniffer } from '../../src/sniff/dns/dns-sniffer.ts';
import {
  MAX_PENDING_DUMP_CHARS,
  MAX_PENDING_QUERIES,
} from '../../src/sniff/dns/dns-exchange-table.ts';
import type { ConnectionEndpoints } from '../../src/sniff/sniffer.ts';
import { recordingContext, type RecordingContext } from '../helpers/sniff-harness.ts';
import {
  corpusCapture,
  corpusExpected,
  udpDatagrams,
  type UdpDatagram,
} from '../helpers/tshark-follow.ts';

interface Flow {
  client: string;
  endpoints: ConnectionEndpoints;
  datagrams: { side: 0 | 1; frame: number; data: Buffer }[];
}

function splitAddress(a: string): [string, number] {
  const i = a.lastIndexOf(':');
  return [a.slice(0, i).replace(/^\[|\]$/g, ''), Number(a.slice(i + 1))];
}

/** Datagrams grouped by flow; the first sender of a flow is its client (side 0). */
function flows(datagrams: UdpDatagram[]): Flow[] {
  const byKey = new Map<string, Flow>();
  for (const d of datagrams) {
    const key = [d.src, d.dst].sort().join(' ');
    let flow = byKey.get(key);
    if (!flow) {
      const [clientIp, clientPort] = splitAddress(d.src);
      const [serverIp, serverPort] = splitAddress(d.dst);
      flow = {
        client: d.src,
        endpoints: { network: 'udp', clientIp, clientPort, serverIp, serverPort },
        datagrams: [],
      };
      byKey.set(key, flow);
    }
    const side = d.src === flow.client ? 0 : 1;
    flow.datagrams.push({ side, frame: d.frame, data: d.payload });
  }
  return [...byKey.values()];
}

/** Feeds one flow with the clock at each frame number; the input copy is scribbled after. */
function runFlow(flow: Flow): RecordingContext {
  const ctx = recordingContext({}, flow.endpoints);
  const sniffer = new DnsDatagramSniffer(ctx);
  for (const d of flow.datagrams) {
    ctx.setNow({ sec: d.frame, nsec: 0 });
    const copy = Buffer.from(d.data);
    sniffer.datagram(d.side, copy);
    copy.fill(0xee);
  }
  sniffer.end();
  return ctx;
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN'];

/** tshark's value in presentation form (names gain the trailing dot). */
function tsharkData(typeName: string, value: unknown): string {
  switch (typeName) {
    case 'A':
    case 'AAAA':
      return value as string;
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return `${value as string}.`;
    case 'MX':
      return `${value as string}.`;
    case 'TXT':
      return (value as string[]).map((s) => `"${s}"`).join(' ');
    default:
      return assert.fail(`no presentation for ${typeName}`);
  }
}

interface Seen {
  capture: string;
  units: RecordUnit[];
  errors: { proto: string; code: string }[];
  payloads: Map<number, Buffer>;
}

function runCapture(capture: string): Seen {
  const datagrams = udpDatagrams(corpusCapture(capture));
  const seen: Seen = {
    capture,
    units: [],
    errors: [],
    payloads: new Map(datagrams.map((d) => [d.frame, d.payload])),
  };
  for (const flow of flows(datagrams)) {
    const ctx = runFlow(flow);
    seen.units.push(...ctx.units);
    seen.errors.push(...ctx.errors);
  }
  return seen;
}

/** Each expected message appears in the record of its exchange, with tshark's values. */
function assertEveryTsharkMessage(seen: Seen): void {
  for (const exp of corpusExpected(seen.capture, 'dns')) {
    const frame = exp.frame as number;
    const [q] = exp.queries as { name: string; type_name: string }[];
    assert.ok(q);
    const unit = seen.units.find((u) =>
      exp.qr === 0 ? u.start.sec === frame : u.end.sec === frame && u.dns?.answer !== '',
    );
    assert.ok(unit?.dns, `frame ${frame}: a record`);
    const dns = unit.dns;
    assert.equal(dns.id, exp.id, `frame ${frame} id`);
    assert.equal(dns.name, `${q.name}.`, `frame ${frame} name`);
    assert.equal(dns.type, q.type_name);
    assert.equal(dns.class, 'IN');
    const dump = exp.qr === 0 ? dns.question : dns.answer;
    const rcode = RCODES[exp.rcode as number]!;
    assert.ok(dump.startsWith(`;; opcode: QUERY, status: ${rcode}, id: ${String(exp.id)}\n`), dump);
    assert.ok(dump.includes(`\n;; QUESTION SECTION:\n;${q.name}.\tIN\t ${q.type_name}\n`));
    const payload = seen.payloads.get(frame)!;
    if (exp.qr === 0) {
      assert.equal(unit.inputBytes, payload.length);
    } else {
      assert.equal(unit.outputBytes, payload.length);
      assert.equal(dns.rcode, rcode);
      const answers = exp.answers as {
        name: string;
        type_name: string;
        ttl: number;
        value: unknown;
      }[];
      if (answers.every((a) => a.value !== null)) {
        const want: DnsAnswerRecord[] = answers.map((a) => ({
          name: `${a.name}.`,
          type: a.type_name,
          class: 'IN',
          ttl: a.ttl,
          data: tsharkData(a.type_name, a.value),
        }));
        assert.deepStrictEqual(dns.answers, want, `frame ${frame} answers`);
      }
    }
    assert.equal(unit.proto, 'dns');
    assert.equal(unit.scope, 'unit');
    assert.equal(unit.err, '');
  }
}

for (const capture of [
  'sv-dns-a-aaaa-mx.pcap',
  'zk-dns-txt.pcap',
  'sv-dns-cname-rawip.pcap',
  'sv-dns-nxdomain.pcap',
  'ps-dns-many-types.cap',
]) {
  test(`${capture}: one answered record per query, values as tshark's`, () => {
    const seen = runCapture(capture);
    const expected = corpusExpected(capture, 'dns');
    assert.equal(seen.units.length, expected.filter((e) => e.qr === 0).length);
    assert.deepEqual(seen.errors, []);
    for (const u of seen.units) assert.notEqual(u.dns?.answer, '', `id ${u.dns?.id} answered`);
    assertEveryTsharkMessage(seen);
  });
}

test('ps-dns-many-types: host is the server of each flow; times are the query and response frames', () => {
  const seen = runCapture('ps-dns-many-types.cap');
  const hosts = new Set(seen.units.map((u) => u.host));
  assert.deepEqual([...hosts].sort(), ['udp://192.168.170.20:53', 'udp://217.13.4.24:53']);
  const loc = seen.units.find((u) => u.dns?.type === 'LOC');
  assert.ok(loc?.dns);
  // frame 5 query, frame 6 empty NOERROR response (tshark: an 0)
  assert.deepEqual(
    [loc.start.sec, loc.end.sec, loc.dns.rcode, loc.dns.answers],
    [5, 6, 'NOERROR', []],
  );
  const srv = seen.units.find((u) => u.dns?.id === 12910);
  assert.deepEqual([srv?.start.sec, srv?.end.sec, srv?.dns?.rcode], [28, 30, 'NXDOMAIN']);
});

test('sv-dns-sshfp-tc: TC response recorded; SSHFP answers as tshark -V shows them', () => {
  const seen = runCapture('sv-dns-sshfp-tc.pcap');
  assertEveryTsharkMessage(seen);
  assert.equal(seen.units.length, 1);
  // tshark's jsonl has null SSHFP values; tshark -V shows RSA/SHA1 198c34a9… and ECDSA/SHA1 7a667d57….
  assert.deepStrictEqual(seen.units[0]!.dns!.answers, [
    {
      name: 'anoncvs.netbsd.org.',
      type: 'SSHFP',
      class: 'IN',
      ttl: 86400,
      data: '1 1 198C34A92FC0B2AB1DA52B688C2F191D2D960C09',
    },
    {
      name: 'anoncvs.netbsd.org.',
      type: 'SSHFP',
      class: 'IN',
      ttl: 86400,
      data: '3 1 7A667D57B6D5F559F136FA9537605081452930EF',
    },
  ]);
  assert.ok(seen.units[0]!.dns!.answer.includes(';; flags: qr tc rd ra;'));
});

test('zk-dns-ipv6-frag: reassembled 3238-byte response; a retransmitted query stays unanswered', () => {
  const seen = runCapture('zk-dns-ipv6-frag.pcap');
  assertEveryTsharkMessage(seen);
  assert.deepEqual(seen.errors, []);
  // Queries at frames 1, 3 and 5 (5 repeats 3, same id); responses at 2 and 8. The oldest
  // matching query takes the response, the repeat is emitted unanswered at the flow's end.
  assert.deepEqual(
    seen.units.map((u) => [u.start.sec, u.end.sec, u.dns?.id, u.dns?.rcode, u.outputBytes]),
    [
      [1, 2, 3903, 'NOERROR', 323],
      [3, 8, 40849, 'NOERROR', 3230],
      [5, 5, 40849, '', 0],
    ],
  );
  for (const u of seen.units) assert.equal(u.host, 'udp://[2607:f740:b::f93]:53');
  assert.equal(seen.units[2]!.dns!.answer, '');
  assert.deepEqual(seen.units[2]!.dns!.answers, []);
});

test('td-dns-badlabel-tc: a malformed response without its query is still recorded and counted', () => {
  const seen = runCapture('td-dns-badlabel-tc.pcap');
  assert.deepEqual(seen.errors, [
    { proto: 'dns', code: 'name_too_long' },
    { proto: 'dns', code: 'response_without_query' },
  ]);
  assert.equal(seen.units.length, 1);
  const u = seen.units[0]!;
  // QR=1, so the sender (the flow's first packet, from port 53) is the server.
  assert.equal(u.host, 'udp://156.118.17.235:53');
  assert.deepEqual(
    [u.dns?.id, u.dns?.name, u.dns?.question, u.dns?.rcode, u.inputBytes, u.err],
    [51584, '', '', '15', 0, 'dns response: name_too_long'],
  );
  assert.ok(u.dns?.answer.startsWith(';; opcode: , status: , id: 51584\n'));
});

// ---------------------------------------------------------------------------------------------
// Hand-built flows

function dnsMessage(
  id: number,
  flags: number,
  qname: string | null,
  answers: Buffer[] = [],
): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(flags, 2);
  head.writeUInt16BE(qname === null ? 0 : 1, 4);
  head.writeUInt16BE(answers.length, 6);
  const parts = [head];
  if (qname !== null) {
    for (const l of qname.split('.')) parts.push(Buffer.from([l.length]), Buffer.from(l));
    parts.push(Buffer.from([0, 0, 1, 0, 1]));
  }
  return Buffer.concat([...parts, ...answers]);
}

/** A record for `a.test` (via a pointer to the question name) with address 10.0.0.x. */
function aAnswer(x: number): Buffer {
  return Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, x]);
}

const QUERY = 0x0100;
const RESPONSE = 0x8180;
const EP = {
  network: 'udp',
  clientIp: '192.0.2.10',
  clientPort: 40000,
  serverIp: '192.0.2.53',
  serverPort: 53,
} as const;

test(`pending queries are capped at ${MAX_PENDING_QUERIES}: the oldest leave unanswered`, () => {
  const ctx = recordingContext({}, EP);
  const sniffer = new DnsDatagramSniffer(ctx);
  const total = MAX_PENDING_QUERIES + 44;
  for (let id = 0; id < total; id++) sniffer.datagram(0, dnsMessage(id, QUERY, `q${id}.test`));
  assert.deepEqual(
    ctx.units.map((u) => u.dns?.id),
    Array.from({ length: 44 }, (_, i) => i),
  );
  for (const u of ctx.units)
    assert.deepEqual([u.dns?.answer, u.dns?.rcode, u.end], ['', '', u.start]);
  // The newest is still pending and gets its response.
  sniffer.datagram(1, dnsMessage(total - 1, RESPONSE, `q${total - 1}.test`));
  assert.equal(ctx.units.at(-1)?.dns?.rcode, 'NOERROR');
  sniffer.end();
  assert.equal(ctx.units.length, total);
  assert.deepEqual(ctx.errors, []);
});

test('pending dumps are capped too: big queries push the oldest out early', () => {
  // Each query carries a ~60 KB TXT record in its additional section (as a hostile client may).
  const strings = Array.from({ length: 240 }, () =>
    Buffer.concat([Buffer.from([250]), Buffer.alloc(250, 0x78)]),
  );
  const txt = Buffer.concat(strings);
  const rrHead = Buffer.from([
    0xc0,
    12,
    0,
    16,
    0,
    1,
    0,
    0,
    0,
    1,
    txt.length >> 8,
    txt.length & 0xff,
  ]);
  const ctx = recordingContext({}, EP);
  const sniffer = new DnsDatagramSniffer(ctx);
  const n = 30;
  for (let id = 0; id < n; id++) {
    const msg = Buffer.concat([dnsMessage(id, QUERY, 'big.test'), rrHead, txt]);
    msg.writeUInt16BE(1, 10); // ARCOUNT
    sniffer.datagram(0, msg);
  }
  const dumpChars = ctx.units[0]?.dns?.question.length ?? 0;
  assert.ok(dumpChars > 60000);
  const kept = Math.floor(MAX_PENDING_DUMP_CHARS / dumpChars);
  assert.equal(ctx.units.length, n - kept);
  assert.deepEqual(
    ctx.units.map((u) => u.dns?.id),
    Array.from({ length: n - kept }, (_, i) => i),
  );
  sniffer.end();
  assert.equal(ctx.units.length, n);
  assert.deepEqual(ctx.errors, []);
});

test('responses pair by id and question; a response without a question pairs by id alone', () => {
  const ctx = recordingContext({}, EP);
  const sniffer = new DnsDatagramSniffer(ctx);
  ctx.setNow({ sec: 1, nsec: 0 });
  sniffer.datagram(0, dnsMessage(7, QUERY, 'a.test'));
  ctx.setNow({ sec: 2, nsec: 0 });
  sniffer.datagram(0, dnsMessage(7, QUERY, 'b.test'));
  ctx.setNow({ sec: 3, nsec: 5 });
  sniffer.datagram(1, dnsMessage(7, RESPONSE, 'b.test', [aAnswer(2)]));
  ctx.setNow({ sec: 4, nsec: 0 });
  sniffer.datagram(1, dnsMessage(7, 0x8185, null)); // REFUSED without question
  sniffer.end();
  assert.deepEqual(
    ctx.units.map((u) => [u.dns?.name, u.start.sec, u.end, u.dns?.rcode]),
    [
      ['b.test.', 2, { sec: 3, nsec: 5 }, 'NOERROR'],
      ['a.test.', 1, { sec: 4, nsec: 0 }, 'REFUSED'],
    ],
  );
  assert.deepStrictEqual(ctx.units[0]!.dns!.answers, [
    { name: 'b.test.', type: 'A', class: 'IN', ttl: 60, data: '10.0.0.2' },
  ]);
  assert.equal(ctx.units[0]!.host, 'udp://192.0.2.53:53');
});

test('a response whose question differs is not taken for the query', () => {
  const ctx = recordingContext({}, EP);
  const sniffer = new DnsDatagramSniffer(ctx);
  sniffer.datagram(0, dnsMessage(9, QUERY, 'a.test'));
  sniffer.datagram(1, dnsMessage(9, RESPONSE, 'spoofed.test'));
  sniffer.end();
  assert.deepEqual(
    ctx.units.map((u) => [u.dns?.name, u.dns?.question === '', u.dns?.answer === '']),
    [
      ['spoofed.test.', true, false],
      ['a.test.', false, true],
    ],
  );
  assert.deepEqual(ctx.errors, [{ proto: 'dns', code: 'response_without_query' }]);
});

test('short datagrams are counted and dropped; hostile counts do not allocate', () => {
  const ctx = recordingContext({}, EP);
  const sniffer = new DnsDatagramSniffer(ctx);
  sniffer.datagram(0, Buffer.from([1, 2, 3, 4, 5]));
  sniffer.datagram(0, Buffer.alloc(0));
  const liar = dnsMessage(3, QUERY, null);
  liar.writeUInt16BE(0xffff, 6);
  sniffer.datagram(0, liar);
  sniffer.end();
  assert.deepEqual(ctx.errors, [
    { proto: 'dns', code: 'truncated_header' },
    { proto: 'dns', code: 'truncated_header' },
    { proto: 'dns', code: 'truncated_section' },
  ]);
  assert.equal(ctx.units.length, 1);
  assert.equal(ctx.units[0]!.err, 'dns query: truncated_section');
  assert.ok(ctx.units[0]!.dns!.question.includes('QUERY: 0, ANSWER: 0,'));
});

test('a flow seen server-first: QR decides, the host is the side that answered', () => {
  // The flow's "client" is the resolver at port 53 (its packet came first).
  const ctx = recordingContext(
    {},
    { ...EP, clientIp: '192.0.2.53', clientPort: 53, serverIp: '192.0.2.10', serverPort: 40000 },
  );
  const sniffer = new DnsDatagramSniffer(ctx);
  sniffer.datagram(0, dnsMessage(1, RESPONSE, 'late.test'));
  sniffer.datagram(1, dnsMessage(2, QUERY, 'next.test'));
  sniffer.datagram(0, dnsMessage(2, RESPONSE, 'next.test', [aAnswer(9)]));
  sniffer.end();
  assert.deepEqual(
    ctx.units.map((u) => [u.dns?.name, u.host, u.dns?.rcode]),
    [
      ['late.test.', 'udp://192.0.2.53:53', 'NOERROR'],
      ['next.test.', 'udp://192.0.2.53:53', 'NOERROR'],
    ],
  );
});

test('mDNS: id 0 queries, responses without a question, IPv6 multicast host in brackets', () => {
  const ctx = recordingContext(
    {},
    {
      network: 'udp',
      clientIp: 'fe80::1',
      clientPort: 5353,
      serverIp: 'ff02::fb',
      serverPort: 5353,
    },
  );
  const sniffer = new DnsDatagramSniffer(ctx);
  sniffer.datagram(0, dnsMessage(0, 0, '_ipp._tcp.local'));
  sniffer.datagram(1, dnsMessage(0, 0x8400, null));
  sniffer.end();
  assert.equal(ctx.units.length, 1);
  const u = ctx.units[0]!;
  assert.equal(u.host, 'udp://[ff02::fb]:5353');
  assert.deepEqual([u.dns?.name, u.dns?.type, u.dns?.rcode], ['_ipp._tcp.local.', 'A', 'NOERROR']);
  assert.ok(u.dns?.answer.startsWith(';; opcode: QUERY, status: NOERROR, id: 0\n;; flags: qr aa;'));
});

/**
 * DnsStreamSniffer (RFC 7766): the corpus's pipelined TCP connection (20 queries in one segment,
 * answered one per segment) fed whole, byte by byte and split at every offset must give the same
 * records, each matching tshark's message (expected/sv-dns-tcp-multireq.dns.jsonl). Then framing
 * corners: a big message dribbled a byte at a time, a message too short to be DNS, out-of-order
 * answers, a gap, and a length prefix promising 65535 bytes followed by 2 and the end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RecordUnit } from '../../src/record/record-types.ts';
import { DnsStreamSniffer } from '../../src/sniff/dns/dns-sniffer.ts';
import type { ConnectionEndpoints } from '../../src/sniff/sniffer.ts';
import {
  assertCutIndependent,
  feedStream,
  recordingContext,
  type FeedMode,
} from '../helpers/sniff-harness.ts';
import {
  corpusCapture,
  corpusExpected,
  followAllTcpStreams,
  udpDatagrams,
  type FollowChunk,
} from '../helpers/tshark-follow.ts';

const EP: Partial<ConnectionEndpoints> = {
  network: 'tcp',
  clientIp: '10.16.1.11',
  clientPort: 59092,
  serverIp: '10.16.1.1',
  serverPort: 53,
};

interface Run {
  units: RecordUnit[];
  errors: { proto: string; code: string }[];
  wants: [boolean, boolean];
}

function run(chunks: FollowChunk[], mode: FeedMode): Run {
  const ctx = recordingContext({}, EP);
  const sniffer = new DnsStreamSniffer(ctx);
  feedStream(sniffer, chunks, mode);
  return { units: ctx.units, errors: ctx.errors, wants: [sniffer.wants(0), sniffer.wants(1)] };
}

function cutIndependent(chunks: FollowChunk[]): Run {
  return assertCutIndependent(chunks, (mode) => run(chunks, mode));
}

test('sv-dns-tcp-multireq: 20 pipelined exchanges, whole = bytewise = every split', () => {
  const [stream] = followAllTcpStreams(corpusCapture('sv-dns-tcp-multireq.pcap'));
  assert.ok(stream);
  const { units, errors, wants } = cutIndependent(stream.chunks);
  assert.deepEqual(errors, []);
  // Both sides ended: the framers stopped.
  assert.deepEqual(wants, [false, false]);
  const expected = corpusExpected('sv-dns-tcp-multireq.pcap', 'dns');
  const responses = expected.filter((e) => e.qr === 1);
  assert.equal(units.length, 20);
  assert.equal(responses.length, 20);
  // Server chunks are one length-prefixed response each.
  const serverChunks = stream.chunks.filter((c) => c.side === 1);
  units.forEach((u, i) => {
    const exp = responses[i]!;
    const [soa] = exp.authority as { name: string; ttl: number; value: string }[];
    assert.ok(u.dns && soa);
    assert.equal(u.dns.id, exp.id);
    assert.equal(u.dns.name, `${i}.google.com.`);
    assert.deepEqual(
      [u.dns.type, u.dns.class, u.dns.rcode, u.dns.answers],
      ['A', 'IN', 'NXDOMAIN', []],
    );
    assert.equal(u.host, 'tcp://10.16.1.1:53');
    const [mname, rname, serial] = soa.value.split(' ');
    assert.ok(
      u.dns.answer.includes(
        `\n;; AUTHORITY SECTION:\n${soa.name}.\t${soa.ttl}\tIN\tSOA\t${mname!}. ${rname!}. ${serial!} `,
      ),
      u.dns.answer,
    );
    assert.ok(
      u.dns.question.startsWith(`;; opcode: QUERY, status: NOERROR, id: ${i}\n;; flags: rd;`),
    );
    // 2-byte prefix + message, as on the wire.
    assert.equal(u.outputBytes, serverChunks[i]!.data.length);
    assert.equal(u.inputBytes, 2 + 12 + (`${i}.google.com`.length + 2) + 4);
  });
});

/** `<len><message>`. */
function framed(msg: Buffer): Buffer {
  const p = Buffer.alloc(2);
  p.writeUInt16BE(msg.length);
  return Buffer.concat([p, msg]);
}

function query(id: number, qname: string, flags = 0x0100): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(flags, 2);
  head.writeUInt16BE(1, 4);
  const labels = qname
    .split('.')
    .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([head, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

test('a 3230-byte response dribbled byte by byte equals it delivered whole', () => {
  // The reassembled TXT response of zk-dns-ipv6-frag and its query, reframed for TCP.
  const datagrams = udpDatagrams(corpusCapture('zk-dns-ipv6-frag.pcap'));
  const q = datagrams.find((d) => d.frame === 3)!.payload;
  const r = datagrams.find((d) => d.frame === 8)!.payload;
  assert.equal(r.length, 3230);
  const chunks: FollowChunk[] = [
    { side: 0, data: framed(q) },
    { side: 1, data: framed(r) },
  ];
  const whole = run(chunks, { kind: 'whole' });
  assert.deepStrictEqual(run(chunks, { kind: 'bytewise' }), whole);
  assert.deepEqual(whole.errors, []);
  assert.equal(whole.units.length, 1);
  assert.equal(whole.units[0]!.outputBytes, 3232);
  assert.ok(
    whole.units[0]!.dns!.answers[0]!.data.startsWith(
      '"This TXT record should be ignored" "As it is',
    ),
  );
});

test('pipelined queries answered out of order (RFC 7766 §6.2.1.1), in one segment each way', () => {
  const chunks: FollowChunk[] = [
    { side: 0, data: Buffer.concat([framed(query(1, 'one.test')), framed(query(2, 'two.test'))]) },
    {
      side: 1,
      data: Buffer.concat([
        framed(query(2, 'two.test', 0x8180)),
        framed(query(1, 'one.test', 0x8180)),
      ]),
    },
  ];
  const whole = cutIndependent(chunks);
  assert.deepEqual(
    whole.units.map((u) => [u.dns?.id, u.dns?.name, u.dns?.rcode]),
    [
      [2, 'two.test.', 'NOERROR'],
      [1, 'one.test.', 'NOERROR'],
    ],
  );
});

test('a message shorter than a header is counted; the framing goes on', () => {
  const chunks: FollowChunk[] = [
    {
      side: 0,
      data: Buffer.concat([
        framed(Buffer.from([1, 2, 3, 4, 5])),
        framed(Buffer.alloc(0)),
        framed(query(4, 'ok.test')),
      ]),
    },
  ];
  const whole = cutIndependent(chunks);
  assert.deepEqual(whole.errors, [
    { proto: 'dns', code: 'truncated_header' },
    { proto: 'dns', code: 'truncated_header' },
  ]);
  assert.deepEqual(
    whole.units.map((u) => [u.dns?.name, u.dns?.answer, u.inputBytes]),
    [['ok.test.', '', 2 + 25]],
  );
});

test('length prefix 0xffff, 2 bytes, then the end: counted, nothing recorded, nothing held', () => {
  const ctx = recordingContext({}, EP);
  const sniffer = new DnsStreamSniffer(ctx);
  sniffer.data(0, Buffer.from([0xff, 0xff, 0x12, 0x34]));
  assert.equal(sniffer.wants(0), true);
  sniffer.end(0);
  sniffer.end(1);
  assert.deepEqual(ctx.errors, [{ proto: 'dns', code: 'truncated_message' }]);
  assert.deepEqual(ctx.units, []);
  assert.deepEqual([sniffer.wants(0), sniffer.wants(1)], [false, false]);
  // Data after the end is ignored, and a second end does nothing.
  sniffer.data(0, Buffer.from([0, 1, 2]));
  sniffer.end(0);
  assert.equal(ctx.errors.length, 1);
});

test('a gap stops that side; the waiting query is emitted unanswered at the end', () => {
  const ctx = recordingContext({}, EP);
  const sniffer = new DnsStreamSniffer(ctx);
  sniffer.data(0, framed(query(5, 'gap.test')));
  sniffer.data(1, framed(query(5, 'gap.test', 0x8180)).subarray(0, 7));
  sniffer.gap(1, 100);
  assert.deepEqual([sniffer.wants(0), sniffer.wants(1)], [true, false]);
  sniffer.data(1, Buffer.from([0, 0, 0])); // ignored
  sniffer.gap(1, 10); // already stopped: not counted twice
  sniffer.end(0);
  assert.equal(ctx.units.length, 0);
  sniffer.end(1);
  assert.deepEqual(ctx.errors, [{ proto: 'dns', code: 'stream_gap' }]);
  assert.deepEqual(
    ctx.units.map((u) => [u.dns?.name, u.dns?.answer, u.dns?.rcode, u.outputBytes]),
    [['gap.test.', '', '', 0]],
  );
});

/**
 * TCP reassembly rule by rule, on hand-built segment sequences: the corpus has no capture for most
 * of these cases (wraparound mid-stream, limits, wants() false, snaplen cut out of order, TFO).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReassemblyMemory } from '../../src/reassembly/reassembly-memory.ts';
import {
  TcpReassembler,
  type ReassemblyLimits,
  type ReassemblyStats,
} from '../../src/reassembly/tcp-reassembler.ts';
import type { Side, StreamSniffer } from '../../src/sniff/sniffer.ts';
import { rng } from '../helpers/random.ts';

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;
const EMPTY = Buffer.alloc(0);
const TWO_32 = 0x1_0000_0000;

type Event = { side: Side; data: string } | { side: Side; gap: number } | { side: Side; end: true };

/** A consumer that records what it is told and fails on any breach of the contract. */
class Recorder implements StreamSniffer {
  readonly events: Event[] = [];
  /** The Buffers data() received, as passed (to check zero-copy delivery). */
  readonly views: Buffer[] = [];
  readonly wanted: [boolean, boolean] = [true, true];
  readonly ended: [boolean, boolean] = [false, false];
  /** Runs after each data() call. */
  onData: ((side: Side) => void) | null = null;

  data(side: Side, data: Buffer): void {
    this.#mayDeliver(side);
    assert.ok(data.length > 0, 'empty data()');
    this.events.push({ side, data: data.toString('latin1') });
    this.views.push(data);
    this.onData?.(side);
  }

  gap(side: Side, bytes: number): void {
    this.#mayDeliver(side);
    assert.ok(Number.isSafeInteger(bytes) && bytes > 0, `gap(${bytes})`);
    this.events.push({ side, gap: bytes });
  }

  end(side: Side): void {
    assert.ok(!this.ended[side], `end(${side}) twice`);
    this.ended[side] = true;
    this.events.push({ side, end: true });
  }

  wants(side: Side): boolean {
    return this.wanted[side];
  }

  /** One side's events with adjacent data merged: `abc`, `gap 3`, `end`. */
  stream(side: Side): string[] {
    const out: string[] = [];
    let run: string | null = null;
    for (const e of this.events) {
      if (e.side !== side) continue;
      if ('data' in e) {
        run = (run ?? '') + e.data;
        continue;
      }
      if (run !== null) out.push(run);
      run = null;
      out.push('gap' in e ? `gap ${e.gap}` : 'end');
    }
    if (run !== null) out.push(run);
    return out;
  }

  #mayDeliver(side: Side): void {
    assert.ok(this.wanted[side], `delivery to side ${side} after wants() went false`);
    assert.ok(!this.ended[side], `delivery to side ${side} after end()`);
  }
}

interface Options {
  flags?: number;
  /** Sets the ACK flag and the acknowledgement number. */
  ack?: number;
  wireLen?: number;
}

function connection(limits?: ReassemblyLimits, memory = new ReassemblyMemory(1 << 20)) {
  const rec = new Recorder();
  const r = new TcpReassembler(rec, memory, limits);
  /** One segment; returns the payload Buffer passed in. */
  const send = (side: Side, seq: number, payload: string | Buffer, o: Options = {}): Buffer => {
    const bytes = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
    const flags = (o.flags ?? PSH) | (o.ack === undefined ? 0 : ACK);
    r.segment(side, seq >>> 0, (o.ack ?? 0) >>> 0, flags, bytes, o.wireLen ?? bytes.length);
    return bytes;
  };
  return { rec, r, memory, send };
}

function assertStats(r: TcpReassembler, expected: Partial<ReassemblyStats>): void {
  const got: Record<string, unknown> = {};
  for (const k of Object.keys(expected)) got[k] = r.stats[k as keyof ReassemblyStats];
  assert.deepEqual(got, expected);
}

test('in order after a handshake: zero-copy views, each FIN ends its side once', () => {
  const { rec, r, send } = connection();
  send(0, 1000, EMPTY, { flags: SYN });
  send(1, 5000, EMPTY, { flags: SYN, ack: 1001 });
  send(0, 1001, EMPTY, { ack: 5001 });
  const request = send(0, 1001, 'GET / HTTP/1.0\r\n\r\n', { ack: 5001 });
  const response = send(1, 5001, 'HTTP/1.0 200 OK\r\n\r\nhello', { ack: 1019 });
  send(1, 5025, EMPTY, { flags: FIN, ack: 1019 });
  assert.equal(rec.ended[1], true, 'the server FIN ends the server side at once');
  send(0, 1019, EMPTY, { flags: FIN, ack: 5026 });
  send(1, 5026, EMPTY, { ack: 1020 });
  assert.deepEqual(rec.stream(0), ['GET / HTTP/1.0\r\n\r\n', 'end']);
  assert.deepEqual(rec.stream(1), ['HTTP/1.0 200 OK\r\n\r\nhello', 'end']);
  assert.equal(rec.views[0], request, 'the caller’s payload itself is delivered');
  assert.equal(rec.views[1], response);
  assert.equal(r.closed, true);
  assertStats(r, {
    gaps: 0,
    midstream: [false, false],
    deliveredBytes: [18, 24],
    retransmittedBytes: 0,
    outOfOrderSegments: 0,
  });
  const before = rec.events.length;
  r.close();
  r.close();
  assert.equal(rec.events.length, before, 'close() after both FINs adds nothing');
});

test('reversed order: held copies are delivered in order once the hole closes', () => {
  const { rec, r, memory, send } = connection();
  send(0, 0, EMPTY, { flags: SYN });
  const parts = ['aaaaaaaaaa', 'bbbbbbbbbb', 'cccccccccc', 'dddddddddd', 'eeeeeeeeee'];
  for (let k = 4; k >= 1; k--) send(0, 1 + 10 * k, parts[k]!);
  assert.deepEqual(rec.events, []);
  assertStats(r, { outOfOrderSegments: 4, bufferedBytes: 40 });
  assert.equal(memory.used, 40);
  send(0, 1, parts[0]!);
  assert.deepEqual(rec.stream(0), [parts.join('')]);
  assertStats(r, { bufferedBytes: 0, gaps: 0, retransmittedBytes: 0, deliveredBytes: [50, 0] });
  assert.equal(memory.used, 0);
});

test('retransmissions: whole and partial copies of delivered bytes are trimmed', () => {
  const { rec, r, send } = connection();
  send(0, 0, EMPTY, { flags: SYN });
  send(0, 1, 'abcdefgh');
  send(0, 1, 'abcd');
  const partial = send(0, 5, 'efghijkl');
  assert.deepEqual(rec.stream(0), ['abcdefghijkl']);
  // The new tail is a view into the retransmitted payload, not a copy.
  const tail = rec.views[1]!;
  assert.equal(tail.toString(), 'ijkl');
  assert.equal(tail.buffer, partial.buffer);
  assert.equal(tail.byteOffset, partial.byteOffset + 4);
  assertStats(r, { retransmittedBytes: 8, overlapConflicts: 0 });
});

test('overlap with held bytes: the first copy wins, differing bytes are counted', () => {
  // In-order data reaching a held chunk: the held bytes (first) win over the new ones.
  const a = connection();
  a.send(0, 0, EMPTY, { flags: SYN });
  a.send(0, 5, 'WXYZ');
  a.send(0, 1, 'abcdEFGHij');
  assert.deepEqual(a.rec.stream(0), ['abcdWXYZij']);
  assertStats(a.r, { overlapConflicts: 1, retransmittedBytes: 4 });

  // Out-of-order data overlapping a held chunk: only the uncovered pieces are copied.
  const b = connection();
  b.send(0, 0, EMPTY, { flags: SYN });
  b.send(0, 11, 'MMMM'); // offsets 10..14
  b.send(0, 9, 'nnnnnnnn'); // offsets 8..16: 10..14 differs
  assertStats(b.r, { overlapConflicts: 1, retransmittedBytes: 4, bufferedBytes: 8 });
  b.send(0, 12, 'MM'); // same bytes again: a retransmission, not a conflict
  assertStats(b.r, { overlapConflicts: 1, retransmittedBytes: 6, bufferedBytes: 8 });
  b.send(0, 1, '01234567');
  assert.deepEqual(b.rec.stream(0), ['01234567nnMMMMnn']);
  assert.equal(b.memory.used, 0);
});

test('an ACK past a hole reports the bytes the capture missed as a gap (Zeek content gap)', () => {
  const { rec, r, send } = connection();
  send(0, 100, EMPTY, { flags: SYN });
  send(1, 900, EMPTY, { flags: SYN, ack: 101 });
  send(1, 901, '00000000', { ack: 101 }); // offsets 0..8
  send(1, 917, '22222222', { ack: 101 }); // offsets 16..24, held
  send(0, 101, EMPTY, { ack: 901 + 32 + 2 ** 30 }); // implausible: a window or more ahead
  send(0, 101, EMPTY, { ack: 901 }); // behind next
  assert.deepEqual(rec.stream(1), ['00000000']);
  send(0, 101, EMPTY, { ack: 933 }); // offset 32
  assert.deepEqual(rec.stream(1), ['00000000', 'gap 8', '22222222', 'gap 8']);
  // The FIN's own sequence number is acknowledged too: that is not a missing byte.
  send(1, 933, EMPTY, { flags: FIN, ack: 101 });
  send(0, 101, EMPTY, { ack: 934 });
  assert.deepEqual(rec.stream(1), ['00000000', 'gap 8', '22222222', 'gap 8', 'end']);
  assertStats(r, { gaps: 2, gapBytes: 16 });

  // Same with the FIN still waiting behind a hole when its ACK arrives.
  const b = connection();
  b.send(1, 900, EMPTY, { flags: SYN });
  b.send(1, 901, 'abcd');
  b.send(1, 909, 'ijkl', { flags: FIN }); // FIN at offset 12, hole 4..8
  b.send(0, 101, EMPTY, { ack: 914 }); // acknowledges the FIN too
  assert.deepEqual(b.rec.stream(1), ['abcd', 'gap 4', 'ijkl', 'end']);
});

test('an ACK for a side that has not started is ignored', () => {
  const { rec, r, send } = connection();
  send(0, 100, EMPTY, { flags: SYN });
  send(0, 101, 'hi', { ack: 12345 });
  send(1, 20000, 'midstream', { ack: 103 });
  assert.deepEqual(rec.stream(1), ['midstream']);
  assertStats(r, { gaps: 0, midstream: [false, true] });
});

test('FIN: the side ends once every byte before the FIN arrived; close() gaps the holes', () => {
  const a = connection();
  a.send(0, 0, EMPTY, { flags: SYN });
  a.send(0, 1, 'abcd');
  a.send(0, 9, 'ijkl', { flags: FIN }); // FIN at offset 12, hole 4..8
  assert.equal(a.rec.ended[0], false);
  a.send(0, 5, 'efgh');
  assert.deepEqual(a.rec.stream(0), ['abcdefghijkl', 'end']);
  a.send(0, 13, 'late');
  assertStats(a.r, { segmentsAfterEnd: 1 });
  assert.deepEqual(a.rec.stream(0), ['abcdefghijkl', 'end']);

  const b = connection();
  b.send(0, 0, EMPTY, { flags: SYN });
  b.send(0, 1, 'abcd');
  b.send(0, 9, 'ijkl', { flags: FIN });
  b.send(0, 30, 'past the FIN'); // dropped: nothing follows a FIN
  b.r.close();
  assert.deepEqual(b.rec.stream(0), ['abcd', 'gap 4', 'ijkl', 'end']);
  assert.deepEqual(b.rec.stream(1), ['end'], 'a side never seen still ends');
  const count = b.rec.events.length;
  b.r.close();
  assert.equal(b.rec.events.length, count, 'close() is idempotent');
  assert.equal(b.memory.used, 0);

  const c = connection();
  c.send(0, 0, EMPTY, { flags: SYN });
  c.send(0, 1, 'abcd');
  c.send(0, 21, EMPTY, { flags: FIN });
  c.r.close();
  assert.deepEqual(c.rec.stream(0), ['abcd', 'gap 16', 'end']);
});

test('RST: contiguous bytes are delivered, holes gapped, both sides end; its payload is not data', () => {
  const { rec, r, memory, send } = connection();
  send(0, 0, EMPTY, { flags: SYN });
  send(1, 1000, EMPTY, { flags: SYN, ack: 1 });
  send(0, 1, 'abcd', { ack: 1001 });
  send(0, 9, 'ijkl', { ack: 1001 }); // held
  send(1, 1001, 'HELLO', { ack: 5 });
  send(1, 1011, 'WORLD', { ack: 5 }); // held
  assert.equal(memory.used, 9);
  send(1, 1016, 'diagnostic', { flags: RST, ack: 5 });
  assert.deepEqual(rec.stream(0), ['abcd', 'gap 4', 'ijkl', 'end']);
  assert.deepEqual(rec.stream(1), ['HELLO', 'gap 5', 'WORLD', 'end']);
  assert.equal(r.closed, true);
  assert.equal(memory.used, 0);
  send(0, 13, 'mnop');
  assertStats(r, { segmentsAfterEnd: 1, bufferedBytes: 0 });
});

test('midstream start; a late or retransmitted SYN does not reset the stream', () => {
  const a = connection();
  a.send(0, 777, 'hello');
  a.send(0, 100, EMPTY, { flags: SYN }); // another ISN: old, ignored
  a.send(0, 776, 'XX', { flags: SYN }); // data at 777..779: already delivered
  a.send(0, 782, ' world');
  assert.deepEqual(a.rec.stream(0), ['hello world']);
  assertStats(a.r, { midstream: [true, false], retransmittedBytes: 2, gaps: 0 });

  const b = connection();
  b.send(0, 1000, EMPTY, { flags: SYN });
  b.send(0, 1001, 'abc');
  b.send(0, 1000, EMPTY, { flags: SYN });
  b.send(0, 1004, 'def');
  assert.deepEqual(b.rec.stream(0), ['abcdef']);
  assertStats(b.r, { midstream: [false, false] });
});

test('data on a SYN (TCP Fast Open) follows seq + 1', () => {
  const { rec, r, send } = connection();
  send(0, 50, 'hi', { flags: SYN });
  send(0, 53, '!');
  send(0, 50, 'hi', { flags: SYN }); // retransmitted SYN with its data
  assert.deepEqual(rec.stream(0), ['hi!']);
  assertStats(r, { retransmittedBytes: 2, midstream: [false, false] });
});

test('a SYN-ACK pins the client stream start: its lost first bytes become a gap', () => {
  const { rec, r, send } = connection();
  send(1, 5000, EMPTY, { flags: SYN, ack: 1001 }); // the client's SYN was not captured
  send(0, 1011, 'klmnopqrst', { ack: 5001 }); // offsets 10..20: 0..10 missing
  assert.deepEqual(rec.stream(0), []);
  send(1, 5001, EMPTY, { ack: 1021 });
  assert.deepEqual(rec.stream(0), ['gap 10', 'klmnopqrst']);
  assertStats(r, { midstream: [false, false], outOfOrderSegments: 1 });
});

test('sequence numbers wrap at 2^32', () => {
  const { rec, r, send } = connection();
  const isn = TWO_32 - 10; // stream offset 0 is sequence number 2^32 - 9
  const seqAt = (offset: number): number => (isn + 1 + offset) % TWO_32;
  send(0, isn, EMPTY, { flags: SYN });
  send(1, TWO_32 - 3, EMPTY, { flags: SYN, ack: seqAt(0) }); // server offset 0 = 2^32 - 2
  send(0, seqAt(16), 'cccccccc'); // seq 7
  send(0, seqAt(0), 'aaaaaaaa'); // seq 2^32 - 9
  send(0, seqAt(24), 'dddddddd');
  assert.deepEqual(rec.stream(0), ['aaaaaaaa']);
  send(0, seqAt(8), 'bbbbbbbb'); // seq 2^32 - 1: this segment crosses the wrap
  send(0, seqAt(32), EMPTY, { flags: FIN });
  assert.deepEqual(rec.stream(0), ['aaaaaaaabbbbbbbbccccccccdddddddd', 'end']);

  send(1, TWO_32 - 2, 'ABCD', { ack: seqAt(33) }); // crosses the wrap
  send(1, 6, 'EFGH', { ack: seqAt(33) }); // server offset 8, held
  send(0, seqAt(33), EMPTY, { ack: TWO_32 - 2 }); // behind: nothing
  send(0, seqAt(33), EMPTY, { ack: 10 }); // server offset 12, past the wrap
  assert.deepEqual(rec.stream(1), ['ABCD', 'gap 4', 'EFGH']);
  assertStats(r, { gaps: 1, gapBytes: 4, outOfOrderSegments: 3, implausibleSegments: 0 });
});

test('snaplen cut: the captured part, then a gap for the rest', () => {
  const { rec, r, send } = connection();
  send(0, 0, EMPTY, { flags: SYN });
  send(1, 500, EMPTY, { flags: SYN, ack: 1 });
  send(0, 1, 'abcd', { wireLen: 10 }); // offsets 0..10, 4 captured: gap at once
  send(0, 21, 'uvwx', { wireLen: 10 }); // 20..30 out of order: its tail stays a hole
  send(0, 11, 'klmnopqrst'); // 10..20
  send(0, 31, '0123456789'); // 30..40, held behind the cut tail
  assert.deepEqual(rec.stream(0), ['abcd', 'gap 6', 'klmnopqrstuvwx']);
  send(1, 501, EMPTY, { ack: 41 });
  send(0, 41, EMPTY, { wireLen: 10 }); // nothing captured at all
  assert.deepEqual(rec.stream(0), [
    'abcd',
    'gap 6',
    'klmnopqrstuvwx',
    'gap 6',
    '0123456789',
    'gap 10',
  ]);
  assertStats(r, { gapBytes: 22, bufferedBytes: 0 });
});

test('per-side byte limit: the hole in front is given up, a segment over the cap alone too', () => {
  const memory = new ReassemblyMemory(1 << 20);
  const { rec, r, send } = connection({ maxBufferedPerSide: 16 }, memory);
  send(0, 0, EMPTY, { flags: SYN });
  send(0, 11, 'AAAAAAAAAA'); // 10..20 held
  send(0, 31, 'BBBBBBBBBB'); // 30..40 would make 20 > 16: skip 0..10
  assert.deepEqual(rec.stream(0), ['gap 10', 'AAAAAAAAAA']);
  assertStats(r, { evictions: 1, evictedBytes: 10, bufferedBytes: 10 });
  const big = send(0, 51, 'CCCCCCCCCCCCCCCCCCCC'); // 50..70, 20 bytes > 16 on its own
  assert.deepEqual(rec.stream(0), [
    'gap 10',
    'AAAAAAAAAA',
    'gap 10',
    'BBBBBBBBBB',
    'gap 10',
    'CCCCCCCCCCCCCCCCCCCC',
  ]);
  assert.equal(rec.views.at(-1), big, 'the oversized segment is delivered without a copy');
  assertStats(r, { evictions: 3, evictedBytes: 30, bufferedBytes: 0, gapBytes: 30 });
  assert.deepEqual([memory.used, memory.evictions, memory.evictedBytes], [0, 3, 30]);
});

test('per-side chunk limit counts pieces, not bytes', () => {
  const { rec, r, send } = connection({ maxBufferedPerSide: 1024, maxSegmentsPerSide: 2 });
  send(0, 0, EMPTY, { flags: SYN });
  send(0, 11, 'aa');
  send(0, 21, 'bb');
  send(0, 31, 'cc');
  assert.deepEqual(rec.stream(0), ['gap 10', 'aa']);
  assertStats(r, { evictions: 1, bufferedBytes: 4 });
});

test('shared memory: a connection over the pool limit skips its own hole, not others’', () => {
  const memory = new ReassemblyMemory(24);
  const a = connection(undefined, memory);
  const b = connection(undefined, memory);
  a.send(0, 0, EMPTY, { flags: SYN });
  a.send(0, 11, 'aaaaaaaaaaaaaaaaaaaa'); // 20 held by A
  b.send(0, 0, EMPTY, { flags: SYN });
  b.send(0, 11, 'bbbbbbbbbb'); // 10 more would pass 24
  assert.deepEqual(b.rec.stream(0), ['gap 10', 'bbbbbbbbbb']);
  assert.deepEqual(a.rec.stream(0), []);
  assert.deepEqual([memory.used, memory.evictions, memory.evictedBytes], [20, 1, 10]);
  a.r.close();
  assert.deepEqual(a.rec.stream(0), ['gap 10', 'aaaaaaaaaaaaaaaaaaaa', 'end']);
  assert.equal(memory.used, 0);
});

test('wants() false: the buffer is freed, nothing more is delivered, end() still comes once', () => {
  const a = connection();
  a.send(0, 0, EMPTY, { flags: SYN });
  a.send(0, 11, 'xxxx');
  assert.equal(a.memory.used, 4);
  a.rec.wanted[0] = false;
  a.send(0, 1, 'abcdefghij');
  assert.equal(a.memory.used, 0);
  assertStats(a.r, { bufferedBytes: 0 });
  a.send(0, 15, EMPTY, { flags: FIN });
  assert.deepEqual(a.rec.stream(0), ['end']);
  a.r.close();
  assert.deepEqual(a.rec.stream(0), ['end']);

  // Wants turns false in the middle of draining held chunks.
  const b = connection();
  b.send(0, 0, EMPTY, { flags: SYN });
  b.send(0, 5, 'bbbb');
  b.send(0, 9, 'cccc');
  b.rec.onData = (side) => (b.rec.wanted[side] = false);
  b.send(0, 1, 'aaaa');
  assert.deepEqual(b.rec.stream(0), ['aaaa']);
  assert.equal(b.memory.used, 0);
  b.r.close();
  assert.deepEqual(b.rec.stream(0), ['aaaa', 'end']);

  // The FIN was already seen when the consumer lets go: the side ends right away.
  const c = connection();
  c.send(0, 0, EMPTY, { flags: SYN });
  c.send(1, 70, EMPTY, { flags: SYN, ack: 1 });
  c.send(0, 1, 'abcd');
  c.send(0, 9, 'ijkl', { flags: FIN });
  c.rec.wanted[0] = false;
  c.send(1, 71, EMPTY, { ack: 13 });
  assert.deepEqual(c.rec.stream(0), ['abcd', 'end']);
});

test('segments a window or more away are dropped as implausible', () => {
  const { rec, r, send } = connection();
  send(0, 0, EMPTY, { flags: SYN });
  send(0, 1 + 2 ** 30, 'far ahead');
  send(0, 1 + 2 ** 31, 'opposite side of the sequence space', { flags: FIN });
  send(0, 1, 'ok');
  r.close();
  assert.deepEqual(rec.stream(0), ['ok', 'end']);
  assertStats(r, { implausibleSegments: 2, bufferedBytes: 0 });
});

test('hostile segments: no throw, memory within every limit, each side ends exactly once', () => {
  const random = rng(0x7ca9);
  const int = (n: number): number => Math.floor(random() * n);
  const memory = new ReassemblyMemory(6000);
  const limits = { maxBufferedPerSide: 4096, maxSegmentsPerSide: 8 };
  const noise = Buffer.alloc(3000);
  for (let i = 0; i < noise.length; i++) noise[i] = int(256);
  const fresh = () => ({ ...connection(limits, memory), near: [int(TWO_32), int(TWO_32)] });
  const finished = (c: ReturnType<typeof fresh>): void => {
    c.r.close();
    c.r.close();
    assert.deepEqual(c.rec.ended, [true, true]);
    assert.equal(c.rec.events.filter((e) => 'end' in e).length, 2);
  };
  const conns = [fresh(), fresh(), fresh()];
  let closedByPeers = 0;
  for (let i = 0; i < 30000; i++) {
    const k = int(conns.length);
    const c = conns[k]!;
    const side: Side = random() < 0.5 ? 0 : 1;
    // Mostly near a per-side origin (overlaps, holes, wraps), sometimes anywhere.
    const seq = random() < 0.9 ? (c.near[side]! + int(20000) - 2000) >>> 0 : int(TWO_32);
    const ack = random() < 0.8 ? (c.near[1 - side]! + int(20000)) >>> 0 : int(TWO_32);
    let flags = int(256);
    if (random() < 0.99) flags &= ~RST;
    const len = int(4) === 0 ? 0 : int(noise.length);
    const from = int(noise.length - len + 1);
    const wireLen = len + (random() < 0.1 ? int(2000) : 0);
    c.r.segment(side, seq, ack, flags, noise.subarray(from, from + len), wireLen);
    const held = conns.reduce((n, x) => n + x.r.stats.bufferedBytes, 0);
    assert.equal(memory.used, held, 'the pool counts exactly what connections hold');
    assert.ok(memory.used <= memory.limitBytes);
    assert.ok(c.r.stats.bufferedBytes <= 2 * limits.maxBufferedPerSide);
    if (c.r.closed || random() < 0.002) {
      if (c.r.closed) closedByPeers++;
      finished(c);
      assert.equal(
        memory.used,
        conns.reduce((n, x) => n + x.r.stats.bufferedBytes, 0),
      );
      conns[k] = fresh();
    }
  }
  for (const c of conns) finished(c);
  assert.equal(memory.used, 0);
  assert.ok(memory.evictions > 100, `the limits were exercised (${memory.evictions})`);
  assert.ok(closedByPeers > 10, `FIN/RST closed connections (${closedByPeers})`);
});

/**
 * Property tests: random byte streams in both directions, cut into random segments, shuffled within
 * a bounded window, with retransmitted copies (re-cut differently), drops, snaplen cuts and ACKs as
 * a receiver would send them, from random initial sequence numbers (half of them about to wrap).
 *
 * Whatever the schedule, the consumer must see each side's stream laid out exactly at its offsets:
 * every data() byte is the first copy the capture carried for that offset, and every gap() covers
 * only offsets no segment had carried before the gap was reported. Without drops and cuts there
 * are no gaps at all and each side's bytes come out whole.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReassemblyMemory } from '../../src/reassembly/reassembly-memory.ts';
import { TcpReassembler, type ReassemblyLimits } from '../../src/reassembly/tcp-reassembler.ts';
import type { Side, StreamSniffer } from '../../src/sniff/sniffer.ts';
import { rng } from '../helpers/random.ts';

const FIN = 0x01;
const SYN = 0x02;
const PSH = 0x08;
const ACK = 0x10;
const EMPTY = Buffer.alloc(0);
const TWO_32 = 0x1_0000_0000;

interface Scenario {
  seed: number;
  /** Probability that a segment is lost before the capture saw it. */
  drop: number;
  /** Probability that a segment's captured bytes are cut short (snaplen). */
  cut: number;
  /** Retransmitted copies per original segment. */
  dupes: number;
  /** Retransmitted copies carry different bytes (the first copy must still win). */
  corrupt: boolean;
  /** The consumer stops wanting a side after this many of its bytes (never when undefined). */
  stopAfter?: number;
  limits?: ReassemblyLimits;
}

/** What one side looked like on the wire and what the capture carried, offset by offset. */
class SideTruth {
  readonly original: Buffer;
  /** 1 where some captured segment carried the offset (so far). */
  readonly fed: Uint8Array;
  /** The first captured copy of each offset. */
  readonly firstCopy: Buffer;
  /** 1 where the sender has sent the offset (captured or not): what the receiver may ACK. */
  readonly sent: Uint8Array;
  /** Length of the prefix the receiver can acknowledge. */
  ackable = 0;
  /** Offset the consumer has reached (data + gaps). */
  at = 0;
  stopped = false;
  ended = false;

  readonly isn: number;

  constructor(isn: number, length: number, random: () => number) {
    this.isn = isn;
    this.original = Buffer.alloc(length);
    for (let i = 0; i < length; i++) this.original[i] = Math.floor(random() * 256);
    this.fed = new Uint8Array(length);
    this.firstCopy = Buffer.alloc(length);
    this.sent = new Uint8Array(length);
  }

  seq(offset: number): number {
    return (this.isn + 1 + offset) % TWO_32;
  }

  markSent(start: number, end: number): void {
    this.sent.fill(1, start, end);
    while (this.ackable < this.sent.length && this.sent[this.ackable] === 1) this.ackable++;
  }

  markFed(start: number, bytes: Buffer): void {
    for (let i = 0; i < bytes.length; i++) {
      if (this.fed[start + i] === 0) {
        this.fed[start + i] = 1;
        this.firstCopy[start + i] = bytes[i]!;
      }
    }
  }
}

/** Checks every delivery against the truth as it happens. */
class Checker implements StreamSniffer {
  readonly truth: [SideTruth, SideTruth];
  readonly stopAfter: number;

  constructor(truth: [SideTruth, SideTruth], stopAfter: number) {
    this.truth = truth;
    this.stopAfter = stopAfter;
  }

  data(side: Side, data: Buffer): void {
    const t = this.#open(side);
    const want = t.firstCopy.subarray(t.at, t.at + data.length);
    assert.ok(
      t.fed.subarray(t.at, t.at + data.length).every((b) => b === 1),
      'data never carried',
    );
    assert.ok(data.equals(want), `side ${side} bytes at ${t.at}..${t.at + data.length} differ`);
    t.at += data.length;
  }

  gap(side: Side, bytes: number): void {
    const t = this.#open(side);
    assert.ok(bytes > 0);
    const carried = t.fed.subarray(t.at, t.at + bytes).indexOf(1);
    assert.equal(carried, -1, `side ${side}: gap over offset ${t.at + carried}, already carried`);
    t.at += bytes;
  }

  end(side: Side): void {
    const t = this.truth[side];
    assert.ok(!t.ended, 'end() twice');
    t.ended = true;
  }

  wants(side: Side): boolean {
    const t = this.truth[side];
    if (t.at >= this.stopAfter) t.stopped = true;
    return !t.stopped;
  }

  #open(side: Side): SideTruth {
    const t = this.truth[side];
    assert.ok(!t.ended && !t.stopped, 'delivery after end() or wants() false');
    return t;
  }
}

interface Planned {
  time: number;
  side: Side;
  start: number;
  end: number;
  drop: boolean;
  /** Captured bytes (≤ end - start). */
  captured: number;
  corrupt: boolean;
}

/** Cuts [0, length) into segments of 1..maxSeg bytes. */
function cuts(random: () => number, length: number, maxSeg: number): [number, number][] {
  const out: [number, number][] = [];
  for (let pos = 0; pos < length;) {
    const end = Math.min(length, pos + 1 + Math.floor(random() * maxSeg));
    out.push([pos, end]);
    pos = end;
  }
  return out;
}

function runScenario(sc: Scenario): { reassembler: TcpReassembler; truth: SideTruth[] } {
  const random = rng(sc.seed);
  const int = (n: number): number => Math.floor(random() * n);
  const isn = (): number => (random() < 0.5 ? TWO_32 - 1 - int(5000) : int(TWO_32));
  const maxSeg = random() < 0.2 ? 1 + int(8) : 1 + int(1500);
  const length = (): number => (random() < 0.05 ? 0 : int(maxSeg < 10 ? 2000 : 20000));
  const truth: [SideTruth, SideTruth] = [
    new SideTruth(isn(), length(), random),
    new SideTruth(isn(), length(), random),
  ];
  const window = 1 + int(20);
  const plan: Planned[] = [];
  for (const side of [0, 1] as const) {
    const primary = cuts(random, truth[side].original.length, maxSeg);
    primary.forEach(([start, end], i) => {
      const segment = (time: number, s: number, e: number, corrupt: boolean): Planned => ({
        // Shuffled within `window` positions of where the sender put it.
        time: time + random() * window,
        side,
        start: s,
        end: e,
        drop: random() < sc.drop,
        captured: random() < sc.cut ? int(e - s) : e - s,
        corrupt,
      });
      plan.push(segment(i, start, end, false));
      for (let d = 0; d < sc.dupes; d++) {
        // A retransmission later on, re-cut around the original range.
        const s = Math.max(0, start - int(maxSeg));
        const e = Math.min(truth[side].original.length, end + int(maxSeg));
        plan.push(segment(i + int(3 * window), s, e, sc.corrupt));
      }
    });
  }
  plan.sort((a, b) => a.time - b.time);

  const checker = new Checker(truth, sc.stopAfter ?? Infinity);
  const r = new TcpReassembler(checker, new ReassemblyMemory(1 << 24), sc.limits);
  r.segment(0, truth[0].isn, 0, SYN, EMPTY, 0);
  r.segment(1, truth[1].isn, truth[0].seq(0), SYN | ACK, EMPTY, 0);
  for (const p of plan) {
    const t = truth[p.side];
    const peer = truth[p.side === 0 ? 1 : 0];
    t.markSent(p.start, p.end);
    if (p.drop) continue;
    let bytes = t.original.subarray(p.start, p.start + p.captured);
    if (p.corrupt) bytes = Buffer.from(bytes.map((b) => b ^ (1 + int(255))));
    t.markFed(p.start, bytes);
    r.segment(p.side, t.seq(p.start), peer.seq(peer.ackable), ACK | PSH, bytes, p.end - p.start);
  }
  for (const side of [0, 1] as const) {
    const t = truth[side];
    const peer = truth[side === 0 ? 1 : 0];
    r.segment(side, t.seq(t.original.length), peer.seq(peer.ackable), FIN | ACK, EMPTY, 0);
  }
  // Each side acknowledges the other's FIN, which takes a sequence number of its own.
  for (const side of [0, 1] as const) {
    const t = truth[side];
    const peer = truth[side === 0 ? 1 : 0];
    r.segment(
      side,
      t.seq(t.original.length + 1),
      peer.seq(peer.original.length + 1),
      ACK,
      EMPTY,
      0,
    );
  }
  r.close();
  return { reassembler: r, truth };
}

test('no loss: any segmentation, order within a window and duplicates give the stream back whole', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const { reassembler, truth } = runScenario({
      seed,
      drop: 0,
      cut: 0,
      dupes: seed % 3,
      corrupt: false,
    });
    const s = reassembler.stats;
    for (const side of [0, 1] as const) {
      const t = truth[side]!;
      assert.equal(t.at, t.original.length, `seed ${seed} side ${side}`);
      assert.equal(s.deliveredBytes[side], t.original.length);
      assert.ok(t.ended);
    }
    assert.equal(s.gaps, 0, `seed ${seed}`);
    assert.equal(s.bufferedBytes, 0);
  }
});

test('drops and snaplen cuts: data and gaps line up with the original offsets', () => {
  let gaps = 0;
  for (let seed = 1001; seed <= 1300; seed++) {
    const { reassembler, truth } = runScenario({
      seed,
      drop: 0.05,
      cut: 0.03,
      dupes: seed % 2,
      corrupt: false,
    });
    for (const side of [0, 1] as const) {
      const t = truth[side]!;
      assert.equal(t.at, t.original.length, `seed ${seed} side ${side}: data + gaps = stream`);
      assert.ok(t.ended);
    }
    gaps += reassembler.stats.gaps;
  }
  assert.ok(gaps > 100, `drops produced gaps (${gaps})`);
});

test('conflicting retransmissions: the first captured copy of every byte wins', () => {
  let conflicts = 0;
  for (let seed = 2001; seed <= 2200; seed++) {
    const { reassembler, truth } = runScenario({
      seed,
      drop: 0.02,
      cut: 0,
      dupes: 1,
      corrupt: true,
    });
    for (const t of truth) assert.equal(t.at, t.original.length, `seed ${seed}`);
    conflicts += reassembler.stats.overlapConflicts;
  }
  assert.ok(conflicts > 100, `held copies met differing bytes (${conflicts})`);
});

test('tight limits: evictions turn holes into gaps, never bytes already carried', () => {
  let evictions = 0;
  for (let seed = 3001; seed <= 3200; seed++) {
    const { reassembler, truth } = runScenario({
      seed,
      drop: 0.03,
      cut: 0.01,
      dupes: 1,
      corrupt: false,
      limits: { maxBufferedPerSide: 3000, maxSegmentsPerSide: 6 },
    });
    for (const t of truth) assert.equal(t.at, t.original.length, `seed ${seed}`);
    assert.ok(reassembler.stats.bufferedBytes === 0);
    evictions += reassembler.stats.evictions;
  }
  assert.ok(evictions > 100, `limits were hit (${evictions})`);
});

test('the consumer letting go mid-stream: nothing more is delivered, each side still ends once', () => {
  for (let seed = 4001; seed <= 4100; seed++) {
    const stopAfter = rng(seed)() * 5000;
    const { reassembler, truth } = runScenario({
      seed,
      drop: 0.03,
      cut: 0,
      dupes: 1,
      corrupt: false,
      stopAfter,
    });
    for (const t of truth) {
      assert.ok(t.ended, `seed ${seed}`);
      if (t.original.length > stopAfter) assert.ok(t.stopped);
    }
    assert.equal(reassembler.stats.bufferedBytes, 0);
  }
});

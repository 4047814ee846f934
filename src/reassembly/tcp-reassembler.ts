/**
 * Per-connection TCP reassembly in front of a `StreamSniffer`, with Zeek's contract: each side's
 * bytes in order (`data`), the bytes it will never see (`gap`), and `end` exactly once per side.
 *
 *   segment(side, seq, ack, flags, payload, wireLen)
 *     ├─ side not started?   SYN → stream starts at seq + 1; otherwise midstream, at seq
 *     ├─ SYN-ACK             → the peer's stream starts at ack, even if its SYN was missed
 *     ├─ ACK                 → peer's bytes below ack that are neither delivered nor buffered were
 *     │                        missed by the capture: gap them, deliver what follows (Zeek)
 *     ├─ RST                 → close(): gap the holes, deliver what is buffered, end both sides
 *     └─ payload             → seq → stream offset (mod 2^32 distance to the next expected byte)
 *          ├─ behind next    → trim the retransmitted part
 *          ├─ at next        → data(view of the borrowed payload), merged with buffered copies
 *          │                   (those came first and win), then the snaplen-cut tail as a gap
 *          └─ ahead of next  → copy into the side's SegmentBuffer; over a limit, give up the hole
 *                              in front (gap) and deliver what becomes contiguous
 *     FIN at offset f        → end(side) once every byte before f is delivered or gapped
 *
 * Side states: Unstarted → Streaming → Closing (FIN seen) → Ended; Streaming/Closing → Ignoring
 * when the consumer's `wants(side)` turns false (buffer freed, payload dropped, end() still comes).
 *
 * Invariants: `next` only grows; every buffered chunk starts after `next` (a chunk that becomes
 * contiguous is delivered at once); `ReassemblyMemory.used` and `stats.bufferedBytes` equal the
 * bytes in the buffers. The in-order path with an empty buffer hands the caller's payload through
 * without allocating.
 */
import type { Side, StreamSniffer } from '../sniff/sniffer.ts';
import type { ReassemblyMemory } from './reassembly-memory.ts';
import { SegmentBuffer } from './segment-buffer.ts';
import { MAX_WINDOW, seqAdd, seqDelta } from './tcp-seq.ts';

/** TCP header flag bits (RFC 9293 §3.1). */
const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;
const SYN_ACK = SYN | ACK;

export interface ReassemblyLimits {
  /** Out-of-order bytes one side may hold (default 256 KiB). */
  maxBufferedPerSide: number;
  /** Out-of-order chunks one side may hold (bounds the cost of an insert; default 1024). */
  maxSegmentsPerSide?: number;
}

const DEFAULT_MAX_SEGMENTS_PER_SIDE = 1024;

export const defaultReassemblyLimits: ReassemblyLimits = {
  maxBufferedPerSide: 256 * 1024,
  maxSegmentsPerSide: DEFAULT_MAX_SEGMENTS_PER_SIDE,
};

/** Per-connection counters (both sides together unless shown per side). */
export interface ReassemblyStats {
  /** gap() calls and the bytes they reported. */
  gaps: number;
  gapBytes: number;
  /** The side's first segment was not its SYN (and no SYN-ACK told where it starts). */
  midstream: [boolean, boolean];
  /** Bytes that arrived again and were dropped because a copy was already delivered or held. */
  retransmittedBytes: number;
  /** Overlaps with held out-of-order bytes whose content differed (the first copy was kept). */
  overlapConflicts: number;
  /** Data segments that arrived ahead of the next expected byte. */
  outOfOrderSegments: number;
  /** Out-of-order bytes held now. */
  bufferedBytes: number;
  /** Bytes reported as gaps because a buffer limit was reached, and how often that happened. */
  evictedBytes: number;
  evictions: number;
  /** Bytes handed to data(), per side. */
  deliveredBytes: [number, number];
  /** Segments with data, SYN or FIN from a side that had already ended. */
  segmentsAfterEnd: number;
  /** Segments (data or FIN) a window or more away from the next expected byte: dropped. */
  implausibleSegments: number;
}

const SideState = {
  /** No segment from this side yet. */
  Unstarted: 0,
  /** Delivering in order; out-of-order bytes wait in the buffer. */
  Streaming: 1,
  /** As Streaming, and the FIN's offset is known (`finAt`). */
  Closing: 2,
  /** The consumer wants nothing more: payload is dropped; end() on FIN, RST or close(). */
  Ignoring: 3,
  /** end() was called. */
  Ended: 4,
} as const;
type SideState = (typeof SideState)[keyof typeof SideState];

/** Where one side's stream stands. Offsets count bytes from the side's first stream byte. */
class SideStream {
  state: SideState = SideState.Unstarted;
  /** Sequence number of offset 0: the byte after the SYN, or the first byte seen midstream. */
  base = 0;
  /** Offset of the next byte to deliver. */
  next = 0;
  /** Offset of the FIN (in Closing). */
  finAt = 0;
  readonly buffer = new SegmentBuffer();

  get delivering(): boolean {
    return this.state === SideState.Streaming || this.state === SideState.Closing;
  }

  /** Offset of `seq`, taken as the nearest one (mod 2^32) to the next expected byte. */
  offsetOf(seq: number): number {
    return this.next + seqDelta(seq, this.base + this.next);
  }
}

const EMPTY = Buffer.alloc(0);

export class TcpReassembler {
  readonly #consumer: StreamSniffer;
  readonly #memory: ReassemblyMemory;
  readonly #maxBufferedPerSide: number;
  readonly #maxSegmentsPerSide: number;
  readonly #sides: [SideStream, SideStream] = [new SideStream(), new SideStream()];
  readonly #stats: ReassemblyStats = {
    gaps: 0,
    gapBytes: 0,
    midstream: [false, false],
    retransmittedBytes: 0,
    overlapConflicts: 0,
    outOfOrderSegments: 0,
    bufferedBytes: 0,
    evictedBytes: 0,
    evictions: 0,
    deliveredBytes: [0, 0],
    segmentsAfterEnd: 0,
    implausibleSegments: 0,
  };

  constructor(
    consumer: StreamSniffer,
    memory: ReassemblyMemory,
    limits: ReassemblyLimits = defaultReassemblyLimits,
  ) {
    this.#consumer = consumer;
    this.#memory = memory;
    this.#maxBufferedPerSide = limits.maxBufferedPerSide;
    this.#maxSegmentsPerSide = limits.maxSegmentsPerSide ?? DEFAULT_MAX_SEGMENTS_PER_SIDE;
  }

  get stats(): Readonly<ReassemblyStats> {
    return this.#stats;
  }

  /**
   * False once `side`'s payload bytes are no longer looked at (its consumer stopped wanting them, or
   * it ended): `segment` may then be given an empty payload with the real `wireLen`.
   */
  reads(side: Side): boolean {
    const state = this.#sides[side].state;
    return state !== SideState.Ignoring && state !== SideState.Ended;
  }

  /** Both sides ended (FIN, RST or close()): a new SYN on the same addresses is a new connection. */
  get closed(): boolean {
    return this.#sides[0].state === SideState.Ended && this.#sides[1].state === SideState.Ended;
  }

  /**
   * One TCP segment from `side` (0 = client/initiator, 1 = server). `payload`: the captured payload
   * bytes (borrowed); `wireLen`: payload length on the wire (> payload.length when the snaplen cut
   * it). `flags`: the TCP flag byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16).
   */
  segment(
    side: Side,
    seq: number,
    ack: number,
    flags: number,
    payload: Buffer,
    wireLen: number,
  ): void {
    const me = this.#sides[side];
    if (me.state === SideState.Ended) {
      if (payload.length > 0 || wireLen > 0 || (flags & (SYN | FIN)) !== 0) {
        this.#stats.segmentsAfterEnd++;
      }
      // Its ACK may still tell about the peer's missing bytes (a half-closed connection).
    } else if (me.state === SideState.Unstarted) {
      if ((flags & SYN) !== 0) this.#start(me, side, seqAdd(seq, 1), false);
      else this.#start(me, side, seq, true);
    }
    const peerSide: Side = side === 0 ? 1 : 0;
    const peer = this.#sides[peerSide];
    if ((flags & SYN_ACK) === SYN_ACK && peer.state === SideState.Unstarted) {
      // The SYN-ACK acknowledges the peer's ISN: its stream starts at `ack` (RFC 9293 §3.5).
      this.#start(peer, peerSide, ack, false);
    }
    if ((flags & ACK) !== 0) this.#acknowledged(peer, peerSide, ack);
    if ((flags & RST) !== 0) {
      // RFC 9293 §3.10.7: a reset aborts both directions. Data on a RST is diagnostic text
      // (RFC 9293 §3.5.3), not stream bytes: it is not delivered.
      this.close();
      return;
    }
    if (me.state === SideState.Ignoring) {
      if ((flags & FIN) !== 0) this.#end(me, side);
    } else if (me.delivering) {
      this.#accept(me, side, seq, flags, payload, wireLen);
    }
  }

  /**
   * The flow ended (idle, evicted, end of input, RST): report the holes as gaps, deliver what is
   * buffered, end both sides (once). Idempotent.
   */
  close(): void {
    this.#flush(this.#sides[0], 0);
    this.#flush(this.#sides[1], 1);
  }

  #start(st: SideStream, side: Side, base: number, midstream: boolean): void {
    st.base = base;
    st.next = 0;
    st.state = SideState.Streaming;
    this.#stats.midstream[side] = midstream;
  }

  /** Payload and FIN of a delivering side. */
  #accept(
    st: SideStream,
    side: Side,
    seq: number,
    flags: number,
    payload: Buffer,
    wireLen: number,
  ): void {
    if (!this.#stillWanted(st, side)) {
      if ((flags & FIN) !== 0) this.#end(st, side);
      return;
    }
    // Data on a SYN (TCP Fast Open, RFC 7413) follows the SYN's own sequence number.
    const offset = st.offsetOf(seq) + ((flags & SYN) !== 0 ? 1 : 0);
    const ahead = offset - st.next;
    if (ahead >= MAX_WINDOW || ahead <= -MAX_WINDOW) {
      this.#stats.implausibleSegments++;
      return;
    }
    let capturedEnd = offset + payload.length;
    let wireEnd = offset + Math.max(wireLen, payload.length);
    if ((flags & FIN) !== 0 && st.state === SideState.Streaming) {
      // The FIN occupies the sequence number after the data (RFC 9293 §3.4). The first FIN counts.
      st.state = SideState.Closing;
      st.finAt = wireEnd;
    }
    if (st.state === SideState.Closing) {
      // Nothing follows a FIN: bytes past it are not stream data.
      if (wireEnd > st.finAt) wireEnd = st.finAt;
      if (capturedEnd > st.finAt) capturedEnd = st.finAt;
    }
    const captured = capturedEnd - offset;
    if (captured > 0) {
      if (ahead > 0) this.#stats.outOfOrderSegments++;
      this.#place(
        st,
        side,
        captured === payload.length ? payload : payload.subarray(0, captured),
        offset,
      );
    }
    // Snaplen cut: once the captured part is delivered, the rest of the segment is a known gap.
    // An out-of-order cut segment leaves its tail as a hole (an ACK or close() reports it).
    if (wireEnd > capturedEnd && st.next >= capturedEnd && st.delivering) {
      this.#advanceTo(st, side, wireEnd);
    }
    this.#settle(st, side);
  }

  /** Places `data` (stream offsets from `start`; borrowed) relative to what was delivered. */
  #place(st: SideStream, side: Side, data: Buffer, start: number): void {
    for (;;) {
      if (start < st.next) {
        const old = Math.min(start + data.length, st.next) - start;
        this.#stats.retransmittedBytes += old;
        if (old === data.length) return;
        data = data.subarray(old);
        start = st.next;
      }
      if (start === st.next) {
        this.#merge(st, side, data, start);
        return;
      }
      const buffer = st.buffer;
      buffer.measure(start, start + data.length);
      const bytes = buffer.measuredBytes;
      if (
        bytes === 0 ||
        (buffer.bytes + bytes <= this.#maxBufferedPerSide &&
          buffer.count + buffer.measuredPieces <= this.#maxSegmentsPerSide &&
          this.#memory.fits(bytes))
      ) {
        buffer.insert(start, data, this.#stats);
        this.#memory.used += bytes;
        this.#stats.bufferedBytes += bytes;
        return;
      }
      // Over a limit: stop waiting for the nearest hole (before the first held chunk, or before
      // this segment when that comes first or nothing is held), deliver what becomes contiguous,
      // and try again. Each round delivers this segment or frees at least one held chunk.
      const skipTo = Math.min(start, buffer.firstStart);
      const hole = skipTo - st.next;
      this.#stats.evictions++;
      this.#stats.evictedBytes += hole;
      this.#memory.evictions++;
      this.#memory.evictedBytes += hole;
      if (!this.#gap(st, side, hole) || !this.#drain(st, side)) return;
    }
  }

  /**
   * Delivers `data` (which starts at `next`; borrowed) merged with the held chunks it reaches:
   * where both cover a range the held copy came first and wins. Then delivers every held chunk
   * that became contiguous. Returns false when the consumer stopped wanting this side.
   */
  #merge(st: SideStream, side: Side, data: Buffer, start: number): boolean {
    const end = start + data.length;
    const buffer = st.buffer;
    for (;;) {
      const heldStart = buffer.firstStart;
      const limit = end < heldStart ? end : heldStart;
      if (st.next < limit) {
        const from = st.next - start;
        const view = from === 0 && limit === end ? data : data.subarray(from, limit - start);
        if (!this.#deliver(st, side, view)) return false;
      }
      if (heldStart > st.next) return true;
      const chunk = buffer.shift();
      this.#memory.used -= chunk.length;
      this.#stats.bufferedBytes -= chunk.length;
      const overlapEnd = Math.min(end, st.next + chunk.length);
      if (overlapEnd > st.next) {
        const from = st.next - start;
        const overlap = overlapEnd - st.next;
        this.#stats.retransmittedBytes += overlap;
        if (chunk.compare(data, from, from + overlap, 0, overlap) !== 0) {
          this.#stats.overlapConflicts++;
        }
      }
      if (!this.#deliver(st, side, chunk)) return false;
    }
  }

  /** Delivers the held chunks that are contiguous with `next`. */
  #drain(st: SideStream, side: Side): boolean {
    return this.#merge(st, side, EMPTY, st.next);
  }

  /** Moves `next` to `target`: holes become gaps, held chunks on the way are delivered. */
  #advanceTo(st: SideStream, side: Side, target: number): void {
    while (st.next < target) {
      const holeEnd = Math.min(target, st.buffer.firstStart);
      if (holeEnd > st.next && !this.#gap(st, side, holeEnd - st.next)) return;
      if (!this.#drain(st, side)) return;
    }
  }

  /**
   * The other side acknowledged `ack` for `st`'s stream. Bytes below it that were neither delivered
   * nor buffered crossed the wire without the capture seeing them (Zeek's content gap).
   */
  #acknowledged(st: SideStream, side: Side, ack: number): void {
    if (!st.delivering) return;
    let target = st.offsetOf(ack);
    // The FIN takes a sequence number of its own (RFC 9293 §3.4): acknowledging it is not data.
    if (st.state === SideState.Closing && target > st.finAt) target = st.finAt;
    const ahead = target - st.next;
    if (ahead <= 0 || ahead >= MAX_WINDOW) return;
    if (!this.#stillWanted(st, side)) return;
    this.#advanceTo(st, side, target);
    this.#settle(st, side);
  }

  #deliver(st: SideStream, side: Side, bytes: Buffer): boolean {
    st.next += bytes.length;
    this.#stats.deliveredBytes[side] += bytes.length;
    this.#consumer.data(side, bytes);
    return this.#stillWanted(st, side);
  }

  #gap(st: SideStream, side: Side, bytes: number): boolean {
    st.next += bytes;
    this.#stats.gaps++;
    this.#stats.gapBytes += bytes;
    this.#consumer.gap(side, bytes);
    return this.#stillWanted(st, side);
  }

  /** Asks the consumer; when it wants no more, frees the side's buffer and stops delivering. */
  #stillWanted(st: SideStream, side: Side): boolean {
    if (this.#consumer.wants(side)) return true;
    this.#release(st);
    // A side whose FIN was seen has nothing more coming: end it now rather than at close().
    if (st.state === SideState.Closing) this.#end(st, side);
    else st.state = SideState.Ignoring;
    return false;
  }

  /** Ends the side once its FIN is reached. */
  #settle(st: SideStream, side: Side): void {
    if (st.state === SideState.Closing && st.next >= st.finAt) this.#end(st, side);
  }

  /** close() for one side: the holes before the last held byte (and before a FIN) are gaps. */
  #flush(st: SideStream, side: Side): void {
    if (st.delivering && this.#stillWanted(st, side)) {
      const target = st.state === SideState.Closing ? st.finAt : st.buffer.lastEnd;
      this.#advanceTo(st, side, target);
    }
    this.#end(st, side);
  }

  #end(st: SideStream, side: Side): void {
    if (st.state === SideState.Ended) return;
    this.#release(st);
    st.state = SideState.Ended;
    this.#consumer.end(side);
  }

  #release(st: SideStream): void {
    const freed = st.buffer.clear();
    this.#memory.used -= freed;
    this.#stats.bufferedBytes -= freed;
  }
}

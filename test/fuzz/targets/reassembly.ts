/**
 * TCP reassembly: a connection's segments (from the corpus) reordered, duplicated, overlapped,
 * dropped, re-flagged and shifted, through TcpReassembler into the real protocol detector and
 * sniffers. The StreamSniffer contract is checked on the way (no data after end, end once per side,
 * no empty data or gap, both sides ended after close()).
 */
import { ReassemblyMemory } from '../../../src/reassembly/reassembly-memory.ts';
import { TcpReassembler } from '../../../src/reassembly/tcp-reassembler.ts';
import { ProtocolDetector, snifferFactories } from '../../../src/sniff/protocol-detector.ts';
import type { Side, StreamSniffer } from '../../../src/sniff/sniffer.ts';
import { fuzzContext, InvariantError } from '../check.ts';
import { havoc } from '../mutators.ts';
import type { Prng } from '../prng.ts';
import type { Seeds } from '../seeds.ts';
import type { Target } from '../target.ts';

interface Segment {
  side: Side;
  flags: number;
  seq: number;
  ack: number;
  wireLen: number;
  payload: Buffer;
}

interface Input {
  serverPort: number;
  segments: Segment[];
}

const HEADER = 18;

function encode(input: Input): Buffer {
  const parts: Buffer[] = [Buffer.of(input.serverPort >> 8, input.serverPort & 0xff)];
  for (const s of input.segments) {
    const h = Buffer.alloc(HEADER);
    h[0] = s.side;
    h[1] = s.flags;
    h.writeUInt32BE(s.seq >>> 0, 2);
    h.writeUInt32BE(s.ack >>> 0, 6);
    h.writeUInt32BE(s.wireLen >>> 0, 10);
    h.writeUInt32BE(s.payload.length, 14);
    parts.push(h, s.payload);
  }
  return Buffer.concat(parts);
}

function decode(bin: Buffer): Input {
  const serverPort = bin.length >= 2 ? bin.readUInt16BE(0) : 80;
  const segments: Segment[] = [];
  for (let i = 2; i + HEADER <= bin.length;) {
    const len = bin.readUInt32BE(i + 14);
    const payload = bin.subarray(i + HEADER, Math.min(bin.length, i + HEADER + len));
    segments.push({
      side: (bin[i]! & 1) as Side,
      flags: bin[i + 1]!,
      seq: bin.readUInt32BE(i + 2),
      ack: bin.readUInt32BE(i + 6),
      // The wire is never shorter than what was captured, and a snaplen cut is bounded.
      wireLen: Math.max(payload.length, Math.min(bin.readUInt32BE(i + 10), payload.length + 65535)),
      payload,
    });
    i += HEADER + len;
  }
  return { serverPort, segments };
}

/** Reorder / duplicate / overlap / drop / re-flag / shift / cut segments. */
function mutateSegments(rng: Prng, input: Input, other: Input): Input {
  const segs = input.segments.map((s) => ({ ...s }));
  if (segs.length === 0) return other;
  const i = rng.int(segs.length);
  const s = segs[i]!;
  switch (rng.int(10)) {
    case 0: {
      const j = rng.int(segs.length);
      segs[i] = segs[j]!;
      segs[j] = s;
      break;
    }
    case 1:
      segs.splice(rng.int(segs.length + 1), 0, { ...s });
      break;
    case 2: {
      // Overlap: part of the segment again at a shifted seq, with different or same bytes.
      const from = rng.int(s.payload.length + 1);
      const part = Buffer.from(
        s.payload.subarray(from, from + 1 + rng.int(Math.max(1, s.payload.length))),
      );
      if (rng.chance(0.5)) part.fill(0x58);
      const seq = (s.seq + from + rng.small(32) - 16) >>> 0;
      segs.splice(rng.int(segs.length + 1), 0, { ...s, seq, payload: part, wireLen: part.length });
      break;
    }
    case 3:
      segs.splice(i, 1);
      break;
    case 4:
      s.flags ^= rng.pick([0x01, 0x02, 0x04, 0x10, 0x03, 0x12]);
      break;
    case 5:
      s.seq = (s.seq + rng.pick([1, -1, 1 << 30, 2 ** 31, -65536, rng.int(2 ** 32)])) >>> 0;
      break;
    case 6: {
      // Split a segment in two (possibly delivered the other way round).
      if (s.payload.length < 2) break;
      const at = 1 + rng.int(s.payload.length - 1);
      const a = { ...s, payload: s.payload.subarray(0, at), wireLen: at };
      const b = {
        ...s,
        seq: (s.seq + at) >>> 0,
        payload: s.payload.subarray(at),
        wireLen: s.payload.length - at,
      };
      segs.splice(i, 1, ...(rng.chance(0.5) ? [a, b] : [b, a]));
      break;
    }
    case 7:
      // Snaplen cut: the wire had more than was captured.
      s.payload = s.payload.subarray(0, rng.int(s.payload.length + 1));
      break;
    case 8:
      s.payload = havoc(rng, s.payload);
      s.wireLen = s.payload.length;
      break;
    default:
      s.side = s.side === 0 ? 1 : 0;
  }
  return { serverPort: input.serverPort, segments: segs.slice(0, 20000) };
}

class ContractChecker implements StreamSniffer {
  readonly ended = [false, false];
  readonly #inner: StreamSniffer;
  constructor(inner: StreamSniffer) {
    this.#inner = inner;
  }
  data(side: Side, data: Buffer): void {
    if (this.ended[side]) throw new InvariantError('data() after end()');
    if (data.length === 0) throw new InvariantError('empty data()');
    this.#inner.data(side, data);
  }
  gap(side: Side, bytes: number): void {
    if (this.ended[side]) throw new InvariantError('gap() after end()');
    if (!(bytes > 0)) throw new InvariantError(`gap(${bytes})`);
    this.#inner.gap(side, bytes);
  }
  end(side: Side): void {
    if (this.ended[side]) throw new InvariantError('end() twice');
    this.ended[side] = true;
    this.#inner.end(side);
  }
  wants(side: Side): boolean {
    return this.#inner.wants(side);
  }
}

function seeds(c: Seeds): Buffer[] {
  const out: Buffer[] = [];
  for (const conn of c.connections) {
    const bytes = conn.segments.reduce((n, s) => n + s.payload.length, 0);
    if (bytes > 128 * 1024 || out.length >= 64) continue;
    out.push(
      encode({
        serverPort: conn.serverPort,
        segments: conn.segments.map((s) => ({ ...s, wireLen: s.payload.length })),
      }),
    );
  }
  return out;
}

export const reassembly: Target = {
  name: 'reassembly',
  about:
    'TCP reassembly (reorder, duplicates, overlaps, losses, flags, seq wrap) into the sniffers',
  seeds,
  mutate(rng, input, other) {
    let x = decode(input);
    for (let k = 1 + rng.small(3); k > 0; k--) x = mutateSegments(rng, x, decode(other));
    return encode(x);
  },
  run(input) {
    const { serverPort, segments } = decode(input);
    const ctx = fuzzContext({ serverPort });
    const checker = new ContractChecker(new ProtocolDetector(ctx, snifferFactories));
    const r = new TcpReassembler(checker, new ReassemblyMemory(4 << 20), {
      maxBufferedPerSide: 256 * 1024,
    });
    for (const s of segments) {
      ctx.tick();
      const copy = Buffer.from(s.payload);
      r.segment(s.side, s.seq, s.ack, s.flags, r.reads(s.side) ? copy : Buffer.alloc(0), s.wireLen);
      copy.fill(0xee);
    }
    r.close();
    if (!checker.ended[0] || !checker.ended[1])
      throw new InvariantError('a side not ended after close()');
  },
};

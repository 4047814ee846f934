/**
 * The offline reader (classic pcap and pcapng, plain or gzip, read from a stream in small chunks
 * so records cross window boundaries) feeding the whole pipeline. Input: the capture file bytes.
 * Only TG_ERR_INPUT_FORMAT / TG_ERR_INPUT_OPEN may escape (documented by openCaptureFile).
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { openCaptureFile } from '../../../src/capture/open-capture.ts';
import { havoc, lengthValue } from '../mutators.ts';
import { newPipeline } from '../pipeline.ts';
import type { Prng } from '../prng.ts';
import type { Target } from '../target.ts';

type Endian = 'le' | 'be';

function u32(b: Buffer, at: number, e: Endian): number {
  return e === 'le' ? b.readUInt32LE(at) : b.readUInt32BE(at);
}
function w32(b: Buffer, at: number, v: number, e: Endian): void {
  const x = ((v % 2 ** 32) + 2 ** 32) % 2 ** 32;
  if (e === 'le') b.writeUInt32LE(x, at);
  else b.writeUInt32BE(x, at);
}

interface Layout {
  kind: 'pcap' | 'pcapng';
  endian: Endian;
  /** Record / block offsets. */
  offsets: number[];
}

function layout(b: Buffer): Layout | null {
  if (b.length < 24) return null;
  const m = b.readUInt32LE(0);
  if (m === 0xa1b2c3d4 || m === 0xa1b23c4d || m === 0xd4c3b2a1 || m === 0x4d3cb2a1) {
    const endian: Endian = m === 0xa1b2c3d4 || m === 0xa1b23c4d ? 'le' : 'be';
    const offsets: number[] = [];
    for (let i = 24; i + 16 <= b.length && offsets.length < 100_000;) {
      offsets.push(i);
      i += 16 + u32(b, i + 8, endian);
    }
    return { kind: 'pcap', endian, offsets };
  }
  if (m === 0x0a0d0d0a) {
    const endian: Endian = b.readUInt32LE(8) === 0x1a2b3c4d ? 'le' : 'be';
    const offsets: number[] = [];
    for (let i = 0; i + 12 <= b.length && offsets.length < 100_000;) {
      offsets.push(i);
      const len = u32(b, i + 4, endian);
      if (len < 12) break;
      i += len;
    }
    return { kind: 'pcapng', endian, offsets };
  }
  return null;
}

/** Record lengths (caplen / origlen / block lengths), timestamps, record order, file headers. */
function pcapStructured(rng: Prng, input: Buffer, other: Buffer): Buffer {
  const lay = layout(input);
  if (!lay || lay.offsets.length === 0) return havoc(rng, input, other);
  const b = Buffer.from(input);
  const e = lay.endian;
  const i = rng.pick(lay.offsets);
  const next = lay.offsets[lay.offsets.indexOf(i) + 1] ?? b.length;
  const r = rng.int(8);
  if (r === 0) {
    // Drop, duplicate or move a whole record / block.
    const rec = b.subarray(i, next);
    const rest = Buffer.concat([b.subarray(0, i), b.subarray(next)]);
    const at = rng.pick(lay.offsets);
    const copies = rng.chance(0.3) ? rng.pick([2, 50]) : rng.chance(0.5) ? 1 : 0;
    const ins = Buffer.concat(Array.from({ length: copies }, () => rec));
    const pos = Math.min(at, rest.length);
    return Buffer.concat([rest.subarray(0, pos), ins, rest.subarray(pos)]);
  }
  if (r === 1) {
    // The file header: snaplen, link type, version.
    if (lay.kind === 'pcap') {
      const at = rng.pick([4, 6, 16, 20]);
      w32(b, at, rng.pick([0, 1, 101, 113, 276, 0xffff, 0x7fffffff, 0xffffffff, 96]), e);
    } else {
      const at = rng.pick([8, 12, 16, 20]);
      w32(b, at, rng.pick([0, 0xffffffff, 1, 0x1a2b3c4d]), e);
    }
    return b;
  }
  if (i + 16 > b.length) return b;
  if (lay.kind === 'pcap') {
    switch (r) {
      case 2:
      case 3:
        w32(b, i + 8, lengthValue(rng, u32(b, i + 8, e), 4), e);
        return b;
      case 4:
        w32(b, i + 12, lengthValue(rng, u32(b, i + 12, e), 4), e);
        return b;
      case 5:
        w32(b, i + 4, rng.pick([999_999, 1_000_000, 0xffffffff]), e);
        return b;
      default:
        return Buffer.concat([
          b.subarray(0, i + 16),
          havoc(rng, b.subarray(i + 16, next)),
          b.subarray(next),
        ]);
    }
  }
  switch (r) {
    case 2:
      w32(b, i + 4, lengthValue(rng, u32(b, i + 4, e), 4), e);
      return b;
    case 3: {
      // The trailing copy of the block length, or an EPB's captured length.
      if (rng.chance(0.5) && next - 4 >= i + 8)
        w32(b, next - 4, lengthValue(rng, u32(b, next - 4, e), 4), e);
      else if (i + 24 <= b.length) w32(b, i + 20, lengthValue(rng, u32(b, i + 20, e), 4), e);
      return b;
    }
    case 4:
      w32(b, i, rng.pick([1, 2, 3, 5, 6, 0x0a0d0d0a, 0x80000001, 0]), e);
      return b;
    case 5:
      // EPB interface id, or an IDB's link type / snaplen.
      w32(b, i + 8, rng.pick([0, 1, 7, 0xffffffff, 101]), e);
      return b;
    default:
      return Buffer.concat([
        b.subarray(0, i + 8),
        havoc(rng, b.subarray(i + 8, next)),
        b.subarray(next),
      ]);
  }
}

function chunked(input: Buffer): Buffer[] {
  // Stream pieces of a length derived from the input, so replay is exact.
  const piece = 1 + (((input.length * 2654435761) >>> 0) % 3000);
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i += piece) out.push(input.subarray(i, i + piece));
  return out;
}

export const pcap: Target = {
  name: 'pcap',
  about: 'pcap / pcapng / gzip reader in small windows, feeding the whole pipeline',
  allowedErrors: ['TG_ERR_INPUT_FORMAT', 'TG_ERR_INPUT_OPEN'],
  seeds: (c) => c.files.filter((f) => f.bytes.length <= 96 * 1024).map((f) => f.bytes),
  mutate(rng, input, other) {
    let b = input;
    for (let k = 1 + rng.small(3); k > 0; k--) b = pcapStructured(rng, b, other);
    if (rng.chance(0.03)) {
      const z = gzipSync(b, { level: 1 });
      return rng.chance(0.5) ? z : z.subarray(0, rng.int(z.length + 1));
    }
    return b;
  },
  async run(input) {
    const piece = 1 + (((input.length * 40503) >>> 0) % 65536);
    const src = await openCaptureFile('-', {
      stdin: Readable.from(chunked(input)),
      chunkBytes: piece,
      headroomBytes: 1024,
      mmap: false,
    });
    const p = newPipeline();
    await src.run(p.stage);
    p.stage.finish();
  },
};

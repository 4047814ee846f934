/**
 * Generic byte mutators (AFL-style) and the chunk-list encoding the stream targets share.
 *
 * A stream input is a list of chunks `{ side, data }` (what reassembly hands a sniffer); it is
 * stored as bytes (`encodeChunks`) so a crash file replays without the mutator that made it.
 */
import type { Prng } from './prng.ts';

export const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff];
export const INTERESTING_16 = [0x0000, 0x0001, 0x007f, 0x0080, 0x00ff, 0x7fff, 0x8000, 0xffff];
export const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 0xffff];

/** Largest input a mutator lets grow (keeps memory and per-input time reasonable). */
export const MAX_INPUT_BYTES = 1 << 20;

function clampLen(b: Buffer): Buffer {
  return b.length > MAX_INPUT_BYTES ? b.subarray(0, MAX_INPUT_BYTES) : b;
}

/** One random generic mutation of a copy of `input`; `other` is the splice partner. */
export function mutateBytes(rng: Prng, input: Buffer, other?: Buffer): Buffer {
  const b = Buffer.from(input);
  const n = b.length;
  switch (rng.int(9)) {
    case 0: {
      // Bit flips.
      if (n === 0) return Buffer.of(rng.int(256));
      for (let k = 1 + rng.small(7); k > 0; k--) b[rng.int(n)]! ^= 1 << rng.int(8);
      return b;
    }
    case 1: {
      if (n === 0) return Buffer.of(rng.pick(INTERESTING_8));
      b[rng.int(n)] = rng.pick(INTERESTING_8);
      return b;
    }
    case 2: {
      if (n < 2) return b;
      const at = rng.int(n - 1);
      const v = rng.pick(INTERESTING_16);
      if (rng.chance(0.5)) b.writeUInt16BE(v, at);
      else b.writeUInt16LE(v, at);
      return b;
    }
    case 3: {
      if (n < 4) return b;
      const at = rng.int(n - 3);
      const v = rng.pick(INTERESTING_32);
      if (rng.chance(0.5)) b.writeUInt32BE(v >>> 0, at);
      else b.writeUInt32LE(v >>> 0, at);
      return b;
    }
    case 4: {
      // Delete a range.
      if (n === 0) return b;
      const at = rng.int(n);
      const len = 1 + rng.small(Math.min(n - at, 256) - 1);
      return Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
    }
    case 5: {
      // Insert random bytes.
      const at = rng.int(n + 1);
      const ins = Buffer.alloc(1 + rng.small(63));
      for (let i = 0; i < ins.length; i++) ins[i] = rng.int(256);
      return clampLen(Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]));
    }
    case 6: {
      // Duplicate a range (repeats headers, records, frames).
      if (n === 0) return b;
      const from = rng.int(n);
      const len = 1 + rng.small(Math.min(n - from, 4096) - 1);
      const times = 1 + rng.small(15);
      const at = rng.int(n + 1);
      const dup = Buffer.concat(Array.from({ length: times }, () => b.subarray(from, from + len)));
      return clampLen(Buffer.concat([b.subarray(0, at), dup, b.subarray(at)]));
    }
    case 7: {
      // Splice: our head, the other input's tail.
      if (!other || other.length === 0) return b;
      const at = rng.int(n + 1);
      const from = rng.int(other.length);
      return clampLen(Buffer.concat([b.subarray(0, at), other.subarray(from)]));
    }
    default: {
      // Truncate.
      return b.subarray(0, rng.int(n + 1));
    }
  }
}

/** Applies 1..`max` stacked generic mutations. */
export function havoc(rng: Prng, input: Buffer, other?: Buffer, max = 4): Buffer {
  let b = input;
  for (let k = 1 + rng.small(max - 1); k > 0; k--) b = mutateBytes(rng, b, other);
  return b;
}

/** Adds `delta` to the big-endian unsigned integer of `width` bytes at `at` (wrapping). */
export function nudgeBE(b: Buffer, at: number, width: 1 | 2 | 3 | 4, value: number): void {
  if (at < 0 || at + width > b.length) return;
  const max = 2 ** (8 * width);
  const v = ((value % max) + max) % max;
  b.writeUIntBE(v, at, width);
}

/** A length-like value: off by one, zero, huge, or random. */
export function lengthValue(rng: Prng, current: number, width: 1 | 2 | 3 | 4): number {
  const max = 2 ** (8 * width) - 1;
  switch (rng.int(6)) {
    case 0:
      return current + 1;
    case 1:
      return current - 1;
    case 2:
      return 0;
    case 3:
      return max;
    case 4:
      return current + rng.small(64) - 32;
    default:
      return rng.int(max + 1);
  }
}

export interface Chunk {
  side: 0 | 1;
  data: Buffer;
}

/** [side u8][length u32 BE][bytes] per chunk. */
export function encodeChunks(chunks: readonly Chunk[]): Buffer {
  const parts: Buffer[] = [];
  for (const c of chunks) {
    const h = Buffer.alloc(5);
    h[0] = c.side;
    h.writeUInt32BE(c.data.length, 1);
    parts.push(h, c.data);
  }
  return Buffer.concat(parts);
}

/** Inverse of `encodeChunks`; lenient (a cut last chunk keeps what is there). */
export function decodeChunks(bin: Buffer): Chunk[] {
  const out: Chunk[] = [];
  let i = 0;
  while (i + 5 <= bin.length) {
    const side = (bin[i]! & 1) as 0 | 1;
    const len = bin.readUInt32BE(i + 1);
    out.push({ side, data: bin.subarray(i + 5, Math.min(bin.length, i + 5 + len)) });
    i += 5 + len;
  }
  return out;
}

/** Joins each side's bytes and re-cuts them at random points (a new segmentation, same streams). */
export function recut(rng: Prng, chunks: readonly Chunk[]): Chunk[] {
  const out: Chunk[] = [];
  for (const c of chunks) {
    let off = 0;
    while (off < c.data.length) {
      const len = rng.chance(0.2) ? 1 : 1 + rng.int(Math.max(1, c.data.length - off));
      out.push({ side: c.side, data: c.data.subarray(off, off + len) });
      off += len;
    }
  }
  return out;
}

/** Merges adjacent chunks of the same side (the streams a structure-aware mutator edits). */
export function coalesce(chunks: readonly Chunk[]): Chunk[] {
  const out: Chunk[] = [];
  for (const c of chunks) {
    const last = out.at(-1);
    if (last?.side === c.side) last.data = Buffer.concat([last.data, c.data]);
    else out.push({ side: c.side, data: Buffer.from(c.data) });
  }
  return out;
}

/**
 * Mutates a chunk list: a generic mutation of one chunk, chunk-level edits (drop, duplicate,
 * swap, flip side), a resegmentation, or `structured` applied to one chunk.
 */
export function mutateChunks(
  rng: Prng,
  chunks: readonly Chunk[],
  other: readonly Chunk[],
  structured: ((rng: Prng, data: Buffer, side: 0 | 1) => Buffer) | null,
): Chunk[] {
  const out = chunks.map((c) => ({ side: c.side, data: c.data }));
  if (out.length === 0) return [{ side: 0, data: Buffer.from(other[0]?.data ?? Buffer.of(0)) }];
  const i = rng.int(out.length);
  const c = out[i]!;
  const r = rng.int(structured ? 10 : 7);
  switch (r) {
    case 0:
      out.splice(i, 1);
      return out;
    case 1:
      out.splice(i, 0, { side: c.side, data: c.data });
      return out;
    case 2: {
      const j = rng.int(out.length);
      out[i] = out[j]!;
      out[j] = c;
      return out;
    }
    case 3:
      c.side = c.side === 0 ? 1 : 0;
      return out;
    case 4:
      return recut(rng, coalesce(out));
    case 5: {
      const o = other.length > 0 ? rng.pick(other) : c;
      out.splice(rng.int(out.length + 1), 0, { side: o.side, data: o.data });
      return out;
    }
    case 6: {
      const o = other.length > 0 ? rng.pick(other).data : undefined;
      c.data = havoc(rng, c.data, o);
      return out;
    }
    default: {
      // Structure-aware edits work on the whole side stream (message boundaries are in it).
      const merged = coalesce(out);
      const k = rng.int(merged.length);
      merged[k]!.data = structured!(rng, merged[k]!.data, merged[k]!.side);
      return rng.chance(0.5) ? recut(rng, merged) : merged;
    }
  }
}

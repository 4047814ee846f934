/**
 * Link / IPv4 / IPv6 / TCP / UDP decoding: frames (from the corpus) with mutated headers, in
 * memory through the flow stage and the sniff stage (so fragments, flows and sniffers see them).
 * Input: frames as [linkType u16][tsSec u32][length u32][bytes].
 */
import { PacketDecoder } from '../../../src/decode/packet-decoder.ts';
import { havoc, INTERESTING_16, INTERESTING_8 } from '../mutators.ts';
import { frameView, newPipeline } from '../pipeline.ts';
import type { Prng } from '../prng.ts';
import type { Seeds } from '../seeds.ts';
import type { Target } from '../target.ts';

interface Frame {
  linkType: number;
  tsSec: number;
  data: Buffer;
}

function encode(frames: readonly Frame[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of frames) {
    const h = Buffer.alloc(10);
    h.writeUInt16BE(f.linkType & 0xffff, 0);
    h.writeUInt32BE(f.tsSec >>> 0, 2);
    h.writeUInt32BE(f.data.length, 6);
    parts.push(h, f.data);
  }
  return Buffer.concat(parts);
}

function decode(bin: Buffer): Frame[] {
  const out: Frame[] = [];
  for (let i = 0; i + 10 <= bin.length;) {
    const len = bin.readUInt32BE(i + 6);
    out.push({
      linkType: bin.readUInt16BE(i),
      tsSec: bin.readUInt32BE(i + 2),
      data: bin.subarray(i + 10, Math.min(bin.length, i + 10 + len)),
    });
    i += 10 + len;
  }
  return out;
}

const LINK_TYPES = [0, 1, 12, 14, 101, 108, 113, 276, 228, 229, 147];
const decoder = new PacketDecoder();

/** Header-region mutations: bytes before the payload, IP/TCP length and fragment fields, VLANs. */
function mutateFrame(rng: Prng, f: Frame, other: Frame): Frame {
  const data = Buffer.from(f.data);
  decoder.decode(data, 0, data.length, f.linkType);
  const hdrEnd = Math.max(1, Math.min(data.length, decoder.payloadOffset || data.length));
  switch (rng.int(7)) {
    case 0: {
      const at = rng.int(hdrEnd);
      if (at < data.length) data[at] = rng.chance(0.5) ? rng.pick(INTERESTING_8) : rng.int(256);
      return { ...f, data };
    }
    case 1: {
      const at = rng.int(hdrEnd);
      if (at + 2 <= data.length) data.writeUInt16BE(rng.pick(INTERESTING_16), at);
      return { ...f, data };
    }
    case 2:
      return { ...f, linkType: rng.pick(LINK_TYPES) };
    case 3: {
      // An 802.1Q / QinQ tag after the MACs (Ethernet).
      if (data.length < 14) return f;
      const tag = rng.pick([
        Buffer.of(0x81, 0x00, 0, 1),
        Buffer.of(0x88, 0xa8, 0, 2, 0x81, 0x00, 0, 3),
      ]);
      const tags = Buffer.concat(Array.from({ length: rng.chance(0.1) ? 100 : 1 }, () => tag));
      return { ...f, data: Buffer.concat([data.subarray(0, 12), tags, data.subarray(12)]) };
    }
    case 4: {
      // IP fragment fields: MF and offsets on an IPv4 header, if one is where Ethernet puts it.
      const ip = f.linkType === 1 ? 14 : 0;
      if (data.length >= ip + 20 && data[ip]! >> 4 === 4) {
        data.writeUInt16BE(rng.pick([0x2000, 0x2001, 0x0001, 0x1fff, 0x3fff, 0x4000]), ip + 6);
      }
      return { ...f, data };
    }
    case 5:
      return { ...f, data: data.subarray(0, rng.int(data.length + 1)) };
    default:
      return { ...f, data: havoc(rng, data, other.data) };
  }
}

function seeds(c: Seeds): Buffer[] {
  // One seed per capture: its first 64 frames (a few connections, handshakes, DNS, fragments).
  const out: Buffer[] = [];
  let batch: Frame[] = [];
  for (const f of c.frames) {
    batch.push({ linkType: f.linkType, tsSec: 1_700_000_000, data: f.data });
    if (batch.length === 48) {
      out.push(encode(batch));
      batch = [];
    }
  }
  if (batch.length > 0) out.push(encode(batch));
  return out.slice(0, 128);
}

export const decodeTarget: Target = {
  name: 'decode',
  about: 'link / IP / TCP / UDP decoding through the flow and sniff stages (frames in memory)',
  seeds,
  mutate(rng, input, other) {
    const frames = decode(input);
    const others = decode(other);
    if (frames.length === 0) return other;
    for (let k = 1 + rng.small(4); k > 0; k--) {
      const i = rng.int(frames.length);
      const r = rng.int(10);
      if (r === 0) frames.splice(i, 1);
      else if (r === 1) frames.splice(i, 0, frames[i]!);
      else if (r === 2)
        frames[i] = {
          ...frames[i]!,
          tsSec: (frames[i]!.tsSec + rng.pick([-1, 600, 86400, 2 ** 31])) >>> 0,
        };
      else
        frames[i] = mutateFrame(rng, frames[i]!, others.length > 0 ? rng.pick(others) : frames[i]!);
    }
    return encode(frames.slice(0, 4096));
  },
  run(input) {
    const p = newPipeline();
    for (const f of decode(input)) {
      p.stage.onFrame(frameView(Buffer.from(f.data), f.linkType, f.tsSec));
    }
    p.stage.finish();
  },
};

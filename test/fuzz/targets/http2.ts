/** HTTP/2 sniffer: frame reader, streams, HPACK decoder. */
import { createHttp2Sniffer, HTTP2_PREFACE } from '../../../src/sniff/http2/http2-sniffer.ts';
import { havoc, lengthValue, nudgeBE, type Chunk } from '../mutators.ts';
import type { Prng } from '../prng.ts';
import { streamSeeds, type Seeds } from '../seeds.ts';
import { streamTarget } from '../stream-target.ts';

/** Offsets of the frames in one side's stream (after the client preface). */
function frameOffsets(data: Buffer): number[] {
  const out: number[] = [];
  let i = data.subarray(0, HTTP2_PREFACE.length).equals(HTTP2_PREFACE) ? HTTP2_PREFACE.length : 0;
  while (i + 9 <= data.length && out.length < 4096) {
    out.push(i);
    i += 9 + data.readUIntBE(i, 3);
  }
  return out;
}

/** HPACK sequences that stress integers, indices, table size updates and string lengths. */
const HPACK_EVIL: Buffer[] = [
  Buffer.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), // huge indexed integer
  Buffer.of(0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), // over-long integer
  Buffer.of(0x80), // index 0
  Buffer.of(0xbe), // first dynamic index (table probably empty)
  Buffer.of(0xff, 0x00), // index 127
  Buffer.of(0x3f, 0xe1, 0xff, 0xff, 0x0f), // table size update to ~4 GiB
  Buffer.of(0x20), // table size update to 0
  Buffer.of(0x40, 0x7f, 0xff, 0xff, 0xff, 0x0f), // literal, huge name length
  Buffer.of(0x40, 0x81, 0xff), // Huffman name, 1 byte of all-ones (EOS padding)
  Buffer.of(0x40, 0x84, 0xff, 0xff, 0xff, 0xff), // Huffman with EOS
  Buffer.of(0x00, 0x01, 0x3a, 0x01, 0x61), // name ':'
  Buffer.of(0x10, 0x00, 0x00), // never-indexed empty name
  Buffer.concat([Buffer.of(0x40, 0x7f, 0x81, 0x7f), Buffer.alloc(16257, 0x61), Buffer.of(0x00)]),
];

function withPayload(data: Buffer, at: number, payload: Buffer): Buffer {
  const len = data.readUIntBE(at, 3);
  const head = Buffer.from(data.subarray(at, at + 9));
  head.writeUIntBE(Math.min(payload.length, 0xffffff), 0, 3);
  return Buffer.concat([data.subarray(0, at), head, payload, data.subarray(at + 9 + len)]);
}

/** Frame length / type / flags / stream id, HPACK integers and indices, CONTINUATION splits. */
export function http2Structured(rng: Prng, input: Buffer): Buffer {
  const offsets = frameOffsets(input);
  if (offsets.length === 0) return havoc(rng, input);
  const at = rng.pick(offsets);
  const data = Buffer.from(input);
  const len = data.readUIntBE(at, 3);
  const payload = data.subarray(at + 9, at + 9 + len);
  switch (rng.int(8)) {
    case 0:
      nudgeBE(data, at, 3, lengthValue(rng, len, 3));
      return data;
    case 1:
      data[at + 3] = rng.chance(0.7) ? rng.int(10) : rng.int(256);
      return data;
    case 2:
      data[at + 4] = rng.chance(0.5) ? 0xff : rng.int(256);
      return data;
    case 3:
      data.writeUInt32BE(
        rng.pick([0, 1, 2, 3, 0x7fffffff, 0x80000001, rng.int(2 ** 31)]) >>> 0,
        at + 5,
      );
      return data;
    case 4: {
      // HPACK: an evil sequence into a header block.
      const off = rng.int(payload.length + 1);
      const evil = rng.pick(HPACK_EVIL);
      return withPayload(
        data,
        at,
        Buffer.concat([
          payload.subarray(0, off),
          evil,
          payload.subarray(rng.chance(0.5) ? off : Math.min(payload.length, off + evil.length)),
        ]),
      );
    }
    case 5: {
      // Split a frame's payload into a HEADERS (END_HEADERS cleared) + CONTINUATION pair, or many.
      if (len < 2) return data;
      const cut = 1 + rng.int(len - 1);
      const h1 = Buffer.from(data.subarray(at, at + 9));
      h1.writeUIntBE(cut, 0, 3);
      h1[4]! &= ~0x04;
      const h2 = Buffer.from(data.subarray(at, at + 9));
      h2.writeUIntBE(len - cut, 0, 3);
      h2[3] = 0x09;
      h2[4] = rng.chance(0.8) ? 0x04 : 0;
      return Buffer.concat([
        data.subarray(0, at),
        h1,
        payload.subarray(0, cut),
        ...Array.from({ length: rng.chance(0.2) ? 200 : 0 }, () =>
          Buffer.of(0, 0, 0, 9, 0, ...data.subarray(at + 5, at + 9)),
        ),
        h2,
        payload.subarray(cut),
        data.subarray(at + 9 + len),
      ]);
    }
    case 6: {
      // Duplicate a frame many times (SETTINGS / PING / RST floods, stream id reuse).
      const frame = data.subarray(at, at + 9 + len);
      const n = rng.pick([2, 10, 1000]);
      return Buffer.concat([
        data.subarray(0, at),
        ...Array.from({ length: n }, () => frame),
        data.subarray(at),
      ]);
    }
    default:
      return withPayload(data, at, havoc(rng, payload));
  }
}

function h2Seeds(c: Seeds): Chunk[][] {
  return streamSeeds(c, (client) => client.includes(HTTP2_PREFACE)).map((chunks) => {
    // h2c upgrade: drop the HTTP/1 part (the http1 target covers it) so the streams start as
    // the HTTP/2 sniffer expects them.
    const client = Buffer.concat(chunks.filter((k) => k.side === 0).map((k) => k.data));
    const server = Buffer.concat(chunks.filter((k) => k.side === 1).map((k) => k.data));
    const c0 = client.subarray(client.indexOf(HTTP2_PREFACE));
    let s0 = server;
    if (server.toString('latin1', 0, 12) === 'HTTP/1.1 101') {
      const end = server.indexOf('\r\n\r\n');
      s0 = server.subarray(end < 0 ? 0 : end + 4);
    }
    return [
      { side: 0, data: c0 },
      { side: 1, data: s0 },
    ];
  });
}

export const http2 = streamTarget({
  name: 'http2',
  about: 'HTTP/2 sniffer (frames, streams, HPACK)',
  seeds: h2Seeds,
  make: (ctx) => createHttp2Sniffer(ctx, null),
  structured: http2Structured,
});

/** WebSocket: the HTTP/1 upgrade hands over to the WebSocket sniffer (frames, sampling). */
import { Http1Sniffer } from '../../../src/sniff/http1/http1-sniffer.ts';
import { snifferFactories } from '../../../src/sniff/protocol-detector.ts';
import { havoc } from '../mutators.ts';
import type { Prng } from '../prng.ts';
import { streamSeeds } from '../seeds.ts';
import { dialogue, streamTarget } from '../stream-target.ts';

const HEAD_END = Buffer.from('\r\n\r\n');

/** Offsets of the frames after the upgrade head of one side's stream. */
function frameOffsets(data: Buffer): number[] {
  const head = data.indexOf(HEAD_END);
  const out: number[] = [];
  let i = head < 0 ? 0 : head + 4;
  while (i + 2 <= data.length && out.length < 4096) {
    out.push(i);
    const b1 = data[i + 1]!;
    let len = b1 & 0x7f;
    let hdr = 2;
    if (len === 126) {
      if (i + 4 > data.length) break;
      len = data.readUInt16BE(i + 2);
      hdr = 4;
    } else if (len === 127) {
      if (i + 10 > data.length) break;
      len = Number(data.readBigUInt64BE(i + 2) & 0xffffffffn);
      hdr = 10;
    }
    if (b1 & 0x80) hdr += 4;
    i += hdr + len;
  }
  return out;
}

/** Opcodes, FIN/RSV bits, mask bit, 7/16/64-bit lengths, fragmentation, control frame sizes. */
export function wsStructured(rng: Prng, input: Buffer): Buffer {
  const offsets = frameOffsets(input);
  if (offsets.length === 0) return havoc(rng, input);
  const at = rng.pick(offsets);
  const data = Buffer.from(input);
  switch (rng.int(6)) {
    case 0:
      data[at] = (data[at]! & 0xf0) | rng.pick([0, 1, 2, 3, 8, 9, 10, 11, 15]);
      return data;
    case 1:
      data[at]! ^= rng.pick([0x80, 0x40, 0x20, 0x10]);
      return data;
    case 2:
      data[at + 1]! ^= 0x80;
      return data;
    case 3: {
      // Rewrite the length as 126 + 16-bit or 127 + 64-bit, big or inconsistent.
      const mask = data[at + 1]! & 0x80;
      const ext = rng.chance(0.5)
        ? Buffer.of(mask | 126, ...[rng.int(256), rng.int(256)])
        : Buffer.concat([
            Buffer.of(mask | 127),
            Buffer.from(
              rng.pick([
                '7fffffffffffffff',
                'ffffffffffffffff',
                '0000000000000005',
                '0000000100000000',
              ]),
              'hex',
            ),
          ]);
      return Buffer.concat([data.subarray(0, at + 1), ext, data.subarray(at + 2)]);
    }
    case 4: {
      // A flood of tiny frames (ping / continuation / close).
      const op = rng.pick([0x89, 0x8a, 0x00, 0x88, 0x01]);
      const frame = Buffer.of(op, 0x80 | 1, 1, 2, 3, 4, 0x61);
      return Buffer.concat([
        data.subarray(0, at),
        ...Array.from({ length: rng.pick([3, 100, 2000]) }, () => frame),
        data.subarray(at),
      ]);
    }
    default:
      return Buffer.concat([data.subarray(0, at), havoc(rng, data.subarray(at))]);
  }
}

export const websocket = streamTarget({
  name: 'websocket',
  about: 'WebSocket sniffer behind an HTTP/1 upgrade (frames, masking, sampling)',
  seeds: (c) =>
    streamSeeds(c, (client) => /upgrade:\s*websocket/i.test(client.toString('latin1', 0, 2048))),
  extraSeeds: [
    [
      ...dialogue(
        'GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
      ),
      {
        side: 0,
        data: Buffer.of(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58),
      },
      {
        side: 1,
        data: Buffer.of(
          0x01,
          0x03,
          0x48,
          0x65,
          0x6c,
          0x80,
          0x02,
          0x6c,
          0x6f,
          0x88,
          0x02,
          0x03,
          0xe8,
        ),
      },
    ],
  ],
  config: { websocketFrames: true, websocketSampleRate: -1 },
  make: (ctx) => new Http1Sniffer(ctx, snifferFactories),
  structured: wsStructured,
});

/**
 * QUIC Initial sniffer. Inputs are datagram lists. Besides header-level mutations of protected
 * packets (versions, connection id / token / length fields, coalescing, truncation), the mutator
 * builds fresh Initial packets around mutated CRYPTO frames and protects them with the real
 * Initial keys, so mutations reach the frame parser and the ClientHello parser behind the AEAD.
 */
import { createCipheriv } from 'node:crypto';
import { deriveInitialSecrets } from '../../../src/sniff/quic/quic-initial-keys.ts';
import { QuicInitialSniffer } from '../../../src/sniff/quic/quic-initial-sniffer.ts';
import { QUIC_V1, QUIC_V2, quicVersionParams } from '../../../src/sniff/quic/quic-version.ts';
import { fuzzContext } from '../check.ts';
import { decodeChunks, encodeChunks, havoc, mutateChunks, type Chunk } from '../mutators.ts';
import type { Prng } from '../prng.ts';
import { streamSeeds, type Seeds } from '../seeds.ts';
import type { Target } from '../target.ts';
import { tlsStructured } from './tls.ts';

function varint(n: number): Buffer {
  if (n < 0x40) return Buffer.of(n);
  if (n < 0x4000) return Buffer.of(0x40 | (n >> 8), n & 0xff);
  const b = Buffer.alloc(4);
  b.writeUInt32BE((0x80000000 | n) >>> 0);
  return b;
}

function cryptoFrame(offset: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.of(0x06), varint(offset), varint(data.length), data]);
}

/** A protected client Initial (AES-128-GCM, AES header protection), as RFC 9001 §5 builds it. */
export function protectInitial(
  version: number,
  dcid: Buffer,
  pn: number,
  frames: Buffer,
  size = 1200,
): Buffer {
  const params = quicVersionParams(version) ?? quicVersionParams(QUIC_V1)!;
  const keys = deriveInitialSecrets(params, dcid).client;
  const pnLength = 2;
  const first = 0xc0 | ((version === QUIC_V2 ? 1 : 0) << 4) | (pnLength - 1);
  const vb = Buffer.alloc(4);
  vb.writeUInt32BE(version >>> 0);
  const prefix = Buffer.concat([
    Buffer.of(first),
    vb,
    Buffer.of(dcid.length),
    dcid,
    Buffer.of(0),
    varint(0),
  ]);
  const fixed = prefix.length + 2 + pnLength + 16;
  const padding = Math.max(size - fixed - frames.length, 4 - pnLength, 0);
  const plaintext = Buffer.concat([frames, Buffer.alloc(padding)]);
  const length = Math.min(pnLength + plaintext.length + 16, 0x3fff);
  const pnBytes = Buffer.alloc(4);
  pnBytes.writeUInt32BE(pn >>> 0);
  const aad = Buffer.concat([
    prefix,
    Buffer.of(0x40 | (length >> 8), length & 0xff),
    pnBytes.subarray(4 - pnLength),
  ]);
  const nonce = Buffer.from(keys.iv);
  for (let i = 0; i < 4; i++) nonce[nonce.length - 1 - i]! ^= pnBytes[3 - i]!;
  const aead = createCipheriv('aes-128-gcm', keys.key, nonce);
  aead.setAAD(aad);
  const sealed = Buffer.concat([aead.update(plaintext), aead.final(), aead.getAuthTag()]);
  const packet = Buffer.concat([aad, sealed]);
  const pnOffset = aad.length - pnLength;
  const sample = packet.subarray(pnOffset + 4, pnOffset + 20);
  const mask = createCipheriv('aes-128-ecb', keys.hp, null).setAutoPadding(false).update(sample);
  packet[0]! ^= mask[0]! & 0x0f;
  for (let i = 0; i < pnLength; i++) packet[pnOffset + i]! ^= mask[1 + i]!;
  return packet;
}

/** ClientHello handshake messages (header included) the builder wraps; filled by `seeds`. */
const hellos: Buffer[] = [];

const DCID = Buffer.from('8394c8f03e515708', 'hex');

/** A fresh protected Initial carrying a (mutated) ClientHello in (mutated) CRYPTO frames. */
function buildInitial(rng: Prng): Buffer {
  let hello = hellos.length > 0 ? rng.pick(hellos) : Buffer.of(1, 0, 0, 0);
  if (rng.chance(0.5)) {
    // Mutate it as a TLS record body, then strip the record header again.
    const rec = Buffer.concat([Buffer.of(22, 3, 1, hello.length >> 8, hello.length & 0xff), hello]);
    const m = tlsStructured(rng, rec);
    hello = m.subarray(5);
  }
  const frames: Buffer[] = [];
  // CRYPTO frames covering the hello, possibly out of order, overlapping, or far away.
  let off = 0;
  while (off < hello.length) {
    const n = 1 + rng.int(hello.length - off);
    frames.push(cryptoFrame(off, hello.subarray(off, off + n)));
    off += n;
  }
  if (rng.chance(0.3)) frames.reverse();
  if (rng.chance(0.2))
    frames.push(
      cryptoFrame(rng.pick([1 << 20, 0x3fffffff, 65535, 1]), Buffer.alloc(rng.int(40), 0x61)),
    );
  if (rng.chance(0.2))
    frames.splice(
      rng.int(frames.length + 1),
      0,
      Buffer.of(rng.pick([0x01, 0x02, 0x1c, 0x08, 0x1e, 0x40, 0xff])),
    );
  if (rng.chance(0.2))
    frames.splice(rng.int(frames.length + 1), 0, Buffer.of(0x02, 0x00, 0x00, 0x00, 0x00)); // ACK
  const version = rng.chance(0.8) ? QUIC_V1 : QUIC_V2;
  const dcid = rng.chance(0.8) ? DCID : Buffer.alloc(rng.int(21), rng.int(256));
  return protectInitial(
    version,
    dcid,
    rng.int(1000),
    Buffer.concat(frames),
    rng.pick([1200, 1200, 1350, 200]),
  );
}

/** Long-header fields of a protected packet: version, CID lengths, token and length varints. */
function quicStructured(rng: Prng, input: Buffer): Buffer {
  const data = Buffer.from(input);
  if (rng.chance(0.3) || data.length < 7) return buildInitial(rng);
  switch (rng.int(6)) {
    case 0:
      data.writeUInt32BE(
        rng.pick([0, QUIC_V1, QUIC_V2, 0xff00001d, 0x0a0a0a0a, 0xffffffff]) >>> 0,
        1,
      );
      return data;
    case 1:
      data[5] = rng.pick([0, 8, 20, 21, 255]);
      return data;
    case 2: {
      // The token length / length varints come after the CIDs.
      const dl = data[5]!;
      const at = 6 + dl + 1 + (data[6 + dl] ?? 0);
      const v = rng.pick([
        Buffer.of(0x3f),
        Buffer.of(0x7f, 0xff),
        Buffer.of(0xbf, 0xff, 0xff, 0xff),
        Buffer.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
        Buffer.of(0),
      ]);
      if (at + v.length <= data.length) v.copy(data, at + (rng.chance(0.5) ? 0 : 1));
      return data;
    }
    case 3:
      data[0] = rng.pick([0xc0, 0xd0, 0xe0, 0xf0, 0x40, 0xff, data[0]! ^ 0x30]);
      return data;
    case 4:
      // Coalesce with a fresh packet, or with itself.
      return Buffer.concat([data, rng.chance(0.5) ? data : buildInitial(rng)]);
    default:
      return havoc(rng, data);
  }
}

function seeds(c: Seeds): Buffer[] {
  hellos.length = 0;
  for (const chunks of streamSeeds(c, (client) => client[0] === 0x16 && client[5] === 1)) {
    const client = Buffer.concat(chunks.filter((k) => k.side === 0).map((k) => k.data));
    const n = client.readUIntBE(6, 3);
    if (9 + n <= client.length && n < 4000 && hellos.length < 16)
      hellos.push(client.subarray(5, 9 + n));
  }
  const out: Chunk[][] = [];
  const rng = { seed: 1 };
  for (let i = 0; i < Math.max(1, hellos.length); i++) {
    const hello = hellos[i] ?? Buffer.of(1, 0, 0, 0);
    const half = hello.length >> 1;
    out.push([{ side: 0, data: protectInitial(QUIC_V1, DCID, rng.seed++, cryptoFrame(0, hello)) }]);
    out.push([
      { side: 0, data: protectInitial(QUIC_V2, DCID, 0, cryptoFrame(half, hello.subarray(half))) },
      { side: 0, data: protectInitial(QUIC_V2, DCID, 1, cryptoFrame(0, hello.subarray(0, half))) },
    ]);
  }
  return out.map(encodeChunks);
}

export const quic: Target = {
  name: 'quic',
  about: 'QUIC Initial sniffer (long headers, versions, Initial keys, CRYPTO frames, ClientHello)',
  seeds,
  mutate(rng, input, other) {
    return encodeChunks(
      mutateChunks(rng, decodeChunks(input), decodeChunks(other), quicStructured),
    );
  },
  run(input) {
    const ctx = fuzzContext({ network: 'udp', serverPort: 443 });
    const q = new QuicInitialSniffer(ctx);
    for (const d of decodeChunks(input)) {
      ctx.tick();
      const copy = Buffer.from(d.data);
      q.datagram(d.side, copy);
      copy.fill(0xee);
    }
    q.end();
  },
};

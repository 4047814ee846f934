/** TLS sniffer: records, handshake reassembly, ClientHello / ServerHello / certificates. */
import { TlsSniffer } from '../../../src/sniff/tls/tls-sniffer.ts';
import { havoc, lengthValue, nudgeBE } from '../mutators.ts';
import type { Prng } from '../prng.ts';
import { streamSeeds } from '../seeds.ts';
import { streamTarget } from '../stream-target.ts';

/** Offsets of the records in one side's stream. */
export function recordOffsets(data: Buffer): number[] {
  const out: number[] = [];
  let i = 0;
  while (i + 5 <= data.length && out.length < 4096) {
    out.push(i);
    i += 5 + data.readUInt16BE(i + 3);
  }
  return out;
}

/**
 * Offsets of plausible 2-byte length fields inside a ClientHello / ServerHello body: every
 * position where a 16-bit value fits in what follows (extension lengths are among them).
 */
function lengthFields(body: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i + 2 <= body.length; i++) {
    const v = body.readUInt16BE(i);
    if (v > 0 && v <= body.length - i - 2) out.push(i);
  }
  return out;
}

/** Record / handshake / extension lengths, record types, re-fragmenting a handshake. */
export function tlsStructured(rng: Prng, input: Buffer): Buffer {
  const offsets = recordOffsets(input);
  if (offsets.length === 0) return havoc(rng, input);
  const at = rng.pick(offsets);
  const data = Buffer.from(input);
  const len = data.readUInt16BE(at + 3);
  const body = data.subarray(at + 5, at + 5 + len);
  switch (rng.int(7)) {
    case 0:
      nudgeBE(data, at + 3, 2, lengthValue(rng, len, 2));
      return data;
    case 1:
      data[at] = rng.pick([20, 21, 22, 23, 24, 0, 0xff]);
      return data;
    case 2:
      // Handshake length (24 bits) of the first message.
      if (data[at] === 22 && len >= 4)
        nudgeBE(data, at + 6, 3, lengthValue(rng, body.readUIntBE(1, 3), 3));
      return data;
    case 3: {
      // An inner length (session id, cipher suites, extensions, one extension, SNI list, …).
      const fields = lengthFields(body);
      if (fields.length === 0) return data;
      const f = rng.pick(fields);
      nudgeBE(data, at + 5 + f, 2, lengthValue(rng, body.readUInt16BE(f), 2));
      return data;
    }
    case 4: {
      // Re-fragment this record's body into many small records (handshake across records).
      if (len === 0) return data;
      const parts: Buffer[] = [data.subarray(0, at)];
      for (let off = 0; off < len;) {
        const n = 1 + rng.small(Math.min(len - off, 64) - 1);
        const h = Buffer.from(data.subarray(at, at + 5));
        h.writeUInt16BE(n, 3);
        parts.push(h, body.subarray(off, off + n));
        off += n;
      }
      parts.push(data.subarray(at + 5 + len));
      return Buffer.concat(parts);
    }
    case 5:
      data.writeUInt16BE(rng.pick([0x0300, 0x0301, 0x0303, 0x0304, 0x7f1c, 0xfefd, 0]), at + 1);
      return data;
    default: {
      const mutated = havoc(rng, body);
      const h = Buffer.from(data.subarray(at, at + 5));
      h.writeUInt16BE(Math.min(mutated.length, 0xffff), 3);
      return Buffer.concat([data.subarray(0, at), h, mutated, data.subarray(at + 5 + len)]);
    }
  }
}

export const tls = streamTarget({
  name: 'tls',
  about: 'TLS sniffer (records, handshakes, hellos, certificates, fingerprints)',
  seeds: (c) => streamSeeds(c, (client) => client[0] === 0x16),
  endpoints: { serverPort: 443 },
  make: (ctx) => new TlsSniffer(ctx),
  structured: tlsStructured,
});

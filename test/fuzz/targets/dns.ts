/**
 * DNS: each input is a list of messages; they go to the UDP sniffer as datagrams and to the TCP
 * sniffer as one length-prefixed stream per side (cut where the chunks are cut).
 */
import {
  DnsDatagramSniffer,
  DnsStreamSniffer,
  looksLikeDnsMessage,
} from '../../../src/sniff/dns/dns-sniffer.ts';
import { fuzzContext } from '../check.ts';
import {
  decodeChunks,
  encodeChunks,
  havoc,
  INTERESTING_16,
  mutateChunks,
  type Chunk,
} from '../mutators.ts';
import type { Prng } from '../prng.ts';
import type { Seeds } from '../seeds.ts';
import { feed } from '../stream-target.ts';
import type { Target } from '../target.ts';

/** Header counts, compression pointers (loops, forward, out of range), label lengths, flags. */
export function dnsStructured(rng: Prng, input: Buffer): Buffer {
  const data = Buffer.from(input);
  if (data.length < 12) return havoc(rng, data);
  switch (rng.int(6)) {
    case 0: {
      const at = 4 + 2 * rng.int(4);
      data.writeUInt16BE(rng.chance(0.5) ? rng.pick(INTERESTING_16) : rng.int(300), at);
      return data;
    }
    case 1: {
      // A compression pointer somewhere in the body: to itself, backwards, forwards, past the end.
      const at = 12 + rng.int(Math.max(1, data.length - 13));
      const target = rng.pick([
        at,
        12,
        at - 2,
        at + 2,
        data.length + 5,
        0x3fff,
        rng.int(data.length),
      ]);
      if (at + 2 <= data.length) data.writeUInt16BE(0xc000 | (target & 0x3fff), at);
      return data;
    }
    case 2: {
      const at = 12 + rng.int(data.length - 12);
      data[at] = rng.pick([0, 1, 63, 64, 0x40, 0x80, 0xc0, 0xff]);
      return data;
    }
    case 3:
      data[2] = rng.int(256);
      data[3] = rng.int(256);
      return data;
    case 4: {
      // A 16-bit value that looks like a length (rdlength, option length): off by one or huge.
      const fields: number[] = [];
      for (let i = 12; i + 2 <= data.length; i++) {
        const v = data.readUInt16BE(i);
        if (v > 0 && v <= data.length - i - 2) fields.push(i);
      }
      if (fields.length === 0) return data;
      const f = rng.pick(fields);
      data.writeUInt16BE((data.readUInt16BE(f) + rng.pick([1, -1, 0x8000, 0xffff])) & 0xffff, f);
      return data;
    }
    default:
      return havoc(rng, data);
  }
}

function frame(msg: Buffer): Buffer {
  const h = Buffer.alloc(2);
  h.writeUInt16BE(Math.min(msg.length, 0xffff));
  return Buffer.concat([h, msg]);
}

function seeds(c: Seeds): Buffer[] {
  const out: Chunk[][] = [];
  for (const u of c.udp) {
    if (u.datagrams.some((d) => looksLikeDnsMessage(d.data))) out.push(u.datagrams.slice(0, 32));
  }
  for (const conn of c.connections) {
    if (conn.serverPort !== 53) continue;
    const msgs: Chunk[] = [];
    for (const side of [0, 1] as const) {
      const s = Buffer.concat(conn.chunks.filter((k) => k.side === side).map((k) => k.data));
      for (let i = 0; i + 2 <= s.length;) {
        const n = s.readUInt16BE(i);
        msgs.push({ side, data: s.subarray(i + 2, i + 2 + n) });
        i += 2 + n;
      }
    }
    out.push(msgs);
  }
  return out.slice(0, 64).map(encodeChunks);
}

export const dns: Target = {
  name: 'dns',
  about: 'DNS over UDP and TCP (framing, names, compression, rdata, EDNS, SVCB, pairing)',
  seeds,
  mutate(rng: Prng, input: Buffer, other: Buffer): Buffer {
    return encodeChunks(mutateChunks(rng, decodeChunks(input), decodeChunks(other), dnsStructured));
  },
  run(input: Buffer): void {
    const msgs = decodeChunks(input);
    const udp = fuzzContext({ network: 'udp', serverPort: 53 });
    const d = new DnsDatagramSniffer(udp);
    for (const m of msgs) {
      udp.tick();
      const copy = Buffer.from(m.data);
      d.datagram(m.side, copy);
      copy.fill(0xee);
    }
    d.end();
    const tcp = fuzzContext({ network: 'tcp', serverPort: 53 });
    feed(
      tcp,
      new DnsStreamSniffer(tcp),
      msgs.map((m) => ({ side: m.side, data: frame(m.data) })),
    );
  },
};

/**
 * A SYN-flood-shaped capture, written fast enough for a test: `synFlows` one-packet flows, each
 * from its own source address and port, interleaved with `longFlows` legitimate connections that
 * keep sending data through the whole flood. Frames are Ethernet/IPv4/TCP built from one template
 * per kind with the varying fields patched in; checksums stay zero (tapgate does not check them).
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export interface FloodSpec {
  synFlows: number;
  longFlows: number;
  /** Payload bytes per data segment of a long flow. */
  segmentBytes: number;
  /** One long-flow segment after every this many SYNs. */
  synsPerSegment: number;
  /** Leave the SYNs out (the legitimate traffic alone, at the same times): a reference capture. */
  omitFlood?: boolean;
}

export interface LongFlow {
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  /** Payload bytes the flow sent in the capture. */
  bytes: number;
}

export interface FloodCapture {
  packets: number;
  longFlows: LongFlow[];
}

const ETH = 14;
const IP = 20;
const TCP_HDR = 20;
const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;
const START_SEC = 1_700_000_000;
const WRITE_CHUNK = 4 * 1024 * 1024;
const FLOOD_TARGET = [192, 0, 2, 1];
const SERVER = [192, 0, 2, 2];

function frameTemplate(payloadBytes: number, flags: number): Buffer {
  const f = Buffer.alloc(ETH + IP + TCP_HDR + payloadBytes);
  f.writeUInt16BE(0x0800, 12);
  f[ETH] = 0x45;
  f.writeUInt16BE(IP + TCP_HDR + payloadBytes, ETH + 2);
  f[ETH + 8] = 64;
  f[ETH + 9] = 6;
  f[ETH + IP + 12] = (TCP_HDR / 4) << 4;
  f[ETH + IP + 13] = flags;
  f.writeUInt16BE(65535, ETH + IP + 14);
  f.fill(0x61, ETH + IP + TCP_HDR);
  return f;
}

function setTcp(
  f: Buffer,
  src: number[],
  sport: number,
  dst: number[],
  dport: number,
  seq: number,
): void {
  for (let i = 0; i < 4; i++) {
    f[ETH + 12 + i] = src[i]!;
    f[ETH + 16 + i] = dst[i]!;
  }
  f.writeUInt16BE(sport, ETH + IP);
  f.writeUInt16BE(dport, ETH + IP + 2);
  f.writeUInt32BE(seq >>> 0, ETH + IP + 4);
}

/** Writes the capture to `path` (classic pcap, microseconds, Ethernet). */
export function writeFloodCapture(path: string, spec: FloodSpec): FloodCapture {
  const fd = openSync(path, 'w');
  const out = Buffer.alloc(WRITE_CHUNK + 4096);
  let pos = 0;
  let packets = 0;
  const flush = (): void => {
    writeSync(fd, out, 0, pos);
    pos = 0;
  };
  let slot = 0; // one packet slot per microsecond, used or not
  const put = (frame: Buffer): void => {
    const usec = slot++;
    out.writeUInt32LE(START_SEC + Math.floor(usec / 1e6), pos);
    out.writeUInt32LE(usec % 1e6, pos + 4);
    out.writeUInt32LE(frame.length, pos + 8);
    out.writeUInt32LE(frame.length, pos + 12);
    frame.copy(out, pos + 16);
    pos += 16 + frame.length;
    packets++;
    if (pos >= WRITE_CHUNK) flush();
  };
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  header.copy(out, 0);
  pos = header.length;

  const syn = frameTemplate(0, SYN);
  const data = frameTemplate(spec.segmentBytes, ACK | PSH);
  const longFlows: LongFlow[] = [];
  const seqs: number[] = [];
  for (let l = 0; l < spec.longFlows; l++) {
    const flow = {
      clientIp: `198.51.100.${l + 1}`,
      clientPort: 40000 + l,
      serverIp: SERVER.join('.'),
      serverPort: 443,
      bytes: 0,
    };
    longFlows.push(flow);
    seqs.push(1000 * (l + 1));
    setTcp(syn, [198, 51, 100, l + 1], flow.clientPort, SERVER, 443, seqs[l]!);
    put(syn);
    seqs[l]! += 1;
  }
  let next = 0;
  for (let i = 0; i < spec.synFlows; i++) {
    if (spec.omitFlood === true) {
      slot++;
    } else {
      setTcp(
        syn,
        [10, (i >> 16) & 255, (i >> 8) & 255, i & 255],
        1024 + (i % 60000),
        FLOOD_TARGET,
        80,
        i,
      );
      put(syn);
    }
    if (spec.longFlows > 0 && (i + 1) % spec.synsPerSegment === 0) {
      const l = next;
      next = (next + 1) % spec.longFlows;
      const flow = longFlows[l]!;
      setTcp(data, [198, 51, 100, l + 1], flow.clientPort, SERVER, 443, seqs[l]!);
      put(data);
      seqs[l]! += spec.segmentBytes;
      flow.bytes += spec.segmentBytes;
    }
  }
  flush();
  closeSync(fd);
  return { packets, longFlows };
}

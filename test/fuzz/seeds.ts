/**
 * Seeds from the shared corpus, extracted by our own pipeline (no tshark): the raw capture files,
 * their frames, each TCP connection's segments and reassembled streams, and each UDP flow's
 * datagrams. Loaded once per process.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCaptureFile } from '../../src/capture/open-capture.ts';
import type { FrameView } from '../../src/capture/frame.ts';
import { DecodeIssue } from '../../src/decode/decode-errors.ts';
import { IpProto, PacketDecoder, TcpFlag } from '../../src/decode/packet-decoder.ts';
import { ReassemblyMemory } from '../../src/reassembly/reassembly-memory.ts';
import { TcpReassembler } from '../../src/reassembly/tcp-reassembler.ts';
import type { Side, StreamSniffer } from '../../src/sniff/sniffer.ts';
import type { Chunk } from './mutators.ts';

export const CORPUS_DIR = join(import.meta.dirname, '../../../shared/corpus/captures');

export interface SeedFrame {
  linkType: number;
  data: Buffer;
}

export interface SeedSegment {
  side: Side;
  seq: number;
  ack: number;
  flags: number;
  payload: Buffer;
}

export interface SeedConnection {
  capture: string;
  serverPort: number;
  clientPort: number;
  segments: SeedSegment[];
  /** The reassembled streams, as our reassembler delivered them. */
  chunks: Chunk[];
}

export interface SeedUdpFlow {
  capture: string;
  serverPort: number;
  datagrams: Chunk[];
}

export interface Seeds {
  files: { name: string; bytes: Buffer }[];
  frames: SeedFrame[];
  connections: SeedConnection[];
  udp: SeedUdpFlow[];
}

let cached: Promise<Seeds> | null = null;

export function loadSeeds(): Promise<Seeds> {
  cached ??= load();
  return cached;
}

async function readFrames(path: string): Promise<SeedFrame[]> {
  const frames: SeedFrame[] = [];
  const src = await openCaptureFile(path, { mmap: false });
  await src.run({
    onFrame(f: FrameView) {
      frames.push({
        linkType: f.iface.linkType,
        data: Buffer.from(f.data.subarray(f.offset, f.offset + f.capLen)),
      });
    },
    drain() {},
  });
  return frames;
}

class ChunkRecorder implements StreamSniffer {
  readonly chunks: Chunk[] = [];
  data(side: Side, data: Buffer): void {
    this.chunks.push({ side, data: Buffer.from(data) });
  }
  gap(): void {}
  end(): void {}
  wants(): boolean {
    return true;
  }
}

async function load(): Promise<Seeds> {
  const names = readdirSync(CORPUS_DIR)
    .filter((n) => /\.(pcap|pcapng|cap)$/.test(n))
    .sort();
  const files = names.map((name) => ({ name, bytes: readFileSync(join(CORPUS_DIR, name)) }));
  const frames: SeedFrame[] = [];
  const connections: SeedConnection[] = [];
  const udp: SeedUdpFlow[] = [];
  const d = new PacketDecoder();
  for (const { name } of files) {
    let fileFrames: SeedFrame[];
    try {
      fileFrames = await readFrames(join(CORPUS_DIR, name));
    } catch {
      continue; // a deliberately broken corpus file: still a file seed
    }
    frames.push(...fileFrames);
    const tcp = new Map<string, SeedConnection>();
    const udpFlows = new Map<string, SeedUdpFlow>();
    for (const f of fileFrames) {
      if (d.decode(f.data, 0, f.data.length, f.linkType) !== DecodeIssue.None) continue;
      if (d.fragment !== 0) continue;
      const src = `${d.ipVersion === 4 ? d.src4 : f.data.toString('hex', d.src6Offset, d.src6Offset + 16)}:${d.srcPort}`;
      const dst = `${d.ipVersion === 4 ? d.dst4 : f.data.toString('hex', d.dst6Offset, d.dst6Offset + 16)}:${d.dstPort}`;
      const captured = Math.max(0, Math.min(d.payloadLen, f.data.length - d.payloadOffset));
      const payload = Buffer.from(f.data.subarray(d.payloadOffset, d.payloadOffset + captured));
      if (d.proto === IpProto.Tcp) {
        let side: Side = 0;
        let c = tcp.get(`${src}>${dst}`);
        if (!c) {
          c = tcp.get(`${dst}>${src}`);
          side = 1;
        }
        if (!c) {
          // The initiator: the SYN sender, else the first sender.
          const synAck = (d.tcpFlags & (TcpFlag.Syn | TcpFlag.Ack)) === (TcpFlag.Syn | TcpFlag.Ack);
          c = {
            capture: name,
            serverPort: synAck ? d.srcPort : d.dstPort,
            clientPort: synAck ? d.dstPort : d.srcPort,
            segments: [],
            chunks: [],
          };
          // Keyed client > server: a SYN-ACK seen first comes from the server.
          tcp.set(synAck ? `${dst}>${src}` : `${src}>${dst}`, c);
          side = synAck ? 1 : 0;
        }
        c.segments.push({ side, seq: d.tcpSeq, ack: d.tcpAck, flags: d.tcpFlags, payload });
      } else if (d.proto === IpProto.Udp && payload.length > 0) {
        let side: 0 | 1 = 0;
        let u = udpFlows.get(`${src}>${dst}`);
        if (!u) {
          u = udpFlows.get(`${dst}>${src}`);
          side = 1;
        }
        if (!u) {
          u = { capture: name, serverPort: d.dstPort, datagrams: [] };
          udpFlows.set(`${src}>${dst}`, u);
          side = 0;
        }
        u.datagrams.push({ side, data: payload });
      }
    }
    for (const c of tcp.values()) {
      if (!c.segments.some((s) => s.payload.length > 0)) continue;
      const rec = new ChunkRecorder();
      const r = new TcpReassembler(rec, new ReassemblyMemory(64 << 20));
      for (const s of c.segments)
        r.segment(s.side, s.seq, s.ack, s.flags, s.payload, s.payload.length);
      r.close();
      c.chunks = rec.chunks;
      if (c.chunks.length > 0) connections.push(c);
    }
    udp.push(...udpFlows.values());
  }
  return { files, frames, connections, udp };
}

/** The stream seeds of connections whose client (or server) stream starts as `test` accepts. */
export function streamSeeds(
  seeds: Seeds,
  test: (client: Buffer, server: Buffer, c: SeedConnection) => boolean,
  maxBytes = 256 * 1024,
): Chunk[][] {
  const out: Chunk[][] = [];
  for (const c of seeds.connections) {
    const client = Buffer.concat(c.chunks.filter((k) => k.side === 0).map((k) => k.data));
    const server = Buffer.concat(c.chunks.filter((k) => k.side === 1).map((k) => k.data));
    if (client.length + server.length > maxBytes) continue;
    if (test(client, server, c)) out.push(c.chunks);
  }
  return out;
}

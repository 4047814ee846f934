/**
 * Real bytes for sniffer tests, as tshark sees them: the reassembled payload of each TCP stream
 * (`-z follow,tcp,raw`) and the UDP payloads of a capture. Independent of tapgate's own reassembly,
 * so a sniffer can be tested on corpus bytes before (and apart from) the capture pipeline.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export const CORPUS_DIR = join(import.meta.dirname, '../../../shared/corpus');

export function corpusCapture(name: string): string {
  return join(CORPUS_DIR, 'captures', name);
}

/** tshark's view of one item, from `expected/<name>.<proto>.jsonl`. */
export function corpusExpected(capture: string, proto: string): Record<string, unknown>[] {
  const stem = capture.replace(/\.(pcapng|pcap|cap)$/, '');
  const text = execFileSync('cat', [join(CORPUS_DIR, 'expected', `${stem}.${proto}.jsonl`)], {
    encoding: 'utf8',
  });
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** One side's contiguous run of bytes, in the order tshark shows them. */
export interface FollowChunk {
  /** 0 = client (tshark's node 0, the first sender), 1 = server. */
  side: 0 | 1;
  data: Buffer;
}

export interface FollowedStream {
  index: number;
  client: string;
  server: string;
  chunks: FollowChunk[];
}

function tshark(args: string[]): string {
  return execFileSync('tshark', ['-n', ...args], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}

/** TCP stream indexes present in the capture. */
export function tcpStreamIndexes(path: string): number[] {
  const out = tshark(['-r', path, '-T', 'fields', '-e', 'tcp.stream', '-Y', 'tcp']);
  return [
    ...new Set(
      out
        .split('\n')
        .filter((l) => l !== '')
        .map(Number),
    ),
  ].sort((a, b) => a - b);
}

/** The server's port, from tshark's `Node 1: address:port` line. */
export function serverPortOf(stream: FollowedStream): number {
  return Number(stream.server.slice(stream.server.lastIndexOf(':') + 1));
}

/**
 * The reassembled bytes of TCP streams `indexes` as tshark follows them, in one tshark run
 * (`-z follow,tcp,raw,N` repeated, one output section per stream): starting tshark once per stream
 * costs seconds on a capture with dozens of streams. Returned in the order of `indexes`.
 */
export function followTcpStreams(path: string, indexes: readonly number[]): FollowedStream[] {
  const args = ['-r', path, '-q'];
  for (const i of indexes) args.push('-z', `follow,tcp,raw,${i}`);
  const out = tshark(args);
  const byIndex = new Map<number, FollowedStream>();
  let stream: FollowedStream | undefined;
  for (const line of out.split('\n')) {
    const filter = /^Filter: tcp\.stream eq (\d+)$/.exec(line);
    if (filter) {
      stream = { index: Number(filter[1]), client: '', server: '', chunks: [] };
      byIndex.set(stream.index, stream);
      continue;
    }
    if (stream === undefined) continue;
    const node = /^Node ([01]): (.*)$/.exec(line);
    if (node) {
      if (node[1] === '0') stream.client = node[2]!;
      else stream.server = node[2]!;
      continue;
    }
    const hex = /^(\t?)([0-9a-f]+)$/.exec(line);
    if (!hex) continue;
    stream.chunks.push({ side: hex[1] === '\t' ? 1 : 0, data: Buffer.from(hex[2]!, 'hex') });
  }
  return indexes.map(
    (index) => byIndex.get(index) ?? { index, client: '', server: '', chunks: [] },
  );
}

/** Streams 0..count-1 (what `followTcpStreams` takes for the first `count` streams). */
export function firstStreams(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

/** The reassembled bytes of TCP stream `index` as tshark follows it. */
export function followTcpStream(path: string, index: number): FollowedStream {
  return followTcpStreams(path, [index])[0]!;
}

export function followAllTcpStreams(path: string): FollowedStream[] {
  return followTcpStreams(path, tcpStreamIndexes(path));
}

export interface UdpDatagram {
  frame: number;
  src: string;
  dst: string;
  payload: Buffer;
}

/** Every UDP payload of the capture (reassembled IP fragments included), in frame order. */
export function udpDatagrams(path: string, displayFilter = 'udp'): UdpDatagram[] {
  const out = tshark([
    '-r',
    path,
    '-Y',
    displayFilter,
    '-T',
    'fields',
    '-E',
    'separator=|',
    '-e',
    'frame.number',
    '-e',
    'ip.src',
    '-e',
    'ipv6.src',
    '-e',
    'udp.srcport',
    '-e',
    'ip.dst',
    '-e',
    'ipv6.dst',
    '-e',
    'udp.dstport',
    '-e',
    'udp.payload',
  ]);
  const result: UdpDatagram[] = [];
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [frame, s4, s6, sp, d4, d6, dp, payload] = line.split('|');
    const host = (v4: string | undefined, v6: string | undefined): string =>
      v4 ? v4 : `[${v6 ?? ''}]`;
    result.push({
      frame: Number(frame),
      src: `${host(s4, s6)}:${sp ?? ''}`,
      dst: `${host(d4, d6)}:${dp ?? ''}`,
      payload: Buffer.from(payload ?? '', 'hex'),
    });
  }
  return result;
}

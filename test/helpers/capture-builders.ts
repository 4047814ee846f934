/**
 * Builders for synthetic captures, shared by the capture-*.test.ts files. This module registers no
 * test of its own (importing it must not re-run anything); capture-synthetic-tshark.test.ts keeps the
 * builders honest by having tshark read every synthetic file.
 *
 * Builders write bytes exactly as the specs lay them out (draft-ietf-opsawg-pcap,
 * draft-ietf-opsawg-pcapng); a few knobs (`capLenField`, `lengthField`, `trailer`) let tests write
 * the broken values real files contain.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FrameView, SourceStats } from '../../src/capture/frame.ts';
import { openCaptureFile, type OpenCaptureOptions } from '../../src/capture/open-capture.ts';

// ---------------------------------------------------------------- byte helpers

function u32(le: boolean, v: number): Buffer {
  const b = Buffer.alloc(4);
  if (le) b.writeUInt32LE(v >>> 0);
  else b.writeUInt32BE(v >>> 0);
  return b;
}

function u16(le: boolean, v: number): Buffer {
  const b = Buffer.alloc(2);
  if (le) b.writeUInt16LE(v);
  else b.writeUInt16BE(v);
  return b;
}

function pad4(b: Buffer): Buffer {
  const rem = b.length & 3;
  return rem === 0 ? b : Buffer.concat([b, Buffer.alloc(4 - rem)]);
}

/** `n` bytes of a recognisable pattern (frame `seed`), so frame contents can be compared. */
export function payload(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

// ---------------------------------------------------------------- classic pcap

export interface PcapRecordSpec {
  sec: number;
  /** Microseconds or nanoseconds, per the file's magic. */
  sub: number;
  data: Buffer;
  /** Wire length (default data.length). */
  origLen?: number;
  /** Value written in the caplen field (default data.length): lets tests write impossible ones. */
  capLenField?: number;
}

export interface PcapSpec {
  le?: boolean;
  nano?: boolean;
  /** Full 32-bit "LinkType and additional information" field. */
  linkType?: number;
  snapLen?: number;
  records: PcapRecordSpec[];
}

export function pcapFile(spec: PcapSpec): Buffer {
  const le = spec.le ?? true;
  const magic = spec.nano === true ? 0xa1b23c4d : 0xa1b2c3d4;
  const parts = [
    u32(le, magic),
    u16(le, 2),
    u16(le, 4),
    u32(le, 0),
    u32(le, 0),
    u32(le, spec.snapLen ?? 65535),
    u32(le, spec.linkType ?? 1),
  ];
  for (const r of spec.records) {
    parts.push(
      u32(le, r.sec),
      u32(le, r.sub),
      u32(le, r.capLenField ?? r.data.length),
      u32(le, r.origLen ?? r.data.length),
      r.data,
    );
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------- pcapng

export const BT = {
  Shb: 0x0a0d0d0a,
  Idb: 1,
  Pb: 2,
  Spb: 3,
  Nrb: 4,
  Isb: 5,
  Epb: 6,
  Dsb: 10,
} as const;

export interface BlockOptions {
  /** Value of the leading length field (default: the real length). */
  lengthField?: number;
  /** Value of the trailing length field (default: the leading one). */
  trailer?: number;
}

/** A block: type, length, body padded to 4 bytes, length again. */
export function block(le: boolean, type: number, body: Buffer, o: BlockOptions = {}): Buffer {
  const padded = pad4(body);
  const len = 12 + padded.length;
  const lengthField = o.lengthField ?? len;
  return Buffer.concat([
    u32(le, type),
    u32(le, lengthField),
    padded,
    u32(le, o.trailer ?? lengthField),
  ]);
}

/** One option TLV, value padded to 4 bytes. */
export function option(le: boolean, code: number, value: Buffer): Buffer {
  return Buffer.concat([u16(le, code), u16(le, value.length), pad4(value)]);
}

function optionList(le: boolean, opts: Buffer[]): Buffer {
  return opts.length === 0
    ? Buffer.alloc(0)
    : Buffer.concat([...opts, option(le, 0, Buffer.alloc(0))]);
}

export function shb(le: boolean, o: BlockOptions = {}): Buffer {
  const sectionLen = Buffer.alloc(8, 0xff); // -1: not specified
  return block(
    le,
    BT.Shb,
    Buffer.concat([u32(le, 0x1a2b3c4d), u16(le, 1), u16(le, 0), sectionLen]),
    o,
  );
}

export interface IdbSpec {
  linkType: number;
  snapLen?: number;
  name?: string;
  /** Raw if_tsresol byte. */
  tsresol?: number;
  /** if_tsoffset, seconds. */
  tsoffset?: number;
}

export function idb(le: boolean, s: IdbSpec, o: BlockOptions = {}): Buffer {
  const opts: Buffer[] = [];
  if (s.name !== undefined) opts.push(option(le, 2, Buffer.from(s.name, 'utf8')));
  if (s.tsresol !== undefined) opts.push(option(le, 9, Buffer.from([s.tsresol])));
  if (s.tsoffset !== undefined) {
    const v = Buffer.alloc(8);
    if (le) v.writeBigInt64LE(BigInt(s.tsoffset));
    else v.writeBigInt64BE(BigInt(s.tsoffset));
    opts.push(option(le, 14, v));
  }
  const body = Buffer.concat([
    u16(le, s.linkType),
    u16(le, 0),
    u32(le, s.snapLen ?? 0),
    optionList(le, opts),
  ]);
  return block(le, BT.Idb, body, o);
}

export interface EpbSpec {
  ifId: number;
  /** Timestamp in interface units. */
  ts: bigint;
  data: Buffer;
  origLen?: number;
  capLenField?: number;
  /** Option TLVs (an opt_endofopt is appended). */
  options?: Buffer[];
}

function tsWords(le: boolean, ts: bigint): Buffer {
  return Buffer.concat([u32(le, Number(ts >> 32n)), u32(le, Number(ts & 0xffffffffn))]);
}

export function epb(le: boolean, s: EpbSpec, o: BlockOptions = {}): Buffer {
  const body = Buffer.concat([
    u32(le, s.ifId),
    tsWords(le, s.ts),
    u32(le, s.capLenField ?? s.data.length),
    u32(le, s.origLen ?? s.data.length),
    pad4(s.data),
    optionList(le, s.options ?? []),
  ]);
  return block(le, BT.Epb, body, o);
}

/** Obsolete Packet Block (type 2): 16-bit interface id and drops count. */
export function pb(le: boolean, s: EpbSpec): Buffer {
  const body = Buffer.concat([
    u16(le, s.ifId),
    u16(le, 0),
    tsWords(le, s.ts),
    u32(le, s.capLenField ?? s.data.length),
    u32(le, s.origLen ?? s.data.length),
    pad4(s.data),
  ]);
  return block(le, BT.Pb, body);
}

export function spb(le: boolean, data: Buffer, origLen = data.length): Buffer {
  return block(le, BT.Spb, Buffer.concat([u32(le, origLen), data]));
}

// ---------------------------------------------------------------- reading

export interface SeenFrame {
  tsSec: number;
  tsNsec: number;
  capLen: number;
  origLen: number;
  iface: number;
  linkType: number;
  /** Hex of the frame bytes. */
  data: string;
}

/** Frame as seen (copied out of the borrowed view). */
export function snapshot(f: FrameView): SeenFrame {
  return {
    tsSec: f.tsSec,
    tsNsec: f.tsNsec,
    capLen: f.capLen,
    origLen: f.origLen,
    iface: f.iface.id,
    linkType: f.iface.linkType,
    data: f.data.toString('hex', f.offset, f.offset + f.capLen),
  };
}

export interface ReadResult {
  frames: SeenFrame[];
  stats: SourceStats;
  format: string;
  compressed: boolean;
  interfaces: {
    id: number;
    linkType: number;
    snapLen: number;
    tsPrecision: string;
    name: string;
  }[];
}

/** Opens `path`, reads every frame and copies it out. */
export async function readAll(path: string, options: OpenCaptureOptions = {}): Promise<ReadResult> {
  const src = await openCaptureFile(path, options);
  const frames: SeenFrame[] = [];
  const stats = await src.run({
    onFrame: (f) => frames.push(snapshot(f)),
    drain: () => undefined,
  });
  return {
    frames,
    stats: structuredClone(stats),
    format: src.format,
    compressed: src.compressed,
    interfaces: src.interfaces.map((i) => ({ ...i })),
  };
}

/** Seconds.nanoseconds as tshark prints frame.time_epoch. */
export function epoch(f: { tsSec: number; tsNsec: number }): string {
  return `${f.tsSec}.${String(f.tsNsec).padStart(9, '0')}`;
}

/** A temporary directory removed when the process exits. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tapgate-capture-'));
  process.once('exit', () => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export function writeTemp(dir: string, name: string, bytes: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

export const TSHARK = '/usr/bin/tshark';
export const haveTshark = existsSync(TSHARK);

/** tshark's view of a file: `time_epoch`, `cap_len`, `len` per frame. */
export function tsharkFrames(path: string): { epoch: string; capLen: number; len: number }[] {
  const out = execFileSync(
    TSHARK,
    [
      '-n',
      '-r',
      path,
      '-T',
      'fields',
      '-e',
      'frame.time_epoch',
      '-e',
      'frame.cap_len',
      '-e',
      'frame.len',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [e, c, n] = l.split('\t');
      return { epoch: e ?? '', capLen: Number(c), len: Number(n) };
    });
}

// ---------------------------------------------------------------- the synthetic set

/** One synthetic file per feature; the other test files assert on them in detail. */
export function syntheticCaptures(): Record<string, Buffer> {
  const recs = (n: number, nano: boolean): PcapRecordSpec[] =>
    Array.from({ length: n }, (_, i) => ({
      sec: 1_700_000_000 + i,
      sub: nano ? 999_999_000 + i : 999_000 + i,
      data: payload(60 + i * 13, i),
    }));
  const out: Record<string, Buffer> = {
    'pcap-us-le.pcap': pcapFile({ le: true, records: recs(5, false) }),
    'pcap-us-be.pcap': pcapFile({ le: false, records: recs(5, false) }),
    'pcap-ns-le.pcap': pcapFile({ le: true, nano: true, records: recs(5, true) }),
    'pcap-ns-be.pcap': pcapFile({ le: false, nano: true, records: recs(5, true) }),
  };
  for (const le of [true, false]) {
    out[`pcapng-mixed-${le ? 'le' : 'be'}.pcapng`] = pcapngMixed(le);
  }
  out['pcapng-two-sections.pcapng'] = pcapngTwoSections();
  return out;
}

/**
 * Two interfaces of different link types and resolutions (10^-9 and 2^-20), EPBs on both, an SPB, an
 * obsolete Packet Block, an NRB, an ISB and an unknown block. (No custom block: tshark lists those as
 * records of their own; they have a test in capture-pcapng.test.ts.)
 */
export function pcapngMixed(le: boolean): Buffer {
  return Buffer.concat([
    shb(le),
    idb(le, { linkType: 1, snapLen: 65535, name: 'eth0', tsresol: 9 }),
    idb(le, { linkType: 101, snapLen: 0, name: 'tun0', tsresol: 0x80 | 20 }),
    epb(le, { ifId: 0, ts: 1_700_000_000_123_456_789n, data: payload(64, 1) }),
    epb(le, {
      ifId: 1,
      ts: (1_700_000_001n << 20n) | 777_777n,
      data: payload(40, 2),
      origLen: 1500,
    }),
    block(le, BT.Nrb, Buffer.alloc(8)),
    spb(le, payload(50, 3)),
    block(le, 0x1234_5678, Buffer.from('unknown')),
    pb(le, { ifId: 1, ts: 5n << 20n, data: payload(33, 4) }),
    block(le, BT.Isb, Buffer.alloc(12)),
    epb(le, {
      ifId: 0,
      ts: 1_700_000_002_000_000_001n,
      data: payload(1, 5),
      options: [option(le, 1, Buffer.from('hi'))],
    }),
  ]);
}

/** A little-endian section then a big-endian one; the second reuses local id 0 for a new interface. */
export function pcapngTwoSections(): Buffer {
  return Buffer.concat([
    shb(true),
    idb(true, { linkType: 1, snapLen: 262144 }),
    epb(true, { ifId: 0, ts: 1_600_000_000_000_001n, data: payload(70, 10) }),
    shb(false),
    idb(false, { linkType: 113, snapLen: 128, tsresol: 3, tsoffset: 1000 }),
    epb(false, { ifId: 0, ts: 1_600_000_000_250n, data: payload(80, 11) }),
  ]);
}

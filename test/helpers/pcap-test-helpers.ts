/**
 * Shared helpers of the pcap output tests: frame builders, a strict little pcap parser, runners
 * for the real tools (tcpdump, tshark, gzip) and directory listings.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { after } from 'node:test';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';

import type { CaptureInterface, FrameView, TsPrecision } from '../../src/capture/frame.ts';
import type { PcapOutputOptions } from '../../src/pcap/pcap-output.ts';

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_LINUX_SLL2 = 276;

export function iface(
  linkType = LINKTYPE_ETHERNET,
  snapLen = 262144,
  tsPrecision: TsPrecision = 'us',
): CaptureInterface {
  return { id: 0, linkType, snapLen, tsPrecision, name: '' };
}

/** IPv4/UDP packet of `totalLen` bytes (≥ 28) with a payload pattern derived from `seed`. */
function ipv4Udp(totalLen: number, seed: number): Buffer {
  const p = Buffer.alloc(totalLen);
  p[0] = 0x45;
  p.writeUInt16BE(totalLen, 2);
  p.writeUInt16BE(seed & 0xffff, 4);
  p[8] = 64;
  p[9] = 17;
  p.set([10, 0, 0, 1, 10, 0, 0, 2], 12);
  p.writeUInt16BE(10000 + (seed % 1000), 20);
  p.writeUInt16BE(9999, 22); // not a port tcpdump decodes further: one summary line per packet
  p.writeUInt16BE(totalLen - 20, 24);
  for (let i = 28; i < totalLen; i++) p[i] = (seed * 31 + i) & 0xff;
  return p;
}

/** A full Ethernet/IPv4/UDP frame of `len` bytes (≥ 42). */
export function ethernetFrame(len: number, seed: number): Buffer {
  const eth = Buffer.from([0, 1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 10, 0x08, 0x00]);
  return Buffer.concat([eth, ipv4Udp(len - eth.length, seed)]);
}

/** A LINUX_SLL2 frame (20-byte header + IPv4/UDP) of `len` bytes (≥ 48). */
export function sll2Frame(len: number, seed: number): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(0x0800, 0);
  h.writeUInt32BE(2, 4); // interface index
  h.writeUInt16BE(1, 8); // ARPHRD_ETHER
  h[10] = 0; // to us
  h[11] = 6;
  h.set([0, 1, 2, 3, 4, 5], 12);
  return Buffer.concat([h, ipv4Udp(len - h.length, seed)]);
}

export interface TestFrame {
  bytes: Buffer;
  tsSec: number;
  tsNsec: number;
  origLen?: number;
  iface?: CaptureInterface;
}

/**
 * Writes frames through one reused FrameView whose `data` is a shared buffer that gets clobbered
 * after every write, like a capture source's read buffer: the output must copy.
 */
export function makeFrameWriter(
  defaultIface: CaptureInterface,
): (out: { write(f: FrameView): void }, t: TestFrame) => void {
  const scratch = Buffer.alloc(1 << 20);
  const fv: FrameView = {
    data: scratch,
    offset: 0,
    capLen: 0,
    origLen: 0,
    tsSec: 0,
    tsNsec: 0,
    iface: defaultIface,
  };
  return (out, t) => {
    fv.offset = 7; // not at the buffer start
    t.bytes.copy(scratch, fv.offset);
    fv.capLen = t.bytes.length;
    fv.origLen = t.origLen ?? t.bytes.length;
    fv.tsSec = t.tsSec;
    fv.tsNsec = t.tsNsec;
    fv.iface = t.iface ?? defaultIface;
    out.write(fv);
    scratch.fill(0xee, 0, fv.offset + t.bytes.length); // the borrowed bytes are gone now
  };
}

export interface ParsedRecord {
  sec: number;
  frac: number;
  capLen: number;
  origLen: number;
  data: Buffer;
}

export interface ParsedPcap {
  magic: number;
  snapLen: number;
  linkType: number;
  records: ParsedRecord[];
}

/** Strict parser: little-endian classic pcap, no trailing bytes. */
export function parsePcap(buf: Buffer): ParsedPcap {
  assert.ok(buf.length >= 24, 'pcap header present');
  const magic = buf.readUInt32LE(0);
  assert.ok(magic === 0xa1b2c3d4 || magic === 0xa1b23c4d, `magic ${magic.toString(16)}`);
  assert.equal(buf.readUInt16LE(4), 2);
  assert.equal(buf.readUInt16LE(6), 4);
  const p: ParsedPcap = {
    magic,
    snapLen: buf.readUInt32LE(16),
    linkType: buf.readUInt32LE(20),
    records: [],
  };
  let pos = 24;
  while (pos < buf.length) {
    assert.ok(pos + 16 <= buf.length, `complete record header at ${pos}`);
    const capLen = buf.readUInt32LE(pos + 8);
    assert.ok(pos + 16 + capLen <= buf.length, `complete record at ${pos}`);
    p.records.push({
      sec: buf.readUInt32LE(pos),
      frac: buf.readUInt32LE(pos + 4),
      capLen,
      origLen: buf.readUInt32LE(pos + 12),
      data: buf.subarray(pos + 16, pos + 16 + capLen),
    });
    pos += 16 + capLen;
  }
  return p;
}

export async function readPcapFile(path: string): Promise<ParsedPcap> {
  const raw = await readFile(path);
  return parsePcap(path.endsWith('.gz') ? gunzipSync(raw) : raw);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `tcpdump -r` (through zcat for .gz) with extra args; asserts a clean read. */
export async function tcpdump(path: string, args: string[]): Promise<string> {
  const r = path.endsWith('.gz')
    ? await run('bash', [
        '-c',
        `set -o pipefail; zcat "$0" | tcpdump -n -r - ${args.join(' ')}`,
        path,
      ])
    : await run('tcpdump', ['-n', '-r', path, ...args]);
  assert.equal(r.code, 0, `tcpdump ${path}: ${r.stderr}`);
  // tcpdump always warns for LINUX_SLL2 files: if indexes map to this host's interface names.
  const errLines = r.stderr
    .split('\n')
    .filter(
      (l) =>
        l !== '' &&
        !l.startsWith('reading from') &&
        l !== 'Warning: interface names might be incorrect',
    );
  assert.deepEqual(errLines, [], `tcpdump stderr for ${path}`);
  return r.stdout;
}

export async function tcpdumpCount(path: string): Promise<number> {
  const out = await tcpdump(path, ['--count']);
  const m = /(\d+) packets?/.exec(out);
  assert.ok(m?.[1] !== undefined, `count in ${out}`);
  return Number(m[1]);
}

/** The link-layer bytes of every packet as printed by `tcpdump -xx`. */
export async function tcpdumpBytes(path: string): Promise<Buffer[]> {
  const out = await tcpdump(path, ['-xx']);
  const packets: Buffer[] = [];
  let hex: string[] | null = null;
  for (const line of out.split('\n')) {
    const m = /^\t0x[0-9a-f]+:\s+(.*)$/.exec(line);
    if (m?.[1] !== undefined) {
      hex?.push(m[1].replace(/\s+/g, ''));
    } else if (line !== '') {
      if (hex !== null) packets.push(Buffer.from(hex.join(''), 'hex'));
      hex = [];
    }
  }
  if (hex !== null) packets.push(Buffer.from(hex.join(''), 'hex'));
  return packets;
}

/** `tshark -r` with `-T fields`; asserts exit 0 and no error output. */
export async function tsharkFields(path: string, fields: string[]): Promise<string[][]> {
  const args = ['-r', path, '-T', 'fields'];
  for (const f of fields) args.push('-e', f);
  const r = await run('tshark', args);
  assert.equal(r.code, 0, `tshark ${path}: ${r.stderr}`);
  const errLines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('Running as user'));
  assert.deepEqual(errLines, [], `tshark stderr for ${path}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

export async function gzipTest(path: string): Promise<void> {
  const r = await run('gzip', ['-t', path]);
  assert.equal(r.code, 0, `gzip -t ${path}: ${r.stderr}`);
}

/** Every regular file under `dir`, relative and sorted (hidden files included). */
export async function listFiles(dir: string): Promise<string[]> {
  const ents = await readdir(dir, { recursive: true, withFileTypes: true });
  return ents
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** A temp-dir maker for one test file: every directory it made is removed after the file's tests. */
export function tempDirsRemovedAfterTests(): (tag: string) => Promise<string> {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  return async (tag) => {
    const d = await newTmpDir(tag);
    dirs.push(d);
    return d;
  };
}

export async function newTmpDir(tag: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `tg-pcap-${tag}-`));
}

export function options(outDir: string, over: Partial<PcapOutputOptions> = {}): PcapOutputOptions {
  return {
    outDir,
    sourceName: 'test.pcap',
    compress: false,
    rotateIntervalSec: 0,
    rotateSizeBytes: 0,
    retainSizeBytes: 0,
    retainAgeSec: 0,
    clock: 'packet',
    ...over,
  };
}

/** 2023-11-14T22:14:00Z, a multiple of 60 (and of 10, 20, 30). */
export const T0 = 1_700_000_040;

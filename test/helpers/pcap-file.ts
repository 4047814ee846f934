/**
 * Minimal classic-pcap reader and writer for tests, written independently of src/ so a test can
 * check tapgate's output against its own view of the bytes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface TestRecord {
  tsSec: number;
  tsFrac: number;
  origLen: number;
  data: Buffer;
}

export interface TestPcap {
  nanos: boolean;
  snapLen: number;
  linkType: number;
  records: TestRecord[];
}

export function readPcap(path: string): TestPcap {
  let buf = readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const m = u32(0);
  if (m !== 0xa1b2c3d4 && m !== 0xa1b23c4d) throw new Error(`${path}: not a classic pcap`);
  const records: TestRecord[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const capLen = u32(off + 8);
    records.push({
      tsSec: u32(off),
      tsFrac: u32(off + 4),
      origLen: u32(off + 12),
      data: buf.subarray(off + 16, off + 16 + capLen),
    });
    off += 16 + capLen;
  }
  if (off !== buf.length) throw new Error(`${path}: ${buf.length - off} trailing bytes`);
  return { nanos: m === 0xa1b23c4d, snapLen: u32(16), linkType: u32(20) & 0xffff, records };
}

/**
 * Packet count as the real tcpdump sees it; throws if tcpdump reports any error. tcpdump warns
 * "interface names might be incorrect" for every SLL2 file (its inputs too): not an error.
 */
export function tcpdumpCount(path: string): number {
  const cmd = path.endsWith('.gz')
    ? `zcat '${path}' | tcpdump -n -r - 2>&1 >/dev/null | grep -v -e '^reading from' -e 'interface names might be incorrect' || true; zcat '${path}' | tcpdump -n -r - 2>/dev/null | wc -l`
    : `tcpdump -n -r '${path}' 2>&1 >/dev/null | grep -v -e '^reading from' -e 'interface names might be incorrect' || true; tcpdump -n -r '${path}' 2>/dev/null | wc -l`;
  const out = execFileSync('bash', ['-c', cmd], { encoding: 'utf8' }).trim().split('\n');
  const count = Number(out.pop());
  const errors = out.filter((l) => l.trim() !== '');
  if (errors.length > 0) throw new Error(`tcpdump on ${path}: ${errors.join('; ')}`);
  return count;
}

/** Packet count as tshark sees it; throws on any tshark error or warning. */
export function tsharkCount(path: string): number {
  const r = spawnSync('tshark', ['-n', '-r', path, '-T', 'fields', '-e', 'frame.number'], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  const problems = r.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.includes('Running as user "root"'));
  if (r.status !== 0 || problems.length > 0) {
    throw new Error(`tshark on ${path} (exit ${r.status}): ${problems.slice(0, 3).join('; ')}`);
  }
  const lines = r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n');
  return lines.length;
}

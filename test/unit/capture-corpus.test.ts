/**
 * The real-capture corpus (/work/shared/corpus): every file opens, yields the packet count, link
 * types, snaplens and timestamp resolution tshark recorded in expected/<name>.capinfo.jsonl, reads
 * the same gzipped and in tiny chunks, and for a few files matches tshark frame by frame.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  epoch,
  haveTshark,
  readAll,
  tempDir,
  tsharkFrames,
  writeTemp,
} from '../helpers/capture-builders.ts';

const CORPUS = '/work/shared/corpus';
const files = readdirSync(join(CORPUS, 'captures'))
  .filter((f) => /\.(pcap|cap|pcapng)$/.test(f))
  .sort();

interface Capinfo {
  file_format: string;
  dlt: number[];
  snaplen: number[];
  ts_resolution: 'us' | 'ns' | null;
  packets: number;
  truncated_packets: number;
}

function expected(file: string): Capinfo {
  const base = basename(file, extname(file));
  const line = readFileSync(join(CORPUS, 'expected', `${base}.capinfo.jsonl`), 'utf8').split(
    '\n',
  )[0];
  return JSON.parse(line ?? '') as Capinfo;
}

test('corpus has captures', () => {
  assert.ok(files.length >= 40, `found ${files.length}`);
});

for (const file of files) {
  test(`corpus ${file}: packets, link types, snaplen, resolution`, async () => {
    const exp = expected(file);
    const path = join(CORPUS, 'captures', file);
    const got = await readAll(path);
    assert.equal(got.format, exp.file_format.startsWith('pcapng') ? 'pcapng' : 'pcap');
    assert.equal(got.compressed, false);
    assert.equal(got.frames.length, exp.packets);
    assert.equal(got.stats.frames, exp.packets);
    assert.deepEqual(got.stats.errors, {});
    assert.deepEqual(
      got.interfaces.map((i) => i.linkType),
      exp.dlt,
    );
    assert.deepEqual(
      got.interfaces.map((i) => i.snapLen),
      exp.snaplen.map((s) => (s === 0 ? 262144 : s)),
    );
    // capinfo has no resolution for pcapng; both corpus pcapng files carry if_tsresol 6 (capinfos -M).
    for (const i of got.interfaces) assert.equal(i.tsPrecision, exp.ts_resolution ?? 'us');
    assert.equal(got.frames.filter((f) => f.capLen < f.origLen).length, exp.truncated_packets);
    const size = readFileSync(path).length;
    assert.equal(got.stats.inputBytesRead, size);
    assert.equal(got.stats.inputBytesTotal, size);
    assert.equal(
      got.stats.bytes,
      got.frames.reduce((s, f) => s + f.capLen, 0),
    );

    // Same frames in 127-byte chunks (most records straddle a boundary) and gzipped.
    const tiny = await readAll(path, { chunkBytes: 127, headroomBytes: 0 });
    assert.deepEqual(tiny.frames, got.frames);
    const gzPath = writeTemp(tempDir(), `${file}.gz`, gzipSync(readFileSync(path)));
    const gz = await readAll(gzPath);
    assert.equal(gz.compressed, true);
    assert.deepEqual(gz.frames, got.frames);
    assert.deepEqual(gz.stats.errors, {});
  });
}

const FRAME_BY_FRAME = [
  'nd-http-keepalive-37req.pcapng',
  'ps-tls12-dsb-rawip.pcapng',
  'zk-snaplen96-http.pcap',
  'td-tcp-hdr-overflow.pcap',
  'sv-sll2-http.pcap',
];

for (const file of FRAME_BY_FRAME) {
  test(`corpus ${file}: timestamps and lengths match tshark`, { skip: !haveTshark }, async () => {
    const path = join(CORPUS, 'captures', file);
    const got = await readAll(path);
    assert.deepEqual(
      got.frames.map((f) => ({ epoch: epoch(f), capLen: f.capLen, len: f.origLen })),
      tsharkFrames(path),
    );
  });
}

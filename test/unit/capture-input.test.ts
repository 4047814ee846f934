/**
 * Inputs rather than formats: unusable files (typed errors naming the file), gzip damage, stdin,
 * FIFOs, and the run() contract (one reused FrameView, drain between chunks, abort, live stats).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { TapgateError } from '../../src/errors.ts';
import type { FrameView } from '../../src/capture/frame.ts';
import { openCaptureFile } from '../../src/capture/open-capture.ts';
import { INFLATE_CHUNK_BYTES } from '../../src/capture/gzip-byte-source.ts';
import {
  payload,
  pcapFile,
  pcapngMixed,
  readAll,
  snapshot,
  tempDir,
  writeTemp,
  type PcapRecordSpec,
  type SeenFrame,
} from '../helpers/capture-builders.ts';

const dir = tempDir();

/** A pcap big enough to span many gzip blocks, with poorly compressible payloads. */
function bigPcap(n: number): Buffer {
  let x = 12345;
  const records: PcapRecordSpec[] = Array.from({ length: n }, (_, i) => {
    const data = Buffer.alloc(200 + (i % 300));
    for (let j = 0; j < data.length; j++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      data[j] = x >>> 16;
    }
    return { sec: 1_000_000 + i, sub: i, data };
  });
  return pcapFile({ records });
}

/** Complete records in a classic pcap prefix. */
function completeRecords(buf: Buffer): number {
  let n = 0;
  for (let p = 24; p + 16 <= buf.length; n++) {
    const next = p + 16 + buf.readUInt32LE(p + 8);
    if (next > buf.length) break;
    p = next;
  }
  return n;
}

async function rejectsWith(path: string, code: string, text: RegExp): Promise<void> {
  await assert.rejects(openCaptureFile(path), (e: unknown) => {
    assert.ok(e instanceof TapgateError);
    assert.equal(e.code, code);
    assert.match(e.message, text);
    return true;
  });
}

test('unusable inputs throw typed errors naming the file', async () => {
  const garbage = writeTemp(dir, 'garbage.txt', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  await rejectsWith(
    garbage,
    'TG_ERR_INPUT_FORMAT',
    /garbage\.txt is not a pcap or pcapng capture \(starts with 47 45 54 20\)/,
  );
  await rejectsWith(
    writeTemp(dir, 'empty.pcap', Buffer.alloc(0)),
    'TG_ERR_INPUT_FORMAT',
    /empty\.pcap is empty/,
  );
  await rejectsWith(join(dir, 'missing.pcap'), 'TG_ERR_INPUT_OPEN', /missing\.pcap.*ENOENT/);
  await rejectsWith(dir, 'TG_ERR_INPUT_OPEN', /is a directory/);
  const cutHeader = writeTemp(dir, 'cut-header.pcap', pcapFile({ records: [] }).subarray(0, 10));
  await rejectsWith(
    cutHeader,
    'TG_ERR_INPUT_FORMAT',
    /cut-header\.pcap: pcap file header is cut short/,
  );
  const badBom = Buffer.from(pcapngMixed(true)).fill(0, 8, 12);
  await rejectsWith(
    writeTemp(dir, 'bad-bom.pcapng', badBom),
    'TG_ERR_INPUT_FORMAT',
    /byte-order magic/,
  );
  await rejectsWith(
    writeTemp(dir, 'garbage.gz', gzipSync(Buffer.from('hello'))),
    'TG_ERR_INPUT_FORMAT',
    /not a pcap or pcapng capture \(starts with 68 65 6c 6c after gzip decompression\)/,
  );
  await rejectsWith(
    writeTemp(dir, 'empty.gz', gzipSync(Buffer.alloc(0))),
    'TG_ERR_INPUT_FORMAT',
    /empty after gzip/,
  );
  const broken = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff]);
  await rejectsWith(
    writeTemp(dir, 'broken.gz', broken),
    'TG_ERR_INPUT_FORMAT',
    /gzip data is corrupt/,
  );
});

test('gzip detection is by magic, not by name', async () => {
  const bytes = pcapFile({ records: [{ sec: 1, sub: 2, data: payload(30, 1) }] });
  const plainNamedGz = await readAll(writeTemp(dir, 'plain.pcap.gz', bytes));
  const gzNamedPlain = await readAll(writeTemp(dir, 'zipped.pcap', gzipSync(bytes)));
  assert.equal(plainNamedGz.compressed, false);
  assert.equal(gzNamedPlain.compressed, true);
  assert.deepEqual(gzNamedPlain.frames, plainNamedGz.frames);
});

test('gzip cut in the middle: every frame inflatable before the cut, then gzip_corrupt', async () => {
  const plain = bigPcap(3000);
  const full = await readAll(writeTemp(dir, 'big.pcap', plain));
  const gz = gzipSync(plain);
  for (const cutAt of [0.3, 0.61, 0.999]) {
    const cut = gz.subarray(0, Math.floor(gz.length * cutAt));
    // What zlib can inflate from the prefix: the frames we must deliver.
    const inflatable = gunzipSync(cut, { finishFlush: constants.Z_SYNC_FLUSH });
    const expected = completeRecords(inflatable);
    for (const gzipChunkBytes of [1 << 20, 4096]) {
      const got = await readAll(writeTemp(dir, `cut-${cutAt}.pcap.gz`, cut), { gzipChunkBytes });
      assert.equal(got.frames.length, expected, `cut at ${cutAt}`);
      assert.deepEqual(got.frames, full.frames.slice(0, expected));
      assert.deepEqual(got.stats.errors, { gzip_corrupt: 1 });
      assert.equal(got.stats.inputBytesRead, cut.length);
    }
  }
});

test('gzip damaged in the middle: frames before the damage, then gzip_corrupt', async () => {
  const plain = bigPcap(3000);
  const full = await readAll(writeTemp(dir, 'big2.pcap', plain));
  const gz = Buffer.from(gzipSync(plain));
  const damageAt = gz.length >> 1;
  gz.fill(0xff, damageAt, damageAt + 64);
  const beforeDamage = completeRecords(
    gunzipSync(gz.subarray(0, damageAt), { finishFlush: constants.Z_SYNC_FLUSH }),
  );
  const got = await readAll(writeTemp(dir, 'damaged.pcap.gz', gz), { gzipChunkBytes: 4096 });
  // Node drops the output of the inflate call that fails: at most one output chunk (64 KiB, so at
  // most 304 of these >= 216-byte records) before the damage.
  const maxLost = Math.ceil(INFLATE_CHUNK_BYTES / 216);
  assert.ok(got.frames.length >= beforeDamage - maxLost, `${got.frames.length} of ${beforeDamage}`);
  // Past the damage, deflate may emit wrong bytes for a while before it hits an invalid code (the CRC
  // would only tell at the end of the member): only frames from before the damage are checked.
  const intact = Math.min(got.frames.length, beforeDamage);
  assert.deepEqual(got.frames.slice(0, intact), full.frames.slice(0, intact));
  // Either zlib notices first, or those wrong bytes make an impossible caplen and the walker stops.
  const errors = Object.entries(got.stats.errors);
  assert.equal(errors.length, 1);
  assert.ok(
    ['gzip_corrupt', 'bad_record_length'].includes(errors[0]?.[0] ?? ''),
    JSON.stringify(errors),
  );
});

test('gzip members concatenated read as one stream; padding and trailing garbage', async () => {
  const bytes = pcapngMixed(true);
  const expected = await readAll(writeTemp(dir, 'members-ref.pcapng', bytes));
  const half = bytes.length >> 1;
  const members = Buffer.concat([
    gzipSync(bytes.subarray(0, half)),
    gzipSync(bytes.subarray(half)),
  ]);
  const multi = await readAll(writeTemp(dir, 'members.pcapng.gz', members));
  assert.deepEqual(multi.frames, expected.frames);
  assert.deepEqual(multi.stats.errors, {});
  // Zero padding after the last member is tolerated (zlib and gzip(1) agree).
  const padded = await readAll(
    writeTemp(dir, 'padded.gz', Buffer.concat([gzipSync(bytes), Buffer.alloc(512)])),
  );
  assert.deepEqual(padded.frames, expected.frames);
  assert.deepEqual(padded.stats.errors, {});

  // Other trailing bytes are damage. Node fails the inflate call that read them, output included, so
  // up to one output chunk before them is lost (a known limit, unlike a cut stream, which loses nothing).
  const plain = bigPcap(2000);
  const full = await readAll(writeTemp(dir, 'garbage-ref.pcap', plain));
  const trailing = Buffer.concat([gzipSync(plain), Buffer.from('trailing garbage')]);
  const got = await readAll(writeTemp(dir, 'trailing.pcap.gz', trailing));
  assert.ok(
    got.frames.length >= 2000 - Math.ceil(INFLATE_CHUNK_BYTES / 216),
    `${got.frames.length}`,
  );
  assert.deepEqual(got.frames, full.frames.slice(0, got.frames.length));
  assert.deepEqual(got.stats.errors, { gzip_corrupt: 1 });
});

test("'-' reads stdin (a stream passed in for the test), plain and gzip", async () => {
  const bytes = pcapngMixed(false);
  const expected = await readAll(writeTemp(dir, 'stdin-ref.pcapng', bytes));
  for (const data of [bytes, gzipSync(bytes)]) {
    // Odd chunk sizes, as a pipe delivers them.
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i += 7) chunks.push(data.subarray(i, i + 7));
    const got = await readAll('-', { stdin: Readable.from(chunks) });
    assert.deepEqual(got.frames, expected.frames);
    assert.deepEqual(got.stats.errors, {});
    assert.equal(got.stats.inputBytesRead, data.length);
    assert.equal(got.stats.inputBytesTotal, 0);
  }
  await assert.rejects(readAll('-', { stdin: Readable.from([]) }), /stdin is empty/);
});

test("'-': stopping early releases a stdin pipe that is still open (plain and gzip)", async () => {
  const recs: PcapRecordSpec[] = [
    { sec: 1, sub: 0, data: payload(20, 1) },
    { sec: 2, sub: 0, data: payload(20, 2), capLenField: 300_000 },
  ];
  const bytes = pcapFile({ records: recs });
  for (const data of [bytes, gzipSync(bytes, { flush: constants.Z_SYNC_FLUSH }).subarray(0, -8)]) {
    const stdin = new PassThrough();
    stdin.write(data); // never ended: the writer is still there
    const got = await readAll('-', { stdin });
    assert.equal(got.frames.length, 1);
    assert.deepEqual(got.stats.errors, { bad_record_length: 1 });
    assert.equal(stdin.destroyed, true);
  }
});

test("'-' reads the process's real stdin (child process), plain and gzip", async () => {
  const bytes = pcapngMixed(true);
  const script = `
    import { openCaptureFile } from ${JSON.stringify(new URL('../../src/capture/open-capture.ts', import.meta.url).href)};
    const src = await openCaptureFile('-');
    const stats = await src.run({ onFrame() {}, drain() {} });
    process.stdout.write(JSON.stringify({ compressed: src.compressed, stats }));
  `;
  for (const data of [bytes, gzipSync(bytes)]) {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: new URL('../..', import.meta.url),
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    child.stdin.end(data);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(out), {
      compressed: data !== bytes,
      stats: { frames: 5, bytes: 188, inputBytesRead: data.length, inputBytesTotal: 0, errors: {} },
    });
  }
});

test('a FIFO path is read as a stream (no size known)', async () => {
  const fifo = join(dir, 'capture.fifo');
  execFileSync('mkfifo', [fifo]);
  const bytes = gzipSync(pcapngMixed(true));
  const [got] = await Promise.all([readAll(fifo), writeFile(fifo, bytes)]);
  assert.equal(got.frames.length, 5);
  assert.equal(got.compressed, true);
  assert.equal(got.stats.inputBytesTotal, 0);
  assert.equal(got.stats.inputBytesRead, bytes.length);
});

test('run(): one reused FrameView, drain awaited between chunks, live input counters', async () => {
  const bytes = bigPcap(200);
  const path = writeTemp(dir, 'drain.pcap', bytes);
  const src = await openCaptureFile(path, { chunkBytes: 4096 });
  const views = new Set<FrameView>();
  let draining = false;
  let drains = 0;
  let lastRead = 0;
  const stats = await src.run({
    onFrame(f) {
      assert.equal(draining, false, 'onFrame while drain() pending');
      views.add(f);
    },
    async drain() {
      draining = true;
      drains++;
      assert.ok(src.stats.inputBytesRead >= lastRead);
      lastRead = src.stats.inputBytesRead;
      await new Promise((r) => setImmediate(r));
      draining = false;
    },
  });
  assert.equal(views.size, 1);
  assert.equal(stats.frames, 200);
  assert.ok(drains >= Math.floor(bytes.length / 4096), `${drains} drains`);
  assert.equal(stats.inputBytesRead, bytes.length);
  assert.equal(stats.inputBytesTotal, bytes.length);
  await assert.rejects(
    src.run({ onFrame() {}, drain() {} }),
    (e: unknown) => e instanceof TapgateError && e.code === 'TG_ERR_USAGE',
  );
});

test('run(): abort stops after the current chunk and resolves with the stats so far', async () => {
  const path = writeTemp(dir, 'abort.pcap', bigPcap(500));
  const src = await openCaptureFile(path, { chunkBytes: 8192 });
  const ac = new AbortController();
  const seen: SeenFrame[] = [];
  const stats = await src.run(
    {
      onFrame(f) {
        seen.push(snapshot(f));
        if (seen.length === 10) ac.abort();
      },
      drain() {},
    },
    ac.signal,
  );
  assert.ok(stats.frames >= 10 && stats.frames < 500, `${stats.frames} frames`);
  assert.equal(stats.frames, seen.length);
  assert.deepEqual(stats.errors, {});
});

test('run(): an exception from the consumer rejects run()', async () => {
  const src = await openCaptureFile(writeTemp(dir, 'throw.pcap', bigPcap(5)));
  await assert.rejects(
    src.run({
      onFrame() {
        throw new Error('consumer failed');
      },
      drain() {},
    }),
    /consumer failed/,
  );
});

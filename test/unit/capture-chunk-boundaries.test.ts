/**
 * Split-input tests (ws style): the same bytes read in one chunk and in tiny chunks, with and without
 * headroom for the carried tail, must give identical frames, interfaces and error counts. Tiny chunks
 * put a boundary inside every header, record, option and trailer, and force the buffer to grow.
 */
import { openCaptureFile } from '../../src/capture/open-capture.ts';
import { nativeAddon, nativeAddonError } from '../../src/capture/native-addon.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import {
  block,
  BT,
  epb,
  idb,
  payload,
  pcapFile,
  pcapngMixed,
  readAll,
  shb,
  syntheticCaptures,
  tempDir,
  writeTemp,
} from '../helpers/capture-builders.ts';

const dir = tempDir();

/** The synthetic set plus damaged files, so error paths are split too. */
function inputs(): Record<string, Buffer> {
  const out = syntheticCaptures();
  const mixed = pcapngMixed(true);
  out['pcapng-cut.pcapng'] = mixed.subarray(0, mixed.length - 9);
  out['pcapng-damaged.pcapng'] = Buffer.concat([
    shb(true),
    idb(true, { linkType: 1, snapLen: 40, name: 'a-long-interface-name', tsresol: 9 }),
    epb(true, { ifId: 0, ts: 1n, data: payload(20, 1) }, { trailer: 8 }),
    epb(true, { ifId: 2, ts: 2n, data: payload(20, 2) }),
    epb(true, { ifId: 0, ts: 3n, data: payload(50, 3) }),
    epb(true, { ifId: 0, ts: 4n, data: payload(20, 4), capLenField: 99 }),
    block(true, BT.Nrb, Buffer.alloc(300)),
    epb(true, { ifId: 0, ts: 5n, data: payload(20, 5) }),
  ]);
  const pcap = pcapFile({
    snapLen: 50,
    records: Array.from({ length: 6 }, (_, i) => ({
      sec: i,
      sub: i,
      data: payload(30 + 10 * i, i),
    })),
  });
  out['pcap-cut.pcap'] = pcap.subarray(0, pcap.length - 3);
  return out;
}

const SPLITS = [
  { chunkBytes: 1, headroomBytes: 0 },
  { chunkBytes: 2, headroomBytes: 0 },
  { chunkBytes: 3, headroomBytes: 8 },
  { chunkBytes: 7, headroomBytes: 0 },
  { chunkBytes: 13, headroomBytes: 16 },
  { chunkBytes: 64, headroomBytes: 0 },
  { chunkBytes: 1000, headroomBytes: 0 },
];

for (const [name, bytes] of Object.entries(inputs())) {
  test(`chunk boundaries: ${name}`, async () => {
    for (const [file, data] of [
      [name, bytes],
      [`${name}.gz`, gzipSync(bytes)],
    ] as const) {
      const path = writeTemp(dir, file, data);
      const whole = await readAll(path);
      assert.ok(whole.frames.length > 0, file);
      // Both readers: windows of the memory mapping, and reads into buffers with carried tails.
      for (const mmap of [true, false]) {
        for (const split of SPLITS) {
          const got = await readAll(path, { ...split, gzipChunkBytes: 5, mmap });
          const what = `${file} ${JSON.stringify({ ...split, mmap })}`;
          assert.deepEqual(got.frames, whole.frames, what);
          assert.deepEqual(got.interfaces, whole.interfaces, what);
          assert.deepEqual(got.stats, whole.stats, what);
        }
      }
    }
  });
}

test('chunk boundaries: damaged inputs count the expected errors', async () => {
  const all = inputs();
  const expectErrors: Record<string, Record<string, number>> = {
    'pcapng-cut.pcapng': { truncated_record: 1 },
    'pcapng-damaged.pcapng': {
      bad_block: 1,
      unknown_interface: 1,
      caplen_over_snaplen: 1,
      bad_record_length: 1,
    },
    'pcap-cut.pcap': { truncated_record: 1, caplen_over_snaplen: 2 },
  };
  for (const [name, errors] of Object.entries(expectErrors)) {
    for (const mmap of [true, false]) {
      const got = await readAll(writeTemp(dir, `errors-${name}`, all[name] as Buffer), {
        chunkBytes: 3,
        mmap,
      });
      assert.deepEqual(got.stats.errors, errors, `${name} mmap=${mmap}`);
    }
  }
});

test('regular files are memory-mapped when the native addon is built', async () => {
  assert.ok(nativeAddon(), `native addon not loaded: ${nativeAddonError ?? ''}`);
  const path = writeTemp(dir, 'mapped.pcap', inputs()['pcap-cut.pcap'] as Buffer);
  const mapped = await openCaptureFile(path);
  const plain = await openCaptureFile(path, { mmap: false });
  // The mapped reader walks the mapping itself: frames point into a buffer as large as the file.
  let mappedLen = 0;
  let plainLen = 0;
  await mapped.run({ onFrame: (f) => void (mappedLen = f.data.length), drain: () => undefined });
  await plain.run({ onFrame: (f) => void (plainLen = f.data.length), drain: () => undefined });
  assert.equal(mappedLen, (inputs()['pcap-cut.pcap'] as Buffer).length);
  assert.notEqual(plainLen, mappedLen);
  assert.deepEqual(mapped.stats, plain.stats);
});

/**
 * Rotation: by interval with the packet clock (epoch-aligned boundaries, exact names and counts),
 * by size (plain exact, gzip estimated), name collisions, and wall-clock tick() rotation.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { PcapOutput, type FinishedPcapFile } from '../../src/pcap/pcap-output.ts';
import {
  T0,
  ethernetFrame,
  gzipTest,
  iface,
  listFiles,
  makeFrameWriter,
  tempDirsRemovedAfterTests,
  options,
  readPcapFile,
  tcpdumpCount,
} from '../helpers/pcap-test-helpers.ts';

const tmp = tempDirsRemovedAfterTests();

const DAY = '2023/11/14';

test('interval rotation, packet clock: aligned boundaries, names from first packets, exact counts', async () => {
  const dir = await tmp('interval');
  const closed: FinishedPcapFile[] = [];
  const out = await PcapOutput.open(
    options(dir, { rotateIntervalSec: 60, onFileClosed: (f) => closed.push(f) }),
  );
  const write = makeFrameWriter(iface());
  // One frame every 3 s from T0+17 to T0+194; boundaries at T0+60, T0+120, T0+180.
  for (let k = 0; k < 60; k++) {
    write(out, { bytes: ethernetFrame(80, k), tsSec: T0 + 17 + 3 * k, tsNsec: k });
    // A late frame (earlier interval) stays in the current file: only later intervals rotate.
    if (k === 20) write(out, { bytes: ethernetFrame(80, 999), tsSec: T0 + 50, tsNsec: 0 });
  }
  await out.close();
  assert.deepEqual(await listFiles(dir), [
    `${DAY}/test-2023-11-14T22-14-17.pcap`,
    `${DAY}/test-2023-11-14T22-15-02.pcap`,
    `${DAY}/test-2023-11-14T22-16-02.pcap`,
    `${DAY}/test-2023-11-14T22-17-02.pcap`,
  ]);
  assert.deepEqual(
    closed.map((f) => [f.packets, f.reason, f.firstTs.sec - T0, f.lastTs.sec - T0]),
    [
      [15, 'interval', 17, 59],
      [21, 'interval', 62, 119],
      [20, 'interval', 122, 179],
      [5, 'close', 182, 194],
    ],
  );
  for (const f of closed) assert.equal(await tcpdumpCount(f.path), f.packets);
  assert.equal(out.stats.filesClosed, 4);
  assert.equal(out.stats.packetsWritten, 61);
});

test('size rotation, plain: files never exceed the limit; same-second names get -1, -2, …', async () => {
  const dir = await tmp('size-plain');
  const limit = 24 + 10 * (16 + 100);
  const closed: FinishedPcapFile[] = [];
  const out = await PcapOutput.open(
    options(dir, { rotateSizeBytes: limit, onFileClosed: (f) => closed.push(f) }),
  );
  const write = makeFrameWriter(iface());
  for (let i = 0; i < 35; i++) write(out, { bytes: ethernetFrame(100, i), tsSec: T0, tsNsec: i });
  await out.close();
  assert.deepEqual(await listFiles(dir), [
    `${DAY}/test-2023-11-14T22-14-00-1.pcap`,
    `${DAY}/test-2023-11-14T22-14-00-2.pcap`,
    `${DAY}/test-2023-11-14T22-14-00-3.pcap`,
    `${DAY}/test-2023-11-14T22-14-00.pcap`,
  ]);
  assert.deepEqual(
    closed.map((f) => [f.packets, f.sizeBytes, f.reason]),
    [
      [10, limit, 'size'],
      [10, limit, 'size'],
      [10, limit, 'size'],
      [5, 24 + 5 * 116, 'close'],
    ],
  );
  for (const f of closed) assert.equal(await tcpdumpCount(f.path), f.packets);
});

test('size rotation, gzip: compressed size close to the limit, every file valid', async () => {
  const dir = await tmp('size-gz');
  const limit = 40_000;
  const closed: FinishedPcapFile[] = [];
  const out = await PcapOutput.open(
    options(dir, { compress: true, rotateSizeBytes: limit, onFileClosed: (f) => closed.push(f) }),
  );
  const write = makeFrameWriter(iface());
  const n = 6000;
  for (let i = 0; i < n; i++) {
    write(out, {
      bytes: ethernetFrame(400 + (i % 200), i),
      tsSec: T0 + Math.floor(i / 1000),
      tsNsec: i,
    });
    // Like a file source between input chunks: let the compression results come in.
    if (i % 200 === 199) {
      await out.drain();
      await new Promise(setImmediate);
    }
  }
  await out.close();
  let total = 0;
  let nearLimit = 0;
  for (const [i, f] of closed.entries()) {
    await gzipTest(f.path);
    total += f.packets;
    assert.ok(f.sizeBytes <= limit * 1.05, `file ${i}: ${f.sizeBytes} over the limit`);
    if (i < closed.length - 1) assert.equal(f.reason, 'size');
    if (f.sizeBytes >= limit * 0.75) nearLimit++;
  }
  // Until a first chunk is compressed the ratio is unknown (1 assumed): the first files of a run
  // come out small, never large; then files end near the limit.
  assert.ok(nearLimit >= 3, `${nearLimit} of ${closed.length} files near the limit`);
  assert.equal(total, n);
  const last = closed.at(-1);
  assert.ok(last !== undefined);
  assert.equal(await tcpdumpCount(last.path), last.packets);
});

test('an existing file is never overwritten: the same input twice gives -1 names', async () => {
  const dir = await tmp('collide');
  const runOnce = async (): Promise<void> => {
    const out = await PcapOutput.open(options(dir));
    const write = makeFrameWriter(iface());
    for (let i = 0; i < 5; i++)
      write(out, { bytes: ethernetFrame(70, i), tsSec: T0 + 1, tsNsec: i });
    await out.close();
  };
  await runOnce();
  const first = join(dir, DAY, 'test-2023-11-14T22-14-01.pcap');
  const before = await readFile(first);
  await runOnce();
  assert.deepEqual(await listFiles(dir), [
    `${DAY}/test-2023-11-14T22-14-01-1.pcap`,
    `${DAY}/test-2023-11-14T22-14-01.pcap`,
  ]);
  assert.ok((await readFile(first)).equals(before));
  assert.ok((await readFile(join(dir, DAY, 'test-2023-11-14T22-14-01-1.pcap'))).equals(before));
});

test('wall clock: tick() closes at the boundary without packets; empty intervals make no file', async () => {
  const dir = await tmp('wall');
  let nowMs = (T0 + 3) * 1000 + 250;
  const closed: FinishedPcapFile[] = [];
  const out = await PcapOutput.open(
    options(dir, {
      clock: 'wall',
      rotateIntervalSec: 10,
      nowMs: () => nowMs,
      onFileClosed: (f) => closed.push(f),
    }),
  );
  const write = makeFrameWriter(iface());
  // Packet timestamps are deliberately far from the wall clock: 'wall' ignores them.
  for (let i = 0; i < 5; i++)
    write(out, { bytes: ethernetFrame(70, i), tsSec: 1000 + i, tsNsec: 0 });
  await out.tick((T0 + 9) * 1000 + 999);
  assert.equal(closed.length, 0);
  assert.equal(out.stats.filesOpen, 1);
  await out.tick((T0 + 10) * 1000);
  assert.deepEqual(
    closed.map((f) => [f.path.slice(dir.length + 1), f.packets, f.reason]),
    [[`${DAY}/test-2023-11-14T22-14-03.pcap`, 5, 'interval']],
  );
  await out.tick((T0 + 25) * 1000);
  assert.equal(closed.length, 1);
  nowMs = (T0 + 31) * 1000 + 500;
  for (let i = 0; i < 2; i++) write(out, { bytes: ethernetFrame(70, i), tsSec: 1, tsNsec: 0 });
  nowMs = (T0 + 40) * 1000 + 200;
  write(out, { bytes: ethernetFrame(70, 9), tsSec: 1, tsNsec: 0 });
  await out.close();
  assert.deepEqual(await listFiles(dir), [
    `${DAY}/test-2023-11-14T22-14-03.pcap`,
    `${DAY}/test-2023-11-14T22-14-31.pcap`,
    `${DAY}/test-2023-11-14T22-14-40.pcap`,
  ]);
  assert.deepEqual(
    closed.map((f) => [f.packets, f.reason]),
    [
      [5, 'interval'],
      [2, 'interval'],
      [1, 'close'],
    ],
  );
});

test('wall clock, real time: a 1 s interval rotates on tick() after the boundary', async () => {
  const dir = await tmp('wall-real');
  const out = await PcapOutput.open(
    options(dir, { clock: 'wall', rotateIntervalSec: 1, compress: true }),
  );
  const write = makeFrameWriter(iface());
  for (let i = 0; i < 3; i++) write(out, { bytes: ethernetFrame(70, i), tsSec: T0, tsNsec: i });
  await out.tick();
  assert.equal(out.stats.filesClosed, 0);
  await sleep(1000 - (Date.now() % 1000) + 30);
  await out.tick();
  assert.equal(out.stats.filesClosed, 1);
  const files = await listFiles(dir);
  assert.equal(files.length, 1);
  const [rel] = files;
  assert.ok(rel !== undefined && /^\d{4}\/\d{2}\/\d{2}\/test-.*\.pcap\.gz$/.test(rel), rel);
  await gzipTest(join(dir, rel));
  assert.equal((await readPcapFile(join(dir, rel))).records.length, 3);
  await out.tick();
  await out.close();
  assert.deepEqual(await listFiles(dir), files, 'no file for the empty interval');
});

/**
 * Retention by size and by age, files of earlier runs included; emptied date directories go,
 * temporaries being written are never touched.
 */
import assert from 'node:assert/strict';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { PcapOutput, type PcapOutputOptions } from '../../src/pcap/pcap-output.ts';
import {
  T0,
  ethernetFrame,
  iface,
  listFiles,
  makeFrameWriter,
  tempDirsRemovedAfterTests,
  options,
} from '../helpers/pcap-test-helpers.ts';

const tmp = tempDirsRemovedAfterTests();

const DAY_SEC = 86400;
const FRAMES_PER_FILE = 50;
/** 24-byte header + 50 records of 16 + 200 bytes. */
const FILE_BYTES = 24 + FRAMES_PER_FILE * 216;

/** One run of PcapOutput writing one file per start time in `starts` (interval rotation). */
async function runWith(
  dir: string,
  starts: number[],
  over: Partial<PcapOutputOptions>,
  beforeClose?: (out: PcapOutput) => Promise<void>,
): Promise<PcapOutput> {
  const out = await PcapOutput.open(options(dir, { rotateIntervalSec: 3600, ...over }));
  const write = makeFrameWriter(iface());
  for (const start of starts) {
    for (let i = 0; i < FRAMES_PER_FILE; i++) {
      write(out, { bytes: ethernetFrame(200, i), tsSec: start + i, tsNsec: 0 });
    }
  }
  if (beforeClose) await beforeClose(out);
  await out.close();
  return out;
}

test('size: oldest first, files of earlier runs included, emptied date dirs removed', async () => {
  const dir = await tmp('ret-size');
  await runWith(dir, [T0 - 20 * DAY_SEC, T0 - 3 * DAY_SEC, T0 - 2 * DAY_SEC, T0 - DAY_SEC], {});
  assert.deepEqual(await listFiles(dir), [
    '2023/10/25/test-2023-10-25T22-14-00.pcap',
    '2023/11/11/test-2023-11-11T22-14-00.pcap',
    '2023/11/12/test-2023-11-12T22-14-00.pcap',
    '2023/11/13/test-2023-11-13T22-14-00.pcap',
  ]);
  const budget = Math.floor(3.5 * FILE_BYTES);
  const out = await runWith(dir, [T0, T0 + 3600], { retainSizeBytes: budget });
  assert.deepEqual(await listFiles(dir), [
    '2023/11/13/test-2023-11-13T22-14-00.pcap',
    '2023/11/14/test-2023-11-14T22-14-00.pcap',
    '2023/11/14/test-2023-11-14T23-14-00.pcap',
  ]);
  assert.deepEqual(await listFiles(join(dir, '2023')), [
    '11/13/test-2023-11-13T22-14-00.pcap',
    '11/14/test-2023-11-14T22-14-00.pcap',
    '11/14/test-2023-11-14T23-14-00.pcap',
  ]);
  const s = out.stats;
  assert.equal(s.existingFiles, 4);
  assert.equal(s.existingBytes, 4 * FILE_BYTES);
  assert.equal(s.retentionDeletedFiles, 3);
  assert.equal(s.retentionDeletedBytes, 3 * FILE_BYTES);
  assert.equal(s.archiveFiles, 3);
  assert.equal(s.archiveBytes, 3 * FILE_BYTES);
  assert.ok(s.archiveBytes <= budget);
});

test('size: a tiny budget keeps only the newest finished file, never the open temporary', async () => {
  const dir = await tmp('ret-tiny');
  const starts = [T0, T0 + 3600, T0 + 7200];
  let whileOpen: string[] = [];
  const out = await runWith(dir, starts, { retainSizeBytes: 1 }, async (o) => {
    await o.tick(); // the first two files are published; the third is still a temporary
    for (let i = 0; i < 200 && !whileOpen.some((f) => f.endsWith('.part')); i++) {
      await new Promise((r) => setTimeout(r, 10)); // its creation is asynchronous
      whileOpen = await listFiles(dir);
    }
  });
  assert.deepEqual(whileOpen, [
    '.test-2023-11-15T00-14-00.pcap.part',
    '2023/11/14/test-2023-11-14T23-14-00.pcap',
  ]);
  assert.deepEqual(await listFiles(dir), ['2023/11/15/test-2023-11-15T00-14-00.pcap']);
  assert.equal(out.stats.retentionDeletedFiles, 2);
});

test('age, packet clock: judged against the newest packet, earlier runs included', async () => {
  const dir = await tmp('ret-age');
  await runWith(dir, [T0 - 3 * DAY_SEC, T0 - DAY_SEC], {});
  const out = await runWith(dir, [T0], { retainAgeSec: 2 * DAY_SEC }, async (o) => {
    await o.tick();
  });
  assert.deepEqual(await listFiles(dir), [
    '2023/11/13/test-2023-11-13T22-14-00.pcap',
    '2023/11/14/test-2023-11-14T22-14-00.pcap',
  ]);
  assert.equal(out.stats.retentionDeletedFiles, 1);
});

test('age, wall clock: old files go at open(), by name time and mtime', async () => {
  const dir = await tmp('ret-wall');
  await runWith(dir, [T0 - 3 * DAY_SEC, T0 - DAY_SEC], {});
  // Written just now: set the mtimes to the time in their names, as a real sensor would have.
  for (const [rel, sec] of [
    ['2023/11/11/test-2023-11-11T22-14-00.pcap', T0 - 3 * DAY_SEC + 60],
    ['2023/11/13/test-2023-11-13T22-14-00.pcap', T0 - DAY_SEC + 60],
  ] as const) {
    await utimes(join(dir, rel), sec, sec);
  }
  const out = await PcapOutput.open(
    options(dir, { clock: 'wall', retainAgeSec: 2 * DAY_SEC, nowMs: () => T0 * 1000 }),
  );
  assert.deepEqual(await listFiles(dir), ['2023/11/13/test-2023-11-13T22-14-00.pcap']);
  assert.equal(out.stats.retentionDeletedFiles, 1);
  await out.close();
});

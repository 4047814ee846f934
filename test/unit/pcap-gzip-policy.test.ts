import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { join } from 'node:path';
import { PcapOutput } from '../../src/pcap/pcap-output.ts';
import { GzipChunkPolicy } from '../../src/pcap/pcap-gzip-policy.ts';
import {
  T0,
  gzipTest,
  iface,
  listFiles,
  makeFrameWriter,
  options,
  readPcapFile,
  tcpdumpCount,
  tempDirsRemovedAfterTests,
  type TestFrame,
} from '../helpers/pcap-test-helpers.ts';

const tmp = tempDirsRemovedAfterTests();

/** Feeds chunks through the policy, deflating each at the level it picks, like the writer does. */
function run(policy: GzipChunkPolicy, chunks: Buffer[]): number[] {
  return chunks.map((c) => {
    const level = policy.nextLevel();
    policy.record(level, c.length, deflateRawSync(c, { level }).length);
    return level;
  });
}

test('incompressible chunks are stored, with a deflated probe every 16th', () => {
  const p = new GzipChunkPolicy(1, 0.2);
  const levels = run(
    p,
    Array.from({ length: 48 }, () => randomBytes(64 * 1024)),
  );
  // The first chunk is deflated (nothing known yet); it saves ~0%, so storing starts.
  assert.equal(levels[0], 1);
  assert.deepEqual(
    levels.map((l, i) => (l === 1 ? i : -1)).filter((i) => i >= 0),
    [0, 16, 32],
  );
  assert.equal(p.chunksDeflated, 3);
  assert.equal(p.chunksStored, 45);
});

test('compressible traffic goes back to deflate at the next probe, and stays there', () => {
  const p = new GzipChunkPolicy(1, 0.2);
  const text = Buffer.from('GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n'.repeat(1500));
  const random = Array.from({ length: 10 }, () => randomBytes(64 * 1024));
  const levels = run(p, [...random, ...Array.from({ length: 30 }, () => text)]);
  const firstText = 10;
  const back = levels.findIndex((l, i) => i >= firstText && l === 1);
  assert.ok(back >= firstText && back <= 16, `back to deflate at chunk ${back}`);
  assert.ok(levels.slice(back).every((l) => l === 1));
});

test('minSaving 0 is plain gzip: every chunk deflated', () => {
  const p = new GzipChunkPolicy(6, 0);
  const levels = run(
    p,
    Array.from({ length: 20 }, () => randomBytes(4096)),
  );
  assert.ok(levels.every((l) => l === 6));
  assert.equal(p.chunksStored, 0);
});

test('PcapOutput: incompressible frames are stored, compressible ones deflated; both read back exact', async () => {
  const dir = await tmp('gz-policy');
  const write = makeFrameWriter(iface());
  const frameAt = (i: number, bytes: Buffer): TestFrame => ({ bytes, tsSec: T0, tsNsec: i });
  // 3 MB of encrypted-looking payloads, then 3 MB of repetitive text.
  const random = Array.from({ length: 2000 }, (_, i) =>
    frameAt(i, Buffer.concat([randomBytes(1500)])),
  );
  const text = Array.from({ length: 2000 }, (_, i) =>
    frameAt(2000 + i, Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n'.repeat(35))),
  );
  const out = await PcapOutput.open(
    options(dir, { compress: true, batchBytes: 64 * 1024, rotateIntervalSec: 0 }),
  );
  for (const f of [...random, ...text]) write(out, f);
  await out.drain();
  await out.close();
  const s = out.stats;
  assert.ok(s.gzipChunksStored >= 30, `stored ${s.gzipChunksStored}`);
  assert.ok(s.gzipChunksDeflated >= 30, `deflated ${s.gzipChunksDeflated}`);
  const [rel] = await listFiles(dir);
  const path = join(dir, rel!);
  await gzipTest(path);
  assert.equal(await tcpdumpCount(path), 4000);
  const back = (await readPcapFile(path)).records.map((r) => r.data);
  assert.deepEqual(
    back,
    [...random, ...text].map((f) => f.bytes),
  );
});

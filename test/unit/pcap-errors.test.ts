/**
 * Failures: an unusable outDir is a clear TG_ERR_OUTPUT_DIR at open(); a disk filling up (a real
 * 1 MiB tmpfs) or the directory vanishing mid-stream is counted, never thrown, and capture goes
 * on with new files.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';

import { isTapgateError, type TapgateError } from '../../src/errors.ts';
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
  tcpdumpCount,
} from '../helpers/pcap-test-helpers.ts';

const tmp = tempDirsRemovedAfterTests();

function sh(cmd: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(cmd, args, (err, _stdout, stderr) => {
      resolve(err ? `${err.message} ${stderr}` : null);
    });
  });
}

/** Mounts a tmpfs of `size` at a fresh directory; skips the test when that is not allowed. */
async function withTmpfs(
  t: TestContext,
  mountOpts: string,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await tmp('tmpfs');
  const err = await sh('mount', ['-t', 'tmpfs', '-o', mountOpts, 'tmpfs', dir]);
  if (err !== null) {
    t.skip(`cannot mount a tmpfs (needs root): ${err}`);
    return;
  }
  try {
    await fn(dir);
  } finally {
    if ((await sh('umount', [dir])) !== null) await sh('umount', ['-l', dir]);
  }
}

async function expectDirError(outDir: string, re: RegExp): Promise<void> {
  await assert.rejects(PcapOutput.open(options(outDir)), (e: unknown) => {
    assert.ok(isTapgateError(e));
    assert.equal(e.code, 'TG_ERR_OUTPUT_DIR');
    assert.match(e.message, re);
    return true;
  });
}

test('an unusable outDir is TG_ERR_OUTPUT_DIR with the path and the reason', async (t) => {
  const dir = await tmp('baddir');
  const file = join(dir, 'regular-file');
  await writeFile(file, 'x');
  await expectDirError(join(file, 'out'), /regular-file\/out cannot be created: ENOTDIR/);
  await expectDirError(file, /regular-file cannot be created: EEXIST/);
  await withTmpfs(t, 'ro,size=64k', async (ro) => {
    await expectDirError(ro, /is not writable: EROFS/);
  });
  await assert.rejects(PcapOutput.open(options(dir, { gzipLevel: 12 })), /gzipLevel/);
});

for (const compress of [false, true]) {
  test(`disk full (1 MiB tmpfs, ${compress ? 'gzip' : 'plain'}): counted, no crash, finished files valid`, async (t) => {
    await withTmpfs(t, 'size=1m', async (dir) => {
      const errors: TapgateError[] = [];
      const closed: FinishedPcapFile[] = [];
      const out = await PcapOutput.open(
        options(dir, {
          compress,
          gzipLevel: 1,
          rotateIntervalSec: 1,
          batchBytes: 64 * 1024,
          errorRetryMs: 0,
          onWriteError: (e) => errors.push(e),
          onFileClosed: (f) => closed.push(f),
        }),
      );
      const write = makeFrameWriter(iface());
      // Random-looking payloads (incompressible) so gzip fills the disk too: ~4 MB in 40 files.
      const total = 4000;
      for (let i = 0; i < total; i++) {
        const bytes = ethernetFrame(1000, i);
        for (let k = 44; k + 4 <= bytes.length; k += 4) {
          bytes.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ Math.imul(k, 40503)) >>> 0, k);
        }
        write(out, { bytes, tsSec: T0 + Math.floor(i / 100), tsNsec: i });
        if (i % 100 === 99) {
          await out.drain();
          await new Promise((r) => setTimeout(r, 2)); // let writes fail while frames keep coming
        }
      }
      await out.close();
      const s = out.stats;
      assert.ok(s.writeErrors >= 1, 'errors counted');
      assert.equal(errors.length, s.writeErrors);
      assert.ok(errors.every((e) => e.code === 'TG_ERR_OUTPUT_WRITE'));
      assert.ok(
        errors.some((e) => /ENOSPC/.test(e.message)),
        errors[0]?.message,
      );
      assert.equal(s.packetsWritten + s.packetsDropped, total);
      assert.ok(s.packetsDropped + s.packetsLost > 0);
      assert.ok(closed.length >= 1);
      assert.equal(s.filesOpen, 0);
      assert.equal(s.bufferedBytes, 0);
      let published = 0;
      for (const f of closed) {
        if (compress) await gzipTest(f.path);
        assert.equal(await tcpdumpCount(f.path), f.packets);
        published += f.packets;
      }
      // Whatever was accepted is in a finished file, counted as lost, or in a temporary kept for
      // the next start (gzip salvage needs free space to rewrite).
      assert.ok(published + s.packetsLost <= s.packetsWritten);
      if (!compress) assert.equal(published + s.packetsLost, s.packetsWritten);
    });
  });
}

test('the output directory vanishing mid-stream: counted, recreated for the next file', async () => {
  const dir = await tmp('vanish');
  const outDir = join(dir, 'out');
  const closed: FinishedPcapFile[] = [];
  const out = await PcapOutput.open(
    options(outDir, { rotateIntervalSec: 10, compress: true, onFileClosed: (f) => closed.push(f) }),
  );
  const write = makeFrameWriter(iface());
  for (let i = 0; i < 100; i++) write(out, { bytes: ethernetFrame(300, i), tsSec: T0, tsNsec: i });
  await out.tick();
  for (let i = 0; i < 200 && out.stats.fileBytesWritten === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  await rm(outDir, { recursive: true, force: true });
  for (let i = 0; i < 100; i++)
    write(out, { bytes: ethernetFrame(300, i), tsSec: T0 + 10, tsNsec: i });
  await out.close();
  assert.ok(out.stats.writeErrors >= 1);
  assert.equal(out.stats.packetsLost, 100);
  assert.deepEqual(await listFiles(outDir), ['2023/11/14/test-2023-11-14T22-14-10.pcap.gz']);
  const path = join(outDir, '2023/11/14/test-2023-11-14T22-14-10.pcap.gz');
  await access(path);
  await gzipTest(path);
  assert.equal(await tcpdumpCount(path), 100);
  assert.deepEqual(
    closed.map((f) => f.packets),
    [100],
  );
});

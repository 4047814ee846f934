/**
 * Crash recovery at open(): temporaries cut mid-record (plain and gzip) and the temporary of a
 * process killed with SIGKILL become valid files under their final names; nothing is deleted.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';

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
  parsePcap,
  readPcapFile,
  tcpdumpCount,
} from '../helpers/pcap-test-helpers.ts';

const tmp = tempDirsRemovedAfterTests();

const NAME = 'test-2023-11-14T22-14-00';
const DAY = '2023/11/14';

/** Writes `n` frames into a fresh directory and returns the finished file's bytes. */
async function finishedFile(compress: boolean, n: number): Promise<Buffer> {
  const dir = await tmp('src');
  const out = await PcapOutput.open(options(dir, { compress, batchBytes: 64 * 1024 }));
  const write = makeFrameWriter(iface());
  for (let i = 0; i < n; i++) {
    write(out, { bytes: ethernetFrame(200 + (i % 300), i), tsSec: T0 + (i % 50), tsNsec: i });
  }
  await out.close();
  return readFile(join(dir, DAY, `${NAME}.pcap${compress ? '.gz' : ''}`));
}

test('plain temporary cut mid-record: truncated to its complete records and renamed', async () => {
  const full = await finishedFile(false, 200);
  const original = parsePcap(full);
  const dir = await tmp('rec-plain');
  await writeFile(join(dir, `.${NAME}.pcap.part`), full.subarray(0, full.length - 50));
  const recovered: FinishedPcapFile[] = [];
  const out = await PcapOutput.open(options(dir, { onFileClosed: (f) => recovered.push(f) }));
  await out.close();
  assert.deepEqual(await listFiles(dir), [`${DAY}/${NAME}.pcap`]);
  assert.equal(out.stats.recoveredFiles, 1);
  assert.equal(out.stats.recoveredPackets, 199);
  const [r0] = recovered;
  assert.ok(r0 !== undefined);
  assert.equal(r0.reason, 'recovered');
  assert.equal(r0.packets, 199);
  const path = join(dir, DAY, `${NAME}.pcap`);
  assert.equal(await tcpdumpCount(path), 199);
  const got = await readPcapFile(path);
  assert.equal(got.records.length, 199);
  got.records.forEach((r, i) => {
    assert.ok(r.data.equals(original.records[i]?.data ?? Buffer.alloc(0)));
  });
});

test('gzip temporary cut mid-stream: complete records rewritten as a valid gzip', async () => {
  const full = await finishedFile(true, 3000);
  const original = parsePcap(gunzipSync(full));
  const dir = await tmp('rec-gz');
  await writeFile(
    join(dir, `.${NAME}.pcap.gz.part`),
    full.subarray(0, Math.floor(full.length * 0.6)),
  );
  const out = await PcapOutput.open(options(dir, { compress: true }));
  await out.close();
  assert.deepEqual(await listFiles(dir), [`${DAY}/${NAME}.pcap.gz`]);
  const path = join(dir, DAY, `${NAME}.pcap.gz`);
  await gzipTest(path);
  const got = await readPcapFile(path);
  const k = got.records.length;
  assert.ok(k > 1000 && k < 3000, `${k} records recovered`);
  assert.equal(out.stats.recoveredPackets, k);
  assert.equal(await tcpdumpCount(path), k);
  got.records.forEach((r, i) => {
    assert.ok(r.data.equals(original.records[i]?.data ?? Buffer.alloc(0)));
  });
});

test('a process killed with SIGKILL loses nothing that reached the disk (gzip)', async () => {
  const dir = await tmp('rec-kill');
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const script = join(dir, 'child.mts');
  await writeFile(
    script,
    `import { PcapOutput } from ${JSON.stringify(join(root, 'src/pcap/pcap-output.ts'))};
import { ethernetFrame, iface, makeFrameWriter, options, T0 } from ${JSON.stringify(join(root, 'test/helpers/pcap-test-helpers.ts'))};
const out = await PcapOutput.open(options(${JSON.stringify(join(dir, 'out'))}, { compress: true, batchBytes: 64 * 1024 }));
const write = makeFrameWriter(iface());
for (let i = 0; i < 2000; i++) write(out, { bytes: ethernetFrame(300, i), tsSec: T0 + 5, tsNsec: i });
await out.tick(); // hands the partial batch to the writer
for (let t = 0; t < 500 && (out.stats.bufferedBytes > 0 || out.stats.fileBytesWritten === 0); t++) {
  await new Promise((r) => setTimeout(r, 10));
}
process.kill(process.pid, 'SIGKILL');
`,
  );
  const signal = await new Promise<string | null>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', script], { cwd: root }, (err) => {
      resolve(err && 'signal' in err ? (err.signal ?? null) : null);
    });
  });
  assert.equal(signal, 'SIGKILL');
  const outDir = join(dir, 'out');
  assert.deepEqual(await listFiles(outDir), [`.test-2023-11-14T22-14-05.pcap.gz.part`]);
  const out = await PcapOutput.open(options(outDir, { compress: true }));
  await out.close();
  const rel = `${DAY}/test-2023-11-14T22-14-05.pcap.gz`;
  assert.deepEqual(await listFiles(outDir), [rel]);
  await gzipTest(join(outDir, rel));
  assert.equal(await tcpdumpCount(join(outDir, rel)), 2000);
  assert.equal(out.stats.recoveredPackets, 2000);
});

test('unreadable temporaries kept aside, empty ones dropped, taken names kept, stale .rec removed', async () => {
  const full = await finishedFile(false, 10);
  const dir = await tmp('rec-misc');
  await writeFile(join(dir, `.${NAME}.pcap.part`), full);
  await mkdir(join(dir, DAY), { recursive: true });
  await writeFile(join(dir, DAY, `${NAME}.pcap`), 'an earlier file with the same name');
  await writeFile(join(dir, '.empty-2023-11-14T22-14-00.pcap.part'), '');
  await writeFile(join(dir, '.junk-2023-11-14T22-14-00.pcap.gz.part'), 'not gzip at all');
  await writeFile(join(dir, `.${NAME}.pcap.gz.part.rec`), 'half a rewrite');
  await writeFile(join(dir, '.unrelated-dotfile'), 'kept');
  const out = await PcapOutput.open(options(dir));
  await out.close();
  assert.deepEqual(await listFiles(dir), [
    '.unrelated-dotfile',
    `${DAY}/junk-2023-11-14T22-14-00.pcap.gz.unrecoverable`,
    `${DAY}/${NAME}-1.pcap`,
    `${DAY}/${NAME}.pcap`,
  ]);
  assert.equal(
    await readFile(join(dir, DAY, `${NAME}.pcap`), 'utf8'),
    'an earlier file with the same name',
  );
  assert.ok((await readFile(join(dir, DAY, `${NAME}-1.pcap`))).equals(full));
  assert.equal(out.stats.recoveredFiles, 1);
  assert.equal(out.stats.unrecoverableFiles, 1);
  assert.equal(out.stats.existingFiles, 1);
});

/**
 * Files written by PcapOutput, read back by the real tools (tcpdump, tshark, gzip) and by a strict
 * parser: exact counts, byte-exact frames, timestamps, snaplen, link types.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { PcapOutput, type FinishedPcapFile } from '../../src/pcap/pcap-output.ts';
import {
  LINKTYPE_LINUX_SLL2,
  T0,
  ethernetFrame,
  gzipTest,
  iface,
  listFiles,
  makeFrameWriter,
  tempDirsRemovedAfterTests,
  options,
  readPcapFile,
  sll2Frame,
  tcpdumpBytes,
  tcpdumpCount,
  tsharkFields,
  type TestFrame,
} from '../helpers/pcap-test-helpers.ts';

const tmp = tempDirsRemovedAfterTests();

function frames(n: number): TestFrame[] {
  const out: TestFrame[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      bytes: ethernetFrame(42 + ((i * 37) % 1473), i),
      tsSec: T0 + Math.floor(i / 100),
      tsNsec: (i % 100) * 10_000_000 + i,
    });
  }
  return out;
}

for (const compress of [false, true]) {
  test(`${compress ? 'gzip' : 'plain'}: tcpdump and tshark read every frame byte-exact`, async () => {
    const dir = await tmp(compress ? 'rb-gz' : 'rb-plain');
    const closed: FinishedPcapFile[] = [];
    // Small batches: the 600 frames span several batches (and several deflate chunks).
    const out = await PcapOutput.open(
      options(dir, { compress, batchBytes: 64 * 1024, onFileClosed: (f) => closed.push(f) }),
    );
    const input = frames(600);
    const write = makeFrameWriter(iface());
    for (const f of input) write(out, f);
    await out.drain();
    await out.close();

    const ext = compress ? '.pcap.gz' : '.pcap';
    const rel = `2023/11/14/test-2023-11-14T22-14-00${ext}`;
    assert.deepEqual(await listFiles(dir), [rel]);
    const path = join(dir, rel);
    const [f0] = closed;
    assert.ok(closed.length === 1 && f0 !== undefined);
    assert.equal(f0.path, path);
    assert.equal(f0.packets, 600);
    assert.equal(f0.reason, 'close');
    assert.deepEqual(f0.firstTs, { sec: T0, nsec: 0 });
    assert.deepEqual(f0.lastTs, { sec: T0 + 5, nsec: 990_000_599 });
    assert.equal(out.stats.packetsWritten, 600);
    assert.equal(out.stats.filesClosed, 1);
    assert.equal(out.stats.filesOpen, 0);
    assert.equal(out.stats.bufferedBytes, 0);
    assert.equal(out.stats.writeErrors, 0);
    assert.equal(out.stats.fileBytesWritten, f0.sizeBytes);
    if (compress) await gzipTest(path);

    const parsed = await readPcapFile(path);
    assert.equal(parsed.magic, 0xa1b2c3d4);
    assert.equal(parsed.linkType, 1);
    assert.equal(parsed.snapLen, 262144);
    assert.equal(parsed.records.length, 600);
    parsed.records.forEach((r, i) => {
      const f = input[i];
      assert.ok(f !== undefined);
      assert.ok(r.data.equals(f.bytes), `record ${i}`);
      assert.equal(r.sec, f.tsSec);
      assert.equal(r.frac, Math.floor(f.tsNsec / 1000));
      assert.equal(r.origLen, f.bytes.length);
    });

    assert.equal(await tcpdumpCount(path), 600);
    const dumped = await tcpdumpBytes(path);
    assert.equal(dumped.length, 600);
    dumped.forEach((b, i) => {
      assert.ok(b.equals(input[i]?.bytes ?? Buffer.alloc(0)), `tcpdump -xx packet ${i}`);
    });
    const rows = await tsharkFields(path, ['frame.len', 'frame.cap_len']);
    assert.equal(rows.length, 600);
    assert.deepEqual(rows[599], [
      String(input[599]?.bytes.length),
      String(input[599]?.bytes.length),
    ]);
  });
}

test('ns precision is kept (magic a1b23c4d, tshark sees the nanoseconds)', async () => {
  const dir = await tmp('ns');
  const out = await PcapOutput.open(options(dir, { compress: true }));
  const write = makeFrameWriter(iface(1, 262144, 'ns'));
  const ts = [1, 123_456_789, 999_999_999];
  ts.forEach((nsec, i) => {
    write(out, { bytes: ethernetFrame(100, i), tsSec: T0 + i, tsNsec: nsec });
  });
  await out.close();
  const [rel] = await listFiles(dir);
  assert.ok(rel !== undefined);
  const path = join(dir, rel);
  const parsed = await readPcapFile(path);
  assert.equal(parsed.magic, 0xa1b23c4d);
  assert.deepEqual(
    parsed.records.map((r) => r.frac),
    ts,
  );
  const rows = await tsharkFields(path, ['frame.time_epoch']);
  assert.deepEqual(
    rows.map((r) => r[0]),
    ['1700000040.000000001', '1700000041.123456789', '1700000042.999999999'],
  );
});

test('snaplen is preserved and longer frames are trimmed (origLen kept, counted)', async () => {
  const dir = await tmp('snap');
  const out = await PcapOutput.open(options(dir));
  const write = makeFrameWriter(iface(1, 96));
  const input = [
    ethernetFrame(60, 1),
    ethernetFrame(96, 2),
    ethernetFrame(97, 3),
    ethernetFrame(1514, 4),
  ];
  input.forEach((bytes, i) => {
    write(out, { bytes, tsSec: T0, tsNsec: i });
  });
  await out.close();
  assert.equal(out.stats.framesTrimmedToSnaplen, 2);
  const [rel] = await listFiles(dir);
  assert.ok(rel !== undefined);
  const path = join(dir, rel);
  const parsed = await readPcapFile(path);
  assert.equal(parsed.snapLen, 96);
  assert.deepEqual(
    parsed.records.map((r) => [r.capLen, r.origLen]),
    [
      [60, 60],
      [96, 96],
      [96, 97],
      [96, 1514],
    ],
  );
  assert.ok(parsed.records[3]?.data.equals(input[3]?.subarray(0, 96) ?? Buffer.alloc(0)));
  assert.equal(await tcpdumpCount(path), 4);
  const rows = await tsharkFields(path, ['frame.len', 'frame.cap_len']);
  assert.deepEqual(rows[3], ['1514', '96']);
});

test('two link types give two streams with stable, distinct names', async () => {
  const dir = await tmp('links');
  const closed: FinishedPcapFile[] = [];
  const out = await PcapOutput.open(
    options(dir, { sourceName: 'eth0', compress: true, onFileClosed: (f) => closed.push(f) }),
  );
  const eth = iface(1, 262144, 'us');
  const sll2 = iface(LINKTYPE_LINUX_SLL2, 65535, 'us');
  const write = makeFrameWriter(eth);
  for (let i = 0; i < 50; i++) {
    write(out, { bytes: ethernetFrame(100 + i, i), tsSec: T0 + 1, tsNsec: i });
    write(out, { bytes: sll2Frame(120 + i, i), tsSec: T0 + 2, tsNsec: i, iface: sll2 });
  }
  await out.close();
  assert.deepEqual(await listFiles(dir), [
    '2023/11/14/eth0-2023-11-14T22-14-01.pcap.gz',
    '2023/11/14/eth0-linux_sll2-2023-11-14T22-14-02.pcap.gz',
  ]);
  assert.deepEqual(closed.map((f) => [f.linkType, f.snapLen, f.packets]).sort(), [
    [1, 262144, 50],
    [276, 65535, 50],
  ]);
  const sllPath = join(dir, '2023/11/14/eth0-linux_sll2-2023-11-14T22-14-02.pcap.gz');
  await gzipTest(sllPath);
  const parsed = await readPcapFile(sllPath);
  assert.equal(parsed.linkType, LINKTYPE_LINUX_SLL2);
  assert.equal(parsed.snapLen, 65535);
  assert.equal(await tcpdumpCount(sllPath), 50);
  const rows = await tsharkFields(sllPath, ['sll.ifindex', 'ip.dst']);
  assert.equal(rows.length, 50);
  assert.deepEqual(rows[0], ['2', '10.0.0.2']);
});

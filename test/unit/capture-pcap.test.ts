/**
 * Classic pcap reading: both magics in both byte orders, header fields, and the damage a file can
 * carry (cut records, impossible lengths, oversize frames), plain and gzipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import {
  epoch,
  payload,
  pcapFile,
  readAll,
  tempDir,
  writeTemp,
  type PcapRecordSpec,
} from '../helpers/capture-builders.ts';

const dir = tempDir();

function records(n: number): PcapRecordSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    sec: 1_700_000_000 + i,
    sub: 123_000 + i,
    data: payload(60 + i, i),
    origLen: 100 + i,
  }));
}

for (const le of [true, false]) {
  for (const nano of [false, true]) {
    const variant = `${nano ? 'ns' : 'us'} ${le ? 'little' : 'big'}-endian`;
    test(`pcap ${variant}: frames, timestamps, interface`, async () => {
      const recs = records(4);
      const bytes = pcapFile({ le, nano, linkType: 1, snapLen: 65535, records: recs });
      for (const [name, data] of [
        ['plain.pcap', bytes],
        ['packed.bin', gzipSync(bytes)],
      ] as const) {
        const path = writeTemp(dir, `${variant}-${name}`.replace(/ /g, '_'), data);
        const got = await readAll(path);
        assert.equal(got.format, 'pcap');
        assert.equal(got.compressed, name === 'packed.bin');
        assert.deepEqual(got.interfaces, [
          { id: 0, linkType: 1, snapLen: 65535, tsPrecision: nano ? 'ns' : 'us', name: '' },
        ]);
        assert.deepEqual(
          got.frames,
          recs.map((r) => ({
            tsSec: r.sec,
            tsNsec: nano ? r.sub : r.sub * 1000,
            capLen: r.data.length,
            origLen: r.origLen,
            iface: 0,
            linkType: 1,
            data: r.data.toString('hex'),
          })),
        );
        assert.deepEqual(got.stats, {
          frames: 4,
          bytes: 60 + 61 + 62 + 63,
          inputBytesRead: data.length,
          inputBytesTotal: data.length,
          errors: {},
        });
      }
    });
  }
}

test('pcap: link type is the low 16 bits (FCS length and flag above it are masked)', async () => {
  const fcs = (4 << 28) | 0x04000000;
  for (const [field, linkType] of [
    [fcs | 1, 1],
    [fcs | 276, 276],
    [0x0000ffff, 0xffff],
  ] as const) {
    const path = writeTemp(
      dir,
      `lt-${field}.pcap`,
      pcapFile({ linkType: field, records: records(1) }),
    );
    const got = await readAll(path);
    assert.equal(got.interfaces[0]?.linkType, linkType);
    assert.equal(got.frames[0]?.linkType, linkType);
  }
});

test('pcap: snaplen 0 is reported as 262144', async () => {
  const path = writeTemp(dir, 'snap0.pcap', pcapFile({ snapLen: 0, records: records(1) }));
  assert.equal((await readAll(path)).interfaces[0]?.snapLen, 262144);
});

test('pcap: header only is an empty capture, not an error', async () => {
  const path = writeTemp(dir, 'header-only.pcap', pcapFile({ records: [] }));
  const got = await readAll(path);
  assert.equal(got.frames.length, 0);
  assert.deepEqual(got.stats.errors, {});
  assert.equal(got.interfaces.length, 1);
});

test('pcap: caplen over snaplen is delivered and counted', async () => {
  const recs = records(3);
  const path = writeTemp(dir, 'over-snap.pcap', pcapFile({ snapLen: 61, records: recs }));
  const got = await readAll(path);
  assert.deepEqual(
    got.frames.map((f) => f.capLen),
    [60, 61, 62],
  );
  assert.deepEqual(got.stats.errors, { caplen_over_snaplen: 1 });
});

test('pcap: file cut inside a record keeps every frame before it', async () => {
  const full = pcapFile({ records: records(3) });
  // Cut in the last record's data, then in its 16-byte header.
  for (const cut of [full.length - 5, full.length - 62 - 8]) {
    const path = writeTemp(dir, `cut-${cut}.pcap`, full.subarray(0, cut));
    const got = await readAll(path);
    assert.equal(got.frames.length, 2);
    assert.deepEqual(got.stats.errors, { truncated_record: 1 });
    assert.equal(got.stats.inputBytesRead, cut);
  }
});

test('pcap: an impossible caplen stops the file (no framing to resync on)', async () => {
  const recs = records(4);
  (recs[1] as PcapRecordSpec).capLenField = 262145;
  const path = writeTemp(dir, 'bad-caplen.pcap', pcapFile({ records: recs }));
  const got = await readAll(path);
  assert.equal(got.frames.length, 1);
  assert.deepEqual(got.stats.errors, { bad_record_length: 1 });

  // 262144 itself is the largest legal caplen.
  const big = writeTemp(
    dir,
    'max-caplen.pcap',
    pcapFile({
      snapLen: 262144,
      records: [{ sec: 1, sub: 0, data: payload(262144, 9) }, ...records(1)],
    }),
  );
  const ok = await readAll(big);
  assert.deepEqual(
    ok.frames.map((f) => f.capLen),
    [262144, 60],
  );
  assert.deepEqual(ok.stats.errors, {});
});

test('pcap: an out-of-range sub-second field carries into the seconds', async () => {
  const rec = (sub: number): PcapRecordSpec => ({ sec: 10, sub, data: payload(20, 1) });
  const us = await readAll(
    writeTemp(dir, 'carry-us.pcap', pcapFile({ records: [rec(2_500_000)] })),
  );
  const ns = await readAll(
    writeTemp(dir, 'carry-ns.pcap', pcapFile({ nano: true, records: [rec(4_000_000_007)] })),
  );
  assert.equal(epoch(us.frames[0] as { tsSec: number; tsNsec: number }), '12.500000000');
  assert.equal(epoch(ns.frames[0] as { tsSec: number; tsNsec: number }), '14.000000007');
});

test('pcap: gzip of a file cut inside a record', async () => {
  const full = pcapFile({ records: records(3) });
  const path = writeTemp(dir, 'cut.pcap.gz', gzipSync(full.subarray(0, full.length - 5)));
  const got = await readAll(path);
  assert.equal(got.frames.length, 2);
  assert.deepEqual(got.stats.errors, { truncated_record: 1 });
});

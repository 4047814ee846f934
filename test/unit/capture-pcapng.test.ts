/**
 * pcapng reading: interfaces and their options, every packet block kind, sections and byte orders,
 * blocks to skip, and framing damage with the cause each one is counted under.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { openCaptureFile } from '../../src/capture/open-capture.ts';
import {
  block,
  BT,
  epb,
  idb,
  payload,
  pb,
  pcapngMixed,
  pcapngTwoSections,
  readAll,
  shb,
  spb,
  tempDir,
  writeTemp,
  type SeenFrame,
} from '../helpers/capture-builders.ts';

const dir = tempDir();

function frame(
  p: Partial<Omit<SeenFrame, 'data'>> & { data: Buffer; iface: number; linkType: number },
): SeenFrame {
  return {
    tsSec: p.tsSec ?? 0,
    tsNsec: p.tsNsec ?? 0,
    capLen: p.capLen ?? p.data.length,
    origLen: p.origLen ?? p.data.length,
    iface: p.iface,
    linkType: p.linkType,
    data: p.data.subarray(0, p.capLen ?? p.data.length).toString('hex'),
  };
}

const MIXED_FRAMES: SeenFrame[] = [
  frame({ tsSec: 1_700_000_000, tsNsec: 123_456_789, data: payload(64, 1), iface: 0, linkType: 1 }),
  // 2^-20 s units: 777777 / 2^20 s = 0.741745948… s, truncated to ns (as Wireshark does).
  frame({
    tsSec: 1_700_000_001,
    tsNsec: 741_745_948,
    data: payload(40, 2),
    origLen: 1500,
    iface: 1,
    linkType: 101,
  }),
  // SPB: interface 0, no timestamp.
  frame({ data: payload(50, 3), iface: 0, linkType: 1 }),
  // Obsolete Packet Block on interface 1.
  frame({ tsSec: 5, data: payload(33, 4), iface: 1, linkType: 101 }),
  frame({ tsSec: 1_700_000_002, tsNsec: 1, data: payload(1, 5), iface: 0, linkType: 1 }),
];

for (const le of [true, false]) {
  test(`pcapng ${le ? 'little' : 'big'}-endian: two interfaces, EPB/SPB/PB, skipped blocks`, async () => {
    const bytes = pcapngMixed(le);
    for (const [name, data] of [
      ['mixed.pcapng', bytes],
      ['mixed.pcapng.gz', gzipSync(bytes)],
    ] as const) {
      const path = writeTemp(dir, `${le ? 'le' : 'be'}-${name}`, data);
      const got = await readAll(path);
      assert.equal(got.format, 'pcapng');
      assert.equal(got.compressed, name.endsWith('.gz'));
      assert.deepEqual(got.interfaces, [
        { id: 0, linkType: 1, snapLen: 65535, tsPrecision: 'ns', name: 'eth0' },
        // 2^-20 s is finer than a microsecond: 'ns'. Snaplen 0 is reported as 262144.
        { id: 1, linkType: 101, snapLen: 262144, tsPrecision: 'ns', name: 'tun0' },
      ]);
      assert.deepEqual(got.frames, MIXED_FRAMES);
      assert.deepEqual(got.stats, {
        frames: 5,
        bytes: 64 + 40 + 50 + 33 + 1,
        inputBytesRead: data.length,
        inputBytesTotal: data.length,
        errors: {},
      });
    }
  });
}

test('pcapng: interfaces before the first packet are known right after open', async () => {
  const src = await openCaptureFile(writeTemp(dir, 'open-ifaces.pcapng', pcapngMixed(true)));
  assert.deepEqual(
    src.interfaces.map((i) => i.name),
    ['eth0', 'tun0'],
  );
  await src.close();
});

test('pcapng: two sections switch byte order and restart interface numbering', async () => {
  const got = await readAll(writeTemp(dir, 'two-sections.pcapng', pcapngTwoSections()));
  assert.deepEqual(got.interfaces, [
    { id: 0, linkType: 1, snapLen: 262144, tsPrecision: 'us', name: '' },
    { id: 1, linkType: 113, snapLen: 128, tsPrecision: 'us', name: '' },
  ]);
  assert.deepEqual(got.frames, [
    frame({ tsSec: 1_600_000_000, tsNsec: 1000, data: payload(70, 10), iface: 0, linkType: 1 }),
    // Milliseconds (if_tsresol 3) plus if_tsoffset 1000 s.
    frame({
      tsSec: 1_600_001_000,
      tsNsec: 250_000_000,
      data: payload(80, 11),
      iface: 1,
      linkType: 113,
    }),
  ]);
  assert.deepEqual(got.stats.errors, {});
});

test('pcapng: a new section forgets the interfaces of the previous one', async () => {
  const bytes = Buffer.concat([
    shb(true),
    idb(true, { linkType: 1 }),
    epb(true, { ifId: 0, ts: 1n, data: payload(20, 1) }),
    shb(true),
    epb(true, { ifId: 0, ts: 2n, data: payload(20, 2) }),
    spb(true, payload(20, 3)),
    idb(true, { linkType: 228 }),
    epb(true, { ifId: 0, ts: 3n, data: payload(20, 4) }),
  ]);
  const got = await readAll(writeTemp(dir, 'section-reset.pcapng', bytes));
  assert.deepEqual(
    got.frames.map((f) => [f.iface, f.linkType]),
    [
      [0, 1],
      [1, 228],
    ],
  );
  assert.deepEqual(got.stats.errors, { unknown_interface: 2 });
});

test('pcapng: packets naming a missing interface are skipped', async () => {
  const bytes = Buffer.concat([
    shb(true),
    spb(true, payload(20, 0)),
    idb(true, { linkType: 1 }),
    epb(true, { ifId: 3, ts: 1n, data: payload(20, 1) }),
    pb(true, { ifId: 1, ts: 1n, data: payload(20, 1) }),
    epb(true, { ifId: 0, ts: 1n, data: payload(20, 2) }),
  ]);
  const got = await readAll(writeTemp(dir, 'unknown-if.pcapng', bytes));
  assert.equal(got.frames.length, 1);
  assert.deepEqual(got.stats.errors, { unknown_interface: 3 });
});

test('pcapng: SPB captured length is min(original length, snaplen, room in the block)', async () => {
  const bytes = Buffer.concat([
    shb(false),
    idb(false, { linkType: 1, snapLen: 20 }),
    spb(false, payload(50, 1)), // snaplen wins: 20
    spb(false, payload(12, 2), 10), // original length wins: 10 (the rest is padding)
    spb(false, payload(8, 3), 1500), // room wins: 8
  ]);
  const got = await readAll(writeTemp(dir, 'spb.pcapng', bytes));
  assert.deepEqual(
    got.frames.map((f) => [f.capLen, f.origLen, f.data.length / 2]),
    [
      [20, 50, 20],
      [10, 10, 10],
      [8, 1500, 8],
    ],
  );
  assert.deepEqual(got.stats.errors, {});
});

test('pcapng: caplen over snaplen is delivered and counted', async () => {
  const bytes = Buffer.concat([
    shb(true),
    idb(true, { linkType: 1, snapLen: 32 }),
    epb(true, { ifId: 0, ts: 1n, data: payload(64, 1) }),
    epb(true, { ifId: 0, ts: 2n, data: payload(32, 2) }),
  ]);
  const got = await readAll(writeTemp(dir, 'over-snap.pcapng', bytes));
  assert.deepEqual(
    got.frames.map((f) => f.capLen),
    [64, 32],
  );
  assert.deepEqual(got.stats.errors, { caplen_over_snaplen: 1 });
});

test('pcapng: impossible captured lengths skip their block only', async () => {
  const bytes = Buffer.concat([
    shb(true),
    idb(true, { linkType: 1 }),
    epb(true, { ifId: 0, ts: 1n, data: payload(40, 1), capLenField: 41 }), // beyond the block
    epb(true, { ifId: 0, ts: 2n, data: payload(262148, 2) }), // beyond 256 KiB
    epb(true, { ifId: 0, ts: 3n, data: payload(262144, 3) }), // the largest legal one
    epb(true, { ifId: 0, ts: 4n, data: payload(30, 4) }),
  ]);
  const got = await readAll(writeTemp(dir, 'bad-caplen.pcapng', bytes));
  assert.deepEqual(
    got.frames.map((f) => f.capLen),
    [262144, 30],
  );
  assert.deepEqual(got.stats.errors, { bad_record_length: 2 });
});

test('pcapng: a trailing length mismatch skips that block', async () => {
  const bytes = Buffer.concat([
    shb(true),
    idb(true, { linkType: 1 }),
    epb(true, { ifId: 0, ts: 1n, data: payload(20, 1) }, { trailer: 4 }),
    epb(true, { ifId: 0, ts: 2n, data: payload(20, 2) }),
  ]);
  const got = await readAll(writeTemp(dir, 'trailer.pcapng', bytes));
  assert.deepEqual(
    got.frames.map((f) => f.tsNsec),
    [2000],
  );
  assert.deepEqual(got.stats.errors, { bad_block: 1 });
});

test('pcapng: block lengths that break framing stop the file', async () => {
  const head = Buffer.concat([
    shb(true),
    idb(true, { linkType: 1 }),
    epb(true, { ifId: 0, ts: 1n, data: payload(20, 1) }),
  ]);
  const tail = epb(true, { ifId: 0, ts: 3n, data: payload(20, 3) });
  for (const [name, broken] of [
    ['not-multiple-of-4', block(true, BT.Epb, Buffer.alloc(40), { lengthField: 50 })],
    ['below-12', block(true, BT.Nrb, Buffer.alloc(0), { lengthField: 8 })],
    ['bad-byte-order-magic', Buffer.from(shb(true)).fill(0x55, 8, 12)],
  ] as const) {
    const got = await readAll(
      writeTemp(dir, `${name}.pcapng`, Buffer.concat([head, broken, tail])),
    );
    assert.equal(got.frames.length, 1, name);
    assert.deepEqual(got.stats.errors, { bad_block: 1 }, name);
  }
});

test('pcapng: too-short blocks of known types are skipped and counted', async () => {
  const bytes = Buffer.concat([
    shb(true),
    idb(true, { linkType: 1 }),
    block(true, BT.Epb, Buffer.alloc(16)), // EPB needs 32 bytes
    block(true, BT.Idb, Buffer.alloc(4)), // IDB needs 20
    block(true, BT.Spb, Buffer.alloc(0)), // SPB needs 16
    epb(true, { ifId: 0, ts: 1n, data: payload(20, 1) }),
  ]);
  const got = await readAll(writeTemp(dir, 'short-blocks.pcapng', bytes));
  assert.equal(got.frames.length, 1);
  assert.deepEqual(got.stats.errors, { bad_block: 3 });
  assert.equal(got.interfaces.length, 1);
});

test('pcapng: custom, decryption-secrets and unknown blocks are skipped', async () => {
  const bytes = Buffer.concat([
    shb(true),
    block(true, 0x00000bad, Buffer.from('custom, copiable')),
    block(true, 0x40000bad, Buffer.from('custom, not copiable')),
    idb(true, { linkType: 1 }),
    block(true, BT.Dsb, Buffer.alloc(24)),
    block(true, 0x7fff0001, Buffer.alloc(4)),
    epb(true, { ifId: 0, ts: 1n, data: payload(20, 1) }),
  ]);
  const got = await readAll(writeTemp(dir, 'skipped.pcapng', bytes));
  assert.equal(got.frames.length, 1);
  assert.deepEqual(got.stats.errors, {});
});

test('pcapng: file cut inside a block keeps every frame before it', async () => {
  const full = pcapngMixed(true);
  const got = await readAll(writeTemp(dir, 'cut.pcapng', full.subarray(0, full.length - 6)));
  assert.deepEqual(got.frames, MIXED_FRAMES.slice(0, 4));
  assert.deepEqual(got.stats.errors, { truncated_record: 1 });
});

test('pcapng: blocks over maxBlockBytes are skipped unread', async () => {
  const bytes = Buffer.concat([
    shb(true),
    block(true, BT.Nrb, Buffer.alloc(200)), // skipped silently
    idb(true, { linkType: 1, snapLen: 9000, name: 'x'.repeat(100), tsresol: 9 }), // kept without options
    epb(true, { ifId: 0, ts: 7_000_001n, data: payload(20, 1) }),
    epb(true, { ifId: 0, ts: 8_000_000n, data: payload(120, 2) }), // too big to buffer
    epb(true, { ifId: 0, ts: 9_000_000n, data: payload(20, 3) }),
  ]);
  const path = writeTemp(dir, 'oversized.pcapng', bytes);
  for (const chunkBytes of [4 << 20, 5, 64]) {
    const got = await readAll(path, { maxBlockBytes: 96, chunkBytes, headroomBytes: 0 });
    assert.deepEqual(got.interfaces, [
      { id: 0, linkType: 1, snapLen: 9000, tsPrecision: 'us', name: '' },
    ]);
    // Without its if_tsresol the interface counts microseconds.
    assert.deepEqual(
      got.frames.map((f) => [f.tsSec, f.tsNsec]),
      [
        [7, 1000],
        [9, 0],
      ],
    );
    assert.deepEqual(got.stats.errors, { bad_block: 1, bad_record_length: 1 });
  }
  // Cut inside a skipped block: truncated.
  const cut = Buffer.concat([shb(true), block(true, BT.Nrb, Buffer.alloc(200))]).subarray(0, 150);
  const got = await readAll(writeTemp(dir, 'oversized-cut.pcapng', cut), { maxBlockBytes: 96 });
  assert.deepEqual(got.stats.errors, { truncated_record: 1 });
});

test('pcapng: if_tsoffset may be negative; resolutions coarser than 1 s', async () => {
  const bytes = Buffer.concat([
    shb(true),
    idb(true, { linkType: 1, tsresol: 0, tsoffset: -100 }), // whole seconds
    epb(true, { ifId: 0, ts: 1_000n, data: payload(10, 1) }),
  ]);
  const got = await readAll(writeTemp(dir, 'tsoffset.pcapng', bytes));
  assert.deepEqual(
    got.frames.map((f) => [f.tsSec, f.tsNsec]),
    [[900, 0]],
  );
  assert.equal(got.interfaces[0]?.tsPrecision, 'us');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TapgateError } from '../../src/errors.ts';
import type { CaptureInterface, FrameView } from '../../src/capture/frame.ts';
import { newFrameView } from '../../src/capture/frame.ts';
import {
  BATCH_HEADER_BYTES,
  BATCH_RECORD_HEADER_BYTES,
  batchRecordBytes,
  FrameBatchWriter,
  frameBatchCount,
  walkFrameBatch,
} from '../../src/capture/frame-batch.ts';
import { rng } from '../helpers/random.ts';

const ifaces: CaptureInterface[] = [0, 1, 2].map((id) => ({
  id,
  linkType: [1, 113, 101][id]!,
  snapLen: 262144,
  tsPrecision: 'ns',
  name: `if${String(id)}`,
}));

interface Sent {
  iface: number;
  tsSec: number;
  tsNsec: number;
  bytes: Buffer;
  origLen: number;
}

function collect(batch: ArrayBuffer): Sent[] {
  const out: Sent[] = [];
  const frame = newFrameView();
  let data: Buffer | null = null;
  const n = walkFrameBatch(batch, ifaces, frame, {
    onFrame: (f: FrameView) => {
      // One FrameView, one Buffer per batch.
      assert.equal(f, frame);
      data ??= f.data;
      assert.equal(f.data, data);
      assert.equal(f.offset % 4, 0);
      out.push({
        iface: f.iface.id,
        tsSec: f.tsSec,
        tsNsec: f.tsNsec,
        bytes: Buffer.from(f.data.subarray(f.offset, f.offset + f.capLen)),
        origLen: f.origLen,
      });
      assert.equal(f.iface, ifaces[f.iface.id]);
    },
  });
  assert.equal(n, out.length);
  assert.equal(frameBatchCount(batch), n);
  return out;
}

test('round trip: random sizes (0, tiny, large, larger than the batch), exact bytes and times', () => {
  const capacity = 4096;
  const w = new FrameBatchWriter(capacity);
  const rand = rng(42);
  const sizes = [0, 1, 3, 4, 5, 63, 64, 65, 1500, capacity - 36, capacity - 35, capacity * 3];
  for (let i = 0; i < 3000; i++) sizes.push(Math.floor(rand() * (rand() < 0.05 ? 9000 : 1600)));
  const sent: Sent[] = [];
  const got: Sent[] = [];
  const batches: ArrayBuffer[] = [];
  // The source buffer is reused for every frame at a moving offset, like a capture buffer.
  const scratch = Buffer.alloc(capacity * 4 + 64);
  for (const [i, size] of sizes.entries()) {
    const offset = i % 13;
    const bytes = Buffer.alloc(size);
    for (let j = 0; j < size; j++) bytes[j] = Math.floor(rand() * 256);
    bytes.copy(scratch, offset);
    const s: Sent = {
      iface: i % 3,
      tsSec: i === 0 ? 0xffffffff : 1_700_000_000 + i,
      tsNsec: i === 1 ? 999_999_999 : Math.floor(rand() * 1e9),
      bytes,
      origLen: size + (i % 2 === 0 ? 0 : 1000),
    };
    sent.push(s);
    const add = (): boolean =>
      w.append(s.iface, s.tsSec, s.tsNsec, scratch, offset, size, s.origLen);
    const before = w.frames;
    if (!add()) {
      assert.ok(before > 0, 'append fails only on a batch that holds frames');
      const b = w.take();
      assert.ok(b);
      batches.push(b);
      assert.equal(w.frames, 0);
      assert.equal(w.bytes, 0);
      assert.ok(add(), 'append on an empty batch always succeeds');
    }
    scratch.fill(0xee); // the writer must have copied
  }
  const last = w.take();
  assert.ok(last);
  batches.push(last);
  assert.equal(w.take(), null);
  for (const b of batches) {
    const used = new DataView(b).getUint32(4, true);
    if (b.byteLength > capacity) {
      assert.equal(frameBatchCount(b), 1, 'an oversize batch holds one frame');
      assert.equal(used, b.byteLength);
    } else {
      assert.equal(b.byteLength, capacity);
    }
    got.push(...collect(b));
  }
  assert.equal(got.length, sent.length);
  for (let i = 0; i < sent.length; i++) assert.deepEqual(got[i], sent[i], `frame ${String(i)}`);
  assert.ok(batches.length > 100);
});

test('bytes, frames and freeBytes follow the record layout', () => {
  const w = new FrameBatchWriter(256);
  assert.equal(w.bytes, 0);
  assert.equal(w.freeBytes, 256 - BATCH_HEADER_BYTES);
  assert.ok(w.append(1, 5, 6, Buffer.from([1, 2, 3, 4, 5]), 0, 5, 60));
  assert.equal(w.frames, 1);
  assert.equal(batchRecordBytes(5), BATCH_RECORD_HEADER_BYTES + 8);
  assert.equal(w.bytes, BATCH_HEADER_BYTES + 28);
  assert.equal(w.freeBytes, 256 - BATCH_HEADER_BYTES - 28);
  const b = w.take()!;
  const v = new DataView(b);
  assert.equal(v.getUint32(4, true), 44); // used
  assert.equal(v.getUint32(8, true), 1); // frames
  assert.deepEqual(
    [0, 4, 8, 12].map((o) => v.getUint32(BATCH_HEADER_BYTES + o, true)),
    [5, 6, 5, 60],
  );
  assert.equal(v.getUint16(BATCH_HEADER_BYTES + 16, true), 1);
  assert.deepEqual([...new Uint8Array(b, BATCH_HEADER_BYTES + 20, 8)], [1, 2, 3, 4, 5, 0, 0, 0]);
});

test('take(copyBelowBytes) hands over a right-sized copy and keeps the buffer', () => {
  const w = new FrameBatchWriter(1024);
  w.append(0, 1, 2, Buffer.alloc(10, 7), 0, 10, 10);
  const small = w.take(512)!;
  assert.equal(small.byteLength, BATCH_HEADER_BYTES + batchRecordBytes(10));
  assert.equal(collect(small)[0]!.bytes.toString('hex'), '07'.repeat(10));
  w.append(0, 1, 2, Buffer.alloc(600, 8), 0, 600, 600);
  const big = w.take(512)!;
  assert.equal(big.byteLength, 1024, 'above the threshold the buffer itself goes');
  assert.equal(collect(big).length, 1);
});

test('reuse() continues in a returned buffer; a transferred batch is detached', () => {
  const w = new FrameBatchWriter(512);
  w.append(2, 1, 2, Buffer.alloc(100, 1), 0, 100, 100);
  const b = w.take()!;
  assert.equal(collect(b).length, 1);
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(b, [b]);
  port1.close();
  port2.close();
  assert.equal(b.byteLength, 0);
  assert.throws(() => collect(b), { code: 'TG_ERR_INPUT_FORMAT' });
  const back = new ArrayBuffer(512);
  w.reuse(back);
  w.append(1, 3, 4, Buffer.alloc(50, 2), 0, 50, 50);
  assert.equal(w.take(), back);
  assert.deepEqual(
    collect(back).map((f) => [f.iface, f.tsSec, f.tsNsec, f.bytes.length]),
    [[1, 3, 4, 50]],
  );
});

test('bad arguments to the writer are programming errors', () => {
  assert.throws(() => new FrameBatchWriter(16), RangeError);
  const w = new FrameBatchWriter(1024);
  assert.throws(() => w.append(70000, 0, 0, Buffer.alloc(4), 0, 4, 4), RangeError);
  assert.throws(() => w.append(-1, 0, 0, Buffer.alloc(4), 0, 4, 4), RangeError);
  assert.throws(() => w.append(0, 0, 0, Buffer.alloc(4), 2, 4, 4), RangeError);
  assert.equal(w.frames, 0);
});

test('a malformed batch is TG_ERR_INPUT_FORMAT', () => {
  const good = (): ArrayBuffer => {
    const w = new FrameBatchWriter(1024);
    w.append(0, 1, 2, Buffer.alloc(30, 1), 0, 30, 30);
    w.append(2, 1, 2, Buffer.alloc(40, 2), 0, 40, 40);
    return w.take()!;
  };
  /** A good batch (used = 16 + 52 + 60 = 128) with one u32 overwritten. */
  const corrupt = (at: number, value: number): ArrayBuffer => {
    const b = good();
    new DataView(b).setUint32(at, value, true);
    return b;
  };
  const cases: [string, ArrayBuffer, readonly CaptureInterface[]][] = [
    ['too short', new ArrayBuffer(8), ifaces],
    ['bad magic', corrupt(0, 0x12345678), ifaces],
    ['used beyond buffer', corrupt(4, 4096), ifaces],
    ['used not aligned', corrupt(4, 70), ifaces],
    ['truncated record', corrupt(4, 120), ifaces],
    ['truncated record header', corrupt(4, BATCH_HEADER_BYTES + 52 + 8), ifaces],
    ['capLen too large', corrupt(BATCH_HEADER_BYTES + 8, 5000), ifaces],
    ['iface index out of range', good(), ifaces.slice(0, 2)],
    ['frame count mismatch', corrupt(8, 3), ifaces],
  ];
  assert.equal(new DataView(good()).getUint32(4, true), 128);
  for (const [name, batch, list] of cases) {
    assert.throws(
      () => walkFrameBatch(batch, list, newFrameView(), { onFrame: () => undefined }),
      (e: unknown) => e instanceof TapgateError && e.code === 'TG_ERR_INPUT_FORMAT',
      name,
    );
  }
  assert.throws(() => frameBatchCount(new ArrayBuffer(4)), { code: 'TG_ERR_INPUT_FORMAT' });
});

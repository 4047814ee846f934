/** The bounded queue in front of a record sink: order, bounds, drops, retries, close. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PartialDeliveryError, SinkQueue } from '../../src/record/sinks/sink-queue.ts';
import type { DeliveryTarget } from '../../src/record/sinks/sink-target.ts';

class FakeTarget implements DeliveryTarget {
  readonly kind = 'tcp';
  readonly name = 'fake';
  received: string[] = [];
  batches: number[] = [];
  failNext = 0;
  closed = false;
  /** While set, deliveries wait for it. */
  gate: Promise<void> | null = null;
  partial = 0;

  async deliver(batch: readonly Buffer[]): Promise<void> {
    if (this.gate) await this.gate;
    if (this.failNext > 0) {
      this.failNext--;
      if (this.partial > 0) {
        const n = this.partial;
        this.partial = 0;
        for (const b of batch.slice(0, n)) this.received.push(b.toString());
        throw new PartialDeliveryError(n, new Error('half'));
      }
      throw new Error('down');
    }
    this.batches.push(batch.length);
    for (const b of batch) this.received.push(b.toString());
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

const rec = (i: number): Buffer => Buffer.from(`{"i":${i}}`);
const range = (n: number): string[] => Array.from({ length: n }, (_, i) => `{"i":${i}}`);

function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

test('delivers in order, in batches of at most batchRecords', async () => {
  const t = new FakeTarget();
  const q = new SinkQueue(t, { batchRecords: 7 });
  for (let i = 0; i < 100; i++) q.offer(rec(i));
  await q.close(1000);
  assert.deepEqual(t.received, range(100));
  assert.ok(t.batches.every((n) => n <= 7));
  assert.equal(q.stats.delivered, 100);
  assert.equal(q.stats.dropped, 0);
  assert.equal(q.stats.queued, 0);
  assert.equal(q.stats.queuedBytes, 0);
  assert.ok(t.closed);
});

test('drops the newest when full (records and bytes bounds), counted', async () => {
  const t = new FakeTarget();
  const g = gate();
  t.gate = g.promise;
  const q = new SinkQueue(t, { maxRecords: 10 });
  for (let i = 0; i < 25; i++) q.offer(rec(i));
  assert.equal(q.stats.queued, 10);
  assert.equal(q.stats.dropped, 15);
  assert.equal(q.stats.queuedBytes, range(10).join('').length);
  g.open();
  await q.close(1000);
  assert.deepEqual(t.received, range(10));
  assert.equal(q.stats.delivered, 10);

  const t2 = new FakeTarget();
  const g2 = gate();
  t2.gate = g2.promise;
  const q2 = new SinkQueue(t2, { maxBytes: 30 }); // `{"i":N}` is 7 bytes: 4 fit
  for (let i = 0; i < 6; i++) q2.offer(rec(i));
  assert.equal(q2.stats.queued, 4);
  assert.equal(q2.stats.dropped, 2);
  g2.open();
  await q2.close(1000);
  assert.deepEqual(t2.received, range(4));
});

test('offline mode never drops: offers are kept and waitForRoom waits', async () => {
  const t = new FakeTarget();
  const g = gate();
  t.gate = g.promise;
  const q = new SinkQueue(t, { maxRecords: 5, dropWhenFull: false });
  for (let i = 0; i < 12; i++) q.offer(rec(i));
  assert.equal(q.stats.dropped, 0);
  let roomy = false;
  const waiting = q.waitForRoom().then(() => (roomy = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(roomy, false);
  g.open();
  await waiting;
  assert.ok(q.stats.queued < 5);
  await q.close(1000);
  assert.deepEqual(t.received, range(12));
});

test('retries a failing target with backoff, keeping order', async () => {
  const t = new FakeTarget();
  t.failNext = 3;
  const errors: unknown[] = [];
  const q = new SinkQueue(t, {
    retryBaseMs: 2,
    retryMaxMs: 10,
    onError: (e) => errors.push(e),
  });
  for (let i = 0; i < 50; i++) q.offer(rec(i));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(q.stats.errors, 3);
  assert.equal(errors.length, 3);
  assert.equal(q.stats.delivered, 50);
  assert.deepEqual(t.received, range(50));
  await q.close(1000);
});

test('a partial delivery is not sent twice', async () => {
  const t = new FakeTarget();
  t.failNext = 1;
  t.partial = 3;
  const q = new SinkQueue(t, { retryBaseMs: 1 });
  for (let i = 0; i < 10; i++) q.offer(rec(i));
  await q.close(1000);
  assert.deepEqual(t.received, range(10));
  assert.equal(q.stats.delivered, 10);
  assert.equal(q.stats.errors, 1);
});

test('maxAttempts drops a batch the target keeps refusing', async () => {
  const t = new FakeTarget();
  t.failNext = 2;
  const q = new SinkQueue(t, { retryBaseMs: 1, maxAttempts: 2, batchRecords: 4 });
  for (let i = 0; i < 10; i++) q.offer(rec(i));
  await q.close(1000);
  assert.equal(q.stats.dropped, 4);
  assert.equal(q.stats.delivered, 6);
  assert.deepEqual(t.received, range(10).slice(4));
});

test('close delivers what it can, then counts the rest dropped', async () => {
  const t = new FakeTarget();
  t.failNext = Number.MAX_SAFE_INTEGER; // never recovers
  const q = new SinkQueue(t, { retryBaseMs: 5 });
  for (let i = 0; i < 20; i++) q.offer(rec(i));
  const started = Date.now();
  await q.close(80);
  assert.ok(Date.now() - started < 1000);
  assert.equal(q.stats.delivered, 0);
  assert.equal(q.stats.dropped, 20);
  assert.equal(q.stats.queued, 0);
  assert.ok(q.stats.errors >= 1);
  assert.equal(q.offer(rec(99)), false);
  assert.equal(q.stats.dropped, 21);
  assert.ok(t.closed);

  // A flush that succeeds within the timeout drops nothing.
  const t2 = new FakeTarget();
  t2.failNext = 2;
  const q2 = new SinkQueue(t2, { retryBaseMs: 1000 }); // close retries without the long delay
  for (let i = 0; i < 5; i++) q2.offer(rec(i));
  await q2.close(2000);
  assert.equal(q2.stats.delivered, 5);
  assert.equal(q2.stats.dropped, 0);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlowAffinityCheck } from '../../src/flow/flow-affinity-check.ts';

test('a flow created by two workers is a violation; distinct flows are not', () => {
  const shared = FlowAffinityCheck.createShared();
  const w0 = new FlowAffinityCheck(shared, 0);
  const w1 = new FlowAffinityCheck(shared, 1);
  // Random high bits, distinct slots (a slot overwritten in between would hide a violation: the
  // check is a sample, documented as such).
  let x = 0x12345678;
  const next = (i: number): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x & 0xffff0000) | i) >>> 0;
  };
  const flows0 = Array.from({ length: 2000 }, (_, i) => next(i));
  const flows1 = Array.from({ length: 2000 }, (_, i) => next(2000 + i));
  for (const h of flows0) w0.flowCreated(h);
  for (const h of flows1) w1.flowCreated(h);
  assert.equal(w0.violations + w1.violations, 0);
  // The same worker re-creating its own flow (idle expiry, port reuse) is fine.
  for (const h of flows0.slice(0, 100)) w0.flowCreated(h);
  assert.equal(w0.violations, 0);
  // Worker 1 now sees 50 flows worker 0 owns.
  for (const h of flows0.slice(1000, 1050)) w1.flowCreated(h);
  assert.equal(w1.violations, 50);
  assert.throws(() => new FlowAffinityCheck(shared, 255), RangeError);
});

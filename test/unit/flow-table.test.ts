import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PacketDecoder } from '../../src/decode/packet-decoder.ts';
import { Dir, FlowEnd, FlowTable, flowEndNames } from '../../src/flow/flow-table.ts';
import { F, payload, tcp4, tcp6, udp4 } from '../helpers/frames.ts';

const timeouts = { tcpSec: 300, udpSec: 60, otherSec: 30, tcpClosedSec: 5 };

function harness(maxFlows = 1000, initialCapacity?: number) {
  const ended: { key: string; reason: string }[] = [];
  const table = new FlowTable({
    maxFlows,
    timeouts,
    ...(initialCapacity ? { initialCapacity } : {}),
    onFlowEnd: (t, slot, reason) => {
      const f = t.describe(slot);
      ended.push({
        key: `${f.orig}:${f.origPort}>${f.resp}:${f.respPort}`,
        reason: flowEndNames[reason]!,
      });
    },
  });
  const d = new PacketDecoder();
  const feed = (frame: number[], t: number): { slot: number; dir: number; created: boolean } => {
    const buf = Buffer.from(frame);
    d.decode(buf, 0, buf.length, 1);
    table.expire(t);
    const slot = table.lookup(d, buf, t);
    table.packets[slot * 2 + table.dir]!++;
    return { slot, dir: table.dir, created: table.created };
  };
  return { table, feed, ended };
}

test('both directions find one flow; the first sender is the initiator', () => {
  const { table, feed } = harness();
  const a = feed(udp4('10.0.0.9', 5000, '10.0.0.1', 53, payload(10)), 1);
  const b = feed(udp4('10.0.0.1', 53, '10.0.0.9', 5000, payload(10)), 1.1);
  assert.equal(a.slot, b.slot);
  assert.equal(a.created, true);
  assert.equal(b.created, false);
  assert.equal(a.dir, Dir.Orig);
  assert.equal(b.dir, Dir.Resp);
  const f = table.describe(a.slot);
  assert.equal(`${f.orig}:${f.origPort}`, '10.0.0.9:5000');
  assert.equal(`${f.resp}:${f.respPort}`, '10.0.0.1:53');
});

test('a SYN-ACK seen first names its receiver as initiator', () => {
  const { table, feed } = harness();
  const a = feed(tcp4('10.0.0.2', 80, '10.0.0.1', 40000, F.SYN | F.ACK), 1);
  assert.equal(a.dir, Dir.Resp);
  assert.equal(table.describe(a.slot).orig, '10.0.0.1');
});

test('a SYN after a mid-stream start re-labels the initiator and swaps counters', () => {
  const { table, feed } = harness();
  const a = feed(tcp4('10.0.0.2', 80, '10.0.0.1', 40000, F.ACK, payload(5)), 1);
  assert.equal(table.describe(a.slot).orig, '10.0.0.2');
  assert.equal(table.packets[a.slot * 2 + Dir.Orig], 1);
  const b = feed(tcp4('10.0.0.1', 40000, '10.0.0.2', 80, F.SYN), 2);
  assert.equal(b.slot, a.slot);
  assert.equal(b.dir, Dir.Orig);
  assert.equal(table.describe(a.slot).orig, '10.0.0.1');
  assert.equal(
    table.packets[a.slot * 2 + Dir.Resp],
    1,
    'the earlier packet now counts as response',
  );
});

test('IPv6 flows are keyed on all 128 bits', () => {
  const { table, feed } = harness();
  const a = feed(tcp6('2001:db8::1', 1000, '2001:db8::2', 443, F.SYN), 1);
  const b = feed(tcp6('2001:db8::2', 443, '2001:db8::1', 1000, F.SYN | F.ACK), 1);
  const c = feed(tcp6('2001:db8:0:0:1::1', 1000, '2001:db8::2', 443, F.SYN), 1);
  assert.equal(a.slot, b.slot);
  assert.notEqual(a.slot, c.slot);
  assert.equal(table.size, 2);
  assert.equal(table.describe(a.slot).orig, '2001:db8::1');
});

test('idle expiry follows packet time, per protocol timeout', () => {
  const { table, feed, ended } = harness();
  feed(udp4('10.0.0.1', 1, '10.0.0.2', 2, payload(1)), 100);
  feed(tcp4('10.0.0.1', 3, '10.0.0.2', 4, F.ACK), 100);
  table.expire(150);
  assert.equal(table.size, 2);
  table.expire(161);
  assert.deepEqual(ended, [{ key: '10.0.0.1:1>10.0.0.2:2', reason: 'idle' }]);
  table.expire(401);
  assert.equal(table.size, 0);
  assert.equal(table.flowsEnded[FlowEnd.Idle], 2);
});

test('RST or FIN from both sides closes the flow after a short linger', () => {
  const { table, feed, ended } = harness();
  feed(tcp4('10.0.0.1', 1, '10.0.0.2', 2, F.SYN), 10);
  feed(tcp4('10.0.0.1', 1, '10.0.0.2', 2, F.FIN | F.ACK), 11);
  table.expire(20);
  assert.equal(table.size, 1, 'one FIN does not close');
  feed(tcp4('10.0.0.2', 2, '10.0.0.1', 1, F.FIN | F.ACK), 21);
  const last = feed(tcp4('10.0.0.1', 1, '10.0.0.2', 2, F.ACK), 21.5);
  assert.equal(last.created, false, 'the last ACK still finds the flow');
  table.expire(27);
  assert.deepEqual(ended, [{ key: '10.0.0.1:1>10.0.0.2:2', reason: 'closed' }]);

  feed(tcp4('10.0.0.3', 1, '10.0.0.4', 2, F.ACK), 30);
  feed(tcp4('10.0.0.4', 2, '10.0.0.3', 1, F.RST), 31);
  table.expire(37);
  assert.equal(ended.at(-1)?.reason, 'closed');
});

test('a new SYN on a closed flow starts a new flow (port reuse)', () => {
  const { table, feed, ended } = harness();
  const a = feed(tcp4('10.0.0.1', 1, '10.0.0.2', 2, F.SYN), 1);
  feed(tcp4('10.0.0.2', 2, '10.0.0.1', 1, F.RST | F.ACK), 1.1);
  const b = feed(tcp4('10.0.0.1', 1, '10.0.0.2', 2, F.SYN), 2);
  assert.equal(b.created, true);
  assert.equal(ended[0]?.reason, 'reused');
  assert.equal(table.packets[b.slot * 2], 1);
  assert.equal(table.flowsCreated, 2);
  assert.ok(a.slot >= 0);
});

test('at the cap the least recently seen flow is evicted and counted', () => {
  const { table, feed, ended } = harness(3, 2);
  feed(udp4('10.0.0.1', 1, '10.0.0.9', 9, []), 1);
  feed(udp4('10.0.0.2', 1, '10.0.0.9', 9, []), 2);
  feed(udp4('10.0.0.3', 1, '10.0.0.9', 9, []), 3);
  feed(udp4('10.0.0.1', 1, '10.0.0.9', 9, []), 4); // refreshes .1
  feed(udp4('10.0.0.4', 1, '10.0.0.9', 9, []), 5);
  assert.equal(table.size, 3);
  assert.deepEqual(ended, [{ key: '10.0.0.2:1>10.0.0.9:9', reason: 'evicted' }]);
  assert.equal(table.flowsEnded[FlowEnd.Evicted], 1);
  assert.equal(table.capacity, 3);
});

test('randomised churn agrees with a Map model (growth, deletes, probing)', () => {
  const { table, feed } = harness(5000, 16);
  const model = new Map<string, number>(); // key -> packets
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  let t = 0;
  for (let i = 0; i < 40000; i++) {
    t += 0.01;
    const c = rnd(300), s = rnd(40), p = 1024 + rnd(50); // prettier-ignore
    const key = `${c}-${s}-${p}`;
    const fromClient = rnd(2) === 0;
    const frame = fromClient
      ? udp4(`10.1.${c >> 8}.${c & 255}`, p, `10.2.0.${s}`, 53, [])
      : udp4(`10.2.0.${s}`, 53, `10.1.${c >> 8}.${c & 255}`, p, []);
    if (rnd(50) === 0) {
      // Jump in time: everything idle for 60 s expires.
      t += 61;
      model.clear();
    }
    const r = feed(frame, t);
    assert.equal(r.created, !model.has(key), `flow ${key} at step ${i}`);
    model.set(key, (model.get(key) ?? 0) + 1);
    assert.equal(table.size, model.size);
    const sl = r.slot * 2;
    assert.equal(table.packets[sl]! + table.packets[sl + 1]!, model.get(key));
  }
});

/**
 * rs/xid ids: the byte layout and base32hex text (vectors from rs/xid's own tests), decoding,
 * the process defaults, and uniqueness across worker threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { XidGenerator, decodeXid, encodeXid, newXid } from '../../src/record/xid.ts';

const XID_MODULE = pathToFileURL(join(import.meta.dirname, '../../src/record/xid.ts')).href;
const XID_TEXT = /^[0-9a-v]{20}$/;
const TSX_API = import.meta.resolve('tsx/esm/api');

test('rs/xid vectors: encode and decode', () => {
  const raw = Buffer.from('4d88e15b60f486e428412dc9', 'hex');
  assert.equal(encodeXid(raw), '9m4e2mr0ui3e8a215n4g');
  assert.deepEqual(decodeXid('9m4e2mr0ui3e8a215n4g'), {
    time: 1300816219,
    machine: Uint8Array.of(0x60, 0xf4, 0x86),
    pid: 0xe428,
    counter: 4271561,
  });
  assert.equal(encodeXid(new Uint8Array(12)), '00000000000000000000');
  const parts = decodeXid(encodeXid(Buffer.from('00000000aabbccddee000001', 'hex')));
  assert.deepEqual(parts, {
    time: 0,
    machine: Uint8Array.of(0xaa, 0xbb, 0xcc),
    pid: 0xddee,
    counter: 1,
  });
  assert.equal(encodeXid(Buffer.alloc(12, 0xff)), 'vvvvvvvvvvvvvvvvvvvg');
});

test('decode rejects what is not an id', () => {
  for (const bad of [
    '',
    '9m4e2mr0ui3e8a215n4',
    '9m4e2mr0ui3e8a215n4g0',
    '9M4E2MR0UI3E8A215N4G', // uppercase is not the alphabet
    '9m4e2mr0ui3e8a215n4w', // 'w' is past 'v'
    '9m4e2mr0ui3e8a215n4h', // last character carries non-zero padding bits
    '9m4e2mr0ui3e8a215n4\u00e9',
  ]) {
    assert.equal(decodeXid(bad), null, bad);
  }
  assert.throws(() => encodeXid(new Uint8Array(11)), RangeError);
});

test('generator: layout, counter increments first and wraps at 24 bits, time as uint32', () => {
  const gen = new XidGenerator(Uint8Array.of(1, 2, 3), 0x10405, 0xfffffe);
  const a = decodeXid(gen.next(1_700_000_000.9));
  const b = decodeXid(gen.next(1_700_000_001));
  const c = decodeXid(gen.next(2 ** 32 + 5));
  // 0x10405: only the low 16 bits fit the pid field.
  assert.deepEqual(a, {
    time: 1_700_000_000,
    machine: Uint8Array.of(1, 2, 3),
    pid: 0x0405,
    counter: 0xffffff,
  });
  assert.deepEqual(b, {
    time: 1_700_000_001,
    machine: Uint8Array.of(1, 2, 3),
    pid: 0x0405,
    counter: 0,
  });
  assert.deepEqual([c?.time, c?.counter], [5, 1]);
  assert.throws(() => new XidGenerator(Uint8Array.of(1, 2), 0, 0), RangeError);
});

test('ids sort by time as strings', () => {
  const gen = new XidGenerator(Uint8Array.of(0xff, 0xff, 0xff), 0xffff, 0xfffff0);
  const ids = [0, 1, 59, 1_000_000, 1_700_000_000, 2 ** 31, 2 ** 32 - 1].map((s) => gen.next(s));
  assert.deepEqual([...ids].sort(), ids);
});

/** rs/xid's pid field for this process: pid XOR CRC-32 of /proc/self/cpuset (when not `/`). */
function rsXidPid(): number {
  let pid = process.pid;
  if (existsSync('/proc/self/cpuset')) {
    const cpuset = readFileSync('/proc/self/cpuset');
    if (cpuset.length > 1) pid ^= crc32(cpuset);
  }
  return pid & 0xffff;
}

test('newXid: machine id from /etc/machine-id, rs/xid pid on the main thread, counter +1', () => {
  const now = Math.floor(Date.now() / 1000);
  const first = newXid();
  const second = newXid(now + 10);
  assert.match(first, XID_TEXT);
  const a = decodeXid(first)!;
  const b = decodeXid(second)!;
  assert.ok(Math.abs(a.time - now) <= 1);
  assert.equal(b.time, now + 10);
  assert.equal(b.counter, (a.counter + 1) & 0xffffff);
  assert.equal(a.pid, rsXidPid());
  assert.deepEqual(b.machine, a.machine);
  const machineId = existsSync('/etc/machine-id')
    ? readFileSync('/etc/machine-id')
    : Buffer.alloc(0);
  if (machineId.length > 0) {
    assert.deepEqual(
      a.machine,
      Uint8Array.from(createHash('sha256').update(machineId).digest().subarray(0, 3)),
    );
  }
});

test('XID_MACHINE_ID overrides the machine id; a bad value is a config error', () => {
  const code =
    `import { newXid, decodeXid } from ${JSON.stringify(XID_MODULE)};\n` +
    `try { console.log(Buffer.from(decodeXid(newXid()).machine).toString('hex')); }\n` +
    `catch (e) { console.log(e.code); }`;
  const run = (value: string): string =>
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      env: { ...process.env, XID_MACHINE_ID: value },
      encoding: 'utf8',
    }).trim();
  assert.equal(run('66051'), '010203');
  assert.equal(run('16777216'), 'TG_ERR_CONFIG');
  assert.equal(run('abc'), 'TG_ERR_CONFIG');
});

const IDS_PER_THREAD = 20_000;

/** Ids from a worker thread, all stamped with the same second (the worst case for collisions). */
function idsFromWorker(sec: number): Promise<{ threadId: number; ids: string[] }> {
  // A worker does not inherit tsx's loader hooks here; tsImport loads the TypeScript module.
  const code =
    `const { parentPort, threadId } = require('node:worker_threads');\n` +
    `import(${JSON.stringify(TSX_API)})\n` +
    `.then(({ tsImport }) => tsImport(${JSON.stringify(XID_MODULE)}, ${JSON.stringify(import.meta.url)}))\n` +
    `.then(({ newXid }) => {\n` +
    `  const ids = [];\n` +
    `  for (let i = 0; i < ${IDS_PER_THREAD}; i++) ids.push(newXid(${sec}));\n` +
    `  parentPort.postMessage({ threadId, ids });\n` +
    `});`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

test('worker threads never share an id: the thread id goes into the pid field', async () => {
  const sec = 1_700_000_000;
  const results = await Promise.all([idsFromWorker(sec), idsFromWorker(sec), idsFromWorker(sec)]);
  const mainIds = Array.from({ length: IDS_PER_THREAD }, () => newXid(sec));
  const all = [...mainIds, ...results.flatMap((r) => r.ids)];
  assert.equal(new Set(all).size, all.length);
  const mainPid = decodeXid(mainIds[0]!)!.pid;
  for (const { threadId, ids } of results) {
    assert.notEqual(threadId, 0);
    assert.equal(decodeXid(ids[0]!)!.pid, mainPid ^ threadId);
  }
});

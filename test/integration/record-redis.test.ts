/**
 * The redis recorder against a real redis-server started here: list, set, sset and stream hold
 * exactly the records sent; AUTH (password and ACL user) and SELECT; the server killed and
 * restarted on the same port: deliveries fail fast while it is down and resume on the same target.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createRedisTarget, type RedisTargetOptions } from '../../src/record/sinks/redis-target.ts';

const work = mkdtempSync(join(tmpdir(), 'tapgate-redis-'));
let port = 0;
let server: ChildProcess | null = null;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

function cli(...args: string[]): string {
  return execFileSync(
    'redis-cli',
    ['-p', String(port), '--user', 'default', '--pass', 'secret', '--no-auth-warning', ...args],
    {
      encoding: 'utf8',
    },
  ).trim();
}

async function startRedis(): Promise<void> {
  server = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      work,
      '--requirepass',
      'secret',
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    try {
      if (cli('PING') === 'PONG') return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not start');
}

async function stopRedis(): Promise<void> {
  const s = server;
  server = null;
  if (s === null) return;
  s.kill('SIGKILL');
  await new Promise((r) => s.once('exit', r));
}

before(async () => {
  port = await freePort();
  await startRedis();
  cli('ACL', 'SETUSER', 'tapgate', 'on', '>tgpass', '~*', '+@all');
});
after(async () => {
  await stopRedis();
  rmSync(work, { recursive: true, force: true });
});

const records = ['{"n":1}', '{"n":2}', '{"n":2}', '{"n":3}'].map((r) => Buffer.from(r));
const base = (o: Partial<RedisTargetOptions>): RedisTargetOptions => ({
  addr: `127.0.0.1:${port}`,
  db: 0,
  password: 'secret',
  key: 'k',
  type: 'list',
  timeoutMs: 2000,
  ...o,
});

test('list, set, sset and stream hold what was sent', async () => {
  const list = createRedisTarget('l', base({ key: 'l', type: 'list' }));
  await list.deliver(records);
  // LPUSH pushes each to the head: the newest record first.
  assert.deepEqual(cli('LRANGE', 'l', '0', '-1').split('\n'), [
    '{"n":3}',
    '{"n":2}',
    '{"n":2}',
    '{"n":1}',
  ]);
  const set = createRedisTarget('s', base({ key: 's', type: 'set' }));
  await set.deliver(records);
  assert.deepEqual(cli('SMEMBERS', 's').split('\n').sort(), ['{"n":1}', '{"n":2}', '{"n":3}']);
  const sset = createRedisTarget('z', base({ key: 'z', type: 'sset' }));
  await sset.deliver(records);
  assert.equal(cli('ZSCORE', 'z', '{"n":2}'), '2'); // sent twice
  const stream = createRedisTarget('x', base({ key: 'x', type: 'stream', maxLen: 1000 }));
  await stream.deliver(records);
  assert.equal(cli('XLEN', 'x'), '4');
  assert.match(cli('XRANGE', 'x', '-', '+', 'COUNT', '1'), /record\n\{"n":1\}/);
  for (const t of [list, set, sset, stream]) await t.close();
});

test('an ACL user and another database', async () => {
  const t = createRedisTarget(
    'u',
    base({ username: 'tapgate', password: 'tgpass', db: 3, key: 'db3' }),
  );
  await t.deliver([Buffer.from('{"db":3}')]);
  assert.equal(cli('-n', '3', 'LLEN', 'db3'), '1');
  assert.equal(cli('LLEN', 'db3'), '0');
  await t.close();
  const wrong = createRedisTarget('w', base({ password: 'nope' }));
  await assert.rejects(wrong.deliver(records), /WRONGPASS|invalid/i);
  await wrong.close();
});

test('server down: deliveries fail fast; back on the same port: the same target delivers', async () => {
  const t = createRedisTarget('r', base({ key: 'r' }));
  await t.deliver([Buffer.from('{"before":1}')]);
  await stopRedis();
  const started = Date.now();
  await assert.rejects(t.deliver([Buffer.from('{"down":1}')]));
  await assert.rejects(t.deliver([Buffer.from('{"down":2}')]));
  assert.ok(Date.now() - started < 1500, 'failed fast, not after a timeout');
  await startRedis(); // empty again: no persistence
  await t.deliver([Buffer.from('{"after":1}')]);
  assert.deepEqual(cli('LRANGE', 'r', '0', '-1').split('\n'), ['{"after":1}']);
  await t.close();
});

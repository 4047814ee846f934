/**
 * Records from a live capture, end to end with real clients and servers: `tapgate capture -i IF
 * --records` (two workers) on the outside end of a veth pair; inside the test's namespace, Node
 * servers (HTTP/1.1, WebSocket, HTTPS with HTTP/2, DNS); outside, curl, dig and a `ws` client.
 * Every exchange the clients made must come out as a record with the values they saw.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { repoRoot, startCli } from '../helpers/cli.ts';
import { canUseNetns, createVethPair, type VethPair } from '../helpers/netns.ts';
import { tempDirsRemovedAfterTests } from '../helpers/pcap-test-helpers.ts';

const run = promisify(execFile);
const tempDir = tempDirsRemovedAfterTests();

interface Rec {
  proto?: string;
  host: string;
  remote: string;
  local: string;
  http?: {
    method: string;
    host: string;
    uri: string;
    proto: string;
    statusCode: number;
    request: { body: string | null };
    response: { body: string | null };
  };
  websocket?: { from: string; opcode: number; masked: boolean; length: number; payload: string };
  tls?: { serverName: string; proto: string; version: string; ja3Hash: string; ja4: string };
  dns?: { name: string; type: string; answers?: { type: string; data: string }[] };
  flow: { communityId: string; clientPackets: number };
}

describe('records from a live capture', { skip: !canUseNetns && 'needs root' }, () => {
  let pair: VethPair;
  let servers: ChildProcess;
  let serverIp = '';
  let dir = '';

  before(async () => {
    dir = await tempDir('records-live');
    pair = await createVethPair({ mtu: 1500 });
    // A /30 of its own per process, so parallel runs never meet.
    const net = `10.${String(200 + (process.pid % 50))}.${String(process.pid % 250)}`;
    serverIp = `${net}.2`;
    await run('ip', ['addr', 'add', `${net}.1/30`, 'dev', pair.outside]);
    await run('ip', ['-n', pair.ns, 'addr', 'add', `${serverIp}/30`, 'dev', pair.inside]);
    await run('ip', ['-n', pair.ns, 'link', 'set', 'lo', 'up']);
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=tapgate.test',
      '-addext',
      'subjectAltName=DNS:tapgate.test',
    ]);
    servers = spawn(
      'ip',
      [
        'netns',
        'exec',
        pair.ns,
        process.execPath,
        '--import',
        'tsx',
        join(repoRoot, 'test/fixtures/sniff-servers.ts'),
        join(dir, 'cert.pem'),
        join(dir, 'key.pem'),
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      servers.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) resolve();
      });
      servers.on('exit', () => {
        reject(new Error('servers exited'));
      });
    });
  });

  after(async () => {
    servers.kill('SIGKILL');
    await pair.destroy();
  });

  test('HTTP/1.1, WebSocket, TLS and DNS exchanges come out as records', async () => {
    const records = join(dir, 'records.jsonl');
    const cli = startCli([
      'capture',
      '-i',
      pair.outside,
      '--no-pcap',
      '--records',
      records,
      '--workers',
      '2',
      '--http-body',
      '--websocket-sample-rate=-1',
      '--json',
    ]);
    await cli.waitForStderr(/capturing on/);
    const base = `http://${serverIp}`;
    const get = await run('curl', ['-sS', '--max-time', '5', `${base}/hello`]);
    assert.equal(get.stdout, 'hi');
    const post = await run('curl', ['-sS', '--max-time', '5', '-d', 'ping=pong', `${base}/echo`]);
    assert.equal(post.stdout, 'ping=pong');
    const tls = await run('curl', [
      '-sS',
      '-k',
      '--max-time',
      '5',
      '--http2',
      '--resolve',
      `tapgate.test:443:${serverIp}`,
      'https://tapgate.test/',
    ]);
    assert.equal(tls.stdout, 'secure');
    const dig = await run('dig', [
      '+short',
      '+tries=1',
      '+time=3',
      `@${serverIp}`,
      'example.test',
      'A',
    ]);
    assert.equal(dig.stdout.trim(), '192.0.2.53');
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`ws://${serverIp}/ws`);
      ws.on('open', () => {
        ws.send('hello websocket');
      });
      ws.on('message', () => {
        ws.close();
      });
      ws.on('close', () => {
        resolve();
      });
      ws.on('error', reject);
    });
    // Let the last FINs arrive, then stop: flows still open are flushed into records.
    await new Promise((r) => setTimeout(r, 500));
    cli.kill('SIGINT');
    const res = await cli.done;
    assert.equal(res.code, 0, res.stderr);

    const recs = readFileSync(records, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Rec);
    const http = recs.filter((r) => r.http && !r.websocket);
    const hello = http.find((r) => r.http!.uri === '/hello');
    assert.ok(hello, 'GET /hello');
    assert.equal(hello.http!.method, 'GET');
    assert.equal(hello.http!.host, serverIp);
    assert.equal(hello.host, `${serverIp}:80`);
    assert.equal(hello.http!.statusCode, 200);
    assert.equal(Buffer.from(hello.http!.response.body!, 'base64').toString(), 'hi');
    assert.match(hello.flow.communityId, /^1:[A-Za-z0-9+/]{27}=$/);

    const echo = http.find((r) => r.http!.uri === '/echo');
    assert.ok(echo, 'POST /echo');
    assert.equal(echo.http!.method, 'POST');
    assert.equal(Buffer.from(echo.http!.request.body!, 'base64').toString(), 'ping=pong');
    assert.equal(Buffer.from(echo.http!.response.body!, 'base64').toString(), 'ping=pong');

    const upgrade = http.find((r) => r.http!.uri === '/ws');
    assert.ok(upgrade, 'WebSocket upgrade request');
    assert.equal(upgrade.http!.statusCode, 101);
    const frames = recs.filter((r) => r.websocket);
    const text = frames.filter((r) => r.websocket!.opcode === 1);
    assert.deepEqual(
      text.map((r) => [r.websocket!.from, r.websocket!.masked, r.websocket!.length]),
      [
        ['client', true, 15],
        ['server', false, 15],
      ],
    );
    assert.ok(
      frames.some((r) => r.websocket!.opcode === 8),
      'close frames',
    );

    const handshake = recs.find((r) => r.tls);
    assert.ok(handshake, 'TLS record');
    assert.equal(handshake.proto, 'tls');
    assert.equal(handshake.tls!.serverName, 'tapgate.test');
    assert.equal(handshake.host, 'tapgate.test:443');
    assert.equal(handshake.tls!.proto, 'h2');
    assert.equal(handshake.tls!.version, 'tls1.3');
    assert.match(handshake.tls!.ja3Hash, /^[0-9a-f]{32}$/);
    assert.match(handshake.tls!.ja4, /^t13d\d{4}h2_[0-9a-f]{12}_[0-9a-f]{12}$/);

    const query = recs.find((r) => r.dns);
    assert.ok(query, 'DNS record');
    assert.equal(query.dns!.name, 'example.test.');
    assert.equal(query.dns!.type, 'A');
    assert.deepEqual(
      query.dns!.answers?.map((a) => [a.type, a.data]),
      [['A', '192.0.2.53']],
    );
  });
});

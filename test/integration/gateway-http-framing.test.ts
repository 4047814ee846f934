/**
 * The HTTP proxy's message handling with real clients and servers: chunked uploads, `Expect:
 * 100-continue`, HEAD, chunked and close-delimited responses, pipelined requests, switching
 * upstreams on one client connection, a dead upstream (503), a WebSocket upgrade through the
 * forward proxy, and CONNECT without sniffing.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import {
  atEnd,
  curl,
  echoUpstream,
  httpUpstream,
  portOf,
  startGateway,
  waitFor,
  type InProcessGateway,
} from '../helpers/gateway-harness.ts';

/** Collects what `s` sends until `done(text)` holds or it closes; bounded by `ms`. */
function readUntil(s: Socket, done: (text: string) => boolean, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (): void => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('close', finish);
      resolve(text);
    };
    const onData = (d: Buffer): void => {
      text += d.toString('latin1');
      if (done(text)) finish();
    };
    const timer = setTimeout(() => {
      reject(new Error(`timeout; got ${JSON.stringify(text)}`));
    }, ms);
    s.on('data', onData);
    s.once('close', finish);
  });
}

describe('gateway: HTTP proxy framing', () => {
  let gw: InProcessGateway;
  let a: HttpServer;
  let b: HttpServer;
  let raw: Server;
  let ws: HttpServer;
  let echo: Server;

  before(async () => {
    a = await httpUpstream('a');
    b = await httpUpstream('b');
    echo = await echoUpstream();
    // Answers chunked, then close-delimited, depending on the path.
    raw = createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', (d: Buffer) => {
        if (d.toString().startsWith('GET /close')) {
          s.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close');
        } else {
          s.write(
            'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
          );
        }
      });
    });
    raw.listen(0, '127.0.0.1');
    await once(raw, 'listening');
    atEnd(() => raw.close());
    ws = createHttpServer();
    const wss = new WebSocketServer({ server: ws });
    wss.on('connection', (c) => {
      c.on('message', (m, bin) => {
        c.send(m, { binary: bin });
      });
    });
    ws.listen(0, '127.0.0.1');
    await once(ws, 'listening');
    atEnd(() => {
      wss.close();
      ws.close();
    });
    gw = await startGateway(`
services:
  - name: proxy
    addr: 127.0.0.1:0
    handler: {type: http, metadata: {sniffing: true, sniffing.websocket: true, sniffing.websocket.sampleRate: -1}}
  - name: plain
    addr: 127.0.0.1:0
    handler: {type: http}
`);
  });

  const proxy = (): string => `http://127.0.0.1:${gw.port('proxy')}`;

  test('chunked upload with Expect: 100-continue; HEAD; chunked and close-delimited responses', async () => {
    const up = `http://127.0.0.1:${portOf(a)}`;
    const body = 'x'.repeat(3000);
    const out = await curl([
      ...['-x', proxy(), '-H', 'Transfer-Encoding: chunked', '-H', 'Expect: 100-continue'],
      ...['--data-binary', body, `${up}/upload`],
    ]);
    assert.equal(out, `a POST /upload ${body}`);
    const head = await curl(['-x', proxy(), '-I', `${up}/head`]);
    assert.match(head, /^HTTP\/1\.1 200 OK/);
    const r = `http://127.0.0.1:${portOf(raw)}`;
    assert.equal(await curl(['-x', proxy(), `${r}/chunked`]), 'hello world');
    assert.equal(await curl(['-x', proxy(), `${r}/close`]), 'until close');
    const upload = await waitFor('the upload record', () =>
      gw.records.find((x) => x.http?.uri === `${up}/upload`),
    );
    assert.equal(upload.http!.statusCode, 200);
    assert.equal(upload.http!.request.contentLength, -1);
    const closeRec = await waitFor('the close record', () =>
      gw.records.find((x) => x.http?.uri === `${r}/close`),
    );
    assert.equal(closeRec.http!.response.contentLength, -1);
  });

  test('pipelined requests to two upstreams on one connection are answered in order', async () => {
    const s = connect(gw.port('proxy'), '127.0.0.1');
    await once(s, 'connect');
    const req = (port: number, path: string): string =>
      `GET http://127.0.0.1:${port}${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
    s.write(
      req(portOf(a), '/1') + req(portOf(a), '/2') + req(portOf(b), '/3') + req(portOf(a), '/4'),
    );
    const text = await readUntil(
      s,
      (t) => (t.match(/HTTP\/1\.1 200/g) ?? []).length === 4 && t.endsWith('/4 '),
    );
    s.destroy();
    const bodies = [...text.matchAll(/\r\n\r\n([ab] GET \/\d )/g)].map((m) => m[1]);
    assert.deepEqual(bodies, ['a GET /1 ', 'a GET /2 ', 'b GET /3 ', 'a GET /4 ']);
    const recs = await waitFor('four records', () => {
      const rs = gw.records.filter((x) => /\/[1-4]$/.test(x.http?.uri ?? ''));
      return rs.length === 4 ? rs : null;
    });
    assert.deepEqual(
      recs.map((x) => x.dst),
      [portOf(a), portOf(a), portOf(b), portOf(a)].map((p) => `127.0.0.1:${p}`),
    );
    assert.equal(new Set(recs.map((x) => x.sid)).size, 1);
  });

  test('an upstream that refuses: 503 with the dial error; a request that is not for a proxy: 400', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = portOf(closed);
    closed.close();
    const code = await curl([
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-x',
      proxy(),
      `http://127.0.0.1:${port}/`,
    ]);
    assert.equal(code, '503');
    const rec = await waitFor('the 503 record', () =>
      gw.records.find((x) => x.http?.statusCode === 503),
    );
    assert.match(rec.err ?? '', /ECONNREFUSED/);
    const bad = await curl(['-o', '/dev/null', '-w', '%{http_code}', `${proxy()}/origin-form`]);
    assert.equal(bad, '400');
    // A request head over 64 KiB.
    const big = await curl([
      ...['-o', '/dev/null', '-w', '%{http_code}', '-x', proxy()],
      ...['-H', `X-Big: ${'b'.repeat(70 * 1024)}`, `http://127.0.0.1:${portOf(a)}/big`],
    ]);
    assert.equal(big, '431');
  });

  test('a WebSocket through the forward proxy: upgrade, frames both ways, frame records', async () => {
    // A WebSocket client speaking to a forward proxy: absolute-form request line.
    const s = connect(gw.port('proxy'), '127.0.0.1');
    await once(s, 'connect');
    const key = Buffer.from('0123456789abcdef').toString('base64');
    s.write(
      `GET http://127.0.0.1:${portOf(ws)}/chat HTTP/1.1\r\nHost: 127.0.0.1:${portOf(ws)}\r\n` +
        `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
        'Sec-WebSocket-Version: 13\r\n\r\n',
    );
    let got = Buffer.alloc(0);
    s.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    await waitFor(
      '101',
      () => got.includes('\r\n\r\n') && got.toString('latin1').startsWith('HTTP/1.1 101'),
    );
    // A masked text frame "ping"; the server echoes it unmasked.
    const mask = [0x11, 0x22, 0x33, 0x44];
    const payload = Buffer.from('ping').map((c, i) => c ^ mask[i % 4]!);
    got = Buffer.alloc(0);
    s.write(Buffer.concat([Buffer.from([0x81, 0x84, ...mask]), payload]));
    await waitFor('the echo', () => got.length >= 6);
    assert.deepEqual([...got.subarray(0, 6)], [0x81, 0x04, ...Buffer.from('ping')]);
    s.destroy();
    const frames = await waitFor('frame records', () => {
      const f = gw.records.filter((x) => x.websocket !== undefined);
      return f.length >= 2 ? f : null;
    });
    assert.deepEqual(
      frames.map((f) => [f.websocket!.from, f.websocket!.opcode, f.websocket!.length]),
      [
        ['client', 1, 4],
        ['server', 1, 4],
      ],
    );
    assert.equal(frames[0]!.websocket!.maskKey, 1144201745);
    const upgrade = await waitFor('the upgrade record', () =>
      gw.records.find((x) => x.http?.statusCode === 101 && x.websocket === undefined),
    );
    assert.equal(upgrade.http!.uri, `http://127.0.0.1:${portOf(ws)}/chat`);
  });

  test('CONNECT without sniffing: one connection record with the CONNECT exchange', async () => {
    const s = connect(gw.port('plain'), '127.0.0.1');
    await once(s, 'connect');
    s.write(
      `CONNECT 127.0.0.1:${portOf(echo)} HTTP/1.1\r\nHost: 127.0.0.1:${portOf(echo)}\r\n\r\n`,
    );
    const head = await readUntil(s, (t) => t.includes('\r\n\r\n'));
    assert.match(head, /^HTTP\/1\.1 200 Connection established\r\n/);
    s.write('raw tunnel bytes');
    s.end();
    const echoed = await readUntil(s, (t) => t === 'raw tunnel bytes');
    assert.equal(echoed, 'raw tunnel bytes');
    const rec = await waitFor('the tunnel record', () =>
      gw.records.find((x) => x.service === 'plain' && x.http?.method === 'CONNECT'),
    );
    assert.equal(rec.proto, undefined);
    assert.equal(rec.http!.statusCode, 200);
    assert.equal(rec.host, `127.0.0.1:${portOf(echo)}`);
    assert.equal(rec.dst, `127.0.0.1:${portOf(echo)}`);
    assert.ok(rec.inputBytes > 16 && rec.outputBytes > 16);
  });
});

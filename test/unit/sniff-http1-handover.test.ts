/**
 * Protocol switches out of HTTP/1: `Upgrade: h2c` (sv-h2c-upgrade-range), `Upgrade: websocket`,
 * CONNECT, other 101s, the HTTP/2 preface, and upgrades the server declines. The factories record
 * what they were given; the bytes they receive must be exactly those after the switching messages.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RecordUnit } from '../../src/record/record-types.ts';
import { Http1Sniffer } from '../../src/sniff/http1/http1-sniffer.ts';
import { Side } from '../../src/sniff/sniffer.ts';
import {
  assertCutIndependent,
  feedStream,
  recordingContext,
  recordingFactories,
  type FeedMode,
  type HandOver,
  type RecordingContext,
} from '../helpers/sniff-harness.ts';
import {
  corpusCapture,
  corpusExpected,
  followTcpStream,
  type FollowChunk,
} from '../helpers/tshark-follow.ts';

interface Run {
  ctx: RecordingContext;
  calls: HandOver[];
  sniffer: Http1Sniffer;
}

function run(chunks: FollowChunk[], mode: FeedMode = { kind: 'whole' }, serverPort = 80): Run {
  const ctx = recordingContext({ websocketSampleRate: -1 }, { serverPort });
  const { factories, calls } = recordingFactories();
  const sniffer = new Http1Sniffer(ctx, factories);
  feedStream(sniffer, chunks, mode);
  return { ctx, calls, sniffer };
}

/** What a run produced, comparable across feed modes. */
function summary(r: Run): unknown {
  return {
    units: r.ctx.units,
    errors: r.ctx.errors,
    handOvers: r.calls.map((c) => ({
      kind: c.kind,
      upgrade: c.upgrade,
      client: c.sniffer.received(Side.Client),
      server: c.sniffer.received(Side.Server),
      ended: c.sniffer.ended,
    })),
  };
}

function assertSplitInvariant(chunks: FollowChunk[], serverPort = 80): void {
  assertCutIndependent(chunks, (mode) => summary(run(chunks, mode, serverPort)));
}

function chunk(side: 0 | 1, text: string | Buffer): FollowChunk {
  return { side, data: typeof text === 'string' ? Buffer.from(text, 'latin1') : text };
}

/** Bytes of `side` after the first `skip` of them. */
function after(chunks: FollowChunk[], side: 0 | 1, skip: number): Buffer {
  return Buffer.concat(chunks.filter((c) => c.side === side).map((c) => c.data)).subarray(skip);
}

describe('Upgrade: h2c (sv-h2c-upgrade-range.pcap)', () => {
  const capture = 'sv-h2c-upgrade-range.pcap';
  const rows = corpusExpected(capture, 'http') as {
    stream: number;
    method: string;
    uri: string;
    host: string;
    upgrade: string | null;
  }[];

  for (const index of [0, 1, 2, 3, 4]) {
    const row = rows.find((r) => r.stream === index)!;
    test(`stream ${index}: ${row.upgrade === 'h2c' ? 'hands over to HTTP/2' : 'stays HTTP/1'}`, () => {
      const stream = followTcpStream(corpusCapture(capture), index);
      const r = run(stream.chunks, { kind: 'whole' }, 8080);
      assert.deepStrictEqual(r.ctx.errors, []);
      if (row.upgrade !== 'h2c') {
        assert.equal(r.calls.length, 0);
        assert.equal(r.ctx.units.length, 1);
        assert.equal(r.ctx.units[0]!.http!.statusCode, 206);
        return;
      }
      // No HTTP/1 record: the HTTP/2 sniffer records the request as stream 1.
      assert.equal(r.ctx.units.length, 0);
      assert.equal(r.calls.length, 1);
      const { kind, ctx, upgrade, sniffer } = r.calls[0]!;
      assert.equal(kind, 'http2');
      assert.equal(ctx, r.ctx);
      const requestHead = stream.chunks[0]!.data;
      const responseHead = stream.chunks[1]!.data;
      assert.equal(upgrade!.method, row.method);
      assert.equal(upgrade!.uri, row.uri);
      assert.equal(upgrade!.host, row.host);
      assert.equal(upgrade!.header.get('Upgrade')?.[0], 'h2c');
      assert.ok(upgrade!.header.has('Http2-Settings'));
      assert.equal(upgrade!.header.has('Host'), false);
      assert.equal(upgrade!.body, null);
      assert.equal(upgrade!.contentLength, 0);
      assert.equal(upgrade!.inputBytes, requestHead.length);
      assert.equal(upgrade!.outputBytes, responseHead.length);
      assert.deepStrictEqual(upgrade!.start, r.ctx.now());
      // Everything after the request / the 101 head, starting with the client preface.
      assert.deepStrictEqual(
        sniffer.received(Side.Client),
        after(stream.chunks, 0, requestHead.length),
      );
      assert.ok(
        sniffer.received(Side.Client).toString('latin1').startsWith('PRI * HTTP/2.0\r\n\r\nSM'),
      );
      assert.deepStrictEqual(
        sniffer.received(Side.Server),
        after(stream.chunks, 1, responseHead.length),
      );
      assert.deepStrictEqual(sniffer.ended, [true, true]);
      // After the hand-over, wants() is the new sniffer's.
      sniffer.wanted[Side.Server] = false;
      assert.equal(r.sniffer.wants(Side.Server), false);
      assert.equal(r.sniffer.wants(Side.Client), true);
      assertSplitInvariant(stream.chunks, 8080);
    });
  }
});

describe('Upgrade: websocket', () => {
  test('bytes sent with the request head and with the 101 go to the WebSocket sniffer', () => {
    const stream = followTcpStream(corpusCapture('zk-ws-two-binary-fragments.pcap'), 0);
    const normal = run(stream.chunks);
    // The same bytes, each side in one piece: frames ride with the request head and the 101.
    const joined = [chunk(0, after(stream.chunks, 0, 0)), chunk(1, after(stream.chunks, 1, 0))];
    const merged = run(joined);
    assert.deepStrictEqual(merged.ctx.errors, []);
    const frames = (r: Run, from: string): RecordUnit[] =>
      r.ctx.units.filter((u) => u.websocket?.from === from);
    const strip = (units: RecordUnit[]): unknown[] => units.map((u) => u.websocket);
    assert.deepStrictEqual(strip(frames(merged, 'client')), strip(frames(normal, 'client')));
    assert.deepStrictEqual(strip(frames(merged, 'server')), strip(frames(normal, 'server')));
    assert.equal(frames(merged, 'client').length, 3);
    assert.equal(frames(merged, 'server').length, 4);
    // The upgrade comes last, once, with the totals of the whole session.
    const upgrade = merged.ctx.units.at(-1)!;
    assert.equal(upgrade.websocket, undefined);
    assert.equal(upgrade.http!.statusCode, 101);
    assert.equal(upgrade.inputBytes, joined[0]!.data.length);
    assert.equal(upgrade.outputBytes, joined[1]!.data.length);
    assert.deepStrictEqual(normal.ctx.units.at(-1), upgrade);
    assertSplitInvariant(joined);
  });

  test('the upgrade record counts gaps and bytes after the hand-over, and is emitted at the end', () => {
    const request =
      'GET /chat HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';
    const response =
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';
    const ctx = recordingContext({ websocketFrames: false });
    const sniffer = new Http1Sniffer(ctx, recordingFactories().factories);
    sniffer.data(Side.Client, Buffer.from(request));
    sniffer.data(Side.Server, Buffer.from(response));
    // A server text frame of 10 bytes: 4 seen, 6 lost.
    sniffer.data(Side.Server, Buffer.from([0x81, 0x0a, 0x61, 0x62]));
    sniffer.gap(Side.Server, 6);
    sniffer.end(Side.Server);
    assert.equal(ctx.units.length, 0);
    sniffer.end(Side.Client);
    assert.equal(ctx.units.length, 1);
    const unit = ctx.units[0]!;
    assert.equal(unit.host, 'ws.example:80');
    assert.equal(unit.inputBytes, request.length);
    assert.equal(unit.outputBytes, response.length + 4 + 6);
    assert.deepStrictEqual(ctx.errors, []);
  });
});

describe('CONNECT', () => {
  const tlsHello = Buffer.from('160301000401020304', 'hex');
  const tlsServer = Buffer.from('160303000405060708', 'hex');
  const connect =
    'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nUser-Agent: t\r\n\r\n';
  const established = 'HTTP/1.1 200 Connection established\r\nProxy-Agent: p\r\n\r\n';

  test('a 2xx records the CONNECT and hands both sides to the tunnel', () => {
    const chunks = [
      chunk(0, Buffer.concat([Buffer.from(connect), tlsHello])),
      chunk(1, Buffer.concat([Buffer.from(established), tlsServer])),
      chunk(0, tlsHello),
    ];
    const r = run(chunks, { kind: 'whole' }, 3128);
    assert.deepStrictEqual(r.ctx.errors, []);
    assert.equal(r.ctx.units.length, 1);
    const unit = r.ctx.units[0]!;
    const http = unit.http!;
    assert.equal(http.method, 'CONNECT');
    assert.equal(http.uri, 'example.com:443');
    assert.equal(http.scheme, '');
    assert.equal(http.host, 'example.com:443');
    assert.equal(unit.host, 'example.com:443');
    assert.equal(http.statusCode, 200);
    assert.equal(http.request.contentLength, 0);
    assert.equal(http.response.contentLength, 0);
    assert.deepStrictEqual(http.response.header, new Map([['Proxy-Agent', ['p']]]));
    assert.equal(unit.inputBytes, connect.length);
    assert.equal(unit.outputBytes, established.length);
    assert.equal(r.calls.length, 1);
    const { kind, sniffer } = r.calls[0]!;
    assert.equal(kind, 'tunnel');
    assert.deepStrictEqual(sniffer.received(Side.Client), Buffer.concat([tlsHello, tlsHello]));
    assert.deepStrictEqual(sniffer.received(Side.Server), tlsServer);
    assert.deepStrictEqual(sniffer.ended, [true, true]);
    assertSplitInvariant(chunks, 3128);
  });

  test('a refused CONNECT goes on as HTTP/1: the held request is parsed', () => {
    const refusal = 'HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\nnope';
    const retry = 'CONNECT example.com:443 HTTP/1.1\r\nProxy-Authorization: Basic eDp5\r\n\r\n';
    const chunks = [
      chunk(0, connect + retry),
      chunk(1, refusal + established),
      chunk(0, tlsHello),
      chunk(1, tlsServer),
    ];
    const r = run(chunks);
    assert.deepStrictEqual(r.ctx.errors, []);
    assert.deepStrictEqual(
      r.ctx.units.map((u) => [
        u.http!.statusCode,
        u.http!.request.header!.has('Proxy-Authorization'),
      ]),
      [
        [407, false],
        [200, true],
      ],
    );
    assert.equal(r.ctx.units[0]!.http!.response.contentLength, 4);
    assert.deepStrictEqual(r.calls[0]!.sniffer.received(Side.Client), tlsHello);
    assert.deepStrictEqual(r.calls[0]!.sniffer.received(Side.Server), tlsServer);
    assertSplitInvariant(chunks);
  });
});

describe('other switches', () => {
  test('a declined upgrade resumes HTTP/1 on the bytes held behind it', () => {
    const upgrade =
      'GET /a HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';
    const next = 'GET /b HTTP/1.1\r\nHost: h\r\n\r\n';
    const chunks = [
      chunk(0, upgrade + next),
      chunk(1, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\n\r\n'),
    ];
    const r = run(chunks);
    assert.deepStrictEqual(r.ctx.errors, []);
    assert.equal(r.calls.length, 0);
    assert.deepStrictEqual(
      r.ctx.units.map((u) => [u.http!.uri, u.http!.statusCode, u.inputBytes]),
      [
        ['/a', 200, upgrade.length],
        ['/b', 204, next.length],
      ],
    );
    assertSplitInvariant(chunks);
  });

  test('a 101 to another protocol is recorded and handed to the tunnel', () => {
    const chunks = [
      chunk(0, 'OPTIONS * HTTP/1.1\r\nHost: h\r\nUpgrade: TLS/1.0\r\nConnection: Upgrade\r\n\r\n'),
      chunk(
        1,
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: TLS/1.0, HTTP/1.1\r\nConnection: Upgrade\r\n\r\n\x16\x03\x01',
      ),
    ];
    const r = run(chunks);
    assert.equal(r.ctx.units.length, 1);
    assert.equal(r.ctx.units[0]!.http!.statusCode, 101);
    assert.equal(r.calls[0]!.kind, 'tunnel');
    assert.deepStrictEqual(
      r.calls[0]!.sniffer.received(Side.Server),
      Buffer.from([0x16, 0x03, 0x01]),
    );
    assertSplitInvariant(chunks);
  });

  test('the HTTP/2 preface hands the whole connection to HTTP/2 (prior knowledge)', () => {
    const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
    const settings = Buffer.from('000000040000000000', 'hex');
    const chunks = [chunk(0, Buffer.concat([preface, settings])), chunk(1, settings)];
    const r = run(chunks);
    assert.deepStrictEqual(r.ctx.errors, []);
    assert.equal(r.ctx.units.length, 0);
    assert.equal(r.calls[0]!.kind, 'http2');
    assert.equal(r.calls[0]!.upgrade, null);
    assert.deepStrictEqual(
      r.calls[0]!.sniffer.received(Side.Client),
      Buffer.concat([preface, settings]),
    );
    assert.deepStrictEqual(r.calls[0]!.sniffer.received(Side.Server), settings);
    assertSplitInvariant(chunks);
  });

  test('a side that ended before the hand-over is ended on the new sniffer', () => {
    const ctx = recordingContext();
    const { factories, calls } = recordingFactories();
    const sniffer = new Http1Sniffer(ctx, factories);
    sniffer.data(Side.Client, Buffer.from('GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\n\r\nPRI'));
    sniffer.end(Side.Client);
    sniffer.data(
      Side.Server,
      Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n'),
    );
    assert.deepStrictEqual(calls[0]!.sniffer.ended, [true, false]);
    assert.deepStrictEqual(calls[0]!.sniffer.received(Side.Client), Buffer.from('PRI'));
    sniffer.gap(Side.Server, 7);
    sniffer.end(Side.Server);
    assert.deepStrictEqual(calls[0]!.sniffer.gaps, [0, 7]);
    assert.deepStrictEqual(calls[0]!.sniffer.ended, [true, true]);
    assert.equal(ctx.units.length, 0);
  });
});

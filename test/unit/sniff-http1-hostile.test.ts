/**
 * Http1Sniffer against hostile input: every limit is hit, counted once, the side stops (or the
 * oldest request is given up), memory stays bounded, and nothing throws.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Http1Sniffer } from '../../src/sniff/http1/http1-sniffer.ts';
import { Side, type SniffConfig } from '../../src/sniff/sniffer.ts';
import { rng } from '../helpers/random.ts';
import { NO_HAND_OVER, recordingContext, type RecordingContext } from '../helpers/sniff-harness.ts';
import { corpusCapture, followTcpStream } from '../helpers/tshark-follow.ts';

function open(config: Partial<SniffConfig> = {}): { ctx: RecordingContext; http: Http1Sniffer } {
  const ctx = recordingContext(config);
  return { ctx, http: new Http1Sniffer(ctx, NO_HAND_OVER) };
}

function codes(ctx: RecordingContext): string[] {
  return ctx.errors.map((e) => e.code);
}

/** Feeds `text` while the side wants it, in `piece`-byte steps. */
function send(http: Http1Sniffer, side: Side, data: Buffer | string, piece = Infinity): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  for (let off = 0; off < bytes.length && http.wants(side); off += piece) {
    http.data(side, bytes.subarray(off, Math.min(bytes.length, off + piece)));
  }
}

function finish(http: Http1Sniffer): void {
  http.end(Side.Client);
  http.end(Side.Server);
}

/** A gc() for heap measurements (the test runner does not pass --expose-gc). */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('header limits', () => {
  test('10 000 header lines: header_too_large at line 257, the side stops', () => {
    const { ctx, http } = open();
    const head = `GET /big HTTP/1.1\r\nHost: h\r\n${'X-A: b\r\n'.repeat(10_000)}\r\n`;
    send(http, Side.Client, head, 1460);
    assert.deepStrictEqual(codes(ctx), ['header_too_large']);
    assert.equal(http.wants(Side.Client), false);
    assert.equal(http.wants(Side.Server), true);
    // The request is recorded with what was parsed of it (it may still get its 431).
    send(
      http,
      Side.Server,
      'HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n',
    );
    finish(http);
    const unit = ctx.units[0]!;
    assert.equal(unit.http!.uri, '/big');
    assert.equal(unit.http!.statusCode, 431);
    assert.equal(unit.http!.request.header!.get('X-A')!.length, 255); // Host was line 1
    assert.equal(unit.err, 'header too large');
  });

  test('256 header lines are fine', () => {
    const { ctx, http } = open();
    send(http, Side.Client, `GET / HTTP/1.1\r\n${'X-A: b\r\n'.repeat(256)}\r\n`);
    finish(http);
    assert.deepStrictEqual(codes(ctx), []);
    assert.equal(ctx.units[0]!.http!.request.header!.get('X-A')!.length, 256);
  });

  test('a 10 MB header line, in 64 KiB pieces or whole: stops after 64 KiB', () => {
    const line = Buffer.concat([
      Buffer.from('GET / HTTP/1.1\r\nX-Long: '),
      Buffer.alloc(10 << 20, 0x61),
    ]);
    for (const piece of [64 * 1024, Infinity]) {
      const { ctx, http } = open();
      let delivered = 0;
      for (
        let off = 0;
        off < line.length && http.wants(Side.Client);
        off += Math.min(piece, line.length)
      ) {
        const part = line.subarray(off, Math.min(line.length, off + piece));
        http.data(Side.Client, part);
        delivered += part.length;
      }
      assert.deepStrictEqual(codes(ctx), ['header_too_large']);
      assert.ok(
        delivered <= 2 * 64 * 1024 || piece === Infinity,
        `stopped after ${delivered} bytes`,
      );
      finish(http);
      assert.equal(ctx.units.length, 1);
      assert.equal(ctx.units[0]!.err, 'header too large');
    }
  });

  test('a 64 KiB start line without LF: too large, nothing salvaged from it', () => {
    const { ctx, http } = open();
    send(http, Side.Client, `GET /${'a'.repeat(70_000)}`, 1000);
    finish(http);
    assert.deepStrictEqual(codes(ctx), ['header_too_large']);
    assert.equal(ctx.units.length, 0);
  });

  test('trailer flood: trailer_too_large', () => {
    const { ctx, http } = open();
    send(http, Side.Client, 'GET / HTTP/1.1\r\n\r\n');
    send(
      http,
      Side.Server,
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n${'T: x\r\n'.repeat(300)}\r\n`,
    );
    finish(http);
    assert.deepStrictEqual(codes(ctx), ['trailer_too_large']);
    assert.equal(ctx.units[0]!.err, 'malformed chunked encoding');
    assert.equal(http.wants(Side.Server), false);
  });
});

describe('body framing attacks', () => {
  test('endless chunked body: 100 MB in 64 KiB pieces, heap stays flat', () => {
    const gc = collector();
    const { ctx, http } = open({ httpBody: true, httpMaxBodySize: 64 * 1024 });
    send(http, Side.Client, 'GET /stream HTTP/1.1\r\nHost: h\r\n\r\n');
    send(http, Side.Server, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    // Two chunk sizes, so chunk boundaries drift across the 64 KiB pieces.
    const period = Buffer.concat([chunk(0x1234, 0x62), chunk(0xabcd, 0x63)]);
    const piece = Buffer.alloc(64 * 1024);
    let offset = 0;
    let body = 0;
    const pieces = (100 << 20) / piece.length;
    let baseline = 0;
    for (let i = 0; i < pieces; i++) {
      for (let filled = 0; filled < piece.length;) {
        const n = period.copy(piece, filled, offset % period.length);
        filled += n;
        offset += n;
      }
      http.data(Side.Server, piece);
      if (i === 16) {
        gc();
        baseline = process.memoryUsage().heapUsed;
      }
    }
    gc();
    const growth = process.memoryUsage().heapUsed - baseline;
    assert.ok(growth < 4 << 20, `heap grew by ${growth} bytes`);
    for (let n = 0; n < offset; n += period.length) body += 0x1234 + 0xabcd;
    finish(http);
    assert.deepStrictEqual(codes(ctx), []);
    const http1 = ctx.units[0]!.http!;
    assert.equal(ctx.units[0]!.err, 'unexpected EOF');
    assert.equal(http1.response.body!.length, 64 * 1024);
    // The count covers every de-chunked byte seen (the last chunk of the period may be partial).
    assert.ok(
      http1.response.contentLength > body - 0x1234 - 0xabcd && http1.response.contentLength <= body,
    );
    assert.equal(
      ctx.units[0]!.outputBytes,
      offset + 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'.length,
    );
  });

  test('chunk size overflow ffffffffffffffffff: bad_chunk_size, side stops', () => {
    const { ctx, http } = open();
    send(
      http,
      Side.Client,
      'POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nxyz',
    );
    assert.deepStrictEqual(codes(ctx), ['bad_chunk_size']);
    assert.equal(http.wants(Side.Client), false);
    finish(http);
    assert.equal(ctx.units[0]!.err, 'malformed chunked encoding');
    assert.equal(ctx.units[0]!.http!.request.contentLength, -1);
  });

  test('a chunk-size line over 1 KiB (extensions): chunk_line_too_long', () => {
    const { ctx, http } = open();
    send(
      http,
      Side.Client,
      `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;${'e=1;'.repeat(300)}\r\n`,
      100,
    );
    assert.deepStrictEqual(codes(ctx), ['chunk_line_too_long']);
    assert.equal(http.wants(Side.Client), false);
  });

  test('negative, non-numeric and conflicting Content-Length: bad_content_length, side stops', () => {
    for (const header of [
      'Content-Length: -1',
      'Content-Length: 12abc',
      'Content-Length: 5\r\nContent-Length: 6',
      'Content-Length: 5, 6',
      'Content-Length: 1234567890123456',
    ]) {
      const { ctx, http } = open();
      send(http, Side.Client, `POST / HTTP/1.1\r\n${header}\r\n\r\nhello`);
      assert.deepStrictEqual(codes(ctx), ['bad_content_length'], header);
      assert.equal(http.wants(Side.Client), false);
      finish(http);
      assert.equal(ctx.units[0]!.err, 'invalid Content-Length');
    }
    // Same on the response side: the exchange is recorded at once with the error.
    const { ctx, http } = open();
    send(http, Side.Client, 'GET / HTTP/1.1\r\n\r\n');
    send(http, Side.Server, 'HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n');
    assert.equal(ctx.units[0]!.http!.statusCode, 200);
    assert.equal(ctx.units[0]!.err, 'invalid Content-Length');
    assert.equal(http.wants(Side.Server), false);
  });

  test('duplicate identical Content-Length: accepted and recorded once (as Go does)', () => {
    const { ctx, http } = open();
    send(
      http,
      Side.Client,
      'POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhelloGET /2 HTTP/1.1\r\n\r\n',
    );
    finish(http);
    assert.deepStrictEqual(codes(ctx), []);
    assert.deepStrictEqual(ctx.units[0]!.http!.request.header!.get('Content-Length'), ['5']);
    assert.equal(ctx.units[0]!.http!.request.contentLength, 5);
    assert.equal(ctx.units[1]!.http!.uri, '/2');
  });

  test('Transfer-Encoding with Content-Length: chunked wins, counted, CL not recorded', () => {
    const { ctx, http } = open({ httpBody: true });
    send(
      http,
      Side.Client,
      'POST / HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    );
    finish(http);
    assert.deepStrictEqual(codes(ctx), ['te_with_content_length']);
    const request = ctx.units[0]!.http!.request;
    assert.deepStrictEqual([...request.header!.keys()], []);
    assert.deepStrictEqual(request.body, Buffer.from('abc'));
  });

  test('a request whose final coding is not chunked: bad_transfer_encoding', () => {
    const { ctx, http } = open();
    send(http, Side.Client, 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\nxxxx');
    assert.deepStrictEqual(codes(ctx), ['bad_transfer_encoding']);
    assert.equal(http.wants(Side.Client), false);
  });
});

describe('pipelining limits', () => {
  test('1000 pipelined requests without responses: the oldest are given up, 64 kept', () => {
    const { ctx, http } = open();
    const requests = Array.from(
      { length: 1000 },
      (_, i) => `GET /${i} HTTP/1.1\r\nHost: h\r\n\r\n`,
    ).join('');
    send(http, Side.Client, requests, 1460);
    assert.equal(ctx.units.length, 1000 - 64);
    assert.equal(codes(ctx).length, 1000 - 64);
    assert.ok(codes(ctx).every((c) => c === 'too_many_pending'));
    assert.ok(
      ctx.units.every((u) => u.http!.statusCode === 0 && u.err === 'too many pending requests'),
    );
    finish(http);
    assert.equal(ctx.units.length, 1000);
    assert.deepStrictEqual(
      ctx.units.map((u) => u.http!.uri),
      Array.from({ length: 1000 }, (_, i) => `/${i}`),
    );
    assert.ok(ctx.units.slice(936).every((u) => u.err === '' && u.http!.response.header === null));
  });

  test('bytes held behind an Upgrade request are bounded', () => {
    const { ctx, http } = open();
    send(http, Side.Client, 'GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n');
    send(http, Side.Client, Buffer.alloc(1 << 20), 16 * 1024);
    assert.deepStrictEqual(codes(ctx), ['held_bytes_overflow']);
    assert.equal(http.wants(Side.Client), false);
    finish(http);
    assert.equal(ctx.units.length, 1);
    assert.equal(ctx.units[0]!.err, '');
  });
});

describe('garbage', () => {
  test('random bytes and mutated corpus streams never throw', () => {
    const random = rng(9112);
    const stream = followTcpStream(corpusCapture('zk-http-pipelined.pcap'), 0);
    for (let round = 0; round < 300; round++) {
      const { ctx, http } = open({ httpBody: true, httpMaxBodySize: 256 });
      for (const c of stream.chunks.slice(0, 12)) {
        const data = Buffer.from(c.data);
        for (let m = 0; m < 3; m++)
          data[Math.floor(random() * data.length)] = Math.floor(random() * 256);
        if (random() < 0.05) http.gap(c.side, Math.floor(random() * 3000));
        send(http, c.side, data, 1 + Math.floor(random() * 700));
      }
      finish(http);
      for (const u of ctx.units) assert.ok((u.http!.response.body?.length ?? 0) <= 256);
    }
  });
});

function chunk(size: number, fill: number): Buffer {
  return Buffer.concat([
    Buffer.from(`${size.toString(16)}\r\n`),
    Buffer.alloc(size, fill),
    Buffer.from('\r\n'),
  ]);
}

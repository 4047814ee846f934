/**
 * The HTTP/2 sniffer on traffic from Node's own HTTP/2 stack (nghttp2): a server and a client on
 * loopback talk through a small TCP proxy that tees the raw bytes, and the records must say exactly
 * what the client and server sent: 60 requests with unique headers, header table size changes in
 * both directions, a never-indexed authorization, headers large enough for CONTINUATION frames,
 * padding on every frame, trailers, 1xx, server push and RST_STREAM.
 */
import assert from 'node:assert/strict';
import http2, { type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2';
import net from 'node:net';
import { test } from 'node:test';
import { addHeader } from '../../src/record/header-map.ts';
import type { HeaderMap, RecordUnit } from '../../src/record/record-types.ts';
import { createHttp2Sniffer } from '../../src/sniff/http2/http2-sniffer.ts';
import { rng } from '../helpers/random.ts';
import { feedStream, recordingContext, type FeedMode } from '../helpers/sniff-harness.ts';
import type { FollowChunk } from '../helpers/tshark-follow.ts';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, PADDING_STRATEGY_MAX } = http2.constants;
const LARGE_REQUEST_HEADER_BYTES = 40_000;
const LARGE_RESPONSE_HEADER_BYTES = 30_000;
const SETTINGS = { maxHeaderListSize: 1024 * 1024 };

function listen(server: net.Server | http2.Http2Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** A TCP proxy that records every chunk each side sends, in the order the proxy forwards them. */
async function teeProxy(targetPort: number) {
  const chunks: FollowChunk[] = [];
  let closedBoth: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (closedBoth = resolve));
  const server = net.createServer((down) => {
    const up = net.connect(targetPort, '127.0.0.1');
    let open = 2;
    const onClose = (): void => {
      if (--open === 0) closedBoth();
    };
    down.on('data', (d: Buffer) => {
      chunks.push({ side: 0, data: Buffer.from(d) });
      up.write(d);
    });
    up.on('data', (d: Buffer) => {
      chunks.push({ side: 1, data: Buffer.from(d) });
      down.write(d);
    });
    down.on('end', () => up.end());
    up.on('end', () => down.end());
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
    down.on('close', onClose);
    up.on('close', onClose);
  });
  const port = await listen(server);
  return { port, chunks, closed, server };
}

interface Reply {
  status: number;
  body: string;
}

function request(
  client: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body: string | null = null,
  trailers: OutgoingHttpHeaders | null = null,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = client.request(headers, { waitForTrailers: trailers !== null });
    if (trailers)
      req.on('wantTrailers', () => {
        req.sendTrailers(trailers);
      });
    let status = 0;
    let text = '';
    req.setEncoding('utf8');
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (d: string) => (text += d));
    req.on('end', () => {
      resolve({ status, body: text });
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

/** Frames of one direction, walked independently of the sniffer (RFC 9113 §4.1). */
function frames(bytes: Buffer, preface: boolean): { type: number; flags: number }[] {
  const out: { type: number; flags: number }[] = [];
  for (let off = preface ? 24 : 0; off + 9 <= bytes.length; off += 9 + bytes.readUIntBE(off, 3)) {
    out.push({ type: bytes[off + 3]!, flags: bytes[off + 4]! });
  }
  return out;
}

interface Exchange {
  chunks: FollowChunk[];
  authority: string;
  /** Request headers the client sent, by path (regular fields only). */
  sent: Map<string, OutgoingHttpHeaders>;
  /** The unique reply header value the server sent, by path. */
  replies: Map<string, string>;
}

async function runExchange(): Promise<Exchange> {
  const random = rng(7541);
  const token = (n: number): string =>
    Array.from(
      { length: n },
      () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(random() * 36)],
    ).join('');
  const replies = new Map<string, string>();
  const largeReply = 'r'.repeat(LARGE_RESPONSE_HEADER_BYTES);

  const server = http2.createServer({ settings: SETTINGS, paddingStrategy: PADDING_STRATEGY_MAX });
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    if (path === '/shrink') {
      // The client's encoder must now announce a smaller table in-band (RFC 7541 §4.2).
      stream.session?.settings({ headerTableSize: 256 });
      stream.respond({ ':status': 200 });
      stream.end();
    } else if (path === '/large') {
      stream.respond({ ':status': 200, 'x-large-reply': largeReply });
      stream.end('large');
    } else if (path === '/trailers') {
      stream.resume();
      stream.on('end', () => {
        stream.respond({ ':status': 200 }, { waitForTrailers: true });
        stream.on('wantTrailers', () => {
          stream.sendTrailers({ 'x-trailer': 'done' });
        });
        stream.end('with trailers');
      });
    } else if (path === '/cancel') {
      stream.respond({ ':status': 200 });
      stream.write('partial');
      stream.on('error', () => undefined);
    } else if (path === '/refuse') {
      stream.on('error', () => undefined);
      stream.close(NGHTTP2_REFUSED_STREAM);
    } else if (path === '/push') {
      stream.additionalHeaders({ ':status': 103, link: '</pushed.css>; rel=preload' });
      stream.pushStream({ ':path': '/pushed.css' }, (err, push) => {
        if (err) throw err;
        push.respond({ ':status': 200, 'content-type': 'text/css' });
        push.end('css');
      });
      stream.respond({ ':status': 200 });
      stream.end('page');
    } else {
      const reply = token(100);
      replies.set(path, reply);
      stream.respond({ ':status': 200, 'content-type': 'text/plain', 'x-reply': reply });
      stream.end(`body of ${path}`);
    }
  });
  const serverPort = await listen(server);
  const tee = await teeProxy(serverPort);
  const authority = `127.0.0.1:${tee.port}`;
  // SETTINGS_ENABLE_PUSH is the client's to send (RFC 9113 §6.5.2).
  const client = http2.connect(`http://${authority}`, {
    settings: { ...SETTINGS, enablePush: true },
    paddingStrategy: PADDING_STRATEGY_MAX,
  });
  client.on('stream', (pushed) => pushed.resume());
  const sent = new Map<string, OutgoingHttpHeaders>();
  const send = (path: string, regular: OutgoingHttpHeaders): Promise<Reply> => {
    sent.set(path, regular);
    return request(client, { ':method': 'GET', ':path': path, ...regular });
  };

  const talk = async (): Promise<void> => {
    const batch = (from: number): Promise<Reply[]> =>
      Promise.all(
        Array.from({ length: 30 }, (_, k) => {
          const i = from + k;
          const headers: OutgoingHttpHeaders = {
            'x-unique': token(120),
            'x-seq': String(i),
            cookie: ['a=1', `b=${i}`],
          };
          if (i % 10 === 0) {
            headers.authorization = `Bearer ${token(40)}`;
            // Marked sensitive: sent as a never-indexed literal (RFC 7541 §6.2.3).
            Object.defineProperty(headers, http2.sensitiveHeaders, {
              value: ['authorization'],
              enumerable: true,
            });
          }
          return send(`/u/${i}`, headers);
        }),
      );
    for (const r of await batch(0)) assert.equal(r.status, 200);
    // The server's encoder must announce the client's smaller table in-band.
    await new Promise<void>((resolve) => {
      client.settings({ headerTableSize: 512 }, () => {
        resolve();
      });
    });
    assert.equal((await send('/shrink', {})).status, 200);
    for (const r of await batch(30)) assert.equal(r.status, 200);

    assert.equal(
      (await send('/large', { 'x-large': 'q'.repeat(LARGE_REQUEST_HEADER_BYTES) })).body,
      'large',
    );
    sent.set('/trailers', { 'x-req-trailer': 'yes' });
    const withTrailers = await request(
      client,
      { ':method': 'POST', ':path': '/trailers' },
      'request body',
      { 'x-req-trailer': 'yes' },
    );
    assert.equal(withTrailers.body, 'with trailers');
    assert.equal((await send('/push', {})).body, 'page');

    // RST_STREAM from the client once the response head is in, and from the server.
    await new Promise<void>((resolve) => {
      sent.set('/cancel', {});
      const req = client.request({ ':path': '/cancel' });
      req.on('response', () => {
        req.close(NGHTTP2_CANCEL);
      });
      req.on('close', () => {
        resolve();
      });
      req.on('error', () => undefined);
      req.end();
    });
    sent.set('/refuse', {});
    await request(client, { ':path': '/refuse' }).catch(() => undefined);
  };
  try {
    await talk();
  } catch (err) {
    // Nothing else would close these, and the test process would not end.
    client.destroy();
    tee.server.close();
    server.close();
    throw err;
  }

  client.close();
  await tee.closed;
  tee.server.close();
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  return { chunks: tee.chunks, authority, sent, replies };
}

function headerMap(headers: OutgoingHttpHeaders): HeaderMap {
  const map: HeaderMap = new Map();
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) addHeader(map, name, String(v));
  }
  return map;
}

function records(chunks: FollowChunk[], mode: FeedMode) {
  const ctx = recordingContext({ httpBody: true }, { serverPort: 0 });
  feedStream(createHttp2Sniffer(ctx, null), chunks, mode);
  return { units: ctx.units, errors: ctx.errors };
}

test(
  'Node http2 through a tee: every header as sent, every stream accounted for',
  { timeout: 20_000 },
  async () => {
    const x = await runExchange();
    const client = Buffer.concat(x.chunks.filter((c) => c.side === 0).map((c) => c.data));
    const server = Buffer.concat(x.chunks.filter((c) => c.side === 1).map((c) => c.data));

    // The fixture holds what this test claims it does.
    const clientFrames = frames(client, true);
    const serverFrames = frames(server, false);
    assert.ok(
      clientFrames.some((f) => f.type === 9),
      'client CONTINUATION',
    );
    assert.ok(
      serverFrames.some((f) => f.type === 9),
      'server CONTINUATION',
    );
    assert.ok(
      serverFrames.some((f) => f.type === 0 && (f.flags & 0x8) !== 0),
      'padded DATA',
    );
    assert.ok(
      clientFrames.some((f) => f.type === 1 && (f.flags & 0x8) !== 0),
      'padded HEADERS',
    );
    assert.ok(
      serverFrames.some((f) => f.type === 5),
      'PUSH_PROMISE',
    );
    assert.ok(
      clientFrames.some((f) => f.type === 3),
      'RST_STREAM from the client',
    );
    // RFC 7541 §6.3 size updates to 512 (server encoder) and 256 (client encoder), and a never
    // indexed literal with the static name `authorization` (index 23, §6.2.3).
    assert.ok(server.includes(Buffer.from([0x3f, 0xe1, 0x03])), 'server table size update to 512');
    assert.ok(client.includes(Buffer.from([0x3f, 0xe1, 0x01])), 'client table size update to 256');
    assert.ok(client.includes(Buffer.from([0x1f, 0x08])), 'never-indexed authorization');

    const got = records(x.chunks, { kind: 'whole' });
    assert.deepStrictEqual(got.errors, []);
    const byPath = new Map<string, RecordUnit>(got.units.map((u) => [u.http!.uri, u]));
    assert.equal(got.units.length, 60 + 7);
    assert.equal(byPath.size, got.units.length);

    for (let i = 0; i < 60; i++) {
      const path = `/u/${i}`;
      const u = byPath.get(path)!;
      const h = u.http!;
      assert.deepStrictEqual(
        [h.method, h.host, h.scheme, h.statusCode, h.proto, u.err, u.host],
        ['GET', x.authority, 'http', 200, 'HTTP/2.0', '', x.authority],
        path,
      );
      assert.deepStrictEqual(h.request.header, headerMap(x.sent.get(path)!), path);
      assert.deepStrictEqual(h.request.header.get('Cookie'), ['a=1', `b=${i}`]);
      const res = h.response.header!;
      assert.deepStrictEqual(res.get('X-Reply'), [x.replies.get(path)], path);
      assert.deepStrictEqual(res.get('Content-Type'), ['text/plain']);
      assert.deepStrictEqual([...res.keys()].sort(), ['Content-Type', 'Date', 'X-Reply']);
      assert.equal(h.response.body?.toString(), `body of ${path}`);
      assert.equal(h.response.contentLength, `body of ${path}`.length);
      assert.equal(h.request.contentLength, 0);
      assert.ok(u.inputBytes > 0 && u.outputBytes > 0);
    }
    assert.equal(
      byPath.get('/u/10')!.http!.request.header?.get('Authorization')?.[0]?.startsWith('Bearer '),
      true,
    );

    const large = byPath.get('/large')!.http!;
    assert.equal(large.request.header?.get('X-Large')?.[0], 'q'.repeat(LARGE_REQUEST_HEADER_BYTES));
    assert.equal(
      large.response.header?.get('X-Large-Reply')?.[0],
      'r'.repeat(LARGE_RESPONSE_HEADER_BYTES),
    );

    const trailers = byPath.get('/trailers')!.http!;
    assert.equal(trailers.method, 'POST');
    assert.equal(trailers.request.body?.toString(), 'request body');
    assert.deepStrictEqual(trailers.request.header?.get('X-Req-Trailer'), ['yes']);
    assert.deepStrictEqual(trailers.response.header?.get('X-Trailer'), ['done']);
    assert.equal(trailers.response.body?.toString(), 'with trailers');

    const push = byPath.get('/push')!.http!;
    assert.equal(push.statusCode, 200, 'the 103 is skipped');
    assert.equal(push.response.header?.has('Link'), false);
    const pushed = byPath.get('/pushed.css')!;
    assert.deepStrictEqual(
      [
        pushed.http!.statusCode,
        pushed.http!.response.body?.toString(),
        pushed.err,
        pushed.inputBytes,
      ],
      [200, 'css', '', 0],
    );
    assert.deepStrictEqual(pushed.http!.response.header?.get('Content-Type'), ['text/css']);

    assert.equal(byPath.get('/cancel')!.err, 'stream reset: CANCEL');
    assert.equal(byPath.get('/cancel')!.http!.statusCode, 200);
    assert.equal(byPath.get('/refuse')!.err, 'stream reset: REFUSED_STREAM');
    assert.equal(byPath.get('/shrink')!.err, '');

    // The same records however the bytes are cut: whole, byte by byte, split at every offset up
    // to 256 and at every 97th beyond (every offset of a 35 KB chunk would take over 20 s; the
    // corpus tests cover every offset).
    assert.deepStrictEqual(records(x.chunks, { kind: 'bytewise' }), got);
    const longest = Math.max(...x.chunks.map((c) => c.data.length));
    for (let at = 1; at <= longest; at += at < 256 ? 1 : 97) {
      assert.deepStrictEqual(records(x.chunks, { kind: 'split', at }), got, `split at ${at}`);
    }
  },
);

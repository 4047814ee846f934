/**
 * The HTTP/2 sniffer on the corpus's cleartext HTTP/2 captures, checked field by field against
 * tshark 4.0.17 (expected/*.http2.jsonl, and tshark's per-frame lengths for the byte counters), and
 * fed whole, byte by byte and split at every offset. ws-h2-tls-keylog is TLS: not for this sniffer.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { addHeader } from '../../src/record/header-map.ts';
import type { HeaderMap, RecordUnit } from '../../src/record/record-types.ts';
import { createHttp2Sniffer } from '../../src/sniff/http2/http2-sniffer.ts';
import type { H2cUpgrade, SniffConfig } from '../../src/sniff/sniffer.ts';
import {
  assertCutIndependent,
  feedStream,
  recordingContext,
  type FeedMode,
} from '../helpers/sniff-harness.ts';
import {
  corpusCapture,
  corpusExpected,
  followAllTcpStreams,
  serverPortOf,
  type FollowChunk,
  type FollowedStream,
} from '../helpers/tshark-follow.ts';

const FRAME_HEADER_BYTES = 9;
const RST_STREAM = 3;

interface Run {
  units: RecordUnit[];
  errors: { proto: string; code: string }[];
  wants: [boolean, boolean];
}

function run(
  chunks: FollowChunk[],
  mode: FeedMode,
  serverPort: number,
  config: Partial<SniffConfig>,
  upgrade: (() => H2cUpgrade) | null = null,
): Run {
  const ctx = recordingContext(config, { serverPort });
  const sniffer = createHttp2Sniffer(ctx, upgrade ? upgrade() : null);
  feedStream(sniffer, chunks, mode);
  return { units: ctx.units, errors: ctx.errors, wants: [sniffer.wants(0), sniffer.wants(1)] };
}

/** Whole, byte by byte and every split offset give the same records and errors. */
function cutIndependent(
  chunks: FollowChunk[],
  serverPort: number,
  config: Partial<SniffConfig>,
  upgrade: (() => H2cUpgrade) | null = null,
): Run {
  return assertCutIndependent(chunks, (mode) => run(chunks, mode, serverPort, config, upgrade));
}

/** tshark's frame bytes (header + payload) per (TCP stream, h2 stream, direction), by frame type. */
interface TsharkFrame {
  tcpStream: number;
  fromClient: boolean;
  streamId: number;
  type: number;
  bytes: number;
}

function tsharkFrames(capture: string, serverPort: number, extra: string[] = []): TsharkFrame[] {
  const out = execFileSync(
    'tshark',
    [
      '-n',
      '-r',
      corpusCapture(capture),
      ...extra,
      '-Y',
      'http2',
      '-T',
      'fields',
      '-e',
      'tcp.stream',
      '-e',
      'tcp.srcport',
      '-e',
      'http2.streamid',
      '-e',
      'http2.length',
      '-e',
      'http2.type',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const frames: TsharkFrame[] = [];
  for (const line of out.split('\n')) {
    const [tcp, port, ids, lengths, types] = line.split('\t');
    if (!ids) continue;
    const idList = ids.split(',');
    const lenList = (lengths ?? '').split(',');
    const typeList = (types ?? '').split(',');
    idList.forEach((id, i) => {
      frames.push({
        tcpStream: Number(tcp),
        fromClient: Number(port) !== serverPort,
        streamId: Number(id),
        type: Number(typeList[i]),
        bytes: FRAME_HEADER_BYTES + Number(lenList[i]),
      });
    });
  }
  return frames;
}

function sumBytes(frames: TsharkFrame[], tcpStream: number, streamId: number, fromClient: boolean) {
  return frames
    .filter(
      (f) => f.tcpStream === tcpStream && f.streamId === streamId && f.fromClient === fromClient,
    )
    .reduce((n, f) => n + f.bytes, 0);
}

/** What a record says, in the terms of an expected/*.http2.jsonl line. */
function view(u: RecordUnit): Record<string, unknown> {
  const h = u.http!;
  return {
    method: h.method,
    authority: h.host,
    path: h.uri,
    scheme: h.scheme,
    status: h.statusCode,
    data_bytes_c2s: h.request.contentLength,
    data_bytes_s2c: h.response.contentLength,
    err: u.err,
  };
}

function sortedJson(items: Record<string, unknown>[]): string[] {
  return items.map((i) => JSON.stringify(i)).sort();
}

test('lx-h2c-prior-knowledge: 21 streams as tshark sees them, cut-independent', () => {
  const capture = 'lx-h2c-prior-knowledge.pcap';
  const [stream] = followAllTcpStreams(corpusCapture(capture)) as [FollowedStream];
  const serverPort = serverPortOf(stream);
  const got = cutIndependent(stream.chunks, serverPort, { httpBody: true });
  assert.deepStrictEqual(got.errors, []);
  assert.deepStrictEqual(got.wants, [false, false]);

  const expected = corpusExpected(capture, 'http2');
  assert.equal(expected.length, 21);
  assert.equal(got.units.length, 21);
  // Every stream ended on both sides without RST_STREAM (with body capture on, contentLength is
  // the DATA byte count tshark reports).
  for (const e of expected) {
    assert.equal(e.end_stream_c2s, true);
    assert.equal(e.end_stream_s2c, true);
    assert.equal(e.rst_stream, null);
    assert.equal(e.header_source, 'h2-headers');
  }
  const want = expected.map((e) => ({
    method: e.method,
    authority: e.authority,
    path: e.path,
    scheme: e.scheme,
    status: e.status,
    data_bytes_c2s: e.data_bytes_c2s,
    data_bytes_s2c: e.data_bytes_s2c,
    err: '',
  }));
  // Records carry no stream id and paths repeat: compare as multisets.
  assert.deepStrictEqual(sortedJson(got.units.map(view)), sortedJson(want));

  // Streams are answered in order here, so records come in stream order; byte counters are the
  // frame bytes tshark lists for each stream and direction.
  const frames = tsharkFrames(capture, serverPort, ['-d', 'tcp.port==8097,http2']);
  got.units.forEach((u, i) => {
    const e = expected[i]!;
    const id = e.h2_stream as number;
    assert.equal(u.http!.uri, e.path, `stream ${id}`);
    assert.equal(u.inputBytes, sumBytes(frames, 0, id, true), `stream ${id} inputBytes`);
    assert.equal(u.outputBytes, sumBytes(frames, 0, id, false), `stream ${id} outputBytes`);
    assert.equal(u.proto, 'http');
    assert.equal(u.scope, 'unit');
    assert.equal(u.host, '127.0.0.1:8097');
    assert.equal(u.clientIP, '');
    assert.equal(u.http!.proto, 'HTTP/2.0');
  });

  // Header maps and bodies of the first POST (stream 5), checked against the raw bytes.
  const post = got.units[2]!.http!;
  assert.equal(post.method, 'POST');
  assert.deepStrictEqual(post.request.header, new Map([['Content-Length', ['11']]]));
  assert.equal(post.request.body?.toString(), 'test data 0');
  assert.deepStrictEqual(
    post.response.header,
    new Map([
      ['Content-Type', ['text/plain']],
      ['Content-Length', ['9']],
    ]),
  );
  assert.equal(post.response.body?.toString(), 'Not Found');
});

test('lx-h2c-prior-knowledge without body capture: contentLength from the header, no bodies', () => {
  const [stream] = followAllTcpStreams(corpusCapture('lx-h2c-prior-knowledge.pcap')) as [
    FollowedStream,
  ];
  const got = run(stream.chunks, { kind: 'whole' }, 8097, { httpBody: false });
  const get = got.units[0]!.http!;
  // No content-length in the GET: unknown (-1); the 404 declares 9.
  assert.equal(get.request.contentLength, -1);
  assert.equal(get.response.contentLength, 9);
  assert.equal(get.request.body, null);
  assert.equal(get.response.body, null);
  assert.equal(got.units[2]!.http!.request.contentLength, 11);
});

test('ar-h2c-nghttp2: the 16 KiB HPACK block tshark could not decode, and a pushed stream', () => {
  const capture = 'ar-h2c-nghttp2.pcap';
  const [stream] = followAllTcpStreams(corpusCapture(capture)) as [FollowedStream];
  const config = { httpBody: true, httpMaxBodySize: 16 * 1024 };
  const got = cutIndependent(stream.chunks, serverPortOf(stream), config);
  assert.deepStrictEqual(got.errors, []);
  const expected = corpusExpected(capture, 'http2');
  const byStream = new Map(expected.map((e) => [e.h2_stream as number, e]));
  assert.equal(got.units.length, 2);
  const [main, pushed] = got.units as [RecordUnit, RecordUnit];

  // Stream 13: HEADERS (16,384 bytes, no END_HEADERS) + CONTINUATION (2,192 bytes). tshark marks
  // the request `oracle_incomplete` (its reassembly gave up on the block). The decoded values
  // below are this sniffer's decoding, with nothing to check them against but the frame sizes:
  // six 4,096-byte `continuation-test-N` fields are what pushed the block past one 16 KiB frame
  // (Huffman-coded dashes take 6 bits each: 6 × 3,072 bytes + the rest = 18,576 block bytes).
  const e13 = byStream.get(13)!;
  assert.deepStrictEqual(e13.oracle_incomplete, ['request headers not decoded by tshark']);
  assert.equal(e13.method, null);
  const h = main.http!;
  assert.deepStrictEqual(
    { method: h.method, host: h.host, uri: h.uri, scheme: h.scheme },
    { method: 'GET', host: 'nghttp2.org', uri: '/', scheme: 'http' },
  );
  const dashes = '-'.repeat(4096);
  const request: HeaderMap = new Map();
  addHeader(request, 'accept', '*/*');
  addHeader(request, 'accept-encoding', 'gzip, deflate');
  addHeader(request, 'user-agent', 'nghttp2/1.41.0');
  for (let n = 1; n <= 6; n++) addHeader(request, `continuation-test-${n}`, dashes);
  assert.deepStrictEqual(h.request.header, request);
  // What tshark did see of stream 13: status, DATA bytes, END_STREAM on both sides.
  assert.equal(h.statusCode, e13.status);
  assert.equal(h.response.contentLength, e13.data_bytes_s2c);
  assert.equal(h.response.body?.length, 6616);
  assert.equal(h.request.contentLength, e13.data_bytes_c2s);
  assert.equal(main.err, '');
  assert.equal(main.host, 'nghttp2.org:80');
  // HEADERS 9+16,384 and CONTINUATION 9+2,192 from the client; PUSH_PROMISE 9+47, HEADERS 9+224
  // and DATA 9+6,616 from the server (tshark lists no CONTINUATION here: it is blind to it).
  assert.equal(main.inputBytes, 9 + 16384 + 9 + 2192);
  assert.equal(main.outputBytes, 9 + 47 + 9 + 224 + 9 + 6616);

  // Stream 2, promised on stream 13: the request comes from the PUSH_PROMISE.
  const e2 = byStream.get(2)!;
  assert.equal(e2.header_source, 'push-promise');
  const p = pushed.http!;
  assert.deepStrictEqual(view(pushed), {
    method: e2.method,
    authority: e2.authority,
    path: e2.path,
    scheme: e2.scheme,
    status: e2.status,
    data_bytes_c2s: e2.data_bytes_c2s,
    data_bytes_s2c: e2.data_bytes_s2c,
    err: '',
  });
  assert.equal(p.response.header?.get('X-Http2-Push')?.[0], '1');
  // The body is cut at httpMaxBodySize; contentLength stays the real DATA byte count.
  assert.equal(p.response.body?.length, 16 * 1024);
  // The client's WINDOW_UPDATE on stream 2 (13 bytes); tshark counts no client frame on stream 2
  // (frames_c2s 0) because it stopped dissecting the client side at the unreassembled block.
  assert.equal(e2.frames_c2s, 0);
  assert.equal(pushed.inputBytes, 13);
  assert.equal(pushed.outputBytes, 9 + 62 + (9 + 16384) + (9 + 9437) + (9 + 13261));
});

/** The HTTP/1 request head that asked for h2c, parsed by hand (the HTTP/1 sniffer lives apart). */
function upgradeFrom(requestHead: string, responseHeadBytes: number): H2cUpgrade {
  const lines = requestHead.split('\r\n').filter((l) => l !== '');
  const [method = '', uri = ''] = lines[0]!.split(' ');
  const header: HeaderMap = new Map();
  let host = '';
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'host') host = value;
    else addHeader(header, name, value);
  }
  return {
    method,
    uri,
    host,
    header,
    body: null,
    contentLength: 0,
    start: { sec: 1_600_000_000, nsec: 5 },
    inputBytes: Buffer.byteLength(requestHead, 'latin1'),
    outputBytes: responseHeadBytes,
  };
}

/** Drops the first `n` bytes of `side` (the HTTP/1 heads before HTTP/2 starts). */
function dropHead(chunks: FollowChunk[], side: 0 | 1, n: number): FollowChunk[] {
  const out: FollowChunk[] = [];
  let left = n;
  for (const c of chunks) {
    if (c.side !== side || left === 0) out.push(c);
    else if (c.data.length <= left) left -= c.data.length;
    else {
      out.push({ side, data: c.data.subarray(left) });
      left = 0;
    }
  }
  return out;
}

function headLength(chunks: FollowChunk[], side: 0 | 1): number {
  const bytes = Buffer.concat(chunks.filter((c) => c.side === side).map((c) => c.data));
  return bytes.indexOf('\r\n\r\n') + 4;
}

test('sv-h2c-upgrade-range: stream 1 is the upgraded HTTP/1 request, three connections', () => {
  const capture = 'sv-h2c-upgrade-range.pcap';
  const expected = corpusExpected(capture, 'http2');
  assert.equal(expected.length, 3);
  const frames = tsharkFrames(capture, 8080);
  const ranges = ['bytes=0-10', 'bytes=20-30', 'bytes=40-68'];
  const streams = followAllTcpStreams(corpusCapture(capture));
  for (const [i, e] of expected.entries()) {
    const tcpStream = e.stream as number;
    const followed = streams.find((s) => s.index === tcpStream)!;
    const requestHeadBytes = headLength(followed.chunks, 0);
    const responseHeadBytes = headLength(followed.chunks, 1);
    const all = Buffer.concat(followed.chunks.filter((c) => c.side === 0).map((c) => c.data));
    const head = all.toString('latin1', 0, requestHeadBytes);
    const chunks = dropHead(dropHead(followed.chunks, 0, requestHeadBytes), 1, responseHeadBytes);
    const upgrade = (): H2cUpgrade => upgradeFrom(head, responseHeadBytes);

    const got = cutIndependent(chunks, 8080, { httpBody: true }, upgrade);
    assert.deepStrictEqual(got.errors, []);
    assert.equal(got.units.length, 1);
    const u = got.units[0]!;
    const h = u.http!;
    assert.equal(e.header_source, 'http1-upgrade');
    assert.deepStrictEqual(
      { method: h.method, host: h.host, uri: h.uri, scheme: h.scheme, status: h.statusCode },
      { method: e.method, host: e.authority, uri: e.path, scheme: e.scheme, status: e.status },
    );
    assert.equal(h.response.contentLength, e.data_bytes_s2c);
    assert.equal(h.response.body?.length, e.data_bytes_s2c);
    assert.equal(h.response.header?.get('Content-Range')?.[0]?.startsWith('bytes '), true);
    assert.equal(h.request.header?.get('Range')?.[0], ranges[i]);
    assert.equal(h.request.header?.get('Upgrade')?.[0], 'h2c');
    assert.equal(h.request.header.has('Host'), false);
    assert.deepStrictEqual(u.start, { sec: 1_600_000_000, nsec: 5 });
    // tshark: the client never sends END_STREAM (the upgrade request half-closed stream 1) and the
    // server follows its END_STREAM with RST_STREAM(NO_ERROR). RFC 9113 §8.1 makes that a normal
    // end, so the record has no error.
    assert.equal(e.end_stream_c2s, false);
    assert.equal(e.end_stream_s2c, true);
    assert.equal(e.rst_stream, 0);
    assert.equal(u.err, '');
    // HTTP/1 heads plus stream 1's frames up to END_STREAM (the record closes there, so the
    // trailing RST_STREAM is not in it).
    assert.equal(u.inputBytes, requestHeadBytes);
    const s2c = frames.filter(
      (f) =>
        f.tcpStream === tcpStream && f.streamId === 1 && !f.fromClient && f.type !== RST_STREAM,
    );
    assert.equal(u.outputBytes, responseHeadBytes + s2c.reduce((n, f) => n + f.bytes, 0));
  }
});

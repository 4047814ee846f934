/**
 * HTTP/2 sniffer behaviour on hand-built connections: frame features (padding, PRIORITY,
 * CONTINUATION, unknown types, 1xx, trailers), stream ends (RST_STREAM, GOAWAY, connection end),
 * gaps, timing, and the record fields (host, clientIP, header maps, text decoding).
 * Frames and HPACK blocks are built here from RFC 9113 §4.1/§6 and RFC 7541 §6, independently of
 * the code under test; HPACK blocks use the static table and literals only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RecordUnit } from '../../src/record/record-types.ts';
import { clientIpFromHeaders } from '../../src/sniff/client-ip.ts';
import { createHttp2Sniffer, HTTP2_PREFACE } from '../../src/sniff/http2/http2-sniffer.ts';
import { unitHost } from '../../src/sniff/http2/http2-stream.ts';
import type { H2cUpgrade, SniffConfig } from '../../src/sniff/sniffer.ts';
import {
  assertCutIndependent,
  feedStream,
  recordingContext,
  type FeedMode,
} from '../helpers/sniff-harness.ts';
import type { FollowChunk } from '../helpers/tshark-follow.ts';

// ── builders ────────────────────────────────────────────────────────────────────────────────────

const T = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST: 3,
  SETTINGS: 4,
  PUSH: 5,
  GOAWAY: 7,
  WU: 8,
  CONT: 9,
};
const F = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 };

function frame(type: number, flags: number, streamId: number, payload: Buffer | number[] = []) {
  const p = Buffer.from(payload);
  const h = Buffer.alloc(9);
  h.writeUIntBE(p.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return Buffer.concat([h, p]);
}

const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];

/** RFC 7541 §5.1 integer with an N-bit prefix. */
function hpackInt(value: number, prefixBits: number, flags: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [flags | value];
  const out = [flags | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest & 127) | 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}
const str = (s: string | Buffer): number[] => {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
  return [...hpackInt(b.length, 7, 0), ...b];
};
/** §6.2.2 literal without indexing, new name. */
const lit = (name: string, value: string | Buffer): number[] => [0x00, ...str(name), ...str(value)];
/** §6.1 indexed field (static table: 2 = :method GET, 3 = POST, 6 = :scheme http, 8 = 200). */
const idx = (i: number): number[] => hpackInt(i, 7, 0x80);

function requestBlock(path: string, extra: number[] = [], authority = 'example.com'): number[] {
  return [...idx(2), ...idx(6), ...lit(':path', path), ...lit(':authority', authority), ...extra];
}
const status = (code: number): number[] => lit(':status', String(code));

const SETTINGS = frame(T.SETTINGS, 0, 0);
const SETTINGS_ACK = frame(T.SETTINGS, F.ACK, 0);

/** A connection script: client and server bytes in the order they are delivered. */
class Script {
  readonly chunks: FollowChunk[] = [];
  c(...frames: Buffer[]): this {
    this.chunks.push({ side: 0, data: Buffer.concat(frames) });
    return this;
  }
  s(...frames: Buffer[]): this {
    this.chunks.push({ side: 1, data: Buffer.concat(frames) });
    return this;
  }
}

function opened(): Script {
  return new Script().c(HTTP2_PREFACE, SETTINGS).s(SETTINGS, SETTINGS_ACK).c(SETTINGS_ACK);
}

interface Run {
  units: RecordUnit[];
  errors: string[];
  wants: boolean[];
}

function run(
  chunks: FollowChunk[],
  mode: FeedMode = { kind: 'whole' },
  config: Partial<SniffConfig> = {},
  upgrade: H2cUpgrade | null = null,
): Run {
  const ctx = recordingContext(config, { serverPort: 8080 });
  const sniffer = createHttp2Sniffer(ctx, upgrade);
  feedStream(sniffer, chunks, mode);
  return {
    units: ctx.units,
    errors: ctx.errors.map((e) => `${e.proto}:${e.code}`),
    wants: [0, 1].map((s) => sniffer.wants(s as 0 | 1)),
  };
}

function cutIndependent(chunks: FollowChunk[], config: Partial<SniffConfig> = {}): Run {
  return assertCutIndependent(chunks, (mode) => run(chunks, mode, config));
}

// ── frame features ──────────────────────────────────────────────────────────────────────────────

test('padding, PRIORITY fields, CONTINUATION, unknown frames, 1xx and trailers', () => {
  const block = requestBlock('/upload', [...lit('cookie', 'a=1'), ...lit('cookie', 'b=2')]);
  const split = 20;
  const padded = (pad: number, body: number[]): number[] => [
    pad,
    ...body,
    ...new Array<number>(pad).fill(0),
  ];
  const script = opened()
    .c(
      // HEADERS: PADDED + PRIORITY (5 bytes), first 20 block bytes; the rest in a CONTINUATION.
      frame(
        T.HEADERS,
        F.PADDED | F.PRIORITY,
        1,
        padded(7, [0, 0, 0, 0, 16, ...block.slice(0, split)]),
      ),
      frame(T.CONT, F.END_HEADERS, 1, block.slice(split)),
      frame(T.PRIORITY, 0, 3, [0, 0, 0, 1, 16]), // on an idle stream: opens nothing
      frame(0xfa, 0, 1, [1, 2, 3]), // unknown type: ignored (§4.1) but counted for stream 1
      frame(T.DATA, F.PADDED, 1, padded(3, [...Buffer.from('hello ')])),
      frame(T.DATA, 0, 1, Buffer.from('world')),
      frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, lit('x-checksum', 'abc')),
    )
    .s(
      frame(T.HEADERS, F.END_HEADERS, 1, [...status(103), ...lit('link', '</s.css>')]),
      frame(
        T.HEADERS,
        F.END_HEADERS | F.PADDED,
        1,
        padded(2, [...idx(8), ...lit('content-length', '2')]),
      ),
      frame(T.WU, 0, 1, u32(1000)),
      frame(T.DATA, F.PADDED, 1, padded(250, [...Buffer.from('ok')])),
      frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, lit('grpc-status', '0')),
    );
  const got = cutIndependent(script.chunks, { httpBody: true });
  assert.deepStrictEqual(got.errors, []);
  assert.equal(got.units.length, 1);
  const u = got.units[0]!;
  const h = u.http!;
  assert.deepStrictEqual(
    {
      method: h.method,
      host: h.host,
      uri: h.uri,
      scheme: h.scheme,
      status: h.statusCode,
      err: u.err,
    },
    { method: 'GET', host: 'example.com', uri: '/upload', scheme: 'http', status: 200, err: '' },
  );
  assert.equal(u.host, 'example.com:8080');
  // Cookie crumbs stay separate values; trailers follow the header fields.
  assert.deepStrictEqual(
    h.request.header,
    new Map([
      ['Cookie', ['a=1', 'b=2']],
      ['X-Checksum', ['abc']],
    ]),
  );
  // The 103's `link` is not part of the final response.
  assert.deepStrictEqual(
    h.response.header,
    new Map([
      ['Content-Length', ['2']],
      ['Grpc-Status', ['0']],
    ]),
  );
  assert.equal(h.request.body?.toString(), 'hello world');
  assert.equal(h.request.contentLength, 11);
  assert.equal(h.response.body?.toString(), 'ok');
  assert.equal(h.response.contentLength, 2);
  // Frame bytes of stream 1 per direction, padding included; PRIORITY on stream 3 not counted.
  const c2s = script.chunks.filter((c) => c.side === 0).slice(1);
  const s2c = script.chunks.filter((c) => c.side === 1).slice(1);
  const priorityBytes = 9 + 5;
  assert.equal(
    u.inputBytes,
    c2s.reduce((n, c) => n + c.data.length, 0) - SETTINGS_ACK.length - priorityBytes,
  );
  assert.equal(
    u.outputBytes,
    s2c.reduce((n, c) => n + c.data.length, 0),
  );
});

test('start is when the request head completed, end when the stream closed', () => {
  const chunks = opened()
    .c(frame(T.HEADERS, 0, 1, requestBlock('/t')))
    .c(frame(T.CONT, F.END_HEADERS | F.END_STREAM, 1))
    .s(frame(T.HEADERS, F.END_HEADERS, 1, idx(8)))
    .s(frame(T.DATA, F.END_STREAM, 1, [1])).chunks;
  const ctx = recordingContext();
  const sniffer = createHttp2Sniffer(ctx, null);
  chunks.forEach((c, i) => {
    ctx.setNow({ sec: 100 + i, nsec: 7 });
    sniffer.data(c.side, c.data);
  });
  sniffer.end(0);
  sniffer.end(1);
  const u = ctx.units[0]!;
  assert.deepStrictEqual(u.start, { sec: 100 + chunks.length - 3, nsec: 7 });
  assert.deepStrictEqual(u.end, { sec: 100 + chunks.length - 1, nsec: 7 });
});

test('PUSH_PROMISE opens a server stream whose request comes from the promise', () => {
  const request = frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, requestBlock('/'));
  const promise = frame(T.PUSH, F.END_HEADERS, 1, [0, 0, 0, 2, ...requestBlock('/style.css')]);
  const head = (id: number): Buffer => frame(T.HEADERS, F.END_HEADERS, id, idx(8));
  const got = cutIndependent(
    opened()
      .c(request)
      .s(
        promise,
        head(1),
        frame(T.DATA, F.END_STREAM, 1, [1, 2]),
        head(2),
        frame(T.DATA, F.END_STREAM, 2, [3]),
      ).chunks,
  );
  assert.deepStrictEqual(got.errors, []);
  // The PUSH_PROMISE frame travels on stream 1 and is counted there.
  assert.deepStrictEqual(
    got.units.map((u) => [u.http!.uri, u.http!.statusCode, u.err, u.inputBytes, u.outputBytes]),
    [
      ['/', 200, '', request.length, promise.length + 10 + 11],
      ['/style.css', 200, '', 0, 10 + 10],
    ],
  );
});

// ── stream ends ─────────────────────────────────────────────────────────────────────────────────

test('RST_STREAM ends a stream with its error name; NO_ERROR after a full response is no error', () => {
  const got = cutIndependent(
    opened()
      .c(frame(T.HEADERS, F.END_HEADERS, 1, requestBlock('/cancelled')))
      .c(frame(T.RST, 0, 1, u32(8)))
      .c(frame(T.HEADERS, F.END_HEADERS, 3, requestBlock('/odd-code')))
      .s(frame(T.RST, 0, 3, u32(0x2a)))
      .c(frame(T.HEADERS, F.END_HEADERS, 5, requestBlock('/early-response')))
      .s(frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 5, idx(8)), frame(T.RST, 0, 5, u32(0)))
      .c(frame(T.HEADERS, F.END_HEADERS, 7, requestBlock('/no-error-too-soon')))
      .s(frame(T.RST, 0, 7, u32(0))).chunks,
  );
  assert.deepStrictEqual(got.errors, []);
  assert.deepStrictEqual(
    got.units.map((u) => [u.http!.uri, u.http!.statusCode, u.err]),
    [
      ['/cancelled', 0, 'stream reset: CANCEL'],
      ['/odd-code', 0, 'stream reset: unknown error code 0x2a'],
      ['/early-response', 200, ''],
      ['/no-error-too-soon', 0, 'stream reset: NO_ERROR'],
    ],
  );
  assert.deepStrictEqual(got.units[0]!.http!.response, {
    contentLength: 0,
    header: null,
    body: null,
  });
});

test('GOAWAY ends the streams above last-stream-id; the others go on', () => {
  const got = cutIndependent(
    opened()
      .c(frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, requestBlock('/a')))
      .c(frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 3, requestBlock('/b')))
      .c(frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 5, requestBlock('/c')))
      .s(frame(T.GOAWAY, 0, 0, [...u32(3), ...u32(0), ...Buffer.from('debug data')]))
      .s(frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, idx(8)))
      .s(frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 3, idx(8))).chunks,
  );
  assert.deepStrictEqual(got.errors, []);
  assert.deepStrictEqual(
    got.units.map((u) => [u.http!.uri, u.err]),
    [
      ['/c', 'refused by GOAWAY: NO_ERROR'],
      ['/a', ''],
      ['/b', ''],
    ],
  );
});

test('streams still open when the connection ends are emitted with an error', () => {
  const got = cutIndependent(
    opened()
      .c(frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, requestBlock('/slow')))
      .s(frame(T.HEADERS, F.END_HEADERS, 1, idx(8)), frame(T.DATA, 0, 1, [1, 2, 3])).chunks,
  );
  assert.deepStrictEqual(got.errors, []);
  assert.equal(got.units.length, 1);
  assert.equal(got.units[0]!.err, 'connection closed before stream end');
  assert.equal(got.units[0]!.http!.statusCode, 200);
  assert.deepStrictEqual(got.wants, [false, false]);
});

test('h2c upgrade: stream 1 is the HTTP/1 request, the response arrives as HTTP/2', () => {
  const upgrade: H2cUpgrade = {
    method: 'POST',
    uri: '/form',
    host: 'upgrade.test',
    header: new Map([
      ['Upgrade', ['h2c']],
      ['X-Real-Ip', ['198.51.100.7']],
    ]),
    body: Buffer.from('a=1'),
    contentLength: 3,
    start: { sec: 5, nsec: 6 },
    inputBytes: 120,
    outputBytes: 70,
  };
  const chunks = new Script()
    .c(HTTP2_PREFACE, SETTINGS)
    .s(SETTINGS, frame(T.HEADERS, F.END_HEADERS, 1, idx(8)), frame(T.DATA, F.END_STREAM, 1, [9]))
    .c(frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 3, requestBlock('/next'))).chunks;
  const got = run(chunks, { kind: 'whole' }, { httpBody: true }, upgrade);
  assert.deepStrictEqual(got.errors, []);
  const u = got.units[0]!;
  assert.deepStrictEqual(
    [u.http!.method, u.http!.uri, u.http!.host, u.http!.scheme, u.http!.statusCode, u.err],
    ['POST', '/form', 'upgrade.test', 'http', 200, ''],
  );
  assert.deepStrictEqual(u.http!.request, {
    contentLength: 3,
    header: upgrade.header,
    body: upgrade.body,
  });
  assert.equal(u.http!.response.body?.toString('hex'), '09');
  assert.equal(u.clientIP, '198.51.100.7');
  assert.equal(u.host, 'upgrade.test:8080');
  assert.deepStrictEqual(u.start, upgrade.start);
  assert.deepStrictEqual([u.inputBytes, u.outputBytes], [120, 70 + 10 + 10]);
  // Stream 3 has no response before the connection ends.
  assert.equal(got.units[1]!.http!.uri, '/next');
});

// ── gaps ────────────────────────────────────────────────────────────────────────────────────────

test('a gap inside a DATA payload is absorbed: the body stops at the hole, the count goes on', () => {
  const ctx = recordingContext({ httpBody: true });
  const sniffer = createHttp2Sniffer(ctx, null);
  for (const c of opened().c(frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, requestBlock('/g')))
    .chunks) {
    sniffer.data(c.side, c.data);
  }
  const data = frame(T.DATA, F.END_STREAM | F.PADDED, 1, [
    4,
    ...Buffer.from('0123456789'),
    0,
    0,
    0,
    0,
  ]);
  sniffer.data(1, frame(T.HEADERS, F.END_HEADERS, 1, idx(8)));
  sniffer.data(1, data.subarray(0, 9 + 1 + 3)); // header, pad length, '012'
  sniffer.gap(1, 5); // '34567' lost
  sniffer.data(1, data.subarray(9 + 1 + 8, 9 + 1 + 10)); // '89'
  sniffer.gap(1, 4); // the padding, lost: the frame still ends here
  assert.equal(ctx.units.length, 1, 'END_STREAM applied at the end of the frame');
  sniffer.data(0, frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 3, requestBlock('/after')));
  sniffer.data(1, frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 3, idx(8)));
  sniffer.end(0);
  sniffer.end(1);
  assert.deepStrictEqual(ctx.errors, []);
  const h = ctx.units[0]!.http!;
  assert.equal(h.response.body?.toString(), '012');
  assert.equal(h.response.contentLength, 10);
  assert.equal(ctx.units[0]!.outputBytes, 10 + data.length);
  assert.deepStrictEqual(
    ctx.units.map((u) => [u.http!.uri, u.err]),
    [
      ['/g', ''],
      ['/after', ''],
    ],
  );
});

test('a gap anywhere else loses the HPACK state: open streams end, both sides stop', () => {
  for (const [where, chunks] of [
    ['in a header block', [frame(T.HEADERS, F.END_HEADERS, 3, requestBlock('/x')).subarray(0, 12)]],
    ['at a frame boundary', []],
    ['past the end of a DATA frame', [frame(T.DATA, 0, 1, [1, 2, 3]).subarray(0, 10)]],
  ] as const) {
    const ctx = recordingContext();
    const sniffer = createHttp2Sniffer(ctx, null);
    for (const c of opened().c(frame(T.HEADERS, F.END_HEADERS, 1, requestBlock('/open'))).chunks) {
      sniffer.data(c.side, c.data);
    }
    for (const c of chunks) sniffer.data(0, c);
    sniffer.gap(0, 100);
    assert.deepStrictEqual(ctx.errors, [{ proto: 'http2', code: 'hpack_desync' }], where);
    assert.deepStrictEqual(
      ctx.units.map((u) => u.err),
      ['hpack state lost after gap'],
      where,
    );
    assert.equal(sniffer.wants(0) || sniffer.wants(1), false, where);
    sniffer.end(0);
    sniffer.end(1);
    assert.equal(ctx.units.length, 1, where);
  }
});

// ── record fields ───────────────────────────────────────────────────────────────────────────────

test('host falls back to the Host field; CONNECT names its authority; text is UTF-8', () => {
  const noAuthority = [
    ...idx(2),
    ...idx(6),
    ...lit(':path', '/h'),
    ...lit('host', 'fallback.test:81'),
  ];
  const connect = [...lit(':method', 'CONNECT'), ...lit(':authority', 'tunnel.test:443')];
  const text = [
    ...requestBlock('/t'),
    ...lit('x-name', Buffer.from('caf\u00e9')),
    ...lit('x-bad', Buffer.from([0x61, 0xff])),
  ];
  const got = run(
    opened()
      .c(frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, noAuthority))
      .c(frame(T.HEADERS, F.END_HEADERS, 3, connect))
      .c(frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 5, text)).chunks,
  );
  const [h, c, t] = got.units.map((u) => u);
  assert.deepStrictEqual(
    [h!.http!.host, h!.host, h!.http!.request.header?.has('Host')],
    ['fallback.test:81', 'fallback.test:81', false],
  );
  assert.deepStrictEqual(
    [c!.http!.method, c!.http!.uri, c!.host],
    ['CONNECT', 'tunnel.test:443', 'tunnel.test:443'],
  );
  assert.deepStrictEqual(t!.http!.request.header?.get('X-Name'), ['café']);
  assert.deepStrictEqual(t!.http!.request.header.get('X-Bad'), ['a\ufffd']);
});

test('unit host appends the server port when the authority has none', () => {
  assert.equal(unitHost('example.com', 443), 'example.com:443');
  assert.equal(unitHost('example.com:8443', 443), 'example.com:8443');
  assert.equal(unitHost('[2001:db8::1]', 80), '[2001:db8::1]:80');
  assert.equal(unitHost('[2001:db8::1]:8080', 80), '[2001:db8::1]:8080');
  assert.equal(unitHost('2001:db8::1', 80), '[2001:db8::1]:80');
  assert.equal(unitHost('', 80), '');
});

test('clientIP: CF-Connecting-IP, else the first X-Forwarded-For element, else X-Real-Ip', () => {
  const h = (entries: [string, string][]): Map<string, string[]> =>
    new Map(entries.map(([k, v]) => [k, [v]]));
  assert.equal(
    clientIpFromHeaders(
      h([
        ['Cf-Connecting-Ip', '203.0.113.9'],
        ['X-Real-Ip', '10.0.0.1'],
      ]),
    ),
    '203.0.113.9',
  );
  assert.equal(
    clientIpFromHeaders(h([['X-Forwarded-For', ' 2001:db8::7 , 10.0.0.2']])),
    '2001:db8::7',
  );
  assert.equal(clientIpFromHeaders(h([['X-Real-Ip', '10.0.0.1']])), '10.0.0.1');
  // The first non-empty header decides, as in GOST: an invalid value gives ''.
  assert.equal(
    clientIpFromHeaders(
      h([
        ['X-Forwarded-For', 'unknown'],
        ['X-Real-Ip', '10.0.0.1'],
      ]),
    ),
    '',
  );
  assert.equal(clientIpFromHeaders(new Map()), '');
});

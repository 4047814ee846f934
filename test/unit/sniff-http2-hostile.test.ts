/**
 * Hostile and broken HTTP/2 input: every case ends in a counted parse error (or a deliberate
 * non-error), bounded memory, and no exception out of the sniffer.
 * Frames and HPACK blocks are built here from RFC 9113 §4.1/§6 and RFC 7541 §5–6.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHttp2Sniffer, HTTP2_PREFACE } from '../../src/sniff/http2/http2-sniffer.ts';
import type { SniffConfig, StreamSniffer } from '../../src/sniff/sniffer.ts';
import { rng } from '../helpers/random.ts';
import { feedStream, recordingContext, type RecordingContext } from '../helpers/sniff-harness.ts';
import type { FollowChunk } from '../helpers/tshark-follow.ts';

const T = { DATA: 0, HEADERS: 1, RST: 3, SETTINGS: 4, PUSH: 5, CONT: 9 };
const F = { END_STREAM: 0x1, END_HEADERS: 0x4, PADDED: 0x8 };
const MAX_FRAME_LENGTH = 2 ** 24 - 1;

function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return h;
}

function frame(type: number, flags: number, streamId: number, payload: Buffer | number[] = []) {
  const p = Buffer.from(payload);
  return Buffer.concat([frameHeader(p.length, type, flags, streamId), p]);
}

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
const str = (s: string): number[] => [...hpackInt(Buffer.byteLength(s), 7, 0), ...Buffer.from(s)];
/** §6.2.2 literal without indexing; §6.2.1 with incremental indexing; §6.1 indexed. */
const lit = (name: string, value: string): number[] => [0x00, ...str(name), ...str(value)];
const litIndexed = (name: string, value: string): number[] => [0x40, ...str(name), ...str(value)];
const idx = (i: number): number[] => hpackInt(i, 7, 0x80);
/** §6.3 dynamic table size update. */
const sizeUpdate = (n: number): number[] => hpackInt(n, 5, 0x20);

const requestBlock = (path: string): number[] => [
  ...idx(2),
  ...idx(6),
  ...lit(':path', path),
  ...lit(':authority', 'example.com'),
];

const SETTINGS = frame(T.SETTINGS, 0, 0);

function started(config: Partial<SniffConfig> = {}): {
  ctx: RecordingContext;
  sniffer: StreamSniffer;
} {
  const ctx = recordingContext(config);
  const sniffer = createHttp2Sniffer(ctx, null);
  sniffer.data(0, Buffer.concat([HTTP2_PREFACE, SETTINGS]));
  sniffer.data(1, SETTINGS);
  return { ctx, sniffer };
}

function codes(ctx: RecordingContext): string[] {
  return ctx.errors.map((e) => {
    assert.equal(e.proto, 'http2');
    return e.code;
  });
}

function finish(sniffer: StreamSniffer): void {
  sniffer.end(0);
  sniffer.end(1);
}

test('an invalid HPACK index: hpack_error + hpack_desync, open streams end, decoding stops', () => {
  const { ctx, sniffer } = started();
  sniffer.data(0, frame(T.HEADERS, F.END_HEADERS, 1, requestBlock('/ok')));
  // Index 200: past the static table (61) and the empty dynamic table.
  sniffer.data(0, frame(T.HEADERS, F.END_HEADERS, 3, [...idx(2), ...idx(200)]));
  assert.deepStrictEqual(codes(ctx), ['hpack_error', 'hpack_desync']);
  assert.deepStrictEqual(
    ctx.units.map((u) => [u.http!.uri, u.err]),
    [['/ok', 'hpack state lost after error']],
  );
  assert.equal(sniffer.wants(0) || sniffer.wants(1), false);
  finish(sniffer);
  assert.equal(ctx.units.length, 1);
});

test('other HPACK errors: truncated field, table size update above the cap, index 0', () => {
  for (const block of [
    [...lit('x-a', 'b')].slice(0, 4),
    [...sizeUpdate(2 * 1024 * 1024), ...idx(2)],
    [0x80],
  ]) {
    const { ctx, sniffer } = started();
    sniffer.data(0, frame(T.HEADERS, F.END_HEADERS, 1, block));
    assert.deepStrictEqual(codes(ctx), ['hpack_error', 'hpack_desync'], JSON.stringify(block));
    assert.equal(sniffer.wants(0), false);
  }
});

test('a size update within the cap is applied: entries are evicted, references follow', () => {
  const { ctx, sniffer } = started();
  // Add an entry (index 62), shrink the table to 0 (evicts it), then refer to index 62.
  sniffer.data(
    0,
    frame(T.HEADERS, F.END_HEADERS, 1, [...requestBlock('/a'), ...litIndexed('x-kept', 'v')]),
  );
  sniffer.data(0, frame(T.HEADERS, F.END_HEADERS, 3, [...sizeUpdate(0), ...requestBlock('/b')]));
  assert.deepStrictEqual(codes(ctx), []);
  sniffer.data(0, frame(T.HEADERS, F.END_HEADERS, 5, [...requestBlock('/c'), ...idx(62)]));
  assert.deepStrictEqual(codes(ctx), ['hpack_error', 'hpack_desync']);
});

test('CONTINUATION without END_HEADERS for 1 MB: stops at 256 KiB, nothing more is taken', () => {
  const { ctx, sniffer } = started();
  sniffer.data(0, frame(T.HEADERS, 0, 1, requestBlock('/flood')));
  const fragment = Buffer.alloc(16 * 1024, 0x41);
  const cont = frame(T.CONT, 0, 1, fragment);
  let fed = 0;
  while (fed < 1024 * 1024 && sniffer.wants(0)) {
    sniffer.data(0, cont);
    fed += cont.length;
  }
  assert.deepStrictEqual(codes(ctx), ['header_block_too_large']);
  // The frame that would cross 256 KiB is refused from its header, before its payload is copied.
  assert.ok(fed <= 256 * 1024 + cont.length, `fed ${fed}`);
  assert.equal(sniffer.wants(1), false);
  finish(sniffer);
  assert.deepStrictEqual(ctx.units, []);
});

test('frames declaring 2^24-1 bytes: DATA and unknown types are streamed, others refused', () => {
  // DATA: the few bytes that arrive are counted; the stream ends with the connection.
  {
    const { ctx, sniffer } = started();
    const head = frame(T.HEADERS, F.END_HEADERS, 1, requestBlock('/big'));
    sniffer.data(0, head);
    sniffer.data(0, Buffer.concat([frameHeader(MAX_FRAME_LENGTH, T.DATA, 0, 1), Buffer.alloc(10)]));
    finish(sniffer);
    assert.deepStrictEqual(codes(ctx), []);
    assert.equal(ctx.units[0]!.err, 'connection closed before stream end');
    assert.equal(ctx.units[0]!.inputBytes, head.length + 9 + MAX_FRAME_LENGTH);
  }
  // An unknown type: skipped as it arrives; a gap inside it is absorbed; the next frame parses.
  {
    const { ctx, sniffer } = started();
    sniffer.data(0, Buffer.concat([frameHeader(MAX_FRAME_LENGTH, 0xee, 0, 0), Buffer.alloc(100)]));
    sniffer.gap(0, MAX_FRAME_LENGTH - 100);
    sniffer.data(0, frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, requestBlock('/next')));
    finish(sniffer);
    assert.deepStrictEqual(codes(ctx), []);
    assert.equal(ctx.units[0]!.http!.uri, '/next');
  }
  // HEADERS, CONTINUATION-bound and fixed-size frames: refused from the header.
  for (const [type, code] of [
    [T.HEADERS, 'header_block_too_large'],
    [T.PUSH, 'header_block_too_large'],
    [T.SETTINGS, 'bad_frame_size'],
    [T.RST, 'bad_frame_size'],
  ] as const) {
    const { ctx, sniffer } = started();
    sniffer.data(
      1,
      Buffer.concat([
        frameHeader(MAX_FRAME_LENGTH, type, 0, type === T.SETTINGS ? 0 : 1),
        Buffer.alloc(8),
      ]),
    );
    assert.deepStrictEqual(codes(ctx), [code], `type ${type}`);
    assert.equal(sniffer.wants(1), false);
  }
});

test('a 16 MiB DATA payload is streamed, not buffered', () => {
  const { ctx, sniffer } = started();
  sniffer.data(0, frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, requestBlock('/stream')));
  sniffer.data(1, frame(T.HEADERS, F.END_HEADERS, 1, idx(8)));
  const piece = Buffer.alloc(1024 * 1024, 0x5a);
  const before = process.memoryUsage().arrayBuffers;
  sniffer.data(1, frameHeader(MAX_FRAME_LENGTH, T.DATA, F.END_STREAM, 1));
  for (let left = MAX_FRAME_LENGTH; left > 0; left -= piece.length) {
    sniffer.data(1, piece.subarray(0, Math.min(left, piece.length)));
  }
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.ok(grown < 4 * 1024 * 1024, `grew ${grown} bytes`);
  assert.deepStrictEqual(codes(ctx), []);
  assert.equal(ctx.units.length, 1);
  assert.equal(ctx.units[0]!.http!.response.contentLength, -1);
  assert.equal(ctx.units[0]!.outputBytes, 10 + 9 + MAX_FRAME_LENGTH);
});

test('10,000 streams opened: at most 1,000 held, the oldest emitted early with an error', () => {
  const { ctx, sniffer } = started();
  const streams = 10_000;
  for (let i = 0; i < streams; i++) {
    sniffer.data(
      0,
      frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 2 * i + 1, requestBlock(`/${i}`)),
    );
    // The table never holds more than 1,000: every stream past that pushes one out.
    assert.equal(ctx.units.length, Math.max(0, i + 1 - 1000));
  }
  assert.equal(codes(ctx).length, streams - 1000);
  assert.ok(codes(ctx).every((c) => c === 'stream_table_full'));
  assert.equal(ctx.units[0]!.http!.uri, '/0');
  assert.equal(ctx.units[0]!.err, 'stream evicted: too many open streams');
  // The server answers the newest stream: still followed.
  sniffer.data(1, frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 2 * streams - 1, idx(8)));
  const last = ctx.units[ctx.units.length - 1]!;
  assert.deepStrictEqual(
    [last.http!.uri, last.http!.statusCode, last.err],
    [`/${streams - 1}`, 200, ''],
  );
  finish(sniffer);
  assert.equal(ctx.units.length, streams);
});

test('held headers and bodies are bounded per connection: oldest streams go first', () => {
  const { ctx, sniffer } = started({ httpBody: true, httpMaxBodySize: 1024 * 1024 });
  const body = Buffer.alloc(1024 * 1024, 0x62);
  for (let i = 0; i < 70; i++) {
    const id = 2 * i + 1;
    sniffer.data(0, frame(T.HEADERS, F.END_HEADERS, id, requestBlock(`/${i}`)));
    sniffer.data(0, Buffer.concat([frameHeader(body.length, T.DATA, 0, id), body]));
  }
  // 64 MiB held at most: 64 streams with 1 MiB each (plus headers) fit, the rest push out.
  const evicted = codes(ctx).length;
  assert.ok(evicted >= 6 && evicted <= 7, `evicted ${evicted}`);
  assert.ok(codes(ctx).every((c) => c === 'retained_bytes_limit'));
  assert.deepStrictEqual(ctx.units[0]!.err, 'stream evicted: retained bytes limit');
  assert.equal(ctx.units[0]!.http!.request.body?.length, body.length);
  finish(sniffer);
  assert.equal(ctx.units.length, 70);
});

test('a block that expands past 1 MiB decoded keeps its first fields only', () => {
  const { ctx, sniffer } = started();
  // One 4 KB entry, referenced 300 times: ~1.2 MB decoded from ~4.3 KB on the wire.
  const big = 'v'.repeat(4000);
  const refs = new Array<number[]>(300).fill(idx(62)).flat();
  sniffer.data(
    0,
    frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, [
      ...requestBlock('/amp'),
      ...litIndexed('x-big', big),
      ...refs,
    ]),
  );
  sniffer.data(1, frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, idx(8)));
  finish(sniffer);
  assert.deepStrictEqual(codes(ctx), ['header_list_too_large']);
  const values = ctx.units[0]!.http!.request.header!.get('X-Big')!;
  assert.ok(values.length > 200 && values.length < 260, `${values.length} kept`);
  assert.equal(ctx.units[0]!.err, '');
});

test('padding longer than the payload is a connection error', () => {
  for (const [type, payload] of [
    [T.DATA, [10, 1, 2, 3]],
    [T.HEADERS, [5, ...idx(2)]],
    [T.PUSH, [1, 0, 0, 0, 2]],
  ] as const) {
    const { ctx, sniffer } = started();
    sniffer.data(0, frame(T.HEADERS, F.END_HEADERS, 1, requestBlock('/p')));
    sniffer.data(type === T.PUSH ? 1 : 0, frame(type, F.PADDED | F.END_HEADERS, 1, [...payload]));
    assert.deepStrictEqual(codes(ctx), ['bad_padding'], `type ${type}`);
    assert.deepStrictEqual(
      ctx.units.map((u) => u.err),
      ['http2 protocol error: bad_padding'],
    );
    assert.equal(sniffer.wants(0), false);
  }
});

test('framing errors stop the connection with a named code', () => {
  const cases: [string, 0 | 1, Buffer][] = [
    ['bad_preface', 0, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    ['bad_preface', 1, frame(T.HEADERS, F.END_HEADERS, 1, idx(8))],
    ['bad_stream_id', 0, frame(T.DATA, 0, 0, [1])],
    ['bad_stream_id', 0, frame(T.SETTINGS, 0, 1)],
    ['bad_frame_size', 0, frame(T.SETTINGS, 0, 0, [0, 1, 0, 0, 0])],
    ['bad_frame_size', 0, frame(T.SETTINGS, 1, 0, [0, 1, 0, 0, 0, 0])],
    ['bad_frame_size', 0, frame(T.RST, 0, 1, [0, 0, 0])],
    ['unexpected_continuation', 0, frame(T.CONT, F.END_HEADERS, 1, idx(2))],
    ['continuation_expected', 0, Buffer.concat([frame(T.HEADERS, 0, 1, idx(2)), SETTINGS])],
    [
      'continuation_expected',
      0,
      Buffer.concat([frame(T.HEADERS, 0, 1, idx(2)), frame(T.CONT, 0, 3)]),
    ],
  ];
  for (const [code, side, bytes] of cases) {
    const ctx = recordingContext();
    const sniffer = createHttp2Sniffer(ctx, null);
    if (code !== 'bad_preface') {
      sniffer.data(0, Buffer.concat([HTTP2_PREFACE, SETTINGS]));
      sniffer.data(1, SETTINGS);
    } else if (side === 1) sniffer.data(0, HTTP2_PREFACE);
    sniffer.data(side, bytes);
    assert.deepStrictEqual(codes(ctx), [code], `${code}: ${bytes.toString('hex').slice(0, 40)}`);
    assert.equal(sniffer.wants(0) || sniffer.wants(1), false, code);
    finish(sniffer);
  }
});

test('stream id misuse is counted and ignored, decoding goes on', () => {
  const { ctx, sniffer } = started();
  sniffer.data(0, frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 2, requestBlock('/even')));
  sniffer.data(1, frame(T.PUSH, F.END_HEADERS, 1, [0, 0, 0, 3, ...requestBlock('/odd-promise')]));
  sniffer.data(0, frame(T.PUSH, F.END_HEADERS, 1, [0, 0, 0, 4, ...requestBlock('/client-push')]));
  sniffer.data(0, frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, requestBlock('/fine')));
  sniffer.data(1, frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, idx(8)));
  assert.deepStrictEqual(codes(ctx), ['bad_stream_id', 'bad_stream_id', 'bad_push_promise']);
  assert.deepStrictEqual(
    ctx.units.map((u) => [u.http!.uri, u.err]),
    [['/fine', '']],
  );
});

test('fuzz: mutated connections never throw and stay independent of how bytes are cut', () => {
  const base: FollowChunk[] = [
    { side: 0, data: Buffer.concat([HTTP2_PREFACE, SETTINGS]) },
    { side: 1, data: SETTINGS },
    {
      side: 0,
      data: Buffer.concat([
        frame(T.HEADERS, 0, 1, requestBlock('/f').slice(0, 9)),
        frame(T.CONT, F.END_HEADERS, 1, requestBlock('/f').slice(9)),
        frame(T.DATA, F.PADDED | F.END_STREAM, 1, [2, 1, 2, 3, 0, 0]),
      ]),
    },
    {
      side: 1,
      data: Buffer.concat([
        frame(T.HEADERS, F.END_HEADERS, 1, [...idx(8), ...litIndexed('x-r', 'abc')]),
        frame(T.DATA, F.END_STREAM, 1, [7, 7]),
        frame(T.PUSH, F.END_HEADERS | F.PADDED, 1, [1, 0, 0, 0, 2, ...requestBlock('/q'), 0]),
      ]),
    },
  ];
  const random = rng(9113);
  const known =
    /^(bad_[a-z_]+|hpack_error|hpack_desync|header_block_too_large|continuation_expected|unexpected_continuation|stream_table_full|header_list_too_large)$/;
  for (let round = 0; round < 300; round++) {
    const chunks = base.map((c) => ({ side: c.side, data: Buffer.from(c.data) }));
    const flips = 1 + Math.floor(random() * 4);
    for (let f = 0; f < flips; f++) {
      // The preface is left alone: a broken one only ever gives bad_preface.
      const which = Math.floor(random() * chunks.length);
      const from = which === 0 ? HTTP2_PREFACE.length : 0;
      const c = chunks[which]!;
      c.data[from + Math.floor(random() * (c.data.length - from))] = Math.floor(random() * 256);
    }
    const outcome = (mode: 'whole' | 'bytewise') => {
      const ctx = recordingContext({ httpBody: true });
      feedStream(createHttp2Sniffer(ctx, null), chunks, { kind: mode });
      return { units: ctx.units, errors: ctx.errors };
    };
    const whole = outcome('whole');
    assert.deepStrictEqual(outcome('bytewise'), whole, `round ${round}`);
    for (const e of whole.errors) assert.match(e.code, known);
  }
});

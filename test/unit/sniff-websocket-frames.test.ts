/**
 * WebSocketSniffer on hand-built frames: sampling per direction, record fields and times, the
 * protocol violations RFC 6455 §5 names, gaps, and hostile lengths (2^63).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HttpRecord } from '../../src/record/record-types.ts';
import {
  WebSocketSniffer,
  type WebSocketSession,
} from '../../src/sniff/websocket/websocket-sniffer.ts';
import { FrameSampler } from '../../src/sniff/websocket/ws-sampler.ts';
import { Side, type SniffConfig, type Timestamp } from '../../src/sniff/sniffer.ts';
import { rng } from '../helpers/random.ts';
import { recordingContext, type RecordingContext } from '../helpers/sniff-harness.ts';

const HTTP: HttpRecord = {
  host: 'ws.example',
  method: 'GET',
  proto: 'HTTP/1.1',
  scheme: '',
  uri: '/chat',
  cached: false,
  statusCode: 101,
  request: { contentLength: 0, header: new Map([['Upgrade', ['websocket']]]), body: null },
  response: { contentLength: 0, header: new Map([['Upgrade', ['websocket']]]), body: null },
};
const SESSION: WebSocketSession = { host: 'ws.example:80', clientIP: '198.51.100.7', http: HTTP };
const MASK = Buffer.from([0x11, 0x22, 0x33, 0x44]);

interface FrameSpec {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  payload?: Buffer;
  mask?: Buffer | null;
  /** Force a length encoding: 7-bit, 16-bit or 64-bit. */
  lengthBytes?: 0 | 2 | 8;
  /** Declared length when it differs from the payload's. */
  length?: bigint;
}

/** One frame on the wire (RFC 6455 §5.2); the payload is masked when a mask is given. */
function frame(spec: FrameSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  const length = spec.length ?? BigInt(payload.length);
  const lengthBytes = spec.lengthBytes ?? (length < 126n ? 0 : length < 65536n ? 2 : 8);
  const mask = spec.mask === undefined ? null : spec.mask;
  const head = Buffer.alloc(2 + lengthBytes + (mask === null ? 0 : 4));
  head[0] = ((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | spec.opcode;
  head[1] =
    (mask === null ? 0 : 0x80) |
    (lengthBytes === 0 ? Number(length) : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) head.writeUInt16BE(Number(length), 2);
  if (lengthBytes === 8) head.writeBigUInt64BE(length, 2);
  if (mask !== null) mask.copy(head, 2 + lengthBytes);
  const body = mask === null ? payload : Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([head, body]);
}

const clientFrame = (spec: FrameSpec): Buffer => frame({ mask: MASK, ...spec });

function session(config: Partial<SniffConfig> = {}): {
  ctx: RecordingContext;
  ws: WebSocketSniffer;
} {
  const ctx = recordingContext({ websocketSampleRate: -1, ...config });
  return { ctx, ws: new WebSocketSniffer(ctx, SESSION) };
}

function codes(ctx: RecordingContext): string[] {
  return ctx.errors.map((e) => `${e.proto}:${e.code}`);
}

function ts(sec: number, nsec = 0): Timestamp {
  return { sec, nsec };
}

describe('frame records', () => {
  test('fields, payload as on the wire, times from first to last byte', () => {
    const { ctx, ws } = session({ httpBody: true });
    const bytes = clientFrame({ opcode: 1, payload: Buffer.from('ping') });
    ctx.setNow(ts(100));
    ws.data(Side.Client, bytes.subarray(0, 3));
    ctx.setNow(ts(101, 5));
    ws.data(Side.Client, bytes.subarray(3));
    assert.equal(ctx.units.length, 1);
    const unit = ctx.units[0]!;
    // gost-compat.md §1.8's example: `ping` masked with 11 22 33 44.
    assert.deepStrictEqual(unit.websocket, {
      from: 'client',
      fin: true,
      rsv1: false,
      rsv2: false,
      rsv3: false,
      opcode: 1,
      masked: true,
      maskKey: 1144201745,
      length: 4,
      payload: Buffer.from('YUtdIw==', 'base64'),
    });
    assert.equal(unit.proto, 'http');
    assert.equal(unit.scope, 'unit');
    assert.equal(unit.host, 'ws.example:80');
    assert.equal(unit.clientIP, '198.51.100.7');
    assert.deepStrictEqual(unit.http, HTTP);
    assert.notEqual(unit.http, HTTP);
    assert.equal(unit.inputBytes, 10);
    assert.equal(unit.outputBytes, 0);
    assert.deepStrictEqual(unit.start, ts(100));
    assert.deepStrictEqual(unit.end, ts(101, 5));
    assert.equal(unit.err, '');
  });

  test('server frames count as output; payload null without body capture, capped with it', () => {
    const big = Buffer.alloc(70_000, 0x61);
    for (const [config, payload] of [
      [{}, null],
      [{ httpBody: true, httpMaxBodySize: 1000 }, big.subarray(0, 1000)],
    ] as const) {
      const { ctx, ws } = session(config);
      ws.data(Side.Server, frame({ opcode: 2, payload: big }));
      const unit = ctx.units[0]!;
      assert.deepStrictEqual(unit.websocket!.payload, payload);
      assert.equal(unit.websocket!.length, 70_000);
      assert.equal(unit.outputBytes, 2 + 8 + 70_000);
      assert.equal(unit.inputBytes, 0);
    }
  });

  test('sniffing.websocket off: no frame records', () => {
    const { ctx, ws } = session({ websocketFrames: false });
    ws.data(Side.Server, frame({ opcode: 1, payload: Buffer.from('x') }));
    assert.equal(ctx.units.length, 0);
  });

  test('a gap inside a payload is absorbed; capture stops at the hole', () => {
    const { ctx, ws } = session({ httpBody: true });
    const bytes = frame({ opcode: 2, payload: Buffer.from('abcdefghij') });
    ws.data(Side.Server, bytes.subarray(0, 5)); // header + "abc"
    ws.gap(Side.Server, 4);
    ws.data(Side.Server, bytes.subarray(9));
    ws.data(Side.Server, frame({ opcode: 9 }));
    assert.deepStrictEqual(
      ctx.units.map((u) => [u.websocket!.opcode, u.websocket!.payload?.toString(), u.outputBytes]),
      [
        [2, 'abc', 12],
        [9, undefined, 2],
      ],
    );
    assert.equal(ws.wants(Side.Server), true);
  });

  test('a gap in a header stops that side; a frame cut by the end is recorded with err', () => {
    const { ctx, ws } = session();
    ws.data(Side.Server, Buffer.from([0x82]));
    ws.gap(Side.Server, 10);
    assert.equal(ws.wants(Side.Server), false);
    ws.data(Side.Client, clientFrame({ opcode: 2, payload: Buffer.alloc(50) }).subarray(0, 20));
    ws.end(Side.Client);
    ws.end(Side.Server);
    assert.equal(ctx.units.length, 1);
    assert.equal(ctx.units[0]!.err, 'unexpected EOF');
    assert.equal(ctx.units[0]!.inputBytes, 20);
    assert.deepStrictEqual(ctx.errors, []);
  });
});

describe('sampling', () => {
  test('token bucket per direction: burst floor(rate), refilled by time', () => {
    const { ctx, ws } = session({ websocketSampleRate: 2 });
    const send = (side: Side, n: number): void => {
      for (let i = 0; i < n; i++)
        ws.data(side, side === Side.Client ? clientFrame({ opcode: 1 }) : frame({ opcode: 1 }));
    };
    ctx.setNow(ts(10));
    send(Side.Server, 5);
    send(Side.Client, 5);
    assert.equal(ctx.units.length, 4); // 2 per direction
    ctx.setNow(ts(10, 500_000_000)); // half a second: one token back
    send(Side.Server, 3);
    assert.equal(ctx.units.length, 5);
    ctx.setNow(ts(20)); // long idle: the bucket holds at most 2
    send(Side.Server, 5);
    assert.equal(ctx.units.length, 7);
  });

  test('rates below 1 still let a frame through; 0 none; < 0 every one', () => {
    const at = (sec: number): Timestamp => ts(sec);
    const half = new FrameSampler(0.5);
    assert.deepStrictEqual(
      [half.take(at(0)), half.take(at(1)), half.take(at(2)), half.take(at(2))],
      [true, false, true, false],
    );
    const none = new FrameSampler(0);
    assert.equal(none.take(at(0)), false);
    const all = new FrameSampler(-1);
    assert.ok(Array.from({ length: 1000 }, () => all.take(at(0))).every(Boolean));
    // Time running backwards refills nothing.
    const one = new FrameSampler(1);
    assert.deepStrictEqual(
      [one.take(at(5)), one.take(at(3)), one.take(at(5))],
      [true, false, false],
    );
  });
});

describe('RFC 6455 violations are counted and the frames still recorded', () => {
  const cases: { name: string; side: Side; bytes: Buffer[]; errors: string[] }[] = [
    {
      name: 'unmasked client frame (§5.1)',
      side: Side.Client,
      bytes: [frame({ opcode: 1 })],
      errors: ['unmasked_client_frame'],
    },
    {
      name: 'masked server frame (§5.1)',
      side: Side.Server,
      bytes: [frame({ opcode: 1, mask: MASK })],
      errors: ['masked_server_frame'],
    },
    {
      name: 'control frame over 125 bytes (§5.5)',
      side: Side.Server,
      bytes: [frame({ opcode: 9, payload: Buffer.alloc(126) })],
      errors: ['bad_control_frame'],
    },
    {
      name: 'fragmented control frame (§5.5)',
      side: Side.Server,
      bytes: [frame({ fin: false, opcode: 10 })],
      errors: ['bad_control_frame'],
    },
    {
      name: 'reserved opcodes (§5.2)',
      side: Side.Server,
      bytes: [frame({ opcode: 3 }), frame({ opcode: 0xb })],
      errors: ['bad_opcode', 'bad_opcode'],
    },
    {
      name: 'continuation without a message (§5.4)',
      side: Side.Server,
      bytes: [frame({ opcode: 0 })],
      errors: ['unexpected_continuation'],
    },
    {
      name: 'new message inside a fragmented one (§5.4)',
      side: Side.Server,
      bytes: [frame({ fin: false, opcode: 1 }), frame({ opcode: 9 }), frame({ opcode: 2 })],
      errors: ['expected_continuation'],
    },
    {
      name: 'non-minimal lengths (§5.2)',
      side: Side.Server,
      bytes: [
        frame({ opcode: 2, payload: Buffer.alloc(5), lengthBytes: 2 }),
        frame({ opcode: 2, payload: Buffer.alloc(300), lengthBytes: 8 }),
      ],
      errors: ['non_minimal_length', 'non_minimal_length'],
    },
    {
      name: 'close with a 1-byte body (§5.5.1)',
      side: Side.Server,
      bytes: [frame({ opcode: 8, payload: Buffer.from([3]) })],
      errors: ['bad_close_payload'],
    },
    {
      name: 'close status that may not be sent (§7.4.1: 1005)',
      side: Side.Client,
      bytes: [clientFrame({ opcode: 8, payload: Buffer.from([0x03, 0xed]) })],
      errors: ['bad_close_status'],
    },
    {
      name: 'data after close (§5.5.1)',
      side: Side.Server,
      bytes: [frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }), frame({ opcode: 1 })],
      errors: ['frame_after_close'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { ctx, ws } = session();
      for (const b of c.bytes) ws.data(c.side, b);
      assert.deepStrictEqual(
        codes(ctx),
        c.errors.map((e) => `websocket:${e}`),
      );
      assert.equal(ctx.units.length, c.bytes.length);
      assert.equal(ws.wants(c.side), true);
    });
  }

  test('valid close codes pass (1000, 1009 as in the corpus, 4000)', () => {
    for (const code of [1000, 1009, 4000]) {
      const { ctx, ws } = session();
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(code);
      ws.data(Side.Client, clientFrame({ opcode: 8, payload }));
      assert.deepStrictEqual(ctx.errors, [], String(code));
      assert.equal(ctx.units.length, 1);
    }
  });
});

describe('hostile input', () => {
  test('64-bit length 2^63 (and 2^53): counted, that side stops, no allocation', () => {
    for (const length of [2n ** 63n, 2n ** 53n, 2n ** 64n - 1n]) {
      const { ctx, ws } = session({ httpBody: true });
      ws.data(Side.Server, frame({ opcode: 2, length, payload: Buffer.alloc(100) }));
      assert.deepStrictEqual(codes(ctx), ['websocket:frame_too_long']);
      assert.equal(ws.wants(Side.Server), false);
      ws.data(Side.Server, frame({ opcode: 1 }));
      assert.equal(ctx.units.length, 0);
      assert.equal(ws.wants(Side.Client), true);
    }
  });

  test('2^53 − 1 is followed: streamed, capture capped, gaps absorbed', () => {
    const { ctx, ws } = session({ httpBody: true, httpMaxBodySize: 4096 });
    const length = 2n ** 53n - 1n;
    ws.data(Side.Server, frame({ opcode: 2, length, payload: Buffer.alloc(1 << 20, 7) }));
    ws.gap(Side.Server, 2 ** 52);
    ws.end(Side.Server);
    const unit = ctx.units[0]!;
    assert.equal(unit.websocket!.length, Number(length));
    assert.equal(unit.websocket!.payload!.length, 4096);
    assert.equal(unit.outputBytes, 10 + (1 << 20) + 2 ** 52);
    assert.equal(unit.err, 'unexpected EOF');
  });

  test('random bytes never throw, and every count is bounded', () => {
    const random = rng(6455);
    for (let round = 0; round < 200; round++) {
      const { ctx, ws } = session({ httpBody: true, websocketSampleRate: -1 });
      for (let i = 0; i < 20; i++) {
        const side = random() < 0.5 ? Side.Client : Side.Server;
        const data = Buffer.from(
          Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)),
        );
        if (random() < 0.1) ws.gap(side, Math.floor(random() * 100));
        else if (ws.wants(side)) ws.data(side, data);
      }
      ws.end(Side.Client);
      ws.end(Side.Server);
      for (const u of ctx.units)
        assert.ok((u.websocket!.payload?.length ?? 0) <= u.websocket!.length);
    }
  });
});

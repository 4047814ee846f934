/** The RESP2 reply parser: every reply kind, fed whole, byte by byte and split at every offset. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  encodeCommand,
  RespError,
  RespParser,
  RespProtocolError,
  type RespReply,
} from '../../src/record/sinks/resp-parser.ts';

const wire = Buffer.from(
  '+OK\r\n-ERR wrong type\r\n:42\r\n:-7\r\n$5\r\nhe\r\nl\r\n$0\r\n\r\n$-1\r\n*-1\r\n*0\r\n' +
    '*3\r\n:1\r\n*2\r\n$1\r\na\r\n+b\r\n$2\r\nxy\r\n',
);
const expected: RespReply[] = [
  'OK',
  new RespError('ERR wrong type'),
  42,
  -7,
  Buffer.from('he\r\nl'),
  Buffer.alloc(0),
  null,
  null,
  [],
  [1, [Buffer.from('a'), 'b'], Buffer.from('xy')],
];

function parse(chunks: Buffer[]): RespReply[] {
  const out: RespReply[] = [];
  const p = new RespParser((r) => out.push(r));
  for (const c of chunks) p.push(c);
  return out;
}

test('every reply kind, whole and byte by byte', () => {
  assert.deepEqual(parse([wire]), expected);
  assert.deepEqual(parse([...wire].map((b) => Buffer.from([b]))), expected);
});

test('split at every offset', () => {
  for (let i = 1; i < wire.length; i++) {
    assert.deepEqual(parse([wire.subarray(0, i), wire.subarray(i)]), expected, `split at ${i}`);
  }
});

test('hostile input: huge declared lengths, bad integers, unknown types, missing CRLF', () => {
  for (const bad of [
    '$99999999999\r\n',
    '*5000000\r\n',
    ':12a\r\n',
    '?x\r\n',
    '$1\r\nab\r\n',
    '+x\n',
  ]) {
    assert.throws(() => parse([Buffer.from(bad)]), RespProtocolError, bad);
  }
  // An endless line is refused once it passes the line limit.
  assert.throws(() => parse([Buffer.alloc(70_000, 0x2b)]), RespProtocolError);
});

test('commands are arrays of bulk strings', () => {
  assert.equal(
    encodeCommand(['LPUSH', 'k', Buffer.from('{"a":1}')]).toString(),
    '*3\r\n$5\r\nLPUSH\r\n$1\r\nk\r\n$7\r\n{"a":1}\r\n',
  );
});

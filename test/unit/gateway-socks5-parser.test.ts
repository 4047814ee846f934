/**
 * The SOCKS5 negotiation parser (RFC 1928 / RFC 1929): every dialogue fed whole, byte by byte and
 * at every cut point gives the same messages; malformed input gives an error with a reply code.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Method,
  Reply,
  Socks5Parser,
  socksReply,
  type SocksMessage,
} from '../../src/gateway/handlers/socks5-parser.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Feeds `chunks`, choosing `method` after the greeting; returns the messages and the rest. */
function dialogue(chunks: Buffer[], method: number): { messages: SocksMessage[]; rest: Buffer } {
  const p = new Socks5Parser();
  const messages: SocksMessage[] = [];
  let rest: Buffer = Buffer.alloc(0);
  let done = false;
  for (const c of chunks) {
    // After the request the handler reads the socket itself (the tunnel's first bytes).
    if (done) {
      rest = Buffer.concat([rest, c]);
      continue;
    }
    p.push(c);
    for (let m = p.next(); m !== null; m = p.next()) {
      messages.push(m);
      if (m.type === 'greeting') p.selectMethod(method);
      if (m.type === 'request') {
        rest = p.rest();
        done = true;
      }
    }
  }
  return { messages, rest };
}

function splits(bytes: Buffer): { name: string; chunks: Buffer[] }[] {
  const out = [
    { name: 'whole', chunks: [bytes] },
    { name: 'bytewise', chunks: [...bytes].map((b) => Buffer.from([b])) },
  ];
  for (let at = 1; at < bytes.length; at++) {
    out.push({ name: `cut at ${at}`, chunks: [bytes.subarray(0, at), bytes.subarray(at)] });
  }
  return out;
}

describe('SOCKS5 parser', () => {
  // greeting (no auth, user/pass) + auth alice/secret + CONNECT example.test:443 + 3 early bytes
  const withAuth = Buffer.concat([
    hex('05 02 00 02'),
    hex('01 05'),
    Buffer.from('alice'),
    hex('06'),
    Buffer.from('secret'),
    hex('05 01 00 03 0c'),
    Buffer.from('example.test'),
    hex('01 bb'),
    Buffer.from('abc'),
  ]);

  for (const { name, chunks } of splits(withAuth)) {
    test(`greeting, auth, domain request (${name})`, () => {
      const { messages, rest } = dialogue(chunks, Method.UserPass);
      assert.deepEqual(messages, [
        { type: 'greeting', methods: [0, 2] },
        { type: 'auth', username: 'alice', password: 'secret' },
        { type: 'request', command: 1, addrType: 3, host: 'example.test', port: 443 },
      ]);
      assert.equal(rest.toString(), 'abc');
    });
  }

  test('IPv4 and IPv6 targets without auth', () => {
    const v4 = dialogue([hex('05 01 00  05 01 00 01 7f 00 00 01 00 50')], Method.NoAuth);
    assert.deepEqual(v4.messages[1], {
      type: 'request',
      command: 1,
      addrType: 1,
      host: '127.0.0.1',
      port: 80,
    });
    const v6 = dialogue(
      [hex('05 01 00  05 01 00 04 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 1f 90')],
      Method.NoAuth,
    );
    assert.deepEqual(v6.messages[1], {
      type: 'request',
      command: 1,
      addrType: 4,
      host: '2001:db8::1',
      port: 8080,
    });
  });

  test('malformed input: an error with the reply to send', () => {
    const cases: [Buffer, number, RegExp][] = [
      [hex('04 01 00 50'), Reply.GeneralFailure, /not SOCKS5/],
      [hex('05 00'), Reply.GeneralFailure, /no method/],
      [hex('05 01 00  05 01 00 09 00'), Reply.AddressTypeNotSupported, /address type 9/],
      [hex('05 01 00  05 01 00 03 00 00 50'), Reply.HostUnreachable, /empty domain/],
      [hex('05 01 00  04 01 00 01 7f'), Reply.GeneralFailure, /bad request version/],
    ];
    for (const [bytes, reply, re] of cases) {
      const { messages } = dialogue([bytes], Method.NoAuth);
      const err = messages.at(-1)!;
      if (err.type !== 'error') assert.fail(`no error for ${bytes.toString('hex')}`);
      assert.equal(err.reply, reply);
      assert.match(err.message, re);
    }
    const auth = dialogue([hex('05 01 02  02 01 61 01 62')], Method.UserPass);
    assert.equal(auth.messages[1]!.type, 'error');
  });

  test('nothing is parsed past a refusal, and incomplete input waits', () => {
    const p = new Socks5Parser();
    p.push(hex('05 01 00'));
    assert.equal(p.next()!.type, 'greeting');
    p.selectMethod(Method.NoAcceptable);
    p.push(hex('05 01 00 01 7f 00 00 01 00 50'));
    assert.equal(p.next(), null);
    const q = new Socks5Parser();
    q.push(hex('05 03 00'));
    assert.equal(q.next(), null);
    assert.equal(q.buffered, 3);
  });

  test('replies', () => {
    assert.deepEqual(
      socksReply(Reply.Succeeded, '10.1.2.3', 4321),
      hex('05 00 00 01 0a 01 02 03 10 e1'),
    );
    assert.deepEqual(
      socksReply(Reply.ConnectionRefused, '::1', 1),
      hex('05 05 00 04 00000000000000000000000000000001 0001'),
    );
  });
});

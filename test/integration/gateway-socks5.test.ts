/**
 * `socks5` service with curl as the client: username/password, CONNECT to a hostname resolved by
 * the gateway (`--socks5-hostname`), refusals, and the records.
 */
import assert from 'node:assert/strict';
import type { Server as HttpServer } from 'node:http';
import { connect } from 'node:net';
import { once } from 'node:events';
import { before, describe, test } from 'node:test';
import {
  curl,
  httpUpstream,
  portOf,
  startGateway,
  waitFor,
  type InProcessGateway,
} from '../helpers/gateway-harness.ts';

const CONFIG = `
services:
  - name: socks
    addr: 127.0.0.1:0
    bypass: no-nine
    handler:
      type: socks5
      auth: {username: bob, password: "pa:ss"}
      metadata: {sniffing: true, sniffing.timeout: 500ms, handshakeTimeout: 2s}
  - name: socks-open
    addr: 127.0.0.1:0
    handler: {type: socks}
bypasses:
  - name: no-nine
    matchers: ["127.0.0.1:9"]
`;

describe('gateway: socks5 handler', () => {
  let gw: InProcessGateway;
  let up: HttpServer;

  before(async () => {
    up = await httpUpstream('up');
    gw = await startGateway(CONFIG);
  });

  test('CONNECT with username/password; records carry clientID and the HTTP exchange', async () => {
    const proxy = `socks5h://bob:pa%3Ass@127.0.0.1:${gw.port('socks')}`;
    const body = await curl(['-x', proxy, `http://localhost:${portOf(up)}/via-socks`]);
    assert.equal(body, 'up GET /via-socks ');
    const rec = await waitFor('the http record', () =>
      gw.records.find((r) => r.http?.uri === '/via-socks'),
    );
    assert.equal(rec.service, 'socks');
    assert.equal(rec.clientID, 'bob');
    assert.equal(rec.proto, 'http');
    assert.equal(rec.http!.statusCode, 200);
    assert.equal(rec.host, `localhost:${portOf(up)}`);
    assert.equal(rec.dst, `127.0.0.1:${portOf(up)}`);
    assert.equal(rec.route, `localhost:${portOf(up)}`);
    assert.equal(rec.local, `127.0.0.1:${gw.port('socks')}`);
  });

  test('a wrong password is refused (RFC 1929 status 1) and recorded', async () => {
    const proxy = `socks5h://bob:wrong@127.0.0.1:${gw.port('socks')}`;
    await assert.rejects(curl(['-x', proxy, `http://localhost:${portOf(up)}/nope`]), /SOCKS|auth/i);
    const rec = await waitFor('the refusal', () =>
      gw.records.find((r) => r.err?.includes('authentication failed') === true),
    );
    assert.equal(rec.clientID, undefined);
    assert.equal(rec.dst, '');
    assert.ok(
      rec.inputBytes > 0 && rec.outputBytes === 2 + 2,
      `${rec.inputBytes}/${rec.outputBytes}`,
    );
  });

  test('no acceptable method: a client without credentials gets 0xFF', async () => {
    const s = connect(gw.port('socks'), '127.0.0.1');
    await once(s, 'connect');
    s.write(Buffer.from([5, 1, 0]));
    const [reply] = (await once(s, 'data')) as [Buffer];
    assert.deepEqual([...reply], [5, 0xff]);
    s.destroy();
  });

  test('bypass: "not allowed by ruleset" before anything is dialled', async () => {
    const s = connect(gw.port('socks-open'), '127.0.0.1');
    await once(s, 'connect');
    s.write(Buffer.from([5, 1, 0]));
    await once(s, 'data');
    // Through the open service to 127.0.0.1:9, which the other service's bypass would refuse:
    // allowed here (connection refused by the kernel → reply 5).
    s.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, 0, 9]));
    const [open] = (await once(s, 'data')) as [Buffer];
    assert.equal(open[1], 5);
    s.destroy();

    const t = connect(gw.port('socks'), '127.0.0.1');
    await once(t, 'connect');
    t.write(Buffer.from([5, 1, 2]));
    await once(t, 'data');
    t.write(
      Buffer.concat([
        Buffer.from([1, 3]),
        Buffer.from('bob'),
        Buffer.from([5]),
        Buffer.from('pa:ss'),
      ]),
    );
    await once(t, 'data');
    t.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, 0, 9]));
    const [denied] = (await once(t, 'data')) as [Buffer];
    assert.equal(denied[1], 2);
    t.destroy();
    const rec = await waitFor('the bypass record', () =>
      gw.records.find((r) => r.err === 'bypass: 127.0.0.1:9'),
    );
    assert.equal(rec.clientID, 'bob');
    assert.equal(rec.host, '127.0.0.1:9');
  });

  test('a SOCKS4 client and an unsupported command are refused', async () => {
    const s = connect(gw.port('socks-open'), '127.0.0.1');
    await once(s, 'connect');
    s.write(Buffer.from([4, 1, 0, 80, 127, 0, 0, 1, 0]));
    await once(s, 'close');
    const t = connect(gw.port('socks-open'), '127.0.0.1');
    await once(t, 'connect');
    t.write(Buffer.from([5, 1, 0]));
    await once(t, 'data');
    t.write(Buffer.from([5, 3, 0, 1, 127, 0, 0, 1, 0, 53])); // UDP ASSOCIATE
    const [reply] = (await once(t, 'data')) as [Buffer];
    assert.equal(reply[1], 7);
    t.destroy();
  });
});

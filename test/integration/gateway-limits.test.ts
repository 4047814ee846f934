/**
 * Limits that keep a gateway up under hostile or idle clients: a request head trickled one byte
 * at a time (slowloris) is cut at the handshake timeout, a silent SOCKS5 client too, idle relays
 * are closed, `maxConnections` refuses the surplus while the others are served, and `:PORT`
 * listens on loopback only.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Server, type Socket } from 'node:net';
import { before, describe, test } from 'node:test';
import {
  echoUpstream,
  portOf,
  startGateway,
  waitFor,
  type InProcessGateway,
} from '../helpers/gateway-harness.ts';

/** Resolves with the ms until `s` closes. */
async function closedAfter(s: Socket, started: number): Promise<number> {
  if (!s.closed) await once(s, 'close');
  return Date.now() - started;
}

async function connected(port: number): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  await once(s, 'connect');
  return s;
}

describe('gateway: limits', () => {
  let gw: InProcessGateway;
  let echo: Server;

  before(async () => {
    echo = await echoUpstream();
    gw = await startGateway(`
services:
  - name: http
    addr: :0
    handler: {type: http, metadata: {handshakeTimeout: 3s}}
  - name: socks
    addr: 127.0.0.1:0
    handler: {type: socks5, metadata: {handshakeTimeout: 1s}}
  - name: capped
    addr: 127.0.0.1:0
    handler: {type: tcp, metadata: {idleTimeout: 1500ms}}
    listener: {type: tcp, metadata: {maxConnections: 2}}
    forwarder: {nodes: [{addr: "127.0.0.1:${portOf(echo)}"}]}
`);
  });

  test('`:PORT` listens on 127.0.0.1', () => {
    const http = gw.gateway.services.find((s) => s.name === 'http')!;
    assert.equal(http.address.address, '127.0.0.1');
  });

  test('slowloris: a head trickled at one byte per second is cut at the handshake timeout', async () => {
    const s = await connected(gw.port('http'));
    const started = Date.now();
    const head =
      'GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\nX-Slow: aaaaaaaaaaaaa\r\n';
    let i = 0;
    const trickle = setInterval(() => {
      if (!s.destroyed) s.write(head[i++ % head.length]!);
    }, 1000);
    const ms = await closedAfter(s, started);
    clearInterval(trickle);
    assert.ok(ms >= 2900 && ms < 4500, `closed after ${ms} ms`);
    const rec = await waitFor('the record', () =>
      gw.records.find((r) => r.service === 'http' && r.err !== undefined),
    );
    assert.equal(rec.err, 'request head timeout');
  });

  test('SOCKS5: a client that never finishes its greeting is cut at the handshake timeout', async () => {
    const s = await connected(gw.port('socks'));
    s.write(Buffer.from([5, 2]));
    const ms = await closedAfter(s, Date.now());
    assert.ok(ms >= 900 && ms < 2500, `closed after ${ms} ms`);
    await waitFor('the record', () =>
      gw.records.find((r) => r.err === 'socks5: handshake timeout'),
    );
  });

  test('maxConnections: the third connection is refused while two are served', async () => {
    const first = await connected(gw.port('capped'));
    const second = await connected(gw.port('capped'));
    const capped = gw.gateway.services.find((s) => s.name === 'capped')!;
    await waitFor('two active', () => capped.stats.active === 2);
    const third = connect(gw.port('capped'), '127.0.0.1');
    third.on('error', () => undefined);
    await closedAfter(third, Date.now());
    assert.equal(capped.stats.rejected, 1);
    for (const s of [first, second]) {
      s.write('ping');
      const [echoed] = (await once(s, 'data')) as [Buffer];
      assert.equal(echoed.toString(), 'ping');
    }
    first.destroy();
    await waitFor('one active', () => capped.stats.active === 1);
    const fourth = await connected(gw.port('capped'));
    fourth.write('again');
    const [echoed] = (await once(fourth, 'data')) as [Buffer];
    assert.equal(echoed.toString(), 'again');
    fourth.destroy();
    // An idle relay is closed after idleTimeout.
    const ms = await closedAfter(second, Date.now());
    assert.ok(ms < 2500, `idle relay closed after ${ms} ms`);
    await waitFor('the idle record', () => gw.records.find((r) => r.err === 'idle timeout'));
  });

  test('stopping the gateway closes open relays and pending handshakes at once', async () => {
    const relayed = await connected(gw.port('capped'));
    relayed.write('x');
    await once(relayed, 'data');
    const pending = await connected(gw.port('socks'));
    const started = Date.now();
    await gw.stop();
    await closedAfter(relayed, started);
    await closedAfter(pending, started);
    assert.ok(Date.now() - started < 1000, `stopped after ${Date.now() - started} ms`);
  });
});

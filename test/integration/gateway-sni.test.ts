/**
 * `sni` service: TLS clients routed by their SNI and HTTP clients by their Host header to the
 * forwarder node serving that name (curl --connect-to keeps the name while connecting to the
 * gateway); without a forwarder, the name itself is dialled.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import { connect } from 'node:net';
import { before, describe, test } from 'node:test';
import {
  curl,
  httpUpstream,
  httpsUpstream,
  portOf,
  selfSignedCert,
  startGateway,
  tempDir,
  waitFor,
  type InProcessGateway,
} from '../helpers/gateway-harness.ts';

describe('gateway: sni handler', () => {
  let gw: InProcessGateway;
  let a: HttpServer;
  let b: HttpServer;
  let plain: HttpServer;

  before(async () => {
    const dir = await tempDir('sni');
    a = await httpsUpstream('A', await selfSignedCert(dir, ['a.test']));
    b = await httpsUpstream('B', await selfSignedCert(dir, ['b.test', '*.b.test']));
    plain = await httpUpstream('plain');
    gw = await startGateway(`
services:
  - name: sni
    addr: 127.0.0.1:0
    handler: {type: sni, metadata: {sniffing.timeout: 300ms}}
    forwarder:
      nodes:
        - {name: a-tls, addr: "127.0.0.1:${portOf(a)}", filter: {host: a.test, protocol: tls}}
        - {name: b-tls, addr: "127.0.0.1:${portOf(b)}", filter: {host: .b.test, protocol: tls}}
        - {name: a-http, addr: "127.0.0.1:${portOf(plain)}", filter: {host: a.test, protocol: http}}
  - name: sni-direct
    addr: 127.0.0.1:0
    handler: {type: sni}
`);
  });

  const via = (name: string): string[] => [
    '--connect-to',
    `${name}:443:127.0.0.1:${gw.port('sni')}`,
  ];

  test('TLS: the SNI picks the upstream; one record per connection with tls{}', async () => {
    assert.equal(await curl(['-k', ...via('a.test'), 'https://a.test/one']), 'A /one');
    assert.equal(await curl(['-k', ...via('www.b.test'), 'https://www.b.test/two']), 'B /two');
    const recs = await waitFor('two tls records', () => {
      const r = gw.records.filter((x) => x.proto === 'tls');
      return r.length >= 2 ? r : null;
    });
    assert.deepEqual(
      recs.map((r) => [r.tls!.serverName, r.host, r.node, r.dst]),
      [
        ['a.test', 'a.test:443', 'a-tls', `127.0.0.1:${portOf(a)}`],
        ['www.b.test', 'www.b.test:443', 'b-tls', `127.0.0.1:${portOf(b)}`],
      ],
    );
    for (const r of recs) {
      assert.equal(r.tls!.version, 'tls1.3');
      assert.ok(r.inputBytes > 300 && r.outputBytes > 300);
    }
  });

  test('HTTP: the Host header picks the upstream', async () => {
    const out = await curl(['-H', 'Host: a.test', `http://127.0.0.1:${gw.port('sni')}/h`]);
    assert.equal(out, 'plain GET /h ');
    const rec = await waitFor('the http record', () =>
      gw.records.find((r) => r.http?.uri === '/h'),
    );
    assert.equal(rec.node, 'a-http');
    assert.equal(rec.host, 'a.test:80');
  });

  test('without a forwarder the name is dialled; no name or no node: closed with err', async () => {
    const direct = `http://127.0.0.1:${gw.port('sni-direct')}/d`;
    const out = await curl(['-H', `Host: localhost:${portOf(plain)}`, direct]);
    assert.equal(out, 'plain GET /d ');
    await assert.rejects(curl(['-k', ...via('c.test'), 'https://c.test/']));
    await waitFor('the no-node record', () =>
      gw.records.find(
        (r) => r.err === 'no forwarder node for this target' && r.host === 'c.test:443',
      ),
    );
    // A client that says nothing is closed once the peek times out.
    const s = connect(gw.port('sni'), '127.0.0.1');
    s.on('error', () => undefined);
    const started = Date.now();
    await once(s, 'close');
    assert.ok(Date.now() - started < 2000);
    await waitFor('the silent record', () =>
      gw.records.find((r) => r.err === 'sni: the client sent nothing'),
    );
  });
});

/**
 * `tcp` forwarding to fixed nodes: raw echo, a server that speaks first (the client stays silent:
 * the peek must time out and relay, not hang), half-close, node choice by sniffed host, and the
 * connection records.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import { connect, type Server } from 'node:net';
import { before, describe, test } from 'node:test';
import {
  bannerUpstream,
  curl,
  echoUpstream,
  httpUpstream,
  portOf,
  startGateway,
  waitFor,
  type InProcessGateway,
} from '../helpers/gateway-harness.ts';

describe('gateway: tcp handler', () => {
  let gw: InProcessGateway;
  let echo: Server;
  let banner: Server;
  let a: HttpServer;
  let b: HttpServer;

  before(async () => {
    echo = await echoUpstream();
    banner = await bannerUpstream('220 smtp.test ESMTP ready\r\n');
    a = await httpUpstream('a');
    b = await httpUpstream('b');
    gw = await startGateway(`
services:
  - name: echo
    addr: 127.0.0.1:0
    handler: {type: tcp, metadata: {sniffing: true, sniffing.timeout: 300ms}}
    forwarder: {nodes: [{name: echo-node, addr: "127.0.0.1:${portOf(echo)}"}]}
  - name: smtp
    addr: 127.0.0.1:0
    handler: {type: tcp, metadata: {sniffing: true, sniffing.timeout: 400ms}}
    forwarder: {nodes: [{name: mail, addr: "127.0.0.1:${portOf(banner)}"}]}
  - name: smtp-default
    addr: 127.0.0.1:0
    handler: {type: tcp, metadata: {sniffing: true}}
    forwarder: {nodes: [{name: mail, addr: "127.0.0.1:${portOf(banner)}"}]}
  - name: web
    addr: 127.0.0.1:0
    handler: {type: tcp, metadata: {sniffing: true}}
    forwarder:
      nodes:
        - {name: site-a, addr: "127.0.0.1:${portOf(a)}", host: a.test}
        - {name: site-b, addr: "127.0.0.1:${portOf(b)}", filter: {host: "*.b.test"}}
`);
  });

  test('raw bytes are echoed, half-close passes through, one connection record', async () => {
    const s = connect(gw.port('echo'), '127.0.0.1');
    await once(s, 'connect');
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.write(Buffer.from([0, 1, 2, 3, 250, 251]));
    s.end(Buffer.from('tail'));
    await once(s, 'end');
    assert.deepEqual(
      Buffer.concat(chunks),
      Buffer.from([0, 1, 2, 3, 250, 251, ...Buffer.from('tail')]),
    );
    s.destroy();
    const rec = await waitFor('the connection record', () =>
      gw.records.find((r) => r.service === 'echo'),
    );
    assert.equal(rec.proto, undefined);
    assert.equal(rec.node, 'echo-node');
    assert.equal(rec.inputBytes, 10);
    assert.equal(rec.outputBytes, 10);
    assert.equal(rec.dst, `127.0.0.1:${portOf(echo)}`);
    assert.equal(rec.host, `127.0.0.1:${portOf(echo)}`);
    assert.equal(rec.err, undefined);
  });

  for (const [service, limitMs] of [
    ['smtp', 400],
    ['smtp-default', 2000],
  ] as const) {
    test(`server speaks first (${service}): the banner arrives once the peek times out`, async () => {
      const started = Date.now();
      const s = connect(gw.port(service), '127.0.0.1');
      const [banner] = (await once(s, 'data')) as [Buffer];
      const waited = Date.now() - started;
      assert.equal(banner.toString(), '220 smtp.test ESMTP ready\r\n');
      assert.ok(waited >= limitMs - 50 && waited < limitMs + 1500, `banner after ${waited} ms`);
      s.write('ehlo me\r\n');
      const [answer] = (await once(s, 'data')) as [Buffer];
      assert.equal(answer.toString(), 'EHLO ME\r\n');
      s.destroy();
    });
  }

  test('the sniffed Host picks the node (reverse proxy)', async () => {
    const url = `http://127.0.0.1:${gw.port('web')}/x`;
    assert.equal(await curl(['-H', 'Host: a.test', url]), 'a GET /x ');
    assert.equal(await curl(['-H', 'Host: www.b.test', url]), 'b GET /x ');
    const recs = await waitFor('two records', () => {
      const r = gw.records.filter((x) => x.service === 'web');
      return r.length >= 2 ? r : null;
    });
    assert.deepEqual(
      recs.map((r) => [r.node, r.host, r.http?.statusCode]),
      [
        ['site-a', 'a.test:80', 200],
        ['site-b', 'www.b.test:80', 200],
      ],
    );
    // A name no node serves, and no node without a name: refused, recorded.
    await assert.rejects(curl(['-H', 'Host: c.test', url]));
    const refused = await waitFor('the refusal', () =>
      gw.records.find((r) => r.service === 'web' && r.err !== undefined),
    );
    assert.equal(refused.err, 'no forwarder node for this target');
  });
});

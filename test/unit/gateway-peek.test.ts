/**
 * The peek at a client's first bytes: TLS (a ClientHello from node:tls, also re-framed across two
 * records, gost-compat.md §6 #4), HTTP/1 with its Host, HTTP/2 prior knowledge, SSH, anything else;
 * every input fed whole, byte by byte and at cut points gives the same verdict. Also the
 * forwarded request head of the HTTP proxy.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { before, describe, test } from 'node:test';
import { rewriteHead } from '../../src/gateway/handlers/http-proxy.ts';
import { FirstBytes, type Peek } from '../../src/gateway/peek.ts';

/** The first flight node:tls sends for `servername`. */
async function clientHello(servername: string): Promise<Buffer> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (s) => {
      s.once('data', (d: Buffer) => {
        resolve(d);
        s.destroy();
      });
    });
  });
  const client = tlsConnect({
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    servername,
    ALPNProtocols: ['h2', 'http/1.1'],
    rejectUnauthorized: false,
  });
  client.on('error', () => undefined);
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

/** One handshake record re-framed as two records, split inside the ClientHello. */
function twoRecords(record: Buffer, at: number): Buffer {
  const body = record.subarray(5);
  const header = (n: number): Buffer => Buffer.from([0x16, 0x03, 0x01, n >> 8, n & 0xff]);
  return Buffer.concat([
    header(at),
    body.subarray(0, at),
    header(body.length - at),
    body.subarray(at),
  ]);
}

function peek(chunks: Buffer[]): Peek {
  const fb = new FirstBytes();
  for (const c of chunks) if (fb.push(c) !== null) break;
  return fb.kind === null ? fb.finish('silent') : fb.result();
}

function feeds(bytes: Buffer): [string, Buffer[]][] {
  const out: [string, Buffer[]][] = [
    ['whole', [bytes]],
    ['bytewise', [...bytes].map((b) => Buffer.from([b]))],
  ];
  for (const at of [1, 2, 3, 5, 6, Math.floor(bytes.length / 2), bytes.length - 1]) {
    if (at > 0 && at < bytes.length)
      out.push([`cut at ${at}`, [bytes.subarray(0, at), bytes.subarray(at)]]);
  }
  return out;
}

describe('peek at the first client bytes', () => {
  let hello: Buffer = Buffer.alloc(0);

  before(async () => {
    hello = await clientHello('peek.test');
  });

  test('a ClientHello: tls, SNI, ALPN, in every feeding', () => {
    for (const [name, chunks] of feeds(hello)) {
      const p = peek(chunks);
      assert.equal(p.kind, 'tls', name);
      assert.equal(p.name, 'peek.test', name);
      assert.deepEqual(p.clientHello?.alpn, ['h2', 'http/1.1'], name);
      assert.deepEqual(p.bytes, hello, name);
    }
  });

  test('a ClientHello split over two records is put together', () => {
    for (const at of [1, 4, 40, 100]) {
      const split = twoRecords(hello, at);
      for (const [name, chunks] of feeds(split)) {
        const p = peek(chunks);
        assert.equal(p.kind, 'tls', `${at} ${name}`);
        assert.equal(p.name, 'peek.test', `${at} ${name}`);
        assert.deepEqual(p.bytes, split);
      }
    }
  });

  test('HTTP/1: the Host header, once the head is complete', () => {
    const req = Buffer.from('GET /x HTTP/1.1\r\nHost: Web.Test:8080\r\nAccept: */*\r\n\r\nbody?');
    for (const [name, chunks] of feeds(req)) {
      const p = peek(chunks);
      assert.equal(p.kind, 'http', name);
      assert.equal(p.name, 'Web.Test:8080', name);
    }
    const partial = peek([Buffer.from('GET / HTTP/1.1\r\nHost: a')]);
    assert.equal(partial.kind, 'other');
  });

  test('HTTP/2 prior knowledge, SSH, binary, nothing', () => {
    assert.equal(peek([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')]).kind, 'http2');
    for (const [name, chunks] of feeds(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'))) {
      assert.equal(peek(chunks).kind, 'ssh', name);
    }
    assert.equal(peek([Buffer.from([0x00, 0x01, 0x02])]).kind, 'other');
    assert.equal(peek([Buffer.from('get / HTTP/1.1\r\n\r\n')]).kind, 'other');
    assert.equal(peek([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00])]).kind, 'other');
    assert.equal(new FirstBytes().finish('silent').kind, 'silent');
    assert.equal(new FirstBytes().finish('closed').kind, 'closed');
  });
});

describe('HTTP proxy: the head sent upstream', () => {
  test('origin-form target, proxy headers dropped, everything else as received', () => {
    const raw = Buffer.from(
      '\r\nGET http://u:p@a.test:8080/p?q=1 HTTP/1.1\r\nHost: a.test:8080\r\n' +
        'Proxy-Authorization: Basic YTpi\r\nX-Folded: one\r\n two\r\nproxy-connection: keep-alive\r\n' +
        'Accept: */*\r\n\r\n',
      'latin1',
    );
    assert.equal(
      rewriteHead(raw, '/p?q=1', 'a.test:8080').toString('latin1'),
      'GET /p?q=1 HTTP/1.1\r\nHost: a.test:8080\r\nX-Folded: one\r\n two\r\nAccept: */*\r\n\r\n',
    );
  });

  test('a Host is added when the client sent none', () => {
    const raw = Buffer.from('GET http://b.test/ HTTP/1.0\r\nProxy-Authorization: x\r\n y\r\n\r\n');
    assert.equal(
      rewriteHead(raw, '/', 'b.test:80').toString(),
      'GET / HTTP/1.0\r\nHost: b.test:80\r\n\r\n',
    );
  });
});

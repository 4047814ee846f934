/**
 * MITM through the `http` handler, driven by curl: a gateway CA and an upstream CA made by
 * openssl; HTTPS (HTTP/1.1, h2, no ALPN) decrypted and recorded; an untrusted upstream answered
 * with 502 + `err`; a `mitm.bypass` host passed through untouched; the CA key mode warning on the
 * CLI's stderr.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { Gateway } from '../../src/gateway/gateway.ts';
import { parseGatewayConfig } from '../../src/gateway/gateway-config.ts';
import { prepareTlsInterception } from '../../src/gateway/mitm/tls-interceptor.ts';
import type { GostRecord } from '../../src/record/record-types.ts';
import {
  atEnd,
  curl,
  httpsUpstream,
  run,
  selfSignedCert,
  startGatewayCli,
  tempDir,
  waitFor,
} from '../helpers/gateway-harness.ts';
import { openssl, opensslRootCa, type OpensslCa } from '../helpers/openssl-ca.ts';

interface Upstreams {
  h1: number;
  h2: number;
  bad: number;
}

/** A leaf for localhost / 127.0.0.1 signed by `ca`. */
function signedLeaf(dir: string, ca: OpensslCa): { cert: Buffer; key: Buffer } {
  const key = join(dir, 'upstream.key');
  const csr = join(dir, 'upstream.csr');
  const cert = join(dir, 'upstream.pem');
  const ext = join(dir, 'upstream.ext');
  writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl([
    ...['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', key, '-out', csr, '-subj', '/CN=localhost'],
  ]);
  openssl([
    ...['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial'],
    ...['-days', '1', '-extfile', ext, '-out', cert],
  ]);
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

async function listen(server: {
  listen(port: number, host: string): unknown;
  address(): AddressInfo | string | null;
  once(event: string, fn: () => void): unknown;
}): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server as unknown as NodeJS.EventEmitter, 'listening');
  return (server.address() as AddressInfo).port;
}

function gatewayYaml(gwCa: OpensslCa, upstreamCaFile: string): string {
  return `
services:
  - name: mitm
    addr: 127.0.0.1:0
    handler:
      type: http
      metadata:
        sniffing: true
        sniffing.timeout: 2s
        http.body: true
        mitm.caCertFile: ${gwCa.certFile}
        mitm.caKeyFile: ${gwCa.keyFile}
        mitm.caFile: ${upstreamCaFile}
        mitm.bypass: no-mitm
    listener: {type: tcp}
bypasses:
  - name: no-mitm
    matchers: ["127.0.0.1"]
`;
}

describe('gateway MITM (http CONNECT)', () => {
  let dir = '';
  let gwCa: OpensslCa;
  let upCa: OpensslCa;
  const up: Upstreams = { h1: 0, h2: 0, bad: 0 };
  const records: GostRecord[] = [];
  let gwPort = 0;

  before(async () => {
    dir = await tempDir('mitm');
    gwCa = opensslRootCa(dir, 'gateway-ca', 'rsa-pkcs8');
    upCa = opensslRootCa(dir, 'upstream-ca', 'ec-pkcs8');
    const leaf = signedLeaf(dir, upCa);

    const h1 = createHttpsServer(leaf, (req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        res.setHeader('X-Upstream', 'h1');
        res.end(`h1 ${req.method ?? ''} ${req.url ?? ''} ${Buffer.concat(parts).toString()}`);
      });
    });
    up.h1 = await listen(h1);
    atEnd(() => {
      h1.close();
      h1.closeAllConnections();
    });

    const sessions = new Set<Http2Session>();
    const h2 = createSecureServer({ ...leaf, allowHTTP1: false });
    h2.on('session', (s: Http2Session) => {
      sessions.add(s);
      s.on('close', () => sessions.delete(s));
    });
    h2.on('stream', (stream, headers) => {
      stream.respond({ ':status': 200, 'x-upstream': 'h2' });
      stream.end(`h2 ${String(headers[':method'])} ${String(headers[':path'])}`);
    });
    up.h2 = await listen(h2);
    atEnd(() => {
      for (const s of sessions) s.destroy();
      h2.close();
    });

    const bad = await selfSignedCert(dir, ['localhost']);
    const badServer = await httpsUpstream('bad', bad);
    up.bad = (badServer.address() as AddressInfo).port;

    const config = parseGatewayConfig(gatewayYaml(gwCa, upCa.certFile), 'test.yaml');
    const mitm = await prepareTlsInterception(config);
    assert.deepEqual(mitm.warnings, []);
    const gateway = await Gateway.start(config, {
      sink: { write: (r) => records.push(r) },
      tlsInterceptor: mitm.interceptorFor,
    });
    atEnd(() => gateway.stop(0));
    gwPort = gateway.services[0]!.address.port;
  });

  const proxy = (): string[] => ['-x', `http://127.0.0.1:${String(gwPort)}`];
  const byUri = (uri: string): GostRecord | undefined =>
    records.find((r) => r.http?.uri === uri && r.http.method !== 'CONNECT');

  test('HTTPS over HTTP/1.1: decrypted, answered, recorded with tls{} from the upstream', async () => {
    const url = `https://localhost:${String(up.h1)}/one?x=1`;
    const body = await curl([
      ...proxy(),
      '--cacert',
      gwCa.certFile,
      '--http1.1',
      '-d',
      'ping',
      url,
    ]);
    assert.equal(body, 'h1 POST /one?x=1 ping');
    const r = await waitFor('record of /one', () => byUri('/one?x=1'));
    assert.equal(r.proto, 'tls');
    assert.equal(r.host, `localhost:${String(up.h1)}`);
    assert.equal(r.http?.statusCode, 200);
    assert.equal(r.http.request.body?.toString(), 'ping');
    assert.equal(r.http.response.body?.toString(), 'h1 POST /one?x=1 ping');
    assert.deepEqual(r.http.response.header?.get('X-Upstream'), ['h1']);
    assert.equal(r.tls?.serverName, 'localhost');
    assert.equal(r.tls.alpnSelected, 'http/1.1');
    assert.equal(r.tls.proto, 'http/1.1');
    assert.match(r.tls.version, /^tls1\.[23]$/);
    assert.notEqual(r.tls.cipherSuite, '');
    assert.match(r.tls.certificates[0]?.issuer ?? '', /upstream-ca/);
    assert.equal(r.err ?? '', '');
  });

  test('h2 end to end: the client gets h2, records show the streams', async () => {
    const url = `https://localhost:${String(up.h2)}/two`;
    const out = await curl([
      ...proxy(),
      '--cacert',
      gwCa.certFile,
      '--http2',
      '-w',
      ' %{http_version}',
      url,
    ]);
    assert.equal(out, 'h2 GET /two 2');
    const r = await waitFor('record of /two', () => byUri('/two'));
    assert.equal(r.proto, 'tls');
    assert.equal(r.http?.method, 'GET');
    assert.equal(r.http.statusCode, 200);
    assert.equal(r.http.scheme, 'https');
    assert.match(r.http.proto, /2/);
    assert.equal(r.http.response.body?.toString(), 'h2 GET /two');
    assert.equal(r.tls?.alpnSelected, 'h2');
  });

  test('a client without ALPN is intercepted too (as http/1.1)', async () => {
    const url = `https://localhost:${String(up.h1)}/noalpn`;
    const body = await curl([...proxy(), '--cacert', gwCa.certFile, '--no-alpn', url]);
    assert.equal(body, 'h1 GET /noalpn ');
    const r = await waitFor('record of /noalpn', () => byUri('/noalpn'));
    assert.equal(r.proto, 'tls');
    assert.deepEqual(r.tls?.alpnOffered, []);
    assert.equal(r.tls.alpnSelected, 'http/1.1');
  });

  test('an untrusted upstream certificate: 502 with the reason, record err', async () => {
    const url = `https://localhost:${String(up.bad)}/bad`;
    const out = await curl([...proxy(), '--cacert', gwCa.certFile, '-w', '\n%{http_code}', url]);
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.at(-1), '502');
    assert.match(out, /upstream TLS to localhost: .*(self[- ]signed|certificate)/i);
    const r = await waitFor('record of /bad', () => byUri('/bad'));
    assert.equal(r.http?.statusCode, 502);
    assert.match(r.err ?? '', /mitm: upstream TLS to localhost/);
  });

  test('a mitm.bypass host passes through: curl sees the upstream certificate', async () => {
    const url = `https://127.0.0.1:${String(up.h1)}/bp`;
    const { stdout, stderr } = await run(
      'curl',
      ['-sS', '-v', '-k', '--max-time', '5', ...proxy(), url],
      { timeout: 10_000 },
    );
    assert.equal(stdout, 'h1 GET /bp ');
    assert.match(stderr, /issuer: .*CN=upstream-ca/);
    assert.doesNotMatch(stderr, /issuer: .*CN=gateway-ca/);
    assert.equal(byUri('/bp'), undefined);
  });
});

describe('tapgate gateway CLI with mitm.*', () => {
  test('a CA key readable by others is warned about on stderr; interception works', async () => {
    const dir = await tempDir('mitm-cli');
    const ca = opensslRootCa(dir, 'cli-ca', 'rsa-pkcs8');
    const upDir = await tempDir('mitm-cli-up');
    const upCa = opensslRootCa(upDir, 'cli-upstream-ca', 'ec-pkcs8');
    const leaf = signedLeaf(upDir, upCa);
    const h1 = createHttpsServer(leaf, (req, res) => res.end(`cli ${req.url ?? ''}`));
    const port = await listen(h1);
    atEnd(() => {
      h1.close();
      h1.closeAllConnections();
    });
    const openKey = join(dir, 'open.key');
    copyFileSync(ca.keyFile, openKey);
    chmodSync(openKey, 0o644);
    const yaml = gatewayYaml({ ...ca, keyFile: openKey }, upCa.certFile);
    const gw = await startGatewayCli(dir, yaml, { services: 1 });
    const body = await curl([
      '-x',
      `http://127.0.0.1:${String(gw.ports.get('mitm'))}`,
      '--cacert',
      ca.certFile,
      `https://localhost:${String(port)}/cli`,
    ]);
    assert.equal(body, 'cli /cli');
    const { code, stderr, records } = await gw.stop();
    assert.equal(code, 0);
    assert.match(stderr, /WARNING: .*open\.key: the CA private key is accessible to group\/others/);
    assert.match(stderr, /chmod 600/);
    const r = records.find((x) => x.http?.uri === '/cli');
    assert.equal(r?.proto, 'tls');
    assert.equal(r.tls?.serverName, 'localhost');
  });
});

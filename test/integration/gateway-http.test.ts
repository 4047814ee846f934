/**
 * `tapgate gateway` with an `http` service, driven by curl: absolute-form forwarding over
 * keep-alive, proxy authentication, CONNECT to a local TLS server, bypass; records read back from
 * the JSON-lines file after SIGINT.
 */
import assert from 'node:assert/strict';
import type { Server as HttpServer } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import {
  curl,
  httpUpstream,
  httpsUpstream,
  portOf,
  selfSignedCert,
  startGatewayCli,
  tempDir,
  type JsonRecord,
} from '../helpers/gateway-harness.ts';

const CONFIG = `
services:
  - name: gw-http
    addr: 127.0.0.1:0
    bypass: blocked
    metadata:
      labels: {site: lab}
    handler:
      type: http
      auth: {username: alice, password: "s3cret"}
      metadata:
        sniffing: true
        sniffing.timeout: 1s
    listener: {type: tcp}
  - name: gw-open
    addr: 127.0.0.1:0
    bypass: blocked
    handler: {type: http}
bypasses:
  - name: blocked
    matchers: ["blocked.test", "127.0.0.1:9"]
`;

describe('tapgate gateway: start-up failures', () => {
  test('a bad config exits 2 with one line naming file, line and key; nothing listens', async () => {
    const dir = await tempDir('cli');
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'services:\n  - name: s\n    addr: :0\n    handler:\n      type: htp\n');
    const r = await runCli(['gateway', '-c', file], { timeoutMs: 20_000 });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `tapgate: ${file}:5: services[0].handler.type: handler "htp" is not supported (expected one of: http, socks5, tcp, red, sni)\n`,
    );
  });

  test('an address in use exits 2; -c is required', async () => {
    const busy = await httpUpstream('busy');
    const dir = await tempDir('cli');
    const file = join(dir, 'busy.yaml');
    await writeFile(
      file,
      `services:\n  - {name: s, addr: "127.0.0.1:${portOf(busy)}", handler: {type: http}}\n`,
    );
    const r = await runCli(['gateway', '-c', file], { timeoutMs: 20_000 });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^tapgate: service s: cannot listen on 127\.0\.0\.1:\d+: listen EADDRINUSE/,
    );
    const usage = await runCli(['gateway'], { timeoutMs: 20_000 });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /-c\/--config FILE is required/);
  });
});

describe('gateway: http handler', () => {
  let dir = '';
  let plain: HttpServer;
  let secure: HttpServer;

  before(async () => {
    dir = await tempDir('http');
    plain = await httpUpstream('plain');
    secure = await httpsUpstream('secure', await selfSignedCert(dir, ['localhost']));
  });

  test('forwarding, auth, CONNECT and bypass produce GOST records', async () => {
    const gw = await startGatewayCli(dir, CONFIG, { services: 2 });
    const proxy = `http://127.0.0.1:${gw.ports.get('gw-http')!}`;
    const open = `http://127.0.0.1:${gw.ports.get('gw-open')!}`;
    const up = `http://127.0.0.1:${portOf(plain)}`;

    // Two requests over one keep-alive connection, the second with a body; curl reports the bytes
    // it sent and received for each.
    // (curl's size_request covers the whole request, a -d body included.)
    const sizes = '\n%{size_request} %{size_header} %{size_download}\n';
    const auth = ['-x', proxy, '-U', 'alice:s3cret', '-w', sizes];
    const out = (
      await curl([...auth, `${up}/one?x=1`, '--next', ...auth, '-d', 'hello', `${up}/two`])
    ).split('\n');
    assert.deepEqual([out[0], out[2]], ['plain GET /one?x=1 ', 'plain POST /two hello']);
    const [sent1, sent2] = [out[1]!, out[3]!].map((line) => {
      const [req, head, body] = line.split(' ').map(Number);
      return { in: req!, out: head! + body! };
    });

    // No credentials, wrong credentials: 407 with a challenge.
    const denied = await curl(['-i', '-x', proxy, `${up}/denied`]);
    assert.match(denied, /^HTTP\/1\.1 407 /);
    assert.match(denied, /Proxy-Authenticate: Basic/);
    const wrong = await curl([
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-x',
      proxy,
      '-U',
      'alice:nope',
      `${up}/wrong`,
    ]);
    assert.equal(wrong, '407');

    // CONNECT to a TLS server: pass-through (the gateway resolves the name; curl sends it as SNI).
    const tls = await curl([
      '-k',
      '-p',
      '-x',
      proxy,
      '-U',
      'alice:s3cret',
      `https://localhost:${portOf(secure)}/path`,
    ]);
    assert.equal(tls, 'secure /path');

    // Bypass: 403, nothing dialled.
    const blocked = await curl([
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-x',
      open,
      'http://blocked.test/',
    ]);
    assert.equal(blocked, '403');

    const { code, records, stderr } = await gw.stop();
    assert.equal(code, 0, stderr);
    const byUri = (uri: string): JsonRecord => {
      const r = records.find((x) => x.http?.uri === uri);
      assert.ok(r, `no record for ${uri} in ${JSON.stringify(records, null, 1)}`);
      return r;
    };

    // Absolute-form exchanges: one record each, counters per request (not cumulative).
    const one = byUri(`${up}/one?x=1`);
    const two = byUri(`${up}/two`);
    for (const r of [one, two]) {
      assert.equal(r.service, 'gw-http');
      assert.deepEqual(r.labels, { site: 'lab' });
      assert.equal(r.proto, 'http');
      assert.equal(r.clientID, 'alice');
      assert.equal(r.http!.scheme, 'http');
      assert.equal(r.http!.statusCode, 200);
      assert.equal(r.dst, `127.0.0.1:${portOf(plain)}`);
      assert.equal(r.route, `127.0.0.1:${portOf(plain)}`);
      assert.equal(r.local, `127.0.0.1:${gw.ports.get('gw-http')!}`);
      assert.match(r.remote, /^127\.0\.0\.1:\d+$/);
      assert.match(r.src, /^127\.0\.0\.1:\d+$/);
      assert.match(r.sid, /^[0-9a-v]{20}$/);
      assert.ok(!('Proxy-Authorization' in r.http!.request.header!), 'credentials recorded');
    }
    assert.equal(one.sid, two.sid, 'one connection');
    assert.equal(two.http!.method, 'POST');
    assert.equal(two.http!.request.contentLength, 5);
    // Each record counts its own request and response, exactly what curl sent and received.
    assert.deepEqual({ in: one.inputBytes, out: one.outputBytes }, sent1);
    assert.deepEqual({ in: two.inputBytes, out: two.outputBytes }, sent2);

    const denial = byUri(`${up}/denied`);
    assert.equal(denial.http!.statusCode, 407);
    assert.equal(denial.dst, '');
    assert.equal(denial.err, 'proxy authentication required');
    const wrongRec = byUri(`${up}/wrong`);
    assert.equal(wrongRec.http!.statusCode, 407);
    assert.ok(!('Proxy-Authorization' in wrongRec.http!.request.header!));

    // CONNECT + TLS: one record with both objects and the tunnel's totals.
    const tunnels = records.filter((r) => r.http?.method === 'CONNECT');
    assert.equal(tunnels.length, 1, JSON.stringify(tunnels));
    const t = tunnels[0]!;
    assert.equal(t.proto, 'tls');
    assert.equal(t.http!.statusCode, 200);
    assert.equal(t.http!.uri, `localhost:${portOf(secure)}`);
    assert.equal(t.tls!.serverName, 'localhost');
    assert.equal(t.tls!.version, 'tls1.3');
    assert.match(t.tls!.clientHello, /^160301/);
    assert.equal(t.host, `localhost:${portOf(secure)}`);
    assert.equal(t.dst, `127.0.0.1:${portOf(secure)}`);
    assert.equal(t.clientID, 'alice');
    assert.ok(!('Proxy-Authorization' in t.http!.request.header!));
    assert.ok(t.inputBytes > 500 && t.outputBytes > 500, `${t.inputBytes}/${t.outputBytes}`);
    assert.equal(records.filter((r) => r.proto === 'tls').length, 1);

    const bypassed = records.find((r) => r.service === 'gw-open');
    assert.ok(bypassed);
    assert.equal(bypassed.http!.statusCode, 403);
    assert.equal(bypassed.err, 'bypass: blocked.test:80');
    assert.equal(bypassed.dst, '');
    assert.ok(!JSON.stringify(records).includes('Proxy-Authorization'));
    assert.ok(!JSON.stringify(records).includes('czNjcmV0'), 'password in a record');
  });
});

/**
 * `tapgate capture -r FILE -c cfg.yaml` with file, http and tcp recorders: every sink gets the same
 * records as `--records`, in the same order; config mistakes name their line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { corpusDir, runCli } from '../helpers/cli.ts';

const work = mkdtempSync(join(tmpdir(), 'tapgate-recorders-'));
after(() => {
  rmSync(work, { recursive: true, force: true });
});
const pcap = join(corpusDir, 'captures', 'nd-http-keepalive-37req.pcapng');

test('file, http and tcp recorders get the same records as --records', async () => {
  const posted: string[] = [];
  const contentTypes = new Set<string>();
  const httpServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posted.push(Buffer.concat(chunks).toString());
      contentTypes.add(req.headers['content-type'] ?? '');
      res.end();
    });
  });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  const tcpChunks: Buffer[] = [];
  let tcpConnections = 0;
  const tcpServer = net.createServer((so) => {
    tcpConnections++;
    so.on('data', (c: Buffer) => tcpChunks.push(c));
  });
  await new Promise<void>((r) => tcpServer.listen(0, '127.0.0.1', r));
  const httpPort = (httpServer.address() as net.AddressInfo).port;
  const tcpPort = (tcpServer.address() as net.AddressInfo).port;

  const cfg = join(work, 'cfg.yaml');
  writeFileSync(
    cfg,
    `capture:
  recorders:
    - name: ndjson
      record: recorder.service.handler
    - name: collector
    - name: stream
recorders:
  - name: ndjson
    file:
      path: ${join(work, 'out', 'sink.jsonl')}
      sep: "\\n"
      rotation: {maxSize: 100, maxBackups: 2, compress: true}
  - name: collector
    http: {url: 127.0.0.1:${httpPort}/records, timeout: 2s, header: {X-Sensor: lab-a}}
  - name: stream
    tcp: {addr: "127.0.0.1:${tcpPort}", timeout: 1s}
  - name: unused
    redis: {addr: 127.0.0.1:6379, key: k}
`,
  );
  const jsonl = join(work, 'records.jsonl');
  const r = await runCli(['capture', '-r', pcap, '--no-pcap', '--records', jsonl, '-c', cfg]);
  assert.equal(r.code, 0, r.stderr);
  const expected = readFileSync(jsonl, 'utf8').trimEnd().split('\n');
  assert.ok(expected.length >= 37, `${expected.length} records`);

  const same = (got: string[], what: string): void => {
    assert.equal(got.length, expected.length, what);
    assert.ok(
      got.every((g, i) => g === expected[i]),
      what,
    );
  };
  same(
    readFileSync(join(work, 'out', 'sink.jsonl'), 'utf8')
      .trimEnd()
      .split('\n'),
    'file',
  );
  same(posted, 'http');
  assert.deepEqual([...contentTypes], ['application/json']);
  same(Buffer.concat(tcpChunks).toString().trimEnd().split('\n'), 'tcp');
  assert.equal(tcpConnections, 1);
  const n = expected.length;
  for (const [name, kind] of [
    ['ndjson', 'file'],
    ['collector', 'http'],
    ['stream', 'tcp'],
  ]) {
    assert.match(
      r.stdout + r.stderr,
      new RegExp(`sink +${name} \\(${kind}\\): ${n} delivered, 0 dropped, 0 failed attempts`),
    );
  }

  // Recorders alone (no --records, no pcap output) are an output. Each run draws new sids.
  posted.length = 0;
  const r2 = await runCli(['capture', '-r', pcap, '--no-pcap', '-c', cfg]);
  assert.equal(r2.code, 0, r2.stderr);
  const noSid = (l: string): string => l.replace(/"sid":"[^"]*"/, '');
  assert.deepEqual(posted.map(noSid), expected.map(noSid), 'http alone (new sids)');

  httpServer.closeAllConnections();
  await new Promise((res) => httpServer.close(res));
  await new Promise((res) => tcpServer.close(res));
});

test('recorder config mistakes name their line', async () => {
  const cases: [string, RegExp][] = [
    [
      `capture:\n  recorders:\n    - name: nope\nrecorders:\n  - name: a\n    tcp: {addr: "127.0.0.1:9"}\n`,
      /cfg-0\.yaml:3: capture\.recorders\[0\]\.name: no recorder "nope" under recorders: \(defined: a\)/,
    ],
    [
      `capture:\n  recorders: [{name: a}]\nrecorders:\n  - name: a\n    tcp: {addr: "127.0.0.1:9"}\n    http: {url: x}\n`,
      /cfg-1\.yaml:4: recorders\[0\]: give exactly one of: file, http, tcp, redis/,
    ],
    [
      `capture:\n  recorders: [{name: a}]\nrecorders:\n  - name: a\n    file:\n      path: /tmp/x\n      rotation: {maxSize: big}\n`,
      /cfg-2\.yaml:7: recorders\[0\]\.file\.rotation\.maxSize: "big" is not a number/,
    ],
    [
      `capture:\n  recorders: [{name: a}]\nrecorders:\n  - name: a\n    tcp: {addr: nowhere}\n`,
      /cfg-3\.yaml:5: recorders\[0\]\.tcp\.addr: "nowhere" is not HOST:PORT/,
    ],
    [
      `capture:\n  recorders: [{name: a, record: recorder.service.router.dial.address}]\nrecorders:\n  - name: a\n    tcp: {addr: ":9"}\n`,
      /cfg-4\.yaml:2: capture\.recorders\[0\]\.record: capture produces recorder\.service\.handler/,
    ],
    [
      `capture:\n  recorders: [{name: a}]\nrecorders:\n  - name: a\n    redis: {addr: "127.0.0.1:6379", key: k, type: hash}\n`,
      /cfg-5\.yaml:5: recorders\[0\]\.redis\.type: expected one of: list, set, sset, stream/,
    ],
  ];
  for (const [i, [yaml, re]] of cases.entries()) {
    const cfg = join(work, `cfg-${i}.yaml`);
    writeFileSync(cfg, yaml);
    const r = await runCli(['capture', '-r', pcap, '--no-pcap', '-c', cfg]);
    assert.equal(r.code, 2, `${i}: ${r.stderr}`);
    assert.match(r.stderr, re, `${i}`);
  }
});

test('a file recorder that cannot be opened fails the run at start', async () => {
  const blocker = join(work, 'not-a-dir');
  writeFileSync(blocker, 'x');
  const cfg = join(work, 'cfg-bad-file.yaml');
  writeFileSync(
    cfg,
    `capture:\n  recorders: [{name: f}]\nrecorders:\n  - name: f\n    file: {path: ${join(blocker, 'r.jsonl')}}\n`,
  );
  const r = await runCli(['capture', '-r', pcap, '--no-pcap', '-c', cfg]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /recorder f: cannot open/);
});

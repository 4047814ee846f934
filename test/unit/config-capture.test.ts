import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveCaptureConfig } from '../../src/config/capture-config.ts';
import { parseCaptureConfig } from '../../src/config/capture-config-yaml.ts';
import { parseDuration, parsePercent, parseSize } from '../../src/config/units.ts';
import { parseCutoffClassFlag } from '../../src/cli/capture-command.ts';
import { TapgateError } from '../../src/errors.ts';
import type { CutoffClass } from '../../src/flow/cutoff.ts';

test('sizes and durations', () => {
  assert.equal(parseSize('65536', 'x'), 65536);
  assert.equal(parseSize('64k', 'x'), 65536);
  assert.equal(parseSize('16KiB', 'x'), 16384);
  assert.equal(parseSize('1.5M', 'x'), 1572864);
  assert.equal(parseSize(0, 'x'), 0);
  assert.equal(parseDuration('5m', 'x'), 300);
  assert.equal(parseDuration('500ms', 'x'), 0.5);
  assert.equal(parseDuration('7d', 'x'), 604800);
  assert.throws(() => parseSize('12 parsecs', '--cutoff-bytes'), {
    code: 'TG_ERR_CONFIG',
    message: /--cutoff-bytes: "12 parsecs" is not a size/,
  });
  assert.throws(() => parseDuration('-1s', 'x'), TapgateError);
  assert.equal(parsePercent('20%', 'x'), 0.2);
  assert.equal(parsePercent('0', 'x'), 0);
  assert.equal(parsePercent(12.5, 'x'), 0.125);
  assert.throws(() => parsePercent('120%', '--gzip-min-saving'), {
    code: 'TG_ERR_CONFIG',
    message: /--gzip-min-saving: "120%" is not a percentage/,
  });
});

const full = `
capture:
  read: in.pcap
  output:
    dir: /tmp/out
    compress: true
    rotateInterval: 5m
    rotateSize: 1G
    retainSize: 10G
    retainAge: 7d
  flows:
    maxFlows: 5000
    timeouts: { tcp: 10m, udp: 30s, other: 10s, tcpClosed: 2s }
  cutoff:
    bytes: 32k
    packets: 100
    perDirection: true
    classes:
      - name: dns
        match: { proto: udp, ports: [53] }
        bytes: 0
        packets: 0
      - name: tls
        match: { proto: tcp, ports: [443, 8000-8100] }
        bytes: 16k
      - name: lan
        match: { cidrs: [10.0.0.0/8, 'fd00::/8'] }
`;

test('the capture section maps onto the resolved config', () => {
  const c = resolveCaptureConfig(parseCaptureConfig(full, 'tapgate.yaml'));
  assert.equal(c.input, 'in.pcap');
  assert.equal(c.outDir, '/tmp/out');
  assert.equal(c.compress, true);
  assert.equal(c.rotateIntervalSec, 300);
  assert.equal(c.rotateSizeBytes, 1024 ** 3);
  assert.equal(c.retainAgeSec, 7 * 86400);
  assert.deepEqual(c.flows, {
    maxFlows: 5000,
    tcpTimeoutSec: 600,
    udpTimeoutSec: 30,
    otherTimeoutSec: 10,
    tcpClosedTimeoutSec: 2,
  });
  assert.equal(c.cutoff.bytes, 32768);
  assert.equal(c.cutoff.perDirection, true);
  assert.equal(c.cutoff.classes.length, 3);
  const [dns, tls, lan] = c.cutoff.classes as [CutoffClass, CutoffClass, CutoffClass];
  assert.deepEqual(dns.protocols, [17]);
  assert.equal(dns.bytes, 0);
  assert.deepEqual(tls.ports, [
    { from: 443, to: 443 },
    { from: 8000, to: 8100 },
  ]);
  assert.equal(tls.packets, undefined, 'left out: inherits the default');
  assert.deepEqual(
    lan.cidrs.map((x) => x.text),
    ['10.0.0.0/8', 'fd00::/8'],
  );
});

test('flags override the file; defaults fill the rest', () => {
  const c = resolveCaptureConfig(parseCaptureConfig(full, 'f'), {
    cutoff: { bytes: 1000 },
    compress: false,
  });
  assert.equal(c.cutoff.bytes, 1000);
  assert.equal(c.cutoff.packets, 100);
  assert.equal(c.compress, false);
  const d = resolveCaptureConfig({ input: 'x' });
  assert.equal(d.cutoff.bytes, 65536);
  assert.equal(d.cutoff.packets, 1000);
  assert.equal(d.rotateIntervalSec, 60);
});

test('errors name the file, the line and the key', () => {
  const cases: [string, RegExp][] = [
    ['capture:\n  cutof:\n    bytes: 1\n', /^t\.yaml:2: capture\.cutof: unknown key/],
    ['capture:\n  cutoff:\n    bytes: lots\n', /^t\.yaml:3: capture\.cutoff\.bytes: .*not a size/],
    [
      'capture:\n  output:\n    compress: "yes"\n',
      /^t\.yaml:3: capture\.output\.compress: expected true/,
    ],
    [
      'capture:\n  cutoff:\n    classes:\n      - name: x\n        match: { cidrs: [10.0.0.0/33] }\n',
      /^t\.yaml:5: capture\.cutoff\.classes\[0\]\.match\.cidrs: .*prefix length/,
    ],
    [
      'capture:\n  cutoff:\n    classes:\n      - name: x\n        match: { ports: [70000] }\n',
      /^t\.yaml:5: .*ports: "70000" is not a port/,
    ],
    ['capture:\n  cutoff:\n    classes:\n      - name: x\n', /^t\.yaml:4: .*needs a match/],
    ['capture: [\n', /^t\.yaml:\d+: /],
    ['gateway: {}\n', /^t\.yaml:1: gateway: unknown key/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseCaptureConfig(text, 't.yaml'),
      (e: unknown) => {
        assert.ok(e instanceof TapgateError);
        assert.equal(e.code, 'TG_ERR_CONFIG');
        assert.match(e.message, re);
        return true;
      },
    );
  }
});

test('--cutoff-class flag form', () => {
  const dns = parseCutoffClassFlag('dns:udp+53:0:0');
  assert.deepEqual(
    [dns.protocols, dns.ports, dns.bytes, dns.packets],
    [[17], [{ from: 53, to: 53 }], 0, 0],
  );
  const lan = parseCutoffClassFlag('lan:10.0.0.0/8+tcp:1M');
  assert.equal(lan.cidrs[0]?.text, '10.0.0.0/8');
  assert.equal(lan.bytes, 1048576);
  assert.equal(lan.packets, undefined);
  assert.throws(() => parseCutoffClassFlag('nope'), { code: 'TG_ERR_USAGE' });
  assert.throws(() => parseCutoffClassFlag('x:tcp:1k:lots'), { code: 'TG_ERR_USAGE' });
});

test('live capture settings from YAML, overridden by flags, checked', () => {
  const yaml = `
capture:
  interfaces: [eth0, eth1]
  live:
    engine: pcap
    workers: 3
    snapLen: 9000
    filter: not port 22
    promisc: false
    ringBlockSize: 2M
    ringBlocks: 32
    ringBlockTimeout: 50ms
    pcapBufferSize: 128M
    duration: 1h
`;
  const fromFile = parseCaptureConfig(yaml, 'tapgate.yaml');
  const c = resolveCaptureConfig(fromFile, { live: { workers: 2 } });
  assert.equal(c.input, null);
  assert.deepEqual(c.interfaces, ['eth0', 'eth1']);
  assert.deepEqual(c.live, {
    engine: 'pcap',
    workers: 2,
    snapLen: 9000,
    filter: 'not port 22',
    promisc: false,
    ringBlockSizeBytes: 2 * 1024 * 1024,
    ringBlocks: 32,
    ringBlockTimeoutMs: 50,
    pcapBufferBytes: 128 * 1024 * 1024,
    durationSec: 3600,
  });
  // A single interface may be written as a scalar.
  const one = parseCaptureConfig('capture:\n  interfaces: eth0\n', 'x.yaml');
  assert.deepEqual(resolveCaptureConfig(one).interfaces, ['eth0']);

  assert.throws(() => parseCaptureConfig('capture:\n  live:\n    engine: dpdk\n', 'x.yaml'), {
    code: 'TG_ERR_CONFIG',
    message: /x\.yaml:3: capture\.live\.engine: "dpdk" is not af-packet or pcap/,
  });
  assert.throws(() => parseCaptureConfig('capture:\n  live:\n    ringz: 1\n', 'x.yaml'), {
    code: 'TG_ERR_CONFIG',
    message: /ringz/,
  });
  const bad: [object, RegExp][] = [
    [{ workers: 0 }, /workers/],
    [{ ringBlockSizeBytes: 3000 }, /power of two/],
    [{ ringBlocks: 1 }, /ring blocks/],
    [{ snapLen: 10 }, /snapLen/],
  ];
  for (const [live, re] of bad) {
    assert.throws(() => resolveCaptureConfig({ interfaces: ['eth0'], live }), {
      code: 'TG_ERR_CONFIG',
      message: re,
    });
  }
  assert.throws(() => resolveCaptureConfig({ interfaces: ['eth0'], input: 'x.pcap' }), {
    code: 'TG_ERR_USAGE',
    message: /not both/,
  });
  assert.throws(() => resolveCaptureConfig({}), { code: 'TG_ERR_USAGE', message: /-i INTERFACE/ });
});

test('records and sniffing settings from YAML, GOST rules for the body size', () => {
  const patch = parseCaptureConfig(
    `
capture:
  read: in.pcap
  records: /var/log/tapgate/records.jsonl
  sniffing:
    http.body: true
    http.maxBodySize: 16M
    websocket: false
    websocket.sampleRate: -1
    dnsPorts: [53, 5353, 8053]
    reassemblyMemory: 64M
    reassemblyBufferPerSide: 128k
`,
    'tapgate.yaml',
  );
  const c = resolveCaptureConfig(patch);
  assert.equal(c.recordsPath, '/var/log/tapgate/records.jsonl');
  assert.deepEqual(c.sniff, {
    httpBody: true,
    httpMaxBodySize: 1024 * 1024, // capped at 1 MiB, as GOST caps it
    websocketFrames: false,
    websocketSampleRate: -1,
    dnsPorts: [53, 5353, 8053],
    reassemblyMemoryBytes: 64 * 1024 * 1024,
    reassemblyPerSideBytes: 128 * 1024,
  });
  // 0 means GOST's default, 64 KiB; without records nothing is set.
  const d = resolveCaptureConfig({ input: 'x.pcap', sniff: { httpMaxBodySize: 0 } });
  assert.equal(d.sniff.httpMaxBodySize, 64 * 1024);
  assert.equal(d.recordsPath, null);
  assert.throws(
    () => parseCaptureConfig('capture:\n  sniffing:\n    http.bodies: true\n', 'f.yaml'),
    { code: 'TG_ERR_CONFIG', message: /f\.yaml:3.*http\.bodies/ },
  );
  assert.throws(
    () => parseCaptureConfig('capture:\n  sniffing:\n    websocket.sampleRate: lots\n', 'f.yaml'),
    { code: 'TG_ERR_CONFIG', message: /lots/ },
  );
  assert.throws(() => parseCaptureConfig('capture:\n  sniffing:\n    dnsPorts: [99999]\n', 'f'), {
    code: 'TG_ERR_CONFIG',
    message: /99999.*not a port/,
  });
  assert.throws(
    () => resolveCaptureConfig({ input: 'x', sniff: { reassemblyPerSideBytes: 100 } }),
    { code: 'TG_ERR_CONFIG', message: /reassemblyBufferPerSide/ },
  );
});

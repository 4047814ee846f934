/**
 * The gateway's YAML (GOST v3 shape, gost-compat.md §5.3/§5.4): what a valid file gives, GOST's
 * metadata typing (§2.1), and the errors a bad file gets at start-up, each naming key and line.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  gatewayDefaults,
  parseGatewayConfig,
  parseHostPort,
  type GatewayConfig,
} from '../../src/gateway/gateway-config.ts';
import { parseGoDurationMs } from '../../src/gateway/gost-metadata.ts';
import { sniffConfigFor } from '../../src/gateway/service.ts';

/** gost-compat.md §5.4 without the `dns` service, which tapgate does not implement. */
const EXAMPLE = `services:
  - name: edge-proxy
    addr: :3128
    bypass: blocked
    metadata:
      labels: {site: lab-a, role: egress}
    recorders:
      - name: to-collector
        record: recorder.service.handler
        metadata: {http.body: true, http.maxBodySize: 32768}
      - name: failed-dials
        record: recorder.service.router.dial.address.error
    handler:
      type: http
      metadata:
        sniffing: true
        sniffing.timeout: 2s
        sniffing.websocket: true
        sniffing.websocket.sampleRate: 5
        readTimeout: 60s
        mitm.certFile: /etc/tapgate/ca.pem
        mitm.keyFile: /etc/tapgate/ca.key
        mitm.bypass: intercept-only
    listener: {type: tcp}
  - name: lan-transparent
    addr: :15001
    recorders: [{name: to-collector, record: recorder.service.handler}]
    handler:
      type: red
      metadata: {sniffing: true, sniffing.timeout: 2s, sniffing.fallback: true}
    listener: {type: red}
recorders:
  - name: to-collector
    http: {url: http://127.0.0.1:8000, timeout: 2s, header: {X-Sensor: lab-a}}
  - name: failed-dials
    redis: {addr: 127.0.0.1:6379, db: 2, key: "tapgate:dial-errors", type: sset}
bypasses:
  - name: intercept-only
    whitelist: true
    matchers: [.corp.example, "api.example.net:443"]
  - name: blocked
    matchers: [169.254.0.0/16, 10.9.0.1-10.9.0.50, "*.tracker.example", "example.org:25"]
`;

function parse(text: string): GatewayConfig {
  return parseGatewayConfig(text, 'gw.yaml');
}

/** The error message for `text`. */
function errorOf(text: string): string {
  try {
    parse(text);
  } catch (e) {
    assert.equal((e as { code?: string }).code, 'TG_ERR_CONFIG');
    return (e as Error).message;
  }
  assert.fail('no error');
}

describe('gateway config: a valid GOST file', () => {
  const cfg = parse(EXAMPLE);

  test('services, handlers, listeners, labels, bypass names', () => {
    assert.equal(cfg.services.length, 2);
    const [edge, lan] = cfg.services as [
      GatewayConfig['services'][0],
      GatewayConfig['services'][0],
    ];
    assert.deepEqual(edge.addr, { host: '127.0.0.1', port: 3128, text: ':3128' });
    assert.equal(edge.handler.type, 'http');
    assert.deepEqual(
      [...edge.labels],
      [
        ['site', 'lab-a'],
        ['role', 'egress'],
      ],
    );
    assert.deepEqual(edge.bypass, ['blocked']);
    assert.equal(edge.listener.type, 'tcp');
    assert.equal(edge.listener.maxConnections, gatewayDefaults.maxConnections);
    assert.equal(lan.handler.type, 'red');
    assert.equal(lan.listener.type, 'red');
    assert.equal(lan.handler.sniffing.fallback, true);
  });

  test('handler metadata: sniffing, timeouts, mitm settings kept for the interception layer', () => {
    const h = cfg.services[0]!.handler;
    assert.deepEqual(h.sniffing, {
      enabled: true,
      timeoutMs: 2000,
      websocket: true,
      websocketSampleRate: 5,
      fallback: false,
      dialOriginalDst: false,
    });
    assert.equal(h.readTimeoutMs, 60_000);
    assert.equal(h.handshakeTimeoutMs, gatewayDefaults.handshakeTimeoutMs);
    assert.equal(h.idleTimeoutMs, gatewayDefaults.idleTimeoutMs);
    assert.deepEqual(h.mitm, {
      certFile: '/etc/tapgate/ca.pem',
      keyFile: '/etc/tapgate/ca.key',
      alpn: '',
      bypass: 'intercept-only',
      caFile: '',
      insecure: false,
    });
  });

  test('recorder entries are kept; body capture comes from the handler-record entry', () => {
    const s = cfg.services[0]!;
    assert.deepEqual(
      s.recorders.map((r) => [r.name, r.record]),
      [
        ['to-collector', 'recorder.service.handler'],
        ['failed-dials', 'recorder.service.router.dial.address.error'],
      ],
    );
    const sniff = sniffConfigFor(s);
    assert.equal(sniff.httpBody, true);
    assert.equal(sniff.httpMaxBodySize, 32768);
    assert.equal(sniff.websocketFrames, true);
    assert.equal(sniff.websocketSampleRate, 5);
    assert.equal(sniffConfigFor(cfg.services[1]!).httpBody, false);
  });

  test('bypasses', () => {
    assert.deepEqual(cfg.bypasses, [
      {
        name: 'intercept-only',
        whitelist: true,
        network: '',
        matchers: ['.corp.example', 'api.example.net:443'],
      },
      {
        name: 'blocked',
        whitelist: false,
        network: '',
        matchers: ['169.254.0.0/16', '10.9.0.1-10.9.0.50', '*.tracker.example', 'example.org:25'],
      },
    ]);
  });

  test('the full §5.4 example names the dns handler it cannot run, with its line', () => {
    const full = EXAMPLE.replace(
      'recorders:\n  - name: to-collector\n    http',
      `  - name: resolver
    addr: :5353
    handler: {type: dns}
    listener: {type: dns, metadata: {mode: udp}}
recorders:\n  - name: to-collector\n    http`,
    );
    const line = full.split('\n').indexOf('    handler: {type: dns}') + 1;
    assert.match(
      errorOf(full),
      new RegExp(
        `^gw\\.yaml:${line}: services\\[2\\]\\.handler\\.type: handler "dns" is not supported`,
      ),
    );
  });
});

describe('gateway config: GOST typing and defaults', () => {
  const svc = (handler: string, extra = ''): string =>
    `services:\n  - name: s\n    addr: 127.0.0.1:0\n    handler: ${handler}\n${extra}`;

  test('keys are not case-sensitive; aliases (socks, redir, reverse)', () => {
    const cfg = parse(`SERVICES:
  - NAME: s
    Addr: "[::1]:1080"
    Handler: {TYPE: socks, Metadata: {SNIFFING: "true", Sniffing.Timeout: 3}}
  - name: t
    addr: 0.0.0.0:0
    handler: {type: redir}
Bypasses:
  - {name: b, Reverse: true, matchers: [a]}
`);
    const s = cfg.services[0]!;
    assert.equal(s.handler.type, 'socks5');
    assert.deepEqual(s.addr, { host: '::1', port: 1080, text: '[::1]:1080' });
    assert.equal(s.handler.sniffing.enabled, true);
    assert.equal(s.handler.sniffing.timeoutMs, 3000);
    assert.equal(cfg.services[1]!.handler.type, 'red');
    assert.equal(cfg.services[1]!.addr.host, '0.0.0.0');
    assert.equal(cfg.bypasses[0]!.whitelist, true);
  });

  test('durations: an int is seconds, a string a Go duration, a bare number string seconds; 0 disables', () => {
    const cfg = parse(
      svc(
        '{type: http, metadata: {readTimeout: 90, idleTimeout: "1m30s", handshakeTimeout: "2", dialTimeout: 0}}',
      ),
    );
    const h = cfg.services[0]!.handler;
    assert.equal(h.readTimeoutMs, 90_000);
    assert.equal(h.idleTimeoutMs, 90_000);
    assert.equal(h.handshakeTimeoutMs, 2000);
    assert.equal(h.dialTimeoutMs, 0);
    assert.equal(parseGoDurationMs('1h2m3.5s'), 3_723_500);
    assert.equal(parseGoDurationMs('250ms'), 250);
    assert.equal(parseGoDurationMs('1.5us'), 0.0015);
    assert.equal(parseGoDurationMs('-2s'), -2000);
    assert.equal(parseGoDurationMs('0'), 0);
    assert.equal(parseGoDurationMs('2 s'), null);
    assert.equal(parseGoDurationMs('1d'), null);
    assert.equal(parseGoDurationMs('s'), null);
  });

  test('bools: non-zero ints and strconv.ParseBool strings; ints: integral floats accepted', () => {
    const cfg = parse(
      svc(
        '{type: http, metadata: {sniffing: 1, sniffing.websocket: "T", http.body: "1", http.maxBodySize: 65536.0}}',
      ),
    );
    const h = cfg.services[0]!.handler;
    assert.equal(h.sniffing.enabled, true);
    assert.equal(h.sniffing.websocket, true);
    assert.equal(h.httpBody, true);
    assert.equal(h.httpMaxBodySize, 65536);
    const capped = parse(svc('{type: http, metadata: {http.maxBodySize: 99999999}}'));
    assert.equal(capped.services[0]!.handler.httpMaxBodySize, 1024 * 1024);
  });

  test('defaults: no sniffing, the documented timeouts; sni always sniffs; the peek always has a deadline', () => {
    const h = parse(svc('{type: http}')).services[0]!.handler;
    assert.equal(h.sniffing.enabled, false);
    assert.equal(h.sniffing.timeoutMs, gatewayDefaults.sniffingTimeoutMs);
    assert.equal(h.sniffing.websocketSampleRate, 10);
    const sni = parse(svc('{type: sni, metadata: {sniffing.timeout: 0}}')).services[0]!.handler;
    assert.equal(sni.sniffing.enabled, true);
    assert.equal(sni.sniffing.timeoutMs, gatewayDefaults.sniffingTimeoutMs);
  });

  test('auth and named authers', () => {
    const cfg = parse(`services:
  - name: s
    addr: :0
    handler: {type: socks5, auth: {username: a, password: x}, auther: team}
authers:
  - name: team
    auths: [{username: b, password: y}, {username: c, password: z}]
`);
    assert.deepEqual(
      cfg.services[0]!.handler.users.map((u) => u.username),
      ['a', 'b', 'c'],
    );
  });

  test('forwarder nodes: host / filter.host, protocol', () => {
    const cfg = parse(`services:
  - name: s
    addr: :0
    handler: {type: tcp}
    forwarder:
      nodes:
        - {name: a, addr: "10.0.0.1:80", host: A.test}
        - {name: b, addr: ":8080", filter: {host: .b.test, protocol: TLS}}
`);
    assert.deepEqual(
      cfg.services[0]!.forwarder.map((n) => [n.name, n.addr.host, n.addr.port, n.host, n.protocol]),
      [
        ['a', '10.0.0.1', 80, 'a.test', ''],
        ['b', '127.0.0.1', 8080, '.b.test', 'tls'],
      ],
    );
  });

  test('an empty file and empty values', () => {
    assert.deepEqual(parse(''), { services: [], bypasses: [] });
    const cfg = parse(
      'services:\n  - name: s\n    addr: :0\n    handler: {type: http}\n    metadata:\n',
    );
    assert.equal(cfg.services[0]!.labels.size, 0);
  });

  test("other readers' sections of a shared tapgate.yaml are skipped", () => {
    const cfg = parse(`capture:
  interfaces: [eth1]
metrics: {listen: 127.0.0.1:9464}
log: {level: info}
recorders: [{name: r, file: {path: /tmp/x}}]
services: [{name: s, addr: ":0", handler: {type: http}}]
`);
    assert.deepEqual(
      cfg.services.map((x) => x.name),
      ['s'],
    );
  });

  test('host:port forms', () => {
    assert.deepEqual(parseHostPort(':80', '127.0.0.1'), {
      host: '127.0.0.1',
      port: 80,
      text: ':80',
    });
    assert.deepEqual(parseHostPort('example.test:443', 'x'), {
      host: 'example.test',
      port: 443,
      text: 'example.test:443',
    });
    for (const bad of ['80', 'host', 'host:', 'host:99999', '[::1:80', '[1.2.3.4]:80', 'a:b:80']) {
      assert.throws(() => parseHostPort(bad, 'x'), { code: 'TG_ERR_CONFIG' }, bad);
    }
  });
});

describe('gateway config: errors name the key and the line', () => {
  const cases: [string, string, RegExp][] = [
    [
      'unknown service key',
      'services:\n  - name: s\n    adr: :80\n    handler: {type: http}\n',
      /^gw\.yaml:3: services\[0\]\.adr: unknown key \(expected one of: name, addr,/,
    ],
    [
      'misspelt metadata key',
      'services:\n  - name: s\n    addr: :80\n    handler:\n      type: http\n      metadata:\n        sniffing.timout: 2s\n',
      /^gw\.yaml:7: services\[0\]\.handler\.metadata\.sniffing\.timout: unknown key/,
    ],
    [
      'wrong type',
      'services:\n  - name: s\n    addr: :80\n    handler:\n      type: http\n      metadata: {sniffing: maybe}\n',
      /^gw\.yaml:6: services\[0\]\.handler\.metadata\.sniffing: "maybe" is not true or false/,
    ],
    [
      'bad duration',
      'services:\n  - name: s\n    addr: :80\n    handler:\n      type: http\n      metadata:\n        readTimeout: soon\n',
      /^gw\.yaml:7: services\[0\]\.handler\.metadata\.readTimeout: "soon" is not a duration/,
    ],
    [
      'negative duration',
      'services:\n  - name: s\n    addr: :80\n    handler: {type: http, metadata: {idleTimeout: -1s}}\n',
      /^gw\.yaml:4: services\[0\]\.handler\.metadata\.idleTimeout: must not be negative/,
    ],
    [
      'bad addr',
      'services:\n  - name: s\n    addr: localhost\n    handler: {type: http}\n',
      /^gw\.yaml:3: services\[0\]\.addr: "localhost" is not host:port/,
    ],
    [
      'port out of range',
      'services:\n  - name: s\n    addr: ":70000"\n    handler: {type: http}\n',
      /^gw\.yaml:3: services\[0\]\.addr:/,
    ],
    [
      'missing addr',
      'services:\n  - name: s\n    handler: {type: http}\n',
      /^gw\.yaml(:\d+)?: services\[0\]\.addr: required/,
    ],
    [
      'tcp without nodes',
      'services:\n  - name: s\n    addr: :80\n    handler: {type: tcp}\n',
      /^gw\.yaml:4: services\[0\]\.handler: a tcp handler needs forwarder\.nodes/,
    ],
    [
      'tcp with empty nodes',
      'services:\n  - name: s\n    addr: :80\n    handler: {type: tcp}\n    forwarder: {nodes: []}\n',
      /^gw\.yaml:5: services\[0\]\.forwarder: a tcp handler needs forwarder\.nodes/,
    ],
    [
      'node without a port',
      'services:\n  - name: s\n    addr: :80\n    handler: {type: tcp}\n    forwarder:\n      nodes:\n        - addr: example.test\n',
      /^gw\.yaml:7: services\[0\]\.forwarder\.nodes\[0\]\.addr: "example\.test" is not host:port/,
    ],
    [
      'unknown handler',
      'services:\n  - name: s\n    addr: :80\n    handler: {type: relay}\n',
      /^gw\.yaml:4: services\[0\]\.handler\.type: handler "relay" is not supported \(expected one of: http, socks5, tcp, red, sni\)/,
    ],
    [
      'unknown listener',
      'services:\n  - name: s\n    addr: :80\n    handler: {type: http}\n    listener: {type: kcp}\n',
      /^gw\.yaml:5: services\[0\]\.listener\.type: listener "kcp" is not supported/,
    ],
    [
      'unknown bypass name',
      'services:\n  - name: s\n    addr: :80\n    bypass: nope\n    handler: {type: http}\n',
      /^gw\.yaml:4: services\[0\]\.bypass: no bypasses\[\] entry is named "nope"/,
    ],
    [
      'duplicate service name',
      'services:\n  - {name: s, addr: ":80", handler: {type: http}}\n  - {name: s, addr: ":81", handler: {type: http}}\n',
      /^gw\.yaml:3: services\[1\]\.name: "s" is used twice/,
    ],
    [
      'key set twice in two spellings',
      'services:\n  - name: s\n    addr: :80\n    Addr: :81\n    handler: {type: http}\n',
      /^gw\.yaml:4: services\[0\]\.Addr: set twice/,
    ],
    [
      'chains are not supported',
      'services:\n  - name: s\n    addr: :80\n    handler: {type: http, chain: c}\n',
      /^gw\.yaml:4: services\[0\]\.handler\.chain: not supported by tapgate/,
    ],
    ['top-level chains', 'chains:\n  - name: c\n', /^gw\.yaml:1: chains: not supported by tapgate/],
    [
      'auth on a tcp handler',
      'services:\n  - name: s\n    addr: :80\n    handler: {type: tcp, auth: {username: a, password: b}}\n    forwarder: {nodes: [{addr: "1.2.3.4:80"}]}\n',
      /^gw\.yaml:4: services\[0\]\.handler\.auth: a tcp handler does not authenticate/,
    ],
    [
      'mitm without a key file',
      'services:\n  - name: s\n    addr: :80\n    handler: {type: http, metadata: {mitm.certFile: ca.pem}}\n',
      /^gw\.yaml:\d+: services\[0\]\.handler\.metadata\.mitm\.keyFile: required/,
    ],
    [
      'bypass network',
      'bypasses:\n  - name: b\n    network: icmp\n',
      /^gw\.yaml:3: bypasses\[0\]\.network: expected tcp or udp/,
    ],
    ['services not a list', 'services: {name: s}\n', /^gw\.yaml:1: services: expected a list/],
    ['YAML syntax', 'services:\n  - name: [\n', /^gw\.yaml:\d+: /],
  ];
  for (const [name, text, re] of cases) {
    test(name, () => {
      assert.match(errorOf(text), re);
    });
  }
});

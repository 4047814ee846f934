/**
 * The record serializer against Go `encoding/json` output written by hand from Go's rules
 * (gost-compat.md §1.2), including the three example lines of gost-compat.md §1.8.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Timestamp } from '../../src/sniff/sniffer.ts';
import type {
  DnsRecord,
  FlowExtension,
  GostRecord,
  HeaderMap,
  TlsRecord,
} from '../../src/record/record-types.ts';
import {
  compareUtf8,
  quoteJsonString,
  serializeRecord,
  sortEntries,
} from '../../src/record/gost-json.ts';
import { rng } from '../helpers/random.ts';

/** The §1.8 examples are in +01:00. */
const PLUS_ONE = { offsetMinutes: 60 };

/** A timestamp from an RFC 3339 time without fraction, plus nanoseconds. */
function at(iso: string, nsec: number): Timestamp {
  return { sec: Date.parse(iso) / 1000, nsec };
}

function headers(...entries: [string, ...string[]][]): HeaderMap {
  return new Map(entries.map(([k, ...v]) => [k, v]));
}

/** Client (remote) 10.1.2.3, local 10.1.0.1:8080, service gw-http, as in the §1.8 examples. */
function gwRecord(
  fields: Partial<GostRecord> & Pick<GostRecord, 'sid' | 'duration' | 'time'>,
): GostRecord {
  return {
    service: 'gw-http',
    network: 'tcp',
    remote: '',
    local: '10.1.0.1:8080',
    client: '',
    src: '',
    dst: '',
    host: '',
    clientIP: '10.1.2.3',
    inputBytes: 0,
    outputBytes: 0,
    ...fields,
  };
}

function emptyTlsExtensions(): Omit<
  TlsRecord,
  | 'serverName'
  | 'cipherSuite'
  | 'compressionMethod'
  | 'proto'
  | 'version'
  | 'clientHello'
  | 'serverHello'
> {
  return {
    clientVersions: [],
    clientCiphers: [],
    alpnOffered: [],
    alpnSelected: '',
    clientExtensions: [],
    ja3: '',
    ja3Hash: '',
    ja3s: '',
    ja3sHash: '',
    ja4: '',
    certificates: [],
  };
}

test('gost-compat §1.8 line 1: HTTP POST with bodies', () => {
  const rec = gwRecord({
    remote: '10.1.2.3:51514',
    src: '10.1.0.1:40322',
    dst: '192.0.2.80:80',
    host: 'api.example.net:80',
    proto: 'http',
    http: {
      host: 'api.example.net',
      method: 'POST',
      proto: 'HTTP/1.1',
      scheme: '',
      uri: '/v1/items?x=1',
      cached: false,
      statusCode: 201,
      request: {
        contentLength: 7,
        // Arrival order; the serializer sorts.
        header: headers(
          ['Content-Type', 'application/json'],
          ['Accept', '*/*'],
          ['Content-Length', '7'],
        ),
        body: Buffer.from('{"q":1}'),
      },
      response: {
        contentLength: 7,
        header: headers(['Content-Length', '7']),
        body: Buffer.from('created'),
      },
    },
    route: 'api.example.net:80',
    inputBytes: 171,
    outputBytes: 45,
    sid: 'd0m3k2l8q1v5s7n2p4c0',
    duration: 18233402,
    time: at('2026-03-04T10:15:02+01:00', 512093117),
  });
  assert.equal(
    serializeRecord(rec, PLUS_ONE),
    String.raw`{"service":"gw-http","network":"tcp","remote":"10.1.2.3:51514","local":"10.1.0.1:8080","client":"","src":"10.1.0.1:40322","dst":"192.0.2.80:80","host":"api.example.net:80","proto":"http","clientIP":"10.1.2.3","http":{"host":"api.example.net","method":"POST","proto":"HTTP/1.1","scheme":"","uri":"/v1/items?x=1","cached":false,"statusCode":201,"request":{"contentLength":7,"header":{"Accept":["*/*"],"Content-Length":["7"],"Content-Type":["application/json"]},"body":"eyJxIjoxfQ=="},"response":{"contentLength":7,"header":{"Content-Length":["7"]},"body":"Y3JlYXRlZA=="}},"route":"api.example.net:80","inputBytes":171,"outputBytes":45,"sid":"d0m3k2l8q1v5s7n2p4c0","duration":18233402,"time":"2026-03-04T10:15:02.512093117+01:00"}`,
  );
});

test('gost-compat §1.8 line 2: CONNECT + TLS (empty extension keys stay out)', () => {
  const rec = gwRecord({
    remote: '10.1.2.3:51600',
    src: '10.1.0.1:40390',
    dst: '192.0.2.80:443',
    host: 'www.example.net:443',
    proto: 'tls',
    http: {
      host: 'www.example.net:443',
      method: 'CONNECT',
      proto: 'HTTP/1.1',
      scheme: '',
      uri: 'www.example.net:443',
      cached: false,
      statusCode: 200,
      request: { contentLength: 0, header: headers(['User-Agent', 'curl/7.88.1']), body: null },
      response: { contentLength: 0, header: headers(['Proxy-Agent', 'gost/3.0']), body: null },
    },
    tls: {
      serverName: 'www.example.net',
      cipherSuite: 'TLS_AES_128_GCM_SHA256',
      compressionMethod: 0,
      proto: 'h2',
      version: 'tls1.3',
      clientHello: '160301…',
      serverHello: '160303…',
      ...emptyTlsExtensions(),
    },
    route: 'www.example.net:443',
    inputBytes: 2312,
    outputBytes: 5120,
    sid: 'd0m3k2l8q1v5s7n2p4d0',
    duration: 903114550,
    time: at('2026-03-04T10:15:04+01:00', 100_000_000),
  });
  assert.equal(
    serializeRecord(rec, PLUS_ONE),
    String.raw`{"service":"gw-http","network":"tcp","remote":"10.1.2.3:51600","local":"10.1.0.1:8080","client":"","src":"10.1.0.1:40390","dst":"192.0.2.80:443","host":"www.example.net:443","proto":"tls","clientIP":"10.1.2.3","http":{"host":"www.example.net:443","method":"CONNECT","proto":"HTTP/1.1","scheme":"","uri":"www.example.net:443","cached":false,"statusCode":200,"request":{"contentLength":0,"header":{"User-Agent":["curl/7.88.1"]},"body":null},"response":{"contentLength":0,"header":{"Proxy-Agent":["gost/3.0"]},"body":null}},"tls":{"serverName":"www.example.net","cipherSuite":"TLS_AES_128_GCM_SHA256","compressionMethod":0,"proto":"h2","version":"tls1.3","clientHello":"160301…","serverHello":"160303…"},"route":"www.example.net:443","inputBytes":2312,"outputBytes":5120,"sid":"d0m3k2l8q1v5s7n2p4d0","duration":903114550,"time":"2026-03-04T10:15:04.1+01:00"}`,
  );
});

test('gost-compat §1.8 line 3: masked client WebSocket text frame', () => {
  const mask = [0x11, 0x22, 0x33, 0x44];
  const payload = Buffer.from(Buffer.from('ping').map((b, i) => b ^ mask[i % 4]!));
  const rec = gwRecord({
    remote: '10.1.2.3:51702',
    src: '10.1.0.1:40411',
    dst: '192.0.2.81:80',
    host: 'ws.example.net:80',
    proto: 'http',
    websocket: {
      from: 'client',
      fin: true,
      rsv1: false,
      rsv2: false,
      rsv3: false,
      opcode: 1,
      masked: true,
      maskKey: Buffer.from(mask).readUInt32LE(0),
      length: 4,
      payload,
    },
    route: 'ws.example.net:80',
    inputBytes: 10,
    outputBytes: 0,
    sid: 'd0m3k2l8q1v5s7n2p4e0',
    duration: 2500193,
    time: at('2026-03-04T10:15:06+01:00', 731_000),
  });
  assert.equal(
    serializeRecord(rec, PLUS_ONE),
    String.raw`{"service":"gw-http","network":"tcp","remote":"10.1.2.3:51702","local":"10.1.0.1:8080","client":"","src":"10.1.0.1:40411","dst":"192.0.2.81:80","host":"ws.example.net:80","proto":"http","clientIP":"10.1.2.3","websocket":{"from":"client","fin":true,"rsv1":false,"rsv2":false,"rsv3":false,"opcode":1,"masked":true,"maskKey":1144201745,"length":4,"payload":"YUtdIw=="},"route":"ws.example.net:80","inputBytes":10,"outputBytes":0,"sid":"d0m3k2l8q1v5s7n2p4e0","duration":2500193,"time":"2026-03-04T10:15:06.000731+01:00"}`,
  );
});

const T = at('2026-03-04T09:15:06Z', 0);

function flowExt(): FlowExtension {
  return {
    communityId: '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
    clientPackets: 6,
    clientBytes: 120,
    serverPackets: 5,
    serverBytes: 3000,
    firstSeen: at('2026-03-04T09:15:05Z', 250_000_000),
    lastSeen: at('2026-03-04T09:15:07Z', 0),
    midstream: false,
    gaps: 1,
    gapBytes: 1448,
    cutoff: true,
    pcap: ['tap-20260304T0915.pcap.gz', 'tap-20260304T0916.pcap.gz'],
  };
}

test('every optional key, tapgate extensions and the flow object, in declaration order', () => {
  const rec: GostRecord = {
    node: 'edge-1',
    service: 'sensor',
    labels: new Map([
      ['site', 'lab-a'],
      ['role', 'egress'],
    ]),
    network: 'tcp',
    remote: '10.0.0.5:50000',
    local: '192.0.2.7:443',
    client: '',
    src: '',
    dst: '192.0.2.7:443',
    host: 'example.com:443',
    proto: 'tls',
    clientIP: '10.0.0.5',
    clientID: 'alice',
    tls: {
      serverName: 'example.com',
      cipherSuite: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      compressionMethod: 0,
      proto: 'http/1.1',
      version: 'tls1.2',
      clientHello: '1603010005',
      serverHello: '',
      clientVersions: ['tls1.2', 'tls1.1'],
      clientCiphers: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
      alpnOffered: ['h2', 'http/1.1'],
      alpnSelected: 'http/1.1',
      clientExtensions: [0, 10, 2570],
      ja3: '771,49199,0-10,29,0',
      ja3Hash: 'e7d705a3286e19ea42f587b344ee6865',
      ja3s: '',
      ja3sHash: '',
      ja4: 't12d0102h2_aaaa_bbbb',
      certificates: [
        {
          subject: 'CN=example.com',
          issuer: 'CN=Test CA,O=R&D <lab>',
          sans: ['example.com', '192.0.2.7'],
          notBefore: '2026-01-01T00:00:00Z',
          notAfter: '2027-01-01T00:00:00Z',
          serial: '0a1b',
          sha256: 'ab'.repeat(32),
        },
      ],
    },
    route: 'example.com:443',
    inputBytes: 517,
    outputBytes: 4000,
    redirect: 'node-7',
    err: 'EOF',
    sid: 'd6g0m0o0000000000000',
    duration: 2n ** 62n + 5n,
    time: T,
    flow: flowExt(),
  };
  const want =
    String.raw`{"node":"edge-1","service":"sensor","labels":{"role":"egress","site":"lab-a"},"network":"tcp","remote":"10.0.0.5:50000","local":"192.0.2.7:443","client":"","src":"","dst":"192.0.2.7:443","host":"example.com:443","proto":"tls","clientIP":"10.0.0.5","clientID":"alice",` +
    String.raw`"tls":{"serverName":"example.com","cipherSuite":"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256","compressionMethod":0,"proto":"http/1.1","version":"tls1.2","clientHello":"1603010005","serverHello":"","clientVersions":["tls1.2","tls1.1"],"clientCiphers":["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],"alpnOffered":["h2","http/1.1"],"alpnSelected":"http/1.1","clientExtensions":[0,10,2570],"ja3":"771,49199,0-10,29,0","ja3Hash":"e7d705a3286e19ea42f587b344ee6865","ja4":"t12d0102h2_aaaa_bbbb",` +
    String.raw`"certificates":[{"subject":"CN=example.com","issuer":"CN=Test CA,O=R\u0026D \u003clab\u003e","sans":["example.com","192.0.2.7"],"notBefore":"2026-01-01T00:00:00Z","notAfter":"2027-01-01T00:00:00Z","serial":"0a1b","sha256":"${'ab'.repeat(32)}"}]},` +
    String.raw`"route":"example.com:443","inputBytes":517,"outputBytes":4000,"redirect":"node-7","err":"EOF","sid":"d6g0m0o0000000000000","duration":4611686018427387909,"time":"2026-03-04T09:15:06Z",` +
    String.raw`"flow":{"communityId":"1:LQU9qZlK+B5F3KDmev6m5PMibrg=","clientPackets":6,"clientBytes":120,"serverPackets":5,"serverBytes":3000,"firstSeen":"2026-03-04T09:15:05.25Z","lastSeen":"2026-03-04T09:15:07Z","midstream":false,"gaps":1,"gapBytes":1448,"cutoff":true,"pcap":["tap-20260304T0915.pcap.gz","tap-20260304T0916.pcap.gz"]}}`;
  assert.equal(serializeRecord(rec, { offsetMinutes: 0 }), want);
});

function dnsRecord(dns: DnsRecord): GostRecord {
  return {
    service: 'sensor',
    network: 'udp',
    remote: '[2001:db8::1]:5353',
    local: '[2001:db8::53]:53',
    client: '',
    src: '',
    dst: '[2001:db8::53]:53',
    host: '[2001:db8::53]:53',
    proto: 'dns',
    clientIP: '2001:db8::1',
    dns,
    inputBytes: 40,
    outputBytes: 56,
    sid: 'd6g0m0o0000000000010',
    duration: 1500000,
    time: T,
  };
}

test('dns: dig dumps escaped, extension keys only when set', () => {
  const question =
    ';; opcode: QUERY, status: NOERROR, id: 4660\n;; flags: rd;\n\n;; QUESTION SECTION:\n;example.com.\tIN\t A\n';
  const answered = dnsRecord({
    id: 4660,
    name: 'example.com.',
    class: 'IN',
    type: 'A',
    question,
    answer: 'x',
    cached: false,
    rcode: 'NOERROR',
    answers: [{ name: 'example.com.', type: 'A', class: 'IN', ttl: 300, data: '93.184.216.34' }],
  });
  assert.equal(
    serializeRecord(answered, { offsetMinutes: 0 }),
    String.raw`{"service":"sensor","network":"udp","remote":"[2001:db8::1]:5353","local":"[2001:db8::53]:53","client":"","src":"","dst":"[2001:db8::53]:53","host":"[2001:db8::53]:53","proto":"dns","clientIP":"2001:db8::1","dns":{"id":4660,"name":"example.com.","class":"IN","type":"A","question":";; opcode: QUERY, status: NOERROR, id: 4660\n;; flags: rd;\n\n;; QUESTION SECTION:\n;example.com.\tIN\t A\n","answer":"x","cached":false,"rcode":"NOERROR","answers":[{"name":"example.com.","type":"A","class":"IN","ttl":300,"data":"93.184.216.34"}]},"inputBytes":40,"outputBytes":56,"sid":"d6g0m0o0000000000010","duration":1500000,"time":"2026-03-04T09:15:06Z"}`,
  );
  const unanswered = dnsRecord({
    id: 1,
    name: 'a.',
    class: 'IN',
    type: 'AAAA',
    question: '',
    answer: '',
    cached: true,
    rcode: '',
    answers: [],
  });
  assert.match(
    serializeRecord(unanswered, { offsetMinutes: 0 }),
    /"dns":\{"id":1,"name":"a\.","class":"IN","type":"AAAA","question":"","answer":"","cached":true\},"inputBytes"/,
  );
});

test('omitempty: empty strings, empty labels and absent objects leave no key', () => {
  const rec = gwRecord({
    node: '',
    labels: new Map(),
    proto: '',
    clientID: '',
    route: '',
    redirect: '',
    err: '',
    sid: 'x',
    duration: 0,
    time: T,
  });
  assert.equal(
    serializeRecord(rec, { offsetMinutes: 0 }),
    '{"service":"gw-http","network":"tcp","remote":"","local":"10.1.0.1:8080","client":"","src":"","dst":"","host":"","clientIP":"10.1.2.3","inputBytes":0,"outputBytes":0,"sid":"x","duration":0,"time":"2026-03-04T09:15:06Z"}',
  );
});

test('header null vs {}, empty body "" vs null, -1 content length, multi-value headers', () => {
  const rec = gwRecord({
    http: {
      host: 'h',
      method: 'GET',
      proto: 'HTTP/1.1',
      scheme: '',
      uri: '/',
      cached: false,
      statusCode: 0,
      request: {
        contentLength: -1,
        header: headers(['X-B', 'b'], ['Set-Cookie', 'a=1', 'b=2, c=3'], ['X-A', '']),
        body: Buffer.alloc(0),
      },
      response: { contentLength: 0, header: null, body: null },
    },
    sid: 'x',
    duration: 0,
    time: T,
  });
  assert.match(
    serializeRecord(rec, { offsetMinutes: 0 }),
    /"request":\{"contentLength":-1,"header":\{"Set-Cookie":\["a=1","b=2, c=3"\],"X-A":\[""\],"X-B":\["b"\]\},"body":""\},"response":\{"contentLength":0,"header":null,"body":null\}\}/,
  );
  const noHeaderLines = gwRecord({
    http: { ...rec.http!, request: { contentLength: 0, header: new Map(), body: null } },
    sid: 'x',
    duration: 0,
    time: T,
  });
  assert.match(
    serializeRecord(noHeaderLines),
    /"request":\{"contentLength":0,"header":\{\},"body":null\}/,
  );
});

test('escaping as Go: HTML-safe, U+2028/9, control bytes, replacement, surrogates', () => {
  const cases: [string, string][] = [
    [
      "plain ASCII ~!#$%'()*+,-./:;=?@[]^_`{|}",
      String.raw`"plain ASCII ~!#$%'()*+,-./:;=?@[]^_` + '`' + String.raw`{|}"`,
    ],
    ['<a href="x">&amp;</a>', String.raw`"\u003ca href=\"x\"\u003e\u0026amp;\u003c/a\u003e"`],
    ['back\\slash', String.raw`"back\\slash"`],
    ['\b\f\n\r\t', String.raw`"\b\f\n\r\t"`],
    ['\x00\x01\x0b\x1a\x1f', String.raw`"\u0000\u0001\u000b\u001a\u001f"`],
    ['del\x7f', '"del\x7f"'],
    ['line\u2028para\u2029', String.raw`"line\u2028para\u2029"`],
    ['café ü 中文 😀', '"café ü 中文 😀"'],
    // U+FFFD stands for an invalid wire byte (record-types.ts), which Go writes as \ufffd.
    ['bad\ufffd\ufffdx', String.raw`"bad\ufffd\ufffdx"`],
    ['lone\ud800x\udc00', String.raw`"lone\ufffdx\ufffd"`],
    ['end\ud83d', String.raw`"end\ufffd"`],
    ['\ufffe\uffff', '"\ufffe\uffff"'],
    ['', '""'],
  ];
  for (const [input, want] of cases)
    assert.equal(quoteJsonString(input), want, JSON.stringify(input));
});

test('escaped strings parse back to the input (random text)', () => {
  const pool = [
    'a',
    'Z',
    ' ',
    '"',
    '\\',
    '<',
    '>',
    '&',
    '\n',
    '\x00',
    '\x1f',
    '\x7f',
    'é',
    '\u2028',
    '中',
    '😀',
    '\ud800',
    '\udfff',
    '\ufffd',
  ];
  const rand = rng(7);
  for (let n = 0; n < 2000; n++) {
    let s = '';
    const len = Math.floor(rand() * 12);
    for (let i = 0; i < len; i++) s += pool[Math.floor(rand() * pool.length)]!;
    const q = quoteJsonString(s);
    assert.equal(JSON.parse(q), Buffer.from(s).toString(), JSON.stringify(s));
    // Nothing Go escapes may survive literally.
    const inner = q.slice(1, -1);
    assert.doesNotMatch(inner, /[<>&\u2028\u2029\ufffd]|[^\\]"/u);
    for (let i = 0; i < inner.length; i++)
      assert.ok(inner.charCodeAt(i) >= 0x20, JSON.stringify(inner));
  }
});

test('map keys sort by UTF-8 bytes, not UTF-16 code units', () => {
  const rec = gwRecord({
    labels: new Map([
      ['b', '1'],
      ['a', '2'],
      ['\uffff', '3'],
      ['😀', '4'],
      ['Z', '5'],
      ['a\x00', '6'],
    ]),
    sid: 'x',
    duration: 0,
    time: T,
  });
  // In UTF-16 '😀' (D83D DE00) would come before U+FFFF; in UTF-8 (F0…) it comes after (EF BF BF).
  assert.match(
    serializeRecord(rec),
    /"labels":\{"Z":"5","a":"2","a\\u0000":"6","b":"1","\uffff":"3","😀":"4"\},/,
  );
});

test('compareUtf8 agrees with Buffer.compare on random well-formed strings', () => {
  const pool = ['a', 'b', 'é', '\u0800', '\ud7ff', '\ue000', '\uffff', '😀', '\u{10ffff}', ''];
  const rand = rng(11);
  const pick = (): string => {
    let s = '';
    for (let i = Math.floor(rand() * 4); i > 0; i--) s += pool[Math.floor(rand() * pool.length)]!;
    return s;
  };
  for (let n = 0; n < 3000; n++) {
    const a = pick();
    const b = pick();
    assert.equal(
      Math.sign(compareUtf8(a, b)),
      Buffer.compare(Buffer.from(a), Buffer.from(b)),
      `${a} ${b}`,
    );
  }
});

test('a non-integer in an integer field is refused', () => {
  const base = gwRecord({ sid: 'x', duration: 0, time: T });
  assert.throws(() => serializeRecord({ ...base, duration: 1.5 }), RangeError);
  assert.throws(() => serializeRecord({ ...base, inputBytes: Number.NaN }), RangeError);
  assert.equal(serializeRecord({ ...base, duration: -3 }).includes('"duration":-3,'), true);
});

test('sortEntries orders keys by UTF-8 bytes and moves values along (random maps)', () => {
  const pool = ['a', 'b', 'A', '-', 'é', '\u0800', '\ue000', '\uffff', '😀', '\u{10ffff}'];
  const rand = rng(17);
  for (let n = 0; n < 2000; n++) {
    // Up to 40 keys: both the insertion sort and the general sort; some maps already in order.
    const keys = new Set<string>();
    for (let i = Math.floor(rand() * 40); i > 0; i--) {
      let k = '';
      for (let j = 1 + Math.floor(rand() * 4); j > 0; j--)
        k += pool[Math.floor(rand() * pool.length)]!;
      keys.add(k);
    }
    const want = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const order = n % 4 === 0 ? [...want] : [...keys];
    const values = order.map((k) => `v:${k}`);
    sortEntries(order, values);
    assert.deepEqual(order, want);
    assert.deepEqual(
      values,
      want.map((k) => `v:${k}`),
    );
  }
});

test('header maps: output independent of arrival order; odd names escaped like values', () => {
  const rand = rng(23);
  const names = ['Content-Type', 'Accept', 'X-A&B', 'X-<b>', 'naïve', 'Über', 'Etag', 'Date', '😀'];
  for (let n = 0; n < 200; n++) {
    const entries = names
      .filter(() => rand() < 0.7)
      .map((k, i): [string, string[]] => [k, [`${i}`, '<']]);
    const shuffled = [...entries];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const sorted = [...entries].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const want =
      '{' +
      sorted
        .map(([k, v]) => `${quoteJsonString(k)}:[${v.map(quoteJsonString).join(',')}]`)
        .join(',') +
      '}';
    const line = serializeRecord(
      gwRecord({
        http: {
          host: 'h',
          method: 'GET',
          proto: 'HTTP/1.1',
          scheme: '',
          uri: '/',
          cached: false,
          statusCode: 200,
          request: { contentLength: 0, header: new Map(shuffled), body: null },
          response: { contentLength: 0, header: null, body: null },
        },
        sid: 'x',
        duration: 0,
        time: T,
      }),
    );
    assert.ok(line.includes(`"request":{"contentLength":0,"header":${want},"body":null}`), line);
  }
});

test('header names past the name cache bound still come out right', () => {
  for (let n = 0; n < 1500; n++) {
    const name = `X-Name-${n}${n % 3 === 0 ? '&' : ''}`;
    const line = serializeRecord(
      gwRecord({
        http: {
          host: 'h',
          method: 'GET',
          proto: 'HTTP/1.1',
          scheme: '',
          uri: '/',
          cached: false,
          statusCode: 0,
          request: { contentLength: 0, header: headers([name, 'v'], ['A', 'w']), body: null },
          response: { contentLength: 0, header: null, body: null },
        },
        sid: 'x',
        duration: 0,
        time: T,
      }),
    );
    assert.ok(line.includes(`"header":{"A":["w"],${quoteJsonString(name)}:["v"]}`), line);
  }
});

/**
 * TLS cases the corpus lacks, on hand-built handshakes: JA4 against the FoxIO spec's worked example,
 * the cipher suite table against tshark, the detector, a ClientHello spread over many records, a
 * HelloRetryRequest, and hostile input (oversized lengths, 10k extensions, fuzzed handshakes):
 * every fault is a counted parse error, never an exception, and nothing waits for bytes a length
 * field merely promised.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import type { StreamSniffer } from '../../src/sniff/sniffer.ts';
import { CIPHER_SUITE_NAMES } from '../../src/sniff/tls/cipher-suite-names.ts';
import { parseClientHello, type ClientHello } from '../../src/sniff/tls/client-hello.ts';
import { ja4 } from '../../src/sniff/tls/fingerprints.ts';
import { parseServerHello } from '../../src/sniff/tls/server-hello.ts';
import { looksLikeTlsClientHello } from '../../src/sniff/tls/tls-detect.ts';
import { cipherSuiteName } from '../../src/sniff/tls/tls-names.ts';
import { HELLO_RETRY_REQUEST_RANDOM } from '../../src/sniff/tls/tls-protocol.ts';
import {
  MAX_HANDSHAKE_BYTES,
  MAX_SERVER_MESSAGES,
  TlsSniffer,
} from '../../src/sniff/tls/tls-sniffer.ts';
import {
  assertCutIndependent,
  feedStream,
  outcome,
  recordingContext,
  type FeedMode,
  type RecordingContext,
} from '../helpers/sniff-harness.ts';
import { rng } from '../helpers/random.ts';
import {
  corpusCapture,
  corpusExpected,
  followTcpStream,
  type FollowChunk,
} from '../helpers/tshark-follow.ts';

// --- a minimal TLS encoder -------------------------------------------------------------------

function u8(n: number): Buffer {
  return Buffer.of(n);
}
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
function u24(n: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUIntBE(n, 0, 3);
  return b;
}
const vec8 = (body: Buffer): Buffer => Buffer.concat([u8(body.length), body]);
const vec16 = (body: Buffer): Buffer => Buffer.concat([u16(body.length), body]);
const u16s = (values: number[]): Buffer => Buffer.concat(values.map(u16));
const ext = (type: number, body: Buffer): Buffer => Buffer.concat([u16(type), vec16(body)]);

const sniExt = (name: string): Buffer =>
  ext(0, vec16(Buffer.concat([u8(0), vec16(Buffer.from(name))])));
const alpnExt = (...names: string[]): Buffer =>
  ext(16, vec16(Buffer.concat(names.map((n) => vec8(Buffer.from(n))))));

function clientHelloBody(ciphers: number[], extensions: Buffer[], version = 0x0303): Buffer {
  return Buffer.concat([
    u16(version),
    Buffer.alloc(32, 7),
    vec8(Buffer.alloc(32, 1)),
    vec16(u16s(ciphers)),
    vec8(u8(0)),
    vec16(Buffer.concat(extensions)),
  ]);
}

function handshake(type: number, body: Buffer): Buffer {
  return Buffer.concat([u8(type), u24(body.length), body]);
}

/** `payload` cut into records of at most `fragment` bytes. */
function records(type: number, payload: Buffer, fragment = 16384, version = 0x0301): Buffer {
  const out: Buffer[] = [];
  for (let off = 0; off < payload.length; off += fragment) {
    const part = payload.subarray(off, off + fragment);
    out.push(u8(type), u16(version), u16(part.length), part);
  }
  return Buffer.concat(out);
}

function run(
  chunks: FollowChunk[],
  mode: FeedMode = { kind: 'whole' },
): RecordingContext & { sniffer: TlsSniffer } {
  const ctx = recordingContext({}, { serverPort: 443 });
  const sniffer = new TlsSniffer(ctx);
  feedStream(sniffer, chunks, mode);
  return Object.assign(ctx, { sniffer });
}

const codes = (ctx: RecordingContext): string[] => ctx.errors.map((e) => `${e.proto}:${e.code}`);

// --- fingerprints and names ------------------------------------------------------------------

/** FoxIO technical_details/JA4.md, "Cipher hash" / "Extension hash" example lists. */
const SPEC_CIPHERS = [
  0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c,
  0x009d, 0x002f, 0x0035,
];
const SPEC_EXTENSIONS = [
  0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b,
  0xff01, 0x000b, 0x000a, 0x0015,
];
const SPEC_SIGALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];

function helloStruct(overrides: Partial<ClientHello>): ClientHello {
  return {
    legacyVersion: 0x0303,
    cipherSuites: [],
    compressionMethods: [0],
    extensions: [],
    serverName: '',
    alpn: [],
    alpnFirst: null,
    supportedVersions: [],
    supportedGroups: [],
    ecPointFormats: [],
    signatureAlgorithms: [],
    keyShareGroups: [],
    ...overrides,
  };
}

describe('JA4 (FoxIO spec examples)', () => {
  test('the worked example, decoded from wire bytes with GREASE sprinkled in', () => {
    const bodies = new Map<number, Buffer>([
      [0x0000, vec16(Buffer.concat([u8(0), vec16(Buffer.from('example.com'))]))],
      [0x0010, vec16(vec8(Buffer.from('h2')))],
      [0x000d, vec16(u16s([0x1a1a, ...SPEC_SIGALGS]))],
      [0x002b, vec8(u16s([0x2a2a, 0x0304, 0x0303]))],
      [0x0033, vec16(Buffer.alloc(0))],
      [0x000a, vec16(u16s([0x4a4a, 0x001d]))],
      [0x000b, vec8(u8(0))],
    ]);
    const extensions = [ext(0x3a3a, Buffer.alloc(0))];
    for (const type of SPEC_EXTENSIONS)
      extensions.push(ext(type, bodies.get(type) ?? Buffer.alloc(0)));
    const { hello, error } = parseClientHello(
      clientHelloBody([0x0a0a, ...SPEC_CIPHERS], extensions),
    );
    assert.equal(error, null);
    assert.equal(ja4(hello, 't'), 't13d1516h2_8daaf6152771_e5627efa2ab1');
    assert.equal(ja4(hello, 'q'), 'q13d1516h2_8daaf6152771_e5627efa2ab1');
  });

  test('no signature algorithms: the extension list alone is hashed, without "_"', () => {
    const hello = helloStruct({ cipherSuites: SPEC_CIPHERS, extensions: SPEC_EXTENSIONS });
    assert.match(ja4(hello, 't'), /_6d807ffa2a79$/);
  });

  test('no ciphers, no extensions, no ALPN, no SNI', () => {
    assert.equal(ja4(helloStruct({}), 't'), 't12i000000_000000000000_000000000000');
  });

  test('ALPN characters, including the hex rule for non-alphanumeric ends', () => {
    const alpn = (bytes: number[]): string =>
      ja4(helloStruct({ alpnFirst: Buffer.from(bytes) }), 't').slice(8, 10);
    assert.equal(alpn([...Buffer.from('http/1.1')]), 'h1');
    assert.equal(alpn([0x68]), 'hh');
    assert.equal(alpn([0xab]), 'ab');
    assert.equal(alpn([0xab, 0xcd]), 'ad');
    assert.equal(alpn([0x30, 0xab]), '3b');
    assert.equal(alpn([0x30, 0x31, 0xab, 0xcd]), '3d');
    assert.equal(alpn([0x30, 0xab, 0xcd, 0x31]), '01');
  });

  test('version: highest non-GREASE supported_versions entry, else legacy_version', () => {
    const v = (h: Partial<ClientHello>): string => ja4(helloStruct(h), 't').slice(1, 3);
    assert.equal(v({ extensions: [43], supportedVersions: [0x7a7a, 0x0303, 0x0304] }), '13');
    assert.equal(v({ legacyVersion: 0x0300 }), 's3');
    assert.equal(v({ legacyVersion: 0x0301 }), '10');
    assert.equal(v({ legacyVersion: 0x7f1c }), '00');
  });
});

describe('cipher suite names', () => {
  test("the generated table is tshark's TLS_ value strings", () => {
    // The full dump is ~90 MB; keep only the field's lines.
    const out = execFileSync(
      'bash',
      ['-c', `tshark -G values | awk -F'\\t' '$2 == "tls.handshake.ciphersuite"'`],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const fromTshark = new Map<number, string>();
    for (const line of out.split('\n')) {
      const [kind, field, value, name] = line.split('\t');
      if (kind === 'V' && field === 'tls.handshake.ciphersuite' && /^TLS_\w+$/.test(name ?? '')) {
        fromTshark.set(Number(value), name!);
      }
    }
    assert.deepEqual(new Map([...CIPHER_SUITE_NAMES].sort((a, b) => a[0] - b[0])), fromTshark);
  });

  test('IANA / Go names; unknown and GREASE ids in decimal', () => {
    assert.equal(cipherSuiteName(0x1301), 'TLS_AES_128_GCM_SHA256');
    assert.equal(cipherSuiteName(0x1303), 'TLS_CHACHA20_POLY1305_SHA256');
    assert.equal(cipherSuiteName(0xc02f), 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
    assert.equal(cipherSuiteName(0xcca8), 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256');
    assert.equal(cipherSuiteName(0x00ff), 'TLS_EMPTY_RENEGOTIATION_INFO_SCSV');
    assert.equal(cipherSuiteName(0x0a0a), '2570');
    assert.equal(cipherSuiteName(0xfefe), '65278');
  });
});

describe('looksLikeTlsClientHello', () => {
  test('first client bytes of the corpus captures', () => {
    for (const capture of ['ar-ssl3.pcap', 'ar-tls10.pcap', 'zk-tls13-chrome-kyber.pcap']) {
      const first = followTcpStream(corpusCapture(capture), 0).chunks[0]!.data;
      assert.equal(looksLikeTlsClientHello(first), true, capture);
      assert.equal(looksLikeTlsClientHello(first.subarray(0, 3)), true, capture);
    }
  });

  test('other protocols and near misses', () => {
    const no = [
      'GET / HTTP/1.1\r\n',
      '',
      '16',
      '1603',
      '160305', // no such version
      '1602010005', // major version 2
      '1603010000', // empty record
      '160301ffff', // longer than any record
      '160301020002', // a ServerHello
      '170303001a', // application data
      '802e010002', // SSL 2.0 CLIENT-HELLO: not recognised
    ];
    for (const hex of no) {
      const data = hex.startsWith('GET') ? Buffer.from(hex) : Buffer.from(hex, 'hex');
      assert.equal(looksLikeTlsClientHello(data), false, hex);
    }
    assert.equal(looksLikeTlsClientHello(Buffer.from('1603040200', 'hex')), true);
  });
});

// --- reassembly and the ServerHello ----------------------------------------------------------

describe('ClientHello decoder against tshark', () => {
  test('every list of the Chrome/Kyber ClientHello, GREASE included', () => {
    const capture = corpusCapture('zk-tls13-chrome-kyber.pcap');
    const fields = [
      'tls.handshake.extensions_key_share_group',
      'tls.handshake.extensions_supported_group',
      'tls.handshake.sig_hash_alg',
      'tls.handshake.extensions_ec_point_format',
      'tls.handshake.comp_method',
      'tls.handshake.extension.type',
      'tls.handshake.ciphersuite',
      'tls.handshake.extensions.supported_version',
      'tls.handshake.extensions_server_name',
      'tls.handshake.extensions_alpn_str',
    ];
    const out = execFileSync(
      'tshark',
      [
        '-n',
        '-r',
        capture,
        '-Y',
        'tls.handshake.type == 1',
        '-T',
        'fields',
        '-E',
        'separator=|',
        ...fields.flatMap((f) => ['-e', f]),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const [
      keyShares,
      groups,
      sigAlgs,
      points,
      compression,
      extensions,
      ciphers,
      versions,
      sni,
      alpn,
    ] = out
      .trim()
      .split('|')
      .map((f) => f.split(','));
    const numbers = (list: string[] | undefined): number[] => (list ?? []).map((v) => Number(v));
    const record = followTcpStream(capture, 0).chunks[0]!.data;
    const { hello, error } = parseClientHello(record.subarray(9, 5 + record.readUInt16BE(3)));
    assert.equal(error, null);
    assert.deepEqual(hello.keyShareGroups, numbers(keyShares));
    assert.deepEqual(hello.supportedGroups, numbers(groups));
    assert.deepEqual(hello.signatureAlgorithms, numbers(sigAlgs));
    assert.deepEqual(hello.ecPointFormats, numbers(points));
    assert.deepEqual(hello.compressionMethods, numbers(compression));
    assert.deepEqual(hello.extensions, numbers(extensions));
    assert.deepEqual(hello.cipherSuites, numbers(ciphers));
    assert.deepEqual(hello.supportedVersions, numbers(versions));
    assert.deepEqual([hello.serverName], sni);
    assert.deepEqual(hello.alpn, alpn);
    assert.equal(hello.legacyVersion, 0x0303);
  });
});

describe('handshake reassembly', () => {
  const kyber = followTcpStream(corpusCapture('zk-tls13-chrome-kyber.pcap'), 0);
  const kyberExpected = corpusExpected('zk-tls13-chrome-kyber.pcap', 'tls')[0]!;
  const firstRecord = kyber.chunks[0]!.data;
  const message = firstRecord.subarray(5, 5 + firstRecord.readUInt16BE(3));

  test('a ClientHello spread over 19 records of 100 bytes', () => {
    const client = records(22, message, 100);
    const chunks: FollowChunk[] = [
      { side: 0, data: client },
      ...kyber.chunks.filter((c) => c.side === 1),
    ];
    const whole = run(chunks);
    assert.deepEqual(whole.errors, []);
    const tls = whole.units[0]!.tls!;
    assert.equal(tls.ja3, kyberExpected.ja3_full);
    assert.equal(tls.ja3Hash, kyberExpected.ja3);
    assert.equal(tls.serverName, 'lh3.google.com');
    assert.equal(tls.version, 'tls1.3');
    // As in GOST, only the first record is kept, though the hello needed all of them.
    assert.equal(tls.clientHello, client.subarray(0, 105).toString('hex'));
    // Split at every offset of the first chunk (the ClientHello's records).
    assert.deepStrictEqual(
      assertCutIndependent(chunks.slice(0, 1), (mode) => outcome(run(chunks, mode))),
      outcome(whole),
    );
  });

  test('records of 1 byte each', () => {
    const ctx = run([{ side: 0, data: records(22, message, 1) }]);
    assert.deepEqual(ctx.errors, []);
    assert.equal(ctx.units[0]!.tls!.ja3Hash, kyberExpected.ja3);
    assert.equal(ctx.units[0]!.tls!.clientHello, '160301000101');
  });

  test('HelloRetryRequest: TLS 1.3 from its supported_versions, both sides stop', () => {
    const hrr = Buffer.concat([
      u16(0x0303),
      HELLO_RETRY_REQUEST_RANDOM,
      vec8(Buffer.alloc(32, 1)),
      u16(0x1302),
      u8(0),
      vec16(Buffer.concat([ext(43, u16(0x0304)), ext(51, u16(0x001d))])),
    ]);
    assert.equal(parseServerHello(hrr).hello.helloRetryRequest, true);
    const ctx = recordingContext();
    const sniffer = new TlsSniffer(ctx);
    sniffer.data(0, records(22, handshake(1, clientHelloBody([0x1302], [sniExt('a.example')]))));
    sniffer.data(1, records(22, handshake(2, hrr), 16384, 0x0303));
    assert.equal(sniffer.wants(0), false);
    assert.equal(sniffer.wants(1), false);
    sniffer.end(0);
    sniffer.end(1);
    const tls = ctx.units[0]!.tls!;
    assert.equal(tls.version, 'tls1.3');
    assert.equal(tls.cipherSuite, 'TLS_AES_256_GCM_SHA384');
    assert.equal(tls.ja3s, '771,4866,43-51');
  });
});

// --- hostile input ---------------------------------------------------------------------------

describe('hostile input', () => {
  const goodHello = records(
    22,
    handshake(1, clientHelloBody([0x1301], [sniExt('ok.example'), alpnExt('h2')])),
  );

  test('record length 0xffff: record_too_long, both sides stop at once', () => {
    const ctx = recordingContext();
    const sniffer = new TlsSniffer(ctx);
    sniffer.data(0, Buffer.from('160301ffff01', 'hex'));
    assert.deepEqual(codes(ctx), ['tls:record_too_long']);
    assert.equal(sniffer.wants(0), false);
    assert.equal(sniffer.wants(1), false);
    sniffer.end(0);
    sniffer.end(1);
    assert.equal(ctx.units[0]!.err, 'record_too_long');
    assert.equal(ctx.units[0]!.tls!.clientHello, '');
  });

  test('handshake length 2^24-1 with no bytes behind it: refused before waiting', () => {
    const ctx = run([{ side: 0, data: Buffer.from('1603010004' + '01ffffff', 'hex') }]);
    assert.deepEqual(codes(ctx), ['tls:handshake_too_long']);
    assert.equal(ctx.sniffer.wants(0), false);
  });

  test('the handshake cap is exact: one byte over is refused', () => {
    const over = Buffer.concat([u8(1), u24(MAX_HANDSHAKE_BYTES + 1)]);
    assert.deepEqual(codes(run([{ side: 0, data: records(22, over) }])), [
      'tls:handshake_too_long',
    ]);
    // At the cap the sniffer waits; the stream ends first: a truncated handshake.
    const at = Buffer.concat([u8(1), u24(MAX_HANDSHAKE_BYTES), Buffer.alloc(100_000)]);
    const ctx = run([{ side: 0, data: records(22, at) }]);
    assert.deepEqual(codes(ctx), ['tls:handshake_truncated']);
  });

  test('extension length past the end of the block: fields before it are kept', () => {
    // An extensions block of the right size whose second extension claims 200 bytes.
    const head = clientHelloBody([0x1301, 0xc02f], []);
    const block = Buffer.concat([sniExt('kept.example'), u16(16), u16(200)]);
    const broken = Buffer.concat([head.subarray(0, head.length - 2), vec16(block)]);
    const { hello, error } = parseClientHello(broken);
    assert.equal(error, 'extensions_truncated');
    assert.deepEqual(hello.cipherSuites, [0x1301, 0xc02f]);
    assert.equal(hello.serverName, 'kept.example');
    assert.deepEqual(hello.extensions, [0]);
    // The same through the sniffer: counted once, the record still carries what was read.
    const ctx = run([{ side: 0, data: records(22, handshake(1, broken)) }]);
    assert.deepEqual(codes(ctx), ['tls:extensions_truncated']);
    assert.equal(ctx.units[0]!.host, 'kept.example:443');
  });

  test('extensions block longer than the message', () => {
    const body = clientHelloBody([0x1301], []);
    body.writeUInt16BE(0x4000, body.length - 2);
    assert.equal(parseClientHello(body).error, 'extensions_truncated');
  });

  test('10 000 extensions over three records: capped at 256, counted once', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ext(0xf000 + (i % 100), Buffer.alloc(0)));
    const ctx = run([
      { side: 0, data: records(22, handshake(1, clientHelloBody([0x1301], many))) },
    ]);
    assert.deepEqual(codes(ctx), ['tls:too_many_extensions']);
    assert.equal(ctx.units[0]!.tls!.clientExtensions.length, 256);
  });

  test('zero-length SNI list: bad_server_name, the other extensions still read', () => {
    const ctx = run([
      {
        side: 0,
        data: records(
          22,
          handshake(1, clientHelloBody([0x1301], [ext(0, u16(0)), alpnExt('h2', 'http/1.1')])),
        ),
      },
    ]);
    assert.deepEqual(codes(ctx), ['tls:bad_server_name']);
    const tls = ctx.units[0]!.tls!;
    assert.equal(tls.serverName, '');
    assert.equal(ctx.units[0]!.host, '');
    assert.deepEqual(tls.alpnOffered, ['h2', 'http/1.1']);
    assert.equal(tls.proto, 'h2');
  });

  test('malformed lists inside extensions are each named', () => {
    const cases: [Buffer, string][] = [
      [ext(16, vec16(vec8(Buffer.alloc(0)))), 'bad_alpn'],
      [ext(43, vec8(u8(3))), 'bad_supported_versions'],
      [ext(10, vec16(u8(0))), 'bad_supported_groups'],
      [ext(13, u16(4)), 'bad_signature_algorithms'],
      [ext(11, vec8(Buffer.alloc(0))), 'bad_ec_point_formats'],
      [ext(51, vec16(Buffer.concat([u16(29), u16(32)]))), 'bad_key_share'],
      [ext(0, vec16(Buffer.concat([u8(0), vec16(Buffer.alloc(300, 0x61))]))), 'bad_server_name'],
    ];
    for (const [extension, code] of cases) {
      assert.equal(parseClientHello(clientHelloBody([0x1301], [extension])).error, code, code);
    }
    assert.equal(parseClientHello(clientHelloBody([], [])).error, 'bad_cipher_suites');
    assert.equal(parseClientHello(Buffer.alloc(20)).error, 'client_hello_truncated');
    const longSession = Buffer.concat([u16(0x0303), Buffer.alloc(32), vec8(Buffer.alloc(33))]);
    assert.equal(parseClientHello(longSession).error, 'bad_session_id');
  });

  test('not TLS at all: bad_record_type, nothing kept', () => {
    const ctx = run([{ side: 0, data: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n') }]);
    assert.deepEqual(codes(ctx), ['tls:bad_record_type']);
    assert.equal(ctx.units[0]!.err, 'bad_record_type');
  });

  test('SSL 2.0-compatible CLIENT-HELLO: counted and left alone', () => {
    const ssl2 = Buffer.from(
      '802e0100020015000000100700c0050080030080010080080080060040040080020080',
      'hex',
    );
    const ctx = run([{ side: 0, data: ssl2 }]);
    assert.deepEqual(codes(ctx), ['tls:sslv2_client_hello']);
    assert.equal(ctx.sniffer.wants(0), false);
  });

  test('a client that starts with another handshake message', () => {
    const ctx = run([{ side: 0, data: records(22, handshake(2, Buffer.alloc(40))) }]);
    assert.deepEqual(codes(ctx), ['tls:not_client_hello']);
  });

  test('an alert between two records of one server message: interleaved_handshake', () => {
    const serverHello = handshake(
      2,
      Buffer.concat([u16(0x0303), Buffer.alloc(32), vec8(Buffer.alloc(0)), u16(0x1301), u8(0)]),
    );
    const server = Buffer.concat([
      records(22, serverHello.subarray(0, 10)),
      records(21, Buffer.from('0228', 'hex')),
    ]);
    const ctx = run([
      { side: 0, data: goodHello },
      { side: 1, data: server },
    ]);
    assert.deepEqual(codes(ctx), ['tls:interleaved_handshake']);
  });

  test('the client ends inside its ClientHello: handshake_truncated, no hello', () => {
    const ctx = run([{ side: 0, data: goodHello.subarray(0, goodHello.length - 3) }]);
    assert.deepEqual(codes(ctx), ['tls:handshake_truncated']);
    assert.equal(ctx.units[0]!.tls!.ja3, '');
    assert.equal(ctx.units[0]!.tls!.serverName, '');
  });

  test('a server that never sends ServerHelloDone is dropped after a few messages', () => {
    const serverHello = handshake(
      2,
      Buffer.concat([u16(0x0303), Buffer.alloc(32), vec8(Buffer.alloc(0)), u16(0xc02f), u8(0)]),
    );
    const keyExchanges = Array.from({ length: MAX_SERVER_MESSAGES }, () =>
      handshake(12, Buffer.alloc(8)),
    );
    const server = records(22, Buffer.concat([serverHello, ...keyExchanges]), 16384, 0x0303);
    const ctx = run([
      { side: 0, data: goodHello },
      { side: 1, data: server },
    ]);
    assert.deepEqual(codes(ctx), ['tls:too_many_handshake_messages']);
    assert.equal(ctx.units[0]!.tls!.cipherSuite, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
  });

  test('a gap stops the side without a parse error', () => {
    const ctx = recordingContext();
    const sniffer: StreamSniffer = new TlsSniffer(ctx);
    sniffer.data(0, goodHello.subarray(0, 20));
    sniffer.gap(0, 100);
    assert.equal(sniffer.wants(0), false);
    sniffer.data(0, goodHello.subarray(20));
    sniffer.end(0);
    sniffer.end(1);
    assert.deepEqual(ctx.errors, []);
    assert.equal(ctx.units[0]!.tls!.serverName, '');
  });

  test('nothing delivered: no record', () => {
    const ctx = run([]);
    assert.equal(ctx.units.length, 0);
  });

  test('fuzzed real handshakes: no throw, snake_case codes, at most one record', () => {
    const random = rng(0x7157);
    const sources = ['is-tls12-keylog.pcap', 'zk-tls13-chrome-kyber.pcap'].map(
      (c) => followTcpStream(corpusCapture(c), 0).chunks,
    );
    for (let i = 0; i < 1500; i++) {
      const chunks = sources[i % sources.length]!.map((c) => ({
        side: c.side,
        data: Buffer.from(c.data),
      }));
      const target = chunks[Math.floor(random() * Math.min(chunks.length, 3))]!.data;
      const flips = 1 + Math.floor(random() * 8);
      for (let f = 0; f < flips; f++) {
        // Bias towards the headers and length fields near the start.
        const at = Math.floor(random() ** 2 * target.length);
        target[at] = Math.floor(random() * 256);
      }
      const ctx = run(
        chunks,
        random() < 0.5 ? { kind: 'whole' } : { kind: 'split', at: 1 + Math.floor(random() * 600) },
      );
      assert.ok(ctx.units.length <= 1);
      for (const e of ctx.errors) assert.match(e.code, /^[a-z0-9]+(_[a-z0-9]+)*$/);
    }
  });
});

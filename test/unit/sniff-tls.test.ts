/**
 * TlsSniffer on the TLS captures of the corpus: tshark's reassembled TCP streams go in, the record
 * is compared field by field with tshark's view (expected/<name>.tls.jsonl), and the same bytes
 * fed whole, byte by byte and split at every offset must give the same record.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RecordUnit } from '../../src/record/record-types.ts';
import { parseClientHello } from '../../src/sniff/tls/client-hello.ts';
import { cipherSuiteName, tlsVersionName } from '../../src/sniff/tls/tls-names.ts';
import { isGrease } from '../../src/sniff/tls/tls-protocol.ts';
import { TlsSniffer } from '../../src/sniff/tls/tls-sniffer.ts';
import {
  assertCutIndependent,
  feedStream,
  recordingContext,
  type FeedMode,
} from '../helpers/sniff-harness.ts';
import {
  corpusCapture,
  corpusExpected,
  followTcpStream,
  serverPortOf,
  type FollowChunk,
  type FollowedStream,
} from '../helpers/tshark-follow.ts';

/** tshark's line for one ClientHello (+ ServerHello), as make-expected.sh writes it. */
interface TsharkTls {
  stream: number;
  sni: string | null;
  ch_version: { hex: string };
  ch_supported_versions: string[];
  alpn_offered: string[];
  cipher_suites_offered: number;
  ja3: string;
  ja3_full: string;
  negotiated_version: { hex: string } | null;
  cipher_suite: string | null;
  alpn_selected: string | null;
  ja3s: string | null;
  ja3s_full: string | null;
  hello_retry_request: boolean;
}

/** Spelled out so a wrong name table cannot agree with itself. */
const CASES: { capture: string; version: string; cipher: string; certificates: number }[] = [
  {
    capture: 'ar-tls10.pcap',
    version: 'tls1.0',
    cipher: 'TLS_ECDHE_RSA_WITH_RC4_128_SHA',
    certificates: 3,
  },
  {
    capture: 'ar-ssl3.pcap',
    version: 'sslv3',
    cipher: 'TLS_ECDHE_RSA_WITH_RC4_128_SHA',
    certificates: 3,
  },
  {
    capture: 'is-tls12-keylog.pcap',
    version: 'tls1.2',
    cipher: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
    certificates: 1,
  },
  {
    capture: 'is-tls13-keylog.pcap',
    version: 'tls1.3',
    cipher: 'TLS_AES_256_GCM_SHA384',
    certificates: 0,
  },
  // Chrome with an X25519Kyber768 key share: the 1.7 KB ClientHello spans TCP segments.
  {
    capture: 'zk-tls13-chrome-kyber.pcap',
    version: 'tls1.3',
    cipher: 'TLS_AES_128_GCM_SHA256',
    certificates: 0,
  },
  // The ClientHello comes in 248-byte segments (MTU 300).
  {
    capture: 'sv-tls12-ch-mtu300.pcap',
    version: 'tls1.2',
    cipher: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
    certificates: 3,
  },
  {
    capture: 'ps-tls12-dsb-rawip.pcapng',
    version: 'tls1.2',
    cipher: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    certificates: 2,
  },
  {
    capture: 'ws-h2-tls-keylog.pcap',
    version: 'tls1.2',
    cipher: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
    certificates: 1,
  },
  // ClientHellos with an ESNI extension and no server answer.
  { capture: 'nd-tls-esni-fuzzed.pcap', version: '', cipher: '', certificates: 0 },
];

function sniff(
  chunks: FollowChunk[],
  mode: FeedMode,
  port: number,
): { units: RecordUnit[]; errors: { proto: string; code: string }[] } {
  const ctx = recordingContext({}, { serverPort: port });
  feedStream(new TlsSniffer(ctx), chunks, mode);
  return { units: ctx.units, errors: ctx.errors };
}

/** The first TLS record of one side, header included, as hex. */
function firstRecordHex(chunks: FollowChunk[], side: 0 | 1): string {
  const bytes = Buffer.concat(chunks.filter((c) => c.side === side).map((c) => c.data));
  if (bytes.length < 5) return '';
  return bytes.subarray(0, 5 + bytes.readUInt16BE(3)).toString('hex');
}

function assertMatchesTshark(
  unit: RecordUnit,
  exp: TsharkTls,
  c: (typeof CASES)[number],
  stream: FollowedStream,
): void {
  const t = unit.tls;
  assert.ok(t);
  assert.equal(unit.proto, 'tls');
  assert.equal(unit.scope, 'connection');
  assert.equal(unit.err, '');
  assert.equal(t.serverName, exp.sni ?? '');
  assert.equal(unit.host, exp.sni === null ? '' : `${exp.sni}:${serverPortOf(stream)}`);

  // ClientHello: tshark's counts include GREASE, JA3 drops it.
  assert.equal(t.ja3, exp.ja3_full);
  assert.equal(t.ja3Hash, exp.ja3);
  const hello = parseClientHello(Buffer.from(t.clientHello, 'hex').subarray(9)).hello;
  assert.equal(hello.cipherSuites.length, exp.cipher_suites_offered);
  const ja3Ciphers = exp.ja3_full.split(',')[1]!.split('-').map(Number);
  assert.deepEqual(t.clientCiphers, ja3Ciphers.map(cipherSuiteName));
  const offered =
    exp.ch_supported_versions.length > 0
      ? exp.ch_supported_versions.map((v) => parseInt(v, 16)).filter((v) => !isGrease(v))
      : [parseInt(exp.ch_version.hex, 16)];
  assert.deepEqual(t.clientVersions, offered.map(tlsVersionName));
  assert.deepEqual(t.alpnOffered, exp.alpn_offered);
  assert.deepEqual(
    t.clientExtensions.filter((v) => !isGrease(v)).join('-'),
    exp.ja3_full.split(',')[2],
  );

  // ServerHello.
  assert.equal(t.version, c.version);
  assert.equal(t.cipherSuite, c.cipher);
  assert.equal(
    exp.negotiated_version === null ? '' : tlsVersionName(parseInt(exp.negotiated_version.hex, 16)),
    c.version,
  );
  assert.equal(
    exp.cipher_suite === null ? '' : cipherSuiteName(parseInt(exp.cipher_suite, 16)),
    c.cipher,
  );
  assert.equal(t.ja3s, exp.ja3s_full ?? '');
  assert.equal(t.ja3sHash, exp.ja3s ?? '');
  assert.equal(t.alpnSelected, exp.alpn_selected ?? '');
  assert.equal(t.proto, exp.alpn_selected ?? exp.alpn_offered[0] ?? '');
  assert.equal(t.compressionMethod, 0);
  assert.equal(exp.hello_retry_request, false);

  // GOST's hello fields: the whole first record of each side.
  assert.equal(t.clientHello, firstRecordHex(stream.chunks, 0));
  assert.equal(t.serverHello, exp.ja3s === null ? '' : firstRecordHex(stream.chunks, 1));
  assert.equal(t.certificates.length, c.certificates);
}

describe('TlsSniffer on corpus captures', () => {
  for (const c of CASES) {
    // Every TCP stream of these captures is TLS; tshark wrote one line per ClientHello.
    const expected = corpusExpected(c.capture, 'tls') as unknown as TsharkTls[];
    for (const exp of expected) {
      const stream = followTcpStream(corpusCapture(c.capture), exp.stream);
      const port = serverPortOf(stream);
      test(`${c.capture} stream ${stream.index}: fields match tshark`, () => {
        const { units, errors } = sniff(stream.chunks, { kind: 'whole' }, port);
        assert.deepEqual(errors, []);
        assert.equal(units.length, 1);
        assertMatchesTshark(units[0]!, exp, c, stream);
      });
      test(`${c.capture} stream ${stream.index}: whole = byte by byte = split at every offset`, () => {
        assertCutIndependent(stream.chunks, (mode) => sniff(stream.chunks, mode, port));
      });
    }
  }
});

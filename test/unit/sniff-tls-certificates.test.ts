/**
 * Server chains of the TLS ≤ 1.2 corpus captures, checked against an independent reading: tshark
 * extracts each DER certificate (`tls.handshake.certificate`) and the openssl command line prints
 * its fields. Plus a generated certificate with the awkward cases (escaped RDN values, a SAN with a
 * comma, IPv6, non-DNS SAN types).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import type { CertificateRecord } from '../../src/record/record-types.ts';
import { goIpString } from '../../src/sniff/client-ip.ts';
import {
  certificateRecord,
  parseCertificateMessage,
} from '../../src/sniff/tls/server-certificates.ts';
import { TlsSniffer } from '../../src/sniff/tls/tls-sniffer.ts';
import { feedStream, recordingContext } from '../helpers/sniff-harness.ts';
import { corpusCapture, followTcpStream } from '../helpers/tshark-follow.ts';

/** Captures whose servers send their chain in the clear; stream indexes. */
const CAPTURES: { capture: string; streams: number[] }[] = [
  { capture: 'ar-tls10.pcap', streams: [0] },
  { capture: 'ar-ssl3.pcap', streams: [0] },
  { capture: 'is-tls12-keylog.pcap', streams: [0] },
  { capture: 'sv-tls12-ch-mtu300.pcap', streams: [0] },
  { capture: 'ps-tls12-dsb-rawip.pcapng', streams: [0, 1] },
  { capture: 'ws-h2-tls-keylog.pcap', streams: [0] },
];

/** DER certificates per TCP stream, as tshark dissects them. */
function tsharkCertificates(path: string): Map<number, Buffer[]> {
  const out = execFileSync(
    'tshark',
    [
      '-n',
      '-r',
      path,
      '-Y',
      'tls.handshake.type == 11',
      '-T',
      'fields',
      '-e',
      'tcp.stream',
      '-e',
      'tls.handshake.certificate',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const byStream = new Map<number, Buffer[]>();
  for (const line of out.split('\n')) {
    const [stream, certs] = line.split('\t');
    if (stream === undefined || stream === '' || certs === undefined) continue;
    byStream.set(
      Number(stream),
      certs.split(',').map((h) => Buffer.from(h, 'hex')),
    );
  }
  return byStream;
}

/** What `openssl x509` prints for one DER certificate, in CertificateRecord's terms. */
function opensslView(der: Buffer): CertificateRecord {
  const text = execFileSync(
    'openssl',
    [
      'x509',
      '-inform',
      'der',
      '-noout',
      '-subject',
      '-issuer',
      '-serial',
      '-startdate',
      '-enddate',
      '-ext',
      'subjectAltName',
      '-nameopt',
      'RFC2253',
      '-dateopt',
      'iso_8601',
      '-fingerprint',
      '-sha256',
    ],
    { input: der, encoding: 'utf8' },
  );
  const field = (name: string): string => {
    const line = text.split('\n').find((l) => l.startsWith(name + '='));
    assert.ok(line, `openssl printed no ${name}`);
    return line.slice(name.length + 1);
  };
  const sanLine = /Subject Alternative Name:\s*\n\s*(.*)/.exec(text)?.[1] ?? '';
  const sans =
    sanLine === ''
      ? []
      : sanLine
          .split(', ')
          .filter((s) => /^(DNS|IP Address):/.test(s))
          .map((s) => s.slice(s.indexOf(':') + 1))
          .map((v) => goIpString(v) || v); // IPs as Go prints them
  return {
    subject: field('subject'),
    issuer: field('issuer'),
    sans,
    // `2022-07-18 08:25:34Z` → RFC 3339.
    notBefore: field('notBefore').replace(' ', 'T'),
    notAfter: field('notAfter').replace(' ', 'T'),
    serial: field('serial').toLowerCase(),
    sha256: field('sha256 Fingerprint').replaceAll(':', '').toLowerCase(),
  };
}

describe('server certificates of TLS ≤ 1.2 captures', () => {
  for (const { capture, streams } of CAPTURES) {
    const path = corpusCapture(capture);
    const ders = tsharkCertificates(path);
    for (const index of streams) {
      const stream = followTcpStream(path, index);
      test(`${capture} stream ${index}: chain matches openssl on tshark's DER`, () => {
        const ctx = recordingContext({}, { serverPort: 443 });
        feedStream(new TlsSniffer(ctx), stream.chunks, { kind: 'whole' });
        const chain = ders.get(index);
        assert.ok(chain && chain.length > 0);
        assert.deepEqual(ctx.units[0]?.tls?.certificates, chain.map(opensslView));
      });
    }
  }
});

describe('certificate decoding edge cases', () => {
  test('escaped subject, SAN with a comma, IPv6 and non-DNS names', () => {
    const config = [
      '[req]',
      'distinguished_name=dn',
      '[dn]',
      '[ext]',
      'subjectAltName=@alt',
      '[alt]',
      'DNS.1=a.example',
      'DNS.2=b, x.example',
      'IP.1=10.0.0.1',
      'IP.2=2001:db8::1',
      'email.1=x@y.z',
      'URI.1=http://u.example/',
    ].join('\n');
    const der = execFileSync(
      'bash',
      [
        '-c',
        'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout /dev/null -days 1 -subj "/C=US/O=Acme, Inc./CN=edge.example" -config <(printf "%s" "$CONFIG") -extensions ext -outform DER',
      ],
      { env: { ...process.env, CONFIG: config }, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const cert = certificateRecord(der);
    assert.ok(cert);
    assert.equal(cert.subject, 'CN=edge.example,O=Acme\\, Inc.,C=US');
    assert.equal(cert.subject, opensslView(der).subject);
    // Node writes a value holding ", " as a JSON string; it must come back whole.
    assert.deepEqual(cert.sans, ['a.example', 'b, x.example', '10.0.0.1', '2001:db8::1']);
    assert.match(cert.notBefore, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test('a certificate OpenSSL cannot read is counted, the rest of the chain kept', () => {
    const good = tsharkCertificates(corpusCapture('is-tls12-keylog.pcap')).get(0)![0]!;
    const bad = Buffer.from('3082000a0201', 'hex');
    const entry = (der: Buffer): Buffer => Buffer.concat([u24(der.length), der]);
    const list = Buffer.concat([entry(bad), entry(good)]);
    const result = parseCertificateMessage(Buffer.concat([u24(list.length), list]));
    assert.equal(result.error, 'bad_certificate');
    assert.equal(result.certificates.length, 1);
    assert.equal(result.certificates[0]!.subject, opensslView(good).subject);
  });

  test('a list length past the message end is refused', () => {
    assert.deepEqual(parseCertificateMessage(Buffer.from('00ffff0000', 'hex')), {
      certificates: [],
      error: 'bad_certificate_list',
    });
  });
});

function u24(n: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUIntBE(n, 0, 3);
  return b;
}

/**
 * Leaves issued by the MITM CA, judged by independent verifiers: `openssl verify`, `openssl x509
 * -text`, node's X509Certificate, and real TLS handshakes from node:tls, curl and `openssl
 * s_client` against an SNICallback server. Both CA types (RSA, ECDSA) × both leaf key types.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { isTapgateError } from '../../src/errors.ts';
import { loadCertificateAuthority, type CertificateAuthority } from '../../src/gateway/mitm/ca.ts';
import { LeafIssuer, type IssuedLeaf } from '../../src/gateway/mitm/leaf-issuer.ts';
import type { LeafKeyType } from '../../src/gateway/mitm/leaf-key.ts';
import {
  CA_EXTENSIONS,
  openssl,
  opensslCaCertificate,
  opensslRootCa,
  tempDir,
  type OpensslCa,
} from '../helpers/openssl-ca.ts';

const execFileAsync = promisify(execFile);
const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;
const CERT_BLOCK = /-----BEGIN CERTIFICATE-----/g;

const tmp = tempDir('tapgate-mitm-leaf-');
after(tmp.remove);

interface TestCa {
  readonly files: OpensslCa;
  readonly ca: CertificateAuthority;
}

async function loadTestCa(files: OpensslCa): Promise<TestCa> {
  chmodSync(files.keyFile, 0o600);
  const ca = await loadCertificateAuthority(files.certFile, files.keyFile);
  assert.deepEqual(ca.warnings, []);
  return { files, ca };
}

let fileCounter = 0;
function writePem(pem: string): string {
  const file = join(tmp.dir, `leaf-${++fileCounter}.pem`);
  writeFileSync(file, pem);
  return file;
}

/** `openssl verify` as a TLS client would: server purpose, and the host or IP to match. */
function opensslVerify(caFile: string, leafPem: string, target: string[]): string {
  const args = ['verify', '-CAfile', caFile, '-purpose', 'sslserver', ...target, writePem(leafPem)];
  return openssl(args).trim();
}

function spki(cert: X509Certificate): string {
  return cert.publicKey.export({ type: 'spki', format: 'der' }).toString('hex');
}

/** `<' critical' or ''>|<first value line>` of an extension in `openssl x509 -text` output. */
function textSection(text: string, title: string): string {
  const match = new RegExp(`${title}:( critical)? *\\n\\s+(.+)`).exec(text);
  return `${match?.[1] ?? ''}|${match?.[2]?.trim() ?? ''}`;
}

const CA_ALGORITHMS = ['rsa', 'ec'] as const;
const cas = new Map<string, TestCa>();
before(async () => {
  for (const algorithm of CA_ALGORITHMS) {
    const format = algorithm === 'rsa' ? 'rsa-pkcs8' : 'ec-pkcs8';
    cas.set(algorithm, await loadTestCa(opensslRootCa(tmp.dir, `root-${algorithm}`, format)));
  }
});
function testCa(algorithm: 'rsa' | 'ec'): TestCa {
  const found = cas.get(algorithm);
  assert.ok(found);
  return found;
}

for (const caAlgorithm of CA_ALGORITHMS) {
  for (const keyType of ['rsa', 'ec'] as const) {
    describe(`${caAlgorithm} CA, ${keyType} leaf key`, () => {
      test('DNS leaf: verifies, names, extensions, validity, key', async () => {
        const { files, ca } = testCa(caAlgorithm);
        const issuer = await LeafIssuer.create(ca, { keyType });
        const issuedFrom = Date.now();
        const leaf = await issuer.issue('Example.TEST:443');
        const issuedTo = Date.now();
        assert.equal(leaf.name, 'example.test');

        const verified = opensslVerify(files.certFile, leaf.certPem, [
          '-verify_hostname',
          'example.test',
        ]);
        assert.match(verified, /: OK$/);
        assert.throws(() =>
          opensslVerify(files.certFile, leaf.certPem, ['-verify_hostname', 'other.test']),
        );

        const x = new X509Certificate(leaf.certPem);
        assert.ok(x.checkIssued(ca.certificate));
        assert.ok(x.verify(ca.certificate.publicKey));
        assert.equal(x.subjectAltName, 'DNS:example.test');
        assert.equal(x.checkHost('example.test'), 'example.test');
        assert.equal(x.subject, 'O=tapgate\nCN=example.test');
        assert.equal(x.issuer, ca.certificate.subject);
        assert.equal(x.ca, false);
        assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1']); // node's name for extKeyUsage
        assert.equal(x.publicKey.asymmetricKeyType, keyType);
        assert.notEqual(spki(x), spki(ca.certificate));

        // Validity: CA created seconds ago, so notBefore is the CA's (not now − 1 h).
        assert.equal(new Date(x.validFrom).getTime(), leaf.notBefore.getTime());
        assert.equal(leaf.notBefore.getTime(), ca.notBefore.getTime());
        assert.equal(new Date(x.validTo).getTime(), leaf.notAfter.getTime());
        // now + 7 days, rounded down to the second.
        const notAfterMs = leaf.notAfter.getTime();
        assert.ok(notAfterMs > issuedFrom + 7 * DAY_MS - 1000, String(notAfterMs - issuedFrom));
        assert.ok(notAfterMs <= issuedTo + 7 * DAY_MS, String(notAfterMs - issuedTo));

        const text = openssl(['x509', '-in', writePem(leaf.certPem), '-noout', '-text']);
        assert.match(text, /Version: 3 \(0x2\)/);
        const signature = caAlgorithm === 'rsa' ? 'sha256WithRSAEncryption' : 'ecdsa-with-SHA256';
        assert.match(text, new RegExp(`Signature Algorithm: ${signature}`));
        assert.equal(
          textSection(text, 'X509v3 Key Usage'),
          keyType === 'rsa'
            ? ' critical|Digital Signature, Key Encipherment'
            : ' critical|Digital Signature',
        );
        assert.equal(
          textSection(text, 'X509v3 Extended Key Usage'),
          '|TLS Web Server Authentication',
        );
        assert.equal(textSection(text, 'X509v3 Basic Constraints'), ' critical|CA:FALSE');
        assert.equal(textSection(text, 'X509v3 Subject Alternative Name'), '|DNS:example.test');
        const caSki = ca.keyIdentifier?.toString('hex').toUpperCase().match(/../g)?.join(':');
        assert.ok(caSki !== undefined);
        assert.match(
          text,
          new RegExp(`X509v3 Authority Key Identifier: *\\n\\s+(keyid:)?${caSki}`),
        );

        // RFC 5758 §3.2: ecdsa-with-SHA256 without parameters; RFC 4055: RSA with NULL.
        const algId =
          caAlgorithm === 'rsa' ? '300d06092a864886f70d01010b0500' : '300a06082a8648ce3d040302';
        const der = x.raw.toString('hex');
        assert.equal(der.split(algId).length - 1, 2, 'signature algorithm in TBS and outside');
      });

      test('IP leaves: iPAddress SAN only, no CN', async () => {
        const { files, ca } = testCa(caAlgorithm);
        const issuer = await LeafIssuer.create(ca, { keyType });
        const v4 = await issuer.issue('127.0.0.1:8443');
        const v6 = await issuer.issue('[::1]:443');
        for (const [leaf, ip] of [
          [v4, '127.0.0.1'],
          [v6, '::1'],
        ] as const) {
          const x = new X509Certificate(leaf.certPem);
          assert.equal(x.subject, 'O=tapgate');
          assert.match(x.subjectAltName ?? '', /^IP Address:/);
          assert.equal(x.checkIP(ip), ip);
          assert.equal(x.checkHost('localhost'), undefined);
          const verified = opensslVerify(files.certFile, leaf.certPem, ['-verify_ip', ip]);
          assert.match(verified, /: OK$/);
        }
        assert.equal(new X509Certificate(v4.certPem).subjectAltName, 'IP Address:127.0.0.1');
        const text = openssl(['x509', '-in', writePem(v6.certPem), '-noout', '-text']);
        assert.equal(
          textSection(text, 'X509v3 Subject Alternative Name'),
          '|IP Address:0:0:0:0:0:0:0:1',
        );
      });
    });
  }
}

describe('certificate contents', () => {
  test('random 16-byte positive serials, all different', async () => {
    const issuer = await LeafIssuer.create(testCa('rsa').ca);
    const leaves = await Promise.all(
      Array.from({ length: 32 }, (_, i) => issuer.issue(`serial-${i}.test`)),
    );
    const serials = leaves.map((l) => new X509Certificate(l.certPem).serialNumber);
    assert.equal(new Set(serials).size, serials.length);
    for (const serial of serials) assert.match(serial, /^[4-7][0-9A-F]{31}$/);
  });

  test('one leaf key per process and key type, never the CA key', async () => {
    const rsaCa = testCa('rsa').ca;
    const ecCa = testCa('ec').ca;
    const fromRsa = await (await LeafIssuer.create(rsaCa, { keyType: 'ec' })).issue('k.test');
    const fromEc = await (await LeafIssuer.create(ecCa, { keyType: 'ec' })).issue('k.test');
    const rsaLeaf = await (await LeafIssuer.create(rsaCa, { keyType: 'rsa' })).issue('k.test');
    const keys = [fromRsa, fromEc, rsaLeaf].map((l) => spki(new X509Certificate(l.certPem)));
    assert.equal(keys[0], keys[1]);
    assert.notEqual(keys[0], keys[2]);
    for (const key of keys) {
      assert.notEqual(key, spki(rsaCa.certificate));
      assert.notEqual(key, spki(ecCa.certificate));
    }
    assert.equal(fromRsa.keyPem, fromEc.keyPem);
  });

  test('a name longer than 64 characters: SAN only, still verifies', async () => {
    const { files, ca } = testCa('ec');
    const name = `${'a'.repeat(60)}.${'b'.repeat(60)}.test`;
    const leaf = await (await LeafIssuer.create(ca)).issue(name);
    const x = new X509Certificate(leaf.certPem);
    assert.equal(x.subject, 'O=tapgate');
    assert.equal(x.subjectAltName, `DNS:${name}`);
    assert.match(opensslVerify(files.certFile, leaf.certPem, ['-verify_hostname', name]), /: OK$/);
  });

  test('validity: backdated one hour under an old CA, clamped to the CA’s notAfter', async () => {
    const now = Date.now();
    const shortLived = opensslCaCertificate(tmp.dir, 'short-lived', {
      format: 'ec-pkcs8',
      notBefore: new Date(now - 30 * DAY_MS),
      notAfter: new Date(now + 2 * DAY_MS),
      extensions: CA_EXTENSIONS,
    });
    const { ca } = await loadTestCa(shortLived);
    const leaf = await (await LeafIssuer.create(ca)).issue('clamp.test');
    const x = new X509Certificate(leaf.certPem);
    const notBefore = new Date(x.validFrom).getTime();
    assert.ok(Math.abs(notBefore - (now - HOUR_MS)) < 3000, `${notBefore - now}`);
    assert.equal(new Date(x.validTo).getTime(), ca.notAfter.getTime());
    assert.match(opensslVerify(shortLived.certFile, leaf.certPem, []), /: OK$/);
  });
});

describe('cache', () => {
  test('the same name, in any spelling, gives the same SecureContext', async () => {
    const issuer = await LeafIssuer.create(testCa('rsa').ca);
    const a = await issuer.issue('cache.test');
    const b = await issuer.issue('CACHE.test.:443');
    assert.equal(a, b);
    assert.equal(a.secureContext, b.secureContext);
    const c = await issuer.issue('other.test');
    assert.notEqual(c.secureContext, a.secureContext);
    assert.deepEqual(issuer.stats, { issued: 2, hits: 1, evicted: 0, cached: 2 });
  });

  test('concurrent issues of one name sign once', async () => {
    const issuer = await LeafIssuer.create(testCa('ec').ca);
    const leaves = await Promise.all(
      Array.from({ length: 20 }, (_, i) => issuer.issue(i % 2 === 0 ? 'same.test' : 'Same.Test')),
    );
    assert.equal(new Set(leaves.map((l) => l.secureContext)).size, 1);
    assert.deepEqual(issuer.stats, { issued: 1, hits: 19, evicted: 0, cached: 1 });
  });

  test('LRU: the least recently used entry goes at the limit', async () => {
    const issuer = await LeafIssuer.create(testCa('rsa').ca, { maxCachedLeaves: 2 });
    const a = await issuer.issue('a.test');
    const b = await issuer.issue('b.test');
    assert.equal(await issuer.issue('a.test'), a); // a is now the most recent
    await issuer.issue('c.test'); // evicts b
    assert.deepEqual(issuer.stats, { issued: 3, hits: 1, evicted: 1, cached: 2 });
    assert.equal(await issuer.issue('a.test'), a);
    const b2 = await issuer.issue('b.test'); // signed again, evicts c
    assert.notEqual(b2, b);
    assert.notEqual(
      new X509Certificate(b2.certPem).serialNumber,
      new X509Certificate(b.certPem).serialNumber,
    );
    assert.deepEqual(issuer.stats, { issued: 4, hits: 2, evicted: 2, cached: 2 });
  });

  test('an entry is renewed renewBeforeMs before its notAfter', async () => {
    let clock = Date.now();
    const issuer = await LeafIssuer.create(testCa('rsa').ca, { now: () => clock });
    const first = await issuer.issue('ttl.test');
    clock += 5 * DAY_MS; // 2 days left: fresh
    assert.equal(await issuer.issue('ttl.test'), first);
    clock += 1.5 * DAY_MS; // 0.5 day left, under the 1-day margin: renewed
    const renewed = await issuer.issue('ttl.test');
    assert.notEqual(renewed, first);
    assert.ok(renewed.notAfter.getTime() > first.notAfter.getTime());
    assert.deepEqual(issuer.stats, { issued: 2, hits: 1, evicted: 0, cached: 1 });
  });

  test('a failed issuance is shared by concurrent callers and not cached', async () => {
    const { ca } = testCa('rsa');
    let clock = ca.notAfter.getTime() + 1000; // the CA has expired since loading
    const issuer = await LeafIssuer.create(ca, { now: () => clock });
    const results = await Promise.allSettled([
      issuer.issue('fail.test'),
      issuer.issue('fail.test'),
    ]);
    for (const r of results) {
      assert.ok(r.status === 'rejected');
      const reason: unknown = r.reason;
      assert.ok(isTapgateError(reason));
      assert.equal(reason.code, 'TG_ERR_CONFIG');
      assert.match(reason.message, /the CA certificate expired on/);
    }
    assert.deepEqual(issuer.stats, { issued: 0, hits: 1, evicted: 0, cached: 0 });
    clock = Date.now();
    const leaf = await issuer.issue('fail.test');
    assert.equal(leaf.name, 'fail.test');
    assert.deepEqual(issuer.stats, { issued: 1, hits: 1, evicted: 0, cached: 1 });
  });

  test('an invalid name rejects with TG_ERR_USAGE and caches nothing', async () => {
    const issuer = await LeafIssuer.create(testCa('rsa').ca);
    await assert.rejects(issuer.issue('*.example.test'), (e: unknown) => {
      assert.ok(isTapgateError(e));
      assert.equal(e.code, 'TG_ERR_USAGE');
      return true;
    });
    assert.equal(issuer.stats.cached, 0);
  });

  test('bad options: TG_ERR_CONFIG', async () => {
    for (const options of [{ maxCachedLeaves: 0 }, { validityMs: 0 }, { maxCachedLeaves: NaN }]) {
      await assert.rejects(LeafIssuer.create(testCa('rsa').ca, options), (e: unknown) => {
        assert.ok(isTapgateError(e));
        assert.equal(e.code, 'TG_ERR_CONFIG');
        return true;
      });
    }
  });
});

/** Listens on 127.0.0.1 (or `host`); resolves the port. */
async function listen(server: Server, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return (server.address() as AddressInfo).port;
}

/** An HTTPS server whose SNICallback takes its leaves from `issuer`. */
function sniServer(issuer: LeafIssuer): Server {
  return createHttpsServer(
    {
      SNICallback: (servername, cb) => {
        issuer.issue(servername).then(
          (leaf: IssuedLeaf) => {
            cb(null, leaf.secureContext);
          },
          (e: unknown) => {
            cb(e as Error, undefined);
          },
        );
      },
    },
    (req, res) => {
      res.end(`hello from ${req.headers.host ?? '?'}`);
    },
  );
}

/** A node:tls client handshake; resolves what the client saw. */
function tlsHandshake(
  port: number,
  options: { host?: string; servername?: string; ca: string },
): Promise<{ authorized: boolean; error: string | undefined; san: string | undefined }> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: options.host ?? '127.0.0.1',
      port,
      ca: options.ca,
      rejectUnauthorized: false, // judged below, so a failure reports its reason
      ...(options.servername === undefined ? {} : { servername: options.servername }),
    });
    socket.once('secureConnect', () => {
      const error = socket.authorizationError as Error | null; // null when authorized
      resolve({
        authorized: socket.authorized,
        error: error === null ? undefined : String(error),
        san: socket.getPeerCertificate().subjectaltname,
      });
      socket.end();
    });
    socket.once('error', reject);
  });
}

/** `openssl s_client` as a verifying client; resolves its output (throws on a non-zero exit). */
async function sClient(port: number, caFile: string, servername: string): Promise<string> {
  const run = execFileAsync('openssl', [
    's_client',
    '-connect',
    `127.0.0.1:${port}`,
    '-servername',
    servername,
    '-CAfile',
    caFile,
    '-verify_return_error',
    '-verify_hostname',
    servername,
    '-showcerts',
  ]);
  run.child.stdin?.end(); // end of input: s_client closes the connection and exits
  return (await run).stdout;
}

describe('TLS handshakes', () => {
  for (const caAlgorithm of CA_ALGORITHMS) {
    test(`${caAlgorithm} CA: node:tls, curl and openssl s_client accept the leaf`, async () => {
      const { files, ca } = testCa(caAlgorithm);
      const keyType: LeafKeyType = caAlgorithm; // rsa/rsa and ec/ec; the verify matrix covers the rest
      const issuer = await LeafIssuer.create(ca, { keyType });
      const server = sniServer(issuer);
      const port = await listen(server);
      try {
        const good = await tlsHandshake(port, { servername: 'example.test', ca: files.certPem });
        assert.deepEqual(good, { authorized: true, error: undefined, san: 'DNS:example.test' });

        // Negative control: a client trusting another CA.
        const otherCa = testCa(caAlgorithm === 'rsa' ? 'ec' : 'rsa').files.certPem;
        const untrusted = await tlsHandshake(port, { servername: 'example.test', ca: otherCa });
        assert.equal(untrusted.authorized, false);
        assert.match(
          untrusted.error ?? '',
          /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/,
        );

        const { stdout: body } = await execFileAsync('curl', [
          '-sS',
          '--cacert',
          files.certFile,
          '--resolve',
          `example.test:${port}:127.0.0.1`,
          `https://example.test:${port}/`,
        ]);
        assert.equal(body, `hello from example.test:${port}`);

        const sClientOut = await sClient(port, files.certFile, 'example.test');
        assert.match(sClientOut, /Verify return code: 0 \(ok\)/);
        assert.equal(sClientOut.match(CERT_BLOCK)?.length, 1, 'a self-signed root is not sent');
      } finally {
        server.close();
      }
    });
  }

  test('intermediate CA: the server sends it, a client trusting only the root accepts', async () => {
    const root = testCa('rsa').files;
    const intermediateFiles = opensslCaCertificate(tmp.dir, 'intermediate', {
      format: 'ec-pkcs8',
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + 10 * DAY_MS),
      extensions: CA_EXTENSIONS,
      issuer: root,
    });
    const { ca } = await loadTestCa(intermediateFiles);
    const server = sniServer(await LeafIssuer.create(ca));
    const port = await listen(server);
    try {
      const result = await tlsHandshake(port, { servername: 'deep.test', ca: root.certPem });
      assert.deepEqual(result, { authorized: true, error: undefined, san: 'DNS:deep.test' });
      const sClientOut = await sClient(port, root.certFile, 'deep.test');
      assert.match(sClientOut, /Verify return code: 0 \(ok\)/);
      assert.equal(sClientOut.match(CERT_BLOCK)?.length, 2, 'leaf + intermediate');
    } finally {
      server.close();
    }
  });

  test('IP target without SNI: the leaf for the IP verifies', async () => {
    const { files, ca } = testCa('ec');
    const leaf = await (await LeafIssuer.create(ca)).issue('127.0.0.1');
    // No SNI, so no SNICallback: the gateway wraps the accepted socket with the context itself.
    const server = createNetServer((raw) => {
      const socket = new TLSSocket(raw, { isServer: true, secureContext: leaf.secureContext });
      socket.once('secure', () => socket.end());
      socket.once('error', () => raw.destroy());
    });
    const port = await listen(server);
    try {
      const result = await tlsHandshake(port, { ca: files.certPem });
      assert.deepEqual(result, { authorized: true, error: undefined, san: 'IP Address:127.0.0.1' });
    } finally {
      server.close();
    }
  });
});

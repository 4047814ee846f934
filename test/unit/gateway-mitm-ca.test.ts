/**
 * Loading the MITM CA from PEM files made by the openssl command line: the key formats GOST users
 * have (PKCS#1, PKCS#8, SEC1), the EC extension, and every way the files can be wrong.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isTapgateError } from '../../src/errors.ts';
import { loadCertificateAuthority } from '../../src/gateway/mitm/ca.ts';
import {
  CA_EXTENSIONS,
  openssl,
  opensslCaCertificate,
  opensslRootCa,
  tempDir,
  type KeyFormat,
  type OpensslCa,
} from '../helpers/openssl-ca.ts';

const DAY_MS = 86_400_000;
const tmp = tempDir('tapgate-mitm-ca-');
after(tmp.remove);

/** Asserts a TG_ERR_CONFIG whose message names `file` and matches `what`. */
async function rejectsConfig(load: Promise<unknown>, file: string, what: RegExp): Promise<void> {
  await assert.rejects(load, (e: unknown) => {
    assert.ok(isTapgateError(e), String(e));
    assert.equal(e.code, 'TG_ERR_CONFIG');
    assert.ok(e.message.startsWith(`mitm: ${file}: `), e.message);
    assert.match(e.message, what);
    return true;
  });
}

describe('key formats', () => {
  const cases: [KeyFormat, 'rsa' | 'ec', string][] = [
    ['rsa-pkcs8', 'rsa', '-----BEGIN PRIVATE KEY-----'],
    ['rsa-pkcs1', 'rsa', '-----BEGIN RSA PRIVATE KEY-----'],
    ['ec-pkcs8', 'ec', '-----BEGIN PRIVATE KEY-----'],
    ['ec-sec1', 'ec', '-----BEGIN EC PARAMETERS-----'],
  ];
  for (const [format, algorithm, expectedFirstLine] of cases) {
    test(`${format} root CA loads as ${algorithm}`, async () => {
      const ca = opensslRootCa(tmp.dir, `root-${format}`, format);
      const firstLine = readFileSync(ca.keyFile, 'utf8').split('\n')[0];
      assert.equal(firstLine, expectedFirstLine); // the fixture really is in that format
      chmodSync(ca.keyFile, 0o600);

      const loaded = await loadCertificateAuthority(ca.certFile, ca.keyFile);
      assert.equal(loaded.algorithm, algorithm);
      assert.equal(loaded.key.asymmetricKeyType, algorithm);
      assert.equal(
        loaded.certificate.fingerprint256,
        new X509Certificate(ca.certPem).fingerprint256,
      );
      assert.deepEqual(loaded.warnings, []);
      assert.equal(loaded.chainPem, '', 'a self-signed root is not sent');
      // Validity as openssl prints it, to the second.
      const dates = openssl(['x509', '-in', ca.certFile, '-noout', '-dates']);
      const notAfter = /notAfter=(.+)/.exec(dates)?.[1] ?? '';
      assert.equal(loaded.notAfter.getTime(), new Date(notAfter).getTime());
      // The subjectKeyIdentifier openssl added (`req -x509` default).
      const ski = openssl(['x509', '-in', ca.certFile, '-noout', '-ext', 'subjectKeyIdentifier']);
      const skiHex = /\n\s+([0-9A-F:]+)/.exec(ski)?.[1]?.replaceAll(':', '').toLowerCase();
      assert.equal(loaded.keyIdentifier?.toString('hex'), skiHex);
    });
  }
});

describe('key file permissions', () => {
  let ca: OpensslCa;
  before(() => {
    ca = opensslRootCa(tmp.dir, 'perm', 'ec-pkcs8');
  });

  for (const mode of [0o644, 0o640, 0o604, 0o660]) {
    test(`mode 0${mode.toString(8)} → a loud warning naming the file and the mode`, async () => {
      chmodSync(ca.keyFile, mode);
      const loaded = await loadCertificateAuthority(ca.certFile, ca.keyFile);
      assert.equal(loaded.warnings.length, 1);
      const [warning] = loaded.warnings;
      assert.match(warning ?? '', /WARNING/);
      assert.ok(warning?.includes(ca.keyFile));
      assert.ok(warning?.includes(`mode 0${mode.toString(8)}`));
      assert.match(warning ?? '', /chmod 600/);
    });
  }

  for (const mode of [0o600, 0o400]) {
    test(`mode 0${mode.toString(8)} → no warning`, async () => {
      chmodSync(ca.keyFile, mode);
      const loaded = await loadCertificateAuthority(ca.certFile, ca.keyFile);
      assert.deepEqual(loaded.warnings, []);
    });
  }
});

describe('bad inputs', () => {
  let rsa: OpensslCa;
  let ec: OpensslCa;
  before(() => {
    rsa = opensslRootCa(tmp.dir, 'bad-rsa', 'rsa-pkcs8');
    ec = opensslRootCa(tmp.dir, 'bad-ec', 'ec-pkcs8');
  });

  test('missing certificate file', async () => {
    const missing = join(tmp.dir, 'nope.pem');
    await rejectsConfig(loadCertificateAuthority(missing, rsa.keyFile), missing, /not found/);
  });

  test('missing key file', async () => {
    const missing = join(tmp.dir, 'nope.key');
    await rejectsConfig(loadCertificateAuthority(rsa.certFile, missing), missing, /not found/);
  });

  test('a directory instead of a file', async () => {
    await rejectsConfig(
      loadCertificateAuthority(tmp.dir, rsa.keyFile),
      tmp.dir,
      /cannot be read \(EISDIR\)/,
    );
  });

  test('certificate file without a PEM block', async () => {
    const garbage = join(tmp.dir, 'garbage.pem');
    writeFileSync(garbage, 'this is not a certificate\n');
    await rejectsConfig(
      loadCertificateAuthority(garbage, rsa.keyFile),
      garbage,
      /no PEM CERTIFICATE block/,
    );
  });

  test('a CERTIFICATE block with garbage inside', async () => {
    const garbage = join(tmp.dir, 'garbage-block.pem');
    writeFileSync(garbage, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await rejectsConfig(loadCertificateAuthority(garbage, rsa.keyFile), garbage, /does not parse/);
  });

  test('key file without a private key (the certificate given twice)', async () => {
    await rejectsConfig(
      loadCertificateAuthority(rsa.certFile, rsa.certFile),
      rsa.certFile,
      /no usable PEM private key/,
    );
  });

  test('encrypted key (PKCS#8 and traditional PEM)', async () => {
    const pkcs8 = join(tmp.dir, 'encrypted-pkcs8.key');
    openssl(['pkey', '-in', rsa.keyFile, '-aes256', '-passout', 'pass:secret', '-out', pkcs8]);
    const traditional = join(tmp.dir, 'encrypted-traditional.key');
    openssl(
      ['rsa', '-in', rsa.keyFile, '-traditional', '-aes256', '-passout', 'pass:secret'].concat([
        '-out',
        traditional,
      ]),
    );
    assert.match(readFileSync(traditional, 'utf8'), /Proc-Type: 4,ENCRYPTED/);
    for (const file of [pkcs8, traditional]) {
      await rejectsConfig(
        loadCertificateAuthority(rsa.certFile, file),
        file,
        /encrypted; store it unencrypted/,
      );
    }
  });

  test('key of another CA (same type, and RSA key for an EC certificate)', async () => {
    const other = opensslRootCa(tmp.dir, 'other-rsa', 'rsa-pkcs8');
    const msg = new RegExp(`does not match the certificate in ${rsa.certFile}`);
    await rejectsConfig(loadCertificateAuthority(rsa.certFile, other.keyFile), other.keyFile, msg);
    const msgEc = new RegExp(`does not match the certificate in ${ec.certFile}`);
    await rejectsConfig(loadCertificateAuthority(ec.certFile, rsa.keyFile), rsa.keyFile, msgEc);
  });

  test('Ed25519 CA: not supported', async () => {
    const ed = opensslRootCa(tmp.dir, 'ed', 'ed25519');
    await rejectsConfig(
      loadCertificateAuthority(ed.certFile, ed.keyFile),
      ed.keyFile,
      /ed25519 CA keys are not supported/,
    );
  });

  test('expired CA', async () => {
    const expired = opensslCaCertificate(tmp.dir, 'expired', {
      format: 'rsa-pkcs8',
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2020-02-01T00:00:00Z'),
      extensions: CA_EXTENSIONS,
    });
    await rejectsConfig(
      loadCertificateAuthority(expired.certFile, expired.keyFile),
      expired.certFile,
      /expired on 2020-02-01T00:00:00.000Z/,
    );
  });

  test('CA not valid yet', async () => {
    const future = opensslCaCertificate(tmp.dir, 'future', {
      format: 'ec-pkcs8',
      notBefore: new Date(Date.now() + 10 * DAY_MS),
      notAfter: new Date(Date.now() + 20 * DAY_MS),
      extensions: CA_EXTENSIONS,
    });
    await rejectsConfig(
      loadCertificateAuthority(future.certFile, future.keyFile),
      future.certFile,
      /not valid before/,
    );
  });

  test('basicConstraints CA:FALSE', async () => {
    const leafLike = opensslCaCertificate(tmp.dir, 'not-ca', {
      format: 'ec-pkcs8',
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + DAY_MS),
      extensions: ['basicConstraints = critical,CA:FALSE'],
    });
    await rejectsConfig(
      loadCertificateAuthority(leafLike.certFile, leafLike.keyFile),
      leafLike.certFile,
      /not a CA certificate/,
    );
  });

  test('keyUsage without keyCertSign', async () => {
    const noSign = opensslCaCertificate(tmp.dir, 'no-cert-sign', {
      format: 'ec-pkcs8',
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + DAY_MS),
      extensions: ['basicConstraints = critical,CA:TRUE', 'keyUsage = critical,digitalSignature'],
    });
    await rejectsConfig(
      loadCertificateAuthority(noSign.certFile, noSign.keyFile),
      noSign.certFile,
      /keyUsage does not allow keyCertSign/,
    );
  });
});

test('no basicConstraints (v1 certificate): loads with a warning', async () => {
  const v1 = opensslCaCertificate(tmp.dir, 'v1', {
    format: 'rsa-pkcs1',
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + DAY_MS),
    extensions: [],
  });
  assert.match(openssl(['x509', '-in', v1.certFile, '-noout', '-text']), /Version: 1 /);
  chmodSync(v1.keyFile, 0o600);
  const loaded = await loadCertificateAuthority(v1.certFile, v1.keyFile);
  assert.equal(loaded.warnings.length, 1);
  assert.match(loaded.warnings[0] ?? '', /no basicConstraints extension/);
  assert.equal(loaded.keyIdentifier, undefined);
});

test('intermediate CA: the chain to send is the CA and the file’s non-root blocks', async () => {
  const root = opensslRootCa(tmp.dir, 'chain-root', 'rsa-pkcs8');
  const intermediate = opensslCaCertificate(tmp.dir, 'chain-intermediate', {
    format: 'ec-pkcs8',
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 10 * DAY_MS),
    extensions: CA_EXTENSIONS,
    issuer: root,
  });
  // Operators often append the whole chain, root included: the root is not sent.
  const bundle = join(tmp.dir, 'chain-bundle.pem');
  writeFileSync(bundle, readFileSync(intermediate.certFile, 'utf8') + root.certPem);
  const loaded = await loadCertificateAuthority(bundle, intermediate.keyFile);
  assert.equal(loaded.algorithm, 'ec');
  const sent = loaded.chainPem.match(
    /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g,
  );
  assert.equal(sent?.length, 1);
  assert.equal(
    new X509Certificate(sent[0]).fingerprint256,
    new X509Certificate(intermediate.certPem).fingerprint256,
  );
});

/**
 * Loads the MITM certificate authority from the PEM files GOST reads (`mitm.certFile` /
 * `mitm.caCertFile`, `mitm.keyFile` / `mitm.caKeyFile`) and checks it before the gateway accepts a
 * connection: a CA that cannot issue leaves clients accept must fail startup, not every handshake.
 *
 * - certificate file: the first CERTIFICATE block is the CA; later blocks are its chain.
 * - key file: PKCS#1 (`RSA PRIVATE KEY`), PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`, an
 *   `EC PARAMETERS` block before it is fine); unencrypted. RSA and EC keys; EC is an extension
 *   over GOST, whose leaves can only be signed SHA256-with-RSA.
 * - errors: TapgateError TG_ERR_CONFIG, message `mitm: <file>: <what is wrong>`.
 * - warnings (for the caller to log): a key file group/world can access, a CA certificate without
 *   basicConstraints.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { open } from 'node:fs/promises';
import { TapgateError } from '../../errors.ts';
import { readCaCertificateFields, type CaCertificateFields } from './ca-certificate-fields.ts';

export type CaKeyAlgorithm = 'rsa' | 'ec';

export interface CertificateAuthority {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certificate: X509Certificate;
  readonly key: KeyObject;
  /** Decides the leaves' signature: sha256WithRSAEncryption or ecdsa-with-SHA256. */
  readonly algorithm: CaKeyAlgorithm;
  /** DER of the CA's subject Name: every leaf's issuer, byte for byte. */
  readonly subjectDer: Buffer;
  /** The CA's subjectKeyIdentifier, repeated as the leaves' authorityKeyIdentifier. */
  readonly keyIdentifier: Buffer | undefined;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /**
   * PEM certificates to send after each leaf. Empty when the CA is a self-signed root (clients
   * must already trust it, sending it changes nothing); when it is an intermediate, the CA and the
   * file's further non-root blocks, so clients that trust only the root can build the path.
   */
  readonly chainPem: string;
  /** Problems that do not stop interception but that the operator must see. */
  readonly warnings: readonly string[];
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

export async function loadCertificateAuthority(
  certFile: string,
  keyFile: string,
): Promise<CertificateAuthority> {
  const [cert, keyFileData] = await Promise.all([
    readConfigFile(certFile, 'CA certificate'),
    readConfigFile(keyFile, 'CA key'),
  ]);
  const warnings: string[] = [];

  const blocks = cert.text.match(CERT_BLOCK) ?? [];
  const [caPem, ...restPem] = blocks;
  if (caPem === undefined) throw configError(certFile, 'no PEM CERTIFICATE block');
  const certificate = parseCertificate(certFile, caPem);
  const key = parseKey(keyFile, keyFileData.text);
  const algorithm = keyAlgorithm(keyFile, key);
  if (!certificate.checkPrivateKey(key)) {
    throw configError(keyFile, `the key does not match the certificate in ${certFile}`);
  }

  const fields = readFields(certFile, certificate);
  const now = Date.now();
  if (fields.notAfter.getTime() <= now) {
    throw configError(certFile, `the CA certificate expired on ${fields.notAfter.toISOString()}`);
  }
  if (fields.notBefore.getTime() > now) {
    throw configError(
      certFile,
      `the CA certificate is not valid before ${fields.notBefore.toISOString()}`,
    );
  }
  if (fields.basicConstraintsCa === false) {
    throw configError(certFile, 'not a CA certificate (basicConstraints cA is false)');
  }
  if (fields.keyCertSign === false) {
    throw configError(certFile, 'keyUsage does not allow keyCertSign');
  }
  if (fields.basicConstraintsCa === undefined) {
    warnings.push(
      `mitm: ${certFile}: the CA certificate has no basicConstraints extension; ` +
        'most TLS clients will not accept it as the issuer of the leaves',
    );
  }
  const keyMode = keyFileData.mode & 0o777;
  if ((keyMode & 0o077) !== 0) {
    warnings.push(
      `mitm: WARNING: ${keyFile}: the CA private key is accessible to group/others ` +
        `(mode 0${keyMode.toString(8)}); whoever reads it can impersonate any site to ` +
        'every client that trusts this CA. Run: chmod 600',
    );
  }

  const chain = isSelfSigned(certificate)
    ? []
    : [caPem, ...restPem.filter((pem) => !isSelfSigned(parseCertificate(certFile, pem)))];
  return {
    certFile,
    keyFile,
    certificate,
    key,
    algorithm,
    subjectDer: fields.subjectDer,
    keyIdentifier: fields.keyIdentifier,
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
    chainPem: chain.map((pem) => `${pem}\n`).join(''),
    warnings,
  };
}

/** Text and mode bits, from one open file (the mode describes the file that was read). */
async function readConfigFile(file: string, what: string): Promise<{ text: string; mode: number }> {
  try {
    const handle = await open(file, 'r');
    try {
      const { mode } = await handle.stat();
      return { text: await handle.readFile('utf8'), mode };
    } finally {
      await handle.close();
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? String(e)})`;
    throw configError(file, `${what} file ${reason}`, e);
  }
}

function parseCertificate(file: string, pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (e) {
    throw configError(file, `a CERTIFICATE block does not parse: ${(e as Error).message}`, e);
  }
}

/** PKCS#8 `ENCRYPTED PRIVATE KEY`, or a traditional PEM block with `Proc-Type: 4,ENCRYPTED`. */
const ENCRYPTED_KEY = /-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type: 4,ENCRYPTED/m;

function parseKey(file: string, text: string): KeyObject {
  // Checked first: OpenSSL only reports "interrupted or cancelled" for a missing passphrase.
  if (ENCRYPTED_KEY.test(text)) {
    throw configError(file, 'the private key is encrypted; store it unencrypted (mode 0600)');
  }
  try {
    return createPrivateKey(text);
  } catch (e) {
    const reason = `no usable PEM private key (PKCS#1, PKCS#8 or SEC1): ${(e as Error).message}`;
    throw configError(file, reason, e);
  }
}

function keyAlgorithm(file: string, key: KeyObject): CaKeyAlgorithm {
  const type = key.asymmetricKeyType;
  if (type === 'rsa' || type === 'ec') return type;
  throw configError(file, `${type ?? 'unknown'} CA keys are not supported (RSA or EC only)`);
}

function readFields(file: string, certificate: X509Certificate): CaCertificateFields {
  try {
    return readCaCertificateFields(certificate.raw);
  } catch (e) {
    throw configError(file, `cannot read the CA certificate: ${(e as Error).message}`, e);
  }
}

function isSelfSigned(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

function configError(file: string, what: string, cause?: unknown): TapgateError {
  return new TapgateError('TG_ERR_CONFIG', `mitm: ${file}: ${what}`, { cause });
}
